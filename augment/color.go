package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// applyLUT maps every value through lut (one table for all channels).
func applyLUT(img *Image, lut *[256]uint8) {
	for i, v := range img.Pix {
		img.Pix[i] = lut[v]
	}
}

// meanPixel is np.mean over all values.
func meanPixel(img *Image) float64 {
	var s uint64
	for _, v := range img.Pix {
		s += uint64(v)
	}
	return float64(s) / float64(len(img.Pix))
}

// RandomBrightnessContrast is albumentations' RandomBrightnessContrast for
// 8-bit images: v' = v·α + β·255 (BrightnessByMax) or v·α + α·β·mean(img),
// with α = 1 + a value from ContrastLimit and β from BrightnessLimit,
// computed in float32, clipped to [0, 255] and truncated, through a lookup
// table. Defaults: ±0.2, ±0.2, BrightnessByMax, p = 0.5.
type RandomBrightnessContrast struct {
	BrightnessLimit Range
	ContrastLimit   Range
	BrightnessByMax bool
	P               float64
}

// NewRandomBrightnessContrast returns albumentations' defaults.
func NewRandomBrightnessContrast() *RandomBrightnessContrast {
	return &RandomBrightnessContrast{BrightnessLimit: Sym(0.2), ContrastLimit: Sym(0.2), BrightnessByMax: true, P: 0.5}
}

// NewRandomBrightness is albumentations' (deprecated) RandomBrightness(limit):
// a RandomBrightnessContrast with no contrast change, p = 0.5.
func NewRandomBrightness(limit float64) *RandomBrightnessContrast {
	return &RandomBrightnessContrast{BrightnessLimit: Sym(limit), BrightnessByMax: true, P: 0.5}
}

func (t *RandomBrightnessContrast) Name() string  { return "RandomBrightnessContrast" }
func (t *RandomBrightnessContrast) Prob() float64 { return t.P }
func (t *RandomBrightnessContrast) Validate() error {
	if err := checkP("RandomBrightnessContrast", t.P); err != nil {
		return err
	}
	if err := t.BrightnessLimit.within("RandomBrightnessContrast", "BrightnessLimit", -10, 10); err != nil {
		return err
	}
	return t.ContrastLimit.within("RandomBrightnessContrast", "ContrastLimit", -10, 10)
}

func (t *RandomBrightnessContrast) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	alpha := 1 + t.ContrastLimit.sample(rng)
	beta := t.BrightnessLimit.sample(rng)
	img := s.Writable()
	var lut [256]uint8
	BrightnessContrastLUT(&lut, alpha, beta, t.BrightnessByMax, img)
	applyLUT(img, &lut)
	return nil
}

// BrightnessContrastLUT fills lut with albumentations' 8-bit
// brightness/contrast table (img supplies the mean when !byMax).
func BrightnessContrastLUT(lut *[256]uint8, alpha, beta float64, byMax bool, img *Image) {
	var f [256]float32
	for i := range f {
		f[i] = float32(i)
	}
	if alpha != 1 {
		a := float32(alpha)
		for i := range f {
			f[i] = float32(f[i] * a)
		}
	}
	if beta != 0 {
		var add float32
		if byMax {
			add = float32(beta * 255)
		} else {
			add = float32(alpha * beta * meanPixel(img))
		}
		for i := range f {
			f[i] += add
		}
	}
	for i, v := range f {
		lut[i] = truncU8(float64(v))
	}
}

// truncU8 is np.clip(v, 0, 255).astype(np.uint8).
func truncU8(v float64) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// roundU8 is cv::saturate_cast<uchar>(v): round half to even, saturate.
func roundU8(v float64) uint8 {
	if math.IsNaN(v) {
		return 0
	}
	r := math.RoundToEven(v)
	if r <= 0 {
		return 0
	}
	if r >= 255 {
		return 255
	}
	return uint8(r)
}

var sdivTable, hdivTable180 = func() (s, h [256]int32) {
	for i := 1; i < 256; i++ {
		s[i] = int32(math.RoundToEven(float64(255<<12) / float64(i)))
		h[i] = int32(math.RoundToEven(float64(180<<12) / (6 * float64(i))))
	}
	return
}()

// rgbToHSV is cv2.cvtColor(COLOR_RGB2HSV) for one 8-bit pixel (H in 0..179).
func rgbToHSV(r, g, b uint8) (h, s, v uint8) {
	ri, gi, bi := int32(r), int32(g), int32(b)
	vv := max(bi, gi, ri)
	vmin := min(bi, gi, ri)
	diff := vv - vmin
	var vr, vg int32
	if vv == ri {
		vr = -1
	}
	if vv == gi {
		vg = -1
	}
	ss := (diff*sdivTable[vv] + 1<<11) >> 12
	hh := (vr & (gi - bi)) + (^vr & ((vg & (bi - ri + 2*diff)) + (^vg & (ri - gi + 4*diff))))
	hh = (hh*hdivTable180[diff] + 1<<11) >> 12
	if hh < 0 {
		hh += 180
	}
	return sat8(hh), uint8(ss), uint8(vv)
}

var hsvSector = [6][3]int{{1, 3, 0}, {1, 0, 2}, {3, 0, 1}, {0, 2, 1}, {0, 1, 3}, {2, 1, 0}}

// fma32 is a fused multiply-add rounded once to float32.
func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }

// hsvLanes is the number of pixels cv2's HSV→RGB SIMD loop takes at a time
// (four AVX2 vectors of eight floats); the rest of a row goes through its
// scalar code, which rounds instead of truncating.
const hsvLanes = 32

// hsvToRGB is cv2.cvtColor(COLOR_HSV2RGB) for one 8-bit pixel, in float32,
// as OpenCV's AVX2 build computes it: its SIMD path (simd) truncates the
// result and its compiler fuses 1 - s*h into multiply-adds; the scalar
// path reduces the hue with fmod and rounds.
func hsvToRGB(h, s, v uint8, simd bool) (uint8, uint8, uint8) {
	const hscale = float32(6.0 / 180.0)
	sf := float32(s) * (1.0 / 255.0)
	vf := float32(v) * (1.0 / 255.0)
	var b, g, r float32
	var sector int
	hf := float32(float32(h) * hscale)
	if simd {
		pre := float32(math.Trunc(float64(hf)))
		hf -= pre
		sector = int(pre - float32(math.Trunc(float64(float32(pre*(1.0/6.0)))))*6)
	} else {
		hf = float32(math.Mod(float64(hf), 6))
		sector = int(math.Floor(float64(hf)))
		hf -= float32(sector)
		if uint(sector) >= 6 {
			sector, hf = 0, 0
		}
		if sf == 0 {
			sector, hf = 0, 0
		}
	}
	if !simd && sf == 0 {
		b, g, r = vf, vf, vf
	} else {
		tab := [4]float32{vf, float32(vf * (1 - sf)), float32(vf * fma32(-sf, hf, 1)), float32(vf * fma32(-sf, 1-hf, 1))}
		b, g, r = tab[hsvSector[sector][0]], tab[hsvSector[sector][1]], tab[hsvSector[sector][2]]
	}
	if simd {
		return truncU8(float64(float32(r * 255))), truncU8(float64(float32(g * 255))), truncU8(float64(float32(b * 255)))
	}
	return roundU8(float64(float32(r * 255))), roundU8(float64(float32(g * 255))), roundU8(float64(float32(b * 255)))
}

// rgbToGray is cv2.cvtColor(COLOR_RGB2GRAY) for 8-bit pixels (15-bit
// fixed-point weights 0.299, 0.587, 0.114).
func rgbToGray(r, g, b uint8) uint8 {
	return uint8((int32(r)*9798 + int32(g)*19235 + int32(b)*3735 + 1<<14) >> 15)
}

// shiftHSV applies hue, saturation and value lookup tables in HSV space.
func shiftHSV(img *Image, lh, ls, lv *[256]uint8) {
	simdEnd := img.W / hsvLanes * hsvLanes
	for y := 0; y < img.H; y++ {
		p := img.Row(y)
		for x := 0; x < img.W; x++ {
			i := 3 * x
			h, s, v := rgbToHSV(p[i], p[i+1], p[i+2])
			if lh != nil {
				h = lh[h]
			}
			if ls != nil {
				s = ls[s]
			}
			if lv != nil {
				v = lv[v]
			}
			p[i], p[i+1], p[i+2] = hsvToRGB(h, s, v, x < simdEnd)
		}
	}
}

// HueSaturationValue is albumentations' HueSaturationValue for 8-bit
// images: shifts drawn from the limits are added in OpenCV's HSV space (H
// in 0..179, wrapping; S and V clipped), through lookup tables. Defaults:
// ±20, ±30, ±20, p = 0.5. One-channel images get only the value shift.
type HueSaturationValue struct {
	HueShiftLimit, SatShiftLimit, ValShiftLimit Range
	P                                           float64
}

// NewHueSaturationValue returns albumentations' defaults.
func NewHueSaturationValue() *HueSaturationValue {
	return &HueSaturationValue{HueShiftLimit: Sym(20), SatShiftLimit: Sym(30), ValShiftLimit: Sym(20), P: 0.5}
}

func (t *HueSaturationValue) Name() string  { return "HueSaturationValue" }
func (t *HueSaturationValue) Prob() float64 { return t.P }
func (t *HueSaturationValue) Validate() error {
	const op = "HueSaturationValue"
	if err := checkP(op, t.P); err != nil {
		return err
	}
	if err := t.HueShiftLimit.within(op, "HueShiftLimit", -180, 180); err != nil {
		return err
	}
	if err := t.SatShiftLimit.within(op, "SatShiftLimit", -255, 255); err != nil {
		return err
	}
	return t.ValShiftLimit.within(op, "ValShiftLimit", -255, 255)
}

func (t *HueSaturationValue) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if s.Image.C != 3 && s.Image.C != 1 {
		return fmt.Errorf("augment.HueSaturationValue: needs 1 or 3 channels, image has %d", s.Image.C)
	}
	hue := t.HueShiftLimit.sample(rng)
	sat := t.SatShiftLimit.sample(rng)
	val := t.ValShiftLimit.sample(rng)
	shiftHSVSample(s, hue, sat, val)
	return nil
}

// shiftHSVSample is albumentations' shift_hsv for 8-bit images.
func shiftHSVSample(s *Sample, hue, sat, val float64) {
	if hue == 0 && sat == 0 && val == 0 {
		return
	}
	var lh, ls, lv *[256]uint8
	if val != 0 {
		lv = new([256]uint8)
		for i := range lv {
			lv[i] = truncU8(float64(i) + val)
		}
	}
	img := s.Writable()
	if img.C == 1 {
		if lv != nil {
			applyLUT(img, lv)
		}
		return
	}
	if hue != 0 {
		lh = new([256]uint8)
		for i := range lh {
			lh[i] = uint8(math.Mod(math.Mod(float64(i)+hue, 180)+180, 180))
		}
	}
	if sat != 0 {
		ls = new([256]uint8)
		for i := range ls {
			ls[i] = truncU8(float64(i) + sat)
		}
	}
	shiftHSV(img, lh, ls, lv)
}

// ColorJitter is albumentations' ColorJitter (torchvision's jitter with
// OpenCV colour conversions): brightness, contrast and saturation factors
// drawn from [max(0, 1-v), 1+v] and a hue shift from [-hue, hue] (fractions
// of a turn), applied in a random order. Defaults 0.2 each, p = 0.5.
type ColorJitter struct {
	Brightness, Contrast, Saturation Range // factor ranges
	Hue                              Range // within [-0.5, 0.5]
	P                                float64
}

// NewColorJitter returns albumentations' defaults.
func NewColorJitter() *ColorJitter {
	return &ColorJitter{Brightness: Range{0.8, 1.2}, Contrast: Range{0.8, 1.2}, Saturation: Range{0.8, 1.2}, Hue: Sym(0.2), P: 0.5}
}

func (t *ColorJitter) Name() string  { return "ColorJitter" }
func (t *ColorJitter) Prob() float64 { return t.P }
func (t *ColorJitter) Validate() error {
	const op = "ColorJitter"
	if err := checkP(op, t.P); err != nil {
		return err
	}
	for _, f := range []struct {
		n string
		r Range
	}{{"Brightness", t.Brightness}, {"Contrast", t.Contrast}, {"Saturation", t.Saturation}} {
		if err := f.r.within(op, f.n, 0, 1e6); err != nil {
			return err
		}
	}
	return t.Hue.within(op, "Hue", -0.5, 0.5)
}

func (t *ColorJitter) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if s.Image.C != 3 && s.Image.C != 1 {
		return fmt.Errorf("augment.ColorJitter: needs 1 or 3 channels, image has %d", s.Image.C)
	}
	f := [4]float64{t.Brightness.sample(rng), t.Contrast.sample(rng), t.Saturation.sample(rng), t.Hue.sample(rng)}
	order := [4]int{0, 1, 2, 3}
	rng.Shuffle(4, func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, o := range order {
		switch o {
		case 0:
			adjustBrightness(s, f[0])
		case 1:
			adjustContrast(s, f[1])
		case 2:
			adjustSaturation(s, f[2])
		case 3:
			adjustHue(s, f[3])
		}
	}
	return nil
}

func adjustBrightness(s *Sample, factor float64) {
	if factor == 1 {
		return
	}
	var lut [256]uint8
	for i := range lut {
		lut[i] = truncU8(float64(i) * factor)
	}
	applyLUT(s.Writable(), &lut)
}

// grayMean is the mean of the grey image (the image itself for one channel).
func grayMean(img *Image) float64 {
	if img.C != 3 {
		return meanPixel(img)
	}
	var sum uint64
	p := img.Pix
	for i := 0; i+2 < len(p); i += 3 {
		sum += uint64(rgbToGray(p[i], p[i+1], p[i+2]))
	}
	return float64(sum) / float64(img.H*img.W)
}

func adjustContrast(s *Sample, factor float64) {
	if factor == 1 {
		return
	}
	mean := grayMean(s.Image)
	img := s.Writable()
	if factor == 0 {
		v := uint8(int(mean + 0.5))
		for i := range img.Pix {
			img.Pix[i] = v
		}
		return
	}
	var lut [256]uint8
	for i := range lut {
		lut[i] = truncU8(float64(i)*factor + mean*(1-factor))
	}
	applyLUT(img, &lut)
}

func adjustSaturation(s *Sample, factor float64) {
	if factor == 1 || s.Image.C != 3 {
		return
	}
	img := s.Writable()
	// cv2.addWeighted(img, factor, gray, 1-factor, 0) as OpenCV's AVX2
	// build computes it: fma(v, α, g·β) in float32, rounded to nearest.
	a, b := float32(factor), float32(1-factor)
	p := img.Pix
	for i := 0; i+2 < len(p); i += 3 {
		g := float32(rgbToGray(p[i], p[i+1], p[i+2]))
		gb := float32(g * b)
		for k := 0; k < 3; k++ {
			p[i+k] = roundU8(float64(fma32(float32(p[i+k]), a, gb)))
		}
	}
}

func adjustHue(s *Sample, factor float64) {
	if factor == 0 || s.Image.C != 3 {
		return
	}
	var lh [256]uint8
	for i := range lh {
		lh[i] = uint8(math.Mod(math.Mod(float64(i)+180*factor, 180)+180, 180))
	}
	shiftHSV(s.Writable(), &lh, nil, nil)
}

// GaussNoise is albumentations' GaussNoise: Gaussian noise with a variance
// drawn from VarLimit (default [10, 50]) and mean Mean (0), per channel
// (default) or shared across channels, added, clipped and truncated to
// 8 bits; p = 0.5.
type GaussNoise struct {
	VarLimit   Range
	Mean       float64
	PerChannel bool
	P          float64
}

// NewGaussNoise returns albumentations' defaults.
func NewGaussNoise() *GaussNoise {
	return &GaussNoise{VarLimit: Range{10, 50}, PerChannel: true, P: 0.5}
}

func (t *GaussNoise) Name() string  { return "GaussNoise" }
func (t *GaussNoise) Prob() float64 { return t.P }
func (t *GaussNoise) Validate() error {
	if err := checkP("GaussNoise", t.P); err != nil {
		return err
	}
	if err := t.VarLimit.within("GaussNoise", "VarLimit", 0, 1e9); err != nil {
		return err
	}
	return checkFinite("GaussNoise", "Mean", t.Mean)
}

func (t *GaussNoise) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	sigma := math.Sqrt(t.VarLimit.sample(rng))
	img := s.Writable()
	c := img.C
	if t.PerChannel {
		for i, v := range img.Pix {
			img.Pix[i] = truncU8(float64(float32(v)) + t.Mean + sigma*rng.NormFloat64())
		}
		return nil
	}
	for i := 0; i < len(img.Pix); i += c {
		n := t.Mean + sigma*rng.NormFloat64()
		for k := 0; k < c; k++ {
			img.Pix[i+k] = truncU8(float64(img.Pix[i+k]) + n)
		}
	}
	return nil
}
