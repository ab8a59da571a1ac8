package efficientdet

import (
	"strconv"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// Head is effdet's HeadNet, the class or box net: Repeats separable
// convolutions whose weights every level shares, each followed by a batch
// norm of its own per level and the activation, then a separable
// prediction convolution with anchors·outputs channels.
//
// Children (effdet's names): conv_rep.<r>, bn_rep.<r>.<level>.bn, predict.
type Head struct {
	ConvRep []*SeparableConv
	BNRep   [][]*layers.BatchNorm2d // [repeat][level]
	Act     layers.Layer
	Predict *SeparableConv
	Outputs int // values per anchor: NumClasses or 4
}

// Forward runs the head on every level of the pyramid and returns one
// prediction map per level, [N, H, W, anchors·Outputs]. Under nn.NoGrad
// it releases its intermediates (never the pyramid itself).
func (h *Head) Forward(pyramid []*nn.Var) []*nn.Var {
	out := make([]*nn.Var, len(pyramid))
	for l, x := range pyramid {
		for r, conv := range h.ConvRep {
			y := conv.Forward(x)
			if x != pyramid[l] {
				release(x, y)
			}
			x = h.BNRep[r][l].ForwardAct(y, h.Act) // fused for SiLU
			release(y, x)
		}
		y := h.Predict.Forward(x)
		if x != pyramid[l] {
			release(x, y)
		}
		out[l] = y
	}
	return out
}

// Members lists conv_rep, bn_rep and predict.
func (h *Head) Members() layers.Members {
	bn := make(group, len(h.BNRep))
	for r, levels := range h.BNRep {
		g := make(group, len(levels))
		for l, b := range levels {
			g[l] = layers.Child{Name: strconv.Itoa(l), Module: group{{Name: "bn", Module: b}}}
		}
		bn[r] = layers.Child{Name: strconv.Itoa(r), Module: g}
	}
	return layers.Members{Children: []layers.Child{
		{Name: "conv_rep", Module: indexed(h.ConvRep)},
		{Name: "bn_rep", Module: bn},
		{Name: "predict", Module: h.Predict},
	}}
}
