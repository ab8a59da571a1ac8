package efficientdet_test

import (
	"math"
	"testing"

	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/efficientnet"
)

func TestAnchorCounts(t *testing.T) {
	cases := []struct {
		variant string
		h, w    int
		want    int
	}{
		{"d0", 512, 512, 49104},
		{"d2", 768, 768, 110484},
		{"d0", 384, 640, 9 * (48*80 + 24*40 + 12*20 + 6*10 + 3*5)}, // non-square
		{"d0", 100, 70, 9 * (13*9 + 7*5 + 4*3 + 2*2 + 1*1)},        // not divisible by 128
		{"d7x", 1536, 1536, 9 * (192*192 + 96*96 + 48*48 + 24*24 + 12*12 + 6*6)},
	}
	for _, c := range cases {
		a, err := efficientdet.NewAnchors(c.h, c.w, efficientdet.Config{Variant: c.variant, NumClasses: 1}.AnchorConfig())
		if err != nil {
			t.Fatal(err)
		}
		if a.Len() != c.want {
			t.Errorf("%s %d×%d: %d anchors, want %d", c.variant, c.h, c.w, a.Len(), c.want)
		}
		last := a.Levels[len(a.Levels)-1]
		if last.Start+last.Count != a.Len() {
			t.Errorf("levels %v do not cover %d anchors", a.Levels, a.Len())
		}
	}
}

func TestAnchorGeometry(t *testing.T) {
	a, err := efficientdet.NewAnchors(512, 512, efficientdet.Config{Variant: "d7", NumClasses: 1}.AnchorConfig())
	if err != nil {
		t.Fatal(err)
	}
	// The first anchor of P3: centre (4, 4), square, 5·8 = 40 wide (D7's
	// anchor scale 5); the second (1.4, 0.7); the fourth the next octave.
	check := func(i int, cx, cy, w, h float64) {
		t.Helper()
		b := a.Boxes[i]
		gx, gy := float64(b[0]+b[2])/2, float64(b[1]+b[3])/2
		gw, gh := float64(b[2]-b[0]), float64(b[3]-b[1])
		if math.Abs(gx-cx) > 1e-4 || math.Abs(gy-cy) > 1e-4 || math.Abs(gw-w) > 1e-3 || math.Abs(gh-h) > 1e-3 {
			t.Errorf("anchor %d: centre (%v, %v) size %v×%v, want (%v, %v) %v×%v", i, gx, gy, gw, gh, cx, cy, w, h)
		}
	}
	check(0, 4, 4, 40, 40)
	check(1, 4, 4, 56, 28)
	check(3, 4, 4, 40*math.Cbrt(2), 40*math.Cbrt(2))
	check(9, 12, 4, 40, 40) // next position along x
	p7 := a.Levels[4]
	check(p7.Start, 64, 64, 5*128, 5*128)
}

func TestAnchorErrors(t *testing.T) {
	good := efficientdet.Config{Variant: "d0", NumClasses: 1}.AnchorConfig()
	if _, err := efficientdet.NewAnchors(0, 10, good); err == nil {
		t.Error("0×10 image: no error")
	}
	bad := good
	bad.AnchorScale = math.NaN()
	if _, err := efficientdet.NewAnchors(64, 64, bad); err == nil {
		t.Error("NaN anchor scale: no error")
	}
	m, err := efficientdet.New(efficientdet.Config{Backbone: efficientnet.Config{Width: 0.25, Depth: 0.25}, FPNChannels: 8, FPNCells: 1, HeadRepeats: 1, Height: 64, Width: 64, NumClasses: 1})
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := m.Anchors(64, 96)
	a2, _ := m.Anchors(64, 96)
	if a1 != a2 {
		t.Error("anchors are not cached")
	}
}
