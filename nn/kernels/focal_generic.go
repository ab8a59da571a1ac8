package kernels

import "math"

// Coefficients of log(1+e) = 2s·(1 + z·(l1p1 + z·(l1p2 + … + z·l1p7))),
// s = e/(2+e), z = s²: l1pK = 1/(2K+1).
const (
	l1p1 = float32(1.0 / 3)
	l1p2 = float32(1.0 / 5)
	l1p3 = float32(1.0 / 7)
	l1p4 = float32(1.0 / 9)
	l1p5 = float32(1.0 / 11)
	l1p6 = float32(1.0 / 13)
	l1p7 = float32(1.0 / 15)
)

// focalNegGeneric is FocalNegatives for gamma code g (γ itself for
// focalGPow): the specification of the SIMD kernels.
func focalNegGeneric(x, d []float32, at, ts, w, gamma float32, g int, sum *[8]float64) {
	var e, p, q [logisticBlock]float32
	d = d[:len(x)]
	for b := 0; b < len(x); b += logisticBlock {
		xb := x[b:min(b+logisticBlock, len(x))]
		logisticParts(xb, e[:], p[:], q[:])
		for j, v := range xb {
			l, gr := focalMath(v, e[j], p[j], q[j], false, at, ts, gamma, g)
			d[b+j] = w * gr
			sum[(b+j)%8] += float64(l)
		}
	}
}

// focalMath is one focal term and its derivative from x's logistic parts
// (logisticParts: e = e^-|x|, p and q the numerators of sigmoid(x) and
// 1 − sigmoid(x) over 1+e), for a positive or negative target with α_t =
// at and t′ = ts. Every operation rounds to float32 (the conversions keep
// the compiler from fusing a multiply and an add), in the order of the
// SIMD kernels.
func focalMath(x, e, p, q float32, pos bool, at, ts, gamma float32, g int) (loss, grad float32) {
	den := 1 + e
	inv := 1 / den
	ps := p * inv // sigmoid(x)
	qs := q * inv // 1 − sigmoid(x)
	// log(1+e) = 2·atanh(s), s = e/(2+e)
	s := e / (den + 1)
	z := s * s
	poly := float32(l1p7*z) + l1p6
	poly = float32(poly*z) + l1p5
	poly = float32(poly*z) + l1p4
	poly = float32(poly*z) + l1p3
	poly = float32(poly*z) + l1p2
	poly = float32(poly*z) + l1p1
	poly = float32(poly*z) + 1
	l1p := float32((s + s) * poly)
	var xm float32 // max(x, 0), 0 for NaN as VMAXPS gives it
	if x > 0 {
		xm = x
	}
	bce := float32(xm-float32(x*ts)) + l1p
	u, du := ps, ps*qs // 1 − p_t and its derivative
	pt := ps - ts      // p − t′
	if pos {
		// p − t′ = (1 − t′) − (1 − p): exact 1 − t′ for t′ >= 0.5, and
		// no cancellation where p is close to 1.
		u, du, pt = qs, -du, (1-ts)-qs
	}
	var mod, dmod float32 // (1 − p_t)^γ and its derivative
	switch g {
	case focalG0:
		mod, dmod = 1, 0
	case focalG1:
		mod, dmod = u, du
	case focalG15:
		sq := float32(math.Sqrt(float64(u)))
		mod, dmod = u*sq, float32(1.5*sq)*du
	case focalG2:
		mod, dmod = u*u, float32(u+u)*du
	default: // u^γ = u·u^(γ−1): one call of math.Pow
		if u > 0 {
			pw := float32(math.Pow(float64(u), float64(gamma-1)))
			mod, dmod = u*pw, float32(gamma*pw)*du
		}
	}
	loss = float32(at*mod) * bce
	grad = at * (float32(dmod*bce) + float32(mod*pt))
	return loss, grad
}
