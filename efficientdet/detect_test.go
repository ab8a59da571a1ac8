package efficientdet

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/nn"
)

// fakeOutput returns class maps full of logit bg and zero box maps for the
// anchors of a, n images, k classes.
func fakeOutput(a *Anchors, n, k int, bg float32) Output {
	var o Output
	for _, lv := range a.Levels {
		o.Class = append(o.Class, nn.NewVar(nn.Full(bg, n, lv.H, lv.W, a.PerLocation*k)))
		o.Box = append(o.Box, nn.NewVar(nn.New(n, lv.H, lv.W, a.PerLocation*4)))
	}
	return o
}

// set puts a logit and a box code on anchor i (over all levels) of image img.
func set(o Output, a *Anchors, img, k, i, class int, logit float32, code [4]float32) {
	l := levelOf(a, i)
	lv := a.Levels[l]
	j := i - lv.Start
	o.Class[l].Value.Data()[(img*lv.Count+j)*k+class] = logit
	copy(o.Box[l].Value.Data()[(img*lv.Count+j)*4:], code[:])
}

func testAnchors(t *testing.T) *Anchors {
	a, err := NewAnchors(64, 64, Config{Variant: "d0", NumClasses: 1}.AnchorConfig())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDetectDecodes(t *testing.T) {
	a := testAnchors(t)
	o := fakeOutput(a, 2, 3, -10)
	// Anchor 9·(8·2+3) is P3 position (x 3, y 2): centre (28, 20), 32×32.
	i := 9 * (8*2 + 3)
	set(o, a, 1, 3, i, 2, 3, [4]float32{0.25, -0.5, float32(math.Log(1.5)), 0})
	dets, err := Detect(o, a, nil, DetectOptions{ScoreThreshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if len(dets[0]) != 0 || len(dets[1]) != 1 {
		t.Fatalf("detections %v", dets)
	}
	d := dets[1][0]
	// Centre (28 − 0.5·32, 20 + 0.25·32) = (12, 28), size 32 × 48.
	want := data.Box{X1: -4, Y1: 4, X2: 28, Y2: 52}
	want.X1 = 0 // clipped to the image
	if d.Class != 2 || math.Abs(d.Score-sigmoid(3)) > 1e-7 || !closeBox(d.Box, want, 1e-4) {
		t.Errorf("detection %+v, want class 2, score %v, box %v", d, sigmoid(3), want)
	}
}

func closeBox(a, b data.Box, tol float64) bool {
	return math.Abs(a.X1-b.X1) <= tol && math.Abs(a.Y1-b.Y1) <= tol && math.Abs(a.X2-b.X2) <= tol && math.Abs(a.Y2-b.Y2) <= tol
}

func TestDetectNMSAndLimits(t *testing.T) {
	a := testAnchors(t)
	o := fakeOutput(a, 1, 2, -10)
	// Neighbouring positions (8 px apart, 32 px anchors: IoU 0.6).
	p := func(x, y int) int { return 9 * (8*y + x) }
	set(o, a, 0, 2, p(3, 3), 0, 4, [4]float32{})
	set(o, a, 0, 2, p(4, 3), 0, 3, [4]float32{}) // suppressed by the first
	set(o, a, 0, 2, p(4, 3), 1, 2, [4]float32{}) // other class: kept
	set(o, a, 0, 2, p(7, 7), 0, 1, [4]float32{}) // far away: kept
	dets, err := Detect(o, a, nil, DetectOptions{ScoreThreshold: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	got := dets[0]
	if len(got) != 3 || got[0].Score != sigmoid(4) || got[1].Class != 1 || got[2].Score != sigmoid(1) {
		t.Errorf("after NMS: %+v", got)
	}
	dets, _ = Detect(o, a, nil, DetectOptions{ScoreThreshold: 0.3, MaxDetections: 2})
	if len(dets[0]) != 2 {
		t.Errorf("MaxDetections 2: %d detections", len(dets[0]))
	}
	dets, _ = Detect(o, a, nil, DetectOptions{Candidates: 1})
	if len(dets[0]) != 1 || dets[0][0].Score != sigmoid(4) {
		t.Errorf("Candidates 1: %+v", dets[0])
	}
	// Soft-NMS keeps the overlapping box with a decayed score.
	dets, _ = Detect(o, a, nil, DetectOptions{ScoreThreshold: 0.3, SoftNMS: true})
	iou := IoU(a2box(a.Boxes[p(3, 3)]), a2box(a.Boxes[p(4, 3)]))
	decayed := sigmoid(3) * math.Exp(-iou*iou/0.5)
	found := false
	for _, d := range dets[0] {
		found = found || (d.Class == 0 && math.Abs(d.Score-decayed) < 1e-9)
	}
	if len(dets[0]) != 4 || !found {
		t.Errorf("soft-NMS: %+v, want the second box at %v", dets[0], decayed)
	}
	// Without a threshold every anchor and class competes: NMS leaves
	// 94 of the 2·774 candidates here; MaxDetections cuts them to 10.
	dets, _ = Detect(o, a, nil, DetectOptions{})
	if len(dets[0]) != 94 {
		t.Errorf("%d detections, want 94", len(dets[0]))
	}
	dets, _ = Detect(o, a, nil, DetectOptions{MaxDetections: 10})
	if len(dets[0]) != 10 {
		t.Errorf("%d detections, want 10", len(dets[0]))
	}
}

func a2box(b [4]float32) data.Box {
	return data.Box{X1: float64(b[0]), Y1: float64(b[1]), X2: float64(b[2]), Y2: float64(b[3])}
}

func TestDetectLetterbox(t *testing.T) {
	a := testAnchors(t)
	o := fakeOutput(a, 1, 1, -10)
	set(o, a, 0, 1, 9*(8*3+3), 0, 5, [4]float32{}) // (12, 12)–(44, 44) on the input
	// A 100×200 (h×w) original scaled by 0.25 to 25×50 and pasted at
	// (2, 3): it covers x 2…52 and y 3…28 of the input.
	info := ImageInfo{Letterbox: Letterbox{Scale: 0.25, OffsetX: -2, OffsetY: -3}, Width: 200, Height: 100}
	dets, err := Detect(o, a, []ImageInfo{info}, DetectOptions{ScoreThreshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	// Clipped on the input to y ≤ 28, then ((x − 2)/0.25, (y − 3)/0.25).
	want := data.Box{X1: 40, Y1: 36, X2: 168, Y2: 100}
	if len(dets[0]) != 1 || !closeBox(dets[0][0].Box, want, 1e-3) {
		t.Errorf("%+v, want box %v", dets[0], want)
	}
	// Forward and Inverse are inverses; the zero Letterbox is the identity.
	b := data.Box{X1: 1, Y1: 2, X2: 3, Y2: 4}
	if got := info.Letterbox.Inverse(info.Letterbox.Forward(b)); !closeBox(got, b, 1e-12) {
		t.Errorf("round trip %v", got)
	}
	if got := (Letterbox{}).Inverse(b); got != b {
		t.Errorf("zero letterbox maps %v to %v", b, got)
	}
}

func TestDetectBadInput(t *testing.T) {
	a := testAnchors(t)
	o := fakeOutput(a, 1, 2, -10)
	// NaN logits never become candidates; NaN and infinite box codes are
	// dropped; nothing panics.
	o.Class[0].Value.Data()[0] = float32(math.NaN())
	set(o, a, 0, 2, 20, 1, 6, [4]float32{float32(math.NaN()), 0, 0, 0})
	set(o, a, 0, 2, 40, 1, 5, [4]float32{0, 0, float32(math.Inf(1)), 0})
	set(o, a, 0, 2, 60, 0, 4, [4]float32{})
	dets, err := Detect(o, a, nil, DetectOptions{ScoreThreshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if len(dets[0]) != 1 || dets[0][0].Score != sigmoid(4) {
		t.Errorf("with NaN predictions: %+v", dets[0])
	}
	// All-NaN output: no detections.
	for _, c := range o.Class {
		c.Value.Fill(float32(math.NaN()))
	}
	if dets, err := Detect(o, a, nil, DetectOptions{}); err != nil || len(dets[0]) != 0 {
		t.Errorf("all-NaN: %v, %v", dets, err)
	}
	cases := []struct {
		o     Output
		infos []ImageInfo
		opt   DetectOptions
		want  string
	}{
		{Output{Class: o.Class[:2], Box: o.Box[:2]}, nil, DetectOptions{}, "anchor levels"},
		{o, []ImageInfo{{}, {}}, DetectOptions{}, "2 image infos for 1"},
		{o, []ImageInfo{{Letterbox: Letterbox{Scale: math.NaN()}}}, DetectOptions{}, "bad letterbox"},
		{o, nil, DetectOptions{IoUThreshold: 2}, "IoUThreshold"},
		{o, nil, DetectOptions{ScoreThreshold: -1}, "ScoreThreshold"},
		{fakeOutput(testAnchorsSize(t, 64, 96), 1, 2, 0), nil, DetectOptions{}, "class map"},
	}
	for _, c := range cases {
		if _, err := Detect(c.o, a, c.infos, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error about %q, got %v", c.want, err)
		}
	}
}

func testAnchorsSize(t *testing.T, h, w int) *Anchors {
	a, err := NewAnchors(h, w, Config{Variant: "d0", NumClasses: 1}.AnchorConfig())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSoftNMSByHand(t *testing.T) {
	boxes := []data.Box{{X1: 0, Y1: 0, X2: 10, Y2: 10}, {X1: 0, Y1: 0, X2: 10, Y2: 5}, {X1: 50, Y1: 50, X2: 60, Y2: 60}, {X1: 0, Y1: 0, X2: 10, Y2: 10}}
	scores := []float64{0.9, 0.8, 0.7, 0.6}
	classes := []int{0, 0, 0, 1}
	keep, s := SoftNMS(boxes, scores, classes, SoftNMSOptions{})
	// Box 1 overlaps box 0 by IoU 0.5: 0.8·e^(−0.25/0.5) = 0.485; box 3
	// is another class.
	want := []int{0, 2, 3, 1}
	ws := []float64{0.9, 0.7, 0.6, 0.8 * math.Exp(-0.5)}
	if !equalInts(keep, want) {
		t.Fatalf("kept %v, want %v", keep, want)
	}
	for i := range ws {
		if math.Abs(s[i]-ws[i]) > 1e-12 {
			t.Errorf("score %d: %v, want %v", i, s[i], ws[i])
		}
	}
}

// TestTopCandidates: the threshold-buffer selection returns exactly the
// best candidates of a full sort (logit descending, then index), best
// first, for candidate counts from 0 to more than there are logits, with
// many ties, NaN and ±Inf logits, with and without a minimum logit, and
// for logits in ascending and descending order (the quickselect's bad
// cases without its median of three and depth limit).
func TestTopCandidates(t *testing.T) {
	a := testAnchors(t)
	const n, k = 2, 3
	total := a.Len() * k
	rng := rand.New(rand.NewPCG(11, 12))
	inf := float32(math.Inf(1))
	for _, fill := range []string{"ties", "special", "ascending", "descending"} {
		o := fakeOutput(a, n, k, 0)
		type pair struct {
			logit float32
			idx   int
		}
		var all [n][]pair // per image, every logit with its flat index
		i := 0
		for l, lv := range a.Levels {
			d := o.Class[l].Value.Data()
			per := lv.Count * k
			for img := range n {
				for j := range per {
					var v float32
					switch fill {
					case "ties":
						v = float32(rng.IntN(7)) - 3
						if v == 0 && rng.IntN(2) == 0 {
							v = float32(math.Copysign(0, -1)) // ties with +0
						}
					case "special":
						v = float32(rng.NormFloat64())
						switch rng.IntN(20) {
						case 0:
							v = float32(math.NaN())
						case 1:
							v = inf
						case 2:
							v = -inf
						}
					case "ascending":
						v = float32(i)
					case "descending":
						v = -float32(i)
					}
					i++
					d[img*per+j] = v
					all[img] = append(all[img], pair{v, lv.Start*k + j})
				}
			}
		}
		for img := range n {
			for _, minLogit := range []float32{-inf, 0.5} {
				var want []pair
				for _, c := range all[img] {
					if c.logit >= minLogit {
						want = append(want, c)
					}
				}
				slices.SortFunc(want, func(a, b pair) int { // logit descending, then index
					switch {
					case a.logit > b.logit:
						return -1
					case a.logit < b.logit:
						return 1
					}
					return a.idx - b.idx
				})
				for _, cnt := range []int{0, 1, 2, 7, 100, total / 3, total - 1, total, total + 5} {
					got := topCandidates(o, a, img, k, cnt, minLogit)
					w := want[:min(cnt, len(want))]
					if len(got) != len(w) {
						t.Fatalf("%s img %d min %v n %d: %d candidates, want %d", fill, img, minLogit, cnt, len(got), len(w))
					}
					for j := range w {
						if got[j].logit() != w[j].logit || got[j].idx() != w[j].idx {
							t.Fatalf("%s img %d min %v n %d: [%d] = %v at %d, want %v at %d", fill, img, minLogit, cnt, j, got[j].logit(), got[j].idx(), w[j].logit, w[j].idx)
						}
					}
				}
			}
		}
	}
}

// TestCandidateKeys: the keys order as (logit descending, index
// ascending) does, with −0 tying +0, and give back logit and index.
func TestCandidateKeys(t *testing.T) {
	inf := float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	logits := []float32{-inf, -3.5, -1e-40, negZero, 0, 1e-40, 2, 3e38, inf}
	var cs []candidate
	for i, l := range logits {
		for _, idx := range []int{0, 7, 1 << 30} {
			c := newCandidate(l, idx+i)
			if got := c.logit(); got != l || math.Signbit(float64(got)) && l == 0 {
				t.Fatalf("newCandidate(%v, %d).logit() = %v", l, idx+i, got)
			}
			if c.idx() != idx+i {
				t.Fatalf("newCandidate(%v, %d).idx() = %d", l, idx+i, c.idx())
			}
			cs = append(cs, c)
		}
	}
	for _, a := range cs {
		for _, b := range cs {
			better := a.logit() > b.logit() || a.logit() == b.logit() && a.idx() < b.idx()
			if (a > b) != better {
				t.Fatalf("(%v, %d) > (%v, %d) = %v, want %v", a.logit(), a.idx(), b.logit(), b.idx(), a > b, better)
			}
		}
	}
}
