package nn

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/kernels"
)

// Convolution. Shape legend:
//
//	x  [N, H, W, Cin]               input (NHWC)
//	w  [KH, KW, Cin/groups, Cout]   weight (HWIO); depthwise [KH, KW, C]
//	y  [N, OutH, OutW, Cout]        output
//
// OutH = (H + Top + Bottom - (KH-1)*dilation - 1)/stride + 1 with explicit
// padding (PyTorch's rule), ceil(H/stride) with SamePadding (TensorFlow's).

// Padding says how a convolution or pooling window is padded: explicit
// amounts on each side, or TensorFlow "SAME" padding.
type Padding struct {
	Top, Bottom, Left, Right int
	// Same selects TensorFlow "SAME" padding, computed from the input size,
	// kernel, stride and dilation: out = ceil(in/stride), total =
	// max((out-1)*stride + (k-1)*dilation + 1 - in, 0), half of it (rounded
	// down) before and the rest after. The explicit fields must then be 0.
	Same bool
}

// Pad returns p cells of padding on every side.
func Pad(p int) Padding { return Padding{Top: p, Bottom: p, Left: p, Right: p} }

// SamePadding returns TensorFlow "SAME" padding (see Padding.Same).
func SamePadding() Padding { return Padding{Same: true} }

func (p Padding) String() string {
	if p.Same {
		return "same"
	}
	if p.Top == p.Bottom && p.Top == p.Left && p.Top == p.Right {
		return fmt.Sprint(p.Top)
	}
	return fmt.Sprintf("top %d bottom %d left %d right %d", p.Top, p.Bottom, p.Left, p.Right)
}

func (p Padding) check() error {
	if p.Top < 0 || p.Bottom < 0 || p.Left < 0 || p.Right < 0 {
		return fmt.Errorf("padding %v: must not be negative", p)
	}
	if p.Same && (p.Top != 0 || p.Bottom != 0 || p.Left != 0 || p.Right != 0) {
		return fmt.Errorf("padding %+v: Same with explicit amounts", p)
	}
	return nil
}

// samePads returns TensorFlow "SAME" output size and padding for one axis.
func samePads(in, k, stride, dil int) (out, before, after int) {
	out = (in + stride - 1) / stride
	total := max((out-1)*stride+(k-1)*dil+1-in, 0)
	return out, total / 2, total - total/2
}

func outSize(in, k, stride, dil, before, after int) int {
	span := in + before + after - (k-1)*dil - 1
	if span < 0 {
		return 0
	}
	return span/stride + 1
}

// ConvOutputSize returns the output size of a convolution or pooling window
// over an h×w input with a kh×kw kernel, stride and dilation (both ≥ 1, the
// same on both axes) and padding pad, and the explicit padding pad stands
// for (pad itself unless pad.Same). A window that does not fit gives an
// output size of 0.
func ConvOutputSize(h, w, kh, kw, stride, dil int, pad Padding) (outH, outW int, explicit Padding) {
	if h < 1 || w < 1 || kh < 1 || kw < 1 || stride < 1 || dil < 1 {
		panic(fmt.Sprintf("nn.ConvOutputSize: input %dx%d, kernel %dx%d, stride %d, dilation %d: all must be positive", h, w, kh, kw, stride, dil))
	}
	if err := pad.check(); err != nil {
		panic("nn.ConvOutputSize: " + err.Error())
	}
	if !pad.Same {
		return outSize(h, kh, stride, dil, pad.Top, pad.Bottom), outSize(w, kw, stride, dil, pad.Left, pad.Right), pad
	}
	outH, explicit.Top, explicit.Bottom = samePads(h, kh, stride, dil)
	outW, explicit.Left, explicit.Right = samePads(w, kw, stride, dil)
	return outH, outW, explicit
}

// Conv2dOpts are the options of Conv2d. Zero Stride, Dilation and Groups
// mean 1; the zero Padding is no padding.
type Conv2dOpts struct {
	Stride, Dilation, Groups int
	Padding                  Padding
}

func oneIfZero(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// Conv2d returns the 2-D convolution (cross-correlation, as in PyTorch and
// TensorFlow) of x [N, H, W, Cin] with w [KH, KW, Cin/groups, Cout]:
// [N, OutH, OutW, Cout]. It has no bias: add one with Add and a [Cout] Var.
func Conv2d(x, w *Var, o Conv2dOpts) *Var {
	ws := w.Value.shape
	if len(ws) != 4 {
		panic(fmt.Sprintf("nn.Conv2d: input %v, weight %v: weight must be HWIO [KH KW Cin/groups Cout]", x.Value.shape, ws))
	}
	return conv2d("Conv2d", x, w, [4]int(ws), o)
}

// DepthwiseConv2d returns the depthwise convolution of x [N, H, W, C] with
// w [KH, KW, C] (each channel convolved with its own kernel): the same as
// Conv2d with w viewed as [KH, KW, 1, C] and C groups. o.Groups must be 0
// or C.
func DepthwiseConv2d(x, w *Var, o Conv2dOpts) *Var {
	ws := w.Value.shape
	if len(ws) != 3 {
		panic(fmt.Sprintf("nn.DepthwiseConv2d: input %v, weight %v: weight must be [KH KW C]", x.Value.shape, ws))
	}
	if o.Groups != 0 && o.Groups != ws[2] {
		panic(fmt.Sprintf("nn.DepthwiseConv2d: input %v, weight %v: groups %d, must be 0 or %d", x.Value.shape, ws, o.Groups, ws[2]))
	}
	o.Groups = ws[2]
	return conv2d("DepthwiseConv2d", x, w, [4]int{ws[0], ws[1], 1, ws[2]}, o)
}

// conv2d is Conv2d with w's shape given as ws (a view of w's own shape).
func conv2d(op string, x, w *Var, ws [4]int, o Conv2dOpts) *Var {
	xs := x.Value.shape
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("nn.%s: input %v, weight %v: %s", op, xs, w.Value.shape, fmt.Sprintf(format, args...)))
	}
	if len(xs) != 4 {
		fail("input must be NHWC [N H W C]")
	}
	if o.Stride < 0 || o.Dilation < 0 || o.Groups < 0 {
		fail("stride %d, dilation %d, groups %d: must not be negative", o.Stride, o.Dilation, o.Groups)
	}
	stride, dil, groups := oneIfZero(o.Stride), oneIfZero(o.Dilation), oneIfZero(o.Groups)
	kh, kw, cin, cout := ws[0], ws[1], ws[2], ws[3]
	if kh < 1 || kw < 1 || cin < 1 || cout < 1 {
		fail("weight dimensions must be positive")
	}
	if n, h, wd := xs[0], xs[1], xs[2]; n < 0 || h < 1 || wd < 1 {
		fail("input height and width must be positive")
	}
	if c := xs[3]; cin*groups != c {
		if groups == 1 {
			fail("%d input channels, weight expects %d", c, cin)
		}
		fail("%d input channels, weight expects %d (%d per group × %d groups)", c, cin*groups, cin, groups)
	}
	if cout%groups != 0 {
		fail("%d output channels are not divisible by %d groups", cout, groups)
	}
	if err := o.Padding.check(); err != nil {
		fail("%v", err)
	}
	oh, ow, pad := ConvOutputSize(xs[1], xs[2], kh, kw, stride, dil, o.Padding)
	if oh < 1 || ow < 1 {
		fail("stride %d, dilation %d, padding %v: output would be %dx%d", stride, dil, o.Padding, oh, ow)
	}
	p := &kernels.ConvParams{
		N: xs[0], H: xs[1], W: xs[2], C: xs[3],
		OutH: oh, OutW: ow, OutC: cout, KH: kh, KW: kw,
		StrideH: stride, StrideW: stride, DilH: dil, DilW: dil,
		PadTop: pad.Top, PadLeft: pad.Left, Groups: groups,
	}
	if err := p.Validate(); err != nil {
		fail("%v", err)
	}
	y := newPooled(p.N, oh, ow, cout)
	kernels.Conv2d(p, x.Value.data, w.Value.data, y.data)
	out := result(y, op, x, w)
	if out.requiresGrad {
		out.backward = func() {
			g := out.Grad.data
			switch {
			case x.requiresGrad && w.requiresGrad:
				// Both in one call, which a depthwise layer runs in one
				// pass over g.
				gx, fresh := x.gradOut()
				kernels.Conv2dBackward(p, x.Value.data, w.Value.data, g, gx, w.gradData(), fresh)
			case x.requiresGrad:
				if gx, fresh := x.gradOut(); fresh {
					kernels.Conv2dBackwardInputSet(p, g, w.Value.data, gx)
				} else {
					kernels.Conv2dBackwardInput(p, g, w.Value.data, gx)
				}
			case w.requiresGrad:
				kernels.Conv2dBackwardWeight(p, x.Value.data, g, w.gradData())
			}
		}
	}
	return out
}
