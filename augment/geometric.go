package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Resize resizes to Height×Width (albumentations Resize; p = 1).
type Resize struct {
	Height, Width int
	Interpolation Interpolation
	P             float64
}

// NewResize returns a bilinear Resize to h×w that always applies.
func NewResize(h, w int) *Resize { return &Resize{Height: h, Width: w, P: 1} }

func (t *Resize) Name() string  { return "Resize" }
func (t *Resize) Prob() float64 { return t.P }
func (t *Resize) Validate() error {
	if err := checkP("Resize", t.P); err != nil {
		return err
	}
	if err := checkSize("Resize", t.Height, t.Width); err != nil {
		return err
	}
	return checkInterp("Resize", t.Interpolation)
}

func (t *Resize) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	resizeTo(s, t.Height, t.Width, t.Interpolation)
	return nil
}

// resizeTo resizes the sample's image and boxes.
func resizeTo(s *Sample, h, w int, interp Interpolation) {
	src := s.Image
	if h == src.H && w == src.W {
		return
	}
	sx, sy := float64(w)/float64(src.W), float64(h)/float64(src.H)
	s.SetImage(resizeImage(s, src, h, w, interp))
	s.mapBoxes(Matrix{sx, 0, 0, 0, sy, 0})
}

// LongestMaxSize rescales so the longest side equals MaxSize, keeping the
// aspect ratio (sides rounded half to even, as Python's round); when
// MaxSizes is set one of them is drawn instead. p = 1.
type LongestMaxSize struct {
	MaxSize       int
	MaxSizes      []int
	Interpolation Interpolation
	P             float64
}

// NewLongestMaxSize returns albumentations' defaults with the given size.
func NewLongestMaxSize(maxSize int) *LongestMaxSize {
	return &LongestMaxSize{MaxSize: maxSize, P: 1}
}

func (t *LongestMaxSize) Name() string  { return "LongestMaxSize" }
func (t *LongestMaxSize) Prob() float64 { return t.P }
func (t *LongestMaxSize) Validate() error {
	return validateMaxSize("LongestMaxSize", t.MaxSize, t.MaxSizes, t.Interpolation, t.P)
}

func validateMaxSize(op string, m int, ms []int, interp Interpolation, p float64) error {
	if err := checkP(op, p); err != nil {
		return err
	}
	if len(ms) == 0 {
		ms = []int{m}
	}
	for _, v := range ms {
		if err := checkSize(op, v, v); err != nil {
			return err
		}
	}
	return checkInterp(op, interp)
}

func drawSize(rng *rand.Rand, m int, ms []int) int {
	if len(ms) == 0 {
		return m
	}
	return ms[rng.IntN(len(ms))]
}

func (t *LongestMaxSize) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return maxSizeResize(s, drawSize(rng, t.MaxSize, t.MaxSizes), true, t.Interpolation, "LongestMaxSize")
}

func maxSizeResize(s *Sample, maxSize int, longest bool, interp Interpolation, op string) error {
	h, w := s.Image.H, s.Image.W
	side := min(h, w)
	if longest {
		side = max(h, w)
	}
	scale := float64(maxSize) / float64(side)
	if scale == 1 {
		return nil
	}
	nh := int(math.RoundToEven(float64(h) * scale))
	nw := int(math.RoundToEven(float64(w) * scale))
	if nh < 1 || nw < 1 || nh > maxSide || nw > maxSide {
		return fmt.Errorf("augment.%s: %dx%d image would become %dx%d", op, w, h, nw, nh)
	}
	resizeTo(s, nh, nw, interp)
	return nil
}

// SmallestMaxSize rescales so the shortest side equals MaxSize, keeping the
// aspect ratio. p = 1.
type SmallestMaxSize struct {
	MaxSize       int
	MaxSizes      []int
	Interpolation Interpolation
	P             float64
}

// NewSmallestMaxSize returns albumentations' defaults with the given size.
func NewSmallestMaxSize(maxSize int) *SmallestMaxSize {
	return &SmallestMaxSize{MaxSize: maxSize, P: 1}
}

func (t *SmallestMaxSize) Name() string  { return "SmallestMaxSize" }
func (t *SmallestMaxSize) Prob() float64 { return t.P }
func (t *SmallestMaxSize) Validate() error {
	return validateMaxSize("SmallestMaxSize", t.MaxSize, t.MaxSizes, t.Interpolation, t.P)
}

func (t *SmallestMaxSize) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return maxSizeResize(s, drawSize(rng, t.MaxSize, t.MaxSizes), false, t.Interpolation, "SmallestMaxSize")
}

// Position places the image inside PadIfNeeded's padding.
type Position int

const (
	PadCenter Position = iota
	PadTopLeft
	PadTopRight
	PadBottomLeft
	PadBottomRight
	PadRandom
)

// PadIfNeeded pads to at least MinHeight×MinWidth, or (when a divisor is
// set instead, MinHeight/MinWidth 0) to a multiple of the divisor
// (albumentations PadIfNeeded: reflect-101 border, centred, p = 1).
type PadIfNeeded struct {
	MinHeight, MinWidth               int
	PadHeightDivisor, PadWidthDivisor int
	Position                          Position
	Border                            BorderMode
	Value                             Color
	P                                 float64
}

// NewPadIfNeeded returns albumentations' defaults for the given minimum
// size.
func NewPadIfNeeded(minH, minW int) *PadIfNeeded {
	return &PadIfNeeded{MinHeight: minH, MinWidth: minW, P: 1}
}

func (t *PadIfNeeded) Name() string  { return "PadIfNeeded" }
func (t *PadIfNeeded) Prob() float64 { return t.P }
func (t *PadIfNeeded) Validate() error {
	if err := checkP("PadIfNeeded", t.P); err != nil {
		return err
	}
	if (t.MinHeight > 0) == (t.PadHeightDivisor > 0) {
		return fmt.Errorf("augment.PadIfNeeded: set exactly one of MinHeight (%d) and PadHeightDivisor (%d)", t.MinHeight, t.PadHeightDivisor)
	}
	if (t.MinWidth > 0) == (t.PadWidthDivisor > 0) {
		return fmt.Errorf("augment.PadIfNeeded: set exactly one of MinWidth (%d) and PadWidthDivisor (%d)", t.MinWidth, t.PadWidthDivisor)
	}
	if t.MinHeight < 0 || t.MinWidth < 0 || t.PadHeightDivisor < 0 || t.PadWidthDivisor < 0 || t.MinHeight > maxSide || t.MinWidth > maxSide {
		return fmt.Errorf("augment.PadIfNeeded: sizes must be in [0, %d]", maxSide)
	}
	if t.Position < PadCenter || t.Position > PadRandom {
		return fmt.Errorf("augment.PadIfNeeded: unknown position %d", t.Position)
	}
	return checkBorder("PadIfNeeded", t.Border)
}

func padAmounts(size, minSize, divisor int) (int, int) {
	if minSize > 0 {
		if size < minSize {
			a := (minSize - size) / 2
			return a, minSize - size - a
		}
		return 0, 0
	}
	rem := size % divisor
	pad := 0
	if rem > 0 {
		pad = divisor - rem
	}
	return pad / 2, pad - pad/2
}

func (t *PadIfNeeded) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	src := s.Image
	top, bottom := padAmounts(src.H, t.MinHeight, t.PadHeightDivisor)
	left, right := padAmounts(src.W, t.MinWidth, t.PadWidthDivisor)
	switch t.Position {
	case PadTopLeft:
		bottom, right, top, left = bottom+top, right+left, 0, 0
	case PadTopRight:
		bottom, left, top, right = bottom+top, left+right, 0, 0
	case PadBottomLeft:
		top, right, bottom, left = top+bottom, right+left, 0, 0
	case PadBottomRight:
		top, left, bottom, right = top+bottom, left+right, 0, 0
	case PadRandom:
		hp, wp := top+bottom, left+right
		top = randint(rng, 0, hp)
		bottom = hp - top
		left = randint(rng, 0, wp)
		right = wp - left
	}
	if top+bottom+left+right == 0 {
		return nil
	}
	if src.H+top+bottom > maxSide || src.W+left+right > maxSide {
		return fmt.Errorf("augment.PadIfNeeded: padded size exceeds %d", maxSide)
	}
	dst := s.NewImage(src.H+top+bottom, src.W+left+right, src.C)
	padImage(dst, src, top, left, t.Border, t.Value)
	s.SetImage(dst)
	s.mapBoxes(Matrix{1, 0, float64(left), 0, 1, float64(top)})
	return nil
}

// cropTo replaces the image by its h×w window at (y0, x0).
func cropTo(s *Sample, y0, x0, h, w int) {
	src := s.Image
	dst := s.NewImage(h, w, src.C)
	copyWindow(dst, src, y0, x0)
	s.SetImage(dst)
	s.mapBoxes(Matrix{1, 0, -float64(x0), 0, 1, -float64(y0)})
}

func cropTooLarge(op string, ch, cw int, img *Image) error {
	return fmt.Errorf("augment.%s: crop %dx%d is larger than the %dx%d image", op, cw, ch, img.W, img.H)
}

// RandomCrop crops a random Height×Width window (p = 1). The window's
// corner is int((H - Height + 1) * u) for u uniform in [0, 1), as in
// albumentations.
type RandomCrop struct {
	Height, Width int
	P             float64
}

// NewRandomCrop returns a RandomCrop of h×w that always applies.
func NewRandomCrop(h, w int) *RandomCrop { return &RandomCrop{Height: h, Width: w, P: 1} }

func (t *RandomCrop) Name() string  { return "RandomCrop" }
func (t *RandomCrop) Prob() float64 { return t.P }
func (t *RandomCrop) Validate() error {
	if err := checkP("RandomCrop", t.P); err != nil {
		return err
	}
	return checkSize("RandomCrop", t.Height, t.Width)
}

// corner draws the crop origin for an h×w image.
func (t *RandomCrop) corner(rng *rand.Rand, h, w int) (y0, x0 int) {
	hs, wsr := rng.Float64(), rng.Float64()
	return int(float64(h-t.Height+1) * hs), int(float64(w-t.Width+1) * wsr)
}

func (t *RandomCrop) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	img := s.Image
	if t.Height > img.H || t.Width > img.W {
		return cropTooLarge("RandomCrop", t.Height, t.Width, img)
	}
	y0, x0 := t.corner(rng, img.H, img.W)
	cropTo(s, y0, x0, t.Height, t.Width)
	return nil
}

// CenterCrop crops the central Height×Width window (p = 1).
type CenterCrop struct {
	Height, Width int
	P             float64
}

// NewCenterCrop returns a CenterCrop of h×w that always applies.
func NewCenterCrop(h, w int) *CenterCrop { return &CenterCrop{Height: h, Width: w, P: 1} }

func (t *CenterCrop) Name() string  { return "CenterCrop" }
func (t *CenterCrop) Prob() float64 { return t.P }
func (t *CenterCrop) Validate() error {
	if err := checkP("CenterCrop", t.P); err != nil {
		return err
	}
	return checkSize("CenterCrop", t.Height, t.Width)
}

func (t *CenterCrop) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	img := s.Image
	if t.Height > img.H || t.Width > img.W {
		return cropTooLarge("CenterCrop", t.Height, t.Width, img)
	}
	cropTo(s, (img.H-t.Height)/2, (img.W-t.Width)/2, t.Height, t.Width)
	return nil
}

// RandomResizedCrop is torchvision's crop as albumentations implements it:
// up to ten tries at an area fraction from Scale and a log-uniform aspect
// ratio from Ratio, falling back to a central crop, then a resize to
// Height×Width (defaults: Scale [0.08, 1], Ratio [3/4, 4/3], bilinear, p = 1).
type RandomResizedCrop struct {
	Height, Width int
	Scale         Range
	Ratio         Range
	Interpolation Interpolation
	P             float64
}

// NewRandomResizedCrop returns albumentations' defaults for an h×w output.
func NewRandomResizedCrop(h, w int) *RandomResizedCrop {
	return &RandomResizedCrop{Height: h, Width: w, Scale: Range{0.08, 1}, Ratio: Range{0.75, 4.0 / 3}, P: 1}
}

func (t *RandomResizedCrop) Name() string  { return "RandomResizedCrop" }
func (t *RandomResizedCrop) Prob() float64 { return t.P }
func (t *RandomResizedCrop) Validate() error {
	if err := checkP("RandomResizedCrop", t.P); err != nil {
		return err
	}
	if err := checkSize("RandomResizedCrop", t.Height, t.Width); err != nil {
		return err
	}
	if err := t.Scale.within("RandomResizedCrop", "Scale", 0, math.MaxFloat64); err != nil {
		return err
	}
	if t.Scale.Max <= 0 {
		return fmt.Errorf("augment.RandomResizedCrop: Scale = [%v, %v]: Max must be > 0", t.Scale.Min, t.Scale.Max)
	}
	if err := t.Ratio.check("RandomResizedCrop", "Ratio"); err != nil {
		return err
	}
	if t.Ratio.Min <= 0 {
		return fmt.Errorf("augment.RandomResizedCrop: Ratio = [%v, %v]: must be > 0", t.Ratio.Min, t.Ratio.Max)
	}
	return checkInterp("RandomResizedCrop", t.Interpolation)
}

func (t *RandomResizedCrop) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	img := s.Image
	H, W := img.H, img.W
	area := float64(H * W)
	ch, cw, y0, x0 := 0, 0, 0, 0
	found := false
	for attempt := 0; attempt < 10; attempt++ {
		target := t.Scale.sample(rng) * area
		ar := math.Exp(uniform(rng, math.Log(t.Ratio.Min), math.Log(t.Ratio.Max)))
		w := int(math.RoundToEven(math.Sqrt(target * ar)))
		h := int(math.RoundToEven(math.Sqrt(target / ar)))
		if w > 0 && w <= W && h > 0 && h <= H {
			y0 = randint(rng, 0, H-h)
			x0 = randint(rng, 0, W-w)
			ch, cw, found = h, w, true
			break
		}
	}
	if !found {
		in := float64(W) / float64(H)
		switch {
		case in < t.Ratio.Min:
			cw = W
			ch = int(math.RoundToEven(float64(cw) / t.Ratio.Min))
		case in > t.Ratio.Max:
			ch = H
			cw = int(math.RoundToEven(float64(ch) * t.Ratio.Max))
		default:
			cw, ch = W, H
		}
		ch, cw = max(min(ch, H), 1), max(min(cw, W), 1)
		y0, x0 = (H-ch)/2, (W-cw)/2
	}
	cropTo(s, y0, x0, ch, cw)
	resizeTo(s, t.Height, t.Width, t.Interpolation)
	return nil
}

// HorizontalFlip mirrors left to right (p = 0.5).
type HorizontalFlip struct{ P float64 }

// NewHorizontalFlip returns a HorizontalFlip with p = 0.5.
func NewHorizontalFlip() *HorizontalFlip { return &HorizontalFlip{P: 0.5} }

func (t *HorizontalFlip) Name() string    { return "HorizontalFlip" }
func (t *HorizontalFlip) Prob() float64   { return t.P }
func (t *HorizontalFlip) Validate() error { return checkP("HorizontalFlip", t.P) }

func (t *HorizontalFlip) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	src := s.Image
	dst := s.NewImage(src.H, src.W, src.C)
	hflip(dst, src)
	s.SetImage(dst)
	s.mapBoxes(Matrix{-1, 0, float64(src.W), 0, 1, 0})
	return nil
}

func hflip(dst, src *Image) {
	c, w := src.C, src.W
	for y := 0; y < src.H; y++ {
		s, d := src.Row(y), dst.Row(y)
		if c == 3 {
			s, d = s[:3*w], d[:3*w]
			for x := 0; x < w; x++ {
				j := 3 * (w - 1 - x)
				d[3*x], d[3*x+1], d[3*x+2] = s[j], s[j+1], s[j+2]
			}
			continue
		}
		for x := 0; x < w; x++ {
			copy(d[x*c:x*c+c], s[(w-1-x)*c:(w-x)*c])
		}
	}
}

// VerticalFlip mirrors top to bottom (p = 0.5).
type VerticalFlip struct{ P float64 }

// NewVerticalFlip returns a VerticalFlip with p = 0.5.
func NewVerticalFlip() *VerticalFlip { return &VerticalFlip{P: 0.5} }

func (t *VerticalFlip) Name() string    { return "VerticalFlip" }
func (t *VerticalFlip) Prob() float64   { return t.P }
func (t *VerticalFlip) Validate() error { return checkP("VerticalFlip", t.P) }

func (t *VerticalFlip) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	src := s.Image
	dst := s.NewImage(src.H, src.W, src.C)
	for y := 0; y < src.H; y++ {
		copy(dst.Row(y), src.Row(src.H-1-y))
	}
	s.SetImage(dst)
	s.mapBoxes(Matrix{1, 0, 0, 0, -1, float64(src.H)})
	return nil
}

// RandomRotate90 rotates counter-clockwise by k·90° with k uniform in
// {0, 1, 2, 3} (np.rot90; p = 0.5).
type RandomRotate90 struct{ P float64 }

// NewRandomRotate90 returns a RandomRotate90 with p = 0.5.
func NewRandomRotate90() *RandomRotate90 { return &RandomRotate90{P: 0.5} }

func (t *RandomRotate90) Name() string    { return "RandomRotate90" }
func (t *RandomRotate90) Prob() float64   { return t.P }
func (t *RandomRotate90) Validate() error { return checkP("RandomRotate90", t.P) }

func (t *RandomRotate90) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	rot90(s, rng.IntN(4))
	return nil
}

// rot90 rotates the sample counter-clockwise k times.
func rot90(s *Sample, k int) {
	src := s.Image
	H, W, c := src.H, src.W, src.C
	var dst *Image
	var a Matrix
	switch k & 3 {
	case 0:
		return
	case 1: // out[i][j] = in[j][W-1-i]
		dst = s.NewImage(W, H, c)
		for i := 0; i < W; i++ {
			d := dst.Row(i)
			for j := 0; j < H; j++ {
				copy(d[j*c:j*c+c], src.Pix[(j*W+W-1-i)*c:])
			}
		}
		a = Matrix{0, 1, 0, -1, 0, float64(W)}
	case 2:
		dst = s.NewImage(H, W, c)
		for i := 0; i < H; i++ {
			d, r := dst.Row(i), src.Row(H-1-i)
			for j := 0; j < W; j++ {
				copy(d[j*c:j*c+c], r[(W-1-j)*c:])
			}
		}
		a = Matrix{-1, 0, float64(W), 0, -1, float64(H)}
	case 3: // out[i][j] = in[H-1-j][i]
		dst = s.NewImage(W, H, c)
		for i := 0; i < W; i++ {
			d := dst.Row(i)
			for j := 0; j < H; j++ {
				copy(d[j*c:j*c+c], src.Pix[((H-1-j)*W+i)*c:])
			}
		}
		a = Matrix{0, -1, float64(H), 1, 0, 0}
	}
	s.SetImage(dst)
	s.mapBoxes(a)
}

// rotationMatrix2D is cv2.getRotationMatrix2D: rotation by angle degrees
// (counter-clockwise on screen) and scaling about (cx, cy), pixel-index
// coordinates.
func rotationMatrix2D(cx, cy, angle, scale float64) Matrix {
	angle *= math.Pi / 180
	alpha := math.Cos(angle) * scale
	beta := math.Sin(angle) * scale
	return Matrix{alpha, beta, (1-alpha)*cx - beta*cy, -beta, alpha, beta*cx + (1-alpha)*cy}
}

// warpSample warps the sample's image with the forward pixel matrix m to an
// outH×outW image and maps the boxes.
func warpSample(s *Sample, m Matrix, outH, outW int, interp Interpolation, border BorderMode, fill Color) {
	src := s.Image
	dst := s.NewImage(outH, outW, src.C)
	warpAffine(dst, src, m, interp, border, fill, s.ws)
	s.SetImage(dst)
	s.mapBoxes(fromPixelMatrix(m))
}

// ShiftScaleRotate is albumentations' ShiftScaleRotate: a rotation by an
// angle from RotateLimit (degrees, counter-clockwise) and a scaling by
// 1 + a value from ScaleLimit about the image centre (W/2 - 0.5, H/2 - 0.5),
// then a shift of ShiftLimitX·W and ShiftLimitY·H pixels, applied with
// cv2.warpAffine. Defaults: shift ±0.0625, scale ±0.1, rotate ±45°,
// bilinear, reflect-101 border, p = 0.5.
type ShiftScaleRotate struct {
	ShiftLimitX, ShiftLimitY Range
	ScaleLimit               Range
	RotateLimit              Range
	Interpolation            Interpolation
	Border                   BorderMode
	Value                    Color
	P                        float64
}

// NewShiftScaleRotate returns albumentations' defaults.
func NewShiftScaleRotate() *ShiftScaleRotate {
	return &ShiftScaleRotate{
		ShiftLimitX: Sym(0.0625), ShiftLimitY: Sym(0.0625),
		ScaleLimit: Sym(0.1), RotateLimit: Sym(45), P: 0.5,
	}
}

func (t *ShiftScaleRotate) Name() string  { return "ShiftScaleRotate" }
func (t *ShiftScaleRotate) Prob() float64 { return t.P }
func (t *ShiftScaleRotate) Validate() error {
	const op = "ShiftScaleRotate"
	if err := checkP(op, t.P); err != nil {
		return err
	}
	if err := t.ShiftLimitX.within(op, "ShiftLimitX", -1, 1); err != nil {
		return err
	}
	if err := t.ShiftLimitY.within(op, "ShiftLimitY", -1, 1); err != nil {
		return err
	}
	if err := t.ScaleLimit.check(op, "ScaleLimit"); err != nil {
		return err
	}
	if 1+t.ScaleLimit.Min <= 0 {
		return fmt.Errorf("augment.%s: ScaleLimit = [%v, %v]: the scale factor 1%+v must be > 0", op, t.ScaleLimit.Min, t.ScaleLimit.Max, t.ScaleLimit.Min)
	}
	if err := t.RotateLimit.check(op, "RotateLimit"); err != nil {
		return err
	}
	if err := checkInterp(op, t.Interpolation); err != nil {
		return err
	}
	return checkBorder(op, t.Border)
}

// Matrix returns the forward pixel-index matrix for an h×w image and the
// drawn parameters (angle in degrees, scale factor, shifts as fractions).
func (t *ShiftScaleRotate) Matrix(h, w int, angle, scale, dx, dy float64) Matrix {
	m := rotationMatrix2D(float64(w)/2-0.5, float64(h)/2-0.5, angle, scale)
	m[2] += dx * float64(w)
	m[5] += dy * float64(h)
	return m
}

func (t *ShiftScaleRotate) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	angle := t.RotateLimit.sample(rng)
	scale := 1 + t.ScaleLimit.sample(rng)
	dx := t.ShiftLimitX.sample(rng)
	dy := t.ShiftLimitY.sample(rng)
	img := s.Image
	warpSample(s, t.Matrix(img.H, img.W, angle, scale, dx, dy), img.H, img.W, t.Interpolation, t.Border, t.Value)
	return nil
}

// Affine is albumentations' Affine: per-axis scale, translation (fractions
// of the size, or pixels with TranslatePixels), rotation and per-axis shear
// in degrees, composed about the image centre as albumentations composes
// them (with skimage's AffineTransform) and applied with cv2.warpAffine.
// Defaults (albumentations' when no argument is given): scale [0.9, 1.1]
// per axis, translate ±10 %, rotate ±15°, shear ±10° per axis, bilinear,
// constant border 0, p = 0.5.
type Affine struct {
	ScaleX, ScaleY         Range
	KeepRatio              bool
	TranslateX, TranslateY Range
	TranslatePixels        bool
	Rotate                 Range
	ShearX, ShearY         Range
	Interpolation          Interpolation
	Border                 BorderMode
	Value                  Color
	FitOutput              bool
	P                      float64
}

// NewAffine returns albumentations' defaults.
func NewAffine() *Affine {
	return &Affine{
		ScaleX: Range{0.9, 1.1}, ScaleY: Range{0.9, 1.1},
		TranslateX: Sym(0.1), TranslateY: Sym(0.1),
		Rotate: Sym(15), ShearX: Sym(10), ShearY: Sym(10),
		Border: BorderConstant, P: 0.5,
	}
}

func (t *Affine) Name() string  { return "Affine" }
func (t *Affine) Prob() float64 { return t.P }
func (t *Affine) Validate() error {
	const op = "Affine"
	if err := checkP(op, t.P); err != nil {
		return err
	}
	for _, f := range []struct {
		n string
		r Range
	}{{"ScaleX", t.ScaleX}, {"ScaleY", t.ScaleY}, {"TranslateX", t.TranslateX}, {"TranslateY", t.TranslateY}, {"Rotate", t.Rotate}, {"ShearX", t.ShearX}, {"ShearY", t.ShearY}} {
		if err := f.r.check(op, f.n); err != nil {
			return err
		}
	}
	if t.ScaleX.Min <= 0 || t.ScaleY.Min <= 0 {
		return fmt.Errorf("augment.Affine: scale ranges must be > 0 (ScaleX %v, ScaleY %v)", t.ScaleX, t.ScaleY)
	}
	if t.KeepRatio && t.ScaleX != t.ScaleY {
		return fmt.Errorf("augment.Affine: KeepRatio needs ScaleX == ScaleY (got %v and %v)", t.ScaleX, t.ScaleY)
	}
	if math.Abs(t.ShearX.Min) >= 90 || math.Abs(t.ShearX.Max) >= 90 || math.Abs(t.ShearY.Min) >= 90 || math.Abs(t.ShearY.Max) >= 90 {
		return fmt.Errorf("augment.Affine: shear angles must lie strictly within ±90° (ShearX %v, ShearY %v)", t.ShearX, t.ShearY)
	}
	if err := checkInterp(op, t.Interpolation); err != nil {
		return err
	}
	return checkBorder(op, t.Border)
}

// m3 is a 3×3 matrix for composing skimage-style transforms.
type m3 [9]float64

func (a m3) mul(b m3) m3 { // a·b
	var r m3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i*3+j] = a[i*3]*b[j] + a[i*3+1]*b[3+j] + a[i*3+2]*b[6+j]
		}
	}
	return r
}

// skAffine is skimage.transform.Affine(scale, rotation, shear,
// translation).params (skimage < 0.21 formulas, as albumentations 1.3 used).
func skAffine(sx, sy, rot, shear, tx, ty float64) m3 {
	return m3{
		sx * math.Cos(rot), -sy * math.Sin(rot+shear), tx,
		sx * math.Sin(rot), sy * math.Cos(rot+shear), ty,
		0, 0, 1,
	}
}

// AffineMatrix returns the forward pixel-index matrix for an h×w image and
// the drawn parameters, in albumentations' order of composition.
func AffineMatrix(h, w int, scaleX, scaleY, tx, ty, rotate, shearX, shearY float64) Matrix {
	rad := math.Pi / 180
	cx, cy := float64(w)/2-0.5, float64(h)/2-0.5
	toTopLeft := m3{1, 0, -cx, 0, 1, -cy, 0, 0, 1}
	rotM := skAffine(1, 1, -math.Pi/2, 0, 0, 0)
	shY := skAffine(1, 1, 0, shearY*rad, 0, 0)
	rotP := skAffine(1, 1, math.Pi/2, 0, 0, 0)
	tr := skAffine(scaleX, scaleY, rotate*rad, shearX*rad, tx, ty)
	toCenter := m3{1, 0, cx, 0, 1, cy, 0, 0, 1}
	// skimage's a + b applies a first: params = b·a.
	m := toCenter.mul(tr).mul(rotP).mul(shY).mul(rotM).mul(toTopLeft)
	return Matrix{m[0], m[1], m[2], m[3], m[4], m[5]}
}

func (t *Affine) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	img := s.Image
	h, w := img.H, img.W
	var tx, ty float64
	if t.TranslatePixels {
		tx = float64(randint(rng, int(math.Ceil(t.TranslateX.Min)), int(math.Floor(t.TranslateX.Max))))
		ty = float64(randint(rng, int(math.Ceil(t.TranslateY.Min)), int(math.Floor(t.TranslateY.Max))))
	} else {
		tx = t.TranslateX.sample(rng) * float64(w)
		ty = t.TranslateY.sample(rng) * float64(h)
	}
	shx := -t.ShearX.sample(rng)
	shy := -t.ShearY.sample(rng)
	scx := t.ScaleX.sample(rng)
	scy := t.ScaleY.sample(rng)
	if t.KeepRatio {
		scy = scx
	}
	rot := -t.Rotate.sample(rng)
	m := AffineMatrix(h, w, scx, scy, tx, ty, rot, shx, shy)
	outH, outW := h, w
	if t.FitOutput {
		xs := [4]float64{0, 0, float64(w - 1), float64(w - 1)}
		ys := [4]float64{0, float64(h - 1), float64(h - 1), 0}
		minx, miny, maxx, maxy := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for i := range xs {
			x, y := m.Apply(xs[i], ys[i])
			minx, maxx = math.Min(minx, x), math.Max(maxx, x)
			miny, maxy = math.Min(miny, y), math.Max(maxy, y)
		}
		outH = int(math.Ceil(maxy - miny + 1))
		outW = int(math.Ceil(maxx - minx + 1))
		if outH < 1 || outW < 1 || outH > maxSide || outW > maxSide {
			return fmt.Errorf("augment.Affine: fitted output %dx%d is out of range", outW, outH)
		}
		m[2] -= minx
		m[5] -= miny
	}
	if m == Identity {
		return nil
	}
	warpSample(s, m, outH, outW, t.Interpolation, t.Border, t.Value)
	return nil
}
