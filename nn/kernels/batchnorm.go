package kernels

import "fmt"

// Batch-normalisation kernels. The data is an NHWC activation viewed as a
// row-major [m, c] matrix: m = N*H*W rows of c channels. Per-channel
// reductions run over fixed blocks of rows (the block size depends only on m
// and c) with float64 partials per block, combined in block order, so the
// results are bit-identical for any thread count.
//
// Shape legend: x, y, dy, dx [m, c]; every per-channel slice [c].

// ChannelMoments computes the mean and the biased variance of every channel
// of x [m, c] in float64: mean[j] = Σ_r x[r,j] / m and
// variance[j] = Σ_r (x[r,j] - mean[j])² / m. With m == 0 both are NaN.
//
// Reference (the generic version is this, made single-pass and stable by
// shifting each channel by its first value before accumulating in float64):
//
//	for j := 0; j < c; j++ {
//		var s float64
//		for r := 0; r < m; r++ {
//			s += float64(x[r*c+j])
//		}
//		mean[j] = s / float64(m)
//		var v float64
//		for r := 0; r < m; r++ {
//			d := float64(x[r*c+j]) - mean[j]
//			v += d * d
//		}
//		variance[j] = v / float64(m)
//	}
func ChannelMoments(x []float32, m, c int, mean, variance []float64) {
	bnCheck("ChannelMoments", m, c)
	bnNeed32("ChannelMoments", "x", x, m*c)
	bnNeed64("ChannelMoments", "mean", mean, c)
	bnNeed64("ChannelMoments", "variance", variance, c)
	channelMomentsGeneric(x, m, c, mean, variance)
}

// BNApply computes y = x*scale + shift per channel, the affine transform a
// batch norm reduces to once its statistics are known. y may alias x.
//
// Reference:
//
//	for r := 0; r < m; r++ {
//		for j := 0; j < c; j++ {
//			y[r*c+j] = x[r*c+j]*scale[j] + shift[j] // two roundings, no FMA
//		}
//	}
func BNApply(y, x []float32, m, c int, scale, shift []float32) {
	bnApplyChecked("BNApply", y, nil, x, m, c, scale, shift, false, false)
}

// BNApplySiLU computes y = SiLU(x*scale + shift) per channel: BNApply and
// SiLU fused into one pass, with the same bits as the two in turn. y may
// alias x.
//
// Reference:
//
//	for r := 0; r < m; r++ {
//		for j := 0; j < c; j++ {
//			z := x[r*c+j]*scale[j] + shift[j] // two roundings
//			y[r*c+j] = z * sigmoid(z)         // as SiLU
//		}
//	}
func BNApplySiLU(y, x []float32, m, c int, scale, shift []float32) {
	bnApplyChecked("BNApplySiLU", y, nil, x, m, c, scale, shift, true, false)
}

// BNApplySiLUSave is BNApplySiLU that also saves the SiLU's input, z =
// x*scale + shift, for the backward pass of training: one pass over x
// instead of BNApply and then SiLU, with the same bits in y and z. y must
// not overlap z or x; z may alias x.
func BNApplySiLUSave(y, z, x []float32, m, c int, scale, shift []float32) {
	bnApplyChecked("BNApplySiLUSave", y, z, x, m, c, scale, shift, true, true)
}

// bnApplyChecked checks the arguments of op, z only where it is saved
// (save), and runs bnApplyGeneric.
func bnApplyChecked(op string, y, z, x []float32, m, c int, scale, shift []float32, silu, save bool) {
	bnCheck(op, m, c)
	bnNeed32(op, "y", y, m*c)
	if save {
		bnNeed32(op, "z", z, m*c)
		z = z[: m*c : m*c]
	}
	bnNeed32(op, "x", x, m*c)
	bnNeed32(op, "scale", scale, c)
	bnNeed32(op, "shift", shift, c)
	bnApplyGeneric(y, z, x, m, c, scale, shift, silu)
}

// BNBackwardSums computes the per-channel sums a batch-norm backward pass
// needs, in float64: sumDy[j] = Σ_r dy[r,j] and
// sumDyXc[j] = Σ_r dy[r,j]*(x[r,j]-mean[j]). The outputs are overwritten.
// (Σ dy·x̂ is sumDyXc times the inverse standard deviation.)
//
// Reference:
//
//	for j := 0; j < c; j++ {
//		sumDy[j], sumDyXc[j] = 0, 0
//		for r := 0; r < m; r++ {
//			g := dy[r*c+j]
//			sumDy[j] += float64(g)
//			sumDyXc[j] += float64(g * (x[r*c+j] - mean[j]))
//		}
//	}
func BNBackwardSums(dy, x []float32, m, c int, mean []float32, sumDy, sumDyXc []float64) {
	bnCheck("BNBackwardSums", m, c)
	bnNeed32("BNBackwardSums", "dy", dy, m*c)
	bnNeed32("BNBackwardSums", "x", x, m*c)
	bnNeed32("BNBackwardSums", "mean", mean, c)
	bnNeed64("BNBackwardSums", "sumDy", sumDy, c)
	bnNeed64("BNBackwardSums", "sumDyXc", sumDyXc, c)
	bnBackwardSumsGeneric(dy, x, m, c, mean, sumDy, sumDyXc)
}

// BNBackwardInput accumulates the input gradient of a batch norm:
// dx += a*dy + b*(x-mean) + d per channel. In training mode
// a = γ/σ, b = -γ/σ³ · sumDyXc/m and d = -a · sumDy/m; in evaluation mode
// a = γ/σ and b = d = 0.
//
// Reference:
//
//	for r := 0; r < m; r++ {
//		for j := 0; j < c; j++ {
//			i := r*c + j
//			dx[i] += a[j]*dy[i] + b[j]*(x[i]-mean[j]) + d[j] // rounded in this order, no FMA
//		}
//	}
func BNBackwardInput(dx, dy, x []float32, m, c int, mean, a, b, d []float32) {
	bnBackwardInput("BNBackwardInput", dx, dy, x, m, c, mean, a, b, d, false)
}

// BNBackwardInputSet is BNBackwardInput overwriting dx instead of adding to
// it: dx need not be initialised, and ends as BNBackwardInput leaves a
// zeroed dx (up to the sign of zero).
func BNBackwardInputSet(dx, dy, x []float32, m, c int, mean, a, b, d []float32) {
	bnBackwardInput("BNBackwardInputSet", dx, dy, x, m, c, mean, a, b, d, true)
}

func bnBackwardInput(op string, dx, dy, x []float32, m, c int, mean, a, b, d []float32, set bool) {
	bnCheck(op, m, c)
	bnNeed32(op, "dx", dx, m*c)
	bnNeed32(op, "dy", dy, m*c)
	bnNeed32(op, "x", x, m*c)
	bnNeed32(op, "mean", mean, c)
	bnNeed32(op, "a", a, c)
	bnNeed32(op, "b", b, c)
	bnNeed32(op, "d", d, c)
	bnBackwardInputGeneric(dx, dy, x, m, c, mean, a, b, d, set)
}

func bnCheck(op string, m, c int) {
	if m < 0 || c < 0 {
		panic(fmt.Sprintf("kernels.%s: negative size m=%d c=%d", op, m, c))
	}
}

func bnNeed32(op, name string, s []float32, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("kernels.%s: %s has %d elements, needs %d", op, name, len(s), n))
	}
}

func bnNeed64(op, name string, s []float64, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("kernels.%s: %s has %d elements, needs %d", op, name, len(s), n))
	}
}
