package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RandAugmentOps lists RandAugment's operations (Cubuk et al. 2019, the
// paper's fourteen) in torchvision's order.
var RandAugmentOps = []string{
	"Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
	"Brightness", "Color", "Contrast", "Sharpness", "Posterize", "Solarize",
	"AutoContrast", "Equalize",
}

// RandAugmenter is RandAugment as torchvision defines it: N times, one of
// RandAugmentOps chosen uniformly is applied at magnitude bin M of NumBins
// (default 31, so M is on the paper's 0..30 scale); signed operations take
// a random sign. Magnitudes at bin M (linspace over the bins):
//
//	ShearX/Y     0 .. 0.3 (shear factor)
//	TranslateX/Y 0 .. 150/331 of the width/height (pixels, truncated)
//	Rotate       0 .. 30 degrees
//	Brightness, Color, Contrast, Sharpness: factor 1 ± (0 .. 0.9)
//	Posterize    8 .. 4 bits kept
//	Solarize     threshold 255 .. 0
//
// Geometric operations use Interpolation (default Nearest, torchvision's)
// and Fill (default 0) and move the boxes.
type RandAugmenter struct {
	N, M          int
	NumBins       int
	Interpolation Interpolation
	Fill          Color
	P             float64
}

// RandAugment returns RandAugment with n operations at magnitude m
// (0..30); torchvision's defaults are n = 2, m = 9.
func RandAugment(n, m int) *RandAugmenter {
	return &RandAugmenter{N: n, M: m, NumBins: 31, Interpolation: Nearest, P: 1}
}

func (t *RandAugmenter) Name() string  { return "RandAugment" }
func (t *RandAugmenter) Prob() float64 { return t.P }
func (t *RandAugmenter) Validate() error {
	if err := checkP("RandAugment", t.P); err != nil {
		return err
	}
	if t.N < 0 || t.N > 100 {
		return fmt.Errorf("augment.RandAugment: N = %d: must be in [0, 100]", t.N)
	}
	if t.NumBins < 2 || t.NumBins > 1000 {
		return fmt.Errorf("augment.RandAugment: NumBins = %d: must be in [2, 1000]", t.NumBins)
	}
	if t.M < 0 || t.M >= t.NumBins {
		return fmt.Errorf("augment.RandAugment: magnitude M = %d: must be in [0, %d]", t.M, t.NumBins-1)
	}
	return checkInterp("RandAugment", t.Interpolation)
}

func linspace(a, b float64, bins, i int) float64 {
	return a + (b-a)*float64(i)/float64(bins-1)
}

func (t *RandAugmenter) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	for k := 0; k < t.N; k++ {
		op := rng.IntN(len(RandAugmentOps))
		if err := t.applyOp(rng, s, RandAugmentOps[op]); err != nil {
			return err
		}
		if len(s.Boxes) > 0 {
			s.Boxes, s.Labels = filterBoxes(s.Boxes, s.Labels, s.Image.W, s.Image.H, s.bp)
		}
	}
	return nil
}

// ApplyOp applies one named RandAugment operation at the transform's
// magnitude (a random sign for the signed ones).
func (t *RandAugmenter) ApplyOp(rng *rand.Rand, s *Sample, op string) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return t.applyOp(rng, s, op)
}

func (t *RandAugmenter) applyOp(rng *rand.Rand, s *Sample, op string) error {
	bins, m := t.NumBins, t.M
	img := s.Image
	sign := func(v float64) float64 {
		if rng.IntN(2) == 1 {
			return -v
		}
		return v
	}
	switch op {
	case "Identity":
	case "ShearX":
		v := sign(linspace(0, 0.3, bins, m))
		warpSample(s, Matrix{1, -v, 0, 0, 1, 0}, img.H, img.W, t.Interpolation, BorderConstant, t.Fill)
	case "ShearY":
		v := sign(linspace(0, 0.3, bins, m))
		warpSample(s, Matrix{1, 0, 0, -v, 1, 0}, img.H, img.W, t.Interpolation, BorderConstant, t.Fill)
	case "TranslateX":
		v := math.Trunc(sign(linspace(0, 150.0/331*float64(img.W), bins, m)))
		warpSample(s, Matrix{1, 0, v, 0, 1, 0}, img.H, img.W, t.Interpolation, BorderConstant, t.Fill)
	case "TranslateY":
		v := math.Trunc(sign(linspace(0, 150.0/331*float64(img.H), bins, m)))
		warpSample(s, Matrix{1, 0, 0, 0, 1, v}, img.H, img.W, t.Interpolation, BorderConstant, t.Fill)
	case "Rotate":
		v := sign(linspace(0, 30, bins, m))
		warpSample(s, rotationMatrix2D(float64(img.W)/2-0.5, float64(img.H)/2-0.5, v, 1), img.H, img.W, t.Interpolation, BorderConstant, t.Fill)
	case "Brightness":
		blendConst(s.Writable(), 1+sign(linspace(0, 0.9, bins, m)), 0)
	case "Color":
		if img.C == 3 {
			blendGray(s.Writable(), 1+sign(linspace(0, 0.9, bins, m)))
		}
	case "Contrast":
		ratio := 1 + sign(linspace(0, 0.9, bins, m))
		mean := tvGrayMean(img)
		blendConst(s.Writable(), ratio, mean)
	case "Sharpness":
		sharpen(s, 1+sign(linspace(0, 0.9, bins, m)))
	case "Posterize":
		bits := 8 - int(math.RoundToEven(float64(m)/(float64(bins-1)/4)))
		if bits < 8 {
			mask := uint8(0xff << (8 - bits))
			w := s.Writable()
			for i, v := range w.Pix {
				w.Pix[i] = v & mask
			}
		}
	case "Solarize":
		th := linspace(255, 0, bins, m)
		w := s.Writable()
		for i, v := range w.Pix {
			if float64(v) >= th {
				w.Pix[i] = 255 - v
			}
		}
	case "AutoContrast":
		autoContrast(s.Writable())
	case "Equalize":
		equalize(s.Writable())
	default:
		return fmt.Errorf("augment.RandAugment: unknown operation %q", op)
	}
	return nil
}

// blendConst is torchvision's _blend(img, c, ratio) for uint8: ratio·v +
// (1-ratio)·c in float32, clamped and truncated.
func blendConst(img *Image, ratio, c float64) {
	var lut [256]uint8
	r := float32(ratio)
	add := float32(float32(1-ratio) * float32(c))
	for i := range lut {
		lut[i] = truncU8(float64(float32(r*float32(i)) + add))
	}
	applyLUT(img, &lut)
}

// tvGray is torchvision's rgb_to_grayscale for uint8 (0.2989 R + 0.587 G +
// 0.114 B in float32, truncated).
func tvGray(r, g, b uint8) uint8 {
	return truncU8(float64(float32(float32(0.2989)*float32(r)) + float32(float32(0.587)*float32(g)) + float32(float32(0.114)*float32(b))))
}

func tvGrayMean(img *Image) float64 {
	if img.C != 3 {
		return meanPixel(img)
	}
	var sum float64
	p := img.Pix
	for i := 0; i+2 < len(p); i += 3 {
		sum += float64(tvGray(p[i], p[i+1], p[i+2]))
	}
	return sum / float64(img.H*img.W)
}

func blendGray(img *Image, ratio float64) {
	r := float32(ratio)
	q := float32(1 - ratio)
	p := img.Pix
	for i := 0; i+2 < len(p); i += 3 {
		g := float32(tvGray(p[i], p[i+1], p[i+2]))
		for k := 0; k < 3; k++ {
			p[i+k] = truncU8(float64(float32(r*float32(p[i+k])) + float32(q*g)))
		}
	}
}

// sharpen is torchvision's adjust_sharpness: blend with the image smoothed
// by [[1,1,1],[1,5,1],[1,1,1]]/13 (rounded; border pixels kept).
func sharpen(s *Sample, ratio float64) {
	src := s.Image
	if src.H < 3 || src.W < 3 {
		return
	}
	c := src.C
	deg := s.NewImage(src.H, src.W, c)
	copy(deg.Pix, src.Pix)
	for y := 1; y < src.H-1; y++ {
		for x := 1; x < src.W-1; x++ {
			for k := 0; k < c; k++ {
				sum := float32(0)
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						w := float32(1)
						if dx == 0 && dy == 0 {
							w = 5
						}
						sum += w * float32(src.Pix[((y+dy)*src.W+x+dx)*c+k])
					}
				}
				deg.Pix[(y*src.W+x)*c+k] = roundU8(float64(sum / 13))
			}
		}
	}
	r := float32(ratio)
	q := float32(1 - ratio)
	out := s.NewImage(src.H, src.W, c)
	for i, v := range src.Pix {
		out.Pix[i] = truncU8(float64(float32(r*float32(v)) + float32(q*float32(deg.Pix[i]))))
	}
	if s.ws != nil {
		s.ws.put(deg)
	}
	s.SetImage(out)
}

// autoContrast stretches each channel to [0, 255] (torchvision).
func autoContrast(img *Image) {
	c := img.C
	for k := 0; k < c; k++ {
		lo, hi := uint8(255), uint8(0)
		for i := k; i < len(img.Pix); i += c {
			v := img.Pix[i]
			lo, hi = min(lo, v), max(hi, v)
		}
		minv, scale := float32(lo), float32(255)/float32(float32(hi)-float32(lo))
		if hi == lo {
			minv, scale = 0, 1
		}
		var lut [256]uint8
		for v := range lut {
			lut[v] = truncU8(float64(float32(float32(v)-minv) * scale))
		}
		for i := k; i < len(img.Pix); i += c {
			img.Pix[i] = lut[img.Pix[i]]
		}
	}
}

// equalize is torchvision's equalize (PIL's ImageOps.equalize) per channel.
func equalize(img *Image) {
	c := img.C
	for k := 0; k < c; k++ {
		var hist [256]int
		for i := k; i < len(img.Pix); i += c {
			hist[img.Pix[i]]++
		}
		last, total := -1, 0
		for v, n := range hist {
			if n != 0 {
				last = v
				total += n
			}
		}
		if last < 0 {
			continue
		}
		step := (total - hist[last]) / 255
		if step == 0 {
			continue
		}
		var lut [256]uint8
		cum := 0
		for v := 0; v < 256; v++ {
			// lut[v] = (cumsum before v + step/2) / step
			lut[v] = uint8(min((cum+step/2)/step, 255))
			cum += hist[v]
		}
		for i := k; i < len(img.Pix); i += c {
			img.Pix[i] = lut[img.Pix[i]]
		}
	}
}
