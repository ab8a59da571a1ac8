package nn

import "fmt"

// Reductions. Sums run in a fixed order (float64 accumulators for the full
// reductions), so results do not depend on the thread count.

// Sum returns the sum of all elements of x, shape [1].
func Sum(x *Var) *Var { return reduceAll("Sum", x, 1) }

// Mean returns the mean of all elements of x, shape [1].
func Mean(x *Var) *Var {
	n := x.Value.Len()
	if n == 0 {
		panic(fmt.Sprintf("nn.Mean: empty input %v", x.Value.shape))
	}
	return reduceAll("Mean", x, 1/float64(n))
}

func reduceAll(name string, x *Var, scale float64) *Var {
	var s float64
	for _, v := range x.Value.data {
		s += float64(v)
	}
	y := newPooled(1)
	y.data[0] = float32(s * scale)
	out := result(y, name, x)
	if out.requiresGrad {
		out.backward = func() {
			g := float32(float64(out.Grad.data[0]) * scale)
			gx := x.gradData()
			forChunks(len(gx), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gx[i] += g
				}
			})
		}
	}
	return out
}

// SumAxis sums x over one axis (negative counts from the end). With keepDim
// the axis stays with size 1, otherwise it is removed.
func SumAxis(x *Var, axis int, keepDim bool) *Var {
	return reduceAxis("SumAxis", x, axis, keepDim, false)
}

// MeanAxis averages x over one axis, like SumAxis.
func MeanAxis(x *Var, axis int, keepDim bool) *Var {
	return reduceAxis("MeanAxis", x, axis, keepDim, true)
}

func reduceAxis(name string, x *Var, axis int, keepDim, mean bool) *Var {
	shape := x.Value.shape
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		panic(fmt.Sprintf("nn.%s: axis out of range for shape %v", name, shape))
	}
	outer, mid, inner := 1, shape[axis], 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	if mean && mid == 0 {
		panic(fmt.Sprintf("nn.%s: axis %d of %v is empty", name, axis, shape))
	}
	scale := float32(1)
	if mean {
		scale = 1 / float32(mid)
	}
	var oshape []int
	oshape = append(oshape, shape[:axis]...)
	if keepDim {
		oshape = append(oshape, 1)
	}
	oshape = append(oshape, shape[axis+1:]...)
	y := newPooled(oshape...)
	xd, yd := x.Value.data, y.data
	forChunks(outer, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			dst := yd[o*inner : (o+1)*inner]
			clear(dst)
			for m := 0; m < mid; m++ {
				src := xd[(o*mid+m)*inner : (o*mid+m+1)*inner]
				for i, v := range src {
					dst[i] += v
				}
			}
			if mean {
				for i := range dst {
					dst[i] *= scale
				}
			}
		}
	})
	out := result(y, name, x)
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.data, x.gradData()
			forChunks(outer, func(lo, hi int) {
				for o := lo; o < hi; o++ {
					src := g[o*inner : (o+1)*inner]
					for m := 0; m < mid; m++ {
						dst := gx[(o*mid+m)*inner : (o*mid+m+1)*inner]
						for i, v := range src {
							dst[i] += v * scale
						}
					}
				}
			})
		}
	}
	return out
}
