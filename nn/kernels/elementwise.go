package kernels

import "fmt"

//go:generate sh -c "cd _gen && go run ./elementwise -out ../elementwise_amd64.s -stubs ../elementwise_stubs_amd64.go -pkg kernels"

// Elementwise activation kernels. Each forward kernel maps src to dst
// (dst[i] = f(src[i])); each backward kernel ACCUMULATES the input gradient
// (dx[i] += f'(·)·dy[i]), reading either the forward input x or the forward
// output y, whichever gives the cheaper derivative. dst may be the same slice
// as src (in place); any other overlap is not allowed. The kernels run on the
// calling goroutine: package nn splits large tensors into chunks first.
//
// Special values: NaN in propagates to NaN out. Every other input, ±Inf
// included, gives a non-NaN output and derivative equal to the limit of the
// function (SiLU(-Inf) = 0, GELU(-Inf) = 0, HardSwish(-Inf) = 0), where
// PyTorch's formulas give NaN; no finite input overflows.
//
// Sigmoid and SiLU and their gradients run in float32 on one exponential,
// e^-|x| (Cephes' range reduction, a degree-6 polynomial), so nothing
// overflows and neither the function nor 1-sigmoid cancels: results are
// within 3 ulp of the exact values wherever e^-|x| is a normal number
// (|x| < 87.3), beyond that they are subnormal or exactly 0 or 1. The SIMD
// versions run the same float32 operations in the same order, the
// exponential's fused multiply-adds included (fma32 in the generic loops),
// so every implementation gives identical bits. Tanh and GELU evaluate the
// transcendental parts in float64.

// ReLU sets dst[i] = max(src[i], 0).
func ReLU(dst, src []float32) {
	check2("ReLU", dst, src)
	reluGeneric(dst, src)
}

// ReLUBackward adds dy[i] to dx[i] where x[i] > 0 (the derivative at 0 is 0,
// as in PyTorch).
func ReLUBackward(dx, x, dy []float32) {
	check3("ReLUBackward", dx, x, dy)
	reluBackwardGeneric(dx, x, dy)
}

// ReLU6 sets dst[i] = min(max(src[i], 0), 6).
func ReLU6(dst, src []float32) {
	check2("ReLU6", dst, src)
	relu6Generic(dst, src)
}

// ReLU6Backward adds dy[i] to dx[i] where 0 < x[i] < 6 (PyTorch's
// hardtanh_backward: the derivative at the kinks 0 and 6 is 0).
func ReLU6Backward(dx, x, dy []float32) {
	check3("ReLU6Backward", dx, x, dy)
	relu6BackwardGeneric(dx, x, dy)
}

// Sigmoid sets dst[i] = 1/(1+exp(-src[i])): exactly 1 for src[i] > 17.3 and
// exactly 0 for src[i] < -104 (Sigmoid(±1000) = 1, 0).
func Sigmoid(dst, src []float32) {
	check2("Sigmoid", dst, src)
	sigmoidImpl(dst, src)
}

// SigmoidBackward adds dy[i]·y[i]·(1-y[i]) to dx[i], where y = Sigmoid(x) is
// the forward output.
func SigmoidBackward(dx, y, dy []float32) {
	check3("SigmoidBackward", dx, y, dy)
	sigmoidBackwardImpl(dx, y, dy)
}

// SiLU (swish) sets dst[i] = src[i]·sigmoid(src[i]) (SiLU(-Inf) = 0,
// SiLU(+Inf) = +Inf).
func SiLU(dst, src []float32) {
	check2("SiLU", dst, src)
	siluImpl(dst, src)
}

// SiLUBackward adds dy[i]·s·(1 + x[i]·(1-s)) to dx[i], where s =
// sigmoid(x[i]) and x is the forward input. The derivative is 0 at -Inf and
// 1 at +Inf.
func SiLUBackward(dx, x, dy []float32) {
	check3("SiLUBackward", dx, x, dy)
	siluBackwardImpl(dx, x, dy)
}

// SiLUBackwardSet is SiLUBackward writing dx[i] = dy[i]·s·(1 + x[i]·(1-s))
// instead of adding it: dx is not read, and ends as SiLUBackward leaves a
// zeroed dx (up to the sign of zero).
func SiLUBackwardSet(dx, x, dy []float32) {
	check3("SiLUBackwardSet", dx, x, dy)
	siluBackwardSetImpl(dx, x, dy)
}

// Tanh sets dst[i] = tanh(src[i]).
func Tanh(dst, src []float32) {
	check2("Tanh", dst, src)
	tanhGeneric(dst, src)
}

// TanhBackward adds dy[i]·(1-y[i]²) to dx[i], where y = Tanh(x) is the
// forward output.
func TanhBackward(dx, y, dy []float32) {
	check3("TanhBackward", dx, y, dy)
	tanhBackwardGeneric(dx, y, dy)
}

// HardSigmoid sets dst[i] = relu6(src[i]+3)/6 (PyTorch's hardsigmoid).
func HardSigmoid(dst, src []float32) {
	check2("HardSigmoid", dst, src)
	hardSigmoidGeneric(dst, src)
}

// HardSigmoidBackward adds dy[i]/6 to dx[i] where -3 < x[i] < 3 (PyTorch's
// hardsigmoid_backward: 0 at the kinks).
func HardSigmoidBackward(dx, x, dy []float32) {
	check3("HardSigmoidBackward", dx, x, dy)
	hardSigmoidBackwardGeneric(dx, x, dy)
}

// HardSwish sets dst[i] = x·relu6(x+3)/6 for x = src[i] (PyTorch's
// hardswish): 0 for x <= -3, x for x >= 3, x·(x+3)/6 between.
func HardSwish(dst, src []float32) {
	check2("HardSwish", dst, src)
	hardSwishGeneric(dst, src)
}

// HardSwishBackward adds dy[i]·d to dx[i] with the derivative d of
// PyTorch's vectorised hardswish_backward: 0 for x < -3, x/3 + 0.5 for
// -3 <= x < 3, 1 for x >= 3. (PyTorch's scalar loop, which only handles
// the tail of a tensor, gives 1.5 at x = 3.)
func HardSwishBackward(dx, x, dy []float32) {
	check3("HardSwishBackward", dx, x, dy)
	hardSwishBackwardGeneric(dx, x, dy)
}

// GELU sets dst[i] = x·Φ(x) for x = src[i], where Φ is the standard normal
// CDF, computed with erfc in float64 (PyTorch's exact, approximate="none"
// gelu).
func GELU(dst, src []float32) {
	check2("GELU", dst, src)
	geluGeneric(dst, src)
}

// GELUBackward adds dy[i]·(Φ(x) + x·φ(x)) to dx[i], where φ is the standard
// normal density and x the forward input.
func GELUBackward(dx, x, dy []float32) {
	check3("GELUBackward", dx, x, dy)
	geluBackwardGeneric(dx, x, dy)
}

// The logistic kernels of the selected implementation.
var (
	sigmoidImpl         = sigmoidGeneric
	siluImpl            = siluGeneric
	sigmoidBackwardImpl = sigmoidBackwardGeneric
	siluBackwardImpl    = siluBackwardGeneric
	siluBackwardSetImpl = siluBackwardSetGeneric
)

var _ = onImpl(Generic, func() {
	sigmoidImpl, siluImpl = sigmoidGeneric, siluGeneric
	sigmoidBackwardImpl, siluBackwardImpl = sigmoidBackwardGeneric, siluBackwardGeneric
	siluBackwardSetImpl = siluBackwardSetGeneric
})

func check2(op string, dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels.%s: dst has %d elements, src %d", op, len(dst), len(src)))
	}
}

func check3(op string, dx, v, dy []float32) { checkLens3(op, "dx, value and dy", dx, v, dy) }

// checkLens3 panics unless a, b and c, called names in the message, have
// the same length.
func checkLens3(op, names string, a, b, c []float32) {
	if len(a) != len(b) || len(a) != len(c) {
		panic(fmt.Sprintf("kernels.%s: %s have %d, %d and %d elements", op, names, len(a), len(b), len(c)))
	}
}
