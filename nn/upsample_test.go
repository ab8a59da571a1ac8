package nn_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

func TestUpsampleNearestGrad(t *testing.T) {
	for _, c := range []struct {
		shape  []int
		factor int
	}{
		{[]int{1, 3, 5, 2}, 2},
		{[]int{2, 1, 1, 3}, 3},
		{[]int{1, 2, 3, 1}, 1},
		{[]int{3, 3, 2, 5}, 2},
	} {
		x := nn.Param(nntest.Rand(rng(51), -1, 1, c.shape...))
		t.Run(fmt.Sprint(c.shape, c.factor), func(t *testing.T) {
			nntest.CheckGrad(t, func() *nn.Var { return nn.UpsampleNearest(x, c.factor) }, []*nn.Var{x}, nntest.Options{})
		})
	}
}

func TestUpsampleNearestValues(t *testing.T) {
	// [1, 2, 2, 2]: pixel (i, j) holds channels (10i+j, -(10i+j)).
	x := nn.Param(nn.FromData([]float32{0, 0, 1, -1, 10, -10, 11, -11}, 1, 2, 2, 2))
	y := nn.UpsampleNearest(x, 2)
	if !nn.SameShape(y.Shape(), []int{1, 4, 4, 2}) {
		t.Fatalf("shape %v", y.Shape())
	}
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			want := float32(10*(i/2) + j/2)
			if a, b := y.Value.At(0, i, j, 0), y.Value.At(0, i, j, 1); a != want || b != -want {
				t.Errorf("out[0 %d %d] = (%g, %g), want (%g, %g)", i, j, a, b, want, -want)
			}
		}
	}
	// Backward sums each 2×2 block: weight output (i, j, c) by 100i+10j+c+1.
	w := nn.New(1, 4, 4, 2)
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			for c := 0; c < 2; c++ {
				w.Set(float32(100*i+10*j+c+1), 0, i, j, c)
			}
		}
	}
	nn.Sum(nn.Mul(y, nn.NewVar(w))).Backward()
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			for c := 0; c < 2; c++ {
				var want float32
				for di := 0; di < 2; di++ {
					for dj := 0; dj < 2; dj++ {
						want += w.At(0, 2*i+di, 2*j+dj, c)
					}
				}
				if g := x.Grad.At(0, i, j, c); g != want {
					t.Errorf("grad[0 %d %d %d] = %g, want %g", i, j, c, g, want)
				}
			}
		}
	}
}

func TestUpsampleNearestPanics(t *testing.T) {
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { nn.UpsampleNearest(nn.NewVar(nn.New(2, 3, 4)), 2) }, "[2 3 4]"},
		{func() { nn.UpsampleNearest(nn.NewVar(nn.New(1, 2, 2, 1)), 0) }, "factor 0"},
	} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, "nn.UpsampleNearest") || !strings.Contains(msg, c.want) {
					t.Errorf("panic %q lacks nn.UpsampleNearest and %q", msg, c.want)
				}
			}()
			c.f()
		}()
	}
}
