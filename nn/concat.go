package nn

import (
	"fmt"
)

// Concat and Split along any axis. Shape legend: with the axis at position
// a, a tensor is viewed as [outer, mid, inner] where outer is the product of
// the dimensions before a, mid the axis itself and inner the product of the
// dimensions after it. Concatenating along a joins the [mid·inner] blocks of
// each outer index; in NHWC along channels (axis -1) inner is 1 and each
// pixel's channels are joined.

// normAxis resolves a possibly negative axis of shape, panicking if it is
// out of range.
func normAxis(op string, axis int, shape []int) int {
	a := axis
	if a < 0 {
		a += len(shape)
	}
	if a < 0 || a >= len(shape) {
		panic(fmt.Sprintf("nn.%s: axis %d out of range for shape %v", op, axis, shape))
	}
	return a
}

// splitAround returns the products of the dimensions before and after axis.
func splitAround(shape []int, axis int) (outer, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, inner
}

// Concat joins xs along axis (negative counts from the end). All inputs
// must have the same rank and agree in every dimension but axis.
func Concat(axis int, xs ...*Var) *Var {
	if len(xs) == 0 {
		panic("nn.Concat: no inputs")
	}
	xs = append([]*Var(nil), xs...) // the graph keeps its own list of parents
	first := xs[0].Value.shape
	a := normAxis("Concat", axis, first)
	shapes := func() string {
		s := make([][]int, len(xs))
		for i, x := range xs {
			s[i] = x.Value.shape
		}
		return fmt.Sprint(s)
	}
	total := 0
	for i, x := range xs {
		s := x.Value.shape
		if len(s) != len(first) {
			panic(fmt.Sprintf("nn.Concat: axis %d, inputs %s: input %d has rank %d, input 0 rank %d", axis, shapes(), i, len(s), len(first)))
		}
		for d := range s {
			if d != a && s[d] != first[d] {
				panic(fmt.Sprintf("nn.Concat: axis %d, inputs %s: input %d differs from input 0 in dimension %d (%d vs %d)", axis, shapes(), i, d, s[d], first[d]))
			}
		}
		total += s[a]
	}
	oshape := cloneInts(first)
	oshape[a] = total
	outer, inner := splitAround(first, a)
	row := total * inner // output elements per outer index
	y := newPooled(oshape...)
	yd := y.data
	forRows(outer, row, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			off := o * row
			for _, x := range xs {
				n := x.Value.shape[a] * inner
				copy(yd[off:off+n], x.Value.data[o*n:(o+1)*n])
				off += n
			}
		}
	})
	out := result(y, "Concat", xs...)
	if out.requiresGrad {
		out.backward = func() {
			g := out.Grad.data
			start := 0 // offset of each input's block within an output row
			for _, x := range xs {
				n := x.Value.shape[a] * inner
				if x.requiresGrad {
					gx, s := x.gradData(), start
					forRows(outer, n, func(lo, hi int) {
						for o := lo; o < hi; o++ {
							dst, src := gx[o*n:(o+1)*n], g[o*row+s:o*row+s+n]
							for i, v := range src {
								dst[i] += v
							}
						}
					})
				}
				start += n
			}
		}
	}
	return out
}

// Split cuts x along axis (negative counts from the end) into pieces of the
// given sizes, which must add up to the axis length. Each piece is a copy
// and its own op output; the gradient of each flows back into its slice of
// x's gradient.
func Split(x *Var, axis int, sizes ...int) []*Var {
	shape := x.Value.shape
	a := normAxis("Split", axis, shape)
	sum := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("nn.Split: input %v, axis %d: negative size in %v", shape, axis, sizes))
		}
		sum += s
	}
	if sum != shape[a] {
		panic(fmt.Sprintf("nn.Split: input %v, axis %d: sizes %v add up to %d, the axis has %d", shape, axis, sizes, sum, shape[a]))
	}
	outer, inner := splitAround(shape, a)
	row := shape[a] * inner // input elements per outer index
	xd := x.Value.data
	outs := make([]*Var, len(sizes))
	start := 0
	for i, sz := range sizes {
		oshape := cloneInts(shape)
		oshape[a] = sz
		n, s := sz*inner, start
		y := newPooled(oshape...)
		yd := y.data
		forRows(outer, n, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				copy(yd[o*n:(o+1)*n], xd[o*row+s:o*row+s+n])
			}
		})
		out := result(y, "Split", x)
		if out.requiresGrad {
			out.backward = func() {
				g, gx := out.Grad.data, x.gradData()
				forRows(outer, n, func(lo, hi int) {
					for o := lo; o < hi; o++ {
						dst, src := gx[o*row+s:o*row+s+n], g[o*n:(o+1)*n]
						for j, v := range src {
							dst[j] += v
						}
					}
				})
			}
		}
		outs[i] = out
		start += n
	}
	return outs
}
