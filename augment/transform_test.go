package augment_test

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/augment"
)

// allTransforms returns every transform with albumentations' defaults but
// p = 1, so each one runs.
func allTransforms() []augment.Transform {
	ts := []augment.Transform{
		augment.NewResize(50, 60), augment.NewLongestMaxSize(70), augment.NewSmallestMaxSize(40),
		augment.NewPadIfNeeded(90, 90), augment.NewRandomCrop(30, 30), augment.NewCenterCrop(30, 30),
		augment.NewRandomResizedCrop(40, 40), augment.NewHorizontalFlip(), augment.NewVerticalFlip(),
		augment.NewRandomRotate90(), augment.NewShiftScaleRotate(), augment.NewAffine(),
		augment.NewRandomBrightnessContrast(), augment.NewHueSaturationValue(), augment.NewColorJitter(),
		augment.NewBlur(), augment.NewGaussianBlur(), augment.NewMotionBlur(), augment.NewGaussNoise(),
		augment.NewCutout(), augment.NewCoarseDropout(), augment.NewRandomErasing(),
		augment.NewResizePad(64, 48), augment.NewRandomResizePad(64, 64), augment.RandAugment(3, 15),
	}
	for _, t := range ts {
		setP(t, 1)
	}
	return ts
}

// setP sets a transform's probability through its exported P field.
func setP(t augment.Transform, p float64) {
	switch v := t.(type) {
	case *augment.Resize:
		v.P = p
	case *augment.LongestMaxSize:
		v.P = p
	case *augment.SmallestMaxSize:
		v.P = p
	case *augment.PadIfNeeded:
		v.P = p
	case *augment.RandomCrop:
		v.P = p
	case *augment.CenterCrop:
		v.P = p
	case *augment.RandomResizedCrop:
		v.P = p
	case *augment.HorizontalFlip:
		v.P = p
	case *augment.VerticalFlip:
		v.P = p
	case *augment.RandomRotate90:
		v.P = p
	case *augment.ShiftScaleRotate:
		v.P = p
	case *augment.Affine:
		v.P = p
	case *augment.RandomBrightnessContrast:
		v.P = p
	case *augment.HueSaturationValue:
		v.P = p
	case *augment.ColorJitter:
		v.P = p
	case *augment.Blur:
		v.P = p
	case *augment.GaussianBlur:
		v.P = p
	case *augment.MotionBlur:
		v.P = p
	case *augment.GaussNoise:
		v.P = p
	case *augment.Cutout:
		v.P = p
	case *augment.CoarseDropout:
		v.P = p
	case *augment.RandomErasing:
		v.P = p
	case *augment.ResizePad:
		v.P = p
	case *augment.RandomResizePad:
		v.P = p
	case *augment.RandAugmenter:
		v.P = p
	}
}

func TestEveryTransformRuns(t *testing.T) {
	for _, tr := range allTransforms() {
		t.Run(tr.Name(), func(t *testing.T) {
			if err := tr.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, c := range []int{3, 1} {
				if c == 1 && (tr.Name() == "HueSaturationValue" || tr.Name() == "ColorJitter") {
					continue
				}
				src := photo(45, 62, 3)
				if c == 1 {
					src = &augment.Image{H: 45, W: 62, C: 1, Pix: src.Pix[:45*62]}
				}
				orig := src.Clone()
				p := &augment.Pipeline{Transforms: []augment.Transform{tr}}
				changed := false
				for i := uint64(0); i < 8; i++ {
					out, err := p.Run(augment.SampleRNG(1, 0, i), augment.Sample{Image: src, Boxes: []augment.Box{{5, 5, 40, 30}}, Labels: []int{0}}, nil)
					if err != nil {
						t.Fatalf("%d channels: %v", c, err)
					}
					if err := out.Image.Validate(); err != nil || out.Image.C != c {
						t.Fatalf("invalid output %v (C %d)", err, out.Image.C)
					}
					if len(out.Boxes) != len(out.Labels) {
						t.Fatalf("%d boxes, %d labels", len(out.Boxes), len(out.Labels))
					}
					if out.Image.W != src.W || out.Image.H != src.H || !bytes.Equal(out.Image.Pix, src.Pix) {
						changed = true
					}
				}
				if !bytes.Equal(src.Pix, orig.Pix) {
					t.Fatal("modified its input")
				}
				if !changed {
					t.Fatalf("%d channels: eight draws never changed the image", c)
				}
			}
		})
	}
}

// TestBadInput: invalid options and images give errors, never panics.
func TestBadInput(t *testing.T) {
	img := photo(50, 50, 1)
	nan := math.NaN()
	ssrNaN := augment.NewShiftScaleRotate()
	ssrNaN.RotateLimit = augment.Range{Min: nan, Max: 1}
	ssrScale := augment.NewShiftScaleRotate()
	ssrScale.ScaleLimit = augment.Range{Min: -1.5, Max: 0}
	ssrShift := augment.NewShiftScaleRotate()
	ssrShift.ShiftLimitX = augment.Sym(2)
	badP := augment.NewHorizontalFlip()
	badP.P = 1.5
	nanP := augment.NewVerticalFlip()
	nanP.P = nan
	gb := augment.NewGaussianBlur()
	gb.BlurLimit = augment.IntRange{Min: 4, Max: 6}
	blur := augment.NewBlur()
	blur.BlurLimit = augment.IntRange{Min: 1, Max: 7}
	mb := augment.NewMotionBlur()
	mb.BlurLimit = augment.IntRange{Min: 3, Max: 8}
	rbc := augment.NewRandomBrightnessContrast()
	rbc.BrightnessLimit = augment.Range{Min: 0.3, Max: 0.1}
	aff := augment.NewAffine()
	aff.ShearX = augment.Sym(95)
	keep := augment.NewAffine()
	keep.KeepRatio, keep.ScaleY = true, augment.Range{Min: 0.5, Max: 0.6}
	rrc := augment.NewRandomResizedCrop(20, 20)
	rrc.Ratio = augment.Range{Min: 0, Max: 1}
	cd := augment.NewCoarseDropout()
	cd.MinHoles = 0
	cdBig := augment.NewCoarseDropout()
	cdBig.MinHeight, cdBig.MaxHeight, cdBig.P = 80, 80, 1
	pad := augment.NewPadIfNeeded(10, 10)
	pad.PadHeightDivisor = 4
	rp := augment.NewRandomResizePad(32, 32)
	rp.Scale = augment.Range{Min: 0, Max: 1}
	ra := augment.RandAugment(2, 31)
	interp := augment.NewResize(10, 10)
	interp.Interpolation = augment.Interpolation(9)
	border := augment.NewShiftScaleRotate()
	border.Border = augment.BorderMode(-1)
	cases := []struct {
		name string
		p    *augment.Pipeline
		in   augment.Sample
		want string
	}{
		{"nil image", augment.NewPipeline(), augment.Sample{}, "nil image"},
		{"zero height", augment.NewPipeline(), augment.Sample{Image: &augment.Image{H: 0, W: 5, C: 3}}, "must be positive"},
		{"short pixels", augment.NewPipeline(), augment.Sample{Image: &augment.Image{H: 2, W: 2, C: 3, Pix: make([]uint8, 5)}}, "holds 5 values"},
		{"crop too large", augment.NewPipeline(augment.NewRandomCrop(60, 10)), augment.Sample{Image: img}, "larger than"},
		{"fused crop too large", augment.NewPipeline(augment.NewResize(40, 40), augment.NewRandomCrop(60, 10)), augment.Sample{Image: img}, "larger than"},
		{"center crop too large", augment.NewPipeline(augment.NewCenterCrop(10, 51)), augment.Sample{Image: img}, "larger than"},
		{"NaN rotate", augment.NewPipeline(ssrNaN), augment.Sample{Image: img}, "not finite"},
		{"scale factor <= 0", augment.NewPipeline(ssrScale), augment.Sample{Image: img}, "must be > 0"},
		{"shift out of range", augment.NewPipeline(ssrShift), augment.Sample{Image: img}, "within"},
		{"p > 1", augment.NewPipeline(badP), augment.Sample{Image: img}, "probability"},
		{"p NaN", augment.NewPipeline(nanP), augment.Sample{Image: img}, "probability"},
		{"zero resize", augment.NewPipeline(augment.NewResize(0, 10)), augment.Sample{Image: img}, "must be positive"},
		{"even gaussian", augment.NewPipeline(gb), augment.Sample{Image: img}, "odd"},
		{"blur below 3", augment.NewPipeline(blur), augment.Sample{Image: img}, ">= 3"},
		{"even motion", augment.NewPipeline(mb), augment.Sample{Image: img}, "odd"},
		{"inverted range", augment.NewPipeline(rbc), augment.Sample{Image: img}, "Min is greater"},
		{"shear 95", augment.NewPipeline(aff), augment.Sample{Image: img}, "shear"},
		{"keep ratio", augment.NewPipeline(keep), augment.Sample{Image: img}, "KeepRatio"},
		{"ratio 0", augment.NewPipeline(rrc), augment.Sample{Image: img}, "Ratio"},
		{"no holes", augment.NewPipeline(cd), augment.Sample{Image: img}, "MinHoles"},
		{"hole too big", augment.NewPipeline(cdBig), augment.Sample{Image: img}, "does not fit"},
		{"pad both", augment.NewPipeline(pad), augment.Sample{Image: img}, "exactly one"},
		{"resizepad scale 0", augment.NewPipeline(rp), augment.Sample{Image: img}, "must be > 0"},
		{"magnitude 31", augment.NewPipeline(ra), augment.Sample{Image: img}, "magnitude"},
		{"interpolation", augment.NewPipeline(interp), augment.Sample{Image: img}, "interpolation"},
		{"border", augment.NewPipeline(border), augment.Sample{Image: img}, "border"},
		{"hsv 4 channels", augment.NewPipeline(&augment.HueSaturationValue{HueShiftLimit: augment.Sym(5), P: 1}), augment.Sample{Image: &augment.Image{H: 4, W: 4, C: 4, Pix: make([]uint8, 64)}}, "channels"},
		{"box inverted", augment.NewPipeline(), augment.Sample{Image: img, Boxes: []augment.Box{{10, 10, 5, 20}}}, "X1 <= X2"},
		{"box NaN", augment.NewPipeline(), augment.Sample{Image: img, Boxes: []augment.Box{{nan, 10, 5, 20}}}, "finite"},
		{"labels misaligned", augment.NewPipeline(), augment.Sample{Image: img, Boxes: []augment.Box{{1, 1, 5, 5}}, Labels: []int{1, 2}}, "labels"},
		{"box params", &augment.Pipeline{Boxes: augment.BoxParams{MinVisibility: 2}}, augment.Sample{Image: img}, "MinVisibility"},
		{"normalize std 0", &augment.Pipeline{Normalize: &augment.Normalize{Mean: []float64{0.5}, Std: []float64{0}, MaxPixelValue: 255}}, augment.Sample{Image: img}, "Std"},
		{"oneof weights", augment.NewPipeline(&augment.OneOf{Transforms: []augment.Transform{&augment.HorizontalFlip{}}, P: 1}), augment.Sample{Image: img}, "probability > 0"},
		{"someof too many", augment.NewPipeline(&augment.SomeOf{Transforms: []augment.Transform{augment.NewVerticalFlip()}, N: 2, NoReplace: true, P: 1}), augment.Sample{Image: img}, "without replacement"},
		{"nil transform", augment.NewPipeline(nil), augment.Sample{Image: img}, "nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.p.Run(augment.SampleRNG(0, 0, 0), c.in, nil)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
	// The standalone operations check their input as well.
	if _, err := augment.ResizeImage(&augment.Image{}, 10, 10, augment.Bilinear); err == nil {
		t.Error("ResizeImage accepted an empty image")
	}
	if _, err := augment.WarpAffine(img, augment.Matrix{nan}, 10, 10, augment.Bilinear, augment.BorderConstant, nil); err == nil {
		t.Error("WarpAffine accepted a NaN matrix")
	}
	if _, err := augment.GaussianBlurImage(img, 4, 0); err == nil {
		t.Error("GaussianBlurImage accepted an even kernel")
	}
	if _, err := augment.ToTensor([]*augment.Image{img, photo(10, 10, 1)}, nil); err == nil {
		t.Error("ToTensor accepted images of two sizes")
	}
}

// probe records how often it was applied.
type probe struct {
	p float64
	n *int
}

func (q probe) Name() string                            { return "probe" }
func (q probe) Prob() float64                           { return q.p }
func (q probe) Validate() error                         { return nil }
func (q probe) Apply(*rand.Rand, *augment.Sample) error { *q.n++; return nil }

func TestComposition(t *testing.T) {
	img := photo(8, 8, 1)
	var a, b, c int
	pa, pb := probe{0.75, &a}, probe{0.25, &b}
	oneOf := &augment.OneOf{Transforms: []augment.Transform{pa, pb}, P: 1}
	never := probe{0, &c}
	p := augment.NewPipeline(oneOf, never, augment.NewCompose(probe{0.5, &c}))
	const n = 4000
	for i := uint64(0); i < n; i++ {
		if _, err := p.Run(augment.SampleRNG(1, 0, i), augment.Sample{Image: img}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if a+b != n || math.Abs(float64(a)/n-0.75) > 0.03 {
		t.Errorf("OneOf chose %d / %d, want about 75%% / 25%%", a, b)
	}
	if math.Abs(float64(c)/n-0.5) > 0.03 {
		t.Errorf("p=0.5 step ran %d of %d times (p=0 must never run)", c, n)
	}
	// SomeOf without replacement applies N distinct transforms.
	var x, y, z int
	so := &augment.SomeOf{Transforms: []augment.Transform{probe{1, &x}, probe{1, &y}, probe{1, &z}}, N: 2, NoReplace: true, P: 1}
	for i := uint64(0); i < 300; i++ {
		x0, y0, z0 := x, y, z
		if _, err := augment.NewPipeline(so).Run(augment.SampleRNG(2, 0, i), augment.Sample{Image: img}, nil); err != nil {
			t.Fatal(err)
		}
		if (x-x0)+(y-y0)+(z-z0) != 2 || x-x0 > 1 || y-y0 > 1 || z-z0 > 1 {
			t.Fatal("SomeOf without replacement repeated a transform")
		}
	}
}

func TestRandAugmentOps(t *testing.T) {
	src := photo(40, 48, 6)
	for _, op := range augment.RandAugmentOps {
		for _, m := range []int{0, 30} {
			ra := augment.RandAugment(1, m)
			s := &augment.Sample{Image: src}
			if err := ra.ApplyOp(augment.SampleRNG(0, 0, 0), s, op); err != nil {
				t.Fatal(op, err)
			}
			same := bytes.Equal(s.Image.Pix, src.Pix)
			// At magnitude 0 only the histogram operations change pixels
			// (Solarize at threshold 255 touches only 255s).
			if m == 0 && !same && op != "AutoContrast" && op != "Equalize" && op != "Solarize" {
				t.Errorf("%s at magnitude 0 changed the image", op)
			}
			if m == 30 && same && op != "Identity" {
				t.Errorf("%s at magnitude 30 left the image unchanged", op)
			}
		}
	}
	// AutoContrast stretches each channel to [0, 255].
	dim := &augment.Image{H: 1, W: 4, C: 1, Pix: []uint8{100, 110, 120, 130}}
	s := &augment.Sample{Image: dim}
	if err := augment.RandAugment(1, 0).ApplyOp(nil, s, "AutoContrast"); err != nil {
		t.Fatal(err)
	}
	if got := s.Image.Pix; got[0] != 0 || got[3] != 255 {
		t.Fatalf("AutoContrast: %v", got)
	}
	if err := augment.RandAugment(1, 0).ApplyOp(nil, s, "Bogus"); err == nil {
		t.Fatal("unknown op accepted")
	}
}

func TestNormalize(t *testing.T) {
	img := &augment.Image{H: 1, W: 2, C: 3, Pix: []uint8{0, 128, 255, 10, 20, 30}}
	n := augment.NewNormalize()
	dst := make([]float32, 6)
	if err := n.Into(dst, img); err != nil {
		t.Fatal(err)
	}
	for i, v := range img.Pix {
		c := i % 3
		want := (float64(v)/255 - augment.ImageNetMean[c]) / augment.ImageNetStd[c]
		if math.Abs(float64(dst[i])-want) > 1e-5 {
			t.Fatalf("value %d: %v, want %v", i, dst[i], want)
		}
	}
	tt, err := augment.ToTensor([]*augment.Image{img, img, img}, n)
	if err != nil {
		t.Fatal(err)
	}
	if sh := tt.Shape(); len(sh) != 4 || sh[0] != 3 || sh[1] != 1 || sh[2] != 2 || sh[3] != 3 {
		t.Fatalf("shape %v", sh)
	}
	if tt.Data()[6] != dst[0] {
		t.Fatal("batch element 1 differs")
	}
	// Process with a mismatched destination is an error.
	if _, err := augment.DetectWasteEval(16).Process(augment.SampleRNG(0, 0, 0), augment.Sample{Image: img}, make([]float32, 7), nil); err == nil {
		t.Fatal("wrong dst length accepted")
	}
}

func TestPreview(t *testing.T) {
	var buf bytes.Buffer
	src := photo(60, 80, 2)
	if err := augment.Preview(&buf, src, []augment.Box{{10, 10, 50, 40}}, []int{2}, augment.EffDetTrain(64), 5, 1); err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// 6 cells (input + 5) in a 3×2 grid of 80×64 cells with 4 px gaps.
	if b := m.Bounds(); b.Dx() != 3*80+4*4 || b.Dy() != 2*64+3*4 {
		t.Fatalf("grid %v", b)
	}
	if err := augment.Preview(&buf, src, nil, nil, augment.EffDetTrain(64), 0, 1); err == nil {
		t.Fatal("n = 0 accepted")
	}
}
