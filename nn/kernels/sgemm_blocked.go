package kernels

import (
	"fmt"
	"sync"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// The SGEMM driver follows BLIS (Van Zee and van de Geijn, "BLIS: A
// Framework for Rapidly Instantiating BLAS Functionality", 2015): a
// micro-kernel keeps an mr×nr tile of C in registers and adds the product
// of an mr×kc micro-panel of A and a kc×nr micro-panel of B; the loops
// around it walk C in blocks of mc rows and nc columns and k in blocks of kc
// so that each operand is reused from the cache level it fits in.
//
// Packing. The micro-kernels take A and B with strides (A by rows and
// columns, B by rows), so both can be read in place, and are when that is
// cheap: packing costs a few cycles per element copied, which the 1×1
// convolutions' narrow C (n = 24…144 columns) or their weight gradients'
// long k cannot amortise. Otherwise — a transposed B, or rows a
// multiple of 512 bytes apart, which crowd into a few cache sets, unless
// C has few rows (sgemmDirectBRows) — B is packed once per call (per nc
// block) into k×nr column panels shared by the threads, and A per task
// and kc block into mr×kc row panels. A final partial panel is packed
// and zero-padded, so the micro-kernel never reads past A or B, but for
// a partial row panel of an A read in place whose whole tile still lies
// inside a (overreadA): the extra rows only reach rows of the edge tile
// that are not copied out. Tiles of C cut by m or n are computed into a
// small mr×nr buffer and copied out, so it never writes past C.
//
// Parallelism and determinism. C is split into tasks of whole tiles (row
// blocks of at most mc rows, times groups of column panels); one task
// computes each element of C, running the kc blocks of k in order, and the
// micro-kernel sums each kc block in order. The arithmetic of an element
// therefore depends on k and kc only, never on the split or the thread
// count.

// sgemmKernel computes tiles mr×nr tiles of C, tile t with a, b and c
// advanced by t·tileA, t·tileB and t·tileC elements: for i < mr, j < nr,
//
//	c[i*ldc+j] = alpha·Σ_{p<k} a[i*rsA+p*csA]·b[p*rsB+j] + beta·c[i*ldc+j]
//
// with the sum over p in an order fixed by the kernel; beta == 0 does not
// read c. A row or column of tiles is one call: a call per tile cost as
// much as a third of the time at k = 24. Assembly versions trust their
// arguments: sgemmArch.tiles checks them first.
type sgemmKernel func(k int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32, tiles, tileA, tileB, tileC int)

// cacheSizes holds the data cache sizes in bytes (per core for L1 and L2),
// for SGEMM's blocking and the depthwise passes' choices; the amd64 build
// reads them with cpuid (sgemm_amd64.go).
var cacheSizes = struct{ l1, l2, l3 int }{32 << 10, 512 << 10, 8 << 20}

// sgemmArch is one implementation: its micro-kernel, tile and blocking.
type sgemmArch struct {
	mr, nr int
	kern   sgemmKernel
	half   sgemmKernel // an mr×(nr/2) kernel for a narrow last panel, or nil
	kc     int         // most steps of k per block
	mc     int         // most rows of C per task
	bmax   int         // most float32s of packed B (k × nc)
	// narrow, if not nil, is the geometry for products whose n is a
	// multiple of narrow.nr but not of nr (see pick); with keepHalf, not
	// where the half tile finishes n either.
	narrow   *sgemmArch
	keepHalf bool
}

// pick returns the geometry for products n columns wide: g, or g.narrow
// when n is a multiple of its nr but not of g's. On AVX2 that is n = 24,
// a 1×1 convolution to 24 channels: the 6×16 tile leaves a third of the
// columns to its 6×8 half tile, which loads a B vector and 6 broadcasts
// for 6 FMAs, where a 4×24 tile loads 3 and 4 for 12. On AVX-512 the
// 14×16 half tile runs as fast as the 14×32 one (keepHalf), and the 14×24
// tile takes n = 24, 72, 120, …, which would otherwise end in a panel of
// 8 columns computed 32 wide through the edge buffer.
func (g *sgemmArch) pick(n int) *sgemmArch {
	if g.narrow != nil && n%g.narrow.nr == 0 && n%g.nr != 0 && !(g.keepHalf && n%(g.nr/2) == 0) {
		return g.narrow
	}
	return g
}

// newSgemmArch chooses the blocking of an mr×nr micro-kernel from the
// cache sizes, in BLIS terms:
//
//   - kc: the kc×nr micro-panel of B, reused by every micro-panel of A in
//     an mc block, takes two thirds of L1d (the rest streams A and C):
//     kc = 2·L1d / (3·nr·4 bytes);
//   - mc: the mc×kc block of A, reused by every micro-panel of B of the
//     task, takes a quarter of L2 (the rest holds the B micro-panels
//     streaming through and C): mc = L2 / (4·kc·4 bytes), rounded down to
//     a multiple of mr;
//   - nc: the packed k×nc block of B, shared by all threads, takes at most
//     half of L3 (nc = L3 / (2·k·4 bytes), computed per call since B is
//     packed for all of k at once).
//
// On the AMD EPYC (Zen 3) the AVX2 kernel was tuned on (32 KiB L1d and
// 512 KiB L2 per core, 32 MiB L3) it (mr = 6, nr = 16) gets
// kc = 336, mc = 96 and nc up to 16 MiB / (4·k) (4096 columns for
// k = 1024); kc = 128, 256 or 384 and mc = 60 to 252 moved 1024³ and the
// 1×1 convolution shapes there by less than the run-to-run noise. On the
// Intel Xeon (48 KiB L1d, 2 MiB L2) the AVX-512 kernel (mr = 14, nr = 32)
// gets kc = 256 and mc = 504; with half of L1d (kc = 192) 1024³ ran 5 %
// slower on one thread (148–163 GFLOP/s against 160–170 in interleaved
// runs), and mc from 168 to 672 made no difference.
func newSgemmArch(mr, nr int, kern, half sgemmKernel) *sgemmArch {
	l1, l2, l3 := cacheSizes.l1, cacheSizes.l2, cacheSizes.l3
	kc := min(512, max(64, l1*2/3/(nr*4))) &^ 7
	mc := max(mr, l2/(4*kc*4)/mr*mr)
	return &sgemmArch{mr: mr, nr: nr, kern: kern, half: half, kc: kc, mc: mc, bmax: max(1<<16, l3/2/4)}
}

// tiles runs the micro-kernel (the half-width one if half) over n tiles
// after checking that every element they touch lies inside the slices
// (the strides are not negative): the assembly does no bounds checks.
func (g *sgemmArch) tiles(half bool, k int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32, n, tileA, tileB, tileC int) {
	kern, nr := g.kern, g.nr
	if half {
		kern, nr = g.half, nr/2
	}
	l := n - 1
	if k < 1 || n < 1 || tileA < 0 || tileB < 0 || tileC < 0 ||
		len(a) <= (g.mr-1)*rsA+(k-1)*csA+l*tileA || len(b) < (k-1)*rsB+nr+l*tileB || len(c) < (g.mr-1)*ldc+nr+l*tileC {
		panic(fmt.Sprintf("kernels.Sgemm: internal error: %d %d×%d tiles with k=%d, len(a)=%d rsA=%d csA=%d tileA=%d, len(b)=%d rsB=%d tileB=%d, len(c)=%d ldc=%d tileC=%d",
			n, g.mr, nr, k, len(a), rsA, csA, tileA, len(b), rsB, tileB, len(c), ldc, tileC))
	}
	kern(k, a, rsA, csA, b, rsB, c, ldc, alpha, beta, n, tileA, tileB, tileC)
}

// sgemmCall holds one Sgemm call's arguments and plan. Calls come from a
// pool, and pack and task are bound once per pooled value, so handing them
// to parallel.For allocates nothing.
type sgemmCall struct {
	g              *sgemmArch
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	kcb      int       // k is split into blocks of kcb (the last may be shorter)
	kcT, nbK int       // steps of k per task (whole kc blocks), k chunks
	part     []float32 // k chunks 1…nbK-1's partial C, m×n each
	directA  bool      // micro-kernels read A in place (but a partial row panel)
	directB  bool      // micro-kernels read B in place (but a partial column panel)
	mcT, nbM int       // rows per task, row blocks
	pnT, nbN int       // column panels per task, column groups
	ncur     int       // columns per nc block
	j0       int       // first column of the block being computed
	bp       []float32

	pack, task func(lo, hi int)
}

var sgemmCalls = sync.Pool{New: func() any {
	c := new(sgemmCall)
	c.pack = c.packB
	c.task = c.runTasks
	return c
}}

// sgemmScratch is one task's buffers: a packed mc×kc block of A (or the
// final partial row panel when A is read in place) and an edge tile of C.
type sgemmScratch struct {
	a, ct []float32
}

var (
	sgemmScratches sync.Pool // *sgemmScratch
	sgemmBufs      sync.Pool // *[]float32: packed B, or Bᵀ·A in run
)

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// sgemmPackPanels is how many column panels of B one packing chunk fills:
// that many write streams beside one read stream.
const sgemmPackPanels = 8

// Tasks are at least this many multiply-adds, so that the pool's hand-off
// costs little.
const sgemmMinTaskMACs = 1 << 17

// sgemmForce, set only by tests and benchmarks, overrides the choice of
// reading A and B in place (a transposed B is always packed).
var sgemmForce *sgemmPacking

type sgemmPacking struct{ directA, directB bool }

// sgemmDirectBRows is the most rows of C for which B is read in place
// although its rows are a multiple of 512 bytes apart (but not of 2048).
// Such rows fall on 8 or fewer of L1's 64 sets, and a micro-panel of B
// leaves L1 between the row panels of A that reuse it; but with few rows
// of A there is little reuse to lose, and packing, a copy of all of B per
// call, cost more. One thread, AMD Zen 3, GFLOP/s packed → in place:
// k=192 n=1152 (EfficientNet-B0's 7×7 expansions) m=49 46 → 78, m=98
// 77 → 83, m=196 87 → 88; k=320 n=1280 (its head) m=49 45 → 75, m=98 75 →
// 80, m=196 74 → 65; k=1152 n=384 m=49 43 → 60; k=112 n=640 m=98 66 →
// 80, m=196 86 → 82. Rows 2048 bytes apart share one set: k=96 n=1024 in
// place ran 0.97× at m=49 and 0.67× at m=98. B0's inference at batch 1
// went from 53.5 to 55.3 img/s (means of five interleaved pairs).
const sgemmDirectBRows = 96

// Products with at most sgemmChunkC elements of C and at least
// 2·sgemmChunkBlocks kc blocks of k are computed in chunks of k of
// sgemmChunkBlocks kc blocks (see plan).
const (
	sgemmChunkC      = 1 << 13
	sgemmChunkBlocks = 4
)

// sgemmSwapMax bounds m·n for computing Aᵀ·B as (Bᵀ·A)ᵀ.
const sgemmSwapMax = 1 << 16

// run computes Sgemm (k ≥ 1, m, n ≥ 1) with micro-kernel g.
//
// The micro-kernel broadcasts elements of op(A) and loads rows of op(B) as
// vectors. With op(A) = Aᵀ (a weight gradient Xᵀ·dY) the rows of A are the
// ones laid out like vectors, and the broadcasts walk down columns of A,
// touching a new cache line per step of k; they stay in L1 only if A's rows
// are short. So when B's rows are the shorter ones, and C is small, run
// computes T = Bᵀ·A (n×m) instead and stores C = alpha·Tᵀ + beta·C.
func (g *sgemmArch) run(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA && !transB && ldb < lda && m*n <= sgemmSwapMax {
		tp, _ := sgemmBufs.Get().(*[]float32)
		if tp == nil {
			tp = new([]float32)
		}
		*tp = growF32(*tp, n*m)
		t := *tp
		g.pick(m).runBlocked(true, false, n, m, k, 1, b, ldb, a, lda, 0, t, m)
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = alpha * t[j*m+i]
				} else {
					row[j] = alpha*t[j*m+i] + beta*row[j]
				}
			}
		}
		sgemmBufs.Put(tp)
		return
	}
	g.pick(n).runBlocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (g *sgemmArch) runBlocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	call := sgemmCalls.Get().(*sgemmCall)
	*call = sgemmCall{
		g: g, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
		pack: call.pack, task: call.task,
	}
	call.plan()

	bufp, _ := sgemmBufs.Get().(*[]float32)
	if bufp == nil {
		bufp = new([]float32)
	}
	var partp *[]float32
	if call.nbK > 1 {
		partp, _ = sgemmBufs.Get().(*[]float32)
		if partp == nil {
			partp = new([]float32)
		}
		*partp = growF32(*partp, (call.nbK-1)*m*n)
		call.part = *partp
	}
	nr := g.nr
	for j0 := 0; j0 < n; j0 += call.ncur {
		call.j0 = j0
		panels := (min(call.ncur, n-j0) + nr - 1) / nr
		switch {
		case !call.directB:
			*bufp = growF32(*bufp, panels*k*nr)
			call.bp = *bufp
			parallel.For(panels, sgemmPackPanels, call.pack)
		case call.packedB(panels - 1):
			*bufp = growF32(*bufp, k*nr)
			call.bp = *bufp
			call.packB(panels-1, panels)
		}
		call.nbN = (panels + call.pnT - 1) / call.pnT
		parallel.For(call.nbK*call.nbM*call.nbN, 1, call.task)
	}
	sgemmBufs.Put(bufp)
	if call.nbK > 1 {
		call.addParts()
		sgemmBufs.Put(partp)
	}
	*call = sgemmCall{pack: call.pack, task: call.task}
	sgemmCalls.Put(call)
}

// plan chooses kc, the packing and the tasks.
func (call *sgemmCall) plan() {
	g, m, n, k := call.g, call.m, call.n, call.k
	mr, nr := g.mr, g.nr
	// Near-equal kc blocks, so no block is a sliver.
	nkb := (k + g.kc - 1) / g.kc
	call.kcb = (k + nkb - 1) / nkb
	// A long k with a small C (a weight gradient, whose k is N·H·W) is
	// cut into chunks of sgemmChunkBlocks kc blocks, each a task of its
	// own that sums into a partial C, added up in order at the end: tiles
	// alone would leave threads idle or unbalanced (three column panels
	// on two threads), or each thread would read all of A for its columns.
	// The chunks depend on the shape only, so the result does not depend
	// on the thread count.
	call.kcT, call.nbK = k, 1
	if m*n <= sgemmChunkC && nkb >= 2*sgemmChunkBlocks {
		call.kcT = sgemmChunkBlocks * call.kcb
		call.nbK = (k + call.kcT - 1) / call.kcT
	}

	call.directB = !call.transB && (call.ldb%128 != 0 || m <= sgemmDirectBRows && call.ldb%512 != 0)
	if f := sgemmForce; f != nil {
		call.directB = f.directB && !call.transB
	}
	panels := (n + nr - 1) / nr
	pnc := panels
	if !call.directB {
		pnc = max(1, min(panels, g.bmax/(k*nr))) // nc: packed B fits in L3
	}
	call.ncur = pnc * nr

	// Tasks: row blocks of at most mc rows, as equal as possible; with
	// several threads, enough row blocks (of at least 4 panels) and column
	// groups that the task count is a multiple of the thread count or at
	// least 8 per thread, and no task smaller than sgemmMinTaskMACs; none
	// of either where 4 chunks of k per thread already make enough tasks.
	// The split never changes the result.
	threads := parallel.Threads()
	enoughChunks := call.nbK >= 4*threads
	maxTasks := max(1, m*n*call.kcT/sgemmMinTaskMACs)
	rowPanels := (m + mr - 1) / mr
	nbM := (rowPanels + g.mc/mr - 1) / (g.mc / mr)
	if threads > 1 && !enoughChunks {
		nbM = max(nbM, min(threads, max(1, rowPanels/4), maxTasks))
		// Column groups of one row block each pack its A: a multiple of
		// the thread count in row blocks, if they keep 4 panels each,
		// needs none.
		if r := (nbM + threads - 1) / threads * threads; r <= rowPanels/4 && r <= maxTasks {
			nbM = r
		}
	}
	per := (rowPanels + nbM - 1) / nbM
	call.mcT, call.nbM = per*mr, (rowPanels+per-1)/per
	colPanels := min(panels, pnc)
	call.pnT = colPanels
	for groups := 1; threads > 1 && groups <= colPanels; groups++ {
		pnT := (colPanels + groups - 1) / groups
		tasks := call.nbK * call.nbM * ((colPanels + pnT - 1) / pnT)
		if tasks > maxTasks {
			break
		}
		call.pnT = pnT
		if tasks >= threads && tasks%threads == 0 || tasks >= 8*threads || enoughChunks {
			break
		}
	}

	// Packing an element of A costs about what multiplying it into a few
	// dozen columns of C does, so a task with at most 4 column panels
	// reads A in place; so does any task unless rows of A are a multiple of
	// 512 bytes apart: the rows a micro-panel reads at once (op(A) = Aᵀ) or
	// the rows of an mc block (A) then crowd into a few cache sets.
	call.directA = call.pnT <= 4 || call.lda%128 != 0
	if f := sgemmForce; f != nil {
		call.directA = f.directA
	}
}

// packedB reports whether column panel q (of the current block) is read
// from call.bp rather than in place.
func (call *sgemmCall) packedB(q int) bool {
	if !call.directB {
		return true
	}
	nr := call.g.nr
	w := min(nr, call.n-call.j0-q*nr)
	return w != nr && !(call.g.half != nil && w == nr/2)
}

// panelB returns B from the micro-panel of column panel q and step p0 on,
// and its row stride.
func (call *sgemmCall) panelB(q, p0 int) ([]float32, int) {
	nr, k := call.g.nr, call.k
	if !call.packedB(q) {
		j := call.j0 + q*nr
		return call.b[p0*call.ldb+j:], call.ldb
	}
	if call.directB {
		q = 0 // only the partial panel is packed
	}
	return call.bp[(q*k+p0)*nr:], nr // on to the end: the next panels follow
}

// packB packs column panels [lo, hi) of the current block: panel q holds
// columns j0+q·nr … j0+q·nr+nr-1 of op(B) for all k rows, row p at
// bp[q·k·nr + p·nr] (at bp[p·nr] when B is otherwise read in place), zero
// beyond column n.
func (call *sgemmCall) packB(lo, hi int) {
	nr, k, b, ldb := call.g.nr, call.k, call.b, call.ldb
	if !call.transB {
		// Row by row: one contiguous read of b per step of k, feeding
		// hi-lo sequential write streams. (Panel by panel, each step would
		// be a new page of b when ldb is large.)
		j0 := call.j0 + lo*nr
		w := min(call.n-j0, (hi-lo)*nr) // columns present
		full := w / nr                  // whole panels
		bp := call.bp
		step := k * nr // from one panel to the next
		if call.directB {
			step = 0 // the one packed panel sits at bp[0]
		}
		for p := 0; p < k; p++ {
			src := b[p*ldb+j0 : p*ldb+j0+w]
			off := lo*step + p*nr
			for t := 0; t < full; t++ {
				copy(bp[off:off+nr], src[t*nr:t*nr+nr])
				off += step
			}
			if full < hi-lo {
				d := bp[off : off+nr]
				n := copy(d, src[full*nr:])
				clear(d[n:])
			}
		}
		return
	}
	for q := lo; q < hi; q++ {
		j := call.j0 + q*nr
		w := min(nr, call.n-j)
		dst := call.bp[:k*nr]
		if !call.directB {
			dst = call.bp[q*k*nr : (q+1)*k*nr]
		}
		// op(B)[p][j] = b[j*ldb+p]: rows of b become columns of the panel.
		// Blocks of 64 steps of k keep the destination lines in L1.
		for p0 := 0; p0 < k; p0 += 64 {
			p1 := min(k, p0+64)
			for jj := 0; jj < w; jj++ {
				src := b[(j+jj)*ldb+p0 : (j+jj)*ldb+p1]
				for p, v := range src {
					dst[(p0+p)*nr+jj] = v
				}
			}
			for jj := w; jj < nr; jj++ {
				for p := p0; p < p1; p++ {
					dst[p*nr+jj] = 0
				}
			}
		}
	}
}

// packA packs rows [i0, i1) and steps [p0, p0+kb) of op(A) into dst as mr-row
// panels: panel t holds rows i0+t·mr…, step p at dst[t·mr·kb + p·mr], zero
// beyond row i1.
func (call *sgemmCall) packA(dst []float32, i0, i1, p0, kb int) {
	mr, a, lda := call.g.mr, call.a, call.lda
	for i := i0; i < i1; i += mr {
		r := min(mr, i1-i)
		d := dst[(i-i0)*kb : (i-i0)*kb+mr*kb]
		if call.transA {
			// op(A)[i][p] = a[p*lda+i]: each step's mr values are adjacent.
			// (A loop, not copy: a call per mr values costs more than the
			// values.)
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i : (p0+p)*lda+i+r]
				dp := d[p*mr : p*mr+mr]
				for ii, v := range src {
					dp[ii] = v
				}
				for ii := r; ii < mr; ii++ {
					dp[ii] = 0
				}
			}
			continue
		}
		if mr == 6 && r == 6 {
			packRows6(d, a[i*lda+p0:], lda, kb)
			continue
		}
		if mr == 14 && r == 14 {
			packRows14(d, a[i*lda+p0:], lda, kb)
			continue
		}
		for ii := 0; ii < r; ii++ {
			src := a[(i+ii)*lda+p0 : (i+ii)*lda+p0+kb]
			for p, v := range src {
				d[p*mr+ii] = v
			}
		}
		for ii := r; ii < mr; ii++ {
			for p := 0; p < kb; p++ {
				d[p*mr+ii] = 0
			}
		}
	}
}

// packRows6 interleaves six rows of kb elements, lda apart in a, into d:
// the AVX2 kernel's A panel, read side by side and written in order (three
// times faster than a row at a time).
func packRows6(d, a []float32, lda, kb int) {
	d = d[:6*kb]
	r0 := a[:kb]
	r1 := a[lda : lda+kb][:len(r0)]
	r2 := a[2*lda : 2*lda+kb][:len(r0)]
	r3 := a[3*lda : 3*lda+kb][:len(r0)]
	r4 := a[4*lda : 4*lda+kb][:len(r0)]
	r5 := a[5*lda : 5*lda+kb][:len(r0)]
	for p := range r0 {
		o := d[p*6 : p*6+6 : p*6+6]
		o[0], o[1], o[2], o[3], o[4], o[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packRows14 is packRows6 for the AVX-512 kernel's fourteen rows.
func packRows14(d, a []float32, lda, kb int) {
	d = d[:14*kb]
	r0 := a[:kb]
	r1 := a[lda : lda+kb][:len(r0)]
	r2 := a[2*lda : 2*lda+kb][:len(r0)]
	r3 := a[3*lda : 3*lda+kb][:len(r0)]
	r4 := a[4*lda : 4*lda+kb][:len(r0)]
	r5 := a[5*lda : 5*lda+kb][:len(r0)]
	r6 := a[6*lda : 6*lda+kb][:len(r0)]
	r7 := a[7*lda : 7*lda+kb][:len(r0)]
	r8 := a[8*lda : 8*lda+kb][:len(r0)]
	r9 := a[9*lda : 9*lda+kb][:len(r0)]
	r10 := a[10*lda : 10*lda+kb][:len(r0)]
	r11 := a[11*lda : 11*lda+kb][:len(r0)]
	r12 := a[12*lda : 12*lda+kb][:len(r0)]
	r13 := a[13*lda : 13*lda+kb][:len(r0)]
	for p := range r0 {
		o := d[p*14 : p*14+14 : p*14+14]
		o[0], o[1], o[2], o[3], o[4], o[5], o[6] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p], r6[p]
		o[7], o[8], o[9], o[10], o[11], o[12], o[13] = r7[p], r8[p], r9[p], r10[p], r11[p], r12[p], r13[p]
	}
}

func (call *sgemmCall) runTasks(lo, hi int) {
	s, _ := sgemmScratches.Get().(*sgemmScratch)
	if s == nil {
		s = new(sgemmScratch)
	}
	g := call.g
	s.a = growF32(s.a, call.mcT*call.kcb)
	s.ct = growF32(s.ct, g.mr*g.nr)
	for t := lo; t < hi; t++ {
		call.runTask(t, s)
	}
	sgemmScratches.Put(s)
}

// runTask computes task t: row block t / nbN and column group t % nbN of
// the current column block, for all of k.
func (call *sgemmCall) runTask(t int, s *sgemmScratch) {
	g := call.g
	mr, nr := g.mr, g.nr
	kt, t := t/(call.nbM*call.nbN), t%(call.nbM*call.nbN)
	ib, jb := t/call.nbN, t%call.nbN
	i0 := ib * call.mcT
	i1 := min(call.m, i0+call.mcT)
	panels := (min(call.ncur, call.n-call.j0) + nr - 1) / nr
	q0 := jb * call.pnT
	q1 := min(panels, q0+call.pnT)
	full := i0 + (i1-i0)/mr*mr // rows [i0, full) form whole panels
	c, ldc, beta0 := call.c, call.ldc, call.beta
	if kt > 0 {
		c, ldc, beta0 = call.part[(kt-1)*call.m*call.n:], call.n, 0
	}
	k0 := kt * call.kcT
	k1 := min(call.k, k0+call.kcT)
	for kb0 := k0; kb0 < k1; kb0 += call.kcb {
		kb := min(call.kcb, k1-kb0)
		beta := beta0
		if kb0 > k0 {
			beta = 1 // later kc blocks add onto the earlier ones
		}
		if !call.directA {
			call.packA(s.a, i0, i1, kb0, kb)
		} else if full < i1 && !call.overreadA(full, kb0, kb) {
			call.packA(s.a, full, i1, kb0, kb)
		}
		// BLIS order: a kc×nr micro-panel of B stays in L1 while the
		// micro-panels of A stream past it from L2, the whole tiles in one
		// kernel call. When all of the task's B fits in half of L1 (the
		// narrow C of 1×1 convolutions), the rows go in groups whose A
		// fills the rest of L1, so that A is read from memory once and
		// from L1 for every further panel.
		group := i1 - i0
		if bBytes := (q1 - q0) * kb * nr * 4; bBytes <= cacheSizes.l1/2 {
			group = max(1, (cacheSizes.l1-bBytes)/(mr*kb*4)) * mr
		}
		for g0 := i0; g0 < i1; g0 += group {
			g1 := min(i1, g0+group)
			for q := q0; q < q1; q++ {
				i := call.down(s, c, ldc, i0, g0, min(g1, full), q, kb0, kb, beta)
				for ; i < g1; i += mr {
					call.tile(s, c, ldc, i0, i1, i, q, kb0, kb, beta)
				}
			}
		}
	}
}

// aTile returns op(A) for the whole row tile at row i of the task with
// rows from i0 on, steps from kb0 (kb of them), its strides, and the
// stride from one row tile to the next.
func (call *sgemmCall) aTile(s *sgemmScratch, i0, i, kb0, kb int) (as []float32, rsA, csA, tileA int) {
	mr, a, lda := call.g.mr, call.a, call.lda
	switch {
	case !call.directA:
		return s.a[(i-i0)*kb:], 1, mr, mr * kb
	case call.transA:
		return a[kb0*lda+i:], 1, lda, mr
	default:
		return a[i*lda+kb0:], lda, 1, mr * lda
	}
}

// overreadA reports whether the partial row panel at row i, steps
// [kb0, kb0+kb), of an A read in place can itself be read in place: the
// rows past m that a whole tile reads still lie inside a. Those rows hold
// other elements of A (op(A) = Aᵀ: the next step's) or whatever follows
// it; they only reach rows of the edge tile that are not copied out, so
// the panel need not be packed. With op(A) = Aᵀ, as for weight gradients
// Xᵀ·dY, it always can but at the very end of a.
func (call *sgemmCall) overreadA(i, kb0, kb int) bool {
	mr := call.g.mr
	if call.transA {
		return kb0*call.lda+i+(kb-1)*call.lda+mr <= len(call.a)
	}
	return (i+mr-1)*call.lda+kb0+kb <= len(call.a)
}

// down computes the tiles of column panel q at rows [from, to) (whole row
// tiles) of the task with rows from i0 on in one kernel call, if the panel
// is one the kernels take whole, and returns the first row it did not
// compute. C is c with rows ldc apart (call.c, or a k chunk's part).
func (call *sgemmCall) down(s *sgemmScratch, c []float32, ldc, i0, from, to, q, kb0, kb int, beta float32) int {
	g := call.g
	mr, nr := g.mr, g.nr
	j := call.j0 + q*nr
	w := min(nr, call.n-j)
	half := g.half != nil && w == nr/2
	if to-from < mr || !(w == nr || half) {
		return from
	}
	as, rsA, csA, tileA := call.aTile(s, i0, from, kb0, kb)
	bq, rsB := call.panelB(q, kb0)
	n := (to - from) / mr
	g.tiles(half, kb, as, rsA, csA, bq, rsB, c[from*ldc+j:], ldc, call.alpha, beta, n, tileA, 0, mr*ldc)
	return from + n*mr
}

// tile computes the tile of C at row i and column panel q for steps
// [kb0, kb0+kb) of the task with rows [i0, i1), into c as down does.
func (call *sgemmCall) tile(s *sgemmScratch, c []float32, ldc, i0, i1, i, q, kb0, kb int, beta float32) {
	g := call.g
	mr, nr := g.mr, g.nr
	j := call.j0 + q*nr
	w := min(nr, call.n-j)
	half := g.half != nil && w <= nr/2
	bq, rsB := call.panelB(q, kb0)
	r := min(mr, i1-i)
	as, rsA, csA, _ := call.aTile(s, i0, i, kb0, kb)
	if r < mr && call.directA && !call.overreadA(i, kb0, kb) {
		as, rsA, csA = s.a, 1, mr // the partial row panel, packed
	}
	if r == mr && (w == nr || half && w == nr/2) {
		g.tiles(half, kb, as, rsA, csA, bq, rsB, c[i*ldc+j:], ldc, call.alpha, beta, 1, 0, 0, 0)
		return
	}
	// Edge tile: compute into s.ct, copy the valid part out.
	ct := s.ct
	if beta != 0 {
		for ii := 0; ii < r; ii++ {
			copy(ct[ii*nr:ii*nr+w], c[(i+ii)*ldc+j:])
		}
	}
	g.tiles(half, kb, as, rsA, csA, bq, rsB, ct, nr, call.alpha, beta, 1, 0, 0, 0)
	for ii := 0; ii < r; ii++ {
		copy(c[(i+ii)*ldc+j:(i+ii)*ldc+j+w], ct[ii*nr:])
	}
}

// addParts adds the partial products of k chunks 1…nbK-1 onto C, in order
// (chanK.add: plain adds, the same bits as a scalar loop).
func (call *sgemmCall) addParts() {
	m, n := call.m, call.n
	for i := 0; i < m; i++ {
		row := call.c[i*call.ldc : i*call.ldc+n]
		for kt := 1; kt < call.nbK; kt++ {
			chanK.add(row, 1, n, n, call.part[(kt-1)*m*n+i*n:])
		}
	}
}
