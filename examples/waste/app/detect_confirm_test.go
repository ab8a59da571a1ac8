package app

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/train"
)

// confirmScene writes a 120×90 grey PNG with a red, a green and a blue
// rectangle and returns its path and the three boxes.
func confirmScene(t *testing.T) (string, []data.Box) {
	t.Helper()
	boxes := []data.Box{{X1: 10, Y1: 10, X2: 30, Y2: 24}, {X1: 50, Y1: 40, X2: 60, Y2: 70}, {X1: 80, Y1: 5, X2: 110, Y2: 35}}
	cols := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}
	img := image.NewRGBA(image.Rect(0, 0, 120, 90))
	for y := range 90 {
		for x := range 120 {
			c := color.RGBA{128, 128, 128, 255}
			for k, b := range boxes {
				if float64(x) >= b.X1 && float64(x) < b.X2 && float64(y) >= b.Y1 && float64(y) < b.Y2 {
					c = cols[k]
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	path := filepath.Join(t.TempDir(), "scene.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, boxes
}

// fakeClassifier judges a crop by its centre pixel: red is glass (0.9),
// green background (0.9), blue glass (0.3) but litter (0.8). It fails the test if a crop
// is not the square of side 1.4 × the longer side of one of boxes.
func fakeClassifier(t *testing.T, boxes []data.Box, calls *int) func([]*augment.Image) []Prediction {
	return func(crops []*augment.Image) []Prediction {
		*calls++
		out := make([]Prediction, len(crops))
		for i, c := range crops {
			ok := false
			for _, b := range boxes {
				ok = ok || c.W == c.H && c.W == int(math.Round(1.4*max(b.Width(), b.Height())))
			}
			if !ok {
				t.Errorf("crop %d×%d is no 1.4-zoom square of a box", c.W, c.H)
			}
			px := c.Pix[((c.H/2)*c.W+c.W/2)*c.C:]
			switch {
			case px[0] > 200 && px[1] < 50:
				out[i] = Prediction{Class: "glass", Probability: 0.9, All: map[string]float64{"glass": 0.9, "background": 0.05, "paper": 0.05}}
			case px[1] > 200:
				out[i] = Prediction{Class: "background", Probability: 0.9, All: map[string]float64{"background": 0.9, "glass": 0.1}}
			case px[2] > 200: // unsure which litter, sure it is litter
				out[i] = Prediction{Class: "glass", Probability: 0.3, All: map[string]float64{"glass": 0.3, "paper": 0.25, "unknown": 0.25, "background": 0.2}}
			default:
				out[i] = Prediction{Error: fmt.Sprintf("grey centre %v", px[:3])}
			}
		}
		return out
	}
}

func TestConfirmPseudoBoxes(t *testing.T) {
	path, boxes := confirmScene(t)
	red, green, blue := boxes[0], boxes[1], boxes[2]
	seven := []string{"bio", "glass", "metals_and_plastic", "non_recyclable", "other", "paper", "unknown"}
	const bio, glass = 0, 1
	type want struct {
		kept     []data.Box // of the proposal as kept
		class    int
		rejected int
		usable   bool
	}
	for _, c := range []struct {
		name    string
		classes []string
		prob    float64
		prop    train.Proposal
		want    want
	}{
		{"7 classes: class and probability", seven, 0.5,
			train.Proposal{Class: bio, Confidence: 0.9, Boxes: []data.Box{red, red, blue, green}, BoxLabels: []int{bio, glass, glass, glass}},
			want{[]data.Box{red}, glass, 3, true}},
		{"7 classes: a lower probability keeps blue", seven, 0.25,
			train.Proposal{Class: glass, Confidence: 0.9, Boxes: []data.Box{blue, red}, BoxLabels: []int{glass, glass}},
			want{[]data.Box{blue, red}, glass, 0, true}},
		{"7 classes: all rejected", seven, 0.5,
			train.Proposal{Class: glass, Confidence: 0.8, Boxes: []data.Box{green, blue}, BoxLabels: []int{glass, glass}},
			want{nil, -1, 2, false}},
		{"1 class: litter, whatever its class", []string{"litter"}, 0.5,
			train.Proposal{Class: 0, Confidence: 0.7, Boxes: []data.Box{green, red, blue}, BoxLabels: []int{0, 0, 0}},
			want{[]data.Box{red, blue}, 0, 1, true}},
		{"1 class: probability 0.85", []string{"litter"}, 0.85,
			train.Proposal{Class: 0, Confidence: 0.7, Boxes: []data.Box{blue, green, red}, BoxLabels: []int{0, 0, 0}},
			want{[]data.Box{red}, 0, 2, true}},
		{"1 class: all background", []string{"litter"}, 0.5,
			train.Proposal{Class: 0, Confidence: 0.7, Boxes: []data.Box{green}, BoxLabels: []int{0}},
			want{nil, -1, 1, false}},
		{"below the threshold: unchecked", []string{"litter"}, 0.5,
			train.Proposal{Class: 0, Confidence: 0.3, Boxes: []data.Box{green}, BoxLabels: []int{0}},
			want{[]data.Box{green}, 0, 0, true}},
		{"no boxes: unchecked", seven, 0.5,
			train.Proposal{Class: -1},
			want{nil, -1, 0, true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			cf := &confirmer{files: []string{path}, classes: c.classes, classify: fakeClassifier(t, boxes, &calls), prob: c.prob, threshold: 0.4}
			// Two proposals: the case's and a red glass box on a confirmed
			// image, so the case's is checked among others.
			other := train.Proposal{Class: glass, Confidence: 0.95, Boxes: []data.Box{red}, BoxLabels: []int{glass}}
			if len(c.classes) == 1 {
				other.Class, other.BoxLabels = 0, []int{0}
			}
			props := []train.Proposal{c.prop, other}
			kept, rejected, err := cf.confirm(props)
			if err != nil {
				t.Fatal(err)
			}
			if calls != 1 {
				t.Errorf("%d calls of the classifier, want 1 (one batch)", calls)
			}
			k := kept[0]
			if fmt.Sprint(k.Boxes) != fmt.Sprint(c.want.kept) || len(k.BoxLabels) != len(k.Boxes) || k.Class != c.want.class || k.Confidence != c.prop.Confidence {
				t.Errorf("kept %+v, want boxes %v, class %d, confidence %v", k, c.want.kept, c.want.class, c.prop.Confidence)
			}
			if len(rejected[0].Boxes) != c.want.rejected || len(rejected[1].Boxes) != 0 || len(kept[1].Boxes) != 1 {
				t.Errorf("rejected %+v, want %d boxes; other proposal kept %+v rejected %+v", rejected[0], c.want.rejected, kept[1], rejected[1])
			}
			u := usable(kept, rejected)
			if (len(u) == 2) != c.want.usable || u[len(u)-1].Confidence != 0.95 {
				t.Errorf("usable %+v, want the case's proposal used: %v", u, c.want.usable)
			}
			if c.want.rejected > 0 && rejected[0].Class < 0 {
				t.Errorf("rejected %+v has no class: not counted", rejected[0])
			}
		})
	}

	// The rejected boxes are counted, and matched against the truth, by
	// pseudoBoxQuality as the kept ones are.
	cf := &confirmer{files: []string{path}, classes: []string{"litter"}, classify: fakeClassifier(t, boxes, new(int)), prob: 0.5, threshold: 0.4}
	region := data.Box{X1: 1, Y1: 1, X2: 3, Y2: 3}
	props := []train.Proposal{{Class: 0, Confidence: 0.9, Boxes: boxes, BoxLabels: []int{0, 0, 0}, Ignore: make([]data.Box, 1, 4)}}
	props[0].Ignore[0] = region
	kept, rejected, err := cf.confirm(props)
	if err != nil {
		t.Fatal(err)
	}
	// The rejected box joins the teacher's ignore regions (without
	// writing into the teacher's proposal).
	if want := []data.Box{region, green}; fmt.Sprint(kept[0].Ignore) != fmt.Sprint(want) || len(props[0].Ignore) != 1 || props[0].Ignore[:2][1] != (data.Box{}) {
		t.Errorf("ignore regions %v, want %v; the teacher's %v", kept[0].Ignore, want, props[0].Ignore[:2])
	}
	truth := [][]efficientdet.GroundTruth{{{Box: red}, {Box: green}}} // kept red and blue, rejected green
	kq, rq := pseudoBoxQuality(kept, 0.4, truth), pseudoBoxQuality(rejected, 0.4, truth)
	if kq.Boxes != 2 || kq.TruePositives != 1 || kq.Recall != 0.5 || rq.Boxes != 1 || rq.TruePositives != 1 {
		t.Errorf("kept %+v, rejected %+v", kq, rq)
	}
	// The missed green box is covered by an ignore region.
	if kq.Ignore != 2 || kq.MissedIgnored != 1 {
		t.Errorf("kept: %d ignore regions covering %d missed boxes, want 2 and 1", kq.Ignore, kq.MissedIgnored)
	}
	if _, _, err := (&confirmer{files: []string{path}, classes: []string{"litter"}}).confirm([]train.Proposal{{Index: 3, Class: 0, Confidence: 1, Boxes: boxes[:1], BoxLabels: []int{0}}}); err == nil {
		t.Error("a proposal for an image outside the pool: no error")
	}
}

func TestNewConfirmerClasses(t *testing.T) {
	spec := ModelSpec{Classes: []string{"background", "bio", "glass"}}
	if _, err := newConfirmer(t.Context(), nil, spec, nil, []string{"bio", "paper"}, 0.5, 0.4, 8); err == nil || !strings.Contains(err.Error(), `lack the detector's class "paper"`) {
		t.Errorf("a class the classifier lacks: %v", err)
	}
	if _, err := newConfirmer(t.Context(), nil, spec, nil, []string{"litter"}, 0.5, 0.4, 8); err != nil {
		t.Errorf("1-class litter: %v", err)
	}
}
