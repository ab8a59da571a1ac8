package kernels

import (
	"math"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// All pooling loops write each output (or, for the backward passes, each
// input-gradient) element from exactly one chunk: the backward passes gather
// from the windows that contain an input cell instead of scattering, so
// they parallelise over input rows and sum in a fixed order.

// poolSpan returns the in-bounds kernel taps [lo, hi) of a window starting at
// input coordinate i0 on an axis of length n.
func poolSpan(i0, k, n int) (lo, hi int) { return max(0, -i0), min(k, n-i0) }

// poolWindows returns the output coordinates [lo, hi] of the windows (stride s,
// size k, padding pad, out of them) that contain input coordinate i.
func poolWindows(i, k, s, pad, out int) (lo, hi int) {
	if t := i + pad - k + 1; t > 0 {
		lo = convCeilDiv(t, s)
	}
	return lo, min(out-1, (i+pad)/s)
}

func poolGrain(units, work int) int { return parallel.Grain(units, max(1, (1<<15)/max(1, work))) }

// poolArgs is a pooling loop's arguments: src and dst are x and y for the
// forward passes, dy and dx for the backward passes.
type poolArgs struct {
	p               PoolParams
	src, dst        []float32
	argmax          []int32
	countIncludePad bool
}

var (
	maxPoolTasks         = parallel.NewTasks((*poolArgs).maxRows)
	maxPoolBackwardTasks = parallel.NewTasks((*poolArgs).maxBackwardRows)
	avgPoolTasks         = parallel.NewTasks((*poolArgs).avgRows)
	avgPoolBackwardTasks = parallel.NewTasks((*poolArgs).avgBackwardRows)
)

func maxPool2dGeneric(p *PoolParams, x, y []float32, argmax []int32) {
	units := p.N * p.OutH
	maxPoolTasks.For(units, poolGrain(units, p.OutW*p.C*p.KH*p.KW), poolArgs{p: *p, src: x, dst: y, argmax: argmax})
}

// maxPoolTaps bounds the window elements of the max-pooling run kernels.
const maxPoolTaps = 25

// maxStart sets the running maxima of a window before its first element:
// dst to -Inf and, if am is not nil, am[j] to first + j (the index the
// argmax keeps when no element beats -Inf).
func maxStart(dst []float32, am []int32, first int) {
	for j := range dst {
		dst[j] = float32(math.Inf(-1))
	}
	for j := range am {
		am[j] = int32(first + j)
	}
}

// maxStep folds one window element, src at index base of x, into the
// running maxima: dst[j] takes src[j] where src[j] > dst[j] or src[j] is
// NaN, and am[j], if am is not nil, takes base + j there. So NaN
// propagates (the last NaN's bits win) and of equal values the first
// stays (-0 before +0 gives -0).
func maxStep(dst []float32, am []int32, src []float32, base int) {
	src = src[:len(dst)]
	for j, v := range src {
		if v > dst[j] || v != v {
			dst[j] = v
			if am != nil {
				am[j] = int32(base + j)
			}
		}
	}
}

// maxPoolRunGo is the reference of the max-pooling run kernels
// (maxPoolRun, and with am maxPoolArgRun): for pixel i < n, the window
// elements offs[:k] (each shifted by i*xpix) folded in that order with
// maxStep into y[i*c:][:c] and, if am is not nil, am[i*c:][:c]. The SIMD
// versions do the channels j < c&^7 and do not check bounds.
func maxPoolRunGo(y []float32, am []int32, x []float32, offs [maxPoolTaps]int, k, n, c, xpix int) {
	for i := 0; i < n; i++ {
		dst := y[i*c : i*c+c]
		var ad []int32
		if am != nil {
			ad = am[i*c : i*c+c]
		}
		maxStart(dst, ad, offs[0]+i*xpix)
		for _, o := range offs[:k] {
			base := o + i*xpix
			maxStep(dst, ad, x[base:], base)
		}
	}
}

// maxPoolRun and maxPoolArgRun are the SIMD run kernels of the
// implementation in use, nil for the generic loops (installed by use:
// pool_amd64.go).
var (
	maxPoolRun    func(y, x []float32, offs [maxPoolTaps]int, k, n, c, xpix int)
	maxPoolArgRun func(y []float32, am []int32, x []float32, offs [maxPoolTaps]int, k, n, c, xpix int)
)

var _ = onImpl(Generic, func() { maxPoolRun, maxPoolArgRun = nil, nil })

// maxRun computes the pixels of output row u whose windows lie inside the
// image horizontally, [owLo, owHi), with maxPoolRun or, recording the
// argmax, maxPoolArgRun (channels in whole vectors) and their generic
// loops (the rest); it reports false, doing nothing, where that does not
// apply: no SIMD kernel, or a window of more than maxPoolTaps elements.
func (a *poolArgs) maxRun(u, owLo, owHi int) bool {
	p, x, y := &a.p, a.src, a.dst
	c := p.C
	n, oh := u/p.OutH, u%p.OutH
	ih0 := oh*p.StrideH - p.PadTop
	khLo, khHi := poolSpan(ih0, p.KH, p.H)
	k := (khHi - khLo) * p.KW
	if maxPoolRun == nil || k == 0 || k > maxPoolTaps || owLo >= owHi {
		return false
	}
	var am []int32 // the run's argmax, if recorded
	if a.argmax != nil {
		am = a.argmax[(u*p.OutW+owLo)*c : (u*p.OutW+owHi)*c]
	}
	var offs [maxPoolTaps]int
	iw0 := owLo*p.StrideW - p.PadLeft
	for kh := khLo; kh < khHi; kh++ {
		for kw := 0; kw < p.KW; kw++ {
			offs[(kh-khLo)*p.KW+kw] = ((n*p.H+ih0+kh)*p.W + iw0 + kw) * c
		}
	}
	np, xpix, cv := owHi-owLo, p.StrideW*c, c&^7
	yr := y[(u*p.OutW+owLo)*c : (u*p.OutW+owHi)*c]
	if cv > 0 {
		// Bounds for the assembly: the offsets grow with kh and kw.
		if offs[0] < 0 || offs[k-1]+(np-1)*xpix+cv > len(x) {
			panic("kernels: max-pooling run out of bounds")
		}
		if am != nil {
			maxPoolArgRun(yr, am, x, offs, k, np, c, xpix)
		} else {
			maxPoolRun(yr, x, offs, k, np, c, xpix)
		}
	}
	for i := 0; cv < c && i < np; i++ { // the channels after the vectors
		var o [maxPoolTaps]int
		for t := range offs[:k] {
			o[t] = offs[t] + i*xpix + cv
		}
		var at []int32
		if am != nil {
			at = am[i*c+cv:]
		}
		maxPoolRunGo(yr[i*c+cv:], at, x, o, k, 1, c-cv, xpix)
	}
	return true
}

// maxRows computes output rows [lo, hi) (flat over N, OutH) of MaxPool2d.
func (a *poolArgs) maxRows(lo, hi int) {
	p, x, y, argmax := &a.p, a.src, a.dst, a.argmax
	c := p.C
	// The output columns whose windows lie inside the image horizontally.
	owLo, owHi := interiorSpan(p.W, p.KW, p.StrideW, p.PadLeft, p.OutW)
	for u := lo; u < hi; u++ {
		n, oh := u/p.OutH, u%p.OutH
		ih0 := oh*p.StrideH - p.PadTop
		khLo, khHi := poolSpan(ih0, p.KH, p.H)
		run := a.maxRun(u, owLo, owHi)
		for ow := 0; ow < p.OutW; ow++ {
			if run && ow >= owLo && ow < owHi {
				continue
			}
			iw0 := ow*p.StrideW - p.PadLeft
			kwLo, kwHi := poolSpan(iw0, p.KW, p.W)
			o := (u*p.OutW + ow) * c
			dst := y[o : o+c]
			var am []int32
			if argmax != nil {
				am = argmax[o : o+c]
			}
			maxStart(dst, am, ((n*p.H+ih0+khLo)*p.W+iw0+kwLo)*c)
			for kh := khLo; kh < khHi; kh++ {
				for kw := kwLo; kw < kwHi; kw++ {
					base := ((n*p.H+ih0+kh)*p.W + iw0 + kw) * c
					maxStep(dst, am, x[base:], base)
				}
			}
		}
	}
}

// poolBackwardWork is the work of one input row of a pooling backward pass.
func poolBackwardWork(p *PoolParams) int {
	return p.W * p.C * convCeilDiv(p.KH, p.StrideH) * convCeilDiv(p.KW, p.StrideW)
}

func maxPool2dBackwardGeneric(p *PoolParams, dy []float32, argmax []int32, dx []float32) {
	units := p.N * p.H
	maxPoolBackwardTasks.For(units, poolGrain(units, poolBackwardWork(p)), poolArgs{p: *p, src: dy, dst: dx, argmax: argmax})
}

// maxBackwardRows computes input-gradient rows [lo, hi) (flat over N, H) of
// MaxPool2dBackward.
func (a *poolArgs) maxBackwardRows(lo, hi int) {
	p, dy, dx, argmax := &a.p, a.src, a.dst, a.argmax
	c := p.C
	for u := lo; u < hi; u++ {
		n, ih := u/p.H, u%p.H
		ohLo, ohHi := poolWindows(ih, p.KH, p.StrideH, p.PadTop, p.OutH)
		for iw := 0; iw < p.W; iw++ {
			owLo, owHi := poolWindows(iw, p.KW, p.StrideW, p.PadLeft, p.OutW)
			idx := (u*p.W + iw) * c
			dst := dx[idx : idx+c]
			for oh := ohLo; oh <= ohHi; oh++ {
				for ow := owLo; ow <= owHi; ow++ {
					o := ((n*p.OutH+oh)*p.OutW + ow) * c
					g := dy[o : o+c]
					am := argmax[o : o+c]
					for i := range dst {
						if int(am[i]) == idx+i {
							dst[i] += g[i]
						}
					}
				}
			}
		}
	}
}

// avgScale returns 1/cnt for the window at (ih0, iw0).
func (p *PoolParams) avgScale(ih0, iw0 int, countIncludePad bool) float32 {
	if countIncludePad {
		return 1 / float32(p.KH*p.KW)
	}
	khLo, khHi := poolSpan(ih0, p.KH, p.H)
	kwLo, kwHi := poolSpan(iw0, p.KW, p.W)
	return 1 / float32((khHi-khLo)*(kwHi-kwLo))
}

func avgPool2dGeneric(p *PoolParams, x, y []float32, countIncludePad bool) {
	units := p.N * p.OutH
	avgPoolTasks.For(units, poolGrain(units, p.OutW*p.C*p.KH*p.KW), poolArgs{p: *p, src: x, dst: y, countIncludePad: countIncludePad})
}

// avgRows computes output rows [lo, hi) (flat over N, OutH) of AvgPool2d.
func (a *poolArgs) avgRows(lo, hi int) {
	p, x, y, countIncludePad := &a.p, a.src, a.dst, a.countIncludePad
	c := p.C
	for u := lo; u < hi; u++ {
		n, oh := u/p.OutH, u%p.OutH
		ih0 := oh*p.StrideH - p.PadTop
		khLo, khHi := poolSpan(ih0, p.KH, p.H)
		for ow := 0; ow < p.OutW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			kwLo, kwHi := poolSpan(iw0, p.KW, p.W)
			o := (u*p.OutW + ow) * c
			dst := y[o : o+c]
			clear(dst)
			for kh := khLo; kh < khHi; kh++ {
				for kw := kwLo; kw < kwHi; kw++ {
					base := ((n*p.H+ih0+kh)*p.W + iw0 + kw) * c
					src := x[base : base+c]
					for i, v := range src {
						dst[i] += v
					}
				}
			}
			s := p.avgScale(ih0, iw0, countIncludePad)
			for i := range dst {
				dst[i] *= s
			}
		}
	}
}

func avgPool2dBackwardGeneric(p *PoolParams, dy, dx []float32, countIncludePad bool) {
	units := p.N * p.H
	avgPoolBackwardTasks.For(units, poolGrain(units, poolBackwardWork(p)), poolArgs{p: *p, src: dy, dst: dx, countIncludePad: countIncludePad})
}

// avgBackwardRows computes input-gradient rows [lo, hi) (flat over N, H) of
// AvgPool2dBackward.
func (a *poolArgs) avgBackwardRows(lo, hi int) {
	p, dy, dx, countIncludePad := &a.p, a.src, a.dst, a.countIncludePad
	c := p.C
	for u := lo; u < hi; u++ {
		n, ih := u/p.H, u%p.H
		ohLo, ohHi := poolWindows(ih, p.KH, p.StrideH, p.PadTop, p.OutH)
		for iw := 0; iw < p.W; iw++ {
			owLo, owHi := poolWindows(iw, p.KW, p.StrideW, p.PadLeft, p.OutW)
			idx := (u*p.W + iw) * c
			dst := dx[idx : idx+c]
			for oh := ohLo; oh <= ohHi; oh++ {
				for ow := owLo; ow <= owHi; ow++ {
					s := p.avgScale(oh*p.StrideH-p.PadTop, ow*p.StrideW-p.PadLeft, countIncludePad)
					o := ((n*p.OutH+oh)*p.OutW + ow) * c
					g := dy[o : o+c]
					for i := range dst {
						dst[i] += g[i] * s
					}
				}
			}
		}
	}
}

// globalBlock is the channel block of GlobalAvgPool's parallel loop.
const globalBlock = 64

func globalAvgPoolGeneric(n, hw, c int, x, y []float32) {
	cb := convCeilDiv(c, globalBlock)
	units := n * cb
	chanMeanTasks.For(units, poolGrain(units, hw*globalBlock),
		chanBlockArgs{k: chanK, hw: hw, c: c, cb: cb, out: y, a: x, scale: 1 / float32(hw)})
}

func globalAvgPoolBackwardGeneric(n, hw, c int, dy, dx []float32) {
	// t[i, j] = dy[i, j]/hw is added to every pixel of image i.
	s := 1 / float32(hw)
	tb := getConvScratch(n * c)
	t := *tb
	for i, v := range dy[:n*c] {
		t[i] = v * s
	}
	units := n * hw
	chanAddTasks.For(units, poolGrain(units, c), chanPixelArgs{k: chanK, hw: hw, c: c, dst: dx, s: t})
	putConvScratch(tb)
}
