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
// same operations in the same order, each rounded once (the exponential's
// fused multiply-adds through fma32), so every implementation gives the
// same bits.

// fma32 returns a·b + c rounded once to float32, as the VFMADD
// instructions compute it. The product is exact in float64, so the
// float64 sum s, rounded to float32, is the answer unless that rounds
// twice the wrong way: where s lies exactly halfway between two float32
// values while the exact sum is s + err with err not 0 (TwoSum), the
// rounding goes towards err.
func fma32(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b)) // exact: 48 bits
	cd := float64(c)
	s := p + cd
	r := float32(s)
	if float64(r) == s || s != s || math.IsInf(float64(r), 0) {
		return r
	}
	// The float32 neighbour of r on the side of s, and their midpoint
	// (exact in float64).
	r2 := math.Nextafter32(r, float32(math.Copysign(math.Inf(1), s-float64(r))))
	if s != (float64(r)+float64(r2))/2 {
		return r
	}
	bv := s - p
	err := (p - (s - bv)) + (cd - bv)
	switch {
	case err == 0:
		return r // a true tie: float32 rounded it to even
	case (err > 0) == (float64(r2) > float64(r)):
		return r2
	}
	return r
}

// fma32Quick is float32(a·b + c) from the float64 sum, and whether that is
// surely fma32(a, b, c): false where the sum lies halfway between two
// float32 values (bits 28…0 of its fraction, which float32 drops, are
// 1000…0) or in float32's subnormal range or at 0 (exponent below 897).
// Inlined, it keeps the generic loops fast: the generic SiLU ran 18×
// slower with fma32 for every multiply-add.
func fma32Quick(a, b, c float32) (float32, bool) {
	s := float64(float64(a)*float64(b)) + float64(c)
	u := math.Float64bits(s)
	return float32(s), u&(1<<29-1) != 1<<28 && u>>52&0x7ff >= 897
}

// expPoly is the part of expf32 in fused multiply-adds (see
// logisticParts): y = e^r − 1 = r + r²·Q(r) for r = t − nf·ln2, from
// fma32Quick, and whether every step was sure; expPolyExact is the same
// from fma32. Q(r) = q4 + q3·r + q2·r² + q1·r³ + q0·r⁴ in Estrin's scheme:
// (q0·z + (q1·r + q2))·z + (q3·r + q4) with z = r².
func expPoly(t, nf float32) (float32, bool) {
	r, k1 := fma32Quick(-nf, expC1, t)
	r, k2 := fma32Quick(-nf, expC2, r)
	z := r * r
	a, k3 := fma32Quick(expQ1, r, expQ2)
	a, k4 := fma32Quick(expQ0, z, a)
	c, k5 := fma32Quick(expQ3, r, expQ4)
	y, k6 := fma32Quick(a, z, c)
	y, k7 := fma32Quick(y, z, r)
	return y, k1 && k2 && k3 && k4 && k5 && k6 && k7
}

func expPolyExact(t, nf float32) float32 {
	r := fma32(-nf, expC1, t)
	r = fma32(-nf, expC2, r)
	z := r * r
	a := fma32(expQ1, r, expQ2)
	a = fma32(expQ0, z, a)
	c := fma32(expQ3, r, expQ4)
	y := fma32(a, z, c)
	return fma32(y, z, r)
}

// Constants of expf32: Cephes' expf range reduction (ln 2 split into
// expC1 + expC2), a degree-4 Q (tools/expf_poly.py: minimax relative error
// 3.7e-9 for 1 + r + r²·Q(r) on |r| <= ln2/2 with these float32
// coefficients; Cephes' degree-5 one, 2.7e-9, cost one fused multiply-add
// more and made SiLU and its gradient 9–11 % slower), the rounding
// constant 1.5·2^23 and the lower clamp.
const (
	expLog2e = float32(1.44269504088896341)
	expC1    = float32(0.693359375)
	expC2    = float32(-2.12194440e-4)
	expQ0    = float32(0.0013814561534672976)
	expQ1    = float32(0.008368736132979393)
	expQ2    = float32(0.04166838899254799)
	expQ3    = float32(0.1666652113199234)
	expQ4    = float32(0.4999999403953552)
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
// a degree-6 polynomial (expPoly), evaluated in Estrin's scheme (half the
// dependency chain of Horner's); times 2^n built in the exponent bits. For
// n = -127 that factor is 0, so e is 0 rather than a subnormal below
// |x| ≈ 87.7 (subnormal arithmetic is slow on x86). The range reduction
// and the polynomial are fused multiply-adds (fma32); every other
// operation rounds to float32 (the conversions keep the compiler from
// fusing a multiply and an add); the SIMD kernels run the same operations
// in the same order. Error below 1 ulp for normal e.
//
// Callers work in blocks of logisticBlock elements.
func logisticParts(x, e, p, q []float32) {
	e, p, q = e[:len(x)], p[:len(x)], q[:len(x)]
	for i, v := range x {
		b := math.Float32bits(v)
		t := math.Float32frombits(b | 1<<31) // -|x|
		if t < expLo {                       // false for NaN, which passes through
			t = expLo
		}
		a := float32(t * expLog2e) // VMULPS, then VADDPS: not fused
		sr := a + expRound         // n in the low mantissa bits
		nf := sr - expRound
		y, sure := expPoly(t, nf)
		if !sure {
			y = expPolyExact(t, nf)
		}
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
