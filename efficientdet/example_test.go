package efficientdet_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
	"github.com/sortnet/sortnet/train"
)

// The detector of the detect-waste recipe: effdet's tf_efficientdet_d2 with
// a 7-class head. Its pretrained weights would load with
// LoadPretrained(m, "tf_efficientdet_d2_43-8107aa99.pth",
// LoadOptions{NewHead: true}).
func ExampleNew() {
	m, err := efficientdet.New(efficientdet.Config{Variant: "d2", Flavour: efficientnet.TF, NumClasses: 7})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := m.Config()
	a, _ := m.Anchors(c.Height, c.Width)
	fmt.Printf("%d×%d input, BiFPN %d channels × %d cells, %d parameters, %d anchors\n",
		c.Height, c.Width, c.FPNChannels, c.FPNCells, layers.CountParams(m), a.Len())
	// Output: 768×768 input, BiFPN 112 channels × 5 cells, 8012628 parameters, 110484 anchors
}

// Parameter counts come from the plan, without allocating any weight.
func ExampleConfig_NumParams() {
	for _, v := range []string{"d0", "d7x"} {
		n, _ := efficientdet.Config{Variant: v, Flavour: efficientnet.TF, NumClasses: 90}.NumParams()
		fmt.Printf("%s: %.2f M\n", v, float64(n)/1e6)
	}
	// Output:
	// d0: 3.88 M
	// d7x: 77.15 M
}

// A detector small enough to train on a CPU: a scaled-down backbone, one
// narrow BiFPN cell, non-square 256×192 inputs.
func ExampleConfig_free() {
	cfg := efficientdet.Config{
		Backbone:    efficientnet.Config{Width: 0.5, Depth: 0.5},
		FPNChannels: 32, FPNCells: 2, HeadRepeats: 2,
		Height: 256, Width: 192, NumClasses: 7,
	}
	n, err := cfg.NumParams()
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := efficientdet.NewAnchors(cfg.Height, cfg.Width, cfg.AnchorConfig())
	fmt.Printf("%d parameters, %d anchors on %d levels\n", n, a.Len(), len(a.Levels))
	// Output: 605961 parameters, 9216 anchors on 5 levels
}

func ExampleAssign() {
	a, _ := efficientdet.NewAnchors(128, 128, efficientdet.Config{Variant: "d0", NumClasses: 1}.AnchorConfig())
	t, err := efficientdet.Assign(a, []data.Box{
		{X1: 10, Y1: 20, X2: 60, Y2: 70},     // matches several anchors
		{X1: 90, Y1: 90, X2: 96, Y2: 94},     // tiny: only its forced best anchor
		{X1: 200, Y1: 200, X2: 220, Y2: 220}, // outside the image: dropped
	}, []int{0, 1, 1}, 2, efficientdet.MatchOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d anchors, %d positives, %d box dropped\n", a.Len(), t.Positives, t.Dropped)
	// Output: 3069 anchors, 47 positives, 1 box dropped
}

func ExampleBatchedNMS() {
	boxes := []data.Box{
		{X1: 0, Y1: 0, X2: 10, Y2: 10},
		{X1: 1, Y1: 1, X2: 11, Y2: 11}, // overlaps the first: IoU 0.68
		{X1: 1, Y1: 1, X2: 11, Y2: 11}, // the same box, another class
	}
	keep := efficientdet.BatchedNMS(boxes, []float64{0.9, 0.8, 0.7}, []int{0, 0, 1}, 0.5)
	fmt.Println(keep)
	// Output: [0 2]
}

// Detections on a letterboxed input go back to the original image.
func ExampleLetterbox() {
	// A 600×800 photo scaled by 0.64 onto a 512×512 canvas, top left.
	lb := efficientdet.Letterbox{Scale: 0.64}
	fmt.Println(lb.Inverse(data.Box{X1: 64, Y1: 32, X2: 128, Y2: 96}))
	// Output: {100 50 200 150}
}

func ExampleEvaluator() {
	ev := efficientdet.NewEvaluator(2)
	_ = ev.Add(
		[]efficientdet.GroundTruth{{Box: data.Box{X1: 0, Y1: 0, X2: 50, Y2: 50}, Class: 0}},
		[]efficientdet.Detection{
			{Box: data.Box{X1: 0, Y1: 0, X2: 50, Y2: 45}, Score: 0.9, Class: 0}, // IoU 0.9
			{Box: data.Box{X1: 60, Y1: 60, X2: 90, Y2: 90}, Score: 0.8, Class: 1},
		})
	m := ev.Result()
	fmt.Printf("AP %.2f AP50 %.2f AP75 %.2f, class APs %.2f\n", m.AP, m.AP50, m.AP75, m.ClassAP)
	// Output: AP 0.90 AP50 1.00 AP75 1.00, class APs [0.90 -1.00]
}

// Training goes through package train: Detector is its Task.
func ExampleDetector() {
	m, err := efficientdet.New(efficientdet.Config{
		Backbone:    efficientnet.Config{Width: 0.25, Depth: 0.25},
		FPNChannels: 16, FPNCells: 1, HeadRepeats: 1,
		Height: 64, Width: 64, NumClasses: 2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	det := &efficientdet.Detector{Model: m, Classes: []string{"bottle", "can"}}
	opt, _ := optim.NewSGD(layers.Params(m), optim.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 4e-5})
	tr, err := train.New(det, opt, train.Config{Epochs: 1, ClipNorm: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := nn.New(2, 64, 64, 3)
	nn.Normal(x, 0, 1, rand.New(rand.NewPCG(1, 1)))
	batch := &data.Batch{
		X: x, Indices: []int{0, 1}, Weights: []float32{1, 1},
		Boxes:     [][]data.Box{{{X1: 8, Y1: 8, X2: 40, Y2: 48}}, nil}, // the second image is empty
		BoxLabels: [][]int{{1}, nil},
	}
	r, err := tr.Step(batch)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("loss is finite:", r.Loss > 0 && r.Loss < 1e6, "default metric:", det.DefaultMetric())
	// Output: loss is finite: true default metric: ap
}
