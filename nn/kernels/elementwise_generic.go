package kernels

import "math"

// The generic elementwise loops: the specification of the kernels in
// elementwise.go and the oracle of any SIMD version. Callers have checked
// that all slices have the same length.

func reluGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = max(x, 0)
	}
}

func reluBackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		if v > 0 {
			dx[i] += dy[i]
		}
	}
}

func relu6Generic(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = min(max(x, 0), 6)
	}
}

func relu6BackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		if v > 0 && v < 6 {
			dx[i] += dy[i]
		}
	}
}

// The logistic functions run in float32 on one exp (expf32) shared by the
// generic loops and the SIMD kernels (_gen/elementwise), which execute the
// same operations in the same order, rounding after every one (no FMA), so
// every implementation gives the same bits.

// Constants of expf32: Cephes' expf (range reduction by ln 2 split into
// expC1 + expC2, degree-5 polynomial), and the lower clamp, below which
// e^t underflows to 0.
const (
	expLog2e = float32(1.44269504088896341)
	expC1    = float32(0.693359375)
	expC2    = float32(-2.12194440e-4)
	expP0    = float32(1.9875691500e-4)
	expP1    = float32(1.3981999507e-3)
	expP2    = float32(8.3334519073e-3)
	expP3    = float32(4.1665795894e-2)
	expP4    = float32(1.6666665459e-1)
	expP5    = float32(5.0000001201e-1)
	expLo    = float32(-104)
	maxF32   = float32(math.MaxFloat32)
)

// expf32 is e^t for t in [expLo, 89] (NaN passes through): t = n·ln2 + r
// with n = round(t·log2e) (ties to even) and |r| <= ln2/2, e^r from the
// Cephes polynomial, times 2^n applied as 2^(n>>1)·2^(n-n>>1) so that
// underflow rounds once, to a subnormal or 0. Every operation rounds to
// float32 (the conversions keep the compiler from fusing a multiply and an
// add); the SIMD kernels run the same operations. Error below 1 ulp for
// normal results.
func expf32(t float32) float32 {
	a := t * expLog2e
	ni := int32(math.RoundToEven(float64(a))) // as VCVTPS2DQ (NaN: any value, the result is NaN through r)
	nf := float32(ni)
	r := t - float32(nf*expC1)
	r = r - float32(nf*expC2)
	z := r * r
	y := float32(expP0*r) + expP1
	y = float32(y*r) + expP2
	y = float32(y*r) + expP3
	y = float32(y*r) + expP4
	y = float32(y*r) + expP5
	y = float32(y*z) + r
	y = y + 1
	n1 := ni >> 1
	n2 := ni - n1
	y = y * math.Float32frombits(uint32(n1+127)<<23)
	return y * math.Float32frombits(uint32(n2+127)<<23)
}

// logisticParts returns e = e^-|x| (never overflowing; 0 for |x| > 104,
// NaN for NaN) and the numerators p and q of sigmoid(x) = p/(1+e) and
// 1-sigmoid(x) = q/(1+e): p, q = 1, e for x >= 0 and e, 1 when the sign
// bit of x is set. Neither fraction cancels, so both are accurate to a
// few ulp over the whole range, subnormal results included.
func logisticParts(x float32) (e, p, q float32) {
	b := math.Float32bits(x)
	t := math.Float32frombits(b | 1<<31) // -|x|
	if t < expLo {                       // false for NaN, which passes through
		t = expLo
	}
	e = expf32(t)
	if b>>31 != 0 {
		return e, e, 1
	}
	return e, 1, e
}

// sigmoidf32 is 1/(1+e^-x): exactly 1 for x > 17.3, exactly 0 for x < -104.
func sigmoidf32(x float32) float32 {
	e, p, _ := logisticParts(x)
	return p / (1 + e)
}

// siluf32 is x·sigmoid(x) = x·p/(1+e), with x clamped below at
// -MaxFloat32 so that SiLU(-Inf) = -MaxFloat32·0 = 0 (a -0) rather than
// NaN.
func siluf32(x float32) float32 {
	e, p, _ := logisticParts(x)
	xc := x
	if xc < -maxF32 {
		xc = -maxF32
	}
	return float32(xc*p) / (1 + e)
}

// siluGradf32 is s·(1 + x·(1-s)) with s = sigmoid(x), 1-s computed as
// q/(1+e) (no cancellation) and x clamped to ±MaxFloat32, so that the
// derivative is 0 at -Inf and 1 at +Inf.
func siluGradf32(x float32) float32 {
	e, p, q := logisticParts(x)
	inv := 1 / (1 + e)
	s := p * inv
	sc := q * inv
	xc := x
	if xc < -maxF32 {
		xc = -maxF32
	}
	if xc > maxF32 {
		xc = maxF32
	}
	v := float32(xc*sc) + 1
	return s * v
}

func sigmoidGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = sigmoidf32(x)
	}
}

func sigmoidBackwardGeneric(dx, y, dy []float32) {
	y, dy = y[:len(dx)], dy[:len(dx)]
	for i, s := range y {
		dx[i] = dx[i] + float32(float32(dy[i]*s)*(1-s))
	}
}

func siluGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = siluf32(x)
	}
}

func siluBackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		dx[i] = dx[i] + float32(dy[i]*siluGradf32(v))
	}
}

func tanhGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = float32(math.Tanh(float64(x)))
	}
}

func tanhBackwardGeneric(dx, y, dy []float32) {
	y, dy = y[:len(dx)], dy[:len(dx)]
	for i, t := range y {
		dx[i] += dy[i] * (1 - t*t)
	}
}

func hardSigmoidGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = min(max(x+3, 0), 6) / 6
	}
}

func hardSigmoidBackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		if v > -3 && v < 3 {
			dx[i] += dy[i] / 6
		}
	}
}

func hardSwishGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		switch {
		case x <= -3:
			dst[i] = 0
		case x >= 3:
			dst[i] = x
		default: // NaN lands here and propagates
			dst[i] = x * (x + 3) / 6
		}
	}
}

func hardSwishBackwardGeneric(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		switch {
		case v < -3:
		case v < 3:
			dx[i] += dy[i] * (v/3 + 0.5)
		default: // v >= 3, or NaN
			dx[i] += dy[i]
		}
	}
}

// phi64 is Φ(x), the standard normal CDF; erfc keeps it accurate in the
// lower tail.
func phi64(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func geluGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		if math.IsInf(float64(x), -1) {
			dst[i] = 0
			continue
		}
		x := float64(x)
		dst[i] = float32(x * phi64(x))
	}
}

func geluBackwardGeneric(dx, x, dy []float32) {
	const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		var d float64
		switch {
		case math.IsInf(float64(v), -1):
			d = 0
		case math.IsInf(float64(v), 1):
			d = 1
		default:
			v := float64(v)
			d = phi64(v) + v*invSqrt2Pi*math.Exp(-0.5*v*v)
		}
		dx[i] += dy[i] * float32(d)
	}
}
