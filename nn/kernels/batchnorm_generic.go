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
// partial vectors of length c (zeroed; fn may also overwrite them), then
// stores the block-ordered totals in out0 and out1.
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
	k := chanK
	bnReduce(m, c, mean, variance, func(r0, r1 int, s1, s2 []float64) {
		k.moments(x[r0*c:r1*c], r1-r0, c, c, shift, s1, s2)
	})
	fm := float64(m)
	for j := range mean {
		s1, s2 := mean[j], variance[j]
		mean[j] = float64(shift[j]) + s1/fm
		variance[j] = max((s2-s1*s1/fm)/fm, 0)
	}
}

// bnApplyGeneric applies the batch norm's affine map, with a SiLU after it
// if silu is set, over blocks of rows in parallel.
func bnApplyGeneric(y, x []float32, m, c int, scale, shift []float32, silu bool) {
	if m == 0 || c == 0 {
		return
	}
	k := chanK
	parallel.For(m, parallel.Grain(m, max(1, (1<<14)/c)), func(lo, hi int) {
		k.bnApply(y[lo*c:hi*c], x[lo*c:hi*c], hi-lo, c, scale, shift, silu)
	})
}

func bnBackwardSumsGeneric(dy, x []float32, m, c int, mean []float32, sumDy, sumDyXc []float64) {
	k := chanK
	bnReduce(m, c, sumDy, sumDyXc, func(r0, r1 int, s1, s2 []float64) {
		k.dySums(dy[r0*c:r1*c], x[r0*c:r1*c], r1-r0, c, c, mean, s1, s2)
	})
}

func bnBackwardInputGeneric(dx, dy, x []float32, m, c int, mean, a, b, d []float32) {
	if m == 0 || c == 0 {
		return
	}
	mean, a, b, d = mean[:c], a[:c], b[:c], d[:c]
	k := chanK
	parallel.For(m, parallel.Grain(m, max(1, (1<<14)/c)), func(lo, hi int) {
		k.bnGrad(dx[lo*c:hi*c], dy[lo*c:hi*c], x[lo*c:hi*c], hi-lo, c, c, mean, a, b, d)
	})
}
