package nn_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

func TestConcatGrad(t *testing.T) {
	cases := []struct {
		axis   int
		shapes [][]int
	}{
		{-1, [][]int{{1, 3, 5, 2}, {1, 3, 5, 3}, {1, 3, 5, 1}}}, // NHWC channels
		{3, [][]int{{2, 1, 3, 4}, {2, 1, 3, 5}}},
		{0, [][]int{{1, 2, 3}, {2, 2, 3}}},
		{1, [][]int{{2, 3, 1}, {2, 1, 1}, {2, 4, 1}}},
		{0, [][]int{{5}}},
		{-2, [][]int{{3, 2, 7}, {3, 0, 7}, {3, 5, 7}}}, // an empty piece
	}
	for _, c := range cases {
		var xs []*nn.Var
		r := rng(41)
		for _, s := range c.shapes {
			xs = append(xs, nn.Param(nntest.Rand(r, -1, 1, s...)))
		}
		t.Run(fmt.Sprint(c.axis, c.shapes), func(t *testing.T) {
			nntest.CheckGrad(t, func() *nn.Var { return nn.Concat(c.axis, xs...) }, xs, nntest.Options{})
		})
	}
}

func TestConcatValues(t *testing.T) {
	a := nn.NewVar(nn.FromData([]float32{1, 2, 3, 4}, 2, 2))
	b := nn.NewVar(nn.FromData([]float32{5, 6}, 2, 1))
	c := nn.NewVar(nn.FromData([]float32{7, 8}, 1, 2))
	for _, tc := range []struct {
		got  *nn.Var
		want []float32
		rank []int
	}{
		{nn.Concat(-1, a, b), []float32{1, 2, 5, 3, 4, 6}, []int{2, 3}},
		{nn.Concat(0, a, c), []float32{1, 2, 3, 4, 7, 8}, []int{3, 2}},
		{nn.Concat(1, b, a, b), []float32{5, 1, 2, 5, 6, 3, 4, 6}, []int{2, 4}},
	} {
		if !nn.SameShape(tc.got.Shape(), tc.rank) || fmt.Sprint(tc.got.Value.Data()) != fmt.Sprint(tc.want) {
			t.Errorf("Concat = %v, want shape %v data %v", tc.got.Value, tc.rank, tc.want)
		}
	}
}

func TestConcatSameInputTwice(t *testing.T) {
	x := nn.Param(nn.FromData([]float32{1, 2}, 1, 2))
	y := nn.Concat(-1, x, x)
	nn.Sum(nn.Mul(y, nn.NewVar(nn.FromData([]float32{1, 10, 100, 1000}, 1, 4)))).Backward()
	if g := x.Grad.Data(); g[0] != 101 || g[1] != 1010 {
		t.Fatalf("gradient of x used twice = %v, want [101 1010]", g)
	}
}

func TestSplitGrad(t *testing.T) {
	cases := []struct {
		shape []int
		axis  int
		sizes []int
	}{
		{[]int{1, 3, 5, 6}, -1, []int{2, 3, 1}},
		{[]int{2, 3, 1, 4}, 1, []int{1, 2}},
		{[]int{5, 2}, 0, []int{2, 0, 3}},
		{[]int{7}, 0, []int{7}},
	}
	for _, c := range cases {
		x := nn.Param(nntest.Rand(rng(43), -1, 1, c.shape...))
		for i := range c.sizes {
			t.Run(fmt.Sprint(c.shape, c.axis, c.sizes, i), func(t *testing.T) {
				nntest.CheckGrad(t, func() *nn.Var { return nn.Split(x, c.axis, c.sizes...)[i] }, []*nn.Var{x}, nntest.Options{})
			})
		}
		// All pieces used at once: their gradients land in disjoint
		// slices of x's gradient.
		t.Run(fmt.Sprint(c.shape, c.axis, c.sizes, "all"), func(t *testing.T) {
			nntest.CheckGrad(t, func() *nn.Var {
				parts := nn.Split(x, c.axis, c.sizes...)
				for i, p := range parts {
					parts[i] = nn.MulScalar(p, float32(i+1))
				}
				return nn.Concat(c.axis, parts...)
			}, []*nn.Var{x}, nntest.Options{})
		})
	}
}

func TestSplitValuesAndRoundTrip(t *testing.T) {
	x := nn.NewVar(nn.FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4))
	parts := nn.Split(x, -1, 1, 3)
	if got := fmt.Sprint(parts[0].Shape(), parts[0].Value.Data(), parts[1].Shape(), parts[1].Value.Data()); got != "[2 1] [1 5] [2 3] [2 3 4 6 7 8]" {
		t.Fatalf("Split = %s", got)
	}
	back := nn.Concat(1, parts...)
	if fmt.Sprint(back.Value.Data()) != fmt.Sprint(x.Value.Data()) {
		t.Fatalf("Concat(Split(x)) = %v, want %v", back.Value.Data(), x.Value.Data())
	}
	for _, p := range parts {
		if p.Op() != "Split" {
			t.Fatalf("Split piece has op %q", p.Op())
		}
	}
}

func TestConcatSplitPanics(t *testing.T) {
	v := func(s ...int) *nn.Var { return nn.NewVar(nn.New(s...)) }
	cases := []struct {
		name string
		f    func()
		want []string
	}{
		{"dim mismatch", func() { nn.Concat(-1, v(2, 3, 4), v(2, 5, 1)) }, []string{"nn.Concat", "[2 3 4]", "[2 5 1]", "dimension 1"}},
		{"rank mismatch", func() { nn.Concat(0, v(2, 3), v(2, 3, 1)) }, []string{"nn.Concat", "[2 3]", "[2 3 1]", "rank"}},
		{"axis range", func() { nn.Concat(2, v(2, 3)) }, []string{"nn.Concat", "axis 2", "[2 3]"}},
		{"no inputs", func() { nn.Concat(0) }, []string{"nn.Concat"}},
		{"split sizes", func() { nn.Split(v(2, 6), -1, 2, 3) }, []string{"nn.Split", "[2 6]", "[2 3]", "6"}},
		{"split negative", func() { nn.Split(v(2, 6), -1, 7, -1) }, []string{"nn.Split", "negative"}},
		{"split axis", func() { nn.Split(v(2, 6), -3, 2) }, []string{"nn.Split", "axis -3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				for _, w := range c.want {
					if !strings.Contains(msg, w) {
						t.Errorf("panic %q lacks %q", msg, w)
					}
				}
			}()
			c.f()
		})
	}
}
