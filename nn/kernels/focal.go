package kernels

import (
	"fmt"
	"math"
)

// The sigmoid focal loss of a detector's class logits, term by term:
//
//	loss(x, t) = α_t · (1 − p_t)^γ · BCE(x, t′)
//
// with p = sigmoid(x), p_t = p for a positive target (t = 1) and 1 − p
// for a negative one, α_t and the smoothed target t′ chosen by t (Focal).
// The derivative is
//
//	∂loss/∂x = α_t · (γ(1 − p_t)^(γ−1) · ∂(1 − p_t)/∂x · BCE + (1 − p_t)^γ · (p − t′)).
//
// A detector's targets are almost all negative: FocalNegatives runs the
// negatives of a whole run of logits as one vector loop, and the caller
// puts the few positives right with FocalTerm.
//
// Everything runs in float32 on the exponential of the logistic kernels
// (logisticParts): p and 1 − p without cancellation, and log(1 + e^−|x|) as
// 2·atanh(s) = 2s·(1 + s²/3 + s⁴/5 + … + s¹⁴/15), s = e/(2 + e) ≤ 1/3, a
// series with no cancellation either (relative error below 2e-9 from the
// truncation). The SIMD version runs the same operations in the same order
// (FMA only in the exponential, as fma32 in the generic loop), so every
// implementation gives the same bits, sums included.

// Focal holds the constants of the focal-loss kernels. Index 0 of Alpha
// and Target is for negatives (t = 0), index 1 for positives (t = 1).
type Focal struct {
	Gamma  float32    // γ >= 0; 0, 1, 1.5 and 2 have SIMD kernels, others use math.Pow
	Alpha  [2]float32 // α_t
	Target [2]float32 // t′, the smoothed target in BCE and in p − t′; Target[1] >= 0.5
	Scale  float32    // factor of the derivatives FocalNegatives writes and FocalTerm returns
}

// focalGamma codes for the kernels.
const (
	focalG0 = iota
	focalG1
	focalG15
	focalG2
	focalGPow // any other γ: generic only
)

func (f *Focal) gamma() int {
	switch g := f.Gamma; {
	case g == 0:
		return focalG0
	case g == 1:
		return focalG1
	case g == 1.5:
		return focalG15
	case g == 2:
		return focalG2
	case g > 0 && !math.IsInf(float64(g), 1):
		return focalGPow
	}
	panic(fmt.Sprintf("kernels.Focal: gamma %v: want a finite value >= 0", f.Gamma))
}

// FocalNegatives computes the focal term of every x[i] against a negative
// target: it adds the loss, converted to float64, to sum[i%8] (in
// increasing i) and sets d[i] to Scale times the derivative. len(d) must
// be at least len(x).
func FocalNegatives(x, d []float32, f *Focal, sum *[8]float64) {
	if len(d) < len(x) {
		panic(fmt.Sprintf("kernels.FocalNegatives: %d logits but %d derivatives", len(x), len(d)))
	}
	g := f.gamma()
	if g == focalGPow {
		focalNegGeneric(x, d[:len(x)], f.Alpha[0], f.Target[0], f.Scale, f.Gamma, g, sum)
		return
	}
	focalNegImpl(x, d[:len(x)], f.Alpha[0], f.Target[0], f.Scale, f.Gamma, g, sum)
}

// FocalTerm returns the loss of the logit x against a positive (pos) or
// negative target and Scale times its derivative: for a negative, the
// same bits as FocalNegatives.
func FocalTerm(x float32, pos bool, f *Focal) (loss, grad float32) {
	t := 0
	if pos {
		t = 1
	}
	var e, p, q [1]float32
	logisticParts([]float32{x}, e[:], p[:], q[:])
	loss, grad = focalMath(x, e[0], p[0], q[0], pos, f.Alpha[t], f.Target[t], f.Gamma, f.gamma())
	return loss, f.Scale * grad
}

// focalNegImpl is FocalNegatives for the gamma codes below focalGPow in
// the implementation in use.
var focalNegImpl = focalNegGeneric

var _ = onImpl(Generic, func() { focalNegImpl = focalNegGeneric })
