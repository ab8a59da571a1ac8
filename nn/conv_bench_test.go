package nn_test

import (
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// BenchmarkConv2d times EfficientNet-B0-shaped convolutions at batch 8 with
// TF "SAME" padding: forward only (under NoGrad) and forward plus backward
// (gradients of input and weight). GFLOP/s counts 2·N·OutH·OutW·Cout·KH·KW·
// Cin/groups per forward and three times that per forward+backward.
func BenchmarkConv2d(b *testing.B) {
	defer nn.PoisonBufs(nn.PoisonBufs(false))
	for _, c := range []struct {
		name                  string
		n, h, cin, cout, k, s int
		depthwise             bool
	}{
		{"pw_96to24_56", 8, 56, 96, 24, 1, 1, false},
		{"dw3x3_144_56", 8, 56, 144, 144, 3, 1, true},
		{"stem_3x3s2_3to32_224", 8, 224, 3, 32, 3, 2, false},
	} {
		r := rng(1)
		x := nn.Param(nntest.Rand(r, -1, 1, c.n, c.h, c.h, c.cin))
		var w *nn.Var
		conv := nn.Conv2d
		cinPerGroup := c.cin
		if c.depthwise {
			w = nn.Param(nntest.Rand(r, -1, 1, c.k, c.k, c.cin))
			conv = nn.DepthwiseConv2d
			cinPerGroup = 1
		} else {
			w = nn.Param(nntest.Rand(r, -1, 1, c.k, c.k, c.cin, c.cout))
		}
		opts := nn.Conv2dOpts{Stride: c.s, Padding: nn.SamePadding()}
		out := (c.h + c.s - 1) / c.s
		flops := 2 * float64(c.n*out*out*c.cout*c.k*c.k*cinPerGroup)

		b.Run(c.name+"/fwd", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				convForward(conv, x, w, opts)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(c.name+"/fwdbwd", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				convStep(conv, x, w, opts)
			}
			b.ReportMetric(3*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func convForward(conv func(x, w *nn.Var, o nn.Conv2dOpts) *nn.Var, x, w *nn.Var, o nn.Conv2dOpts) {
	// Outputs made under NoGrad are not in a recorded graph: Recycle
	// returns the buffer (Release would do nothing).
	nn.NoGrad(func() { nn.Recycle(conv(x, w, o).Value) })
}

func convStep(conv func(x, w *nn.Var, o nn.Conv2dOpts) *nn.Var, x, w *nn.Var, o nn.Conv2dOpts) {
	loss := nn.Sum(conv(x, w, o))
	loss.Backward()
	loss.Release()
}
