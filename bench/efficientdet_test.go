package bench

import (
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// BenchmarkEfficientDet measures EfficientDet-D0 in images per second,
// the two cases tools/bench_efficientdet_torch.py measures in PyTorch on
// an equivalent network (same threads, batch, resolution, optimizer):
//
//	d0_infer_bs1_512   inference, batch 1, 512×512: network and
//	                   post-processing (top 5000, decode, class-aware NMS,
//	                   100 detections)
//	d0_train_bs4_512   training step, batch 4, 512×512: forward, anchor
//	                   assignment of 5 boxes per image, focal + Huber loss,
//	                   backward, SGD (momentum 0.9, weight decay 4e-5)
//
// The model is effdet's efficientdet_d0 (PyTorch flavour: symmetric
// padding, no redundant biases, as torchvision's EfficientNet-B0 backbone
// on the PyTorch side) with 90 classes, random weights and inputs, in
// evaluation mode under nn.NoGrad for inference and in training mode for
// the step; the first run, which fills the buffer pool, is not timed. Both
// use every thread (nn.Threads' default, GOMAXPROCS). Side by side:
//
//	go test -run '^$' -bench EfficientDet -benchtime 3x ./bench/
//	/usr/bin/python3 tools/bench_efficientdet_torch.py
func BenchmarkEfficientDet(b *testing.B) {
	cases := []struct {
		name  string
		batch int
		size  int
		train bool
	}{
		{"d0_infer_bs1_512", 1, 512, false},
		{"d0_train_bs4_512", 4, 512, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			m, err := efficientdet.New(efficientdet.Config{Variant: "d0", NumClasses: 90, Rng: rng})
			if err != nil {
				b.Fatal(err)
			}
			x := nn.New(c.batch, c.size, c.size, 3)
			nn.Normal(x, 0, 1, rng)
			var step func()
			if c.train {
				step = detTrainStep(b, m, x, rng)
			} else {
				layers.SetTraining(m, false)
				step = func() { detInferStep(b, m, x) }
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

func detInferStep(b *testing.B, m *efficientdet.Model, x *nn.Tensor) {
	if _, err := m.Predict(x, nil, efficientdet.DetectOptions{}); err != nil {
		b.Fatal(err)
	}
}

func detTrainStep(b *testing.B, m *efficientdet.Model, x *nn.Tensor, rng *rand.Rand) func() {
	opt, err := optim.NewSGD(layers.Params(m), optim.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 4e-5})
	if err != nil {
		b.Fatal(err)
	}
	n, size := x.Dim(0), float64(x.Dim(1))
	batch := &data.Batch{X: x, Indices: make([]int, n), Weights: make([]float32, n)}
	for i := range n {
		batch.Indices[i], batch.Weights[i] = i, 1
		var boxes []data.Box
		var labels []int
		for range 5 {
			w, h := 32+rng.Float64()*200, 32+rng.Float64()*200
			x0, y0 := rng.Float64()*(size-w), rng.Float64()*(size-h)
			boxes = append(boxes, data.Box{X1: x0, Y1: y0, X2: x0 + w, Y2: y0 + h})
			labels = append(labels, rng.IntN(90))
		}
		batch.Boxes, batch.BoxLabels = append(batch.Boxes, boxes), append(batch.BoxLabels, labels)
	}
	classes := make([]string, 90)
	for i := range classes {
		classes[i] = string(rune('a'+i/26)) + string(rune('a'+i%26))
	}
	task := &efficientdet.Detector{Model: m, Classes: classes}
	return func() {
		loss, _, err := task.Loss(batch)
		if err != nil {
			b.Fatal(err)
		}
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		loss.Release()
	}
}
