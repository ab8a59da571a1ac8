package efficientnet

import (
	"math"
	"math/rand/v2"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// initGoog initialises m as timm's _init_weight_goog (the TensorFlow
// reference initialisation), visiting modules depth first in member order:
//
//   - convolution weights ~ N(0, 2/fan_out) with fan_out = k·k·Cout/groups
//     (k·k for a depthwise conv), biases 0;
//   - batch norm γ = 1, β = 0 (and running statistics 0 and 1);
//   - linear weights ~ U(-1/√Out, 1/√Out), biases 0.
func initGoog(m layers.Module, rng *rand.Rand) {
	layers.Walk(m, func(_ string, m layers.Module) {
		switch l := m.(type) {
		case *layers.Conv2d:
			s := l.Weight.Value.Shape() // [K, K, Cin/g, Cout]
			fanOut := s[0] * s[1] * s[3] / max(l.Opts.Groups, 1)
			nn.Normal(l.Weight.Value, 0, math.Sqrt(2/float64(fanOut)), rng)
			if l.Bias != nil {
				l.Bias.Value.Zero()
			}
		case *layers.DepthwiseConv2d:
			s := l.Weight.Value.Shape() // [K, K, C]
			nn.Normal(l.Weight.Value, 0, math.Sqrt(2/float64(s[0]*s[1])), rng)
			if l.Bias != nil {
				l.Bias.Value.Zero()
			}
		case *layers.BatchNorm2d:
			l.Weight.Value.Fill(1)
			l.Bias.Value.Zero()
			l.RunningMean.Zero()
			l.RunningVar.Fill(1)
		case *layers.Linear:
			initLinear(l, rng)
		}
	})
}

func initLinear(l *layers.Linear, rng *rand.Rand) {
	r := 1 / math.Sqrt(float64(l.Weight.Value.Dim(1)))
	nn.Uniform(l.Weight.Value, -r, r, rng)
	if l.Bias != nil {
		l.Bias.Value.Zero()
	}
}
