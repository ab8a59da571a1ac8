package bench

import (
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// BenchmarkEfficientNet measures whole-model throughput in images per
// second, the same four cases tools/bench_efficientnet_torch.py measures
// in PyTorch (torchvision models, channels_last, same batch, resolution,
// optimizer and threads):
//
//	b0_infer_bs1_224   B0 inference, batch 1, 224×224, one thread
//	b2_infer_bs8_260   B2 inference, batch 8, 260×260, all threads
//	b0_train_bs32_96   B0 training step, batch 32, 96×96, all threads
//	b0_train_bs16_224  B0 training step, batch 16, 224×224, all threads
//	b2_train_bs16_260  B2 training step, batch 16, 260×260, all threads
//	                   (the detect-waste classifier recipe)
//
// Inference runs in evaluation mode under nn.NoGrad (1000 classes); a
// training step is forward, cross-entropy, backward and an Adam step
// (8 classes, training mode). Weights and inputs are random; the first
// step, which fills the buffer pool, is not timed. "All threads" is
// nn.Threads()'s default, GOMAXPROCS. Side by side:
//
//	go test -run '^$' -bench EfficientNet -benchtime 3x ./bench/
//	/usr/bin/python3 tools/bench_efficientnet_torch.py
func BenchmarkEfficientNet(b *testing.B) {
	cases := []struct {
		name    string
		variant string
		batch   int
		size    int
		train   bool
		threads int // 0: default
	}{
		{"b0_infer_bs1_224", "b0", 1, 224, false, 1},
		{"b2_infer_bs8_260", "b2", 8, 260, false, 0},
		{"b0_train_bs32_96", "b0", 32, 96, true, 0},
		{"b0_train_bs16_224", "b0", 16, 224, true, 0},
		{"b2_train_bs16_260", "b2", 16, 260, true, 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.threads > 0 {
				prev := nn.SetThreads(c.threads)
				defer nn.SetThreads(prev)
			}
			classes := 1000
			if c.train {
				classes = 8
			}
			rng := rand.New(rand.NewPCG(1, 2))
			model, err := efficientnet.New(efficientnet.Config{Variant: c.variant, NumClasses: classes, Rng: rng})
			if err != nil {
				b.Fatal(err)
			}
			x := nn.NewVar(nn.New(c.batch, c.size, c.size, 3))
			nn.Normal(x.Value, 0, 1, rng)
			var step func()
			if c.train {
				step = trainStep(b, model, x, classes)
			} else {
				layers.SetTraining(model, false)
				step = func() { inferStep(model, x) }
			}
			step() // fill the buffer pool
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(c.batch)*float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

func inferStep(m *efficientnet.Model, x *nn.Var) {
	nn.NoGrad(func() {
		y := m.Forward(x)
		nn.Recycle(y.Value)
	})
}

func trainStep(b *testing.B, m *efficientnet.Model, x *nn.Var, classes int) func() {
	opt, err := optim.NewAdam(layers.Params(m), optim.AdamConfig{LR: 1e-4})
	if err != nil {
		b.Fatal(err)
	}
	labels := make([]int, x.Value.Dim(0))
	for i := range labels {
		labels[i] = i % classes
	}
	return func() {
		loss := nn.CrossEntropy(m.Forward(x), labels, nn.CEOpts{})
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		loss.Release()
	}
}
