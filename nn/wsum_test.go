package nn_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// TestWeightedSum: the values are the bits of the Mul/Add chain it
// replaces, for one to three inputs (one input twice); the gradients pass
// the numerical check; the weights' gradient does not depend on the
// thread count.
func TestWeightedSum(t *testing.T) {
	r := rng(41)
	for _, n := range []int{1, 2, 3} {
		xs := make([]*nn.Var, n)
		for i := range xs {
			xs[i] = nn.Param(nntest.Rand(r, -2, 2, 2, 5, 7, 3))
		}
		if n == 3 {
			xs[2] = xs[0]
		}
		w := nn.Param(nntest.Rand(r, 0, 1, n))
		got := nn.WeightedSum(xs, w)
		var want *nn.Var
		for i, x := range xs {
			wi := nn.NewVar(nn.FromData([]float32{w.Value.Data()[i]}, 1))
			y := nn.Mul(x, wi)
			if want != nil {
				y = nn.Add(want, y)
			}
			want = y
		}
		for j, v := range want.Value.Data() {
			if math.Float32bits(got.Value.Data()[j]) != math.Float32bits(v) {
				t.Fatalf("%d inputs: y[%d] = %v, Mul/Add %v", n, j, got.Value.Data()[j], v)
			}
		}
		params := append([]*nn.Var{w}, xs[:min(n, 2)]...)
		nntest.CheckGrad(t, func() *nn.Var { return nn.WeightedSum(xs, w) }, params, nntest.Options{})
	}

	// The weights' gradient over several blocks, on 1 and 3 threads.
	x0, x1 := nn.Param(nntest.Rand(r, -1, 1, 3, 100, 100, 8)), nn.Param(nntest.Rand(r, -1, 1, 3, 100, 100, 8))
	dy := nntest.Rand(r, -1, 1, 3, 100, 100, 8)
	var grads [][]float32
	for _, th := range []int{1, 3} {
		prev := nn.SetThreads(th)
		w := nn.Param(nn.FromData([]float32{0.3, 0.7}, 2))
		loss := nn.Sum(nn.Mul(nn.WeightedSum([]*nn.Var{x0, x1}, w), nn.NewVar(dy)))
		loss.Backward()
		nn.SetThreads(prev)
		grads = append(grads, w.Grad.Data())
	}
	for i := range grads[0] {
		if grads[0][i] != grads[1][i] {
			t.Fatalf("dw depends on the thread count: %v, %v", grads[0], grads[1])
		}
	}
}

func TestWeightedSumRejectsBadShapes(t *testing.T) {
	v := func(shape ...int) *nn.Var { return nn.NewVar(nn.New(shape...)) }
	for _, c := range []struct {
		name string
		fn   func()
		want string
	}{
		{"no inputs", func() { nn.WeightedSum(nil, v(0)) }, "no inputs"},
		{"weights", func() { nn.WeightedSum([]*nn.Var{v(2, 3), v(2, 3)}, v(3)) }, "weights [3] for 2 inputs"},
		{"shapes", func() { nn.WeightedSum([]*nn.Var{v(2, 3), v(3, 2)}, v(2)) }, "input 1 has shape [3 2]"},
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, c.want) {
					t.Errorf("%s: panic %v, want %q", c.name, r, c.want)
				}
			}()
			c.fn()
		}()
	}
}
