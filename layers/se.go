package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/nn"
)

// SqueezeExcite rescales channels by a gate computed from their global
// average: x · gate(expand(act(reduce(mean_hw(x))))), as timm's
// SqueezeExcite in efficientnet_blocks. reduce and expand are 1×1
// convolutions with bias.
//
// Children: "conv_reduce", "conv_expand" (timm's names).
type SqueezeExcite struct {
	Reduce, Expand *Conv2d
	Act            Layer // default SiLU
	Gate           Layer // default Sigmoid
}

var _ Layer = (*SqueezeExcite)(nil)

// NewSqueezeExcite returns squeeze-excite over c channels through a
// bottleneck of reduced channels, with SiLU and a sigmoid gate (set Act and
// Gate to change them).
func NewSqueezeExcite(c, reduced int, rng *rand.Rand) *SqueezeExcite {
	if c <= 0 || reduced <= 0 {
		panic(fmt.Sprintf("layers.NewSqueezeExcite: %d channels reduced to %d", c, reduced))
	}
	return &SqueezeExcite{
		Reduce: NewConv2d(c, reduced, 1, ConvConfig{Bias: true}, rng),
		Expand: NewConv2d(reduced, c, 1, ConvConfig{Bias: true}, rng),
		Act:    SiLU{},
		Gate:   Sigmoid{},
	}
}

// Forward gates the channels of x [N, H, W, C].
func (s *SqueezeExcite) Forward(x *nn.Var) *nn.Var {
	g := nn.GlobalAvgPool(x) // [N, 1, 1, C]
	g = s.Gate.Forward(s.Expand.Forward(s.Act.Forward(s.Reduce.Forward(g))))
	return nn.Mul(x, g)
}

// Members lists the two convolutions.
func (s *SqueezeExcite) Members() Members {
	return Members{Children: []Child{{"conv_reduce", s.Reduce}, {"conv_expand", s.Expand}}}
}
