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
