package nn

import "github.com/sortnet/sortnet/nn/kernels"

// Elementwise activations. Each is a forward/backward pair over the kernels
// in nn/kernels (elementwise.go), split into chunks across the worker pool;
// no element depends on another, so the result does not depend on the
// thread count. NaN inputs give NaN outputs; ±Inf inputs give the
// function's limits (see nn/kernels).

// unaryFromX runs a kernel pair whose backward reads the forward input x.
func unaryFromX(name string, x *Var, fwd func(dst, src []float32), bwd func(dx, x, dy []float32)) *Var {
	return unaryFromXSet(name, x, fwd, bwd, nil)
}

// unaryFromXSet is unaryFromX with a backward kernel, set, that writes
// the gradient rather than adding it, for a fresh gradient buffer.
func unaryFromXSet(name string, x *Var, fwd func(dst, src []float32), bwd, set func(dx, x, dy []float32)) *Var {
	y := newPooled(x.Value.shape...)
	xd, yd := x.Value.data, y.data
	forChunks(len(yd), func(lo, hi int) { fwd(yd[lo:hi], xd[lo:hi]) })
	return unaryResult(name, x, y, xd, bwd, set)
}

// unaryResult records the output y of a unary op on x whose backward
// pass runs bwd (or set) on v.
func unaryResult(name string, x *Var, y *Tensor, v []float32, bwd, set func(dx, v, dy []float32)) *Var {
	out := result(y, name, x)
	if out.requiresGrad {
		out.backward = func() { unaryBackward(out, x, v, bwd, set) }
	}
	return out
}

// unaryFromY runs a kernel pair whose backward reads the forward output y.
func unaryFromY(name string, x *Var, fwd func(dst, src []float32), bwd func(dx, y, dy []float32)) *Var {
	y := newPooled(x.Value.shape...)
	xd, yd := x.Value.data, y.data
	forChunks(len(yd), func(lo, hi int) { fwd(yd[lo:hi], xd[lo:hi]) })
	out := result(y, name, x)
	if out.requiresGrad {
		out.backward = func() { unaryBackward(out, x, yd, bwd, nil) }
	}
	return out
}

// unaryBackward propagates out's gradient to x through bwd, which reads v
// (the forward input or output), or into a fresh gradient buffer through
// set if there is one.
func unaryBackward(out, x *Var, v []float32, bwd, set func(dx, v, dy []float32)) {
	g := out.Grad.data
	gx, fresh := x.gradOut()
	forChunks(len(g), func(lo, hi int) {
		switch {
		case fresh && set != nil:
			set(gx[lo:hi], v[lo:hi], g[lo:hi])
		case fresh: // cleared here, in cache, rather than when taken
			clear(gx[lo:hi])
			fallthrough
		default:
			bwd(gx[lo:hi], v[lo:hi], g[lo:hi])
		}
	})
}

// ReLU returns max(x, 0). Its derivative at 0 is 0.
func ReLU(x *Var) *Var { return unaryFromX("ReLU", x, kernels.ReLU, kernels.ReLUBackward) }

// ReLU6 returns min(max(x, 0), 6), PyTorch's nn.ReLU6. Its derivative is 1
// strictly between 0 and 6 and 0 elsewhere, the kinks included.
func ReLU6(x *Var) *Var { return unaryFromX("ReLU6", x, kernels.ReLU6, kernels.ReLU6Backward) }

// Sigmoid returns 1/(1+exp(-x)), saturating to exactly 0 and 1 for large
// |x|. The backward pass uses the output: dx = dy·y·(1-y).
func Sigmoid(x *Var) *Var {
	return unaryFromY("Sigmoid", x, kernels.Sigmoid, kernels.SigmoidBackward)
}

// SiLU returns x·sigmoid(x) (swish, PyTorch's nn.SiLU), as one fused op.
func SiLU(x *Var) *Var {
	return unaryFromXSet("SiLU", x, kernels.SiLU, kernels.SiLUBackward, kernels.SiLUBackwardSet)
}

// siluResult records y = SiLU(x) computed elsewhere (by BatchNorm's
// fused pass): the node SiLU(x) would record.
func siluResult(x *Var, y *Tensor) *Var {
	return unaryResult("SiLU", x, y, x.Value.data, kernels.SiLUBackward, kernels.SiLUBackwardSet)
}

// Tanh returns tanh(x). The backward pass uses the output: dx = dy·(1-y²).
func Tanh(x *Var) *Var { return unaryFromY("Tanh", x, kernels.Tanh, kernels.TanhBackward) }

// HardSigmoid returns relu6(x+3)/6, PyTorch's nn.Hardsigmoid; its
// derivative is 1/6 strictly between -3 and 3 and 0 elsewhere.
func HardSigmoid(x *Var) *Var {
	return unaryFromX("HardSigmoid", x, kernels.HardSigmoid, kernels.HardSigmoidBackward)
}

// HardSwish returns x·relu6(x+3)/6, PyTorch's nn.Hardswish, with PyTorch's
// derivative: 0 below -3, x/3+1/2 on [-3, 3), 1 from 3 on.
func HardSwish(x *Var) *Var {
	return unaryFromX("HardSwish", x, kernels.HardSwish, kernels.HardSwishBackward)
}

// GELU returns x·Φ(x) with Φ the standard normal CDF: the exact (erf) form,
// PyTorch's nn.GELU(approximate="none").
func GELU(x *Var) *Var { return unaryFromX("GELU", x, kernels.GELU, kernels.GELUBackward) }
