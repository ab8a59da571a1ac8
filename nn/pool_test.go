package nn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// distinct returns a tensor whose values are a random permutation of
// 0.05*i - 1: no ties, and neighbours 0.05 apart, more than twice CheckGrad's
// default step, so finite differences never change a window's maximum.
func distinct(seed uint64, shape ...int) *nn.Tensor {
	t := nn.New(shape...)
	d := t.Data()
	perm := rng(seed).Perm(len(d))
	for i, p := range perm {
		d[i] = 0.05*float32(p) - 1
	}
	return t
}

type poolCase struct {
	n, h, w, c int
	k, stride  int
	pad        nn.Padding
}

func (c poolCase) String() string {
	return fmt.Sprintf("n%d_%dx%dx%d_k%d_s%d_pad(%v)", c.n, c.h, c.w, c.c, c.k, c.stride, c.pad)
}

var poolCases = []poolCase{
	{2, 7, 7, 3, 3, 2, nn.SamePadding()},               // TF same, odd
	{1, 8, 8, 2, 3, 2, nn.SamePadding()},               // TF same, even
	{2, 5, 7, 3, 2, 0, nn.Pad(0)},                      // 2×2/2, floor drops a row and a column
	{1, 6, 5, 4, 3, 1, nn.Pad(1)},                      // 3×3/1 pad 1
	{2, 6, 7, 2, 3, 2, nn.Padding{Bottom: 1, Left: 1}}, // asymmetric
	{1, 9, 9, 2, 5, 3, nn.SamePadding()},               // k5 s3 same
	{1, 1, 1, 3, 3, 2, nn.SamePadding()},               // a single pixel
}

func TestMaxPool2dGrad(t *testing.T) {
	for i, c := range poolCases {
		t.Run(c.String(), func(t *testing.T) {
			x := nn.Param(distinct(uint64(i), c.n, c.h, c.w, c.c))
			nntest.CheckGrad(t, func() *nn.Var { return nn.MaxPool2d(x, c.k, c.stride, c.pad) }, []*nn.Var{x}, nntest.Options{})
		})
	}
}

func TestAvgPool2dGrad(t *testing.T) {
	for i, c := range poolCases {
		for _, inc := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v_includePad=%t", c, inc), func(t *testing.T) {
				x := nn.Param(nntest.Rand(rng(uint64(i)), -1, 1, c.n, c.h, c.w, c.c))
				nntest.CheckGrad(t, func() *nn.Var { return nn.AvgPool2d(x, c.k, c.stride, c.pad, inc) }, []*nn.Var{x}, nntest.Options{})
			})
		}
	}
}

func TestGlobalAvgPoolGrad(t *testing.T) {
	for i, s := range [][]int{{2, 3, 5, 4}, {1, 1, 1, 3}, {1, 7, 7, 5}} {
		x := nn.Param(nntest.Rand(rng(uint64(i)), -1, 1, s...))
		y := nn.GlobalAvgPool(x)
		if want := []int{s[0], 1, 1, s[3]}; !nn.SameShape(y.Shape(), want) {
			t.Fatalf("GlobalAvgPool(%v) shape %v, want %v", s, y.Shape(), want)
		}
		nntest.CheckGrad(t, func() *nn.Var { return nn.GlobalAvgPool(x) }, []*nn.Var{x}, nntest.Options{})
	}
}

func TestPoolKnownValues(t *testing.T) {
	// 1×4×4×1 input 1..16 with the largest values at the bottom right.
	d := make([]float32, 16)
	for i := range d {
		d[i] = float32(i + 1)
	}
	x := nn.NewVar(nn.FromData(d, 1, 4, 4, 1))
	check := func(name string, y *nn.Var, want []float32) {
		t.Helper()
		got := y.Value.Data()
		if len(got) != len(want) {
			t.Fatalf("%s: shape %v, want %d values", name, y.Shape(), len(want))
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Fatalf("%s = %v, want %v", name, got, want)
			}
		}
	}
	// TF same 3×3/2 on 4×4: pads 0 top/left, 1 bottom/right.
	check("max same", nn.MaxPool2d(x, 3, 2, nn.SamePadding()), []float32{11, 12, 15, 16})
	// Negative input: padding must not win.
	check("max same negative", nn.MaxPool2d(nn.MulScalar(x, -1), 3, 2, nn.SamePadding()), []float32{-1, -3, -9, -11})
	// Average, TF same: window (1,1) holds rows 2..3, cols 2..3 (4 cells).
	check("avg same exclude pad", nn.AvgPool2d(x, 3, 2, nn.SamePadding(), false),
		[]float32{6, 7.5, 12, 13.5})
	check("avg same include pad", nn.AvgPool2d(x, 3, 2, nn.SamePadding(), true),
		[]float32{54.0 / 9, 45.0 / 9, 72.0 / 9, 54.0 / 9})
	check("avg 2x2", nn.AvgPool2d(x, 2, 0, nn.Pad(0), true), []float32{3.5, 5.5, 11.5, 13.5})
	check("global", nn.GlobalAvgPool(x), []float32{8.5})
}

func TestPoolPanics(t *testing.T) {
	v := func(shape ...int) *nn.Var { return nn.NewVar(nn.New(shape...)) }
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"pad too large", func() { nn.MaxPool2d(v(1, 8, 8, 3), 3, 2, nn.Pad(3)) },
			"nn.MaxPool2d: input [1 8 8 3], window 3, stride 2, padding 3"},
		{"window too large", func() { nn.AvgPool2d(v(1, 2, 2, 3), 3, 1, nn.Pad(0), true) },
			"output would be 0x0"},
		{"rank", func() { nn.MaxPool2d(v(8, 8, 3), 2, 2, nn.Pad(0)) }, "input must be NHWC"},
		{"zero window", func() { nn.AvgPool2d(v(1, 8, 8, 3), 0, 1, nn.Pad(0), false) }, "window must be positive"},
		{"global rank", func() { nn.GlobalAvgPool(v(8, 3)) }, "nn.GlobalAvgPool: input [8 3]"},
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

func ExampleMaxPool2d() {
	x := nn.NewVar(nn.FromData([]float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}, 1, 3, 3, 1))
	// 3×3 windows, stride 2, TF "SAME" padding (1 on each side here);
	// padding never wins.
	fmt.Println(nn.MaxPool2d(x, 3, 2, nn.SamePadding()).Value.Data())
	fmt.Println(nn.GlobalAvgPool(x).Value.Data())
	// Output:
	// [5 6 8 9]
	// [5]
}
