package nn

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// bplan describes how two shapes broadcast against each other (NumPy
// rules: shapes are right-aligned and a dimension of 1 stretches). Runs of
// dimensions that broadcast the same way are merged, so the common cases —
// same shape, a scalar, a per-channel vector [C], a per-sample-and-channel
// [N,1,1,C] — become one to three loops whose innermost one is contiguous.
type bplan struct {
	shape  []int // output shape
	dims   []int // merged dimension sizes, outermost first; never empty
	sa, sb []int // strides of a and b in each merged dimension, 0 where broadcast
	so     []int // output strides
}

func planBroadcast(op string, a, b []int) *bplan {
	r := max(len(a), len(b))
	p := &bplan{shape: make([]int, r)}
	type dim struct {
		n          int
		aAct, bAct bool
	}
	var ds []dim
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		var o int
		switch {
		case da == db:
			o = da
		case da == 1:
			o = db
		case db == 1:
			o = da
		default:
			panic(fmt.Sprintf("nn.%s: shapes %v and %v do not broadcast (dimension %d: %d vs %d)", op, a, b, i, da, db))
		}
		p.shape[i] = o
		if o == 1 {
			continue
		}
		d := dim{o, da == o, db == o}
		if k := len(ds) - 1; k >= 0 && ds[k].aAct == d.aAct && ds[k].bAct == d.bAct {
			ds[k].n *= o
		} else {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		n := 1
		for _, x := range p.shape {
			n *= x
		}
		ds = []dim{{n, true, true}} // n is 0 or 1
	}
	k := len(ds)
	p.dims = make([]int, k)
	p.sa, p.sb, p.so = make([]int, k), make([]int, k), make([]int, k)
	na, nb, no := 1, 1, 1
	for i := k - 1; i >= 0; i-- {
		p.dims[i] = ds[i].n
		p.so[i] = no
		no *= ds[i].n
		if ds[i].aAct {
			p.sa[i] = na
			na *= ds[i].n
		}
		if ds[i].bAct {
			p.sb[i] = nb
			nb *= ds[i].n
		}
	}
	return p
}

// runs is the number of innermost runs; inner their length.
func (p *bplan) runs() int {
	n := 1
	for _, d := range p.dims[:len(p.dims)-1] {
		n *= d
	}
	return n
}

func (p *bplan) inner() int { return p.dims[len(p.dims)-1] }

// offsets returns the offsets into out, a and b of run r.
func (p *bplan) offsets(r int) (o, a, b int) {
	for i := len(p.dims) - 2; i >= 0; i-- {
		x := r % p.dims[i]
		r /= p.dims[i]
		o += x * p.so[i]
		a += x * p.sa[i]
		b += x * p.sb[i]
	}
	return
}

// forEach calls fn(o, a, b, lo, hi) for contiguous pieces of the output:
// out[o+lo:o+hi] pairs with a[a+i*sa] and b[b+i*sb] for i in [lo, hi), where
// sa and sb are the innermost strides (0 or 1). With par it spreads the
// pieces over the pool; fn must then write disjoint memory for each piece.
func (p *bplan) forEach(par bool, fn func(o, a, b, lo, hi int)) {
	runs, inner := p.runs(), p.inner()
	if runs*inner == 0 {
		return
	}
	if !par {
		for r := 0; r < runs; r++ {
			o, a, b := p.offsets(r)
			fn(o, a, b, 0, inner)
		}
		return
	}
	if runs == 1 {
		parallel.For(inner, parallel.Grain(inner, 1<<14), func(lo, hi int) { fn(0, 0, 0, lo, hi) })
		return
	}
	parallel.For(runs, parallel.Grain(runs, max(1, (1<<14)/inner)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, a, b := p.offsets(r)
			fn(o, a, b, 0, inner)
		}
	})
}

// disjoint reports whether the pieces forEach(true, ...) hands out cover
// disjoint memory of an operand with strides s, so that accumulating into
// that operand's gradient can run in parallel.
func (p *bplan) disjoint(s []int) bool {
	if p.runs() == 1 {
		return s[len(s)-1] != 0
	}
	for _, x := range s[:len(s)-1] {
		if x == 0 {
			return false
		}
	}
	return true
}

// accumulate adds an operand's gradient into grad (indexed like the
// operand, whose strides are s): fn(dst, o, a, b, lo, hi) must add the
// contribution of one piece of the output into dst. Where the pieces write
// disjoint parts of the operand they run in parallel straight into grad.
// Where they overlap (the operand was broadcast, so its gradient is a sum)
// the pieces are split into blocks fixed by the sizes alone; each block
// sums into its own zeroed partial, and the partials are added in block
// order — the same result for any thread count.
func (p *bplan) accumulate(grad []float32, s []int, fn func(dst []float32, o, a, b, lo, hi int)) {
	if p.disjoint(s) {
		p.forEach(true, func(o, a, b, lo, hi int) { fn(grad, o, a, b, lo, hi) })
		return
	}
	runs, inner := p.runs(), p.inner()
	units := runs
	if runs == 1 {
		units = inner
	}
	// Blocks of at least 32k output elements, at most 16, and partials of
	// at most 4M floats in all.
	blocks := min(16, runs*inner/(1<<15), (1<<22)/max(len(grad), 1), units)
	if blocks <= 1 {
		p.forEach(false, func(o, a, b, lo, hi int) { fn(grad, o, a, b, lo, hi) })
		return
	}
	n := len(grad)
	partials := getBuf(blocks * n)
	clear(partials)
	parallel.For(blocks, 1, func(lo, hi int) {
		for blk := lo; blk < hi; blk++ {
			dst := partials[blk*n : (blk+1)*n]
			u0, u1 := blk*units/blocks, (blk+1)*units/blocks
			if runs == 1 {
				fn(dst, 0, 0, 0, u0, u1)
				continue
			}
			for r := u0; r < u1; r++ {
				o, a, b := p.offsets(r)
				fn(dst, o, a, b, 0, inner)
			}
		}
	})
	for blk := 0; blk < blocks; blk++ {
		src := partials[blk*n : (blk+1)*n]
		for i, v := range src {
			grad[i] += v
		}
	}
	putBuf(partials)
}
