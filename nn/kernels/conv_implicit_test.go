package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// implicitRefKernel is a strip kernel in plain Go for any mr×nr tile (the
// reference loop of implicitKernel), with which the drivers can run the
// tile geometries of kernels this machine cannot execute.
func implicitRefKernel(mr, nr int) implicitKernel {
	return func(tiles, segs, seg int, a []float32, rsA, csA, jumpA, tileA int, b []float32, rsB, jumpB int, c []float32, ldc, tileC int) {
		for u := 0; u < tiles; u++ {
			for i := 0; i < mr; i++ {
				for j := 0; j < nr; j++ {
					var sum float32
					for s := 0; s < segs; s++ {
						for t := 0; t < seg; t++ {
							sum += a[u*tileA+i*rsA+s*jumpA+t*csA] * b[s*jumpB+t*rsB+j]
						}
					}
					c[u*tileC+i*ldc+j] = sum
				}
			}
		}
	}
}

// implicitGeometries are strip kernels with other tiles than the
// implementations': the AVX-512 geometry (14×32 with a 14×16 half tile)
// in Go, and, on amd64, the AVX2 instantiation of the template with 14
// rows (conv_implicit_amd64_test.go).
var implicitGeometries = []struct {
	name string
	arch *implicitArch
}{
	{"go14x32", &implicitArch{mr: 14, nr: 32, kern: implicitRefKernel(14, 32), half: implicitRefKernel(14, 16),
		short: &implicitArch{mr: 9, nr: 32, kern: implicitRefKernel(9, 32), half: implicitRefKernel(9, 16)}}},
	{"go6x16", &implicitArch{mr: 6, nr: 16, kern: implicitRefKernel(6, 16), half: implicitRefKernel(6, 8)}},
}

// forEachImplicit runs f under every implementation this machine supports
// and with every extra tile geometry.
func forEachImplicit(t *testing.T, f func(t *testing.T, g *implicitArch)) {
	forEachImpl(t, func(t *testing.T) { f(t, implicitImpl) })
	saved := implicitImpl
	defer func() { implicitImpl = saved }()
	for _, geo := range implicitGeometries {
		implicitImpl = geo.arch
		t.Run(geo.name, func(t *testing.T) { f(t, geo.arch) })
	}
}

// withShort returns g and, if it has one, its short geometry: the kernel
// tests run both.
func (g *implicitArch) withShort() []*implicitArch {
	if g.short == nil {
		return []*implicitArch{g}
	}
	return []*implicitArch{g, g.short}
}

// implicitCase is one strip-kernel call with hostile layout: strides and
// gaps between the tiles and rows of C (sentinels there must survive), A,
// B and C offset into their buffers, C between guard bands and filled
// with NaN (the kernel must overwrite it without reading it).
type implicitCase struct {
	tiles, segs, seg int
	rsA, csA         int // jumpA and tileA follow from these and the case
	pad              int // extra elements per row of B and C, and between tiles of C
	off              int
	half             bool
}

func (tc implicitCase) String() string {
	return fmt.Sprintf("tiles=%d segs=%d seg=%d rsA=%d csA=%d pad=%d off=%d half=%v",
		tc.tiles, tc.segs, tc.seg, tc.rsA, tc.csA, tc.pad, tc.off, tc.half)
}

const implicitSentinel = -4321.25

// run calls g's kernel through implicitArch.run and checks every element
// of C against a float64 reference; mutate may plant NaN or Inf in A and B.
func (tc implicitCase) run(t *testing.T, g *implicitArch, rng *rand.Rand, mutate func(a, b []float32)) {
	t.Helper()
	mr, nr := g.mr, g.nr
	if tc.half {
		nr /= 2
	}
	// A: steps of a segment csA apart, segments after the last step of the
	// one before plus a gap, tiles after the last row of the one before.
	segSpan := max(0, tc.seg-1)*tc.csA + 1
	jumpA := segSpan + 2
	tileSpan := (mr-1)*tc.rsA + max(0, tc.segs-1)*jumpA + segSpan
	tileA := tileSpan + 1
	rsB := nr + tc.pad
	jumpB := max(1, tc.seg)*rsB + tc.pad
	ldc := nr + tc.pad
	tileC := mr*ldc + tc.pad
	a := fillMat(rng, 1, max(1, tc.tiles)*tileA, 0, tc.off)
	b := fillMat(rng, 1, max(1, tc.segs)*jumpB, 0, tc.off)
	if mutate != nil {
		mutate(a, b)
	}
	clen := max(0, tc.tiles-1)*tileC + (mr-1)*ldc + nr
	c, check := guarded(t, clen, tc.off, implicitSentinel)
	inTile := func(o int) bool { r := o % tileC; return r < mr*ldc && r%ldc < nr && o/tileC < tc.tiles }
	for o := range c {
		if inTile(o) {
			c[o] = float32(math.NaN())
		}
	}
	want := make([]float64, len(c))
	tol := make([]float64, len(c))
	for u := 0; u < tc.tiles; u++ {
		for i := 0; i < mr; i++ {
			for j := 0; j < nr; j++ {
				var s, mag float64
				for sg := 0; sg < tc.segs; sg++ {
					for st := 0; st < tc.seg; st++ {
						p := float64(a[u*tileA+i*tc.rsA+sg*jumpA+st*tc.csA]) * float64(b[sg*jumpB+st*rsB+j])
						s += p
						mag += math.Abs(p)
					}
				}
				o := u*tileC + i*ldc + j
				want[o] = s
				tol[o] = float64(tc.segs*tc.seg+2) * 0x1p-24 * mag
			}
		}
	}
	g.run(tc.half, tc.tiles, tc.segs, tc.seg, a, tc.rsA, tc.csA, jumpA, tileA, b, rsB, jumpB, c, ldc, tileC)
	check()
	for o, got := range c {
		if !inTile(o) {
			if math.Float32bits(got) != math.Float32bits(implicitSentinel) {
				t.Fatalf("%v: gap element c[%d] overwritten: %v", tc, o, got)
			}
			continue
		}
		w := want[o]
		ok := false
		switch {
		case math.IsNaN(w):
			ok = math.IsNaN(float64(got))
		case math.IsInf(w, 0):
			ok = float64(got) == w
		default:
			ok = math.Abs(float64(got)-w) <= tol[o]+1e-30
		}
		if !ok {
			t.Fatalf("%v: c[%d] (tile %d, row %d, column %d) = %v, want %v (tolerance %.3g)",
				tc, o, o/tileC, o%tileC/ldc, o%ldc, got, w, tol[o])
		}
	}
}

// TestImplicitKernelShapes runs each strip kernel (and its half-width
// twin) over counts of tiles, segments and steps that hit every remainder
// of the 4-step unrolled loop (seg 0…9), no segments, no tiles, and
// several tiles in one call, with strided A and gaps in B and C.
func TestImplicitKernelShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	forEachImplicit(t, func(t *testing.T, g *implicitArch) {
		for _, g := range g.withShort() {
			for _, half := range []bool{false, true} {
				if half && g.half == nil {
					continue
				}
				for tiles := 0; tiles <= 3; tiles++ {
					for segs := 0; segs <= 3; segs++ {
						for seg := 0; seg <= 9; seg++ {
							tc := implicitCase{tiles: tiles, segs: segs, seg: seg, rsA: 1 + seg%3, csA: 1 + segs%2,
								pad: (tiles + seg) % 3, off: (segs + seg) % 4, half: half}
							tc.run(t, g, rng, nil)
						}
					}
				}
			}
		}
	})
}

// TestImplicitKernelNaNInf plants NaN and ±Inf in A and B: they must reach
// exactly the elements of C the reference loop sends them to.
func TestImplicitKernelNaNInf(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	forEachImplicit(t, func(t *testing.T, g *implicitArch) {
		for _, g := range g.withShort() {
			for trial := 0; trial < 4; trial++ {
				tc := implicitCase{tiles: 2, segs: 2, seg: 6, rsA: 3, csA: 1, pad: 2, off: trial, half: trial%2 == 1 && g.half != nil}
				tc.run(t, g, rng, func(a, b []float32) {
					a[rng.IntN(len(a))] = nan
					a[rng.IntN(len(a))] = inf
					b[rng.IntN(len(b))] = -inf
					b[rng.IntN(len(b))] = nan
				})
			}
		}
	})
}

// TestImplicitRunChecksBounds checks that implicitArch.run refuses a call
// that would read or write past its slices: the assembly does not check.
func TestImplicitRunChecksBounds(t *testing.T) {
	g := &implicitArch{mr: 4, nr: 4, kern: implicitKernelGeneric}
	a, b, c := make([]float32, 64), make([]float32, 64), make([]float32, 64)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"a", func() { g.run(false, 1, 2, 8, a, 4, 4, 32, 0, b, 4, 16, c, 4, 0) }},
		{"b", func() { g.run(false, 1, 2, 4, a, 4, 1, 4, 0, b, 4, 64, c, 4, 0) }},
		{"c", func() { g.run(false, 5, 1, 1, a, 1, 1, 0, 1, b, 4, 0, c, 4, 16) }},
		{"negative", func() { g.run(false, 1, 1, 1, a, -1, 1, 0, 0, b, 4, 0, c, 4, 0) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: out-of-range call was not refused", tc.name)
				}
			}()
			tc.f()
		}()
	}
	g.run(false, 1, 2, 4, a, 4, 1, 16, 0, b, 4, 16, c, 4, 0) // in range: no panic
}

// implicitConvGeoms are convolutions for the implicit paths: output
// channels around the tile widths (whole, half, overlapped last panels
// and column tiles), window rows KW·C shorter and longer than a tile's
// rows (tiles reading past or before the window, overlapped last row
// tile), padding on every side and none, windows larger than the image,
// rows with no window row inside, stride 2, DilH ≠ DilW = 1, and the stem.
func implicitConvGeoms() []ConvParams {
	mk := func(n, h, w, c, oc, kh, kw, sh, sw, dh, pt, pb, pl, pr int) ConvParams {
		return ConvParams{N: n, H: h, W: w, C: c, OutC: oc, KH: kh, KW: kw,
			OutH: (h+pt+pb-(kh-1)*dh-1)/sh + 1, OutW: (w+pl+pr-kw)/sw + 1,
			StrideH: sh, StrideW: sw, DilH: dh, DilW: 1, PadTop: pt, PadLeft: pl, Groups: 1}
	}
	var ps []ConvParams
	for _, oc := range []int{1, 3, 4, 8, 9, 16, 17, 24, 31, 32, 33, 40, 48, 70} {
		ps = append(ps, mk(2, 7, 9, 3, oc, 3, 3, 1, 1, 1, 1, 1, 1, 1))
	}
	for c := 1; c <= 7; c++ { // KW·C = 3 … 21 rows
		ps = append(ps,
			mk(1, 6, 11, c, 32, 3, 3, 2, 2, 1, 0, 1, 0, 1), // TF "SAME", stride 2
			mk(2, 5, 8, c, 16, 3, 3, 1, 1, 1, 0, 0, 0, 0),  // no padding: the last window ends x
			mk(1, 4, 5, c, 20, 2, 2, 1, 1, 1, 1, 0, 1, 0),  // the first window starts x
		)
	}
	return append(ps,
		mk(1, 1, 1, 1, 16, 1, 1, 1, 1, 1, 0, 0, 1, 0),   // one pixel, one tap (and padding)
		mk(2, 5, 1, 2, 16, 1, 1, 2, 1, 1, 0, 0, 0, 0),   // a single-column image, 1×1 stride 2
		mk(2, 9, 10, 3, 32, 3, 3, 1, 1, 2, 2, 2, 1, 1),  // DilH 2, DilW 1
		mk(1, 3, 3, 2, 24, 5, 5, 1, 1, 1, 3, 3, 3, 3),   // window larger than the image
		mk(1, 4, 6, 3, 16, 3, 3, 1, 1, 1, 4, 4, 1, 1),   // rows with no window row inside
		mk(2, 12, 12, 3, 32, 3, 3, 2, 2, 1, 0, 1, 0, 1), // the stem, smaller
		mk(1, 10, 40, 8, 36, 3, 5, 1, 2, 1, 1, 1, 2, 2), // many runs per row, 3×5
		// Images tall enough for the columns beside the runs to go down
		// bands of rows in tiles (and overlapped last tiles) for every
		// tile height: border columns on both sides, two of them per
		// side, a partial last panel, the stem, rows without a window
		// row, columns without a window column, no interior column.
		mk(2, 33, 9, 3, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1),
		mk(1, 30, 11, 2, 40, 5, 5, 1, 1, 1, 2, 2, 2, 2),
		mk(2, 64, 30, 3, 32, 3, 3, 2, 2, 1, 0, 1, 0, 1),
		mk(1, 4, 6, 3, 16, 3, 3, 1, 1, 1, 16, 16, 1, 1),
		mk(1, 20, 2, 2, 16, 3, 3, 1, 1, 1, 1, 1, 4, 4),
		mk(1, 30, 3, 2, 24, 5, 5, 1, 1, 1, 3, 3, 3, 3),
	)
}

// refConvFwdWeight returns the reference forward output and weight
// gradient of p (float64, with the magnitudes of their terms).
func refConvFwdWeight(p *ConvParams, x, w, dy []float32) (y, yMag, dw, dwMag []float64) {
	y, yMag = make([]float64, p.N*p.OutH*p.OutW*p.OutC), make([]float64, p.N*p.OutH*p.OutW*p.OutC)
	dw, dwMag = make([]float64, len(w)), make([]float64, len(w))
	for n := 0; n < p.N; n++ {
		for oh := 0; oh < p.OutH; oh++ {
			for ow := 0; ow < p.OutW; ow++ {
				pix := (n*p.OutH+oh)*p.OutW + ow
				for kh := 0; kh < p.KH; kh++ {
					ih := oh*p.StrideH - p.PadTop + kh*p.DilH
					for kw := 0; kw < p.KW; kw++ {
						iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
						if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
							continue
						}
						for ci := 0; ci < p.C; ci++ {
							xv := float64(x[((n*p.H+ih)*p.W+iw)*p.C+ci])
							for o := 0; o < p.OutC; o++ {
								wi := ((kh*p.KW+kw)*p.C+ci)*p.OutC + o
								t := xv * float64(w[wi])
								y[pix*p.OutC+o] += t
								yMag[pix*p.OutC+o] += math.Abs(t)
								t = xv * float64(dy[pix*p.OutC+o])
								dw[wi] += t
								dwMag[wi] += math.Abs(t)
							}
						}
					}
				}
			}
		}
	}
	return y, yMag, dw, dwMag
}

// TestImplicitConv runs Conv2d and Conv2dBackwardWeight through the
// implicit paths on implicitConvGeoms under every implementation and tile
// geometry, against the direct loops: y overwritten (NaNs there must not
// leak), dw accumulated onto what is there, nothing written outside.
func TestImplicitConv(t *testing.T) {
	forEachImplicit(t, func(t *testing.T, g *implicitArch) {
		for ci, p := range implicitConvGeoms() {
			if err := p.Validate(); err != nil {
				t.Fatalf("case %d invalid: %v", ci, err)
			}
			if !p.implicit() {
				t.Fatalf("%v: not on the implicit path", &p)
			}
			r := rand.New(rand.NewPCG(uint64(ci), 12))
			x := fillMat(r, 1, p.N*p.H*p.W*p.C, 0, ci%4)
			w := fillMat(r, 1, p.KH*p.KW*p.C*p.OutC, 0, 0)
			dy := fillMat(r, 1, p.N*p.OutH*p.OutW*p.OutC, 0, 1)
			wantY, yMag, wantDW, dwMag := refConvFwdWeight(&p, x, w, dy)

			y, yok := guarded(t, len(wantY), ci%4, float32(math.NaN()))
			Conv2d(&p, x, w, y)
			yok()
			implicitCheck(t, &p, "y", y, nil, wantY, yMag)

			dw0 := fillMat(r, 1, len(w), 0, 0)
			dw, dwok := guarded(t, len(w), (ci+1)%4, 0)
			copy(dw, dw0)
			Conv2dBackwardWeight(&p, x, dy, dw)
			dwok()
			if p.implicitWeight() != (p.OutC >= g.nr || g.half != nil && p.OutC == g.nr/2) {
				t.Fatalf("%v: implicitWeight() = %v", &p, p.implicitWeight())
			}
			implicitCheck(t, &p, "dw", dw, dw0, wantDW, dwMag)
		}
	})
}

func implicitCheck(t *testing.T, p *ConvParams, what string, got, base []float32, want, mag []float64) {
	t.Helper()
	for i, w := range want {
		m := mag[i]
		if base != nil {
			w += float64(base[i])
			m += math.Abs(float64(base[i]))
		}
		if d := math.Abs(float64(got[i]) - w); !(d <= 1e-5*m+1e-6) {
			t.Fatalf("%v: %s[%d] = %v, want %v (|diff| %.3g, magnitude %.3g)", p, what, i, got[i], w, d, m)
		}
	}
}

// TestImplicitThreadsBitIdentical checks that 1 and 3 threads give the
// same bits for the forward pass and the weight gradient.
func TestImplicitThreadsBitIdentical(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, p := range []ConvParams{
			{N: 2, H: 40, W: 40, C: 3, OutH: 20, OutW: 20, OutC: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1},
			{N: 3, H: 17, W: 15, C: 8, OutH: 17, OutW: 15, OutC: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, Groups: 1},
		} {
			r := rand.New(rand.NewPCG(5, 6))
			x := fillMat(r, 1, p.N*p.H*p.W*p.C, 0, 0)
			w := fillMat(r, 1, p.KH*p.KW*p.C*p.OutC, 0, 0)
			dy := fillMat(r, 1, p.N*p.OutH*p.OutW*p.OutC, 0, 0)
			var y, dw [2][]float32
			for i, threads := range []int{1, 3} {
				prev := parallel.SetThreads(threads)
				y[i], dw[i] = make([]float32, len(dy)), make([]float32, len(w))
				Conv2d(&p, x, w, y[i])
				Conv2dBackwardWeight(&p, x, dy, dw[i])
				parallel.SetThreads(prev)
			}
			for _, c := range []struct {
				name string
				a, b []float32
			}{{"y", y[0], y[1]}, {"dw", dw[0], dw[1]}} {
				for i := range c.a {
					if math.Float32bits(c.a[i]) != math.Float32bits(c.b[i]) {
						t.Fatalf("%v: %s[%d] = %v with 1 thread, %v with 3", &p, c.name, i, c.a[i], c.b[i])
					}
				}
			}
		}
	})
}
