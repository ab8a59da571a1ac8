package optim

import (
	"fmt"
	"math"

	"github.com/sortnet/sortnet/layers"
)

// GradNorm returns the global L2 norm of the gradients of params, as if
// they were one vector. Parameters without a gradient are skipped. The sum
// of squares is accumulated in float64 in a fixed order (parameter by
// parameter, element by element), so the result does not depend on the
// thread count.
func GradNorm(params []layers.Param) float64 {
	var sum float64
	for _, p := range params {
		if p.Var == nil || p.Var.Grad == nil {
			continue
		}
		for _, g := range p.Var.Grad.Data() {
			x := float64(g)
			sum += x * x
		}
	}
	return math.Sqrt(sum)
}

// ClipGradNorm rescales the gradients of params so that their global L2
// norm (see GradNorm) is at most maxNorm, like torch.nn.utils.clip_grad_norm_:
// when scale = maxNorm/(total+1e-6) is below 1, every gradient is
// multiplied by it. It returns the total norm before clipping.
//
// A NaN or infinite total norm is returned as is and the gradients are left
// unchanged, so the caller can detect the overflow and skip the step:
//
//	if n := optim.ClipGradNorm(opt.Params(), 1); math.IsNaN(n) || math.IsInf(n, 0) {
//		opt.ZeroGrad() // skip this batch
//	}
//
// It panics if maxNorm is NaN or not positive (+Inf only measures).
func ClipGradNorm(params []layers.Param, maxNorm float64) float64 {
	if !(maxNorm > 0) {
		panic(fmt.Sprintf("optim.ClipGradNorm: maxNorm %v, must be > 0", maxNorm))
	}
	total := GradNorm(params)
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return total
	}
	scale := maxNorm / (total + 1e-6)
	if scale >= 1 {
		return total
	}
	s := float32(scale)
	for _, p := range params {
		if p.Var == nil || p.Var.Grad == nil {
			continue
		}
		g := p.Var.Grad.Data()
		for i := range g {
			g[i] *= s
		}
	}
	return total
}

// ClipGradValue clamps every gradient element of params to
// [-clip, clip], like torch.nn.utils.clip_grad_value_. NaN elements stay
// NaN. It panics if clip is NaN or not positive.
func ClipGradValue(params []layers.Param, clip float64) {
	if !(clip > 0) {
		panic(fmt.Sprintf("optim.ClipGradValue: clip %v, must be > 0", clip))
	}
	hi := float32(clip)
	lo := -hi
	for _, p := range params {
		if p.Var == nil || p.Var.Grad == nil {
			continue
		}
		g := p.Var.Grad.Data()
		for i, x := range g {
			if x > hi {
				g[i] = hi
			} else if x < lo {
				g[i] = lo
			}
		}
	}
}
