package augment_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sortnet/sortnet/augment"
)

// The fixtures under testdata/cv2 come from tools/fixtures_augment.py, which
// runs OpenCV (python3-opencv 4.6) on a 40×30 pattern. Regenerate with
//
//	/usr/bin/python3 tools/fixtures_augment.py
type cvCase struct {
	Op     string         `json:"op"`
	File   string         `json:"file"`
	Params map[string]any `json:"params"`
}

type cvManifest struct {
	OpenCV string   `json:"opencv"`
	Cases  []cvCase `json:"cases"`
}

func loadManifest(t *testing.T) (cvManifest, *augment.Image) {
	t.Helper()
	b, err := os.ReadFile("testdata/cv2/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m cvManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	in, err := augment.DecodeFile("testdata/cv2/input.png")
	if err != nil {
		t.Fatal(err)
	}
	return m, in
}

var interpByName = map[string]augment.Interpolation{
	"Bilinear": augment.Bilinear, "Nearest": augment.Nearest, "Bicubic": augment.Bicubic, "Area": augment.Area,
}

var borderByName = map[string]augment.BorderMode{
	"Reflect101": augment.BorderReflect101, "Constant": augment.BorderConstant, "Replicate": augment.BorderReplicate,
}

func num(p map[string]any, k string) float64 { return p[k].(float64) }

func fillColor(p map[string]any, k string) augment.Color {
	var c augment.Color
	for _, v := range p[k].([]any) {
		c = append(c, uint8(v.(float64)))
	}
	return c
}

// runCV applies the Go counterpart of one fixture case.
func runCV(t *testing.T, in *augment.Image, c cvCase) *augment.Image {
	p := c.Params
	var out *augment.Image
	var err error
	switch c.Op {
	case "resize":
		out, err = augment.ResizeImage(in, int(num(p, "height")), int(num(p, "width")), interpByName[p["interpolation"].(string)])
	case "ssr":
		m := augment.ShiftScaleRotateMatrix(in.H, in.W, num(p, "angle"), num(p, "scale"), num(p, "dx"), num(p, "dy"))
		out, err = augment.WarpAffine(in, m, in.H, in.W, interpByName[p["interpolation"].(string)], borderByName[p["border"].(string)], fillColor(p, "value"))
	case "hflip":
		out, err = augment.FlipHorizontal(in)
	case "vflip":
		out, err = augment.FlipVertical(in)
	case "brightness_contrast":
		out, err = augment.BrightnessContrastImage(in, num(p, "alpha"), num(p, "beta"), p["by_max"].(bool))
	case "blur":
		out, err = augment.BoxBlurImage(in, int(num(p, "ksize")))
	case "gaussian_blur":
		out, err = augment.GaussianBlurImage(in, int(num(p, "ksize")), num(p, "sigma"))
	case "pad":
		out, err = augment.Pad(in, int(num(p, "top")), int(num(p, "bottom")), int(num(p, "left")), int(num(p, "right")), borderByName[p["border"].(string)], fillColor(p, "value"))
	case "hsv":
		out, err = augment.ShiftHSVImage(in, num(p, "hue"), num(p, "sat"), num(p, "val"))
	default:
		t.Fatalf("unknown fixture op %q", c.Op)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenCVParity compares every case with cv2's output: each value must be
// within ±1, and we report how many differ at all (the implementation
// reproduces OpenCV's fixed-point arithmetic, so normally none do).
func TestOpenCVParity(t *testing.T) {
	m, in := loadManifest(t)
	if len(m.Cases) < 40 {
		t.Fatalf("manifest lists %d cases", len(m.Cases))
	}
	worst := map[string]int{}
	for _, c := range m.Cases {
		t.Run(c.File, func(t *testing.T) {
			want, err := augment.DecodeFile(filepath.Join("testdata/cv2", c.File))
			if err != nil {
				t.Fatal(err)
			}
			got := runCV(t, in, c)
			if got.H != want.H || got.W != want.W {
				t.Fatalf("%s %v: got %dx%d, cv2 %dx%d", c.Op, c.Params, got.W, got.H, want.W, want.H)
			}
			maxd, ndiff := 0, 0
			for i := range want.Pix {
				d := int(got.Pix[i]) - int(want.Pix[i])
				if d < 0 {
					d = -d
				}
				if d > 0 {
					ndiff++
				}
				maxd = max(maxd, d)
			}
			if maxd > 1 {
				t.Errorf("%s %v: max |diff| %d (> 1) over %d values", c.Op, c.Params, maxd, ndiff)
			}
			if ndiff > 0 {
				t.Logf("%s %v: %d values differ by 1", c.Op, c.Params, ndiff)
			}
			worst[c.Op] = max(worst[c.Op], maxd)
		})
	}
	t.Logf("OpenCV %s, max |diff| per op: %v", m.OpenCV, worst)
}
