package kernels

import (
	"fmt"
	"math"
)

//go:generate sh -c "cd _gen && go run ./pool -out ../pool_amd64.s -stubs ../pool_stubs_amd64.go -pkg kernels"

// Pooling on NHWC images.
//
// The loops are generic Go, but for one case: MaxPool2d without argmax
// (inference) runs the pixels whose windows lie inside the image
// horizontally through a SIMD run kernel where the implementation has one
// (maxPoolRun, the same bits). On EfficientDet-D0, whose BiFPN downsamples
// with 3×3 max pools, the generic loop was 7 % of inference, and
// BenchmarkEfficientDet/d0_infer_bs1_512 went from 8.6–9.8 to 9.7–11.3
// img/s with the kernel.
//
// Shape legend:
//
//	x  [N, H, W, C]        input
//	y  [N, OutH, OutW, C]  output
//
// The window of output pixel (oh, ow) covers input rows ih = oh*StrideH -
// PadTop + kh for kh < KH and columns iw = ow*StrideW - PadLeft + kw for
// kw < KW; cells outside the input are padding.

// PoolParams describes a 2-D pooling window. As with ConvParams, the bottom
// and right padding are implied by OutH and OutW.
type PoolParams struct {
	N, H, W, C       int // input [N, H, W, C]
	OutH, OutW       int // output [N, OutH, OutW, C]
	KH, KW           int // window height and width
	StrideH, StrideW int
	PadTop, PadLeft  int
}

// PadBottom returns the padding below the input implied by OutH.
func (p *PoolParams) PadBottom() int { return (p.OutH-1)*p.StrideH + p.KH - p.H - p.PadTop }

// PadRight returns the padding right of the input implied by OutW.
func (p *PoolParams) PadRight() int { return (p.OutW-1)*p.StrideW + p.KW - p.W - p.PadLeft }

// Validate reports whether the parameters are consistent: sizes positive (N
// may be 0), and every window holding at least one input cell, i.e. each
// padding (top, left and the implied bottom, right) below the window size,
// and the implied bottom/right padding above -stride.
func (p *PoolParams) Validate() error {
	switch {
	case p.N < 0 || p.H < 1 || p.W < 1 || p.C < 1:
		return fmt.Errorf("input [%d %d %d %d]: sizes must be positive", p.N, p.H, p.W, p.C)
	case p.OutH < 1 || p.OutW < 1:
		return fmt.Errorf("output %dx%d: sizes must be positive", p.OutH, p.OutW)
	case p.KH < 1 || p.KW < 1:
		return fmt.Errorf("window %dx%d: sizes must be positive", p.KH, p.KW)
	case p.StrideH < 1 || p.StrideW < 1:
		return fmt.Errorf("stride %dx%d: must be positive", p.StrideH, p.StrideW)
	case p.PadTop < 0 || p.PadLeft < 0:
		return fmt.Errorf("padding top %d, left %d: must not be negative", p.PadTop, p.PadLeft)
	case p.PadTop >= p.KH || p.PadLeft >= p.KW:
		return fmt.Errorf("padding top %d, left %d: a %dx%d window would hold only padding", p.PadTop, p.PadLeft, p.KH, p.KW)
	}
	b, r := p.PadBottom(), p.PadRight()
	switch {
	case b >= p.KH || r >= p.KW:
		return fmt.Errorf("output %dx%d implies padding bottom %d, right %d: a %dx%d window would hold only padding (input %dx%d, stride %dx%d)",
			p.OutH, p.OutW, b, r, p.KH, p.KW, p.H, p.W, p.StrideH, p.StrideW)
	case b <= -p.StrideH || r <= -p.StrideW:
		return fmt.Errorf("output %dx%d leaves input rows or columns unread (input %dx%d, window %dx%d, stride %dx%d, padding top %d, left %d)",
			p.OutH, p.OutW, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft)
	}
	return nil
}

func (p *PoolParams) String() string {
	return fmt.Sprintf("x [%d %d %d %d] y [%d %d %d %d] window %dx%d stride %dx%d pad top %d left %d",
		p.N, p.H, p.W, p.C, p.N, p.OutH, p.OutW, p.C, p.KH, p.KW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft)
}

func (p *PoolParams) check(op string, x, y []float32, xn, yn string) {
	if p == nil {
		panic(op + ": nil PoolParams")
	}
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("%s: %v", op, err))
	}
	if n := p.N * p.H * p.W * p.C; len(x) < n {
		panic(fmt.Sprintf("%s: %s has %d elements, needs %d (%s)", op, xn, len(x), n, p.String()))
	}
	if n := p.N * p.OutH * p.OutW * p.C; len(y) < n {
		panic(fmt.Sprintf("%s: %s has %d elements, needs %d (%s)", op, yn, len(y), n, p.String()))
	}
}

func (p *PoolParams) checkArgmax(op string, argmax []int32) {
	if n := p.N * p.H * p.W * p.C; n > math.MaxInt32 {
		panic(fmt.Sprintf("%s: input of %d elements is too large for int32 argmax indices (%s)", op, n, p.String()))
	}
	if n := p.N * p.OutH * p.OutW * p.C; len(argmax) < n {
		panic(fmt.Sprintf("%s: argmax has %d elements, needs %d (%s)", op, len(argmax), n, p.String()))
	}
}

// MaxPool2d sets y to the maximum of each window, overwriting y. Padding
// never wins (it acts as -Inf, as in PyTorch and TensorFlow); the first
// maximum in window order (kh, then kw) wins ties, and a NaN wins over
// numbers. If argmax is not nil, it receives, for each output element, the
// flat index into x of the input element chosen (for MaxPool2dBackward).
//
// Reference loop:
//
//	for n, oh, ow, c:
//		m, arg := -Inf, index of the window's first in-bounds cell
//		for kh, kw (in-bounds cells only):
//			if v := x[n, ih, iw, c]; v > m || v is NaN { m, arg = v, flat(n, ih, iw, c) }
//		y[n, oh, ow, c], argmax[n, oh, ow, c] = m, arg
func MaxPool2d(p *PoolParams, x, y []float32, argmax []int32) {
	p.check("kernels.MaxPool2d", x, y, "x", "y")
	if argmax != nil {
		p.checkArgmax("kernels.MaxPool2d", argmax)
	}
	if p.N == 0 {
		return
	}
	maxPool2dGeneric(p, x, y, argmax)
}

// MaxPool2dBackward adds dy to dx at the positions MaxPool2d recorded in
// argmax (for the same p): dx[argmax[i]] += dy[i] for every output element i.
// Each input cell sums its contributions in output order (oh, then ow).
func MaxPool2dBackward(p *PoolParams, dy []float32, argmax []int32, dx []float32) {
	p.check("kernels.MaxPool2dBackward", dx, dy, "dx", "dy")
	p.checkArgmax("kernels.MaxPool2dBackward", argmax)
	if p.N == 0 {
		return
	}
	maxPool2dBackwardGeneric(p, dy, argmax, dx)
}

// AvgPool2d sets y to the mean of each window, overwriting y. With
// countIncludePad the sum is divided by KH*KW (PyTorch's default with
// explicit padding); without, by the number of in-bounds cells (TensorFlow
// 'SAME' average pooling, PyTorch count_include_pad=False).
//
// Reference loop:
//
//	for n, oh, ow, c:
//		s, cnt := 0, 0
//		for kh, kw (in-bounds cells only): s += x[n, ih, iw, c]; cnt++
//		if countIncludePad { cnt = KH*KW }
//		y[n, oh, ow, c] = s * (1/cnt)
func AvgPool2d(p *PoolParams, x, y []float32, countIncludePad bool) {
	p.check("kernels.AvgPool2d", x, y, "x", "y")
	if p.N == 0 {
		return
	}
	avgPool2dGeneric(p, x, y, countIncludePad)
}

// AvgPool2dBackward adds the gradient of AvgPool2d to dx: each in-bounds
// cell of a window receives dy of that window times 1/cnt.
func AvgPool2dBackward(p *PoolParams, dy, dx []float32, countIncludePad bool) {
	p.check("kernels.AvgPool2dBackward", dx, dy, "dx", "dy")
	if p.N == 0 {
		return
	}
	avgPool2dBackwardGeneric(p, dy, dx, countIncludePad)
}

func checkGlobal(op string, n, hw, c int, x, y []float32, xn, yn string) {
	if n < 0 || hw < 1 || c < 1 {
		panic(fmt.Sprintf("%s: n %d, hw %d, c %d: sizes must be positive (n may be 0)", op, n, hw, c))
	}
	if len(x) < n*hw*c {
		panic(fmt.Sprintf("%s: %s has %d elements, needs %d (n %d, hw %d, c %d)", op, xn, len(x), n*hw*c, n, hw, c))
	}
	if len(y) < n*c {
		panic(fmt.Sprintf("%s: %s has %d elements, needs %d (n %d, c %d)", op, yn, len(y), n*c, n, c))
	}
}

// GlobalAvgPool sets y[n, c] to the mean of x[n, :, c] over the hw pixels of
// image n, overwriting y; x is [n, hw, c] (NHWC with H*W = hw), y [n, c]. The
// sum runs over pixels in order.
func GlobalAvgPool(n, hw, c int, x, y []float32) {
	checkGlobal("kernels.GlobalAvgPool", n, hw, c, x, y, "x", "y")
	globalAvgPoolGeneric(n, hw, c, x, y)
}

// GlobalAvgPoolBackward adds dy[n, c]/hw to every dx[n, p, c].
func GlobalAvgPoolBackward(n, hw, c int, dy, dx []float32) {
	checkGlobal("kernels.GlobalAvgPoolBackward", n, hw, c, dx, dy, "dx", "dy")
	globalAvgPoolBackwardGeneric(n, hw, c, dy, dx)
}
