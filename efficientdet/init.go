package efficientdet

import (
	"math"
	"math/rand/v2"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// ClassPrior is the initial probability of every class at every anchor:
// the class prediction bias starts at −log((1−ClassPrior)/ClassPrior), so
// that the focal loss of the many background anchors does not swamp the
// first steps (RetinaNet's prior).
const ClassPrior = 0.01

// Fans as effdet's _fan_in_out computes them from PyTorch's layouts:
// fan_in = in·k·k, fan_out = out·k·k/groups, where a depthwise weight
// [C, 1, k, k] has in = 1, out = C and C groups.

func convFans(w *nn.Tensor) (fanIn, fanOut float64) {
	s := w.Shape() // [K, K, Cin, Cout]
	k := float64(s[0] * s[1])
	return float64(s[2]) * k, float64(s[3]) * k
}

func dwFans(w *nn.Tensor) (fanIn, fanOut float64) {
	s := w.Shape() // [K, K, C]
	k := float64(s[0] * s[1])
	return k, k
}

// glorotUniform is effdet's _glorot_uniform: U(±√(3/max(1, (fanIn+fanOut)/2))).
func glorotUniform(w *nn.Tensor, fanIn, fanOut float64, rng *rand.Rand) {
	limit := math.Sqrt(3 / math.Max(1, (fanIn+fanOut)/2))
	nn.Uniform(w, -limit, limit, rng)
}

// varianceScaling is effdet's _variance_scaling: N(0, 1/max(1, fanIn)).
func varianceScaling(w *nn.Tensor, fanIn float64, rng *rand.Rand) {
	nn.Normal(w, 0, math.Sqrt(1/math.Max(1, fanIn)), rng)
}

func zeroBias(c *layers.Conv2d) {
	if c.Bias != nil {
		c.Bias.Value.Zero()
	}
}

// initFPN initialises the BiFPN as effdet's _init_weight does outside the
// heads: Glorot-uniform convolutions, zero biases, batch norm γ 1, β 0,
// fusion weights 1.
func initFPN(f *BiFPN, rng *rand.Rand) {
	layers.Walk(f, func(_ string, m layers.Module) {
		switch l := m.(type) {
		case *SeparableConv:
			glorotUniform(l.ConvDw.Weight.Value, 9, 9, rng)
			in, out := convFans(l.ConvPw.Weight.Value)
			glorotUniform(l.ConvPw.Weight.Value, in, out, rng)
			zeroBias(l.ConvPw)
		case *ConvBN:
			in, out := convFans(l.Conv.Weight.Value)
			glorotUniform(l.Conv.Weight.Value, in, out, rng)
			zeroBias(l.Conv)
		case *layers.BatchNorm2d:
			initBN(l)
		case *Combine:
			if l.EdgeWeights != nil {
				l.EdgeWeights.Value.Fill(1)
			}
		}
	})
}

// initHead initialises a class or box net as effdet's _init_weight does:
// convolutions from N(0, 1/fan_in), zero biases except the class
// prediction's, which is −log((1−ClassPrior)/ClassPrior).
func initHead(h *Head, class bool, rng *rand.Rand) {
	sep := func(s *SeparableConv) {
		in, _ := dwFans(s.ConvDw.Weight.Value)
		varianceScaling(s.ConvDw.Weight.Value, in, rng)
		in, _ = convFans(s.ConvPw.Weight.Value)
		varianceScaling(s.ConvPw.Weight.Value, in, rng)
		zeroBias(s.ConvPw)
	}
	for _, c := range h.ConvRep {
		sep(c)
	}
	for _, levels := range h.BNRep {
		for _, b := range levels {
			initBN(b)
		}
	}
	sep(h.Predict)
	if class {
		h.Predict.ConvPw.Bias.Value.Fill(float32(-math.Log((1 - ClassPrior) / ClassPrior)))
	}
}

func initBN(b *layers.BatchNorm2d) {
	b.Weight.Value.Fill(1)
	b.Bias.Value.Zero()
	b.RunningMean.Zero()
	b.RunningVar.Fill(1)
}
