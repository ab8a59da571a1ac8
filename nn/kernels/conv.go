package kernels

import "fmt"

// Convolution on NHWC images with HWIO weights.
//
// Shape legend:
//
//	x  [N, H, W, C]              input
//	w  [KH, KW, C/Groups, OutC]  weight
//	y  [N, OutH, OutW, OutC]     output
//
// Output pixel (oh, ow) reads input rows ih = oh*StrideH - PadTop + kh*DilH
// and columns iw = ow*StrideW - PadLeft + kw*DilW; cells outside the input
// are zero (padding). Group g maps input channels [g*C/G, (g+1)*C/G) to
// output channels [g*OutC/G, (g+1)*OutC/G).

// ConvParams describes a 2-D convolution. The padding at the bottom and right
// is implied by OutH and OutW (see PadBottom, PadRight); it may be negative
// by less than a stride when the last input rows are not read, as with
// PyTorch's floor rounding.
type ConvParams struct {
	N, H, W, C       int // input [N, H, W, C]
	OutH, OutW, OutC int // output [N, OutH, OutW, OutC]
	KH, KW           int // kernel height and width
	StrideH, StrideW int
	DilH, DilW       int
	PadTop, PadLeft  int
	Groups           int
}

// PadBottom returns the padding below the input implied by OutH.
func (p *ConvParams) PadBottom() int {
	return (p.OutH-1)*p.StrideH + (p.KH-1)*p.DilH + 1 - p.H - p.PadTop
}

// PadRight returns the padding right of the input implied by OutW.
func (p *ConvParams) PadRight() int {
	return (p.OutW-1)*p.StrideW + (p.KW-1)*p.DilW + 1 - p.W - p.PadLeft
}

// Validate reports whether the parameters are consistent: every size
// positive (N may be 0), C and OutC divisible by Groups, padding
// non-negative, and OutH, OutW the sizes the padding implies (bottom/right
// padding above -stride).
func (p *ConvParams) Validate() error {
	switch {
	case p.N < 0 || p.H < 1 || p.W < 1 || p.C < 1:
		return fmt.Errorf("input [%d %d %d %d]: sizes must be positive", p.N, p.H, p.W, p.C)
	case p.OutH < 1 || p.OutW < 1 || p.OutC < 1:
		return fmt.Errorf("output %dx%dx%d: sizes must be positive", p.OutH, p.OutW, p.OutC)
	case p.KH < 1 || p.KW < 1:
		return fmt.Errorf("kernel %dx%d: sizes must be positive", p.KH, p.KW)
	case p.StrideH < 1 || p.StrideW < 1:
		return fmt.Errorf("stride %dx%d: must be positive", p.StrideH, p.StrideW)
	case p.DilH < 1 || p.DilW < 1:
		return fmt.Errorf("dilation %dx%d: must be positive", p.DilH, p.DilW)
	case p.Groups < 1:
		return fmt.Errorf("groups %d: must be positive", p.Groups)
	case p.C%p.Groups != 0 || p.OutC%p.Groups != 0:
		return fmt.Errorf("%d input and %d output channels are not divisible by %d groups", p.C, p.OutC, p.Groups)
	case p.PadTop < 0 || p.PadLeft < 0:
		return fmt.Errorf("padding top %d, left %d: must not be negative", p.PadTop, p.PadLeft)
	}
	if b := p.PadBottom(); b <= -p.StrideH {
		return fmt.Errorf("OutH %d leaves %d input rows unread (H %d, KH %d, stride %d, dilation %d, top padding %d)",
			p.OutH, -b, p.H, p.KH, p.StrideH, p.DilH, p.PadTop)
	}
	if r := p.PadRight(); r <= -p.StrideW {
		return fmt.Errorf("OutW %d leaves %d input columns unread (W %d, KW %d, stride %d, dilation %d, left padding %d)",
			p.OutW, -r, p.W, p.KW, p.StrideW, p.DilW, p.PadLeft)
	}
	return nil
}

func (p *ConvParams) String() string {
	return fmt.Sprintf("x [%d %d %d %d] w [%d %d %d %d] y [%d %d %d %d] stride %dx%d dilation %dx%d pad top %d left %d groups %d",
		p.N, p.H, p.W, p.C, p.KH, p.KW, p.C/max(p.Groups, 1), p.OutC, p.N, p.OutH, p.OutW, p.OutC,
		p.StrideH, p.StrideW, p.DilH, p.DilW, p.PadTop, p.PadLeft, p.Groups)
}

// check panics unless p is valid and the slices are long enough.
func (p *ConvParams) check(op string, x, w, y []float32, xn, wn, yn string) {
	if p == nil {
		panic(op + ": nil ConvParams")
	}
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("%s: %v", op, err))
	}
	need := func(name string, s []float32, n int) {
		if len(s) < n {
			panic(fmt.Sprintf("%s: %s has %d elements, needs %d (%s)", op, name, len(s), n, p.String()))
		}
	}
	need(xn, x, p.N*p.H*p.W*p.C)
	need(wn, w, p.KH*p.KW*(p.C/p.Groups)*p.OutC)
	need(yn, y, p.N*p.OutH*p.OutW*p.OutC)
}

// Conv2d computes the convolution y = x ⊛ w described by p, overwriting y.
//
// Reference loop (g = o / (OutC/Groups), cg = C/Groups):
//
//	for n, oh, ow, o:
//		s := 0
//		for kh, kw, ci:
//			ih, iw := oh*StrideH-PadTop+kh*DilH, ow*StrideW-PadLeft+kw*DilW
//			if 0 <= ih < H && 0 <= iw < W:
//				s += x[n, ih, iw, g*cg+ci] * w[kh, kw, ci, o]
//		y[n, oh, ow, o] = s
func Conv2d(p *ConvParams, x, w, y []float32) {
	p.check("kernels.Conv2d", x, w, y, "x", "w", "y")
	if p.N == 0 {
		return
	}
	if k := dwSIMD; k != nil && p.depthwise() && p.dwRowsOK(false) {
		dwForwardRows(k, p, x, w, y)
		return
	}
	conv2dGeneric(p, x, w, y)
}

// Conv2dBackwardInput adds the gradient of Conv2d with respect to its input
// to dx: dx[n, ih, iw, g*cg+ci] += Σ dy[n, oh, ow, o] · w[kh, kw, ci, o] over
// every (oh, ow, kh, kw, o) of group g that reads (ih, iw) in the reference
// loop of Conv2d. dy is [N, OutH, OutW, OutC], dx [N, H, W, C].
func Conv2dBackwardInput(p *ConvParams, dy, w, dx []float32) {
	conv2dBackwardInput("kernels.Conv2dBackwardInput", p, dy, w, dx, false)
}

// Conv2dBackwardInputSet is Conv2dBackwardInput overwriting dx instead of
// adding to it: dx need not be initialised, and ends as Conv2dBackwardInput
// leaves a zeroed dx (up to the sign of zero sums). It saves clearing dx
// and reading it back, which for a fresh gradient buffer cost more than a
// tenth of a training step.
func Conv2dBackwardInputSet(p *ConvParams, dy, w, dx []float32) {
	conv2dBackwardInput("kernels.Conv2dBackwardInputSet", p, dy, w, dx, true)
}

func conv2dBackwardInput(op string, p *ConvParams, dy, w, dx []float32, set bool) {
	p.check(op, dx, w, dy, "dx", "w", "dy")
	if p.N == 0 {
		return
	}
	if k := dwSIMD; k != nil && p.depthwise() && p.dwRowsOK(true) {
		dwBackwardInputRows(k, p, dy, w, dx, set)
		return
	}
	conv2dBackwardInputGeneric(p, dy, w, dx, set)
}

// Conv2dBackward computes both gradients of Conv2d: it adds the input
// gradient to dx as Conv2dBackwardInput does (with setDx, writes it as
// Conv2dBackwardInputSet does) and the weight gradient to dw as
// Conv2dBackwardWeight does, with those calls' results bit for bit. A
// depthwise convolution of stride 1 down the columns whose output is as
// tall as its input (TF "SAME" padding) runs both in one pass over the
// rows on the SIMD paths, so that the weight gradient finds dy in cache
// where the two calls would each read it from memory.
func Conv2dBackward(p *ConvParams, x, w, dy, dx, dw []float32, setDx bool) {
	p.check("kernels.Conv2dBackward", x, w, dy, "x", "w", "dy")
	p.check("kernels.Conv2dBackward", dx, dw, dy, "dx", "dw", "dy")
	if p.N == 0 {
		return
	}
	if k := dwSIMD; k != nil && p.depthwise() && p.dwFused() {
		dwBackwardRows(k, p, x, w, dy, dx, dw, setDx)
		return
	}
	conv2dBackwardInput("kernels.Conv2dBackward", p, dy, w, dx, setDx)
	Conv2dBackwardWeight(p, x, dy, dw)
}

// Conv2dBackwardWeight adds the gradient of Conv2d with respect to its
// weight to dw: dw[kh, kw, ci, o] += Σ x[n, ih, iw, g*cg+ci] · dy[n, oh, ow, o]
// over n, oh, ow (ih, iw as in Conv2d, padding cells contribute nothing).
// The sum runs in an order fixed by p alone.
func Conv2dBackwardWeight(p *ConvParams, x, dy, dw []float32) {
	p.check("kernels.Conv2dBackwardWeight", x, dw, dy, "x", "dw", "dy")
	if p.N == 0 {
		return
	}
	if k := dwSIMD; k != nil && p.depthwise() && p.dwRowsOK(false) {
		dwBackwardWeightRows(k, p, x, dy, dw)
		return
	}
	conv2dBackwardWeightGeneric(p, x, dy, dw)
}
