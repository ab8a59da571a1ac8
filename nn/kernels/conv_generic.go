package kernels

import (
	"sync"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// Four paths, chosen from the parameters alone:
//
//   - depthwise (Groups == C == OutC): direct loops whose innermost loop runs
//     over channels, contiguous in NHWC (the SIMD implementations run the
//     row kernels of conv_depthwise.go instead);
//   - pointwise (1×1, stride 1, no padding, groups of any size): the input is
//     already the [N*H*W, C] matrix, so one Sgemm per group with no copy;
//   - other convolutions of one group whose window rows are contiguous
//     (DilW == 1) and not too wide: the forward pass and the weight
//     gradient are implicit GEMMs that read the windows in place
//     (conv_implicit.go); the input gradient takes the im2col path;
//   - everything else: im2col on blocks of output pixels, then Sgemm per
//     group. A block's im2col matrix [rows, KH*KW*C/G] is bounded by
//     colBudget, so memory stays small for any image size.
//
// Determinism. Forward and input-gradient outputs are each written by one
// chunk. The input gradient of the im2col path scatters bands of output rows
// back onto overlapping input rows, so it runs in two phases (even bands,
// then odd bands) whose bands never overlap within a phase. The weight
// gradient sums over all output pixels: blocks of rows are split into a
// number of contiguous groups that depends on the shapes only; each group
// sums into its own partial and the partials are added in group order. (A
// pointwise convolution of one group is a single Sgemm, whose chunks of k
// are likewise fixed by the shapes.)
const (
	colBudget    = 1 << 16 // float32s in one im2col block (256 KiB)
	minBlockRows = 16      // fewest output pixels per im2col block
	// maxPartials bounds the number of weight-gradient partials and
	// partialBudget the float32s they may hold together; with one partial
	// the reduction runs into dw directly and Sgemm supplies the
	// parallelism (over rows of dw).
	maxPartials   = 32
	partialBudget = 1 << 20
)

var convScratch sync.Pool // *[]float32

// getConvScratch returns a buffer of n float32s with unspecified contents.
func getConvScratch(n int) *[]float32 {
	if b, ok := convScratch.Get().(*[]float32); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float32, n)
	return &b
}

func putConvScratch(b *[]float32) { convScratch.Put(b) }

func convCeilDiv(a, b int) int { return (a + b - 1) / b }

func (p *ConvParams) depthwise() bool { return p.Groups == p.C && p.OutC == p.C }

func (p *ConvParams) pointwise() bool {
	return p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadLeft == 0 && p.OutH == p.H && p.OutW == p.W
}

// convBlockRows returns how many output pixels one im2col block holds for k
// columns.
func convBlockRows(k, rows int) int { return min(rows, max(minBlockRows, colBudget/k)) }

// convPartialPlan splits nb units of a reduction into parts contiguous groups of
// per units each (the last may be shorter) for a result of ws float32s.
func convPartialPlan(nb, ws int) (per, parts int) {
	parts = min(nb, maxPartials, max(1, partialBudget/ws))
	per = convCeilDiv(nb, parts)
	return per, convCeilDiv(nb, per)
}

// convSumArgs adds count partials, parts[q*len(dst):], to dst (see
// convSumPartials).
type convSumArgs struct {
	dst, parts []float32
	count      int
}

func (a *convSumArgs) sum(lo, hi int) {
	ws, n := len(a.dst), hi-lo
	acc := a.parts[lo:hi]
	for q := 1; q < a.count; q++ {
		chanK.add(acc, 1, n, n, a.parts[q*ws+lo:q*ws+hi]) // acc[i] += part[i], SIMD
	}
	chanK.add(a.dst[lo:hi], 1, n, n, acc)
}

var convSumTasks = parallel.NewTasks((*convSumArgs).sum)

// convSumPartials adds parts[0][i] + parts[1][i] + … (in that order) to dst[i];
// parts holds count partials of len(dst) float32s back to back and is
// clobbered.
func convSumPartials(dst, parts []float32, count int) {
	ws := len(dst)
	convSumTasks.For(ws, parallel.Grain(ws, 1<<12), convSumArgs{dst: dst, parts: parts, count: count})
}

// convReduction is a weight-gradient reduction over units (output rows or
// row blocks): sum(&args, u0, u1, acc) adds units [u0, u1) into acc, ws
// float32s. runConvReduction fills in the plan: group q of per units sums
// into acc[q*ws:(q+1)*ws]. sum is a function, not a closure (a method
// expression), so that building a convReduction allocates nothing.
type convReduction[A any] struct {
	args      A
	sum       func(a *A, u0, u1 int, acc []float32)
	units, ws int
	per       int // units per group: 0 for convPartialPlan's
	acc       []float32
}

// groups sums groups [lo, hi).
func (r *convReduction[A]) groups(lo, hi int) {
	for q := lo; q < hi; q++ {
		r.sum(&r.args, q*r.per, min((q+1)*r.per, r.units), r.acc[q*r.ws:(q+1)*r.ws])
	}
}

// runConvReduction runs r (args, sum, units, ws and optionally per set)
// on t, a package-level parallel.NewTasks((*convReduction[A]).groups),
// adding into dw. With one partial it adds into dw directly; otherwise
// each group of units fills its own zeroed partial in parallel and the
// partials are added to dw in group order (the groups depend on the
// shapes only, so the result does not depend on the thread count).
func runConvReduction[A any](t *parallel.Tasks[convReduction[A]], r convReduction[A], dw []float32) {
	per, parts := convPartialPlan(r.units, r.ws)
	if r.per > 0 {
		per, parts = r.per, convCeilDiv(r.units, r.per)
	}
	r.per = per
	if parts == 1 {
		r.acc = dw
		t.For(1, 1, r) // runs on the caller; Sgemm supplies the parallelism
		return
	}
	pbuf := getConvScratch(parts * r.ws)
	r.acc = *pbuf
	clear(r.acc)
	t.For(parts, 1, r)
	convSumPartials(dw, r.acc, parts)
	putConvScratch(pbuf)
}

// convWeightArgs is the weight gradient of the convolution p for input x
// and output gradient dy; its methods sum units of each path's reduction.
type convWeightArgs struct {
	p     ConvParams
	x, dy []float32
}

var convWeightTasks = parallel.NewTasks((*convReduction[convWeightArgs]).groups)

func conv2dGeneric(p *ConvParams, x, w, y []float32) {
	switch {
	case p.depthwise():
		dwConvForward(p, x, w, y)
	case p.pointwise():
		cg, og := p.C/p.Groups, p.OutC/p.Groups
		m := p.N * p.H * p.W
		for g := 0; g < p.Groups; g++ {
			Sgemm(false, false, m, og, cg, 1, x[g*cg:], p.C, w[g*og:], p.OutC, 0, y[g*og:], p.OutC)
		}
	case p.implicit():
		implicitForward(p, x, w, y)
	default:
		im2colForward(p, x, w, y)
	}
}

// conv2dBackwardInputGeneric adds the input gradient to dx, or with set
// overwrites it.
func conv2dBackwardInputGeneric(p *ConvParams, dy, w, dx []float32, set bool) {
	if p.pointwise() {
		beta := float32(1)
		if set {
			beta = 0 // dx is not read
		}
		cg, og := p.C/p.Groups, p.OutC/p.Groups
		m := p.N * p.H * p.W
		for g := 0; g < p.Groups; g++ { // dx[m, cg] += dy[m, og] · w[cg, og]ᵀ
			Sgemm(false, true, m, cg, og, 1, dy[g*og:], p.OutC, w[g*og:], p.OutC, beta, dx[g*cg:], p.C)
		}
		return
	}
	if set {
		clear(dx[:p.N*p.H*p.W*p.C])
	}
	if p.depthwise() {
		dwConvBackwardInput(p, dy, w, dx)
	} else {
		im2colBackwardInput(p, dy, w, dx)
	}
}

func conv2dBackwardWeightGeneric(p *ConvParams, x, dy, dw []float32) {
	switch {
	case p.depthwise():
		dwConvBackwardWeight(p, x, dy, dw)
	case p.implicitWeight():
		implicitBackwardWeight(p, x, dy, dw)
	default:
		gemmBackwardWeight(p, x, dy, dw)
	}
}

// im2col fills col [r1-r0, KH*KW*cg] (columns ordered kh, kw, ci like the
// rows of the weight) with the cells of group g's input channels that output
// pixels r0..r1-1 (flat over N, OutH, OutW) read; padding cells are zero.
func im2col(p *ConvParams, x []float32, g, r0, r1 int, col []float32) {
	if p.Groups == 1 && p.DilW == 1 {
		im2colRuns(p, x, r0, r1, col)
		return
	}
	cg := p.C / p.Groups
	kwc := p.KW * cg
	k := p.KH * kwc
	ow, t := r0%p.OutW, r0/p.OutW
	oh, n := t%p.OutH, t/p.OutH
	for r := r0; r < r1; r++ {
		dst := col[(r-r0)*k : (r-r0+1)*k]
		ih0, iw0 := oh*p.StrideH-p.PadTop, ow*p.StrideW-p.PadLeft
		for kh := 0; kh < p.KH; kh++ {
			row := dst[kh*kwc : (kh+1)*kwc]
			ih := ih0 + kh*p.DilH
			if ih < 0 || ih >= p.H {
				clear(row)
				continue
			}
			base := (n*p.H+ih)*p.W*p.C + g*cg
			for kw := 0; kw < p.KW; kw++ {
				d := row[kw*cg : (kw+1)*cg]
				iw := iw0 + kw*p.DilW
				if iw < 0 || iw >= p.W {
					clear(d)
					continue
				}
				copy(d, x[base+iw*p.C:])
			}
		}
		if ow++; ow == p.OutW {
			ow = 0
			if oh++; oh == p.OutH {
				oh = 0
				n++
			}
		}
	}
}

// im2colRuns is im2col for one group and DilW == 1: a window row is KW·C
// consecutive floats of x, copied in one piece (the part inside the image).
func im2colRuns(p *ConvParams, x []float32, r0, r1 int, col []float32) {
	c, w, h, kh, kw := p.C, p.W, p.H, p.KH, p.KW
	sh, sw, dh, pt, pl := p.StrideH, p.StrideW, p.DilH, p.PadTop, p.PadLeft
	kwc := kw * c
	k := kh * kwc
	ow, t := r0%p.OutW, r0/p.OutW
	oh, n := t%p.OutH, t/p.OutH
	for r := r0; r < r1; r++ {
		dst := col[(r-r0)*k : (r-r0+1)*k]
		ih, iw0 := oh*sh-pt, ow*sw-pl
		// The window's columns [lo, hi) lie inside the image.
		lo, hi := max(0, -iw0), min(kw, w-iw0)
		if lo >= hi {
			clear(dst)
		} else {
			src := (n*h+ih)*w*c + (iw0+lo)*c // window row kh's first cell inside
			for i := 0; i < kh; i, ih, src = i+1, ih+dh, src+dh*w*c {
				row := dst[i*kwc : (i+1)*kwc]
				if ih < 0 || ih >= h {
					clear(row)
					continue
				}
				if lo > 0 {
					clear(row[:lo*c])
				}
				copy(row[lo*c:hi*c], x[src:])
				if hi < kw {
					clear(row[hi*c:])
				}
			}
		}
		if ow++; ow == p.OutW {
			ow = 0
			if oh++; oh == p.OutH {
				oh = 0
				n++
			}
		}
	}
}

// col2imAdd is the adjoint of im2col: it adds each entry of col back onto
// the input cell it was copied from (padding entries are dropped).
func col2imAdd(p *ConvParams, col []float32, g, r0, r1 int, dx []float32) {
	cg := p.C / p.Groups
	kwc := p.KW * cg
	k := p.KH * kwc
	ow, t := r0%p.OutW, r0/p.OutW
	oh, n := t%p.OutH, t/p.OutH
	for r := r0; r < r1; r++ {
		src := col[(r-r0)*k : (r-r0+1)*k]
		ih0, iw0 := oh*p.StrideH-p.PadTop, ow*p.StrideW-p.PadLeft
		for kh := 0; kh < p.KH; kh++ {
			ih := ih0 + kh*p.DilH
			if ih < 0 || ih >= p.H {
				continue
			}
			row := src[kh*kwc : (kh+1)*kwc]
			base := (n*p.H+ih)*p.W*p.C + g*cg
			for kw := 0; kw < p.KW; kw++ {
				iw := iw0 + kw*p.DilW
				if iw < 0 || iw >= p.W {
					continue
				}
				s := row[kw*cg : (kw+1)*cg]
				d := dx[base+iw*p.C : base+iw*p.C+cg]
				for i, v := range s {
					d[i] += v
				}
			}
		}
		if ow++; ow == p.OutW {
			ow = 0
			if oh++; oh == p.OutH {
				oh = 0
				n++
			}
		}
	}
}

// im2colFwdArgs is the forward pass of the im2col path over blocks of rb
// output pixels.
type im2colFwdArgs struct {
	p       ConvParams
	x, w, y []float32
	rb      int
}

var im2colFwdTasks = parallel.NewTasks((*im2colFwdArgs).blocks)

func im2colForward(p *ConvParams, x, w, y []float32) {
	k := p.KH * p.KW * p.C / p.Groups
	rows := p.N * p.OutH * p.OutW
	rb := convBlockRows(k, rows)
	nb := convCeilDiv(rows, rb)
	im2colFwdTasks.For(nb, parallel.Grain(nb, 1), im2colFwdArgs{p: *p, x: x, w: w, y: y, rb: rb})
}

// blocks computes the output pixels of blocks [lo, hi).
func (a *im2colFwdArgs) blocks(lo, hi int) {
	p, x, w, y, rb := &a.p, a.x, a.w, a.y, a.rb
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	k := p.KH * p.KW * cg
	rows := p.N * p.OutH * p.OutW
	buf := getConvScratch(rb * k)
	col := *buf
	for b := lo; b < hi; b++ {
		r0, r1 := b*rb, min((b+1)*rb, rows)
		for g := 0; g < p.Groups; g++ {
			im2col(p, x, g, r0, r1, col)
			Sgemm(false, false, r1-r0, og, k, 1, col, k, w[g*og:], p.OutC, 0, y[r0*p.OutC+g*og:], p.OutC)
		}
	}
	putConvScratch(buf)
}

// im2colBackwardInput computes, per band of output rows of one image, the
// column gradient dcol = dy · wᵀ and scatters it with col2imAdd. Bands are
// tall enough that band b and band b+2 write disjoint input rows, so each of
// the two phases (even bands, odd bands) runs its bands in parallel.
func im2colBackwardInput(p *ConvParams, dy, w, dx []float32) {
	k := p.KH * p.KW * p.C / p.Groups
	// Band b covers output rows [b*bh, (b+1)*bh) and writes input rows up
	// to ((b+1)*bh-1)*s - PadTop + (KH-1)*DilH, which must stay below band
	// b+2's first input row (b+2)*bh*s - PadTop: bh*s > (KH-1)*DilH - s.
	minBH := max(1, ((p.KH-1)*p.DilH-p.StrideH)/p.StrideH+1)
	bh := min(p.OutH, max(minBH, colBudget/(p.OutW*k)))
	nb := convCeilDiv(p.OutH, bh)
	for phase := 0; phase < 2; phase++ {
		per := (nb - phase + 1) / 2 // bands of this parity per image
		items := p.N * per
		im2colBwdTasks.For(items, parallel.Grain(items, 1),
			im2colBwdArgs{p: *p, dy: dy, w: w, dx: dx, bh: bh, per: per, phase: phase})
	}
}

// im2colBwdArgs is one phase of im2colBackwardInput: bands of bh output
// rows, per of them per image, of parity phase.
type im2colBwdArgs struct {
	p              ConvParams
	dy, w, dx      []float32
	bh, per, phase int
}

var im2colBwdTasks = parallel.NewTasks((*im2colBwdArgs).bands)

// bands scatters the column gradients of items [lo, hi) (image, band).
func (a *im2colBwdArgs) bands(lo, hi int) {
	p, dy, w, dx, bh, per := &a.p, a.dy, a.w, a.dx, a.bh, a.per
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	k := p.KH * p.KW * cg
	buf := getConvScratch(bh * p.OutW * k)
	col := *buf
	for it := lo; it < hi; it++ {
		n, b := it/per, (it%per)*2+a.phase
		oh0, oh1 := b*bh, min((b+1)*bh, p.OutH)
		r0, r1 := (n*p.OutH+oh0)*p.OutW, (n*p.OutH+oh1)*p.OutW
		for g := 0; g < p.Groups; g++ {
			// dcol[rows, k] = dy[rows, og] · w[k, og]ᵀ
			Sgemm(false, true, r1-r0, k, og, 1, dy[r0*p.OutC+g*og:], p.OutC, w[g*og:], p.OutC, 0, col, k)
			col2imAdd(p, col, g, r0, r1, dx)
		}
	}
	putConvScratch(buf)
}

// gemmBackwardWeight computes dw[k, OutC] += colᵀ · dy for the pointwise and
// im2col paths (see the determinism note above).
func gemmBackwardWeight(p *ConvParams, x, dy, dw []float32) {
	k := p.KH * p.KW * p.C / p.Groups
	rows := p.N * p.OutH * p.OutW
	if p.pointwise() && p.Groups == 1 {
		// x is the [rows, C] matrix itself: one product, whose long k
		// Sgemm splits into chunks of its own (see sgemmCall.plan).
		Sgemm(true, false, p.C, p.OutC, rows, 1, x, p.C, dy, p.OutC, 1, dw, p.OutC)
		return
	}
	nb := convCeilDiv(rows, convBlockRows(k, rows))
	runConvReduction(convWeightTasks, convReduction[convWeightArgs]{
		args: convWeightArgs{p: *p, x: x, dy: dy}, sum: (*convWeightArgs).gemmBlocks,
		units: nb, ws: k * p.OutC,
	}, dw)
}

// gemmBlocks adds the weight gradient of row blocks [b0, b1) (of
// gemmBackwardWeight) to acc.
func (a *convWeightArgs) gemmBlocks(b0, b1 int, acc []float32) {
	p, x, dy := &a.p, a.x, a.dy
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	k := p.KH * p.KW * cg
	pw := p.pointwise()
	rows := p.N * p.OutH * p.OutW
	rb := convBlockRows(k, rows)
	var buf *[]float32
	if !pw {
		buf = getConvScratch(rb * k)
	}
	for b := b0; b < b1; b++ {
		r0, r1 := b*rb, min((b+1)*rb, rows)
		for g := 0; g < p.Groups; g++ {
			a, lda := x[r0*p.C+g*cg:], p.C
			if !pw {
				im2col(p, x, g, r0, r1, *buf)
				a, lda = *buf, k
			}
			// acc[k, og] += a[rows, k]ᵀ · dy[rows, og]
			Sgemm(true, false, k, og, r1-r0, 1, a, lda, dy[r0*p.OutC+g*og:], p.OutC, 1, acc[g*og:], p.OutC)
		}
	}
	if buf != nil {
		putConvScratch(buf)
	}
}

// dwArgs is a depthwise loop's arguments: x, w, y for the forward pass,
// dy, w, dx for the input gradient.
type dwArgs struct {
	p           ConvParams
	src, w, dst []float32
}

var (
	dwForwardTasks       = parallel.NewTasks((*dwArgs).forwardRows)
	dwBackwardInputTasks = parallel.NewTasks((*dwArgs).backwardInputRows)
)

// dwConvForward is the depthwise forward: one output row (n, oh) per
// iteration, channels innermost.
func dwConvForward(p *ConvParams, x, w, y []float32) {
	units := p.N * p.OutH
	work := p.OutW * p.C * p.KH * p.KW
	dwForwardTasks.For(units, parallel.Grain(units, max(1, (1<<15)/work)), dwArgs{p: *p, src: x, w: w, dst: y})
}

// forwardRows computes output rows [lo, hi) (flat over N, OutH).
func (a *dwArgs) forwardRows(lo, hi int) {
	p, x, w, y := &a.p, a.src, a.w, a.dst
	c := p.C
	for u := lo; u < hi; u++ {
		n, oh := u/p.OutH, u%p.OutH
		ih0 := oh*p.StrideH - p.PadTop
		for ow := 0; ow < p.OutW; ow++ {
			dst := y[(u*p.OutW+ow)*c : (u*p.OutW+ow+1)*c]
			clear(dst)
			iw0 := ow*p.StrideW - p.PadLeft
			for kh := 0; kh < p.KH; kh++ {
				ih := ih0 + kh*p.DilH
				if ih < 0 || ih >= p.H {
					continue
				}
				for kw := 0; kw < p.KW; kw++ {
					iw := iw0 + kw*p.DilW
					if iw < 0 || iw >= p.W {
						continue
					}
					src := x[((n*p.H+ih)*p.W+iw)*c:]
					src = src[:len(dst)]
					wk := w[(kh*p.KW+kw)*c:]
					wk = wk[:len(dst)]
					for i := range dst {
						dst[i] += src[i] * wk[i]
					}
				}
			}
		}
	}
}

// dwConvBackwardInput gathers, for each input pixel, the output pixels whose
// windows read it (in kh, kw order), so every dx row is owned by one chunk.
func dwConvBackwardInput(p *ConvParams, dy, w, dx []float32) {
	units := p.N * p.H
	work := p.W * p.C * p.KH * p.KW
	dwBackwardInputTasks.For(units, parallel.Grain(units, max(1, (1<<15)/work)), dwArgs{p: *p, src: dy, w: w, dst: dx})
}

// backwardInputRows computes input-gradient rows [lo, hi) (flat over N, H).
func (a *dwArgs) backwardInputRows(lo, hi int) {
	p, dy, w, dx := &a.p, a.src, a.w, a.dst
	c := p.C
	for u := lo; u < hi; u++ {
		n, ih := u/p.H, u%p.H
		for iw := 0; iw < p.W; iw++ {
			dst := dx[(u*p.W+iw)*c : (u*p.W+iw+1)*c]
			for kh := 0; kh < p.KH; kh++ {
				t := ih + p.PadTop - kh*p.DilH
				if t < 0 || t%p.StrideH != 0 || t/p.StrideH >= p.OutH {
					continue
				}
				oh := t / p.StrideH
				for kw := 0; kw < p.KW; kw++ {
					s := iw + p.PadLeft - kw*p.DilW
					if s < 0 || s%p.StrideW != 0 || s/p.StrideW >= p.OutW {
						continue
					}
					ow := s / p.StrideW
					g := dy[((n*p.OutH+oh)*p.OutW+ow)*c:]
					g = g[:len(dst)]
					wk := w[(kh*p.KW+kw)*c:]
					wk = wk[:len(dst)]
					for i := range dst {
						dst[i] += g[i] * wk[i]
					}
				}
			}
		}
	}
}

// dwConvBackwardWeight sums x·dy over output rows (n, oh) in fixed groups of
// rows, one partial [KH, KW, C] per group, combined in group order.
func dwConvBackwardWeight(p *ConvParams, x, dy, dw []float32) {
	runConvReduction(convWeightTasks, convReduction[convWeightArgs]{
		args: convWeightArgs{p: *p, x: x, dy: dy}, sum: (*convWeightArgs).dwRows,
		units: p.N * p.OutH, ws: p.KH * p.KW * p.C,
	}, dw)
}

// dwRows adds the depthwise weight gradient of output rows [u0, u1) (flat
// over N, OutH) to acc.
func (a *convWeightArgs) dwRows(u0, u1 int, acc []float32) {
	p, x, dy := &a.p, a.x, a.dy
	c := p.C
	for u := u0; u < u1; u++ {
		n, oh := u/p.OutH, u%p.OutH
		for kh := 0; kh < p.KH; kh++ {
			ih := oh*p.StrideH - p.PadTop + kh*p.DilH
			if ih < 0 || ih >= p.H {
				continue
			}
			for kw := 0; kw < p.KW; kw++ {
				a := acc[(kh*p.KW+kw)*c : (kh*p.KW+kw+1)*c]
				for ow := 0; ow < p.OutW; ow++ {
					iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
					if iw < 0 || iw >= p.W {
						continue
					}
					src := x[((n*p.H+ih)*p.W+iw)*c:]
					src = src[:len(a)]
					g := dy[(u*p.OutW+ow)*c:]
					g = g[:len(a)]
					for i := range a {
						a[i] += src[i] * g[i]
					}
				}
			}
		}
	}
}
