package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// dwCase is a depthwise convolution test shape with explicit padding on
// all four sides; params derives the output size from it.
type dwCase struct {
	n, h, w, c     int
	kh, kw         int
	sh, sw, dh, dw int
	pt, pb, pl, pr int
}

func (d dwCase) params() ConvParams {
	return ConvParams{
		N: d.n, H: d.h, W: d.w, C: d.c,
		OutH: (d.h+d.pt+d.pb-(d.kh-1)*d.dh-1)/d.sh + 1,
		OutW: (d.w+d.pl+d.pr-(d.kw-1)*d.dw-1)/d.sw + 1,
		OutC: d.c, KH: d.kh, KW: d.kw,
		StrideH: d.sh, StrideW: d.sw, DilH: d.dh, DilW: d.dw,
		PadTop: d.pt, PadLeft: d.pl, Groups: d.c,
	}
}

func (d dwCase) String() string {
	return fmt.Sprintf("n%d_%dx%dx%d_k%dx%d_s%dx%d_d%dx%d_pad%d.%d.%d.%d",
		d.n, d.h, d.w, d.c, d.kh, d.kw, d.sh, d.sw, d.dh, d.dw, d.pt, d.pb, d.pl, d.pr)
}

// dwCases: every channel remainder of the 8- and 16-lane steps, k = 1…7
// (k > 5 splits window rows into several kernel calls), stride 1 and 2,
// dilation 2, TF-same (asymmetric) and symmetric padding, padding wider
// than the window, images smaller than the window, batch 1 and 2, and rows
// long enough for full 8-pixel blocks plus 4- and 1-pixel remainders.
func dwCases() []dwCase {
	var cs []dwCase
	for c := 1; c <= 35; c++ { // 16+16+3: every remainder of 16 and 8, scalar tails
		cs = append(cs, dwCase{1, 5, 21, c, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1})
	}
	for k := 1; k <= 7; k++ {
		for s := 1; s <= 2; s++ {
			p := k - 1
			cs = append(cs,
				dwCase{2, 9, 23, 19, k, k, s, s, 1, 1, p / 2, p - p/2, p / 2, p - p/2}, // TF same-like
				dwCase{1, 8, 17, 24, k, k, s, s, 1, 1, p - p/2, p / 2, p - p/2, p / 2}, // the other asymmetry
				dwCase{1, 7, 13, 9, k, k, s, s, 1, 1, 0, 0, 0, 0},                      // no padding
			)
		}
	}
	return append(cs,
		dwCase{2, 9, 9, 16, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1},    // TF same, stride 2
		dwCase{1, 8, 8, 17, 5, 5, 2, 2, 1, 1, 1, 2, 1, 2},    // TF same k5 stride 2
		dwCase{1, 10, 11, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},   // dilation 2
		dwCase{1, 11, 12, 8, 3, 5, 1, 1, 2, 3, 2, 2, 6, 6},   // dilations 2×3, k 3×5
		dwCase{1, 12, 13, 8, 3, 3, 2, 1, 1, 2, 1, 1, 2, 2},   // stride 2×1, dilation 1×2
		dwCase{1, 12, 13, 16, 5, 5, 1, 2, 1, 1, 2, 2, 1, 2},  // stride 1×2: border columns down bands, strided rows
		dwCase{1, 3, 3, 5, 5, 5, 1, 1, 1, 1, 3, 3, 3, 3},     // window larger than image, pad > k/2
		dwCase{1, 4, 4, 9, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4},     // pixels that see only padding
		dwCase{1, 1, 1, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    // 1×1 image
		dwCase{1, 1, 9, 10, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1},    // one row
		dwCase{3, 6, 30, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   // 30 pixels: 8-blocks, 4, 1 remainders
		dwCase{1, 7, 7, 1152, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},  // EfficientNet's last stage: 7×7, k5
		dwCase{2, 21, 12, 41, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},  // k5 in channel chunks (32+9) down groups of rows
		dwCase{1, 9, 8, 12, 9, 3, 1, 1, 1, 1, 4, 4, 1, 1},    // 9 window rows: generic loops
		dwCase{1, 10, 10, 8, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2},   // stride and dilation 2: input gradient generic
		dwCase{2, 14, 14, 32, 5, 5, 2, 2, 1, 1, 1, 2, 1, 2},  // stride 2 TF same
		dwCase{1, 16, 15, 24, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3},  // k7 stride 2 symmetric
		dwCase{2, 6, 6, 8, 4, 4, 3, 3, 1, 1, 1, 2, 1, 2},     // stride 3, even k
		dwCase{1, 5, 40, 3, 6, 6, 1, 1, 1, 1, 2, 3, 2, 3},    // k6: taps split 5+1
		dwCase{1, 6, 39, 57, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},   // k5, 35 interior pixels: 24-pixel blocks (AVX-512) and remainders at 16, 8, 1 lanes
		dwCase{1, 20, 20, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, // partials of the weight gradient
		dwCase{1, 5, 50, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   // rows in tiles (dwTiled): 3 tiles a row
		dwCase{1, 6, 45, 128, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1},  // tiles, stride 2
		// Enough rows for weight-gradient partials of whole bands, which
		// Conv2dBackward fuses (dwFused), with images of a band and a
		// half (28 rows) and of 6.5 bands.
		dwCase{4, 28, 9, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		dwCase{2, 52, 7, 19, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
	)
}

// dwRef computes the depthwise forward pass and both gradients in float64,
// with per-element sums of absolute terms for the tolerance.
func dwRef(p *ConvParams, x, w, dy []float32) (y, ymag, dx, dxmag, dw, dwmag []float64) {
	c := p.C
	y, ymag = make([]float64, p.N*p.OutH*p.OutW*c), make([]float64, p.N*p.OutH*p.OutW*c)
	dx, dxmag = make([]float64, len(x)), make([]float64, len(x))
	dw, dwmag = make([]float64, len(w)), make([]float64, len(w))
	for n := 0; n < p.N; n++ {
		for oh := 0; oh < p.OutH; oh++ {
			for ow := 0; ow < p.OutW; ow++ {
				for kh := 0; kh < p.KH; kh++ {
					ih := oh*p.StrideH - p.PadTop + kh*p.DilH
					if ih < 0 || ih >= p.H {
						continue
					}
					for kw := 0; kw < p.KW; kw++ {
						iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
						if iw < 0 || iw >= p.W {
							continue
						}
						for j := 0; j < c; j++ {
							xi := ((n*p.H+ih)*p.W+iw)*c + j
							wi := (kh*p.KW+kw)*c + j
							yi := ((n*p.OutH+oh)*p.OutW+ow)*c + j
							t := float64(x[xi]) * float64(w[wi])
							y[yi] += t
							ymag[yi] += math.Abs(t)
							t = float64(dy[yi]) * float64(w[wi])
							dx[xi] += t
							dxmag[xi] += math.Abs(t)
							t = float64(dy[yi]) * float64(x[xi])
							dw[wi] += t
							dwmag[wi] += math.Abs(t)
						}
					}
				}
			}
		}
	}
	return
}

func dwRand(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// dwCheck compares got with base + want within a float32 tolerance scaled
// by the magnitude of the summed terms.
func dwCheck(t *testing.T, what string, got, base []float32, want, mag []float64) {
	t.Helper()
	bad := 0
	for i := range want {
		w, m := want[i], mag[i]
		if base != nil {
			w += float64(base[i])
			m += math.Abs(float64(base[i]))
		}
		if d := math.Abs(float64(got[i]) - w); !(d <= 2e-6*m+1e-7) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %v, want %v (|diff| %.3g, magnitude %.3g)", what, i, got[i], w, d, m)
			}
		}
	}
}

// runDepthwise runs the three passes through the exported kernels into
// guarded outputs (offset by off elements) and checks them against the
// float64 reference.
func runDepthwise(t *testing.T, d dwCase, seed uint64, off int) {
	t.Helper()
	p := d.params()
	if err := p.Validate(); err != nil {
		t.Fatalf("%v: invalid test case: %v", d, err)
	}
	r := rand.New(rand.NewPCG(seed, 77))
	nx, nw, ny := p.N*p.H*p.W*p.C, p.KH*p.KW*p.C, p.N*p.OutH*p.OutW*p.C
	// Inputs offset by off elements, too.
	x := append(make([]float32, off), dwRand(r, nx)...)[off:]
	w := append(make([]float32, (off+1)%4), dwRand(r, nw)...)[(off+1)%4:]
	dy := append(make([]float32, (off+2)%4), dwRand(r, ny)...)[(off+2)%4:]
	wy, ymag, wdx, dxmag, wdw, dwmag := dwRef(&p, x, w, dy)

	y, yok := guarded(t, ny, off, float32(math.NaN())) // NaNs must be overwritten
	for i := range y {
		y[i] = float32(math.NaN())
	}
	Conv2d(&p, x, w, y)
	yok()
	dwCheck(t, "y", y, nil, wy, ymag)

	dx0, dw0 := dwRand(r, nx), dwRand(r, nw)
	dx, dxok := guarded(t, nx, (off+3)%4, -3)
	dw, dwok := guarded(t, nw, (off+1)%4, -5)
	copy(dx, dx0)
	copy(dw, dw0)
	Conv2dBackwardInput(&p, dy, w, dx)
	Conv2dBackwardWeight(&p, x, dy, dw)
	dxok()
	dwok()
	dwCheck(t, "dx", dx, dx0, wdx, dxmag)
	dwCheck(t, "dw", dw, dw0, wdw, dwmag)

	// The Set variant writes every element of dx, NaNs there included.
	dxs, dxsok := guarded(t, nx, off, -7)
	for i := range dxs {
		dxs[i] = float32(math.NaN())
	}
	Conv2dBackwardInputSet(&p, dy, w, dxs)
	dxsok()
	dwCheck(t, "dx (Set)", dxs, nil, wdx, dxmag)

	// Conv2dBackward, which fuses the two passes where p.dwFused, gives
	// their results bit for bit, adding to dx and writing it.
	for _, set := range []bool{false, true} {
		fdx, fdxok := guarded(t, nx, (off+1)%4, -9)
		fdw, fdwok := guarded(t, nw, (off+2)%4, -11)
		copy(fdw, dw0)
		want := dx
		if set {
			for i := range fdx {
				fdx[i] = float32(math.NaN())
			}
			want = dxs
		} else {
			copy(fdx, dx0)
		}
		Conv2dBackward(&p, x, w, dy, fdx, fdw, set)
		fdxok()
		fdwok()
		for _, o := range []struct {
			name      string
			got, want []float32
		}{{"dx", fdx, want}, {"dw", fdw, dw}} {
			for i := range o.got {
				if math.Float32bits(o.got[i]) != math.Float32bits(o.want[i]) {
					t.Fatalf("Conv2dBackward (setDx %v, fused %v): %s[%d] = %v, the standalone pass gives %v",
						set, p.dwFused(), o.name, i, o.got[i], o.want[i])
				}
			}
		}
	}
}

func TestDepthwiseMatchesReference(t *testing.T) {
	fused := 0
	for _, d := range dwCases() {
		p := d.params()
		if units, _, per := p.dwWgtGroups(); p.dwFused() && per < units {
			fused++
		}
	}
	if fused < 2 {
		t.Errorf("%d cases run Conv2dBackward fused with more than one partial group: the test is void", fused)
	}
	forEachImpl(t, func(t *testing.T) {
		forEachChunking(t, func(t *testing.T) {
			for i, d := range dwCases() {
				t.Run(d.String(), func(t *testing.T) { runDepthwise(t, d, uint64(i), i%4) })
			}
		})
	})
}

// TestDepthwiseDriversOnGoKernels runs the SIMD drivers on the Go
// reference row kernels, which bounds-check every access: it tests the
// planning of runs, borders and window rows on every platform.
func TestDepthwiseDriversOnGoKernels(t *testing.T) {
	prev := dwSIMD
	defer func() { dwSIMD = prev }()
	dwSIMD = dwGo
	forEachChunking(t, func(t *testing.T) {
		for i, d := range dwCases() {
			t.Run(d.String(), func(t *testing.T) { runDepthwise(t, d, uint64(i), i%4) })
		}
	})
}

// forEachChunking runs f as the machine's L2 size decides dwChunked for
// the input gradient, and with an L2 of 0, which sends its passes intense
// enough through channel chunks too, as the forward pass always does: the
// test shapes' window rows are smaller than any L2's eighth.
func forEachChunking(t *testing.T, f func(t *testing.T)) {
	saved := cacheSizes.l2
	defer func() { cacheSizes.l2 = saved }()
	t.Run("auto", f)
	cacheSizes.l2 = 0
	t.Run("chunked", f)
}

// TestDepthwiseSpecialValues: a NaN or Inf in the input or the weights
// reaches exactly the outputs whose windows read it, as in the generic
// loops.
func TestDepthwiseSpecialValues(t *testing.T) {
	d := dwCase{1, 7, 9, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}
	p := d.params()
	r := rand.New(rand.NewPCG(5, 5))
	nx, nw, ny := p.N*p.H*p.W*p.C, p.KH*p.KW*p.C, p.N*p.OutH*p.OutW*p.C
	x, w, dy := dwRand(r, nx), dwRand(r, nw), dwRand(r, ny)
	inf := float32(math.Inf(1))
	x[(3*p.W+4)*p.C+2] = float32(math.NaN())
	x[(0*p.W+0)*p.C+17] = inf
	x[(6*p.W+8)*p.C+18] = -inf
	w[(1*p.KW+1)*p.C+5] = inf
	dy[(2*p.OutW+3)*p.C+7] = float32(math.NaN())
	dy[(p.OutH*p.OutW-1)*p.C+9] = -inf

	run := func() (y, dx, dw []float32) {
		y, dx, dw = make([]float32, ny), make([]float32, nx), make([]float32, nw)
		Conv2d(&p, x, w, y)
		Conv2dBackwardInput(&p, dy, w, dx)
		Conv2dBackwardWeight(&p, x, dy, dw)
		return
	}
	prev := Impl()
	if err := Use(Generic); err != nil {
		t.Fatal(err)
	}
	gy, gdx, gdw := run()
	if err := Use(prev); err != nil {
		t.Fatal(err)
	}
	forEachImpl(t, func(t *testing.T) {
		y, dx, dw := run()
		for _, o := range []struct {
			name      string
			got, want []float32
		}{{"y", y, gy}, {"dx", dx, gdx}, {"dw", dw, gdw}} {
			specials := 0
			for i := range o.want {
				wv := float64(o.want[i])
				if math.IsNaN(wv) || math.IsInf(wv, 0) {
					specials++
				}
				if !closeEnough(o.got[i], o.want[i], 1e-5) {
					t.Errorf("%s[%d] = %v, generic %v", o.name, i, o.got[i], o.want[i])
				}
			}
			if specials == 0 {
				t.Errorf("%s: no NaN or Inf reached the output: the test is void", o.name)
			}
		}
	})
}

// TestDepthwiseThreadCountInvariant: bit-identical results for 1, 2 and 3
// threads under every implementation.
func TestDepthwiseThreadCountInvariant(t *testing.T) {
	for _, d := range []dwCase{
		{2, 28, 28, 64, 5, 5, 2, 2, 1, 1, 1, 2, 1, 2},
		{2, 30, 30, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
	} {
		p := d.params()
		r := rand.New(rand.NewPCG(9, 9))
		nx, nw, ny := p.N*p.H*p.W*p.C, p.KH*p.KW*p.C, p.N*p.OutH*p.OutW*p.C
		x, w, dy := dwRand(r, nx), dwRand(r, nw), dwRand(r, ny)
		forEachImpl(t, func(t *testing.T) {
			var first [5][]float32 // y, dx, dw, and dx, dw from Conv2dBackward
			for _, th := range []int{1, 2, 3} {
				prev := parallel.SetThreads(th)
				y, dx, dw := make([]float32, ny), make([]float32, nx), make([]float32, nw)
				fdx, fdw := make([]float32, nx), make([]float32, nw)
				Conv2d(&p, x, w, y)
				Conv2dBackwardInput(&p, dy, w, dx)
				Conv2dBackwardWeight(&p, x, dy, dw)
				Conv2dBackward(&p, x, w, dy, fdx, fdw, false)
				parallel.SetThreads(prev)
				for k, out := range [5][]float32{y, dx, dw, fdx, fdw} {
					if th == 1 {
						first[k] = out
						continue
					}
					for i := range out {
						if math.Float32bits(out[i]) != math.Float32bits(first[k][i]) {
							t.Fatalf("%v: output %d element %d differs between 1 and %d threads: %v vs %v", d, k, i, th, first[k][i], out[i])
						}
					}
				}
			}
		})
	}
}

// TestDepthwiseRowKernels drives the SIMD row kernels (general and
// column-map versions) directly against their Go references: taps 1…5,
// window rows 1…8, every pixel count from 1 to 43 with every tap count
// (the general kernel's blocks of 8, 4, 2 and 1 pixels, 43 = 8·5+2+1;
// the column-map kernels' wide blocks before those, AVX2's of 12 to 14
// pixels by taps, 43 = 12·3+4+2+1 for 3 taps, and AVX-512's of 24 and 16
// at 16 lanes, 43 = 24+16+2+1), every channel count up to 35 (16-
// and 8-lane steps and scalar tails), negative source steps, overwrite
// and accumulate, 1 to 3 output rows a call with a gap between them that
// must stay as it is, whole rows and rows in tiles of 5, 12 and 24
// pixels, and guard bands around every output.
func TestDepthwiseRowKernels(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		k := dwSIMD
		if k == nil {
			t.Skip("the generic implementation has no row kernels")
		}
		r := rand.New(rand.NewPCG(3, 4))
		for trial := 0; trial < 600; trial++ {
			taps := 1 + trial%dwMaxTaps
			rows := 1 + (trial/dwMaxTaps)%dwMaxRows
			n := 1 + (trial*7)%43 // with taps: every pair in 215 trials
			c := r.IntN(36)
			if trial < 36 {
				c = trial
			}
			xpix := c + r.IntN(3)*c
			xtap := (1 + r.IntN(2)) * c
			neg := trial%3 == 0
			if neg {
				xtap = -xtap
			}
			wtap := c * (1 + r.IntN(2))
			ypix := c * (1 + r.IntN(2))
			acc := trial % 2
			// Lay the source out so that every offset is in bounds.
			var offs dwOffs
			span := (n-1)*xpix + (taps-1)*abs(xtap) + c
			xlen := rows*span + 5
			wspan := (taps-1)*wtap + c
			for j := 0; j < rows; j++ {
				offs[j] = j*span + 2
				if neg {
					offs[j] += (taps - 1) * -xtap
				}
				offs[dwMaxRows+j] = j*wspan + 1
			}
			w := dwRand(r, rows*wspan+3)
			ylen := (n-1)*ypix + c
			// lines output rows of the row kernels, each with its own
			// source (xlen apart) and a gap of up to 2 floats, which must
			// stay as it is, before the next row of y.
			lines := 1 + (trial/7)%3
			yrow := ylen + r.IntN(3)
			ytot := (lines-1)*yrow + ylen
			xr := dwRand(r, lines*xlen)
			y0 := dwRand(r, ytot)
			want := append([]float32(nil), y0...)
			dwRowGo(taps, xr, w, want, offs, rows, n, c, xpix, xtap, wtap, ypix, acc, lines, xlen, yrow, nil, 0)
			tile := []int{0, 12, 24, 5}[(trial/3)%4] // n up to 43: one to nine tiles
			off := trial % 4
			y, check := guarded(t, ytot, off, 99)
			copy(y, y0)
			k.row(taps, xr, w, y, offs, rows, n, c, xpix, xtap, wtap, ypix, acc, lines, xlen, yrow, xr, tile)
			check()
			for i := range y {
				if !closeEnough(y[i], want[i], 1e-5) {
					t.Fatalf("row taps %d rows %d n %d c %d acc %d lines %d tile %d: y[%d] = %v, want %v", taps, rows, n, c, acc, lines, tile, i, y[i], want[i])
				}
			}
			x := xr[:xlen]

			// The column-map kernels, with steps of their patterns (u
			// may be below c: columns overlap, which reads are allowed).
			u := max(1, c/(1+r.IntN(2)))
			for _, mk := range []struct {
				name   string
				f      dwRowFunc
				sp, st int
			}{{"S1", k.rowS1, 1, 1}, {"S2", k.rowS2, 2, 1}, {"M1", k.rowM1, 1, -1}} {
				xp, xt := mk.sp*u, mk.st*u
				var mo dwOffs
				mspan := (n-1)*xp + (taps-1)*u + c
				for j := 0; j < rows; j++ {
					mo[j] = j*mspan + 1
					if xt < 0 {
						mo[j] += (taps - 1) * u
					}
					mo[dwMaxRows+j] = offs[dwMaxRows+j]
				}
				mlen := rows*mspan + 3
				mx := dwRand(r, lines*mlen)
				mwant := append([]float32(nil), y0...)
				dwRowGo(taps, mx, w, mwant, mo, rows, n, c, xp, xt, wtap, ypix, acc, lines, mlen, yrow, nil, 0)
				my, mcheck := guarded(t, ytot, (off+1)%4, 98)
				copy(my, y0)
				mk.f(taps, mx, w, my, mo, rows, n, c, xp, xt, wtap, ypix, acc, lines, mlen, yrow, mx[:len(mx)/2], tile)
				mcheck()
				for i := range my {
					if !closeEnough(my[i], mwant[i], 1e-5) {
						t.Fatalf("row%s taps %d rows %d n %d c %d u %d acc %d lines %d tile %d: y[%d] = %v, want %v", mk.name, taps, rows, n, c, u, acc, lines, tile, i, my[i], mwant[i])
					}
				}
			}

			// Weight gradient with the same layout (y as the upstream
			// gradient, non-negative tap steps).
			xt := abs(xtap)
			for j := 0; j < rows; j++ {
				offs[j] = j*span + 2
			}
			// nr output rows: the source repeats with period xl, y with
			// period ylen.
			nr := 1 + trial%3
			xs := make([]float32, 0, nr*xlen)
			ys := make([]float32, 0, nr*ylen)
			for q := 0; q < nr; q++ {
				xs = append(xs, x...)
				ys = append(ys, dwRand(r, ylen)...)
			}
			wl := rows*wspan + 3
			w0 := dwRand(r, wl)
			wwant := append([]float32(nil), w0...)
			dwWgtGo(taps, xs, wwant, ys, offs, rows, n, c, xpix, xt, wtap, ypix, nr, xlen, ylen)
			wg, wcheck := guarded(t, wl, off, 77)
			copy(wg, w0)
			k.wgt(taps, xs, wg, ys, offs, rows, n, c, xpix, xt, wtap, ypix, nr, xlen, ylen)
			wcheck()
			for i := range wg {
				if !closeEnough(wg[i], wwant[i], 1e-5) {
					t.Fatalf("wgt taps %d rows %d n %d c %d nr %d: w[%d] = %v, want %v", taps, rows, n, c, nr, i, wg[i], wwant[i])
				}
			}

			// wgtS1: pixels and taps one column u apart (u may be below
			// c, as above). Its blocks sum each weight's pixels in the
			// order wgt does, so the two agree bit for bit.
			var so dwOffs
			sspan := (n+taps-2)*u + c
			for j := 0; j < rows; j++ {
				so[j] = j*sspan + 1
				so[dwMaxRows+j] = offs[dwMaxRows+j]
			}
			slen := rows*sspan + 2
			sx := dwRand(r, nr*slen)
			sy := dwRand(r, nr*ylen)
			swant := append([]float32(nil), w0...)
			k.wgt(taps, sx, swant, sy, so, rows, n, c, u, u, wtap, ypix, nr, slen, ylen)
			sref := append([]float32(nil), w0...)
			dwWgtGo(taps, sx, sref, sy, so, rows, n, c, u, u, wtap, ypix, nr, slen, ylen)
			sg, scheck := guarded(t, wl, (off+2)%4, 76)
			copy(sg, w0)
			k.wgtS1(taps, sx, sg, sy, so, rows, n, c, u, u, wtap, ypix, nr, slen, ylen)
			scheck()
			for i := range sg {
				if math.Float32bits(sg[i]) != math.Float32bits(swant[i]) || !closeEnough(sg[i], sref[i], 1e-5) {
					t.Fatalf("wgtS1 taps %d rows %d n %d c %d u %d nr %d: w[%d] = %v, wgt %v, reference %v", taps, rows, n, c, u, nr, i, sg[i], swant[i], sref[i])
				}
			}
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// FuzzDepthwise checks random depthwise shapes, strides, dilations and
// paddings under the selected implementation against the float64
// reference, and Conv2dBackward against the standalone passes.
func FuzzDepthwise(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(1), uint8(0), uint8(19))
	f.Add(uint64(2), uint8(5), uint8(2), uint8(1), uint8(24))
	f.Add(uint64(3), uint8(7), uint8(2), uint8(3), uint8(9))
	f.Fuzz(func(t *testing.T, seed uint64, k, s, pad, c uint8) {
		r := rand.New(rand.NewPCG(seed, 1))
		d := dwCase{
			n: 1 + r.IntN(2), h: 1 + r.IntN(12), w: 1 + r.IntN(20), c: 1 + int(c%40),
			kh: 1 + int(k%7), kw: 1 + int((k/7)%7),
			sh: 1 + int(s%3), sw: 1 + int((s/3)%3), dh: 1, dw: 1,
		}
		if seed%3 == 0 {
			d.dh, d.dw = 1+r.IntN(3), 1+r.IntN(3)
		}
		d.pt, d.pb = int(pad%4), r.IntN(4)
		d.pl, d.pr = int((pad/4)%4), r.IntN(4)
		if seed%4 == 1 {
			// Tall images of stride 1 and "same" height: enough output
			// rows for weight-gradient partials of whole bands, which
			// Conv2dBackward fuses.
			d.n, d.h, d.sh = 1+r.IntN(4), 16+r.IntN(48), 1
			d.pt = min(d.pt, (d.kh-1)*d.dh)
			d.pb = (d.kh-1)*d.dh - d.pt
		}
		p := d.params()
		if p.Validate() != nil {
			return
		}
		runDepthwise(t, d, seed, int(seed%4))
	})
}

func TestDwTile(t *testing.T) {
	for _, c := range []struct{ c, k, w, want int }{
		{144, 3, 56, 0}, {240, 5, 28, 0}, {56, 3, 64, 0}, // strides that spread over L1's sets
		{64, 3, 64, 24}, {32, 3, 112, 24}, {64, 3, 50, 24}, // 16 and 32 sets
		{128, 3, 56, 12}, {128, 3, 45, 12}, // 8 sets: small tiles
		{256, 5, 28, 0}, {256, 3, 56, 0}, // 4 sets: not even 12 pixels fit
		{64, 3, 32, 0}, {1152, 5, 7, 0}, {288, 5, 33, 0}, // few enough lines
	} {
		p := ConvParams{C: c.c, KH: c.k, KW: c.k}
		if got := p.dwTile(c.w); got != c.want {
			t.Errorf("C=%d %dx%d over %d pixels: dwTile %d, want %d", c.c, c.k, c.k, c.w, got, c.want)
		}
	}
}
