package kernels

import (
	"fmt"
	"math"
)

// Adam holds the float32 constants of one Adam or AdamW step of one
// parameter tensor (optim derives them as PyTorch does: in float64 from
// the step count, then rounded).
type Adam struct {
	B1, C1    float32 // β1 and 1-β1
	B2, C2    float32 // β2 and 1-β2
	NegStep   float32 // -lr/(1-β1ᵗ)
	BC2Sqrt   float32 // √(1-β2ᵗ)
	Eps       float32
	L2        float32 // Adam's weight decay, added to the gradient (0: none)
	Shrink    float32 // AdamW's 1 - lr·wd, applied to the weights if Decoupled
	Decoupled bool
}

// AdamUpdate applies one step to the weights w with gradients g, first
// moments m and second moments v (and, for AMSGrad, the running maximum
// vmax of v; nil otherwise), elementwise, as PyTorch's single-tensor Adam:
//
//	for i := range w {
//		gi := g[i]
//		if a.Decoupled {
//			w[i] *= a.Shrink
//		}
//		if a.L2 != 0 {
//			gi += a.L2 * w[i]
//		}
//		m[i] = m[i]*a.B1 + a.C1*gi
//		v[i] = v[i]*a.B2 + (a.C2*gi)*gi
//		vi := v[i]
//		if vmax != nil {
//			vmax[i] = max(vmax[i], vi)
//			vi = vmax[i]
//		}
//		w[i] += (a.NegStep * m[i]) / (sqrt(vi)/a.BC2Sqrt + a.Eps)
//	}
//
// every operation rounded to float32 (no fused multiply-add; the square
// root correctly rounded). The SIMD kernels run the same operations, so
// every implementation gives the same bits; with vmax they leave it to the
// generic loop (VMAXPS does not propagate a NaN in its first operand the
// way Go's max does). g, m, v (and vmax) must have at least len(w)
// elements.
func AdamUpdate(w, g, m, v, vmax []float32, a *Adam) {
	n := len(w)
	if len(g) < n || len(m) < n || len(v) < n || vmax != nil && len(vmax) < n {
		panic(fmt.Sprintf("kernels.AdamUpdate: %d weights but %d gradients, %d first and %d second moments, %d maxima", n, len(g), len(m), len(v), len(vmax)))
	}
	if vmax != nil {
		adamGeneric(w, g[:n], m[:n], v[:n], vmax[:n], a)
		return
	}
	adamImpl(w, g[:n], m[:n], v[:n], a)
}

// adamImpl is AdamUpdate without vmax for the selected implementation.
var adamImpl = func(w, g, m, v []float32, a *Adam) { adamGeneric(w, g, m, v, nil, a) }

var _ = onImpl(Generic, func() {
	adamImpl = func(w, g, m, v []float32, a *Adam) { adamGeneric(w, g, m, v, nil, a) }
})

// adamGeneric is AdamUpdate's reference loop. The conversions round each
// product, so that the compiler does not fuse it into a multiply-add.
func adamGeneric(w, g, m, v, vmax []float32, a *Adam) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		if a.Decoupled {
			w[i] *= a.Shrink
		}
		if a.L2 != 0 {
			gi += float32(a.L2 * w[i])
		}
		m[i] = float32(m[i]*a.B1) + float32(a.C1*gi)
		v[i] = float32(v[i]*a.B2) + float32(float32(a.C2*gi)*gi)
		vi := v[i]
		if vmax != nil {
			vmax[i] = max(vmax[i], vi)
			vi = vmax[i]
		}
		denom := float32(float32(math.Sqrt(float64(vi)))/a.BC2Sqrt) + a.Eps
		w[i] += float32(a.NegStep*m[i]) / denom
	}
}
