package efficientnet

import "math"

// Variant holds the compound-scaling coefficients of one EfficientNet
// variant, as in the paper and timm's _gen_efficientnet docstring.
type Variant struct {
	Name       string  // "b0" … "b8", "l2"
	Width      float64 // channel multiplier
	Depth      float64 // repeat multiplier
	Resolution int     // training/evaluation image size
	Dropout    float64 // classifier dropout of the reference training recipe
}

// variants is the compound-scaling table (name: width, depth, resolution,
// dropout).
var variants = []Variant{
	{"b0", 1.0, 1.0, 224, 0.2},
	{"b1", 1.0, 1.1, 240, 0.2},
	{"b2", 1.1, 1.2, 260, 0.3},
	{"b3", 1.2, 1.4, 300, 0.3},
	{"b4", 1.4, 1.8, 380, 0.4},
	{"b5", 1.6, 2.2, 456, 0.4},
	{"b6", 1.8, 2.6, 528, 0.5},
	{"b7", 2.0, 3.1, 600, 0.5},
	{"b8", 2.2, 3.6, 672, 0.5},
	{"l2", 4.3, 5.3, 800, 0.5},
}

// Variants returns the B0–B8 and L2 scaling table, smallest first.
func Variants() []Variant { return append([]Variant(nil), variants...) }

// LookupVariant returns the named variant ("b0" … "b8", "l2").
func LookupVariant(name string) (Variant, bool) {
	for _, v := range variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// MakeDivisible rounds v to the nearest multiple of divisor, at least
// divisor, and rounds up one more step if rounding lost more than 10 % of
// v (timm's make_divisible with round_limit 0.9).
func MakeDivisible(v float64, divisor int) int {
	d := float64(divisor)
	n := max(divisor, int(v+d/2)/divisor*divisor)
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

// RoundChannels scales a channel count by the width multiplier and rounds
// it to a multiple of 8 (timm's round_channels). A zero multiplier returns
// channels unchanged, as timm does.
func RoundChannels(channels int, width float64) int {
	if width == 0 {
		return channels
	}
	return MakeDivisible(float64(channels)*width, 8)
}

// ScaleDepth scales the repeats of the block strings of one stage by the
// depth multiplier, as timm's _scale_stage_depth in 'ceil' mode: the
// stage's total becomes ceil(total·depth), shared out in proportion to the
// original repeats (rounding half to even, at least 1 each), starting from
// the last block string so that the first one is the least likely to grow.
func ScaleDepth(repeats []int, depth float64) []int {
	total := 0
	for _, r := range repeats {
		total += r
	}
	scaled := int(math.Ceil(float64(total) * depth))
	out := make([]int, len(repeats))
	for i := len(repeats) - 1; i >= 0; i-- {
		r := repeats[i]
		rs := max(1, int(math.RoundToEven(float64(r)/float64(total)*float64(scaled))))
		out[i] = rs
		total -= r
		scaled -= rs
	}
	return out
}
