package nn_test

import (
	"fmt"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/internal/parallel"
	"github.com/sortnet/sortnet/nn/nntest"
)

// TestOpsThreadIndependent runs each op's forward and backward pass with 1
// and with 3 threads on inputs large enough to be split, and requires
// bit-identical values and gradients.
func TestOpsThreadIndependent(t *testing.T) {
	ops := map[string]func(x *nn.Var) *nn.Var{
		"SiLU":       nn.SiLU,
		"HardSwish":  nn.HardSwish,
		"Softmax":    nn.Softmax,
		"LogSoftmax": nn.LogSoftmax,
		"Upsample":   func(x *nn.Var) *nn.Var { return nn.UpsampleNearest(x, 2) },
		"Concat": func(x *nn.Var) *nn.Var {
			p := nn.Split(x, -1, 3, 5)
			return nn.Concat(-1, nn.Sigmoid(p[1]), nn.Tanh(p[0]))
		},
		"DropPath": func(x *nn.Var) *nn.Var { return nn.DropPath(x, 0.5, rng(81)) },
	}
	x0 := nntest.Rand(rng(82), -4, 4, 3, 33, 35, 8) // > minChunk elements
	g := nntest.Rand(rng(83), -1, 1, 3, 66, 70, 8)
	for name, op := range ops {
		run := func(threads int) string {
			prev := parallel.SetThreads(threads)
			defer parallel.SetThreads(prev)
			x := nn.Param(x0.Clone())
			y := op(x)
			w := nn.NewVar(nn.FromData(g.Data()[:y.Value.Len()], y.Shape()...))
			nn.Sum(nn.Mul(y, w)).Backward()
			return fmt.Sprint(y.Value.Data(), x.Grad.Data())
		}
		if run(1) != run(3) {
			t.Errorf("%s: results differ between 1 and 3 threads", name)
		}
	}
}
