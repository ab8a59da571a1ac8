package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// sgemmRef is the reference loop of Sgemm's doc comment, accumulated in
// float64. It also returns, per element of C, the bound on float32 rounding
// error of any summation order: (k+2)·2⁻²⁴·(|alpha|·Σ|a||b| + |beta·c|).
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want []float32, tol []float64) {
	want = make([]float32, m*n)
	tol = make([]float64, m*n)
	opA := func(i, p int) float64 {
		if transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	opB := func(p, j int) float64 {
		if transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, mag float64
			for p := 0; p < k; p++ {
				x, y := opA(i, p), opB(p, j)
				s += x * y
				mag += math.Abs(x * y)
			}
			v := float64(alpha) * s
			mag *= math.Abs(float64(alpha))
			if beta != 0 {
				cv := float64(beta) * float64(c[i*ldc+j])
				v += cv
				mag += math.Abs(cv)
			}
			want[i*n+j] = float32(v)
			tol[i*n+j] = float64(k+2) * 0x1p-24 * mag
		}
	}
	return want, tol
}

// sgemmCase is one Sgemm call with hostile layout: leading dimensions
// larger than the rows, inputs offset into their buffers, C between
// sentinel guard bands (and sentinels in the gaps between its rows).
type sgemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra elements per row (lda, ldb, ldc)
	off            int // offset of A, B and C into their buffers
	nanC           bool
}

func (tc sgemmCase) String() string {
	return fmt.Sprintf("%dx%dx%d tA=%v tB=%v alpha=%v beta=%v pad=%d off=%d", tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.alpha, tc.beta, tc.pad, tc.off)
}

// fill returns a slice of rows×cols with leading dimension ld at offset off
// in a fresh buffer, filled with values in [-1, 1).
func fillMat(rng *rand.Rand, rows, cols, ld, off int) []float32 {
	n := 0
	if rows > 0 && cols > 0 {
		n = (rows-1)*ld + cols
	}
	buf := make([]float32, off+n)
	for i := range buf {
		buf[i] = rng.Float32()*2 - 1
	}
	return buf[off:]
}

const sgemmSentinel = -12345.5

// run calls Sgemm on the case and checks it against sgemmRef; mutate may
// plant NaN or Inf in A and B before the call.
func (tc sgemmCase) run(t *testing.T, rng *rand.Rand, mutate func(a, b []float32, lda, ldb int)) []float32 {
	t.Helper()
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = bc, br
	}
	lda, ldb, ldc := ac+tc.pad, bc+tc.pad, tc.n+tc.pad
	a := fillMat(rng, ar, ac, lda, tc.off)
	b := fillMat(rng, br, bc, ldb, tc.off)
	if mutate != nil {
		mutate(a, b, lda, ldb)
	}
	clen := 0
	if tc.m > 0 && tc.n > 0 {
		clen = (tc.m-1)*ldc + tc.n
	}
	c, check := guarded(t, clen, tc.off, sgemmSentinel)
	for i := range c {
		if i%ldc < tc.n {
			c[i] = rng.Float32()*2 - 1
			if tc.nanC {
				c[i] = float32(math.NaN())
			}
		} else {
			c[i] = sgemmSentinel // gap between rows
		}
	}
	want, tol := sgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	check()
	got := make([]float32, tc.m*tc.n)
	for i := range c {
		r, j := i/ldc, i%ldc
		if j >= tc.n {
			if math.Float32bits(c[i]) != math.Float32bits(sgemmSentinel) {
				t.Fatalf("%v: gap element c[%d] (row %d, column %d) overwritten: %v", tc, i, r, j, c[i])
			}
			continue
		}
		g, w := c[i], want[r*tc.n+j]
		got[r*tc.n+j] = g
		ok := false
		switch {
		case math.IsNaN(float64(w)):
			ok = math.IsNaN(float64(g))
		case math.IsInf(float64(w), 0):
			ok = g == w
		default:
			ok = math.Abs(float64(g)-float64(w)) <= tol[r*tc.n+j]+1e-30
		}
		if !ok {
			t.Fatalf("%v: c[%d][%d] = %v, want %v (tolerance %.3g)", tc, r, j, g, w, tol[r*tc.n+j])
		}
	}
	return got
}

// forEachPacking runs f under every implementation with the driver's
// choice of reading A and B in place and with each choice forced.
func forEachPacking(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	forEachImpl(t, func(t *testing.T) {
		defer func() { sgemmForce = nil }()
		forces := []*sgemmPacking{nil, {false, false}, {true, false}, {false, true}, {true, true}}
		if testing.Short() {
			forces = forces[:2] // the driver's choice, and everything packed
		}
		for _, force := range forces {
			sgemmForce = force
			name := "auto"
			if force != nil {
				name = fmt.Sprintf("directA=%v,directB=%v", force.directA, force.directB)
			}
			t.Run(name, f)
		}
	})
}

// Sizes m×n (k varies) and the micro-tiles each exercises, for the AVX2
// 6×16 kernel (and, in brackets, the generic 4×4 and AVX-512 14×32 ones
// where they differ). TestSgemmAllRemainders covers every remainder of
// every kernel exhaustively on small k.
var sgemmSizes = []struct{ m, n int }{
	{0, 0},     // nothing
	{0, 5},     // nothing
	{5, 0},     // nothing
	{1, 1},     // 1x1
	{6, 16},    // 6x16 [4x4, 2x4 | 6x16 in 14x32]
	{5, 15},    // 5x15
	{7, 17},    // 6x16, 6x1, 1x16, 1x1
	{13, 17},   // 6x16, 6x1, 1x16, 1x1
	{12, 32},   // 6x16 only
	{14, 32},   // 6x16, 2x16 [14x32]
	{15, 33},   // 6x16, 6x1, 3x16, 3x1 [14x32, 14x1, 1x32, 1x1]
	{29, 65},   // 6x16, 6x1, 5x16, 5x1 [14x32, 14x1, 1x32, 1x1]
	{3, 100},   // 3x16, 3x4
	{100, 3},   // 6x3, 4x3
	{130, 70},  // 6x16, 6x6, 4x16, 4x6; two row blocks (mc = 126)
	{257, 24},  // 6x16, 6x8, 5x16, 5x8; A read in place
	{41, 144},  // 6x16, 5x16; A packed (n > 64)
	{64, 200},  // 6x16, 6x8, 4x16, 4x8
	{300, 129}, // 6x16, 6x1; several row blocks and column groups
}

var sgemmKs = []int{0, 1, 2, 5, 16, 31, 257, 600}

func TestSgemmShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	forEachPacking(t, func(t *testing.T) {
		for _, sz := range sgemmSizes {
			for _, k := range sgemmKs {
				if sz.m*sz.n*k > 1<<20 || testing.Short() && sz.m*sz.n*k > 1<<16 {
					continue
				}
				for tr := 0; tr < 4; tr++ {
					tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: sz.m, n: sz.n, k: k, alpha: 1, beta: 0}
					tc.run(t, rng, nil)
				}
			}
		}
	})
}

// TestSgemmAllRemainders runs every m < 2·14+2 and n < 2·32+2, so every
// row and column remainder of every micro-kernel, whole tiles and edge
// tiles, in all four transpose combinations.
func TestSgemmAllRemainders(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 2))
	forEachPacking(t, func(t *testing.T) {
		for m := 1; m < 30; m++ {
			for n := 1; n < 66; n++ {
				tr := (m + n) % 4
				tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: m, n: n, k: 1 + (m*n)%9, alpha: 1.5, beta: 0.5, pad: n % 3, off: m % 4}
				tc.run(t, rng, nil)
			}
		}
	})
}

func TestSgemmAlphaBetaStridesOffsets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	forEachPacking(t, func(t *testing.T) {
		for _, sz := range []struct{ m, n, k int }{{13, 17, 9}, {7, 70, 33}, {30, 20, 300}} {
			for tr := 0; tr < 4; tr++ {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 0.25}, {0, 2}, {2, -1}} {
					for pad := 0; pad < 3; pad += 2 {
						for off := 0; off < 4; off++ {
							if testing.Short() && (pad == 0 || off == 1 || off == 2) {
								continue
							}
							tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: sz.m, n: sz.n, k: sz.k,
								alpha: ab[0], beta: ab[1], pad: pad, off: off}
							tc.run(t, rng, nil)
						}
					}
				}
			}
		}
	})
}

// TestSgemmBetaZeroIgnoresNaN fills C with NaN: beta == 0 (either sign)
// must overwrite it without reading it.
func TestSgemmBetaZeroIgnoresNaN(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	forEachPacking(t, func(t *testing.T) {
		for _, sz := range []struct{ m, n, k int }{{1, 1, 1}, {13, 17, 5}, {100, 40, 300}, {7, 150, 2}, {5, 3, 0}} {
			for tr := 0; tr < 4; tr++ {
				for _, beta := range []float32{0, float32(math.Copysign(0, -1))} {
					tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: sz.m, n: sz.n, k: sz.k, alpha: 0.5, beta: beta, nanC: true, pad: 1, off: 1}
					got := tc.run(t, rng, nil)
					for i, v := range got {
						if math.IsNaN(float64(v)) {
							t.Fatalf("%v: NaN from C leaked into c[%d]", tc, i)
						}
					}
				}
			}
		}
	})
}

// TestSgemmNaNInf plants NaN and ±Inf in A and B: they must reach exactly
// the elements of C the reference loop sends them to.
func TestSgemmNaNInf(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	forEachPacking(t, func(t *testing.T) {
		for _, sz := range []struct{ m, n, k int }{{13, 17, 7}, {20, 90, 40}, {7, 24, 300}} {
			for tr := 0; tr < 4; tr++ {
				tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: sz.m, n: sz.n, k: sz.k, alpha: 1, beta: 0.5, off: 3}
				tc.run(t, rng, func(a, b []float32, lda, ldb int) {
					a[rng.IntN(len(a))] = nan
					a[rng.IntN(len(a))] = inf
					a[rng.IntN(len(a))] = -inf
					b[rng.IntN(len(b))] = nan
					b[rng.IntN(len(b))] = inf
					b[len(b)-1] = -inf
				})
			}
		}
	})
}

// TestSgemmBlocking shrinks kc, mc and nc so that small products cross
// every block boundary: several kc blocks (later ones add onto C), several
// row blocks and column groups per task grid, several packed nc blocks,
// and chunks of k (products with a small C, 13×40 and 30×20, where k =
// 300 and 129 make 38 and 17 blocks of 8, so 10 chunks and 5, the last of
// one step; 200×7 with k = 64 makes 2).
func TestSgemmBlocking(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 6))
	forEachPacking(t, func(t *testing.T) {
		saved := *sgemmImpl
		defer func() { *sgemmImpl = saved }()
		g := sgemmImpl
		g.kc, g.mc = 8, 2*g.mr
		for _, sz := range []struct{ m, n, k int }{{37, 50, 29}, {5, 200, 17}, {200, 7, 64}, {45, 97, 9}, {13, 40, 300}, {30, 20, 129}} {
			g.bmax = sz.k * g.nr * 2 // two panels per nc block
			for tr := 0; tr < 4; tr++ {
				for _, beta := range []float32{0, 0.5} {
					tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: sz.m, n: sz.n, k: sz.k, alpha: 0.75, beta: beta, pad: 2, off: 2}
					tc.run(t, rng, nil)
				}
			}
		}
	})
}

// TestSgemmPartialPanelOverread runs products whose A is a view into a
// larger buffer of NaN: rows past m (below A, or in the gap between the
// columns of Aᵀ) that a partial row panel read in place takes in must
// reach only rows of C that are not stored.
func TestSgemmPartialPanelOverread(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 8))
	nan := float32(math.NaN())
	forEachPacking(t, func(t *testing.T) {
		for _, sz := range []struct{ m, n, k int }{{3, 20, 7}, {17, 40, 33}, {24, 96, 300}, {10, 5, 2}} {
			for _, transA := range []bool{false, true} {
				// A: m×k (or k×m) in a buffer with 15 more NaN rows (or
				// 15 more NaN columns), so that any row tile fits.
				ar, ac, lda := sz.m, sz.k, sz.k
				if transA {
					ar, ac, lda = sz.k, sz.m, sz.m+15
				}
				buf := make([]float32, (ar+15)*lda)
				for i := range buf {
					buf[i] = nan
				}
				for i := 0; i < ar; i++ {
					for j := 0; j < ac; j++ {
						buf[i*lda+j] = rng.Float32()*2 - 1
					}
				}
				b := fillMat(rng, sz.k, sz.n, sz.n, 0)
				c := fillMat(rng, sz.m, sz.n, sz.n, 0)
				want, tol := sgemmRef(transA, false, sz.m, sz.n, sz.k, 1.5, buf, lda, b, sz.n, 0.5, c, sz.n)
				Sgemm(transA, false, sz.m, sz.n, sz.k, 1.5, buf, lda, b, sz.n, 0.5, c, sz.n)
				for i, w := range want {
					if g := c[i]; !(math.Abs(float64(g)-float64(w)) <= tol[i]+1e-30) {
						t.Fatalf("%dx%dx%d transA=%v: c[%d] = %v, want %v", sz.m, sz.n, sz.k, transA, i, g, w)
					}
				}
			}
		}
	})
}

// sgemmRefKernel is a micro-kernel in plain Go for any mr×nr tile, with
// which the driver can run the tile geometries of kernels this machine
// cannot execute.
func sgemmRefKernel(mr, nr int) sgemmKernel {
	return func(k int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32, tiles, tileA, tileB, tileC int) {
		for t := range tiles {
			a, b, c := a[t*tileA:], b[t*tileB:], c[t*tileC:]
			for i := 0; i < mr; i++ {
				for j := 0; j < nr; j++ {
					var s float32
					for p := 0; p < k; p++ {
						s += a[i*rsA+p*csA] * b[p*rsB+j]
					}
					if beta == 0 {
						c[i*ldc+j] = alpha * s
					} else {
						c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
					}
				}
			}
		}
	}
}

// sgemmGeometries are drivers with other tiles than the implementations':
// the AVX-512 geometry (14×32 with a 14×16 half tile) with Go micro-kernels,
// and, on amd64, the AVX2 instantiation of the template with 14 rows and
// the AVX2 4×24 tile (sgemm_amd64_test.go).
var sgemmGeometries = []struct {
	name string
	arch func() *sgemmArch
}{
	{"go14x32", func() *sgemmArch { return newSgemmArch(14, 32, sgemmRefKernel(14, 32), sgemmRefKernel(14, 16)) }},
	{"go6x16", func() *sgemmArch { return newSgemmArch(6, 16, sgemmRefKernel(6, 16), sgemmRefKernel(6, 8)) }},
}

// TestSgemmTileGeometries runs every remainder of each geometry, with the
// blocking shrunk so that small products cross kc, mc and nc blocks.
func TestSgemmTileGeometries(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	saved := sgemmImpl
	defer func() { sgemmImpl = saved }()
	for _, geo := range sgemmGeometries {
		t.Run(geo.name, func(t *testing.T) {
			g := geo.arch()
			sgemmImpl = g
			for m := 1; m < 2*g.mr+2; m++ {
				for n := 1; n < 2*g.nr+2; n++ {
					tr := (m + n) % 4
					tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: m, n: n, k: 1 + (m*n)%9, alpha: 1.5, beta: 0.5, pad: n % 3, off: m % 4}
					tc.run(t, rng, nil)
				}
			}
			g.kc, g.mc = 8, 2*g.mr
			for _, force := range []*sgemmPacking{nil, {false, false}, {true, true}} {
				sgemmForce = force
				for tr := 0; tr < 4; tr++ {
					tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: 3*g.mr + 5, n: 3*g.nr + 3, k: 29, alpha: 0.75, beta: 0.5, pad: 2, off: 1}
					g.bmax = tc.k * g.nr * 2
					tc.run(t, rng, nil)
				}
			}
			sgemmForce = nil
		})
	}
}

// TestSgemmThreadsBitIdentical checks that 1 and 3 threads give the same
// bits (each element of C is summed by one thread in a fixed order).
func TestSgemmThreadsBitIdentical(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, sz := range []struct{ m, n, k int }{{300, 129, 300}, {1000, 24, 96}, {96, 24, 3000}, {8, 500, 700}, {24, 96, 25088}} {
			for tr := 0; tr < 4; tr++ {
				var res [2][]float32
				for x, threads := range []int{1, 3} {
					rng := rand.New(rand.NewPCG(7, uint64(tr)))
					tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: sz.m, n: sz.n, k: sz.k, alpha: 1, beta: 0.5}
					prev := parallel.SetThreads(threads)
					res[x] = tc.runFast(rng)
					parallel.SetThreads(prev)
				}
				for i := range res[0] {
					if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
						t.Fatalf("%dx%dx%d tr %d: c[%d] = %v with 1 thread, %v with 3", sz.m, sz.n, sz.k, tr, i, res[0][i], res[1][i])
					}
				}
			}
		}
	})
}

// TestSgemmDoesNotAllocate checks that, once its pools are warm, Sgemm
// allocates nothing, on one thread and on several.
func TestSgemmDoesNotAllocate(t *testing.T) {
	if sgemmRace {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	forEachImpl(t, func(t *testing.T) {
		for _, threads := range []int{1, 3} {
			prev := parallel.SetThreads(threads)
			for _, sz := range []struct {
				tA, tB  bool
				m, n, k int
			}{{false, false, 300, 129, 300}, {false, true, 500, 40, 24}, {true, false, 96, 24, 3000}, {true, false, 24, 144, 700}} {
				rng := rand.New(rand.NewPCG(1, 1))
				a, b, c := fillMat(rng, sz.m, sz.k, sz.k, 0), fillMat(rng, sz.k, sz.n, sz.n, 0), make([]float32, sz.m*sz.n)
				lda, ldb := sz.k, sz.n
				if sz.tA {
					lda = sz.m
				}
				if sz.tB {
					ldb = sz.k
				}
				call := func() { Sgemm(sz.tA, sz.tB, sz.m, sz.n, sz.k, 1, a, lda, b, ldb, 0, c, sz.n) }
				call()
				if n := testing.AllocsPerRun(20, call); n != 0 {
					t.Errorf("%d threads, %+v: %v allocations per call", threads, sz, n)
				}
			}
			parallel.SetThreads(prev)
		}
	})
}

// runFast calls Sgemm on the case without the reference check.
func (tc sgemmCase) runFast(rng *rand.Rand) []float32 {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = bc, br
	}
	a := fillMat(rng, ar, ac, ac, 0)
	b := fillMat(rng, br, bc, bc, 0)
	c := fillMat(rng, tc.m, tc.n, tc.n, 0)
	Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, ac, b, bc, tc.beta, c, tc.n)
	return c
}

func TestSgemmPanicsOnBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"negative", func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }, "negative size"},
		{"lda", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, "A is 2×3 but leading dimension is 2"},
		{"short B", func() {
			Sgemm(false, true, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 5), 3, 0, make([]float32, 4), 2)
		}, "B is 2×3 (ld 3) but has only 5"},
		{"short C", func() {
			Sgemm(false, false, 2, 2, 1, 1, make([]float32, 2), 1, make([]float32, 2), 2, 0, make([]float32, 4), 3)
		}, "C is 2×2 (ld 3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.msg) {
					t.Fatalf("panic %v, want one containing %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func FuzzSgemm(f *testing.F) {
	f.Add(uint8(13), uint8(17), uint8(9), uint8(0), uint8(0), uint8(0), uint8(0), float32(1), float32(0), uint64(1))
	f.Add(uint8(7), uint8(33), uint8(40), uint8(3), uint8(2), uint8(3), uint8(1), float32(-0.5), float32(0.25), uint64(2))
	f.Add(uint8(30), uint8(66), uint8(1), uint8(1), uint8(1), uint8(1), uint8(4), float32(2), float32(1), uint64(3))
	// mode picks the driver's own choice of packing (0) or forces one.
	packings := []*sgemmPacking{nil, {false, false}, {true, false}, {false, true}, {true, true}}
	f.Fuzz(func(t *testing.T, m, n, k, tr, pad, off, mode uint8, alpha, beta float32, seed uint64) {
		if math.IsNaN(float64(alpha)) || math.IsInf(float64(alpha), 0) || math.Abs(float64(alpha)) > 1e6 ||
			math.IsNaN(float64(beta)) || math.IsInf(float64(beta), 0) || math.Abs(float64(beta)) > 1e6 {
			t.Skip()
		}
		tc := sgemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: int(m % 80), n: int(n % 80), k: int(k) * 2,
			alpha: alpha, beta: beta, pad: int(pad % 5), off: int(off % 4)}
		sgemmForce = packings[int(mode)%len(packings)]
		defer func() { sgemmForce = nil }()
		forEachImpl(t, func(t *testing.T) {
			tc.run(t, rand.New(rand.NewPCG(seed, 9)), nil)
		})
	})
}

// Square 1024³, and the shapes of some 1×1 convolutions of EfficientNet-B0
// at batch 8 (pw_<K>to<N>_<H>: M = 8·H·H pixels, K input and N output
// channels) and of their gradients (tools/bench_peers.py runs the same
// shapes in numpy).
var sgemmBenchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"1024", false, false, 1024, 1024, 1024},
	{"pw_96to24_56", false, false, 25088, 24, 96},
	{"pw_24to144_56", false, false, 25088, 144, 24},
	{"pw_240to40_28", false, false, 6272, 40, 240},
	{"pw_96to24_56_dX", false, true, 25088, 96, 24},   // dX = dY·Wᵀ
	{"pw_96to24_56_dW", true, false, 96, 24, 25088},   // dW = Xᵀ·dY
	{"pw_24to144_56_dW", true, false, 24, 144, 25088}, // dW = Xᵀ·dY
}

// BenchmarkSgemm runs every implementation on square and 1×1-convolution
// shapes, on GOMAXPROCS threads: compare thread counts with
// GOMAXPROCS=1 go test … and GOMAXPROCS=2 go test … (with -cpu 1,2, go test
// measures each b.Loop benchmark's first line before it sets GOMAXPROCS:
// golang/go#49980).
func BenchmarkSgemm(b *testing.B) {
	defer Use(Available()[0])
	defer parallel.SetThreads(parallel.Threads())
	for _, impl := range Available() {
		for _, s := range sgemmBenchShapes {
			b.Run(impl+"/"+s.name, func(b *testing.B) {
				if err := Use(impl); err != nil {
					b.Fatal(err)
				}
				parallel.SetThreads(runtime.GOMAXPROCS(0))
				benchSgemm(b, s.transA, s.transB, s.m, s.n, s.k)
			})
		}
	}
}

func benchSgemm(b *testing.B, transA, transB bool, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 2))
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	a := fillMat(rng, m, k, k, 0)
	bm := fillMat(rng, k, n, n, 0)
	c := make([]float32, m*n)
	Sgemm(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n) // fill the pools
	b.ReportAllocs()
	for b.Loop() {
		Sgemm(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
