package kernels

import (
	"sync"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

//go:generate sh -c "cd _gen && go run ./dwconv -out ../conv_depthwise_amd64.s -stubs ../conv_depthwise_stubs_amd64.go -pkg kernels"

// The SIMD depthwise convolution (Groups == C == OutC).
//
// The generic implementation runs the direct loops of conv_generic.go; the
// SIMD implementations split the same work into calls of two row kernels,
// vectorised over channels:
//
//   - row (dwRowGo): a run of destination pixels, each the sum over up to
//     dwMaxRows window rows of up to dwMaxTaps taps — the forward pass
//     (destination y, source x) and the input gradient (destination dx,
//     source dy, the window mirrored);
//   - wgt (dwWgtGo): the weight gradient of a run of output pixels.
//
// The drivers below plan, once per call, the runs of pixels along a row
// whose windows hold the same taps: the interior, where the whole window
// lies inside the image, is one run; each border pixel is a run of its own
// with fewer taps, so padding is never read and never needs a branch in
// the kernels. The window rows of an image row are worked out the same way
// per row. Longer window rows are split into calls of at most dwMaxTaps
// taps. The forward pass and the input gradient compute the border
// pixels down bands of rows (dwBand) rather than one by one along each
// row: a lone pixel is a block of a few chained FMAs, which left the FMA
// units idle for a third of a 5×5 layer's time at 28 pixels a row; with
// stride 1 down the columns both run such a column through a
// column-mapped kernel with the window turned on its side (forwardColumn,
// backwardColumn). (The weight gradient already sums a border column over
// many rows per call.)
//
// Threads and determinism are as in the generic loops: forward rows and
// input-gradient rows are each written by one chunk; the weight gradient
// runs over fixed groups of output rows into partials that are added in
// group order (dwWgtPer, convSumPartials), so the result does not depend
// on the thread count. The SIMD kernels use FMA and sum each pixel's
// products in registers, so their results differ from the generic loops'
// by float32 rounding. Conv2dBackward runs both gradients group by group
// of those partials (dwBackwardRows), with the standalone passes' results.

const (
	dwMaxRows = 8 // window rows per kernel call (offs holds 2*dwMaxRows offsets)
	dwMaxTaps = 5 // taps per window row per kernel call
)

// dwOffs holds, for each window row r of a kernel call, the element offset
// of its first tap in the source (offs[r]) and in the weights
// (offs[dwMaxRows+r]).
type dwOffs = [2 * dwMaxRows]int

// dwRowGo is the reference of the row kernels. For output row q < nr,
// pixel i < n and channel j < c, with X = q*xrow and Y = q*yrow + i*ypix:
//
//	s := 0 (acc == 0) or y[Y+j] (acc != 0)
//	for r := 0; r < rows; r++ {
//		for t := 0; t < taps; t++ {
//			s += x[X+offs[r]+i*xpix+t*xtap+j] * w[offs[dwMaxRows+r]+t*wtap+j]
//		}
//	}
//	y[Y+j] = s
//
// with 1 <= rows <= dwMaxRows and 1 <= taps <= dwMaxTaps: nr rows of n
// pixels that share their window rows' offsets and weights (the interior
// rows of an image). The SIMD versions finish one output row before the
// next. Steps may be negative; every element read or written must lie in
// its slice (the SIMD versions do not check). pf and tile are hints for
// the SIMD versions, which give the same result either way: pf is memory
// they prefetch while they run; with tile > 0 they take a row's pixels
// through all the channels tile pixels at a time (dwTile) rather than
// each channel step through the whole row.
func dwRowGo(taps int, x, w, y []float32, offs dwOffs, rows, n, c, xpix, xtap, wtap, ypix, acc, nr, xrow, yrow int, pf []float32, tile int) {
	for q := 0; q < nr; q++ {
		for i := 0; i < n; i++ {
			dst := y[q*yrow+i*ypix:]
			dst = dst[:c]
			if acc == 0 {
				clear(dst)
			}
			for r := 0; r < rows; r++ {
				for t := 0; t < taps; t++ {
					src := x[q*xrow+offs[r]+i*xpix+t*xtap:]
					src = src[:len(dst)]
					wk := w[offs[dwMaxRows+r]+t*wtap:]
					wk = wk[:len(dst)]
					for j := range dst {
						dst[j] += src[j] * wk[j]
					}
				}
			}
		}
	}
}

// dwWgtGo is the reference of the weight-gradient kernels. For r < rows,
// t < taps and j < c it adds
//
//	Σ_{q<nr} Σ_{i<n} x[offs[r]+q*xrow+i*xpix+t*xtap+j] * y[q*yrow+i*ypix+j]
//
// to w[offs[dwMaxRows+r]+t*wtap+j]: nr output rows (xrow, yrow apart) of n
// pixels each. The SIMD versions sum over q and i in a register and then
// add the sum to w. Bounds as for dwRowGo.
func dwWgtGo(taps int, x, w, y []float32, offs dwOffs, rows, n, c, xpix, xtap, wtap, ypix, nr, xrow, yrow int) {
	for r := 0; r < rows; r++ {
		for t := 0; t < taps; t++ {
			dst := w[offs[dwMaxRows+r]+t*wtap:]
			dst = dst[:c]
			for q := 0; q < nr; q++ {
				for i := 0; i < n; i++ {
					src := x[offs[r]+q*xrow+i*xpix+t*xtap:]
					src = src[:len(dst)]
					g := y[q*yrow+i*ypix:]
					g = g[:len(dst)]
					for j := range dst {
						dst[j] += src[j] * g[j]
					}
				}
			}
		}
	}
}

// dwRowFunc is the signature of the row kernels (see dwRowGo).
type dwRowFunc = func(taps int, x, w, y []float32, offs dwOffs, rows, n, c, xpix, xtap, wtap, ypix, acc, nr, xrow, yrow int, pf []float32, tile int)

// dwKernels is one implementation's set of row kernels: row for any steps,
// and versions of it for the column patterns of dilation 1 — rowS1 for
// xpix = xtap = u (forward, stride 1), rowS2 for xpix = 2u, xtap = u
// (forward, stride 2) and rowM1 for xpix = u, xtap = -u (input gradient)
// — which load each source column once per pixel block and window row
// instead of once per tap; the same for the weight gradient: wgt, and
// wgtS1 for xpix = xtap = u.
type dwKernels struct {
	row, rowS1, rowS2, rowM1 dwRowFunc
	wgt, wgtS1               dwWgtFunc
}

// dwWgtFunc is the signature of the weight-gradient kernels (see dwWgtGo).
type dwWgtFunc = func(taps int, x, w, y []float32, offs dwOffs, rows, n, c, xpix, xtap, wtap, ypix, nr, xrow, yrow int)

// fwdRow returns the row kernel for the forward pass of p.
func (k *dwKernels) fwdRow(p *ConvParams) dwRowFunc {
	switch {
	case p.DilW == 1 && p.StrideW == 1:
		return k.rowS1
	case p.DilW == 1 && p.StrideW == 2:
		return k.rowS2
	}
	return k.row
}

// wgtRow returns the weight-gradient kernel of p.
func (k *dwKernels) wgtRow(p *ConvParams) dwWgtFunc {
	if p.DilW == 1 && p.StrideW == 1 {
		return k.wgtS1
	}
	return k.wgt
}

// bwdRow returns the row kernel for the input gradient of p.
func (k *dwKernels) bwdRow(p *ConvParams) dwRowFunc {
	if p.DilW == 1 {
		return k.rowM1
	}
	return k.row
}

// dwSIMD holds the selected implementation's row kernels; nil selects the
// generic loops.
var dwSIMD *dwKernels

// dwGo runs the row-kernel drivers on the Go reference kernels: a test
// oracle for the drivers' planning, never selected for real work.
var dwGo = &dwKernels{row: dwRowGo, rowS1: dwRowGo, rowS2: dwRowGo, rowM1: dwRowGo, wgt: dwWgtGo, wgtS1: dwWgtGo}

var _ = onImpl(Generic, func() { dwSIMD = nil })

// dwRowsOK reports whether the row-kernel drivers handle p (a depthwise
// convolution): the window has at most dwMaxRows rows and, for the input
// gradient, stride and dilation are not both above 1 along an axis.
func (p *ConvParams) dwRowsOK(inputGrad bool) bool {
	if p.KH > dwMaxRows {
		return false
	}
	return !inputGrad || ((p.StrideH == 1 || p.DilH == 1) && (p.StrideW == 1 || p.DilW == 1))
}

// dwFwdTaps returns the taps k0, k0+1, …, k0+nt-1 of output index o whose
// input index o*s - pad + k*d lies in [0, in), and the input index i0 of
// tap k0.
func dwFwdTaps(o, s, d, pad, k, in int) (k0, nt, i0 int) {
	base := o*s - pad
	lo := 0
	if base < 0 {
		lo = (-base + d - 1) / d
	}
	m := in - 1 - base
	if m < 0 {
		return 0, 0, 0
	}
	hi := min(k-1, m/d)
	if hi < lo {
		return 0, 0, 0
	}
	return lo, hi - lo + 1, base + lo*d
}

// dwBwdTaps returns the taps that read input index i, for stride 1 or
// dilation 1: kernel indices k0 + j*ks and output indices o0 - j*os for
// j < nt (the inverse of dwFwdTaps).
func dwBwdTaps(i, s, d, pad, k, out int) (k0, ks, o0, os, nt int) {
	t := i + pad // >= 0
	if s == 1 {  // o = t - kk*d
		lo := 0
		if m := t - (out - 1); m > 0 {
			lo = (m + d - 1) / d
		}
		hi := min(k-1, t/d)
		if hi < lo {
			return 0, 1, 0, d, 0
		}
		return lo, 1, t - lo*d, d, hi - lo + 1
	}
	// d == 1: kk ≡ t (mod s), o = (t - kk)/s.
	rho := t % s
	q := (t - rho) / s
	if rho > k-1 {
		return 0, s, 0, 1, 0
	}
	jlo := max(0, q-out+1)
	jhi := min(q, (k-1-rho)/s)
	if jhi < jlo {
		return 0, s, 0, 1, 0
	}
	return rho + jlo*s, s, q - jlo, 1, jhi - jlo + 1
}

// dwRun is a run of destination pixels p0, p0+step, … (n of them) along a
// row whose windows hold the same taps k0… (nt of them); q0 is the source
// index of pixel p0's tap k0.
type dwRun struct {
	p0, n, k0, nt, q0 int
}

// dwPlan is the pooled scratch of one driver call.
type dwPlan struct{ runs []dwRun }

var dwPlans = sync.Pool{New: func() any { return new(dwPlan) }}

// fwdCols plans the output columns of the forward pass and weight
// gradient: pixels step 1, source columns step StrideW per pixel.
func (pl *dwPlan) fwdCols(p *ConvParams) []dwRun {
	runs := pl.runs[:0]
	for o := 0; o < p.OutW; {
		k0, nt, i0 := dwFwdTaps(o, p.StrideW, p.DilW, p.PadLeft, p.KW, p.W)
		e := o + 1
		for e < p.OutW {
			k, t, _ := dwFwdTaps(e, p.StrideW, p.DilW, p.PadLeft, p.KW, p.W)
			if k != k0 || t != nt {
				break
			}
			e++
		}
		runs = append(runs, dwRun{o, e - o, k0, nt, i0})
		o = e
	}
	pl.runs = runs
	return runs
}

// bwdCols plans the input columns of the input gradient: for each residue
// class of columns modulo StrideW, pixels step StrideW and dy columns step
// 1 per pixel.
func (pl *dwPlan) bwdCols(p *ConvParams) []dwRun {
	runs := pl.runs[:0]
	s := p.StrideW
	for start := 0; start < min(s, p.W); start++ {
		for i := start; i < p.W; {
			k0, _, o0, _, nt := dwBwdTaps(i, s, p.DilW, p.PadLeft, p.KW, p.OutW)
			e := i + s
			for e < p.W {
				k, _, _, _, t := dwBwdTaps(e, s, p.DilW, p.PadLeft, p.KW, p.OutW)
				if k != k0 || t != nt {
					break
				}
				e += s
			}
			runs = append(runs, dwRun{i, (e - i) / s, k0, nt, o0})
			i = e
		}
	}
	pl.runs = runs
	return runs
}

// dwRowArgs are the arguments of one call of a row-kernel driver, read by
// its parallel loop (dwFwdTasks, dwBwdTasks, dwWgtTasks).
type dwRowArgs struct {
	k        *dwKernels
	p        ConvParams
	x, w, y  []float32 // source, weights, destination (per pass: see the drivers)
	cols     []dwRun
	kr       dwRowFunc
	xtap     int  // input gradient: dy step per tap
	xrow, yr int  // weight gradient: x and dy steps per output row
	set      bool // input gradient: write dx rather than add to it
	tile     int  // the row kernels' tile argument (dwTile)
}

var (
	dwFwdTasks = parallel.NewTasks((*dwRowArgs).forward)
	dwBwdTasks = parallel.NewTasks((*dwRowArgs).backwardInput)
	dwWgtTasks = parallel.NewTasks((*convReduction[dwRowArgs]).groups)
)

// dwBand is the number of rows whose narrow column runs (the border
// pixels) the forward pass and the input gradient compute together, down
// the band.
const dwBand = 8

// dwBandGrain is the parallel chunk size of a depthwise pass over units
// rows of work multiply-adds each (see bandGrain).
func dwBandGrain(units, work int) int {
	return bandGrain(units, (1<<16)/max(1, work), dwBand)
}

// bandGrain returns the parallel chunk size of a pass over units rows that
// works in bands of band rows, with chunks of at least minRows rows where
// there are enough: whole bands, none more than a quarter of a thread's
// share, and of those sizes the largest whose chunks the threads, taking
// them as they finish, share most evenly. Bands are the rows
// [b*band, (b+1)*band) of the whole batch, cut at image boundaries
// (bandEnd); chunks hold whole bands, so the blocks, and with them the
// rounding, do not depend on the thread count. parallel.Grain's four
// chunks a thread rounded down to whole bands left one thread a chunk
// behind the other: B0's 5×5 layer at batch 8 (28 bands) went in 10 chunks
// of 3 bands, 5 for one thread and 4⅓ for the other (now 14 of 2), the
// stem in 10 chunks of 4 (now 38 of 1).
func bandGrain(units, minRows, band int) int {
	bands := convCeilDiv(units, band)
	t := parallel.Threads()
	lo := max(1, convCeilDiv(minRows, band))
	best, span := lo, -1
	for b := max(lo, convCeilDiv(bands, 4*t)); b >= lo; b-- {
		// The bands the busiest thread does if the threads take
		// chunks in turn.
		if s := convCeilDiv(convCeilDiv(bands, b), t) * b; span < 0 || s < span {
			best, span = b, s
		}
	}
	return best * band
}

// bandEnd returns the end of the band of band rows that starts at row b0
// of a chunk ending at hi, in images of rows rows.
func bandEnd(b0, hi, rows, band int) int {
	return min(hi, (b0/rows+1)*rows, (b0/band+1)*band)
}

// dwNarrow is the widest column run the forward pass computes down a band
// rather than along each row: a border pixel alone is a one-pixel block,
// whose few chained FMAs leave the FMA units idle; down a band of rows
// with the same window rows it is a block of up to dwBand pixels.
const dwNarrow = 3

// dwForwardRows is the forward pass on the row kernels of k.
func dwForwardRows(k *dwKernels, p *ConvParams, x, w, y []float32) {
	pl := dwPlans.Get().(*dwPlan)
	units := p.N * p.OutH
	dwFwdTasks.For(units, dwBandGrain(units, p.OutW*p.C*p.KH*p.KW), dwRowArgs{k: k, p: *p, x: x, w: w, y: y, cols: pl.fwdCols(p), kr: k.fwdRow(p), tile: p.dwTile(p.W)})
	dwPlans.Put(pl)
}

// forward computes the output rows [lo, hi): band by band, and in each
// band by groups of rows with the same window rows, the wide runs along
// the rows (forwardRows), then the narrow runs down the group's rows.
func (a *dwRowArgs) forward(lo, hi int) {
	p := &a.p
	rowLen := p.OutW * p.C
	var offs dwOffs
	for b0 := lo; b0 < hi; {
		b1 := bandEnd(b0, hi, p.OutH, dwBand)
		for u := b0; u < b1; {
			kh0, nh, _ := dwFwdTaps(u%p.OutH, p.StrideH, p.DilH, p.PadTop, p.KH, p.H)
			e := u + 1
			for e < b1 {
				if k2, n2, _ := dwFwdTaps(e%p.OutH, p.StrideH, p.DilH, p.PadTop, p.KH, p.H); k2 != kh0 || n2 != nh {
					break
				}
				e++
			}
			if nh == 0 {
				clear(a.y[u*rowLen : e*rowLen])
				u = e
				continue
			}
			for i := range a.cols {
				r := &a.cols[i]
				switch {
				case r.nt == 0:
					for v := u; v < e; v++ {
						clear(a.y[v*rowLen+r.p0*p.C : v*rowLen+(r.p0+r.n)*p.C])
					}
				case r.n <= dwNarrow: // down the rows below
				case p.dwChunked(false):
					a.forwardRows(&offs, r, u, e-u, dwChunk, nil)
				default:
					for v := u; v < e; v++ {
						a.forwardRows(&offs, r, v, 1, p.C, a.nextRows(v, hi))
					}
				}
			}
			for i := range a.cols {
				r := &a.cols[i]
				if r.nt == 0 || r.n > dwNarrow {
					continue
				}
				for col := 0; col < r.n; col++ {
					if p.sideways(nh, r.nt) {
						a.forwardColumn(&offs, r, u, e-u, col)
					} else {
						a.forwardRun(&offs, r, u, e-u, col)
					}
				}
			}
			u = e
		}
		b0 = b1
	}
}

// The forward pass runs the wide runs of a group of rows one of two ways:
//
//   - row by row, all channels at once, prefetching during each row the
//     input rows the next one adds (nextRows);
//   - in chunks of dwChunk channels, each chunk down all the rows in one
//     kernel call before the next chunk (dwChunked).
//
// A chunk's window rows (5 rows of 28 pixels × 32 channels at 5×5: 18 KB)
// stay in L1 from one output row to the next, where all the channels' (134
// KB) come from L2 for each row; with 25 multiply-adds per source element
// that paid: the 5×5 layer of BenchmarkLayers (28×28, 240 channels, batch
// 8) ran 6–9 % faster on one thread, 8–11 % on two (AMD Zen 3). Where a
// source element takes part in few multiply-adds the pass streams from
// memory, and there the chunks' strided first touches cost more than L1
// saves: 3×3 stride 1 and 5×5 stride 2 ran 4–6 % slower in chunks, and
// slower still without the prefetch.
const (
	dwChunk          = 32
	dwChunkIntensity = 16
)

// dwTile returns the row kernels' tile argument for a pass whose source
// rows hold w pixels: 0 (whole rows) where one channel step's pass over a
// row stays in L1, else the pixels a tile may hold so that it does. That
// pass reads about KH·(w + KW - 1) lines, one per source pixel and window
// row, and with a pixel stride of s lines (C/16) sharing a factor g with
// L1's 64 sets (Zen 3, Intel alike: 32 KB, 8 ways) those lines fall on
// only 64/g sets: 512/g lines fit. Beyond that the next channel step,
// which reads the other half of the same lines, finds them gone. The tile
// is a multiple of 12 pixels (the 3-tap kernels' widest block) that fills
// at most three quarters of those lines, at most 24; where not even 12 fit
// (5×5 at C=256), tiles do not help and the rows stay whole.
//
// 3×3 layers at batch 4, one thread, best of four interleaved runs
// (forward / input gradient, GFLOP/s; AMD Zen 3): C=64 at 64×64 (tiles of
// 24) 40.2 → 45.6 / 38.5 → 42.2; C=32 at 112×112 (24) 40.5 → 47.5 /
// 40.0 → 44.7; C=128 at 56×56 (12) 23.0 → 33.2 / 22.6 → 34.3 (24: 24.5 /
// 24.0). On layers whose pass fits (C=144 at 56×56, C=240 at 28×28)
// tiles of 24 measured 2–7 % slower; 5×5 at C=256 lost 14 % in tiles of
// 12.
func (p *ConvParams) dwTile(w int) int {
	if p.C%16 != 0 {
		return 0 // the stride is not a whole number of lines
	}
	g := 1
	for s := p.C / 16; s%2 == 0 && g < 64; s /= 2 {
		g *= 2
	}
	lines := 512 / g
	if p.KH*(w+p.KW-1) <= lines {
		return 0
	}
	fit := 3*lines/4/p.KH - (p.KW - 1) // pixels whose lines fill 3/4 of them
	if fit < dwTileUnit {
		return 0
	}
	return min(2*dwTileUnit, fit/dwTileUnit*dwTileUnit)
}

// dwTileUnit is the granularity of dwTile: the widest pixel block of the
// 3-tap row kernels (AVX2).
const dwTileUnit = 12

// dwChunked reports whether the forward pass (inputGrad false) or, with
// StrideH 1, the input gradient runs its wide runs in channel chunks:
// where each source element takes part in at least dwChunkIntensity
// multiply-adds, KH·KW/(StrideH·StrideW), and, for the input gradient
// only, where the window rows of all channels (KH rows of W·C) also take
// more than an eighth of L2.
//
// The input gradient ran 3–4 % faster in chunks on the Zen 3's 5×5 layer
// above (512 KiB L2: its 134 KB are a quarter). With the Intel Xeon's
// 2 MiB L2 (a fifteenth) the rows come from L2 fast enough, and the
// chunks' strided first touches cost more: BenchmarkDepthwise's
// dw5x5_240_28 input gradient, medians of six, whole rows → chunks, 94.7
// → 87.4 GFLOP/s on one thread, 133.4 → 124.3 on two.
//
// The forward pass once measured the same on the Xeon (chunks → whole
// rows 104 → 111–113 on one thread), but with its kernels as they are now
// chunks are the faster there too. Whole rows → chunks, medians of eight
// interleaved runs of BenchmarkLayers/dw5x5_240_28/fwd: 103.1 → 106.1,
// 104.0 → 107.0 and 107.2 → 113.3 on one thread, 189.1 → 195.6, 189.0 →
// 195.6 and 204.4 → 211.8 on two (forward+backward the same either way);
// BenchmarkDepthwise's 5×5 at 14×14×672, medians of six, 75.5 → 79.7 and
// 141.2 → 147.2, and at 7×7×1152 the same either way.
func (p *ConvParams) dwChunked(inputGrad bool) bool {
	if p.KH*p.KW < dwChunkIntensity*p.StrideH*p.StrideW {
		return false
	}
	return !inputGrad || p.KH*p.W*p.C*4 > cacheSizes.l2/8
}

// nextRows returns the input rows that output row u+1 reads and row u
// does not, for a prefetch while row u runs; nil at the end of an image
// or of the rows [.., hi).
func (a *dwRowArgs) nextRows(u, hi int) []float32 {
	p := &a.p
	oh := u % p.OutH
	if oh+1 >= p.OutH || u+1 >= hi {
		return nil
	}
	img := u / p.OutH
	_, nh, ih0 := dwFwdTaps(oh, p.StrideH, p.DilH, p.PadTop, p.KH, p.H)
	i0 := max(0, ih0+(nh-1)*p.DilH+1)
	i1 := min(p.H, (oh+1)*p.StrideH-p.PadTop+(p.KH-1)*p.DilH+1)
	if i0 >= i1 {
		return nil
	}
	return a.x[(img*p.H+i0)*p.W*p.C : (img*p.H+i1)*p.W*p.C]
}

// forwardRows runs the wide run r along nr output rows from u on, rows
// that have the same window rows, cc channels at a time: one kernel call
// per chunk (and dwMaxTaps taps), the rows one after the other. pf is
// prefetched during the first call.
func (a *dwRowArgs) forwardRows(offs *dwOffs, r *dwRun, u, nr, cc int, pf []float32) {
	p := &a.p
	c := p.C
	img, oh := u/p.OutH, u%p.OutH
	kh0, nh, ih0 := dwFwdTaps(oh, p.StrideH, p.DilH, p.PadTop, p.KH, p.H)
	for c0 := 0; c0 < c; c0 += cc {
		for t := 0; t < r.nt; t += dwMaxTaps {
			for j := 0; j < nh; j++ {
				offs[j] = ((img*p.H+ih0+j*p.DilH)*p.W+r.q0+t*p.DilW)*c + c0
				offs[dwMaxRows+j] = ((kh0+j)*p.KW+r.k0+t)*c + c0
			}
			a.kr(min(dwMaxTaps, r.nt-t), a.x, a.w, a.y[(u*p.OutW+r.p0)*c+c0:], *offs, nh, r.n, min(cc, c-c0),
				p.StrideW*c, p.DilW*c, c, c, min(t, 1), nr, p.StrideH*p.W*c, p.OutW*c, pf, a.tile)
			pf = nil
		}
	}
}

// forwardRun runs column col of the narrow run r down n output rows from
// row u on, rows that have the same window rows, with the general kernel.
func (a *dwRowArgs) forwardRun(offs *dwOffs, r *dwRun, u, n, col int) {
	p := &a.p
	c := p.C
	img, oh := u/p.OutH, u%p.OutH
	kh0, nh, ih0 := dwFwdTaps(oh, p.StrideH, p.DilH, p.PadTop, p.KH, p.H)
	q0 := r.q0 + col*p.StrideW
	for t := 0; t < r.nt; t += dwMaxTaps {
		for j := 0; j < nh; j++ {
			offs[j] = ((img*p.H+ih0+j*p.DilH)*p.W + q0 + t*p.DilW) * c
			offs[dwMaxRows+j] = ((kh0+j)*p.KW + r.k0 + t) * c
		}
		a.k.row(min(dwMaxTaps, r.nt-t), a.x, a.w, a.y[(u*p.OutW+r.p0+col)*c:], *offs, nh, n, c,
			p.StrideH*p.W*c, p.DilW*c, c, p.OutW*c, min(t, 1), 1, 0, 0, nil, 0)
	}
}

// sideways reports whether a border column of a band, with nh window rows
// of nt taps, runs through forwardColumn or backwardColumn: stride and
// dilation 1 down the columns, and the window's rows and taps within a
// kernel call's taps and rows.
func (p *ConvParams) sideways(nh, nt int) bool {
	return p.StrideH == 1 && p.DilH == 1 && nh <= dwMaxTaps && nt <= dwMaxRows
}

// bwdTapSteps returns, for the input gradient along a row, the steps of the
// kernel index (ks) and of the dy column (os) from one tap to the next
// (see dwBwdTaps).
func (p *ConvParams) bwdTapSteps() (ks, os int) {
	if p.StrideW > 1 {
		return p.StrideW, 1
	}
	return 1, p.DilW
}

// forwardColumn runs column col of run r down n output rows from row u on
// (p.sideways) with the column-mapped kernel rowS1, the window
// turned on its side: its rows are the kernel's taps, which then step one
// input row (W·C) as the pixels do, so each input row is loaded once per
// pixel block and tap and multiplied into every pixel whose window holds
// it; its taps are the kernel's window rows. The generic kernel, one load
// per product, ran these border pixels at two thirds of rowS1's speed.
func (a *dwRowArgs) forwardColumn(offs *dwOffs, r *dwRun, u, n, col int) {
	p := &a.p
	c := p.C
	img, oh := u/p.OutH, u%p.OutH
	kh0, nh, ih0 := dwFwdTaps(oh, 1, 1, p.PadTop, p.KH, p.H)
	q0 := r.q0 + col*p.StrideW
	for t := 0; t < r.nt; t++ {
		offs[t] = ((img*p.H+ih0)*p.W + q0 + t*p.DilW) * c
		offs[dwMaxRows+t] = (kh0*p.KW + r.k0 + t) * c
	}
	a.k.rowS1(nh, a.x, a.w, a.y[(u*p.OutW+r.p0+col)*c:], *offs, r.nt, n, c,
		p.W*c, p.W*c, p.KW*c, p.OutW*c, 0, 1, 0, 0, nil, 0)
}

// dwBackwardInputRows is the input gradient on the row kernels of k: each
// dx pixel gathers the dy pixels whose windows read it, with the window
// mirrored (dy and weight taps step in opposite directions). As in the
// forward pass, the narrow column runs (border pixels) go down bands of
// rows, and chunks hold whole bands.
//
// With set, each pixel's first kernel call writes its sum instead of
// adding it, and the pixels no window reads are cleared, so dx need not be
// initialised.
func dwBackwardInputRows(k *dwKernels, p *ConvParams, dy, w, dx []float32, set bool) {
	pl := dwPlans.Get().(*dwPlan)
	units := p.N * p.H
	dwBwdTasks.For(units, dwBandGrain(units, p.W*p.C*p.KH*p.KW), dwBwdArgs(k, p, dy, w, dx, set, pl))
	dwPlans.Put(pl)
}

// dwBwdArgs returns the input gradient's driver arguments, its column
// runs planned in pl.
func dwBwdArgs(k *dwKernels, p *ConvParams, dy, w, dx []float32, set bool, pl *dwPlan) dwRowArgs {
	// Along a row: dy moves 1 column per pixel and -DilW (stride 1) or -1
	// (dilation 1) columns per tap; the weights move 1 (stride 1) or StrideW
	// (dilation 1) taps per tap; dx moves StrideW columns per pixel.
	xtap := -p.DilW * p.C
	if p.StrideW > 1 {
		xtap = -p.C
	}
	return dwRowArgs{k: k, p: *p, x: dy, w: w, y: dx, cols: pl.bwdCols(p), kr: k.bwdRow(p), xtap: xtap, set: set, tile: p.dwTile(p.OutW)}
}

// backwardInput adds the input gradient of rows [lo, hi) of dx (a.y) from
// dy (a.x): band by band, the wide runs along each row (or, dwChunked,
// down groups of rows in channel chunks), then the narrow runs down the
// band.
func (a *dwRowArgs) backwardInput(lo, hi int) {
	p := &a.p
	c := p.C
	rowLen := p.W * c
	dy, dx := a.x, a.y
	var offs dwOffs
	for b0 := lo; b0 < hi; {
		img := b0 / p.H
		b1 := bandEnd(b0, hi, p.H, dwBand)
		for u := b0; u < b1; u++ {
			ih := u % p.H
			_, _, oh0, _, nh := dwBwdTaps(ih, p.StrideH, p.DilH, p.PadTop, p.KH, p.OutH)
			if nh == 0 {
				if a.set {
					clear(dx[u*rowLen : (u+1)*rowLen])
				}
				continue
			}
			// The wide runs: of row u alone, all channels at once,
			// prefetching during the longest run the dy row the next dx
			// row reads first, or if there is none (stride 2 brings one
			// every other row) the next dx row (read and written); or,
			// dwChunked with StrideH 1, of the rows from u on whose
			// windows step on by one dy row, in channel chunks as in the
			// forward pass.
			e, cc := u+1, c
			var pf []float32
			if p.StrideH == 1 && p.dwChunked(true) {
				e, _ = a.bwdRowsEnd(u, b1)
				cc = dwChunk
			} else if u+1 < hi && ih+1 < p.H {
				pf = dx[(u+1)*rowLen : (u+2)*rowLen]
				if _, _, o, _, m := dwBwdTaps(ih+1, p.StrideH, p.DilH, p.PadTop, p.KH, p.OutH); m > 0 && o != oh0 {
					pf = dy[(img*p.OutH+o)*p.OutW*c : (img*p.OutH+o+1)*p.OutW*c]
				}
			}
			for i := range a.cols {
				r := &a.cols[i]
				switch {
				case r.nt == 0: // pixels no window reads
					if a.set {
						for v := u; v < e; v++ {
							for j := range r.n {
								o := (v*p.W + r.p0 + j*p.StrideW) * c
								clear(dx[o : o+c])
							}
						}
					}
				case r.n > dwNarrow:
					a.backwardRows(&offs, r, u, e-u, cc, pf)
					pf = nil
				}
			}
			u = e - 1
		}
		// The narrow runs, down the band's rows of each residue class
		// modulo StrideH whose window rows step on by one dy row.
		for s0 := 0; s0 < p.StrideH; s0++ {
			for u := b0 + s0; u < b1; {
				_, _, _, _, nh := dwBwdTaps(u%p.H, p.StrideH, p.DilH, p.PadTop, p.KH, p.OutH)
				e, m := a.bwdRowsEnd(u, b1)
				if nh > 0 {
					for i := range a.cols {
						r := &a.cols[i]
						if r.nt == 0 || r.n > dwNarrow {
							continue
						}
						for col := 0; col < r.n; col++ {
							if p.sideways(nh, r.nt) {
								a.backwardColumn(&offs, r, u, m, col)
								continue
							}
							a.backwardRun(&offs, r, u, m, col, p.StrideH)
						}
					}
				}
				u = e
			}
		}
		b0 = b1
	}
}

// bwdRowsEnd returns the m dx rows u, u+StrideH, … before e (and b1, the
// end of u's band) whose windows hold the same taps as row u's, each one
// dy row on from the last's.
func (a *dwRowArgs) bwdRowsEnd(u, b1 int) (e, m int) {
	p := &a.p
	kh0, khs, oh0, ohs, nh := dwBwdTaps(u%p.H, p.StrideH, p.DilH, p.PadTop, p.KH, p.OutH)
	e, m = u+p.StrideH, 1
	for ; e < b1; e, m = e+p.StrideH, m+1 {
		k2, ks2, o2, os2, n2 := dwBwdTaps(e%p.H, p.StrideH, p.DilH, p.PadTop, p.KH, p.OutH)
		if k2 != kh0 || ks2 != khs || os2 != ohs || n2 != nh || o2 != oh0+m {
			break
		}
	}
	return e, m
}

// backwardRows adds (with set, writes) the wide run r of nr dx rows from u
// on, rows whose windows step on by one dy row (bwdRowsEnd), cc channels
// at a time: one kernel call per chunk (and dwMaxTaps taps), the rows one
// after the other. pf is prefetched during the first call.
func (a *dwRowArgs) backwardRows(offs *dwOffs, r *dwRun, u, nr, cc int, pf []float32) {
	p := &a.p
	c := p.C
	img, ih := u/p.H, u%p.H
	kh0, khs, oh0, ohs, nh := dwBwdTaps(ih, p.StrideH, p.DilH, p.PadTop, p.KH, p.OutH)
	ks, os := p.bwdTapSteps()
	for c0 := 0; c0 < c; c0 += cc {
		for t := 0; t < r.nt; t += dwMaxTaps {
			for j := 0; j < nh; j++ {
				offs[j] = ((img*p.OutH+oh0-j*ohs)*p.OutW+r.q0-t*os)*c + c0
				offs[dwMaxRows+j] = ((kh0+j*khs)*p.KW+r.k0+t*ks)*c + c0
			}
			acc := 1 // add to dx, or with set write the first taps' sum
			if a.set {
				acc = min(t, 1)
			}
			a.kr(min(dwMaxTaps, r.nt-t), a.x, a.w, a.y[(u*p.W+r.p0)*c+c0:], *offs, nh, r.n, min(cc, c-c0),
				c, a.xtap, ks*c, p.StrideW*c, acc, nr, p.OutW*c, p.W*c, pf, a.tile)
			pf = nil
		}
	}
}

// backwardRun adds (with set, writes) column col of the narrow run r down
// n dx rows from row u on, down rows apart (dy moves one row per pixel),
// with the general kernel.
func (a *dwRowArgs) backwardRun(offs *dwOffs, r *dwRun, u, n, col, down int) {
	p := &a.p
	c := p.C
	img, ih := u/p.H, u%p.H
	kh0, khs, oh0, ohs, nh := dwBwdTaps(ih, p.StrideH, p.DilH, p.PadTop, p.KH, p.OutH)
	ks, os := p.bwdTapSteps()
	q0 := r.q0 + col
	for t := 0; t < r.nt; t += dwMaxTaps {
		for j := 0; j < nh; j++ {
			offs[j] = ((img*p.OutH+oh0-j*ohs)*p.OutW + q0 - t*os) * c
			offs[dwMaxRows+j] = ((kh0+j*khs)*p.KW + r.k0 + t*ks) * c
		}
		acc := 1 // add to dx, or with set write the first taps' sum
		if a.set {
			acc = min(t, 1)
		}
		a.k.row(min(dwMaxTaps, r.nt-t), a.x, a.w, a.y[(u*p.W+r.p0+col*p.StrideW)*c:], *offs, nh, n, c,
			p.OutW*c, a.xtap, ks*c, down*p.W*c, acc, 1, 0, 0, nil, 0)
	}
}

// backwardColumn adds (with set, writes) column col of run r down n dx
// rows from row u on (p.sideways) with the column-mapped kernel rowM1, the
// window turned on its side as in forwardColumn: its rows are the
// kernel's taps, which step one dy row back as the pixels step one
// forward.
func (a *dwRowArgs) backwardColumn(offs *dwOffs, r *dwRun, u, n, col int) {
	p := &a.p
	c := p.C
	img, ih := u/p.H, u%p.H
	kh0, _, oh0, _, nh := dwBwdTaps(ih, 1, 1, p.PadTop, p.KH, p.OutH)
	ks, os := p.bwdTapSteps()
	q0 := r.q0 + col
	for t := 0; t < r.nt; t++ {
		offs[t] = ((img*p.OutH+oh0)*p.OutW + q0 - t*os) * c
		offs[dwMaxRows+t] = (kh0*p.KW + r.k0 + t*ks) * c
	}
	acc := 1 // add to dx, or with set write
	if a.set {
		acc = 0
	}
	a.k.rowM1(nh, a.x, a.w, a.y[(u*p.W+r.p0+col*p.StrideW)*c:], *offs, r.nt, n, c,
		p.OutW*c, -p.OutW*c, p.KW*c, p.W*c, acc, 1, 0, 0, nil, 0)
}

// dwBackwardWeightRows is the weight gradient on the row kernels of k,
// with the generic loops' partition of output rows into partials, in
// whole bands where they are half a band or more (dwWgtPer).
func dwBackwardWeightRows(k *dwKernels, p *ConvParams, x, dy, dw []float32) {
	pl := dwPlans.Get().(*dwPlan)
	units, ws, per := p.dwWgtGroups()
	runConvReduction(dwWgtTasks, convReduction[dwRowArgs]{
		args: dwWgtArgs(k, p, x, dy, pl), sum: (*dwRowArgs).weightRows,
		units: units, ws: ws, per: per,
	}, dw)
	dwPlans.Put(pl)
}

// dwWgtArgs returns the weight gradient's driver arguments, its column
// runs planned in pl.
func dwWgtArgs(k *dwKernels, p *ConvParams, x, dy []float32, pl *dwPlan) dwRowArgs {
	return dwRowArgs{k: k, p: *p, x: x, y: dy, cols: pl.fwdCols(p), xrow: p.StrideH * p.W * p.C, yr: p.OutW * p.C}
}

// dwWgtGroups returns the weight gradient's output rows (units), the
// weights each partial holds (ws) and the output rows of each partial
// group (dwWgtPer).
func (p *ConvParams) dwWgtGroups() (units, ws, per int) {
	units, ws = p.N*p.OutH, p.KH*p.KW*p.C
	return units, ws, dwWgtPer(units, ws)
}

// dwWgtPer returns the output rows of each of the weight gradient's
// partial groups: convPartialPlan's, rounded up to whole bands (dwBand)
// where they are half a band or more, so that the fused backward pass
// (dwBackwardRows) can run the input gradient of a group's rows in the
// bands dwBackwardInputRows runs them in, and give the standalone passes'
// results bit for bit. Smaller groups stay as they are: rounding them up
// would leave too few groups to share among the threads.
func dwWgtPer(units, ws int) int {
	per, _ := convPartialPlan(units, ws)
	if 2*per < dwBand {
		return per
	}
	return convCeilDiv(per, dwBand) * dwBand
}

// dwFused reports whether dwBackwardRows handles p (a depthwise
// convolution): both row-kernel drivers do, the input gradient's rows are
// the output rows (stride 1 down the columns, an output as tall as the
// input), and the weight gradient's partial groups are whole bands.
func (p *ConvParams) dwFused() bool {
	_, _, per := p.dwWgtGroups()
	return p.dwRowsOK(true) && p.dwRowsOK(false) && p.StrideH == 1 && p.OutH == p.H && per%dwBand == 0
}

// dwBoth is the fused backward pass's arguments: the input gradient's and
// the weight gradient's drivers.
type dwBoth struct{ in, wgt dwRowArgs }

var dwBothTasks = parallel.NewTasks((*convReduction[dwBoth]).groups)

// rows runs the input gradient of rows [u0, u1) and then adds their
// weight gradient to acc, while the dy rows the first read are still in
// L2 for the second.
func (a *dwBoth) rows(u0, u1 int, acc []float32) {
	a.in.backwardInput(u0, u1)
	a.wgt.weightRows(u0, u1, acc)
}

// dwBackwardRows is dwBackwardInputRows and dwBackwardWeightRows in one
// pass (p.dwFused): group by group of the weight gradient's partials,
// each group's input-gradient rows, then its weight-gradient rows. The
// standalone passes read dy once each; here the second read finds it in
// L2, a sixth less memory traffic for a layer's forward and backward
// passes. The groups are whole bands (dwWgtPer), so the results are the
// standalone passes' bit for bit.
func dwBackwardRows(k *dwKernels, p *ConvParams, x, w, dy, dx, dw []float32, set bool) {
	in, wp := dwPlans.Get().(*dwPlan), dwPlans.Get().(*dwPlan)
	both := dwBoth{in: dwBwdArgs(k, p, dy, w, dx, set, in), wgt: dwWgtArgs(k, p, x, dy, wp)}
	units, ws, per := p.dwWgtGroups()
	runConvReduction(dwBothTasks, convReduction[dwBoth]{
		args: both, sum: (*dwBoth).rows, units: units, ws: ws, per: per,
	}, dw)
	dwPlans.Put(in)
	dwPlans.Put(wp)
}

// weightRows adds the weight gradient of output rows [u0, u1) from x
// (a.x) and dy (a.y) to acc. Consecutive output rows of one image with
// the same window rows (all interior rows) go into one kernel call per
// column run, so that the kernel adds its register sums to acc once for
// all of them.
func (a *dwRowArgs) weightRows(u0, u1 int, acc []float32) {
	p := &a.p
	c := p.C
	kw := a.k.wgtRow(p)
	var offs dwOffs
	for u := u0; u < u1; {
		n, oh := u/p.OutH, u%p.OutH
		kh0, nh, ih0 := dwFwdTaps(oh, p.StrideH, p.DilH, p.PadTop, p.KH, p.H)
		nr := 1
		for u+nr < u1 && oh+nr < p.OutH {
			if k2, n2, _ := dwFwdTaps(oh+nr, p.StrideH, p.DilH, p.PadTop, p.KH, p.H); k2 != kh0 || n2 != nh {
				break
			}
			nr++
		}
		if nh > 0 {
			for _, r := range a.cols {
				if r.nt == 0 {
					continue
				}
				for t := 0; t < r.nt; t += dwMaxTaps {
					for j := 0; j < nh; j++ {
						offs[j] = ((n*p.H+ih0+j*p.DilH)*p.W + r.q0 + t*p.DilW) * c
						offs[dwMaxRows+j] = ((kh0+j)*p.KW + r.k0 + t) * c
					}
					kw(min(dwMaxTaps, r.nt-t), a.x, acc, a.y[(u*p.OutW+r.p0)*c:], offs, nh, r.n, c,
						p.StrideW*c, p.DilW*c, c, c, nr, a.xrow, a.yr)
				}
			}
		}
		u += nr
	}
}
