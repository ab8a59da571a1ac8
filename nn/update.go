package nn

import "github.com/sortnet/sortnet/nn/kernels"

// Elementwise parameter updates: the building blocks of package optim,
// on the SIMD kernels.

// AdamConsts are the float32 constants of one Adam or AdamW step of one
// parameter tensor (kernels.Adam): β1, 1-β1, β2, 1-β2, -lr/(1-β1ᵗ),
// √(1-β2ᵗ), ε, Adam's L2 weight decay and AdamW's weight factor.
type AdamConsts = kernels.Adam

// AdamUpdate applies one Adam step to the weights w with gradients g and
// moments m and v (and, for AMSGrad, the running maximum vmax of v; nil
// otherwise), elementwise, each operation rounded to float32 as PyTorch's
// single-tensor Adam does it (kernels.AdamUpdate gives the loop). g, m, v
// (and vmax) must have at least len(w) elements.
func AdamUpdate(w, g, m, v, vmax []float32, a *AdamConsts) {
	kernels.AdamUpdate(w, g, m, v, vmax, a)
}
