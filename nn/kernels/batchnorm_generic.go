package kernels

import (
	"math"
	"sync"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// Per-channel reductions split the m rows into at most bnMaxBlocks blocks of
// at least bnMinBlockElems values and bnMinBlockRows rows each (the latter
// keeps the float64 partials, 16·c bytes per block, small next to the data). Each block accumulates its own
// float64 partials for every channel; the partials are then added in block
// order. Block boundaries depend only on m and c, never on the thread count.
const (
	bnMaxBlocks     = 64
	bnMinBlockElems = 1 << 13
	bnMinBlockRows  = 32
)

// bnBlocking returns the rows per block and the number of blocks.
func bnBlocking(m, c int) (rows, blocks int) {
	rows = max((m+bnMaxBlocks-1)/bnMaxBlocks, (bnMinBlockElems+c-1)/max(c, 1), bnMinBlockRows)
	return rows, (m + rows - 1) / rows
}

// bnScratch recycles the float64 partial buffers of the reductions, so a
// training step does not allocate them anew for every batch norm.
var bnScratch sync.Pool

func bnGetScratch(n int) *[]float64 {
	if p, ok := bnScratch.Get().(*[]float64); ok && cap(*p) >= n {
		*p = (*p)[:n]
		clear(*p)
		return p
	}
	s := make([]float64, n)
	return &s
}

// bnReduce runs fn(r0, r1, p0, p1) for every block of rows [r0, r1) with two
// zeroed partial vectors of length c, then stores the block-ordered totals
// in out0 and out1.
func bnReduce(m, c int, out0, out1 []float64, fn func(r0, r1 int, p0, p1 []float64)) {
	out0, out1 = out0[:c], out1[:c]
	clear(out0)
	clear(out1)
	if m == 0 || c == 0 {
		return
	}
	rows, blocks := bnBlocking(m, c)
	sp := bnGetScratch(2 * c * blocks)
	part := *sp
	parallel.For(blocks, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			p := part[2*c*b : 2*c*(b+1)]
			fn(b*rows, min((b+1)*rows, m), p[:c], p[c:])
		}
	})
	for b := 0; b < blocks; b++ {
		p := part[2*c*b : 2*c*(b+1)]
		p0, p1 := p[:c], p[c:]
		for j := range out0 {
			out0[j] += p0[j]
			out1[j] += p1[j]
		}
	}
	bnScratch.Put(sp)
}

// channelMomentsGeneric accumulates, per channel, the sums of d and d² for
// d = x - x[0, j] in float64. Shifting by a sample of the channel keeps the
// one-pass variance formula (Σd² - (Σd)²/m)/m free of the cancellation that
// a large mean would otherwise cause.
func channelMomentsGeneric(x []float32, m, c int, mean, variance []float64) {
	mean, variance = mean[:c], variance[:c]
	if m == 0 {
		for j := range mean {
			mean[j], variance[j] = math.NaN(), math.NaN()
		}
		return
	}
	shift := x[:c]
	bnReduce(m, c, mean, variance, func(r0, r1 int, s1, s2 []float64) {
		sh := shift[:len(s1)]
		s2 = s2[:len(s1)]
		for r := r0; r < r1; r++ {
			row := x[r*c : r*c+len(s1)]
			for j, v := range row {
				d := float64(v) - float64(sh[j])
				s1[j] += d
				s2[j] += d * d
			}
		}
	})
	fm := float64(m)
	for j := range mean {
		s1, s2 := mean[j], variance[j]
		mean[j] = float64(shift[j]) + s1/fm
		variance[j] = max((s2-s1*s1/fm)/fm, 0)
	}
}

func bnApplyGeneric(y, x []float32, m, c int, scale, shift []float32) {
	if m == 0 || c == 0 {
		return
	}
	scale, shift = scale[:c], shift[:c]
	parallel.For(m, parallel.Grain(m, max(1, (1<<14)/c)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*c:r*c+c], y[r*c:r*c+c]
			for j, v := range xr {
				yr[j] = v*scale[j] + shift[j]
			}
		}
	})
}

func bnBackwardSumsGeneric(dy, x []float32, m, c int, mean []float32, sumDy, sumDyXc []float64) {
	bnReduce(m, c, sumDy, sumDyXc, func(r0, r1 int, s1, s2 []float64) {
		mu := mean[:len(s1)]
		s2 = s2[:len(s1)]
		for r := r0; r < r1; r++ {
			xr, gr := x[r*c:r*c+len(s1)], dy[r*c:r*c+len(s1)]
			for j, g := range gr {
				s1[j] += float64(g)
				s2[j] += float64(g * (xr[j] - mu[j]))
			}
		}
	})
}

func bnBackwardInputGeneric(dx, dy, x []float32, m, c int, mean, a, b, d []float32) {
	if m == 0 || c == 0 {
		return
	}
	mean, a, b, d = mean[:c], a[:c], b[:c], d[:c]
	parallel.For(m, parallel.Grain(m, max(1, (1<<14)/c)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, gr, dr := x[r*c:r*c+c], dy[r*c:r*c+c], dx[r*c:r*c+c]
			for j, g := range gr {
				dr[j] += a[j]*g + b[j]*(xr[j]-mean[j]) + d[j]
			}
		}
	})
}
