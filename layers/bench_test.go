package layers_test

import (
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// miniNet is a small MBConv-shaped classifier: stem conv 3×3/2, BN, SiLU,
// depthwise 3×3, BN, SiLU, squeeze-excite, pointwise projection, BN, global
// pooling, linear head.
func miniNet(rng *rand.Rand) (*layers.Sequential, func(n, hw int) float64) {
	m := layers.NewSequential(
		layers.NewConv2d(3, 16, 3, layers.ConvConfig{Stride: 2, Padding: nn.SamePadding()}, rng),
		layers.NewBatchNorm2d(16, layers.BNConfig{}),
		layers.SiLU{},
		layers.NewDepthwiseConv2d(16, 3, layers.ConvConfig{Padding: nn.Pad(1)}, rng),
		layers.NewBatchNorm2d(16, layers.BNConfig{}),
		layers.SiLU{},
		layers.NewSqueezeExcite(16, 4, rng),
		layers.NewConv2d(16, 24, 1, layers.ConvConfig{}, rng),
		layers.NewBatchNorm2d(24, layers.BNConfig{}),
		layers.GlobalAvgPool{},
		layers.NewLinear(24, 8, rng),
	)
	// Forward multiply-add FLOPs of the convolutions and the head.
	flops := func(n, hw int) float64 {
		o := float64(hw / 2 * hw / 2)
		return 2 * float64(n) * (o*16*9*3 + o*16*9 + o*24*16 + 24*8)
	}
	return m, flops
}

// BenchmarkTrainStep measures one training step of miniNet — forward,
// cross-entropy, backward, Adam — at batch 16 on 64×64 images. GFLOP/s
// counts forward+backward as 3× the forward FLOPs; B/op and allocs/op show
// whether the buffer pool keeps the step off the heap.
func BenchmarkTrainStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, hw = 16, 64
	model, flops := miniNet(rng)
	opt, err := optim.NewAdam(layers.Params(model), optim.AdamConfig{LR: 1e-3})
	if err != nil {
		b.Fatal(err)
	}
	x := nn.NewVar(nn.New(n, hw, hw, 3))
	nn.Normal(x.Value, 0, 1, rng)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 8
	}
	step := func() {
		loss := nn.CrossEntropy(model.Forward(x), labels, nn.CEOpts{})
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		loss.Release()
	}
	step() // fill the buffer pool
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(3*flops(n, hw)/sec/1e9, "GFLOP/s")
	b.ReportMetric(n/sec, "img/s")
}
