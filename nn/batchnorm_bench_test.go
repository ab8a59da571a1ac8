package nn_test

import (
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// BenchmarkBatchNormSiLU times the training forward pass of a batch norm
// followed by SiLU on an EfficientNet-B0 activation at batch 8, [8, 56,
// 56, 144], recording the graph as training does: "fused" is BatchNorm
// with BNOpts.SiLU (one pass writing the norm and its SiLU), "separate"
// is SiLU(BatchNorm(x)) (two passes). Both give the same bits.
func BenchmarkBatchNormSiLU(b *testing.B) {
	defer nn.PoisonBufs(nn.PoisonBufs(false))
	r := rng(2)
	shape := []int{8, 56, 56, 144}
	c := shape[3]
	x := nn.Param(nntest.Rand(r, -2, 2, shape...))
	gamma, beta := nn.Param(nntest.Rand(r, 0.5, 1.5, c)), nn.Param(nntest.Rand(r, -1, 1, c))
	rm, rv := nn.New(c), nntest.Rand(r, 0.5, 2, c)
	for _, fused := range []bool{true, false} {
		name := "separate"
		if fused {
			name = "fused"
		}
		b.Run(name, func(b *testing.B) {
			o := nn.BNOpts{RunningMean: rm, RunningVar: rv, Training: true, Momentum: 0.1, Eps: 1e-3, SiLU: fused}
			f := func() *nn.Var {
				if fused {
					return nn.BatchNorm(x, gamma, beta, o)
				}
				return nn.SiLU(nn.BatchNorm(x, gamma, beta, o))
			}
			f().Release() // fill the buffer pool
			b.ReportAllocs()
			for b.Loop() {
				f().Release()
			}
			b.ReportMetric(float64(x.Value.Len())*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
