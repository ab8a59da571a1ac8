package kernels

//go:generate sh -c "cd _gen && go run ./implicit -out ../conv_implicit_amd64.s -stubs ../conv_implicit_stubs_amd64.go -pkg kernels"

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// Implicit-GEMM forward convolution: the im2col product y = col · w
// without the im2col copy, for one group whose window rows are contiguous
// in the input (Groups == 1, DilW == 1).
//
// Row r of the im2col matrix, for output pixel (n, oh, ow), is the window
// x[n, ih0+kh·DilH, iw0 … iw0+KW-1, 0 … C-1] for kh = 0 … KH-1 (ih0 =
// oh·StrideH - PadTop, iw0 = ow·StrideW - PadLeft): KH runs of KW·C
// consecutive floats, W·C·DilH apart, and the windows of neighbouring
// pixels of an output row lie StrideW·C apart. A strip kernel
// (implicitKernel) reads such rows in place: for mr-pixel runs of an output
// row against an nr-column panel of w (packed once per call), it sums over
// the window rows that lie inside the image (segments of KW·C steps). The
// runs cover the whole runs of mr pixels whose windows lie inside the
// image horizontally. The columns left beside them (the pixels whose
// windows cross the left or right border, and the interior pixels after
// the last whole run) go down bands of rows instead: a column of mr
// pixels is a tile of the same kernel, its windows StrideH·W·C apart, its
// segments the window columns inside the image (implicitBandTiles). Where
// fewer than mr rows of a band share their window rows, those pixels go
// through a small im2col buffer (zeros for padding) and the same kernel
// with one segment.
//
// Every element of y is the sum of its products in kh, kw, c order
// (padding skipped, or added as zero products through col) computed by
// one kernel; which way a pixel goes depends only on the bands, which the
// parallel chunks hold whole (bandGrain), so the result does not depend on
// the thread count.

// implicitKernel computes tiles mr×nr tiles of C, tile u at c[u·tileC:]
// from A at a[u·tileA:]: for u < tiles, i < mr, j < nr,
//
//	c[u*tileC+i*ldc+j] = Σ_{s<segs} Σ_{t<seg} a[u*tileA+i*rsA+s*jumpA+t*csA]·b[s*jumpB+t*rsB+j]
//
// with the sum in an order fixed by the kernel, segs and seg; C is not
// read. Assembly versions trust their arguments: implicitArch.run checks
// them first.
type implicitKernel func(tiles, segs, seg int, a []float32, rsA, csA, jumpA, tileA int, b []float32, rsB, jumpB int, c []float32, ldc, tileC int)

// implicitArch is one implementation's strip kernel: mr×nr tiles, and
// mr×(nr/2) ones for a narrow last panel (or nil).
type implicitArch struct {
	mr, nr int
	kern   implicitKernel
	half   implicitKernel
	// short, if not nil, has fewer rows (and the same nr and half-ness):
	// the weight gradient uses it when a window row's KW·C rows fit it
	// (see implicitWeightChunk).
	short *implicitArch
}

// implicitImpl is the implementation in use, installed by use (dispatch.go).
var implicitImpl *implicitArch

var _ = onImpl(Generic, func() { implicitImpl = &implicitArch{mr: 4, nr: 4, kern: implicitKernelGeneric} })

// implicitMaxK bounds KH·KW·C for the implicit path: the packed weight
// panels (K·nr floats each) must stay in L1/L2 while the image streams
// past them; wider windows go through im2col blocks and the blocked Sgemm.
const implicitMaxK = 512

// implicit reports whether the forward pass of p runs as an implicit GEMM:
// one group, contiguous window rows, not a pointwise convolution (which
// is a plain Sgemm, weight gradient included).
func (p *ConvParams) implicit() bool {
	return implicitImpl != nil && p.Groups == 1 && p.DilW == 1 && p.KH*p.KW*p.C <= implicitMaxK && !p.pointwise()
}

// run runs the kernel (the half-width one if half) after checking that
// every element it touches lies inside the slices: the assembly does no
// bounds checks.
func (g *implicitArch) run(half bool, tiles, segs, seg int, a []float32, rsA, csA, jumpA, tileA int, b []float32, rsB, jumpB int, c []float32, ldc, tileC int) {
	kern, nr := g.kern, g.nr
	if half {
		kern, nr = g.half, nr/2
	}
	bad := tiles < 0 || segs < 0 || seg < 0 || rsA < 0 || csA < 0 || jumpA < 0 || tileA < 0 ||
		rsB < 0 || jumpB < 0 || ldc < 0 || tileC < 0
	if tiles > 0 {
		bad = bad || len(c) < (tiles-1)*tileC+(g.mr-1)*ldc+nr
		if segs > 0 && seg > 0 { // a and b are read
			bad = bad || len(a) <= (tiles-1)*tileA+(g.mr-1)*rsA+(segs-1)*jumpA+(seg-1)*csA ||
				len(b) < (segs-1)*jumpB+(seg-1)*rsB+nr
		}
	}
	if bad {
		panic(fmt.Sprintf("kernels: internal error: %d tiles %d×%d, %d×%d steps, len(a)=%d rsA=%d csA=%d jumpA=%d tileA=%d, len(b)=%d rsB=%d jumpB=%d, len(c)=%d ldc=%d tileC=%d",
			tiles, g.mr, nr, segs, seg, len(a), rsA, csA, jumpA, tileA, len(b), rsB, jumpB, len(c), ldc, tileC))
	}
	kern(tiles, segs, seg, a, rsA, csA, jumpA, tileA, b, rsB, jumpB, c, ldc, tileC)
}

// implicitForward is Conv2d for p.implicit() shapes.
func implicitForward(p *ConvParams, x, w, y []float32) {
	nr := implicitImpl.nr
	k := p.KH * p.KW * p.C
	panels := convCeilDiv(p.OutC, nr)

	// Pack w [k, OutC] into column panels of nr, zero beyond OutC: panel q
	// holds row p at wp[q·k·nr + p·nr].
	wbuf := getConvScratch(panels * k * nr)
	wp := *wbuf
	for q := 0; q < panels; q++ {
		j0 := q * nr
		cols := min(nr, p.OutC-j0)
		for r := 0; r < k; r++ {
			d := wp[(q*k+r)*nr : (q*k+r+1)*nr]
			copy(d, w[r*p.OutC+j0:r*p.OutC+j0+cols])
			clear(d[cols:])
		}
	}

	// Output pixels [owLo, owHi) of a row have their whole window inside
	// the image horizontally.
	owLo, owHi := p.interiorCols()

	units := p.N * p.OutH
	work := p.OutW * p.OutC * k
	band := implicitBandTiles * implicitImpl.mr
	implicitFwdTasks.For(units, bandGrain(units, (1<<17)/work, band),
		implicitFwdArgs{p: *p, x: x, wp: wp, y: y, owLo: owLo, owHi: owHi, band: band})
	putConvScratch(wbuf)
}

// implicitBandTiles is the number of mr-pixel tiles down a band of rows
// (see bandGrain) that the forward pass computes the columns left beside
// its runs along the rows in: the border pixels, whose windows cross the
// left or right edge of the image, and the interior pixels after the last
// whole run. Down a band such a column is a strip of mr-pixel tiles like
// a run along a row (the next tile's windows StrideH input rows down
// instead of StrideW columns across), with the window columns inside the
// image as the steps; one by one along each row they would be an im2col
// tile per row (the stem, TF "SAME": 3 interior pixels and 1 border pixel
// a row, 4 pixels in a 6-row tile), which cost more than a tenth of the
// stem's time.
const implicitBandTiles = 4

// implicitFwdArgs is the forward pass of implicitForward: wp holds the
// packed panels of w, output pixels [owLo, owHi) of each row have their
// windows inside the image horizontally, band is the rows of a band.
type implicitFwdArgs struct {
	p                ConvParams
	x, wp, y         []float32
	owLo, owHi, band int
}

var implicitFwdTasks = parallel.NewTasks((*implicitFwdArgs).rows)

// windowRows returns the window rows kh0 … kh0+segs-1 of output row oh
// that lie inside the image, and the input row ih0 of window row 0.
func (p *ConvParams) windowRows(oh int) (kh0, segs, ih0 int) {
	ih0 = oh*p.StrideH - p.PadTop
	if ih0 < 0 {
		kh0 = min(p.KH, convCeilDiv(-ih0, p.DilH))
	}
	kh1 := kh0
	if last := p.H - 1 - ih0; last >= 0 {
		kh1 = max(kh0, min(p.KH, last/p.DilH+1))
	}
	return kh0, kh1 - kh0, ih0
}

// rows computes output rows [lo, hi) (flat over N, OutH), band by band:
// the runs along each row, then the other columns down the band.
func (f *implicitFwdArgs) rows(lo, hi int) {
	g, p, x, wp, y, owLo, owHi := implicitImpl, &f.p, f.x, f.wp, f.y, f.owLo, f.owHi
	mr, nr := g.mr, g.nr
	seg := p.KW * p.C // steps per window row
	k := p.KH * seg
	panels := convCeilDiv(p.OutC, nr)
	runs := (owHi - owLo) / mr // per row, from owLo on
	owEnd := owLo + runs*mr    // the first column after the runs
	ebuf := getConvScratch(mr*k + mr*nr)
	col, ct := (*ebuf)[:mr*k], (*ebuf)[mr*k:]
	for b0 := lo; b0 < hi; {
		b1 := bandEnd(b0, hi, p.OutH, f.band)
		n := b0 / p.OutH
		for u := b0; u < b1 && runs > 0; u++ {
			kh0, segs, ih0 := p.windowRows(u % p.OutH)
			var a []float32 // nil: no window row inside, all products are padding
			if segs > 0 {
				a = x[((n*p.H+ih0+kh0*p.DilH)*p.W+owLo*p.StrideW-p.PadLeft)*p.C:]
			}
			for q := 0; q < panels; q++ {
				implicitStrip(g, p, runs, segs, seg, a, p.StrideW*p.C, wp[(q*k+kh0*seg)*nr:], seg*nr, y, u*p.OutW+owLo, 1, q, ct)
			}
		}
		// The other columns, down the rows of the band that have the
		// same window rows; fewer rows than a tile go through col.
		for u := b0; u < b1; {
			kh0, segs, ih0 := p.windowRows(u % p.OutH)
			e := u + 1
			for e < b1 {
				if k2, s2, _ := p.windowRows(e % p.OutH); k2 != kh0 || s2 != segs {
					break
				}
				e++
			}
			for _, r := range [2][2]int{{0, owLo}, {owEnd, p.OutW}} {
				if e-u >= mr {
					for ow := r[0]; ow < r[1]; ow++ {
						f.column(u, e, ow, kh0, segs, ih0, ct)
					}
					continue
				}
				// Too few rows for a tile: along each row through col.
				for v := u; v < e; v++ {
					for r0 := r[0]; r0 < r[1]; r0 += mr {
						r1 := min(r[1], r0+mr)
						im2col(p, x, 0, v*p.OutW+r0, v*p.OutW+r1, col)
						clear(col[(r1-r0)*k:])
						for q := 0; q < panels; q++ {
							implicitEdge(g, p, k, col, wp[q*k*nr:], y, v*p.OutW+r0, r1-r0, q, ct)
						}
					}
				}
			}
			u = e
		}
		b0 = b1
	}
	putConvScratch(ebuf)
}

// column computes output column ow of rows [u, e) of one image, at least
// mr of them, whose windows hold window rows kh0 … kh0+segs-1 (input row
// ih0 for window row 0): whole tiles down from u, and one more ending at e
// if they do not reach it (recomputing a few pixels to the same bits).
func (f *implicitFwdArgs) column(u, e, ow, kh0, segs, ih0 int, ct []float32) {
	g, p := implicitImpl, &f.p
	mr, nr := g.mr, g.nr
	seg := p.KW * p.C
	k := p.KH * seg
	n := u / p.OutH
	// The window columns kw0 … kw1-1 lie inside the image.
	iw0 := ow*p.StrideW - p.PadLeft
	kw0, kw1 := max(0, -iw0), min(p.KW, p.W-iw0)
	cseg := max(0, kw1-kw0) * p.C
	rsA := p.StrideH * p.W * p.C // from one row's window to the next
	var a, b []float32           // nil: no products, the column is zero
	boff := 0
	if segs > 0 && cseg > 0 {
		a = f.x[((n*p.H+ih0+kh0*p.DilH)*p.W+iw0+kw0)*p.C:]
		boff = (kh0*seg + kw0*p.C) * nr
	}
	tiles, panels := (e-u)/mr, convCeilDiv(p.OutC, nr)
	for _, t := range [2][2]int{{u, tiles}, {e - mr, min(1, (e-u)%mr)}} {
		v, nt := t[0], t[1]
		if nt == 0 {
			continue
		}
		at := a
		if a != nil {
			at = a[(v-u)*rsA:]
		}
		for q := 0; q < panels; q++ {
			if a != nil {
				b = f.wp[q*k*nr+boff:]
			}
			implicitStrip(g, p, nt, segs, cseg, at, rsA, b, seg*nr, f.y, v*p.OutW+ow, p.OutW, q, ct)
		}
	}
}

// implicitStrip computes tiles runs of mr output pixels, flat pixel r on,
// pix apart (1 along a row, OutW down a column), columns of panel q: from
// segs window rows of seg steps in place at a (the first pixel's window,
// rsA on per pixel), b the panel's rows from the first step of the first
// window row on (jumpB on per window row).
func implicitStrip(g *implicitArch, p *ConvParams, tiles, segs, seg int, a []float32, rsA int, b []float32, jumpB int, y []float32, r, pix, q int, ct []float32) {
	mr, nr := g.mr, g.nr
	jumpA := p.DilH * p.W * p.C
	tileA := mr * rsA          // from one tile's windows to the next
	if segs == 0 || seg == 0 { // no products: zeros
		segs, a, tileA = 0, nil, 0
	}
	j := q * nr
	cols := min(nr, p.OutC-j)
	half := g.half != nil && cols <= nr/2
	if cols == nr || half && cols == nr/2 {
		g.run(half, tiles, segs, seg, a, rsA, 1, jumpA, tileA, b, nr, jumpB, y[r*p.OutC+j:], pix*p.OutC, mr*pix*p.OutC)
		return
	}
	for t := 0; t < tiles; t++ {
		var at []float32
		if a != nil {
			at = a[t*tileA:]
		}
		g.run(half, 1, segs, seg, at, rsA, 1, jumpA, 0, b, nr, jumpB, ct, nr, 0)
		for i := 0; i < mr; i++ {
			o := (r+(t*mr+i)*pix)*p.OutC + j
			copy(y[o:o+cols], ct[i*nr:])
		}
	}
}

// implicitEdge computes output pixels r … r+rows-1 (rows ≤ mr), columns of
// panel q, from their im2col rows in col (k floats each, zero rows beyond
// rows).
func implicitEdge(g *implicitArch, p *ConvParams, k int, col, b, y []float32, r, rows, q int, ct []float32) {
	nr := g.nr
	j := q * nr
	cols := min(nr, p.OutC-j)
	half := g.half != nil && cols <= nr/2
	g.run(half, 1, 1, k, col, k, 1, 0, 0, b, nr, 0, ct, nr, 0)
	for i := 0; i < rows; i++ {
		copy(y[(r+i)*p.OutC+j:(r+i)*p.OutC+j+cols], ct[i*nr:])
	}
}

// interiorCols returns the output columns [lo, hi) whose windows lie inside
// the image horizontally: ow·StrideW - PadLeft ≥ 0 and ow·StrideW - PadLeft
// + KW - 1 ≤ W - 1 (DilW == 1); hi == lo when there are none.
func (p *ConvParams) interiorCols() (lo, hi int) {
	return interiorSpan(p.W, p.KW, p.StrideW, p.PadLeft, p.OutW)
}

// interiorSpan returns the outputs [lo, hi) of out whose windows of k
// taps (stride s, padding pad before) lie inside an axis of n inputs.
func interiorSpan(n, k, s, pad, out int) (lo, hi int) {
	lo = min(out, convCeilDiv(pad, s))
	hi = lo
	if span := n - k + pad; span >= 0 {
		hi = max(lo, min(out, span/s+1))
	}
	return lo, hi
}

// Implicit-GEMM weight gradient: for each window row kh,
//
//	dw[kh, kw·C+ci, o] += Σ_{pixels} x[window of the pixel, row kh][kw·C+ci] · dy[pixel, o]
//
// is a product Aᵀ·dY whose A rows (one per output pixel) are the windows
// read in place, KW·C consecutive floats each: the strip kernel runs one
// tile of KW·C rows of dw by nr columns over the pixels of a few output
// rows (steps along a row StrideW·C apart, segments StrideH·W·C apart),
// dY's rows read in place. Tiles that would run past KW·C rows or OutC
// columns are moved back to overlap the tile before, and only their new
// rows and columns are kept; with fewer than mr rows, the tile reads a
// few floats past (or before) the window, which stay inside x or the tile
// is done by the scalar loop. Pixels whose windows cross the left or right
// border, or a window row outside the image, go through a scalar loop.
//
// Determinism: the sum runs over fixed groups of output rows into partials
// added in group order (convPartialPlan, convSumPartials), and within a
// group over chunks of a fixed number of rows, so the result does not
// depend on the thread count.

// implicitWeight reports whether the weight gradient of p runs as an
// implicit GEMM: p.implicit(), and the columns of dw fill at least one
// tile.
func (p *ConvParams) implicitWeight() bool {
	g := implicitImpl
	return p.implicit() && (p.OutC >= g.nr || g.half != nil && p.OutC == g.nr/2)
}

// implicitSpan is a tile's place along one side of dw: it starts at at
// (negative: before the window) and only [from, to) are kept.
type implicitSpan struct {
	at, from, to int
	half         bool
}

// implicitColSpans returns the column tiles of dw.
func implicitColSpans(g *implicitArch, outC int, dst []implicitSpan) []implicitSpan {
	nr := g.nr
	j := 0
	for ; j+nr <= outC; j += nr {
		dst = append(dst, implicitSpan{at: j, from: j, to: j + nr})
	}
	switch rem := outC - j; {
	case rem == 0:
	case g.half != nil && rem <= nr/2:
		dst = append(dst, implicitSpan{at: outC - nr/2, from: j, to: outC, half: true})
	default:
		dst = append(dst, implicitSpan{at: outC - nr, from: j, to: outC})
	}
	return dst
}

func implicitBackwardWeight(p *ConvParams, x, dy, dw []float32) {
	runConvReduction(convWeightTasks, convReduction[convWeightArgs]{
		args: convWeightArgs{p: *p, x: x, dy: dy}, sum: (*convWeightArgs).implicitRows,
		units: p.N * p.OutH, ws: p.KH * p.KW * p.C * p.OutC,
	}, dw)
}

// implicitRows adds the weight gradient of output rows [u0, u1) (flat over
// N, OutH) to acc, in chunks of rows of one image.
func (a *convWeightArgs) implicitRows(u0, u1 int, acc []float32) {
	g, p := implicitImpl, &a.p
	// Output rows per chunk: about 64 KiB of dy, which the kh·row·column
	// tiles of the chunk then read from L1/L2.
	chunk := max(1, (1<<14)/(p.OutW*p.OutC))
	var spans [8]implicitSpan
	cols := implicitColSpans(g, p.OutC, spans[:0])
	ctb := getConvScratch(g.mr * g.nr)
	for c0 := u0; c0 < u1; {
		n := c0 / p.OutH
		c1 := min(u1, (n+1)*p.OutH, c0+chunk)
		implicitWeightChunk(g, p, a.x, a.dy, n, c0-n*p.OutH, c1-n*p.OutH, cols, acc, *ctb)
		c0 = c1
	}
	putConvScratch(ctb)
}

// implicitWeightChunk adds the weight gradient of output rows [oh0, oh1)
// of image n to acc.
func implicitWeightChunk(g *implicitArch, p *ConvParams, x, dy []float32, n, oh0, oh1 int, cols []implicitSpan, acc, ct []float32) {
	m := p.KW * p.C // rows of dw per window row
	if g.short != nil && m <= g.short.mr {
		// A window row narrower than a tile fills one tile whose other
		// rows are computed and dropped: fewer rows waste less.
		g = g.short
	}
	mr, nr := g.mr, g.nr
	owLo, owHi := p.interiorCols()
	csA, jumpA := p.StrideW*p.C, p.StrideH*p.W*p.C
	jumpB := p.OutW * p.OutC
	for kh := 0; kh < p.KH; kh++ {
		// Output rows whose window row kh lies inside the image.
		off := kh*p.DilH - p.PadTop // ih = oh·StrideH + off
		ohA, ohB := oh0, oh1
		if off < 0 {
			ohA = max(ohA, convCeilDiv(-off, p.StrideH))
		}
		if last := p.H - 1 - off; last < 0 {
			ohB = ohA
		} else {
			ohB = min(ohB, last/p.StrideH+1)
		}
		if ohA >= ohB || owLo >= owHi {
			continue
		}
		segs, seg := ohB-ohA, owHi-owLo
		a0 := ((n*p.H+ohA*p.StrideH+off)*p.W + owLo*p.StrideW - p.PadLeft) * p.C
		b0 := ((n*p.OutH+ohA)*p.OutW + owLo) * p.OutC
		var rows [2]implicitSpan // up to the last two row tiles; more are full and listed on the fly
		switch {
		case m >= mr:
		case a0+(segs-1)*jumpA+(seg-1)*csA+mr-1 < len(x):
			rows[0] = implicitSpan{at: 0, from: 0, to: m} // reads past the window
		case a0-(mr-m) >= 0:
			rows[0] = implicitSpan{at: m - mr, from: 0, to: m} // reads before the window
		default:
			implicitWeightScalar(p, x, dy, n, ohA, ohB, kh, owLo, owHi, acc)
			continue
		}
		for i := 0; i < m; i += mr {
			r := implicitSpan{at: i, from: i, to: i + mr}
			switch {
			case m < mr:
				r = rows[0]
			case i+mr > m:
				r = implicitSpan{at: m - mr, from: i, to: m}
			}
			for _, c := range cols {
				g.run(c.half, 1, segs, seg, x[a0+r.at:], 1, csA, jumpA, 0, dy[b0+c.at:], p.OutC, jumpB, ct, nr, 0)
				for ii := r.from; ii < r.to; ii++ {
					d := acc[((kh*m)+ii)*p.OutC+c.from : ((kh*m)+ii)*p.OutC+c.to]
					chanK.add(d, 1, len(d), len(d), ct[(ii-r.at)*nr+c.from-c.at:]) // d += the tile's row
				}
			}
		}
	}
	// Pixels whose windows cross the left or right border.
	for kh := 0; kh < p.KH; kh++ {
		if owLo >= owHi {
			implicitWeightScalar(p, x, dy, n, oh0, oh1, kh, 0, p.OutW, acc)
			continue
		}
		implicitWeightScalar(p, x, dy, n, oh0, oh1, kh, 0, owLo, acc)
		implicitWeightScalar(p, x, dy, n, oh0, oh1, kh, owHi, p.OutW, acc)
	}
}

// implicitWeightScalar adds the weight gradient of window row kh over the
// output pixels [ow0, ow1) of rows [oh0, oh1) of image n to acc, skipping
// padding.
func implicitWeightScalar(p *ConvParams, x, dy []float32, n, oh0, oh1, kh, ow0, ow1 int, acc []float32) {
	for oh := oh0; oh < oh1; oh++ {
		ih := oh*p.StrideH - p.PadTop + kh*p.DilH
		if ih < 0 || ih >= p.H {
			continue
		}
		for ow := ow0; ow < ow1; ow++ {
			d := dy[((n*p.OutH+oh)*p.OutW+ow)*p.OutC:]
			d = d[:p.OutC]
			for kw := 0; kw < p.KW; kw++ {
				iw := ow*p.StrideW - p.PadLeft + kw
				if iw < 0 || iw >= p.W {
					continue
				}
				xs := x[((n*p.H+ih)*p.W+iw)*p.C:]
				xs = xs[:p.C]
				for ci, xv := range xs {
					row := acc[((kh*p.KW+kw)*p.C+ci)*p.OutC:]
					axpyImpl(xv, d, row[:len(d)])
				}
			}
		}
	}
}
