package efficientdet_test

import (
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
	"github.com/sortnet/sortnet/train"
)

var long = flag.Bool("long", false, "run the long detector training tests")

// shapes is an in-memory detection data set: noisy images with filled
// rectangles, class 0 reddish and class 1 greenish.
type shapes struct {
	images []*nn.Tensor
	boxes  [][]data.Box
	labels [][]int
}

func (s *shapes) Len() int { return len(s.images) }

func (s *shapes) Example(i int, _ *rand.Rand) (data.Example, error) {
	return data.Example{Image: s.images[i], Boxes: s.boxes[i], BoxLabels: s.labels[i], Label: data.Unlabeled}, nil
}

// newShapes draws n size×size images with one to three objects of 24–60
// pixels each.
func newShapes(n, size int, seed uint64) *shapes {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := &shapes{}
	colours := [2][3]float32{{1.5, -0.5, -0.5}, {-0.5, 1.5, -0.5}}
	for range n {
		img := nn.New(size, size, 3)
		d := img.Data()
		for i := range d {
			d[i] = float32(rng.NormFloat64() * 0.3)
		}
		var boxes []data.Box
		var labels []int
		for range 1 + rng.IntN(3) {
			w, h := 24+rng.IntN(37), 24+rng.IntN(37)
			x, y := rng.IntN(size-w), rng.IntN(size-h)
			b := data.Box{X1: float64(x), Y1: float64(y), X2: float64(x + w), Y2: float64(y + h)}
			overlaps := false
			for _, o := range boxes {
				overlaps = overlaps || (b.X1 < o.X2 && o.X1 < b.X2 && b.Y1 < o.Y2 && o.Y1 < b.Y2)
			}
			if overlaps {
				continue
			}
			c := rng.IntN(2)
			for yy := y; yy < y+h; yy++ {
				for xx := x; xx < x+w; xx++ {
					for ch := range 3 {
						d[(yy*size+xx)*3+ch] += colours[c][ch]
					}
				}
			}
			boxes, labels = append(boxes, b), append(labels, c)
		}
		s.images, s.boxes, s.labels = append(s.images, img), append(s.boxes, boxes), append(s.labels, labels)
	}
	return s
}

func tinyDetector(t testing.TB, size int) *efficientdet.Detector {
	t.Helper()
	m, err := efficientdet.New(efficientdet.Config{
		Backbone:    efficientnet.Config{Width: 0.25, Depth: 0.25},
		FPNChannels: 24, FPNCells: 1, HeadRepeats: 1,
		Height: size, Width: size, NumClasses: 2,
		BNMomentum: 0.1, // short runs: let the running statistics keep up
		Rng:        rand.New(rand.NewPCG(1, 2)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &efficientdet.Detector{Model: m, Classes: []string{"red", "green"}}
}

// TestOverfit trains a tiny detector (a width/depth 0.25 backbone, one
// 24-channel BiFPN cell) on four 128×128 images with train.Trainer and
// checks that it finds their boxes again: AP50 > 0.9.
func TestOverfit(t *testing.T) {
	const size = 128
	ds := newShapes(4, size, 1)
	det := tinyDetector(t, size)
	opt, err := optim.NewAdam(layers.Params(det.Model), optim.AdamConfig{LR: 3e-3})
	if err != nil {
		t.Fatal(err)
	}
	epochs := 40
	if *long {
		epochs = 200
	}
	tr, err := train.New(det, opt, train.Config{Epochs: epochs, ClipNorm: 10})
	if err != nil {
		t.Fatal(err)
	}
	l, err := data.NewLoader(ds, data.LoaderConfig{Batch: 4, Workers: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := tr.Fit(context.Background(), l, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d epochs in %v, loss %.3f → %.3f", epochs, time.Since(start), rep.History[0].TrainLoss, rep.History[len(rep.History)-1].TrainLoss)
	layers.SetTraining(det.Model, false)
	vl, err := data.NewLoader(ds, data.LoaderConfig{Batch: 2, Workers: 1, Sampler: data.Sequential{}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := det.Evaluate(context.Background(), vl, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("AP %.3f AP50 %.3f AP75 %.3f AR100 %.3f", ev.Scores["ap"], ev.Scores["ap50"], ev.Scores["ap75"], ev.Scores["ar100"])
	if ev.Scores["ap50"] <= 0.9 {
		t.Errorf("AP50 %.3f after overfitting four images, want > 0.9", ev.Scores["ap50"])
	}
}

func TestResetClassHead(t *testing.T) {
	det := tinyDetector(t, 64)
	before := layers.StateDict(det.Model)["box_net.predict.conv_pw.weight"]
	if err := det.Model.ResetClassHead(5, nil); err != nil {
		t.Fatal(err)
	}
	if det.Model.NumClasses() != 5 || det.Model.Config().NumClasses != 5 {
		t.Fatalf("%d classes", det.Model.NumClasses())
	}
	if n, _ := det.Model.Config().NumParams(); n != layers.CountParams(det.Model) {
		t.Errorf("plan %d parameters, model %d", n, layers.CountParams(det.Model))
	}
	if layers.StateDict(det.Model)["box_net.predict.conv_pw.weight"] != before {
		t.Error("the box net was replaced")
	}
	var out efficientdet.Output
	nn.NoGrad(func() { out = det.Model.Forward(nn.NewVar(nn.New(2, 64, 64, 3))) })
	if c := out.Class[0].Shape()[3]; c != 45 {
		t.Errorf("class map has %d channels, want 9·5", c)
	}
	if err := det.Model.ResetClassHead(0, nil); err == nil {
		t.Error("0 classes: no error")
	}
}

func TestProposeAndApply(t *testing.T) {
	const size = 64
	ds := newShapes(3, size, 2)
	det := tinyDetector(t, size)
	det.PseudoScore = 0.005 // an untrained head scores around the 0.01 prior
	layers.SetTraining(det.Model, false)
	l, err := data.NewLoader(ds, data.LoaderConfig{Batch: 3, Workers: 1, Sampler: data.Sequential{}})
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tta := range []bool{false, true} {
			props, err := det.Propose(b, train.ProposeOpts{FlipTTA: tta})
			if err != nil {
				t.Fatal(err)
			}
			if len(props) != 3 {
				t.Fatalf("%d proposals", len(props))
			}
			for i, p := range props {
				if p.Index != b.Indices[i] || len(p.Boxes) == 0 || len(p.Boxes) != len(p.BoxLabels) || len(p.Boxes) > 100 {
					t.Fatalf("proposal %d: %+v", i, p)
				}
				if p.Class != p.BoxLabels[0] || !(p.Confidence > 0 && p.Confidence < 1) {
					t.Errorf("proposal %d: class %d confidence %v, first box class %d", i, p.Class, p.Confidence, p.BoxLabels[0])
				}
				for _, bx := range p.Boxes {
					if bx.X1 < 0 || bx.Y1 < 0 || bx.X2 > size || bx.Y2 > size || !(bx.X2 > bx.X1) {
						t.Fatalf("box %v outside the %d² image", bx, size)
					}
				}
				ex := data.Example{Label: data.Unlabeled, Image: nn.New(size, size, 3)}
				det.Apply(&ex, p, true)
				if ex.Label != p.Class || len(ex.Boxes) > len(p.Boxes) || len(ex.Boxes) == 0 || &ex.Boxes[0] == &p.Boxes[0] {
					t.Errorf("Apply: %+v", ex)
				}
				// Through a student view at half the size, flipped left to
				// right: the boxes follow the geometry.
				half := data.Example{Image: nn.New(size/2, size/2, 3), Geom: augment.Matrix{-0.5, 0, size / 2, 0, 0.5, 0}}
				det.Apply(&half, train.Proposal{Boxes: []data.Box{{X1: 8, Y1: 4, X2: 24, Y2: 40}}, BoxLabels: []int{1}}, false)
				det.Apply(&half, train.Proposal{Boxes: []data.Box{{X1: 8, Y1: 4, X2: 24, Y2: 40}}, BoxLabels: []int{1},
					Ignore: []data.Box{{X1: 40, Y1: 0, X2: 64, Y2: 16}, {X1: 70, Y1: 0, X2: 90, Y2: 10}}}, false)
				if want := (data.Box{X1: 20, Y1: 2, X2: 28, Y2: 20}); len(half.Boxes) != 1 || half.Boxes[0] != want || half.BoxLabels[0] != 1 {
					t.Errorf("Apply through a geometry: %v %v, want [%v] [1]", half.Boxes, half.BoxLabels, want)
				}
				// The ignore regions follow too; one mapped outside the view is dropped.
				if want := (data.Box{X1: 0, Y1: 0, X2: 12, Y2: 8}); len(half.Ignore) != 1 || half.Ignore[0] != want {
					t.Errorf("Apply's ignore regions through a geometry: %v, want [%v]", half.Ignore, want)
				}
			}
		}
		// Boxes come back in the original image's coordinates: here the
		// input was the original shrunk by half.
		plain, _ := det.Propose(b, train.ProposeOpts{})
		scaled := *b
		scaled.Geoms = make([]augment.Matrix, b.Len())
		for i := range scaled.Geoms {
			scaled.Geoms[i] = augment.Matrix{0.5, 0, 0, 0, 0.5, 0}
		}
		back, err := det.Propose(&scaled, train.ProposeOpts{})
		if err != nil {
			t.Fatal(err)
		}
		if g, w := back[0].Boxes[0], plain[0].Boxes[0]; math.Abs(g.X2-2*w.X2) > 1e-9 || math.Abs(g.Y1-2*w.Y1) > 1e-9 {
			t.Errorf("box %v not mapped back to the original (want twice %v)", g, w)
		}
		// Above every score: no boxes, and the image's class and
		// confidence still tell the SelfTrainer what the teacher thought.
		det.PseudoScore = 0.99
		props, err := det.Propose(b, train.ProposeOpts{})
		if err != nil {
			t.Fatal(err)
		}
		if len(props[0].Boxes) != 0 || props[0].Class < 0 || props[0].Confidence >= 0.99 || props[0].Ignore != nil {
			t.Errorf("high threshold: %+v", props[0])
		}
		// The detections below it but above the ignore score become
		// ignore regions instead.
		det.PseudoIgnoreScore = 0.005
		if props, err = det.Propose(b, train.ProposeOpts{}); err != nil {
			t.Fatal(err)
		}
		if len(props[0].Boxes) != 0 || len(props[0].Ignore) != len(plain[0].Boxes) || props[0].Ignore[0] != plain[0].Boxes[0] {
			t.Errorf("ignore regions: %d, want the %d boxes of score ≥ 0.005", len(props[0].Ignore), len(plain[0].Boxes))
		}
		det.PseudoIgnoreScore = 0.99
		if _, err := det.Propose(b, train.ProposeOpts{}); err == nil || !strings.Contains(err.Error(), "ignore score") {
			t.Errorf("ignore score not below the box score: %v", err)
		}
		det.PseudoIgnoreScore = 0
	}
}

// TestSelfTrainDetector runs train.SelfTrainer unchanged over the detection
// task for one short round: pseudo-labels from the teacher, a student
// trained on labelled and pseudo-labelled batches, an evaluation.
func TestSelfTrainDetector(t *testing.T) {
	const size = 64
	labelled, pool := newShapes(2, size, 3), newShapes(2, size, 4)
	det := tinyDetector(t, size)
	det.PseudoScore = 0.005
	opt, err := optim.NewAdam(layers.Params(det.Model), optim.AdamConfig{LR: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(det, opt, train.Config{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := train.NewSelfTrainer(tr, train.SelfTrainConfig{Epochs: 1, Threshold: 0.001, Balance: true})
	if err != nil {
		t.Fatal(err)
	}
	val, err := data.NewLoader(labelled, data.LoaderConfig{Batch: 2, Workers: 1, Sampler: data.Sequential{}})
	if err != nil {
		t.Fatal(err)
	}
	reps, err := st.Fit(context.Background(), labelled, data.LoaderConfig{Batch: 1, Workers: 1, Seed: 1}, train.Pool{Clean: pool, Noisy: pool}, val)
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	if r.Pool != 2 || r.After == nil || r.AcceptedFraction != 1 {
		t.Errorf("round report %+v", r)
	}
	if _, ok := r.After.Scores["ap50"]; !ok {
		t.Errorf("scores %v", r.After.Scores)
	}
}

func TestDetectorBadBatches(t *testing.T) {
	det := tinyDetector(t, 64)
	x := nn.New(2, 64, 64, 3)
	cases := []struct {
		b    *data.Batch
		want string
	}{
		{&data.Batch{X: x, Indices: []int{0, 1}, Boxes: [][]data.Box{{{X1: 0, Y1: 0, X2: 10, Y2: 10}}, nil}, BoxLabels: [][]int{{5}, nil}}, "label 5"},
		{&data.Batch{X: x, Indices: []int{0, 1}, Boxes: [][]data.Box{{{X1: 0, Y1: 0, X2: math.NaN(), Y2: 10}}, nil}, BoxLabels: [][]int{{0}, nil}}, "non-finite"},
		{&data.Batch{X: x, Indices: []int{0, 1}, Boxes: [][]data.Box{nil}}, "1 box lists"},
		{&data.Batch{X: nn.New(2, 64, 64, 1), Indices: []int{0, 1}}, "want NHWC"},
	}
	for _, c := range cases {
		if _, _, err := det.Loss(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error about %q, got %v", c.want, err)
		}
	}
	// Images without any boxes (and no box lists at all) train fine.
	loss, _, err := det.Loss(&data.Batch{X: x, Indices: []int{0, 1}})
	if err != nil || !(loss.Value.Item() > 0) {
		t.Errorf("empty images: loss %v, %v", loss, err)
	}
	// Training batch norm needs two values per channel at the coarsest
	// level: one 64×64 image has a single 1×1 map there.
	if _, _, err := det.Loss(&data.Batch{X: nn.New(1, 64, 64, 3), Indices: []int{0}}); err == nil || !strings.Contains(err.Error(), "batch norm needs two") {
		t.Errorf("batch of one: %v", err)
	}
	// Ignore regions over the whole of an image leave its background out
	// of the loss.
	all := [][]data.Box{{{X1: 0, Y1: 0, X2: 64, Y2: 64}, {X1: 16, Y1: 16, X2: 48, Y2: 48}}, nil}
	ignored, _, err := det.Loss(&data.Batch{X: x, Indices: []int{0, 1}, Ignore: all})
	if err != nil || !(ignored.Value.Item() < loss.Value.Item()) {
		t.Errorf("ignore regions: loss %v (without: %v), %v", ignored, loss.Value.Item(), err)
	}
	if _, _, err := det.Loss(&data.Batch{X: x, Indices: []int{0, 1}, Ignore: all[:1]}); err == nil || !strings.Contains(err.Error(), "1 ignore lists") {
		t.Errorf("ignore lists of another length: %v", err)
	}
	det.Classes = []string{"one"}
	if _, _, err := det.Loss(&data.Batch{X: x, Indices: []int{0, 1}}); err == nil || !strings.Contains(err.Error(), "2 classes but 1 are named") {
		t.Errorf("class names: %v", err)
	}
}
