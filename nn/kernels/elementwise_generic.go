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
// expC1 + expC2, degree-5 polynomial), the rounding constant 1.5·2^23 and
// the lower clamp.
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
	expRound = float32(12582912) // 1.5·2^23: a + expRound rounds a to an integer (ties to even)
	expLo    = float32(-88)
	maxF32   = float32(math.MaxFloat32)
)

// logisticParts sets, for every x[i], e[i] = e^-|x[i]| and the numerators
// p[i] and q[i] of sigmoid(x) = p/(1+e) and 1-sigmoid(x) = q/(1+e): p, q =
// 1, e for x >= 0 and e, 1 when the sign bit of x is set. Neither fraction
// cancels, so both are accurate to a few ulp over the whole range; e never
// overflows, and NaN passes through.
//
// The exponential (expf32 in the SIMD kernels): t = -|x| is clamped below
// at expLo; t = n·ln2 + r with n = round(t·log2e) in [-127, 0] (ties to
// even, by adding and subtracting 1.5·2^23) and |r| <= ln2/2; e^r from
// Cephes' expf polynomial, evaluated in Estrin's scheme (half the
// dependency chain of Horner's); times 2^n built in the exponent bits. For
// n = -127 that factor is 0, so e is 0 rather than a subnormal below
// |x| ≈ 87.7 (subnormal arithmetic is slow on x86). Every operation rounds
// to float32 (the conversions keep the compiler from fusing a multiply and
// an add); the SIMD kernels run the same operations in the same order.
// Error below 1 ulp for normal e.
//
// The loop has no calls, so it runs at a few ns per element; callers work
// in blocks of logisticBlock elements.
func logisticParts(x, e, p, q []float32) {
	e, p, q = e[:len(x)], p[:len(x)], q[:len(x)]
	for i, v := range x {
		b := math.Float32bits(v)
		t := math.Float32frombits(b | 1<<31) // -|x|
		if t < expLo {                       // false for NaN, which passes through
			t = expLo
		}
		a := t * expLog2e
		sr := a + expRound // n in the low mantissa bits
		nf := sr - expRound
		r := t - float32(nf*expC1)
		r = r - float32(nf*expC2)
		z := r * r
		p01 := float32(expP0*r) + expP1
		p23 := float32(expP2*r) + expP3
		p45 := float32(expP4*r) + expP5
		y := float32(p01*z) + p23
		y = float32(y*z) + p45
		y = float32(y*z) + r
		y = y + 1
		// (bits(sr) + 127) << 23 = (n + 127) << 23: the bits of 1.5·2^23
		// vanish in the shift.
		ev := y * math.Float32frombits((math.Float32bits(sr)+127)<<23)
		e[i] = ev
		// Select without a branch (the sign of x is unpredictable):
		// m is all ones where the sign bit is set.
		m := uint32(int32(b) >> 31)
		eb := math.Float32bits(ev)
		p[i] = math.Float32frombits(m&eb | ^m&0x3f800000)
		q[i] = math.Float32frombits(^m&eb | m&0x3f800000)
	}
}

// logisticBlock is the block length of the generic logistic loops.
const logisticBlock = 64

// sigmoidRun sets dst[i] = p/(1+e) for len(src) <= logisticBlock.
func sigmoidRun(dst, src []float32) {
	var e, p, q [logisticBlock]float32
	logisticParts(src, e[:], p[:], q[:])
	for i := range src {
		dst[i] = p[i] / (1 + e[i])
	}
}

// siluRun sets dst[i] = SiLU(src[i]) = x·p/(1+e), with x clamped below at
// -MaxFloat32 so that SiLU(-Inf) = -MaxFloat32·0 = 0 (a -0) rather than
// NaN; len(src) <= logisticBlock, dst may be src.
func siluRun(dst, src []float32) {
	var e, p, q [logisticBlock]float32
	logisticParts(src, e[:], p[:], q[:])
	for i, x := range src {
		if x < -maxF32 {
			x = -maxF32
		}
		dst[i] = float32(x*p[i]) / (1 + e[i])
	}
}

// siluGradRun adds dy[i]·s·(1 + x·(1-s)) to dx[i], or with set writes it,
// s = sigmoid(x) and 1-s computed as q/(1+e), x clamped to ±MaxFloat32 so
// that the derivative is 0 at -Inf and 1 at +Inf; len(x) <= logisticBlock.
func siluGradRun(dx, x, dy []float32, set bool) {
	var e, p, q [logisticBlock]float32
	logisticParts(x, e[:], p[:], q[:])
	dy = dy[:len(x)]
	for i, v := range x {
		inv := 1 / (1 + e[i])
		s := p[i] * inv
		sc := q[i] * inv
		if v < -maxF32 {
			v = -maxF32
		}
		if v > maxF32 {
			v = maxF32
		}
		d := s * (float32(v*sc) + 1)
		if set {
			dx[i] = float32(dy[i] * d)
		} else {
			dx[i] = dx[i] + float32(dy[i]*d)
		}
	}
}

// Scalar forms, for tests.
func sigmoidf32(x float32) float32 {
	var y [1]float32
	sigmoidRun(y[:], []float32{x})
	return y[0]
}

func siluf32(x float32) float32 {
	var y [1]float32
	siluRun(y[:], []float32{x})
	return y[0]
}

func siluGradf32(x float32) float32 {
	var dx [1]float32
	siluGradRun(dx[:], []float32{x}, []float32{1}, false)
	return dx[0]
}

func sigmoidGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i := 0; i < len(src); i += logisticBlock {
		j := min(i+logisticBlock, len(src))
		sigmoidRun(dst[i:j], src[i:j])
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
	for i := 0; i < len(src); i += logisticBlock {
		j := min(i+logisticBlock, len(src))
		siluRun(dst[i:j], src[i:j])
	}
}

func siluBackwardGeneric(dx, x, dy []float32) { siluBackwardRuns(dx, x, dy, false) }

func siluBackwardSetGeneric(dx, x, dy []float32) { siluBackwardRuns(dx, x, dy, true) }

func siluBackwardRuns(dx, x, dy []float32, set bool) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i := 0; i < len(x); i += logisticBlock {
		j := min(i+logisticBlock, len(x))
		siluGradRun(dx[i:j], x[i:j], dy[i:j], set)
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
