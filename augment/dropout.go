package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// fillRect sets the pixels of [x1, x2) × [y1, y2) to fill.
func fillRect(img *Image, x1, y1, x2, y2 int, fill Color) {
	c := img.C
	fv := fill.fill(c)
	x1, x2 = max(x1, 0), min(x2, img.W)
	y1, y2 = max(y1, 0), min(y2, img.H)
	if x1 >= x2 || y1 >= y2 {
		return
	}
	row := img.Row(y1)[x1*c : x2*c]
	for i := range row {
		row[i] = fv[i%c]
	}
	for y := y1 + 1; y < y2; y++ {
		copy(img.Row(y)[x1*c:x2*c], row)
	}
}

// Cutout is albumentations' Cutout: NumHoles square holes of MaxHSize ×
// MaxWSize pixels centred on uniformly drawn points (clipped at the
// borders) are filled with FillValue. Defaults: 8 holes of 8×8, fill 0,
// p = 0.5.
type Cutout struct {
	NumHoles           int
	MaxHSize, MaxWSize int
	FillValue          Color
	P                  float64
}

// NewCutout returns albumentations' defaults.
func NewCutout() *Cutout { return &Cutout{NumHoles: 8, MaxHSize: 8, MaxWSize: 8, P: 0.5} }

func (t *Cutout) Name() string  { return "Cutout" }
func (t *Cutout) Prob() float64 { return t.P }
func (t *Cutout) Validate() error {
	if err := checkP("Cutout", t.P); err != nil {
		return err
	}
	if t.NumHoles < 0 || t.NumHoles > 1<<16 {
		return fmt.Errorf("augment.Cutout: NumHoles = %d: must be in [0, 65536]", t.NumHoles)
	}
	if t.MaxHSize < 0 || t.MaxWSize < 0 {
		return fmt.Errorf("augment.Cutout: hole size %dx%d must not be negative", t.MaxWSize, t.MaxHSize)
	}
	return nil
}

func (t *Cutout) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if t.NumHoles == 0 {
		return nil
	}
	img := s.Writable()
	h, w := img.H, img.W
	for n := 0; n < t.NumHoles; n++ {
		y := randint(rng, 0, h)
		x := randint(rng, 0, w)
		y1 := min(max(y-t.MaxHSize/2, 0), h)
		y2 := min(max(y1+t.MaxHSize, 0), h)
		x1 := min(max(x-t.MaxWSize/2, 0), w)
		x2 := min(max(x1+t.MaxWSize, 0), w)
		fillRect(img, x1, y1, x2, y2, t.FillValue)
	}
	return nil
}

// CoarseDropout is albumentations' CoarseDropout: between MinHoles and
// MaxHoles rectangles whose sides are drawn from [MinHeight, MaxHeight] ×
// [MinWidth, MaxWidth] pixels (or, when the Frac fields are set instead,
// fractions of the image size) placed fully inside the image and filled
// with FillValue. Defaults: 8 holes of 8×8, fill 0, p = 0.5.
type CoarseDropout struct {
	MinHoles, MaxHoles   int
	MinHeight, MaxHeight int
	MinWidth, MaxWidth   int
	// Fractional sizes (used when MaxHeightFrac > 0): in [0, 1).
	MinHeightFrac, MaxHeightFrac float64
	MinWidthFrac, MaxWidthFrac   float64
	FillValue                    Color
	P                            float64
}

// NewCoarseDropout returns albumentations' defaults.
func NewCoarseDropout() *CoarseDropout {
	return &CoarseDropout{MinHoles: 8, MaxHoles: 8, MinHeight: 8, MaxHeight: 8, MinWidth: 8, MaxWidth: 8, P: 0.5}
}

func (t *CoarseDropout) Name() string  { return "CoarseDropout" }
func (t *CoarseDropout) Prob() float64 { return t.P }
func (t *CoarseDropout) frac() bool    { return t.MaxHeightFrac > 0 || t.MaxWidthFrac > 0 }
func (t *CoarseDropout) Validate() error {
	const op = "CoarseDropout"
	if err := checkP(op, t.P); err != nil {
		return err
	}
	if !(0 < t.MinHoles && t.MinHoles <= t.MaxHoles) || t.MaxHoles > 1<<16 {
		return fmt.Errorf("augment.%s: holes [%d, %d]: need 0 < MinHoles <= MaxHoles <= 65536", op, t.MinHoles, t.MaxHoles)
	}
	if t.frac() {
		for _, r := range []Range{{t.MinHeightFrac, t.MaxHeightFrac}, {t.MinWidthFrac, t.MaxWidthFrac}} {
			if err := r.check(op, "fractional hole size"); err != nil {
				return err
			}
			if !(r.Min > 0) || r.Max >= 1 {
				return fmt.Errorf("augment.%s: fractional hole sizes [%v, %v] must lie in (0, 1)", op, r.Min, r.Max)
			}
		}
		return nil
	}
	if !(0 < t.MinHeight && t.MinHeight <= t.MaxHeight) {
		return fmt.Errorf("augment.%s: heights [%d, %d]: need 0 < MinHeight <= MaxHeight", op, t.MinHeight, t.MaxHeight)
	}
	if !(0 < t.MinWidth && t.MinWidth <= t.MaxWidth) {
		return fmt.Errorf("augment.%s: widths [%d, %d]: need 0 < MinWidth <= MaxWidth", op, t.MinWidth, t.MaxWidth)
	}
	return nil
}

func (t *CoarseDropout) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	h, w := s.Image.H, s.Image.W
	n := randint(rng, t.MinHoles, t.MaxHoles)
	img := s.Writable()
	for i := 0; i < n; i++ {
		var hh, hw int
		if t.frac() {
			hh = int(float64(h) * uniform(rng, t.MinHeightFrac, t.MaxHeightFrac))
			hw = int(float64(w) * uniform(rng, t.MinWidthFrac, t.MaxWidthFrac))
		} else {
			hh = randint(rng, t.MinHeight, t.MaxHeight)
			hw = randint(rng, t.MinWidth, t.MaxWidth)
		}
		if hh > h || hw > w {
			return fmt.Errorf("augment.CoarseDropout: hole %dx%d does not fit the %dx%d image", hw, hh, w, h)
		}
		y1 := randint(rng, 0, h-hh)
		x1 := randint(rng, 0, w-hw)
		fillRect(img, x1, y1, x1+hw, y1+hh, t.FillValue)
	}
	return nil
}

// RandomErasing is torchvision's RandomErasing on the 8-bit image: up to ten
// tries at a rectangle with an area fraction from Scale (default
// [0.02, 0.33]) and a log-uniform aspect ratio from Ratio (default
// [0.3, 3.3]) strictly inside the image, filled with Value (default 0) or,
// with RandomFill, per-pixel uniform noise. p = 0.5.
type RandomErasing struct {
	Scale      Range
	Ratio      Range
	Value      Color
	RandomFill bool
	P          float64
}

// NewRandomErasing returns torchvision's defaults.
func NewRandomErasing() *RandomErasing {
	return &RandomErasing{Scale: Range{0.02, 0.33}, Ratio: Range{0.3, 3.3}, P: 0.5}
}

func (t *RandomErasing) Name() string  { return "RandomErasing" }
func (t *RandomErasing) Prob() float64 { return t.P }
func (t *RandomErasing) Validate() error {
	if err := checkP("RandomErasing", t.P); err != nil {
		return err
	}
	if err := t.Scale.within("RandomErasing", "Scale", 0, 1); err != nil {
		return err
	}
	if err := t.Ratio.check("RandomErasing", "Ratio"); err != nil {
		return err
	}
	if !(t.Ratio.Min > 0) {
		return fmt.Errorf("augment.RandomErasing: Ratio = [%v, %v] must be > 0", t.Ratio.Min, t.Ratio.Max)
	}
	return nil
}

func (t *RandomErasing) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	H, W := s.Image.H, s.Image.W
	area := float64(H * W)
	for attempt := 0; attempt < 10; attempt++ {
		ea := area * t.Scale.sample(rng)
		ar := math.Exp(uniform(rng, math.Log(t.Ratio.Min), math.Log(t.Ratio.Max)))
		h := int(math.RoundToEven(math.Sqrt(ea * ar)))
		w := int(math.RoundToEven(math.Sqrt(ea / ar)))
		if !(h < H && w < W) || h <= 0 || w <= 0 {
			continue
		}
		i := rng.IntN(H - h + 1)
		j := rng.IntN(W - w + 1)
		img := s.Writable()
		if t.RandomFill {
			c := img.C
			for y := i; y < i+h; y++ {
				row := img.Row(y)[j*c : (j+w)*c]
				for k := range row {
					row[k] = uint8(rng.IntN(256))
				}
			}
		} else {
			fillRect(img, j, i, j+w, i+h, t.Value)
		}
		return nil
	}
	return nil
}
