package efficientdet

import (
	"math"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/nn"
)

// The fixtures come from tools/fixtures_efficientdet.py: torchvision.ops,
// torch, and effdet's definitions reimplemented there from its source.

func load(t *testing.T, name string) *fixture.File {
	t.Helper()
	f, err := fixture.Load("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func toBoxes(t *nn.Tensor) []data.Box {
	d := t.Data()
	out := make([]data.Box, t.Dim(0))
	for i := range out {
		out[i] = data.Box{X1: float64(d[4*i]), Y1: float64(d[4*i+1]), X2: float64(d[4*i+2]), Y2: float64(d[4*i+3])}
	}
	return out
}

func ints(t *nn.Tensor) []int {
	out := make([]int, t.Len())
	for i, v := range t.Data() {
		out[i] = int(v)
	}
	return out
}

func float64s(t *nn.Tensor) []float64 {
	out := make([]float64, t.Len())
	for i, v := range t.Data() {
		out[i] = float64(v)
	}
	return out
}

func TestBoxIoUParity(t *testing.T) {
	f := load(t, "ops.json")
	got := PairwiseIoU(toBoxes(f.T("iou.a")), toBoxes(f.T("iou.b")))
	want := f.T("iou.out").Data()
	for i := range got {
		if math.Abs(got[i]-float64(want[i])) > 1e-6 {
			t.Errorf("IoU %d: got %v, want %v (torchvision.ops.box_iou)", i, got[i], want[i])
		}
	}
}

func TestNMSParity(t *testing.T) {
	f := load(t, "ops.json")
	boxes, scores, classes := toBoxes(f.T("nms.boxes")), float64s(f.T("nms.scores")), ints(f.T("nms.classes"))
	for _, c := range []struct {
		name string
		got  []int
		want []int
	}{
		{"nms 0.5", NMS(boxes, scores, 0.5), ints(f.T("nms.keep50"))},
		{"nms 0.3", NMS(boxes, scores, 0.3), ints(f.T("nms.keep30"))},
		{"batched_nms 0.5", BatchedNMS(boxes, scores, classes, 0.5), ints(f.T("nms.batched50"))},
	} {
		if !equalInts(c.got, c.want) {
			t.Errorf("%s: kept %v, torchvision keeps %v", c.name, c.got, c.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// focalFixture runs the class loss on the ops fixture's logits.
func focalFixture(t *testing.T, f *fixture.File, smoothing float64) (*nn.Var, *nn.Var) {
	lg := f.T("focal.logits")
	x := nn.Param(lg.Clone())
	n := lg.Dim(0)
	cls := f.T("focal.classes")
	per := cls.Len() / n
	classes := make([][]int32, n)
	for i := range classes {
		classes[i] = make([]int32, per)
		for j := range per {
			classes[i][j] = int32(cls.Data()[i*per+j])
		}
	}
	loss := focalLoss([]*nn.Var{x}, []int{0}, classes, []float32{1, 1}, 3, focalParams{alpha: 0.25, gamma: 1.5, smoothing: smoothing, scale: 1})
	loss.Backward()
	return loss, x
}

// TestFocalParity: the fused class loss equals torchvision's
// sigmoid_focal_loss on one-hot targets (ignored anchors left out), and
// effdet's new_focal_loss with label smoothing, values and gradients.
func TestFocalParity(t *testing.T) {
	f := load(t, "ops.json")
	for _, c := range []struct {
		name      string
		smoothing float64
		sum, grad string
	}{
		{"torchvision", 0, "focal.sum", "focal.grad"},
		{"effdet smoothing 0.1", 0.1, "smooth.sum", "smooth.grad"},
	} {
		loss, x := focalFixture(t, f, c.smoothing)
		if ok, msg := fixture.Close(loss.Value.Data(), f.T(c.sum).Data(), 1e-5, 1e-5); !ok {
			t.Errorf("%s: loss %s", c.name, msg)
		}
		if ok, msg := fixture.Close(x.Grad.Data(), f.T(c.grad).Data(), 1e-4, 1e-6); !ok {
			t.Errorf("%s: gradient %s", c.name, msg)
		}
	}
}

// TestFocalMatchesNN: without smoothing the fused loss is
// nn.SigmoidFocalLoss over the dense one-hot targets.
func TestFocalMatchesNN(t *testing.T) {
	f := load(t, "ops.json")
	loss, x := focalFixture(t, f, 0)
	lg := f.T("focal.logits")
	cls := f.T("focal.classes").Data()
	tg := nn.New(lg.Shape()...)
	mask := nn.New(lg.Shape()...)
	for a, c := range cls {
		for k := range 3 {
			if int(c) == k {
				tg.Data()[a*3+k] = 1
			}
			if c != Ignored {
				mask.Data()[a*3+k] = 1
			}
		}
	}
	y := nn.Param(lg.Clone())
	ref := nn.Sum(nn.Mul(nn.SigmoidFocalLoss(y, tg, 0.25, 1.5, nn.ReduceNone), nn.NewVar(mask)))
	ref.Backward()
	if ok, msg := fixture.Close(loss.Value.Data(), ref.Value.Data(), 1e-5, 1e-5); !ok {
		t.Errorf("loss: %s", msg)
	}
	if ok, msg := fixture.Close(x.Grad.Data(), y.Grad.Data(), 1e-4, 1e-6); !ok {
		t.Errorf("gradient: %s", msg)
	}
}

// TestHuberParity: the box loss's nn.Huber against torch's huber_loss.
func TestHuberParity(t *testing.T) {
	f := load(t, "ops.json")
	p := nn.Param(f.T("huber.pred").Clone())
	l := nn.Huber(p, f.T("huber.target"), 0.1, nn.ReduceSum)
	l.Backward()
	if ok, msg := fixture.Close(l.Value.Data(), f.T("huber.sum").Data(), 1e-5, 1e-7); !ok {
		t.Errorf("loss: %s", msg)
	}
	if ok, msg := fixture.Close(p.Grad.Data(), f.T("huber.grad").Data(), 1e-4, 1e-6); !ok {
		t.Errorf("gradient: %s", msg)
	}
}

// TestLossParity replays effdet's loss_fn: total, class and box parts,
// with and without label smoothing, and the gradients of the total.
func TestLossParity(t *testing.T) {
	f := load(t, "loss.json")
	a, err := NewAnchors(40, 56, AnchorConfig{MinLevel: 3, MaxLevel: 5, NumScales: 1, AspectRatios: []AspectRatio{{1, 1}, {1.4, 0.7}}, AnchorScale: 4})
	if err != nil {
		t.Fatal(err)
	}
	n := 2
	targets := make([]Targets, n)
	cls, box, pos := f.T("classes").Data(), f.T("boxes").Data(), f.T("positives").Data()
	for i := range targets {
		tg := Targets{Class: make([]int32, a.Len()), Box: make([]float32, 4*a.Len()), Positives: int(pos[i])}
		for j := range a.Len() {
			tg.Class[j] = int32(cls[i*a.Len()+j])
		}
		copy(tg.Box, box[i*4*a.Len():(i+1)*4*a.Len()])
		targets[i] = tg
	}
	for _, ls := range []float64{0, 0.1} {
		var out Output
		for l := range 3 {
			out.Class = append(out.Class, nn.Param(f.T("cls."+itoa(l)).Clone()))
			out.Box = append(out.Box, nn.Param(f.T("box."+itoa(l)).Clone()))
		}
		got, err := Loss(out, a, targets, nil, LossOptions{LabelSmoothing: ls})
		if err != nil {
			t.Fatal(err)
		}
		suffix := ""
		if ls > 0 {
			suffix = "_ls"
		}
		for _, c := range []struct {
			name string
			v    *nn.Var
		}{{"total", got.Total}, {"class", got.Class}, {"box", got.Box}} {
			if ok, msg := fixture.Close(c.v.Value.Data(), f.T(c.name+suffix).Data(), 1e-5, 1e-6); !ok {
				t.Errorf("smoothing %v: %s loss %s", ls, c.name, msg)
			}
		}
		if ls > 0 {
			continue
		}
		got.Total.Backward()
		for l := range 3 {
			if ok, msg := fixture.Close(out.Class[l].Grad.Data(), f.T("dcls."+itoa(l)).Data(), 1e-4, 1e-7); !ok {
				t.Errorf("class gradient level %d: %s", l, msg)
			}
			if ok, msg := fixture.Close(out.Box[l].Grad.Data(), f.T("dbox."+itoa(l)).Data(), 1e-4, 1e-7); !ok {
				t.Errorf("box gradient level %d: %s", l, msg)
			}
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

// TestAnchorsParity compares NewAnchors with effdet's anchor generation
// on a 40×72 input (odd, non-square level sizes).
func TestAnchorsParity(t *testing.T) {
	f := load(t, "anchors.json")
	a, err := NewAnchors(40, 72, Config{Variant: "d0", NumClasses: 1}.AnchorConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := f.T("boxes") // (y1, x1, y2, x2)
	if a.Len() != want.Dim(0) {
		t.Fatalf("%d anchors, effdet has %d", a.Len(), want.Dim(0))
	}
	got := make([]float32, 0, 4*a.Len())
	for _, b := range a.Boxes {
		got = append(got, b[1], b[0], b[3], b[2])
	}
	if ok, msg := fixture.Close(got, want.Data(), 0, 0); !ok {
		t.Errorf("anchors differ from effdet's: %s", msg)
	}
}

// TestAssignParity compares Assign with effdet's AnchorLabeler on a 64×96
// input: five boxes, one so small that only the forced match gives it an
// anchor, two overlapping, one on the border.
func TestAssignParity(t *testing.T) {
	f := load(t, "assign.json")
	a, err := NewAnchors(64, 96, Config{Variant: "d0", NumClasses: 1}.AnchorConfig())
	if err != nil {
		t.Fatal(err)
	}
	g := f.T("gt").Data()
	var boxes []data.Box
	for i := 0; i < len(g); i += 4 {
		boxes = append(boxes, data.Box{X1: float64(g[i+1]), Y1: float64(g[i]), X2: float64(g[i+3]), Y2: float64(g[i+2])})
	}
	got, err := Assign(a, boxes, ints(f.T("labels")), 3, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := int(f.T("positives").Data()[0]); got.Positives != want {
		t.Errorf("%d positives, effdet %d", got.Positives, want)
	}
	wc := f.T("classes").Data()
	for i, c := range got.Class {
		if float32(c) != wc[i] {
			t.Fatalf("anchor %d: class %d, effdet %v", i, c, wc[i])
		}
	}
	if ok, msg := fixture.Close(got.Box, f.T("boxes").Data(), 1e-5, 1e-6); !ok {
		t.Errorf("box targets: %s", msg)
	}
}
