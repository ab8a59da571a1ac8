package efficientdet

import (
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/nn"
)

// BenchmarkAssign matches 20 boxes to D2's 110,484 anchors (768×768).
func BenchmarkAssign(b *testing.B) {
	a, err := NewAnchors(768, 768, Config{Variant: "d2", NumClasses: 1}.AnchorConfig())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var boxes []data.Box
	var labels []int
	for range 20 {
		x, y := rng.Float64()*700, rng.Float64()*700
		boxes = append(boxes, data.Box{X1: x, Y1: y, X2: x + 8 + rng.Float64()*300, Y2: y + 8 + rng.Float64()*300})
		labels = append(labels, rng.IntN(7))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Assign(a, boxes, labels, 7, MatchOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(a.Len())*float64(b.N)/b.Elapsed().Seconds()/1e6, "Manchors/s")
}

// BenchmarkDetect post-processes one D0 output (512×512, 90 classes,
// random logits): top 5000, decode, NMS, 100 detections.
func BenchmarkDetect(b *testing.B) {
	a, err := NewAnchors(512, 512, Config{Variant: "d0", NumClasses: 1}.AnchorConfig())
	if err != nil {
		b.Fatal(err)
	}
	o := fakeOutput(a, 1, 90, 0)
	rng := rand.New(rand.NewPCG(2, 2))
	for _, v := range o.Class {
		nn.Normal(v.Value, -4, 2, rng)
	}
	for _, v := range o.Box {
		nn.Normal(v.Value, 0, 0.2, rng)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Detect(o, a, nil, DetectOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFocalLoss runs the class loss and its backward pass on D0's
// class maps (512×512, 90 classes, 49,104 anchors) at batch 4, the
// training batch of BenchmarkEfficientDet: logits N(-4, 2), about one
// anchor in 500 positive and one in 50 ignored.
func BenchmarkFocalLoss(b *testing.B) {
	a, err := NewAnchors(512, 512, Config{Variant: "d0", NumClasses: 1}.AnchorConfig())
	if err != nil {
		b.Fatal(err)
	}
	const n, k = 4, 90
	o := fakeOutput(a, n, k, 0)
	rng := rand.New(rand.NewPCG(3, 3))
	logits := make([]*nn.Var, len(o.Class))
	starts := make([]int, len(o.Class))
	for l, v := range o.Class {
		nn.Normal(v.Value, -4, 2, rng)
		logits[l] = nn.Param(v.Value)
		starts[l] = a.Levels[l].Start
	}
	classes := make([][]int32, n)
	for i := range classes {
		classes[i] = make([]int32, a.Len())
		for j := range classes[i] {
			switch r := rng.IntN(500); {
			case r == 0:
				classes[i][j] = int32(rng.IntN(k))
			case r < 10:
				classes[i][j] = Ignored
			default:
				classes[i][j] = Background
			}
		}
	}
	weights := []float32{1, 1, 1, 1}
	p := focalParams{alpha: 0.25, gamma: 1.5, scale: 1.0 / 40}
	b.ReportAllocs()
	for b.Loop() {
		loss := focalLoss(logits, starts, classes, weights, k, p)
		loss.Backward()
		loss.Release()
		for _, x := range logits {
			x.ZeroGrad()
		}
	}
	b.ReportMetric(float64(a.Len()*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlogits/s")
}
