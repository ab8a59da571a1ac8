package nn

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// Loss functions. Every loss computes its per-element (or per-sample) values
// in float64, reduces them in a fixed order and has an analytic backward;
// none of them is composed from smaller ops. Targets are plain tensors and
// receive no gradient.

// Reduction says how a loss combines its per-element values. The zero value
// is ReduceMean, PyTorch's default.
type Reduction int

const (
	// ReduceMean averages the values (each loss documents its
	// denominator); the result has shape [1].
	ReduceMean Reduction = iota
	// ReduceSum adds the values; the result has shape [1].
	ReduceSum
	// ReduceNone returns the values themselves: one per sample for the
	// cross-entropy losses, one per element (the input's shape) otherwise.
	ReduceNone
)

func (r Reduction) String() string {
	switch r {
	case ReduceMean:
		return "mean"
	case ReduceSum:
		return "sum"
	case ReduceNone:
		return "none"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

func (r Reduction) check(op string) {
	if r < ReduceMean || r > ReduceNone {
		panic(fmt.Sprintf("nn.%s: unknown reduction %v", op, r))
	}
}

// lossBlock is the fixed block size of the parallel loss sums; partial sums
// are added in block order so totals do not depend on the thread count.
const lossBlock = 1 << 12

// lossSum returns Σ f(lo, hi) over fixed blocks of [0, n), added in order.
func lossSum(n int, f func(lo, hi int) float64) float64 {
	part := make([]float64, (n+lossBlock-1)/lossBlock)
	parallel.For(n, lossBlock, func(lo, hi int) { part[lo/lossBlock] = f(lo, hi) })
	var s float64
	for _, p := range part {
		s += p
	}
	return s
}

// lossCheckTarget panics unless target has pred's shape and, for a mean,
// is not empty.
func lossCheckTarget(op string, pred *Var, target *Tensor, r Reduction) {
	r.check(op)
	if !SameShape(pred.Value.shape, target.shape) {
		panic(fmt.Sprintf("nn.%s: input %v, target %v: shapes differ", op, pred.Value.shape, target.shape))
	}
	if r == ReduceMean && pred.Value.Len() == 0 {
		panic(fmt.Sprintf("nn.%s: empty input %v with mean reduction", op, pred.Value.shape))
	}
}

// lossElementwise applies the loss f(x, t) to every element of x against
// target and reduces the values with r (a mean divides by the element
// count); df is ∂f/∂x.
func lossElementwise(op string, x *Var, target *Tensor, r Reduction, f, df func(x, t float64) float64) *Var {
	lossCheckTarget(op, x, target, r)
	xd, td := x.Value.data, target.data
	n := len(xd)
	var y *Tensor
	if r == ReduceNone {
		y = newPooled(x.Value.shape...)
		yd := y.data
		forChunks(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				yd[i] = float32(f(float64(xd[i]), float64(td[i])))
			}
		})
	} else {
		s := lossSum(n, func(lo, hi int) float64 {
			var s float64
			for i := lo; i < hi; i++ {
				s += f(float64(xd[i]), float64(td[i]))
			}
			return s
		})
		if r == ReduceMean {
			s /= float64(n)
		}
		y = newPooled(1)
		y.data[0] = float32(s)
	}
	out := result(y, op, x)
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		g, gx := out.Grad.data, x.gradData()
		scale := 0.0
		if r != ReduceNone {
			scale = float64(g[0])
			if r == ReduceMean {
				scale /= float64(n)
			}
		}
		forChunks(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				s := scale
				if r == ReduceNone {
					s = float64(g[i])
				}
				gx[i] += float32(s * df(float64(xd[i]), float64(td[i])))
			}
		})
	}
	return out
}
