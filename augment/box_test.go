package augment_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/augment"
)

// rectImage is a black h×w RGB image with a white rectangle b.
func rectImage(h, w int, b augment.Box) *augment.Image {
	img := augment.NewImage(h, w, 3)
	for y := int(b.Y1); y < int(b.Y2); y++ {
		for x := int(b.X1); x < int(b.X2); x++ {
			for k := 0; k < 3; k++ {
				img.Set(y, x, k, 255)
			}
		}
	}
	return img
}

// whiteExtent is the bounding box (continuous coordinates) of the pixels
// brighter than 127.
func whiteExtent(img *augment.Image) (augment.Box, int) {
	b := augment.Box{X1: math.Inf(1), Y1: math.Inf(1), X2: math.Inf(-1), Y2: math.Inf(-1)}
	n := 0
	for y := 0; y < img.H; y++ {
		for x := 0; x < img.W; x++ {
			if img.At(y, x, 0) > 127 {
				n++
				b.X1, b.Y1 = math.Min(b.X1, float64(x)), math.Min(b.Y1, float64(y))
				b.X2, b.Y2 = math.Max(b.X2, float64(x+1)), math.Max(b.Y2, float64(y+1))
			}
		}
	}
	return b, n
}

func boxesClose(a, b augment.Box, tol float64) bool {
	return math.Abs(a.X1-b.X1) <= tol && math.Abs(a.Y1-b.Y1) <= tol && math.Abs(a.X2-b.X2) <= tol && math.Abs(a.Y2-b.Y2) <= tol
}

// geometricCases are every geometric transform, set up to be always
// applied, with nearest interpolation and a black constant border so the
// white rectangle's pixels can be found afterwards.
func geometricCases() map[string]augment.Transform {
	ssr := augment.NewShiftScaleRotate()
	ssr.P, ssr.Border, ssr.Interpolation = 1, augment.BorderConstant, augment.Nearest
	aff := augment.NewAffine()
	aff.P, aff.Interpolation = 1, augment.Nearest
	affFit := augment.NewAffine()
	affFit.P, affFit.Interpolation, affFit.FitOutput = 1, augment.Nearest, true
	pad := augment.NewPadIfNeeded(90, 100)
	pad.Border, pad.Position = augment.BorderConstant, augment.PadRandom
	rrc := augment.NewRandomResizedCrop(48, 48)
	rrc.Interpolation = augment.Nearest
	rz := augment.NewResize(45, 70)
	rz.Interpolation = augment.Nearest
	lm := augment.NewLongestMaxSize(50)
	lm.Interpolation = augment.Nearest
	sm := augment.NewSmallestMaxSize(70)
	sm.Interpolation = augment.Nearest
	rp := augment.NewResizePad(64, 64)
	rp.Fill, rp.Interpolation = augment.Color{0}, augment.Nearest
	rrp := augment.NewRandomResizePad(64, 64)
	rrp.Fill, rrp.Interpolations = augment.Color{0}, []augment.Interpolation{augment.Nearest}
	return map[string]augment.Transform{
		"Resize": rz, "LongestMaxSize": lm, "SmallestMaxSize": sm, "PadIfNeeded": pad,
		"RandomCrop": augment.NewRandomCrop(40, 50), "CenterCrop": augment.NewCenterCrop(40, 50),
		"RandomResizedCrop": rrc,
		"HorizontalFlip":    &augment.HorizontalFlip{P: 1}, "VerticalFlip": &augment.VerticalFlip{P: 1},
		"RandomRotate90":   &augment.RandomRotate90{P: 1},
		"ShiftScaleRotate": ssr, "Affine": aff, "AffineFitOutput": affFit,
		"ResizePad": rp, "RandomResizePad": rrp,
		"RandAugmentGeometric": raGeometric{augment.RandAugment(1, 20)},
	}
}

// raGeometric applies one of RandAugment's geometric operations (the
// others change colours, not where pixels are).
type raGeometric struct{ *augment.RandAugmenter }

func (r raGeometric) Apply(rng *rand.Rand, s *augment.Sample) error {
	ops := []string{"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"}
	return r.ApplyOp(rng, s, ops[rng.IntN(len(ops))])
}

// TestBoxesFollowPixels runs each geometric transform on a white rectangle
// and checks that (1) the output box is the clipped image of the input box
// under the sample's recorded map (the transformed corner points) and (2)
// it matches where the white pixels went.
func TestBoxesFollowPixels(t *testing.T) {
	in := augment.Box{X1: 20, Y1: 15, X2: 50, Y2: 40}
	img := rectImage(60, 80, in)
	for name, tr := range geometricCases() {
		t.Run(name, func(t *testing.T) {
			p := &augment.Pipeline{Transforms: []augment.Transform{tr}}
			for seed := uint64(0); seed < 25; seed++ {
				out, err := p.Run(augment.SampleRNG(seed, 0, 0), augment.Sample{Image: img, Boxes: []augment.Box{in}, Labels: []int{3}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := out.Geom.MapBox(in).Clip(out.Image.W, out.Image.H)
				ext, n := whiteExtent(out.Image)
				if len(out.Boxes) == 0 {
					if want.Area() > 0 {
						t.Fatalf("seed %d: box dropped but its map %v has area", seed, want)
					}
					if n > 2*(out.Image.W+out.Image.H) {
						t.Fatalf("seed %d: box dropped but %d white pixels remain", seed, n)
					}
					continue
				}
				if len(out.Labels) != 1 || out.Labels[0] != 3 {
					t.Fatalf("seed %d: labels %v", seed, out.Labels)
				}
				got := out.Boxes[0]
				if !boxesClose(got, want, 1e-9) {
					t.Fatalf("seed %d: box %v, transformed corners give %v", seed, got, want)
				}
				// Nearest sampling moves an edge by up to one source pixel,
				// i.e. by the scale factor in output pixels.
				m := out.Geom
				scale := math.Sqrt(math.Abs(m[0]*m[4] - m[1]*m[3]))
				tol := 1.01 + math.Max(1, scale)
				if name == "RandAugmentGeometric" {
					tol += 2 // shears: the box is the hull of a parallelogram
				}
				if n == 0 || !boxesClose(got, ext, tol) {
					t.Fatalf("seed %d: box %v but white pixels span %v (%d px, tol %.1f)", seed, got, ext, n, tol)
				}
			}
		})
	}
}

func TestBoxesDroppedWithLabels(t *testing.T) {
	img := augment.NewImage(100, 100, 3)
	boxes := []augment.Box{{0, 0, 10, 10}, {40, 40, 60, 60}, {90, 90, 100, 100}, {20, 45, 30, 55}}
	labels := []int{7, 1, 7, 2}
	p := &augment.Pipeline{Transforms: []augment.Transform{augment.NewCenterCrop(50, 50)}} // keeps [25, 75)²
	out, err := p.Run(augment.SampleRNG(1, 0, 0), augment.Sample{Image: img, Boxes: boxes, Labels: labels}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []augment.Box{{15, 15, 35, 35}, {0, 20, 5, 30}}
	if fmt.Sprint(out.Boxes) != fmt.Sprint(want) || fmt.Sprint(out.Labels) != "[1 2]" {
		t.Fatalf("boxes %v labels %v, want %v [1 2]", out.Boxes, out.Labels, want)
	}
	// The last box is half visible (visibility 0.5): thresholds decide.
	for _, c := range []struct {
		p    augment.BoxParams
		want string
	}{
		{augment.BoxParams{MinVisibility: 0.4}, "[1 2]"},
		{augment.BoxParams{MinVisibility: 0.6}, "[1]"},
		{augment.BoxParams{MinArea: 60}, "[1]"},
		{augment.BoxParams{MinWidth: 6}, "[1]"},
		{augment.BoxParams{MinHeight: 11}, "[1]"},
	} {
		p.Boxes = c.p
		out, err := p.Run(augment.SampleRNG(1, 0, 0), augment.Sample{Image: img, Boxes: boxes, Labels: labels}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(out.Labels) != c.want || len(out.Boxes) != len(out.Labels) {
			t.Errorf("%+v: labels %v boxes %v, want labels %s", c.p, out.Labels, out.Boxes, c.want)
		}
	}
}

// TestLetterboxRoundTrip maps boxes through EffDetEval's ResizePad and back:
// the round trip is exact to well within half a pixel.
func TestLetterboxRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := 0; trial < 40; trial++ {
		h, w := 20+rng.IntN(300), 20+rng.IntN(300)
		var boxes []augment.Box
		for k := 0; k < 5; k++ {
			x1, y1 := rng.Float64()*float64(w-5), rng.Float64()*float64(h-5)
			boxes = append(boxes, augment.Box{X1: x1, Y1: y1, X2: x1 + 1 + rng.Float64()*(float64(w)-x1-1), Y2: y1 + 1 + rng.Float64()*(float64(h)-y1-1)})
		}
		size := 64 + rng.IntN(200)
		p := augment.EffDetEval(size)
		dst := make([]float32, size*size*3)
		out, err := p.Process(augment.SampleRNG(0, 0, uint64(trial)), augment.Sample{Image: photo(h, w, uint64(trial)), Boxes: boxes}, dst, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Boxes) != len(boxes) {
			t.Fatalf("%dx%d -> %d: %d of %d boxes survived", w, h, size, len(out.Boxes), len(boxes))
		}
		lb := augment.NewResizePad(size, size).Letterbox(h, w)
		for i, b := range out.Boxes {
			back, err := (&augment.Sample{Geom: out.Geom}).ToOriginal(b)
			if err != nil {
				t.Fatal(err)
			}
			back2 := lb.Inverse(b)
			if !boxesClose(back, boxes[i], 0.5) || !boxesClose(back2, boxes[i], 0.5) || !boxesClose(back, boxes[i], 1e-9) {
				t.Fatalf("box %v -> %v -> %v / %v", boxes[i], b, back, back2)
			}
		}
	}
}

// TestRandomResizePadInverse: the recorded placement maps every surviving
// box back to its original (clipping aside).
func TestRandomResizePadInverse(t *testing.T) {
	src := photo(300, 400, 1)
	in := []augment.Box{{50, 40, 350, 260}, {10, 10, 60, 60}}
	p := augment.NewPipeline(augment.NewRandomResizePad(128, 128))
	dst := make([]float32, 128*128*3)
	for i := uint64(0); i < 30; i++ {
		out, err := p.Process(augment.SampleRNG(3, 1, i), augment.Sample{Image: src, Boxes: in, Labels: []int{0, 1}}, dst, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j, b := range out.Boxes {
			orig := in[out.Labels[j]]
			want := out.Geom.MapBox(orig).Clip(128, 128)
			if !boxesClose(b, want, 1e-9) {
				t.Fatalf("box %v, placement gives %v", b, want)
			}
			back, err := (&augment.Sample{Geom: out.Geom}).ToOriginal(b)
			if err != nil {
				t.Fatal(err)
			}
			// The back-mapped box lies inside the original one.
			if back.X1 < orig.X1-1e-9 || back.Y1 < orig.Y1-1e-9 || back.X2 > orig.X2+1e-9 || back.Y2 > orig.Y2+1e-9 {
				t.Fatalf("back-mapped %v outside original %v", back, orig)
			}
		}
	}
}

func TestCOCOConversion(t *testing.T) {
	b := augment.BoxFromCOCO(10.5, 20, 30, 40.25)
	if b != (augment.Box{X1: 10.5, Y1: 20, X2: 40.5, Y2: 60.25}) {
		t.Fatal(b)
	}
	x, y, w, h := b.COCO()
	if x != 10.5 || y != 20 || w != 30 || h != 40.25 {
		t.Fatal(x, y, w, h)
	}
}

func TestMatrix(t *testing.T) {
	m := augment.ShiftScaleRotateMatrix(30, 40, 30, 1.2, 0.1, -0.05)
	inv, err := m.Invert()
	if err != nil {
		t.Fatal(err)
	}
	id := m.Then(inv)
	for i, v := range augment.Identity {
		if math.Abs(id[i]-v) > 1e-12 {
			t.Fatalf("m·m⁻¹ = %v", id)
		}
	}
	if _, err := (augment.Matrix{1, 2, 0, 2, 4, 0}).Invert(); err == nil {
		t.Fatal("singular matrix inverted")
	}
}
