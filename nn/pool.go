package nn

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/kernels"
)

// Pooling over NHWC images. Shape legend:
//
//	x  [N, H, W, C]        input
//	y  [N, OutH, OutW, C]  output
//
// Output sizes follow ConvOutputSize with dilation 1. Every window must hold
// at least one input cell (explicit padding below the window size, as
// PyTorch requires; SamePadding always satisfies it).

// poolParams checks a k×k pooling window with the given stride (0 means k)
// and padding over x and returns the kernel parameters.
func poolParams(op string, x *Var, k, stride int, pad Padding) *kernels.PoolParams {
	xs := x.Value.shape
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("nn.%s: input %v, window %d, stride %d, padding %v: %s", op, xs, k, stride, pad, fmt.Sprintf(format, args...)))
	}
	if len(xs) != 4 {
		fail("input must be NHWC [N H W C]")
	}
	if k < 1 || stride < 0 {
		fail("window must be positive and stride not negative")
	}
	if xs[1] < 1 || xs[2] < 1 || xs[3] < 1 {
		fail("input height, width and channels must be positive")
	}
	if err := pad.check(); err != nil {
		fail("%v", err)
	}
	s := stride
	if s == 0 {
		s = k
	}
	oh, ow, e := ConvOutputSize(xs[1], xs[2], k, k, s, 1, pad)
	if oh < 1 || ow < 1 {
		fail("output would be %dx%d", oh, ow)
	}
	p := &kernels.PoolParams{
		N: xs[0], H: xs[1], W: xs[2], C: xs[3], OutH: oh, OutW: ow,
		KH: k, KW: k, StrideH: s, StrideW: s, PadTop: e.Top, PadLeft: e.Left,
	}
	if err := p.Validate(); err != nil {
		fail("%v", err)
	}
	return p
}

// MaxPool2d returns the maximum over k×k windows of x [N, H, W, C] moved by
// stride (0 means k). Padding never wins: padded cells act as -Inf, as in
// PyTorch and TensorFlow. The gradient flows to the first maximum of each
// window.
func MaxPool2d(x *Var, k, stride int, pad Padding) *Var {
	p := poolParams("MaxPool2d", x, k, stride, pad)
	y := newPooled(p.N, p.OutH, p.OutW, p.C)
	var argmax []int32
	if x.requiresGrad { // may still go unrecorded under NoGrad; result decides
		argmax = make([]int32, len(y.data))
	}
	kernels.MaxPool2d(p, x.Value.data, y.data, argmax)
	out := result(y, "MaxPool2d", x)
	if out.requiresGrad {
		out.backward = func() {
			kernels.MaxPool2dBackward(p, out.Grad.data, argmax, x.gradData())
		}
	}
	return out
}

// AvgPool2d returns the mean over k×k windows of x [N, H, W, C] moved by
// stride (0 means k). With countIncludePad the sum is divided by k*k
// (PyTorch's default); without, by the number of cells inside the input
// (TensorFlow "SAME" average pooling, PyTorch count_include_pad=False).
func AvgPool2d(x *Var, k, stride int, pad Padding, countIncludePad bool) *Var {
	p := poolParams("AvgPool2d", x, k, stride, pad)
	y := newPooled(p.N, p.OutH, p.OutW, p.C)
	kernels.AvgPool2d(p, x.Value.data, y.data, countIncludePad)
	out := result(y, "AvgPool2d", x)
	if out.requiresGrad {
		out.backward = func() {
			kernels.AvgPool2dBackward(p, out.Grad.data, x.gradData(), countIncludePad)
		}
	}
	return out
}

// GlobalAvgPool returns the mean of x [N, H, W, C] over its pixels:
// [N, 1, 1, C].
func GlobalAvgPool(x *Var) *Var {
	xs := x.Value.shape
	if len(xs) != 4 || xs[1] < 1 || xs[2] < 1 || xs[3] < 1 {
		panic(fmt.Sprintf("nn.GlobalAvgPool: input %v: must be NHWC [N H W C] with positive H, W, C", xs))
	}
	n, hw, c := xs[0], xs[1]*xs[2], xs[3]
	y := newPooled(n, 1, 1, c)
	kernels.GlobalAvgPool(n, hw, c, x.Value.data, y.data)
	out := result(y, "GlobalAvgPool", x)
	if out.requiresGrad {
		out.backward = func() {
			kernels.GlobalAvgPoolBackward(n, hw, c, out.Grad.data, x.gradData())
		}
	}
	return out
}
