package efficientdet

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

func TestFocalGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// Two levels, 2 images, 3 anchors per location, 2 classes.
	x1 := nn.Param(nntest.Rand(rng, -4, 4, 2, 3, 2, 6))
	x2 := nn.Param(nntest.Rand(rng, -4, 4, 2, 1, 1, 6))
	per := 3*2*3 + 3
	classes := make([][]int32, 2)
	for i := range classes {
		classes[i] = make([]int32, per)
		for j := range classes[i] {
			classes[i][j] = int32(rng.IntN(4)) - 2 // Ignored, Background, 0, 1
		}
	}
	for _, c := range []struct {
		gamma, smoothing float64
	}{{1.5, 0}, {2, 0.1}, {0, 0}, {1, 0.2}, {0.5, 0}} {
		p := focalParams{alpha: 0.25, gamma: c.gamma, smoothing: c.smoothing, scale: 0.3}
		nntest.CheckGrad(t, func() *nn.Var {
			return focalLoss([]*nn.Var{x1, x2}, []int{0, 18}, classes, []float32{1, 0.5}, 2, p)
		}, []*nn.Var{x1, x2}, nntest.Options{Eps: 1e-3})
	}
}

// TestFocalUpstreamGradient: the derivatives stored by the forward pass
// are scaled by the upstream gradient when it is not 1.
func TestFocalUpstreamGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	xt := nntest.Rand(rng, -5, 5, 2, 3, 3, 2*3)
	classes := make([][]int32, 2)
	for i := range classes {
		classes[i] = make([]int32, 3*3*3)
		for j := range classes[i] {
			classes[i][j] = int32(rng.IntN(5)) - 2
		}
	}
	p := focalParams{alpha: 0.25, gamma: 1.5, scale: 0.7}
	var grads [2][]float32
	for i, k := range []float32{1, 2.5} {
		x := nn.Param(xt.Clone())
		loss := nn.Mul(focalLoss([]*nn.Var{x}, []int{0}, classes, []float32{1, 0.5}, 3, p), nn.NewVar(nn.Scalar(k)))
		loss.Backward()
		grads[i] = x.Grad.Data()
	}
	for i, g := range grads[0] {
		want := 2.5 * float64(g)
		if d := math.Abs(float64(grads[1][i]) - want); d > 1e-6*math.Abs(want) {
			t.Fatalf("grad[%d] = %v with the loss times 2.5, want %v", i, grads[1][i], want)
		}
	}
}

// TestFocalBackwardTwice: the derivatives go to the logits' gradients, so
// a second backward pass through the same loss says so instead of adding
// nothing.
func TestFocalBackwardTwice(t *testing.T) {
	x := nn.Param(nntest.Rand(rand.New(rand.NewPCG(9, 9)), -3, 3, 1, 2, 2, 2))
	h := nn.MulScalar(x, 1) // the logits are an op's output, as in a model
	classes := [][]int32{{0, Background, Ignored, 1}}
	loss := focalLoss([]*nn.Var{h}, []int{0}, classes, []float32{1}, 2, focalParams{alpha: 0.25, gamma: 2, scale: 1})
	loss.Backward()
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "backward pass ran twice") {
			t.Fatalf("second Backward: panic %q", msg)
		}
	}()
	loss.Backward()
}

// TestFocalThreadIndependent: the class loss sums in fixed blocks.
func TestFocalThreadIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := nn.NewVar(nntest.Rand(rng, -5, 5, 2, 40, 40, 9*4))
	classes := make([][]int32, 2)
	for i := range classes {
		classes[i] = make([]int32, 40*40*9)
		for j := range classes[i] {
			classes[i][j] = Background
			if rng.IntN(50) == 0 {
				classes[i][j] = int32(rng.IntN(4))
			}
		}
	}
	var vals []float32
	for _, th := range []int{1, 2, 3, 7} {
		prev := nn.SetThreads(th)
		v := focalLoss([]*nn.Var{x}, []int{0}, classes, []float32{1, 1}, 4, focalParams{alpha: 0.25, gamma: 1.5, scale: 1})
		nn.SetThreads(prev)
		vals = append(vals, v.Value.Item())
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			t.Fatalf("loss depends on the thread count: %v", vals)
		}
	}
}

func lossOf(t *testing.T, out Output, a *Anchors, ts []Targets, w []float32) Losses {
	t.Helper()
	l, err := Loss(out, a, ts, w, LossOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLossWeightsAndEmpty: per-image weights scale each image's share
// linearly (the normaliser stays the batch's positives + 1); an image
// without boxes has only class loss.
func TestLossWeightsAndEmpty(t *testing.T) {
	a := testAnchors(t)
	rng := rand.New(rand.NewPCG(8, 9))
	o := fakeOutput(a, 2, 3, 0)
	for _, v := range append(o.Class, o.Box...) {
		nn.Normal(v.Value, 0, 1, rng)
	}
	t0, err := Assign(a, []data.Box{{X1: 5, Y1: 5, X2: 30, Y2: 40}}, []int{1}, 3, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t1, err := Assign(a, nil, nil, 3, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if t1.Positives != 0 || t0.Positives == 0 {
		t.Fatalf("positives %d, %d", t0.Positives, t1.Positives)
	}
	ts := []Targets{t0, t1}
	both := lossOf(t, o, a, ts, nil)
	only0 := lossOf(t, o, a, ts, []float32{1, 0})
	only1 := lossOf(t, o, a, ts, []float32{0, 1})
	double0 := lossOf(t, o, a, ts, []float32{2, 0})
	item := func(v *nn.Var) float64 { return float64(v.Value.Item()) }
	if math.Abs(item(only0.Total)+item(only1.Total)-item(both.Total)) > 1e-4*item(both.Total) {
		t.Errorf("shares %v + %v != %v", item(only0.Total), item(only1.Total), item(both.Total))
	}
	if math.Abs(2*item(only0.Total)-item(double0.Total)) > 1e-4*item(double0.Total) {
		t.Errorf("weight 2: %v, want %v", item(double0.Total), 2*item(only0.Total))
	}
	if item(only1.Box) != 0 || !(item(only1.Class) > 0) {
		t.Errorf("image without boxes: box loss %v, class loss %v", item(only1.Box), item(only1.Class))
	}
	// A batch with no boxes at all is fine too (normaliser 1).
	none := lossOf(t, o, a, []Targets{t1, t1}, nil)
	if v := item(none.Total); math.IsNaN(v) || v <= 0 || item(none.Box) != 0 {
		t.Errorf("no boxes: total %v box %v", v, item(none.Box))
	}
	// NaN predictions make a NaN loss (the Trainer stops or skips), not a
	// panic.
	o.Class[0].Value.Data()[0] = float32(math.NaN())
	if v := item(lossOf(t, o, a, ts, nil).Total); !math.IsNaN(v) {
		t.Errorf("NaN logit: loss %v", v)
	}
}

func TestLossErrors(t *testing.T) {
	a := testAnchors(t)
	o := fakeOutput(a, 2, 3, 0)
	t1, _ := Assign(a, nil, nil, 3, MatchOptions{})
	cases := []struct {
		out  Output
		ts   []Targets
		w    []float32
		opt  LossOptions
		want string
	}{
		{o, []Targets{t1}, nil, LossOptions{}, "class map"},
		{o, []Targets{t1, t1}, []float32{1}, LossOptions{}, "1 weights for 2 images"},
		{o, []Targets{t1, {Class: t1.Class[:3]}}, nil, LossOptions{}, "cover 3 anchors"},
		{Output{Class: o.Class[:1], Box: o.Box[:1]}, []Targets{t1, t1}, nil, LossOptions{}, "anchor levels"},
		{o, []Targets{t1, t1}, nil, LossOptions{Alpha: 2}, "Alpha"},
		{o, []Targets{t1, t1}, nil, LossOptions{LabelSmoothing: 1}, "LabelSmoothing"},
	}
	for _, c := range cases {
		if _, err := Loss(c.out, a, c.ts, c.w, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error about %q, got %v", c.want, err)
		}
	}
}

func TestAssignBadInput(t *testing.T) {
	a := testAnchors(t)
	// Partly outside: clipped and matched; wholly outside or without area:
	// dropped and counted.
	tg, err := Assign(a, []data.Box{
		{X1: -20, Y1: -10, X2: 30, Y2: 30},
		{X1: 100, Y1: 100, X2: 120, Y2: 130},
		{X1: 10, Y1: 10, X2: 10, Y2: 40},
		{X1: 30, Y1: 40, X2: 20, Y2: 50},
	}, []int{0, 1, 1, 1}, 2, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Dropped != 3 || tg.Positives == 0 {
		t.Errorf("dropped %d (want 3), positives %d", tg.Dropped, tg.Positives)
	}
	for i, c := range tg.Class {
		if c == 1 {
			t.Fatalf("anchor %d assigned to a dropped box", i)
		}
	}
	// The clipped box is (0, 0, 30, 30): the matched anchors' targets
	// decode back to it.
	for i, c := range tg.Class {
		if c == 0 {
			var code [4]float32
			copy(code[:], tg.Box[4*i:])
			b := Decode(code, a.Boxes[i])
			if math.Abs(float64(b[0])) > 1e-3 || math.Abs(float64(b[3])-30) > 1e-3 {
				t.Fatalf("anchor %d decodes to %v, want (0, 0, 30, 30)", i, b)
			}
		}
	}
	cases := []struct {
		boxes  []data.Box
		labels []int
		opt    MatchOptions
		want   string
	}{
		{[]data.Box{{X1: math.NaN(), X2: 1, Y2: 1}}, []int{0}, MatchOptions{}, "non-finite"},
		{[]data.Box{{X2: 1, Y2: 1}}, []int{2}, MatchOptions{}, "label 2"},
		{[]data.Box{{X2: 1, Y2: 1}}, []int{-1}, MatchOptions{}, "label -1"},
		{[]data.Box{{X2: 1, Y2: 1}}, nil, MatchOptions{}, "1 boxes but 0 labels"},
		{nil, nil, MatchOptions{MatchThreshold: 0.4, UnmatchedThreshold: 0.5}, "thresholds"},
	}
	for _, c := range cases {
		if _, err := Assign(a, c.boxes, c.labels, 2, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error about %q, got %v", c.want, err)
		}
	}
}

// TestAssignIgnoreZone: with UnmatchedThreshold below MatchThreshold the
// anchors in between are Ignored.
func TestAssignIgnoreZone(t *testing.T) {
	a := testAnchors(t)
	b := []data.Box{{X1: 5, Y1: 5, X2: 40, Y2: 45}}
	plain, _ := Assign(a, b, []int{0}, 1, MatchOptions{})
	zoned, err := Assign(a, b, []int{0}, 1, MatchOptions{MatchThreshold: 0.5, UnmatchedThreshold: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	ign := 0
	for i := range zoned.Class {
		if zoned.Class[i] == Ignored {
			ign++
			if plain.Class[i] != Background {
				t.Errorf("anchor %d ignored but positive without the zone", i)
			}
		}
	}
	if ign == 0 || zoned.Positives != plain.Positives {
		t.Errorf("%d ignored, positives %d vs %d", ign, zoned.Positives, plain.Positives)
	}
}

// TestAssignThreadIndependent: matching and forced matches do not depend
// on the thread count.
func TestAssignThreadIndependent(t *testing.T) {
	a, err := NewAnchors(512, 512, Config{Variant: "d0", NumClasses: 1}.AnchorConfig())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var boxes []data.Box
	var labels []int
	for range 30 {
		x, y := rng.Float64()*480, rng.Float64()*480
		boxes = append(boxes, data.Box{X1: x, Y1: y, X2: x + 2 + rng.Float64()*200, Y2: y + 2 + rng.Float64()*200})
		labels = append(labels, rng.IntN(5))
	}
	var ref Targets
	for i, th := range []int{1, 2, 5} {
		prev := nn.SetThreads(th)
		tg, err := Assign(a, boxes, labels, 5, MatchOptions{})
		nn.SetThreads(prev)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			ref = tg
			continue
		}
		for j := range tg.Class {
			if tg.Class[j] != ref.Class[j] {
				t.Fatalf("%d threads: anchor %d class %d, 1 thread %d", th, j, tg.Class[j], ref.Class[j])
			}
		}
	}
}

// TestIgnoreRegions: background anchors on an ignore region are Ignored,
// positives stay, the loss no longer counts them, and bad regions are
// errors.
func TestIgnoreRegions(t *testing.T) {
	a := testAnchors(t)
	obj := []data.Box{{X1: 5, Y1: 5, X2: 40, Y2: 45}}
	region := []data.Box{{X1: 30, Y1: 2, X2: 62, Y2: 50}, {X1: -20, Y1: -20, X2: -5, Y2: -5}} // the second lies outside
	plain, _ := Assign(a, obj, []int{0}, 1, MatchOptions{})
	tg, _ := Assign(a, obj, []int{0}, 1, MatchOptions{})
	n, err := IgnoreRegions(&tg, a, region, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	turned := 0
	for i := range tg.Class {
		switch {
		case plain.Class[i] >= 0 && tg.Class[i] != plain.Class[i]:
			t.Fatalf("positive anchor %d turned into %d", i, tg.Class[i])
		case tg.Class[i] == Ignored:
			turned++
			if u := iou32(&[4]float32{30, 2, 62, 50}, &a.Boxes[i]); u < 0.3 {
				t.Errorf("anchor %d ignored at IoU %v < 0.3", i, u)
			}
		}
	}
	if n == 0 || n != turned || tg.Positives != plain.Positives {
		t.Errorf("%d anchors turned (counted %d), positives %d vs %d", n, turned, tg.Positives, plain.Positives)
	}
	// A stricter IoU turns fewer anchors.
	strict, _ := Assign(a, obj, []int{0}, 1, MatchOptions{})
	if m, _ := IgnoreRegions(&strict, a, region, MatchOptions{IgnoreIoU: 0.6}); m >= n {
		t.Errorf("IoU 0.6 turned %d anchors, 0.3 turned %d", m, n)
	}
	// Ignored anchors leave the class loss (every background anchor
	// costs the same here), and the box loss stays.
	out := fakeOutput(a, 1, 1, 0)
	lp, li := lossOf(t, out, a, []Targets{plain}, nil), lossOf(t, out, a, []Targets{tg}, nil)
	if !(li.Class.Value.Item() < lp.Class.Value.Item()) || li.Box.Value.Item() != lp.Box.Value.Item() {
		t.Errorf("class loss %v with ignore regions, %v without; box loss %v vs %v", li.Class.Value.Item(), lp.Class.Value.Item(), li.Box.Value.Item(), lp.Box.Value.Item())
	}
	for _, bad := range []struct {
		regions []data.Box
		o       MatchOptions
		want    string
	}{
		{[]data.Box{{X1: math.NaN()}}, MatchOptions{}, "non-finite"},
		{region, MatchOptions{IgnoreIoU: 1.5}, "ignore IoU"},
	} {
		if _, err := IgnoreRegions(&tg, a, bad.regions, bad.o); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("want an error about %q, got %v", bad.want, err)
		}
	}
}
