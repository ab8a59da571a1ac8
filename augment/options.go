package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Range is a closed interval [Min, Max] from which a transform draws a
// value uniformly. Sym(v) is the symmetric range [-v, v] that albumentations
// makes of a single number.
type Range struct {
	Min, Max float64
}

// Sym returns [-v, v].
func Sym(v float64) Range { return Range{-v, v} }

// Fixed returns [v, v].
func Fixed(v float64) Range { return Range{v, v} }

func (r Range) sample(rng *rand.Rand) float64 { return uniform(rng, r.Min, r.Max) }

func (r Range) check(op, field string) error {
	if math.IsNaN(r.Min) || math.IsNaN(r.Max) || math.IsInf(r.Min, 0) || math.IsInf(r.Max, 0) {
		return fmt.Errorf("augment.%s: %s = [%v, %v] is not finite", op, field, r.Min, r.Max)
	}
	if r.Min > r.Max {
		return fmt.Errorf("augment.%s: %s = [%v, %v]: Min is greater than Max", op, field, r.Min, r.Max)
	}
	return nil
}

func (r Range) within(op, field string, lo, hi float64) error {
	if err := r.check(op, field); err != nil {
		return err
	}
	if r.Min < lo || r.Max > hi {
		return fmt.Errorf("augment.%s: %s = [%v, %v]: must lie within [%v, %v]", op, field, r.Min, r.Max, lo, hi)
	}
	return nil
}

// IntRange is a closed interval of integers [Min, Max].
type IntRange struct {
	Min, Max int
}

func (r IntRange) check(op, field string, lo int) error {
	if r.Min > r.Max {
		return fmt.Errorf("augment.%s: %s = [%d, %d]: Min is greater than Max", op, field, r.Min, r.Max)
	}
	if r.Min < lo {
		return fmt.Errorf("augment.%s: %s = [%d, %d]: must be >= %d", op, field, r.Min, r.Max, lo)
	}
	return nil
}

func checkInterp(op string, i Interpolation) error {
	if !i.valid() {
		return fmt.Errorf("augment.%s: unknown interpolation %v", op, i)
	}
	return nil
}

func checkBorder(op string, b BorderMode) error {
	if !b.valid() {
		return fmt.Errorf("augment.%s: unknown border mode %v", op, b)
	}
	return nil
}

func checkSize(op string, h, w int) error {
	if h <= 0 || w <= 0 {
		return fmt.Errorf("augment.%s: size %dx%d: height and width must be positive", op, w, h)
	}
	if h > maxSide || w > maxSide {
		return fmt.Errorf("augment.%s: size %dx%d: sides above %d are not supported", op, w, h, maxSide)
	}
	return nil
}

// maxSide bounds image sides: fixed-point coordinates in the warps are
// 16-bit, as in OpenCV.
const maxSide = 32767

func checkFinite(op, field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("augment.%s: %s = %v is not finite", op, field, v)
	}
	return nil
}
