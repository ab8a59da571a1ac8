package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Blur is albumentations' Blur: a normalised box filter (cv2.blur) with an
// odd kernel size drawn from BlurLimit (default [3, 7], p = 0.5) and a
// reflect-101 border.
type Blur struct {
	BlurLimit IntRange
	P         float64
}

// NewBlur returns albumentations' defaults.
func NewBlur() *Blur { return &Blur{BlurLimit: IntRange{3, 7}, P: 0.5} }

func (t *Blur) Name() string  { return "Blur" }
func (t *Blur) Prob() float64 { return t.P }
func (t *Blur) Validate() error {
	if err := checkP("Blur", t.P); err != nil {
		return err
	}
	if err := t.BlurLimit.check("Blur", "BlurLimit", 3); err != nil {
		return err
	}
	if t.BlurLimit.Max > 255 {
		return fmt.Errorf("augment.Blur: BlurLimit.Max = %d: at most 255", t.BlurLimit.Max)
	}
	if oddChoices(t.BlurLimit) == 0 {
		return fmt.Errorf("augment.Blur: BlurLimit = [%d, %d] holds no odd size", t.BlurLimit.Min, t.BlurLimit.Max)
	}
	return nil
}

// oddChoices counts albumentations' choices range(lo, hi+1, 2).
func oddChoices(r IntRange) int { return (r.Max-r.Min)/2 + 1 }

func (t *Blur) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	k := t.BlurLimit.Min + 2*rng.IntN(oddChoices(t.BlurLimit))
	src := s.Image
	dst := s.NewImage(src.H, src.W, src.C)
	boxBlur(dst, src, k)
	s.SetImage(dst)
	return nil
}

// boxBlur is cv2.blur(src, (k, k)) for an odd k with the reflect-101
// border, written to dst (same size): exact window sums divided by k² and
// rounded to nearest.
func boxBlur(dst, src *Image, k int) {
	c := src.C
	H, W := src.H, src.W
	r := k / 2
	area := int32(k * k) // odd, so s/area never ties
	div := func(s int32) uint8 { return uint8((s + area/2) / area) }
	// Horizontal window sums.
	rows := make([]int32, H*W*c)
	xi := make([]int, W+2*r)
	for i := range xi {
		xi[i] = borderIndex(i-r, W, BorderReflect101)
	}
	for y := 0; y < H; y++ {
		s := src.Row(y)
		out := rows[y*W*c : (y+1)*W*c]
		for ch := 0; ch < c; ch++ {
			sum := int32(0)
			for i := 0; i < k; i++ {
				sum += int32(s[xi[i]*c+ch])
			}
			out[ch] = sum
			for x := 1; x < W; x++ {
				sum += int32(s[xi[x+k-1]*c+ch]) - int32(s[xi[x-1]*c+ch])
				out[x*c+ch] = sum
			}
		}
	}
	// Vertical window sums.
	yi := make([]int, H+2*r)
	for i := range yi {
		yi[i] = borderIndex(i-r, H, BorderReflect101)
	}
	n := W * c
	acc := make([]int32, n)
	for i := 0; i < k; i++ {
		row := rows[yi[i]*n : yi[i]*n+n]
		for j, v := range row {
			acc[j] += v
		}
	}
	for y := 0; y < H; y++ {
		if y > 0 {
			add := rows[yi[y+k-1]*n : yi[y+k-1]*n+n]
			sub := rows[yi[y-1]*n : yi[y-1]*n+n]
			for j := range acc {
				acc[j] += add[j] - sub[j]
			}
		}
		d := dst.Row(y)
		for j, v := range acc {
			d[j] = div(v)
		}
	}
}

// GaussianBlur is albumentations' GaussianBlur: cv2.GaussianBlur with an
// odd kernel size drawn from BlurLimit (0 allowed: derive it from sigma)
// and sigma from SigmaLimit (0: derive it from the size). Defaults:
// BlurLimit [3, 7], SigmaLimit [0, 0], p = 0.5.
type GaussianBlur struct {
	BlurLimit  IntRange
	SigmaLimit Range
	P          float64
}

// NewGaussianBlur returns albumentations' defaults.
func NewGaussianBlur() *GaussianBlur {
	return &GaussianBlur{BlurLimit: IntRange{3, 7}, P: 0.5}
}

func (t *GaussianBlur) Name() string  { return "GaussianBlur" }
func (t *GaussianBlur) Prob() float64 { return t.P }
func (t *GaussianBlur) Validate() error {
	if err := checkP("GaussianBlur", t.P); err != nil {
		return err
	}
	if err := t.BlurLimit.check("GaussianBlur", "BlurLimit", 0); err != nil {
		return err
	}
	if (t.BlurLimit.Min != 0 && t.BlurLimit.Min%2 != 1) || (t.BlurLimit.Max != 0 && t.BlurLimit.Max%2 != 1) {
		return fmt.Errorf("augment.GaussianBlur: BlurLimit = [%d, %d]: sizes must be odd (or 0)", t.BlurLimit.Min, t.BlurLimit.Max)
	}
	if t.BlurLimit.Max > 255 {
		return fmt.Errorf("augment.GaussianBlur: BlurLimit.Max = %d: at most 255", t.BlurLimit.Max)
	}
	if err := t.SigmaLimit.within("GaussianBlur", "SigmaLimit", 0, 100); err != nil {
		return err
	}
	if t.BlurLimit.Min == 0 && t.SigmaLimit.Min == 0 {
		return fmt.Errorf("augment.GaussianBlur: BlurLimit.Min and SigmaLimit.Min cannot both be 0")
	}
	return nil
}

func (t *GaussianBlur) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	k := randint(rng, t.BlurLimit.Min, t.BlurLimit.Max)
	if k != 0 && k%2 != 1 {
		k = (k + 1) % (t.BlurLimit.Max + 1)
	}
	sigma := t.SigmaLimit.sample(rng)
	src := s.Image
	dst := s.NewImage(src.H, src.W, src.C)
	gaussianBlur(dst, src, k, sigma)
	s.SetImage(dst)
	return nil
}

// gaussianKernel8 is OpenCV's getGaussianKernelBitExact converted to
// ufixedpoint16 (8 fractional bits) by its error-diffusion rounding
// (getGaussianKernelFixedPoint_ED): weights in 1/256 units summing to 256.
func gaussianKernel8(n int, sigma float64) []int32 {
	var res []float64
	if sigma <= 0 {
		switch n {
		case 1:
			res = []float64{1}
		case 3:
			res = []float64{0.25, 0.5, 0.25}
		case 5:
			res = []float64{0.0625, 0.25, 0.375, 0.25, 0.0625}
		case 7:
			res = []float64{0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125}
		case 9:
			res = []float64{4.0 / 256, 13.0 / 256, 30.0 / 256, 51.0 / 256, 60.0 / 256, 51.0 / 256, 30.0 / 256, 13.0 / 256, 4.0 / 256}
		}
	}
	if res == nil {
		sx := sigma
		if sx <= 0 {
			sx = float64(n)*0.15 + 0.35
		}
		scale2X := -0.125 / (sx * sx)
		n2 := (n - 1) / 2
		values := make([]float64, n2)
		sum := 0.0
		for i, x := 0, 1-n; i < n2; i, x = i+1, x+2 {
			t := math.Exp(float64(x*x) * scale2X)
			values[i] = t
			sum += t
		}
		sum = sum*2 + 1
		mul1 := 1 / sum
		res = make([]float64, n)
		for i := 0; i < n2; i++ {
			res[i] = values[i] * mul1
			res[n-1-i] = res[i]
		}
		res[n2] = mul1
	}
	out := make([]int32, n)
	n2 := n / 2
	errAcc := 0.0
	var sum int32
	for i := 0; i < n2; i++ {
		adj := res[i]*256 + errAcc
		v := int32(math.RoundToEven(adj))
		errAcc = adj - float64(v)
		out[i], out[n-1-i] = v, v
		sum += v
	}
	out[n2] = 256 - 2*sum
	return out
}

// gaussianBlur is cv2.GaussianBlur(src, (k, k), sigma) for 8-bit images
// (OpenCV's bit-exact fixed-point path, reflect-101 border): rows are
// filtered exactly in 1/256 units, columns in 1/65536 units, rounded half
// up. k = 0 derives the size from sigma as OpenCV does.
func gaussianBlur(dst, src *Image, k int, sigma float64) {
	if k <= 0 {
		k = int(math.RoundToEven(sigma*3*2+1)) | 1
	}
	if k == 1 {
		copy(dst.Pix, src.Pix)
		return
	}
	kern := gaussianKernel8(k, sigma)
	separable8(dst, src, kern, kern)
}

// separable8 applies kx along rows then ky along columns (weights in 1/256
// units) with a reflect-101 border and OpenCV's fixed-point rounding.
func separable8(dst, src *Image, kx, ky []int32) {
	c := src.C
	H, W := src.H, src.W
	rx, ry := len(kx)/2, len(ky)/2
	n := W * c
	rows := make([]int32, H*n)
	xi := make([]int, W+len(kx))
	for i := range xi {
		xi[i] = borderIndex(i-rx, W, BorderReflect101)
	}
	for y := 0; y < H; y++ {
		s := src.Row(y)
		out := rows[y*n : (y+1)*n]
		for x := 0; x < W; x++ {
			for ch := 0; ch < c; ch++ {
				sum := int32(0)
				for i, kv := range kx {
					sum += kv * int32(s[xi[x+i]*c+ch])
				}
				out[x*c+ch] = min(sum, 65535)
			}
		}
	}
	yi := make([]int, H+len(ky))
	for i := range yi {
		yi[i] = borderIndex(i-ry, H, BorderReflect101)
	}
	acc := make([]int64, n)
	for y := 0; y < H; y++ {
		clear(acc)
		for j, kv := range ky {
			r := rows[yi[y+j]*n : yi[y+j]*n+n]
			for i, v := range r {
				acc[i] += int64(kv) * int64(v)
			}
		}
		d := dst.Row(y)
		for i, v := range acc {
			d[i] = sat8(int32(min((v+0x8000)>>16, 255)))
		}
	}
}

// MotionBlur is albumentations' MotionBlur: convolution with a random
// straight line of odd length from BlurLimit (default [3, 7]) inside a k×k
// kernel, normalised (cv2.filter2D, reflect-101). AllowShifted (default
// true) lets the line sit off-centre.
type MotionBlur struct {
	BlurLimit    IntRange
	AllowShifted bool
	P            float64
}

// NewMotionBlur returns albumentations' defaults.
func NewMotionBlur() *MotionBlur {
	return &MotionBlur{BlurLimit: IntRange{3, 7}, AllowShifted: true, P: 0.5}
}

func (t *MotionBlur) Name() string  { return "MotionBlur" }
func (t *MotionBlur) Prob() float64 { return t.P }
func (t *MotionBlur) Validate() error {
	if err := checkP("MotionBlur", t.P); err != nil {
		return err
	}
	if err := t.BlurLimit.check("MotionBlur", "BlurLimit", 3); err != nil {
		return err
	}
	if t.BlurLimit.Max > 63 {
		return fmt.Errorf("augment.MotionBlur: BlurLimit.Max = %d: at most 63", t.BlurLimit.Max)
	}
	if t.BlurLimit.Min%2 != 1 || t.BlurLimit.Max%2 != 1 {
		return fmt.Errorf("augment.MotionBlur: BlurLimit = [%d, %d]: sizes must be odd", t.BlurLimit.Min, t.BlurLimit.Max)
	}
	return nil
}

// motionKernel draws albumentations' random line kernel (weights sum to 1).
func (t *MotionBlur) motionKernel(rng *rand.Rand) (int, []float32) {
	k := t.BlurLimit.Min + 2*rng.IntN(oddChoices(t.BlurLimit))
	x1, x2 := rng.IntN(k), rng.IntN(k)
	var y1, y2 int
	if x1 == x2 {
		y1 = rng.IntN(k)
		y2 = rng.IntN(k - 1)
		if y2 >= y1 {
			y2++
		}
	} else {
		y1, y2 = rng.IntN(k), rng.IntN(k)
	}
	if !t.AllowShifted {
		odd := func(v1, v2 int) (int, int) {
			if (abs(v1-v2)+1)%2 != 1 {
				if v2 > v1 {
					v2--
				} else {
					v1--
				}
			}
			return v1, v2
		}
		x1, x2 = odd(x1, x2)
		y1, y2 = odd(y1, y2)
		xc, yc := float64(x1+x2)/2, float64(y1+y2)/2
		center := float64(k)/2 - 0.5
		dx, dy := xc-center, yc-center
		x1, x2 = int(float64(x1)-dx), int(float64(x2)-dx)
		y1, y2 = int(float64(y1)-dy), int(float64(y2)-dy)
	}
	kern := make([]float32, k*k)
	n := 0
	drawLine(x1, y1, x2, y2, func(x, y int) {
		if x >= 0 && x < k && y >= 0 && y < k && kern[y*k+x] == 0 {
			kern[y*k+x] = 1
			n++
		}
	})
	for i := range kern {
		kern[i] /= float32(n)
	}
	return k, kern
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// drawLine visits the 8-connected pixels of the segment (Bresenham).
func drawLine(x0, y0, x1, y1 int, plot func(x, y int)) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		plot(x0, y0)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func (t *MotionBlur) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	k, kern := t.motionKernel(rng)
	src := s.Image
	dst := s.NewImage(src.H, src.W, src.C)
	filter2D(dst, src, k, kern)
	s.SetImage(dst)
	return nil
}

// filter2D is cv2.filter2D(src, -1, kernel) for a k×k float32 kernel with
// the reflect-101 border: float32 sums over the non-zero taps in row-major
// order, rounded half to even.
func filter2D(dst, src *Image, k int, kern []float32) {
	c := src.C
	H, W := src.H, src.W
	r := k / 2
	type tap struct {
		dy, dx int
		w      float32
	}
	var taps []tap
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			if kern[i*k+j] != 0 {
				taps = append(taps, tap{i - r, j - r, kern[i*k+j]})
			}
		}
	}
	xi := make([]int, W+2*r)
	for i := range xi {
		xi[i] = borderIndex(i-r, W, BorderReflect101)
	}
	for y := 0; y < H; y++ {
		d := dst.Row(y)
		for x := 0; x < W; x++ {
			for ch := 0; ch < c; ch++ {
				sum := float32(0)
				for _, tp := range taps {
					sy := borderIndex(y+tp.dy, H, BorderReflect101)
					sum = sum + float32(tp.w*float32(src.Pix[(sy*W+xi[x+tp.dx+r])*c+ch]))
				}
				d[x*c+ch] = sat8(int32(math.RoundToEven(float64(sum))))
			}
		}
	}
}
