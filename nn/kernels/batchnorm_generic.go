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

// bnReduceArgs is one per-channel reduction over the rows of [m, c]
// matrices: the moments of x about shift (ref), or, if dySums, the sums of
// dy and dy·(x - mean) (ref is the mean).
type bnReduceArgs struct {
	k       *chanKernels
	dy, x   []float32
	ref     []float32
	dySums  bool
	m, c    int
	rows    int       // rows per block
	partial []float64 // two partial vectors of c per block
}

// blocks fills the partials of blocks [lo, hi).
func (a *bnReduceArgs) blocks(lo, hi int) {
	c := a.c
	for b := lo; b < hi; b++ {
		r0, r1 := b*a.rows, min((b+1)*a.rows, a.m)
		p := a.partial[2*c*b : 2*c*(b+1)]
		if a.dySums {
			a.k.dySums(a.dy[r0*c:r1*c], a.x[r0*c:r1*c], r1-r0, c, c, a.ref, p[:c], p[c:])
		} else {
			a.k.moments(a.x[r0*c:r1*c], r1-r0, c, c, a.ref, p[:c], p[c:])
		}
	}
}

var bnReduceTasks = parallel.NewTasks((*bnReduceArgs).blocks)

// bnReduce computes the partials of every block of a's rows (a.m, a.c set)
// in parallel, then stores the block-ordered totals in out0 and out1.
func bnReduce(a bnReduceArgs, out0, out1 []float64) {
	m, c := a.m, a.c
	out0, out1 = out0[:c], out1[:c]
	clear(out0)
	clear(out1)
	if m == 0 || c == 0 {
		return
	}
	rows, blocks := bnBlocking(m, c)
	sp := bnGetScratch(2 * c * blocks)
	a.rows, a.partial = rows, *sp
	bnReduceTasks.For(blocks, 1, a)
	part := *sp
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
	bnReduce(bnReduceArgs{k: chanK, x: x, ref: shift, m: m, c: c}, mean, variance)
	fm := float64(m)
	for j := range mean {
		s1, s2 := mean[j], variance[j]
		mean[j] = float64(shift[j]) + s1/fm
		variance[j] = max((s2-s1*s1/fm)/fm, 0)
	}
}

// bnApplyArgs is the affine map y = x·scale + shift (then SiLU if silu,
// its input saved in z if z is not nil) over the rows of [m, c] matrices.
type bnApplyArgs struct {
	k            *chanKernels
	c            int
	y, z, x      []float32
	scale, shift []float32
	silu         bool
}

func (a *bnApplyArgs) rows(lo, hi int) {
	c := a.c
	var z []float32
	if a.z != nil {
		z = a.z[lo*c : hi*c]
	}
	a.k.bnApply(a.y[lo*c:hi*c], z, a.x[lo*c:hi*c], hi-lo, c, a.scale, a.shift, a.silu)
}

// bnGradArgs is the input gradient dx += ga·dy + gb·(x-mean) + d (with
// set, dx = …) over the rows of [m, c] matrices.
type bnGradArgs struct {
	k               *chanKernels
	c               int
	dx, dy, x       []float32
	mean, ga, gb, d []float32
	set             bool // write dx rather than add to it
}

func (a *bnGradArgs) rows(lo, hi int) {
	c := a.c
	f := a.k.bnGrad
	if a.set {
		f = a.k.bnGradSet
	}
	f(a.dx[lo*c:hi*c], a.dy[lo*c:hi*c], a.x[lo*c:hi*c], hi-lo, c, c, a.mean, a.ga, a.gb, a.d)
}

var (
	bnApplyTasks = parallel.NewTasks((*bnApplyArgs).rows)
	bnGradTasks  = parallel.NewTasks((*bnGradArgs).rows)
)

// bnApplyGeneric applies the batch norm's affine map, with a SiLU after it
// if silu is set (saving its input in z if z is not nil), over blocks of
// rows in parallel.
func bnApplyGeneric(y, z, x []float32, m, c int, scale, shift []float32, silu bool) {
	if m == 0 || c == 0 {
		return
	}
	bnApplyTasks.For(m, parallel.Grain(m, max(1, (1<<14)/c)),
		bnApplyArgs{k: chanK, c: c, y: y, z: z, x: x, scale: scale, shift: shift, silu: silu})
}

func bnBackwardSumsGeneric(dy, x []float32, m, c int, mean []float32, sumDy, sumDyXc []float64) {
	bnReduce(bnReduceArgs{k: chanK, dy: dy, x: x, ref: mean, dySums: true, m: m, c: c}, sumDy, sumDyXc)
}

// bnBackwardInputGeneric adds the input gradient to dx or, with set,
// writes it.
func bnBackwardInputGeneric(dx, dy, x []float32, m, c int, mean, a, b, d []float32, set bool) {
	if m == 0 || c == 0 {
		return
	}
	bnGradTasks.For(m, parallel.Grain(m, max(1, (1<<14)/c)),
		bnGradArgs{k: chanK, c: c, dx: dx, dy: dy, x: x, mean: mean[:c], ga: a[:c], gb: b[:c], d: d[:c], set: set})
}
