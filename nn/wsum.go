package nn

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// WeightedSum returns Σ_i w[i]·xs[i] for inputs of one shape and weights
// of shape [len(xs)]: a BiFPN node's fusion of its inputs in one pass over
// memory, where Mul and Add take one pass per input and one per sum. The
// values are the bits of Add(…Add(Mul(xs[0], w0), Mul(xs[1], w1))…,
// Mul(xs[n-1], wn-1)) with wi the i-th weight as a [1] tensor: each
// product rounded, then the sums in order. The weights' gradient sums
// Σ dy·xs[i] in float64 over fixed blocks combined in order, so it does not
// depend on the thread count.
func WeightedSum(xs []*Var, w *Var) *Var {
	if len(xs) == 0 {
		panic("nn.WeightedSum: no inputs")
	}
	shape := xs[0].Value.shape
	if ws := w.Value.shape; len(ws) != 1 || ws[0] != len(xs) {
		panic(fmt.Sprintf("nn.WeightedSum: weights %v for %d inputs: want [%d]", ws, len(xs), len(xs)))
	}
	for i, x := range xs[1:] {
		if !SameShape(x.Value.shape, shape) {
			panic(fmt.Sprintf("nn.WeightedSum: input %d has shape %v, input 0 %v", i+1, x.Value.shape, shape))
		}
	}
	y := newPooled(shape...)
	yd, wd := y.data, w.Value.data
	forChunks(len(yd), func(lo, hi int) {
		dst := yd[lo:hi]
		binaryRun(opMul, dst, xs[0].Value.data[lo:hi], 1, wd, 0)
		for i, x := range xs[1:] {
			wi := wd[i+1]
			for j, v := range x.Value.data[lo:hi] {
				dst[j] += float32(v * wi)
			}
		}
	})
	out := result(y, "WeightedSum", append(append([]*Var(nil), xs...), w)...)
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		g := out.Grad.data
		for i, x := range xs {
			if !x.requiresGrad {
				continue
			}
			// Mul's backward pass for a weight broadcast from [1].
			gx, fresh := x.gradOut()
			forChunks(len(g), func(lo, hi int) {
				if fresh {
					binaryRun(opMul, gx[lo:hi], g[lo:hi], 1, wd[i:], 0)
				} else {
					accMul(gx[lo:hi], 1, g[lo:hi], wd[i:], 0)
				}
			})
		}
		if w.requiresGrad {
			gw := w.gradData()
			for i, x := range xs {
				gw[i] += float32(dotBlocks(g, x.Value.data))
			}
		}
	}
	return out
}

// dotBlock is the block length of dotBlocks.
const dotBlock = 1 << 14

// dotBlocks returns Σ a[j]·b[j] in float64: a float64 sum per block of
// dotBlock elements, in parallel, and the blocks' sums in order.
func dotBlocks(a, b []float32) float64 {
	b = b[:len(a)]
	blocks := (len(a) + dotBlock - 1) / dotBlock
	sums := make([]float64, blocks)
	parallel.For(blocks, 1, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			var s float64
			e := min((k+1)*dotBlock, len(a))
			for j := k * dotBlock; j < e; j++ {
				s += float64(a[j]) * float64(b[j])
			}
			sums[k] = s
		}
	})
	var s float64
	for _, v := range sums {
		s += v
	}
	return s
}
