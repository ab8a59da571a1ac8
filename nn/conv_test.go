package nn_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

func TestConvOutputSize(t *testing.T) {
	for _, c := range []struct {
		h, k, s, d int
		pad        nn.Padding
		out        int
		before     int
		after      int
	}{
		{7, 3, 2, 1, nn.SamePadding(), 4, 1, 1},
		{8, 3, 2, 1, nn.SamePadding(), 4, 0, 1},
		{224, 3, 2, 1, nn.SamePadding(), 112, 0, 1},
		{5, 1, 1, 1, nn.SamePadding(), 5, 0, 0},
		{8, 3, 1, 2, nn.SamePadding(), 8, 2, 2},
		{6, 5, 3, 1, nn.SamePadding(), 2, 1, 1},
		{5, 5, 1, 1, nn.SamePadding(), 5, 2, 2},
		{2, 5, 4, 1, nn.SamePadding(), 1, 1, 2},
		{5, 3, 1, 1, nn.Pad(1), 5, 1, 1},
		{8, 3, 2, 1, nn.Pad(1), 4, 1, 1},
		{7, 3, 2, 1, nn.Padding{Top: 0, Bottom: 1}, 3, 0, 1},
		{9, 3, 1, 2, nn.Pad(0), 5, 0, 0},
		{2, 3, 1, 1, nn.Pad(0), 0, 0, 0}, // does not fit
	} {
		oh, ow, e := nn.ConvOutputSize(c.h, 6, c.k, 1, c.s, c.d, c.pad)
		if oh != c.out || e.Top != c.before || e.Bottom != c.after || e.Same {
			t.Errorf("ConvOutputSize(h %d, k %d, stride %d, dil %d, %v) = %d with pads %d, %d (%+v), want %d with %d, %d",
				c.h, c.k, c.s, c.d, c.pad, oh, e.Top, e.Bottom, e, c.out, c.before, c.after)
		}
		if c.pad.Same && ow != (6+c.s-1)/c.s {
			t.Errorf("width: %d, want %d", ow, (6+c.s-1)/c.s)
		}
	}
}

type convCase struct {
	n, h, w, cin, cout int
	k, stride, dil     int
	groups             int // -1: DepthwiseConv2d with a [K K C] weight
	pad                nn.Padding
}

func (c convCase) String() string {
	g := fmt.Sprint("g", c.groups)
	if c.groups < 0 {
		g = "dw"
	}
	return fmt.Sprintf("n%d_%dx%dx%d_to%d_k%d_s%d_d%d_%s_pad(%v)", c.n, c.h, c.w, c.cin, c.cout, c.k, c.stride, c.dil, g, c.pad)
}

func TestConv2dGrad(t *testing.T) {
	same := nn.SamePadding()
	cases := []convCase{
		{1, 5, 5, 3, 4, 1, 1, 1, 1, nn.Pad(0)},                                         // pointwise
		{2, 4, 6, 4, 6, 1, 2, 1, 2, nn.Pad(0)},                                         // 1×1 stride 2, groups 2
		{2, 5, 5, 3, 4, 3, 1, 1, 1, nn.Pad(1)},                                         // 3×3
		{1, 7, 6, 4, 6, 3, 2, 1, 2, nn.Padding{Top: 0, Bottom: 1, Left: 1}},            // asymmetric, groups 2
		{2, 7, 7, 3, 5, 3, 2, 1, 1, same},                                              // same, odd
		{1, 8, 8, 3, 5, 3, 2, 1, 1, same},                                              // same, even
		{2, 9, 8, 2, 3, 3, 1, 2, 1, nn.Pad(2)},                                         // dilation 2
		{1, 8, 7, 3, 2, 3, 1, 2, 1, same},                                              // dilation 2, same
		{1, 9, 9, 2, 3, 5, 2, 1, 1, same},                                              // k5 stride 2
		{2, 6, 6, 3, 3, 5, 1, 1, 1, nn.Pad(2)},                                         // k5
		{1, 5, 5, 4, 4, 3, 1, 1, 4, nn.Pad(1)},                                         // groups = C through Conv2d
		{1, 6, 5, 2, 4, 3, 1, 1, 2, nn.Padding{Top: 2, Bottom: 0, Right: 1}},           // depth multiplier 2
		{2, 7, 7, 4, 4, 3, 2, 1, -1, same},                                             // depthwise, same, odd
		{1, 8, 8, 5, 5, 3, 2, 1, -1, same},                                             // depthwise, same, even
		{1, 8, 9, 3, 3, 3, 1, 2, -1, nn.Pad(2)},                                        // depthwise, dilation 2
		{2, 6, 5, 4, 4, 5, 1, 1, -1, nn.Padding{Top: 1, Bottom: 3, Left: 2, Right: 2}}, // depthwise k5 asymmetric
		{1, 9, 9, 3, 3, 5, 2, 1, -1, same},                                             // depthwise k5 stride 2
	}
	for i, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			r := rng(uint64(100 + i))
			x := nn.Param(nntest.Rand(r, -1, 1, c.n, c.h, c.w, c.cin))
			var w *nn.Var
			var f func() *nn.Var
			if c.groups < 0 {
				w = nn.Param(nntest.Rand(r, -1, 1, c.k, c.k, c.cin))
				f = func() *nn.Var {
					return nn.DepthwiseConv2d(x, w, nn.Conv2dOpts{Stride: c.stride, Dilation: c.dil, Padding: c.pad})
				}
			} else {
				w = nn.Param(nntest.Rand(r, -1, 1, c.k, c.k, c.cin/c.groups, c.cout))
				f = func() *nn.Var {
					return nn.Conv2d(x, w, nn.Conv2dOpts{Stride: c.stride, Dilation: c.dil, Groups: c.groups, Padding: c.pad})
				}
			}
			nntest.CheckGrad(t, f, []*nn.Var{x, w}, nntest.Options{MaxPerVar: 64})
		})
	}
}

func TestDepthwiseMatchesGroupedConv(t *testing.T) {
	r := rng(5)
	x := nn.Param(nntest.Rand(r, -1, 1, 2, 9, 8, 6))
	wd := nn.Param(nntest.Rand(r, -1, 1, 3, 3, 6))
	wg := nn.Param(nn.FromData(append([]float32(nil), wd.Value.Data()...), 3, 3, 1, 6))
	o := nn.Conv2dOpts{Stride: 2, Padding: nn.SamePadding()}
	yd := nn.DepthwiseConv2d(x, wd, o)
	o.Groups = 6
	yg := nn.Conv2d(x, wg, o)
	if !nn.SameShape(yd.Shape(), []int{2, 5, 4, 6}) || !nn.SameShape(yd.Shape(), yg.Shape()) {
		t.Fatalf("shapes %v and %v, want [2 5 4 6]", yd.Shape(), yg.Shape())
	}
	for i, v := range yd.Value.Data() {
		if v != yg.Value.Data()[i] {
			t.Fatalf("depthwise [%d] = %v, grouped conv %v", i, v, yg.Value.Data()[i])
		}
	}
	nn.Sum(yd).Backward()
	gx := append([]float32(nil), x.Grad.Data()...)
	x.ZeroGrad()
	nn.Sum(yg).Backward()
	for i, v := range gx {
		if v != x.Grad.Data()[i] {
			t.Fatalf("dx[%d]: depthwise %v, grouped %v", i, v, x.Grad.Data()[i])
		}
	}
	for i, v := range wd.Grad.Data() {
		if v != wg.Grad.Data()[i] {
			t.Fatalf("dw[%d]: depthwise %v, grouped %v", i, v, wg.Grad.Data()[i])
		}
	}
	if !nn.SameShape(wd.Grad.Shape(), []int{3, 3, 6}) {
		t.Fatalf("depthwise weight gradient shape %v", wd.Grad.Shape())
	}
}

func TestConv2dKnownValues(t *testing.T) {
	// 1×3×3×1 input 1..9, 2×2 kernel of ones, stride 1, no padding: sums
	// of 2×2 blocks.
	x := nn.NewVar(nn.FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 3, 3, 1))
	w := nn.NewVar(nn.Full(1, 2, 2, 1, 1))
	y := nn.Conv2d(x, w, nn.Conv2dOpts{})
	want := []float32{12, 16, 24, 28}
	if !nn.SameShape(y.Shape(), []int{1, 2, 2, 1}) {
		t.Fatalf("shape %v", y.Shape())
	}
	for i, v := range want {
		if y.Value.Data()[i] != v {
			t.Fatalf("y = %v, want %v", y.Value.Data(), want)
		}
	}
	// TF same, stride 2 on 3×3 with a 3×3 kernel of ones: pads 1 on each
	// side; output 2×2.
	w3 := nn.NewVar(nn.Full(1, 3, 3, 1, 1))
	y = nn.Conv2d(x, w3, nn.Conv2dOpts{Stride: 2, Padding: nn.SamePadding()})
	want = []float32{1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9}
	for i, v := range want {
		if y.Value.Data()[i] != v {
			t.Fatalf("same y = %v, want %v", y.Value.Data(), want)
		}
	}
}

func TestConv2dPanics(t *testing.T) {
	v := func(shape ...int) *nn.Var { return nn.NewVar(nn.New(shape...)) }
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"channels", func() { nn.Conv2d(v(8, 64, 64, 3), v(3, 3, 4, 32), nn.Conv2dOpts{}) },
			"nn.Conv2d: input [8 64 64 3], weight [3 3 4 32]: 3 input channels, weight expects 4"},
		{"grouped channels", func() { nn.Conv2d(v(1, 8, 8, 6), v(3, 3, 2, 6), nn.Conv2dOpts{Groups: 2}) },
			"6 input channels, weight expects 4 (2 per group × 2 groups)"},
		{"cout groups", func() { nn.Conv2d(v(1, 8, 8, 6), v(3, 3, 3, 5), nn.Conv2dOpts{Groups: 2}) },
			"5 output channels are not divisible by 2 groups"},
		{"too small", func() { nn.Conv2d(v(1, 2, 8, 3), v(3, 3, 3, 4), nn.Conv2dOpts{}) },
			"output would be 0x6"},
		{"weight rank", func() { nn.Conv2d(v(1, 8, 8, 3), v(3, 3, 3), nn.Conv2dOpts{}) },
			"weight must be HWIO"},
		{"input rank", func() { nn.Conv2d(v(8, 8, 3), v(3, 3, 3, 4), nn.Conv2dOpts{}) },
			"input must be NHWC"},
		{"negative stride", func() { nn.Conv2d(v(1, 8, 8, 3), v(3, 3, 3, 4), nn.Conv2dOpts{Stride: -1}) },
			"must not be negative"},
		{"negative padding", func() { nn.Conv2d(v(1, 8, 8, 3), v(3, 3, 3, 4), nn.Conv2dOpts{Padding: nn.Pad(-1)}) },
			"padding -1: must not be negative"},
		{"same and explicit", func() {
			nn.Conv2d(v(1, 8, 8, 3), v(3, 3, 3, 4), nn.Conv2dOpts{Padding: nn.Padding{Top: 1, Same: true}})
		}, "Same with explicit"},
		{"depthwise channels", func() { nn.DepthwiseConv2d(v(1, 8, 8, 16), v(3, 3, 32), nn.Conv2dOpts{}) },
			"nn.DepthwiseConv2d: input [1 8 8 16], weight [3 3 32]: 16 input channels, weight expects 32"},
		{"depthwise groups", func() { nn.DepthwiseConv2d(v(1, 8, 8, 16), v(3, 3, 16), nn.Conv2dOpts{Groups: 2}) },
			"groups 2, must be 0 or 16"},
		{"depthwise rank", func() { nn.DepthwiseConv2d(v(1, 8, 8, 16), v(3, 3, 1, 16), nn.Conv2dOpts{}) },
			"weight must be [KH KW C]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, c.want) {
					t.Fatalf("panic %q, want it to contain %q", msg, c.want)
				}
			}()
			c.f()
		})
	}
}

func TestConv2dNoGradAndRelease(t *testing.T) {
	r := rng(9)
	x := nn.NewVar(nntest.Rand(r, -1, 1, 1, 6, 6, 4))
	w := nn.Param(nntest.Rand(r, -1, 1, 3, 3, 4, 8))
	var y *nn.Var
	nn.NoGrad(func() { y = nn.Conv2d(x, w, nn.Conv2dOpts{Padding: nn.Pad(1)}) })
	if y.RequiresGrad() {
		t.Fatal("Conv2d under NoGrad recorded a graph")
	}
	// Only w requires a gradient: the input gradient is skipped.
	loss := nn.Sum(nn.Conv2d(x, w, nn.Conv2dOpts{Padding: nn.Pad(1)}))
	loss.Backward()
	if x.Grad != nil || w.Grad == nil {
		t.Fatalf("gradients: x %v, w %v; want only w's", x.Grad, w.Grad)
	}
	loss.Release()
}

func ExampleConv2d() {
	// A batch of one 4×4 RGB image and a 3×3 convolution to 8 channels
	// with stride 2 and TensorFlow "SAME" padding.
	x := nn.NewVar(nn.New(1, 4, 4, 3))
	w := nn.Param(nn.New(3, 3, 3, 8))
	y := nn.Conv2d(x, w, nn.Conv2dOpts{Stride: 2, Padding: nn.SamePadding()})
	fmt.Println(y.Shape())

	// Depthwise: one 3×3 kernel per channel, weight [KH KW C].
	dw := nn.Param(nn.New(3, 3, 8))
	fmt.Println(nn.DepthwiseConv2d(y, dw, nn.Conv2dOpts{Padding: nn.Pad(1)}).Shape())
	// Output:
	// [1 2 2 8]
	// [1 2 2 8]
}
