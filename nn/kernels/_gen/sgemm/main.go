// Command sgemm generates sgemm_amd64.s: the SGEMM micro-kernels for AVX2
// and AVX-512, both instantiated from one template (tile below).
//
//	go run ./sgemm -out ../sgemm_amd64.s -stubs ../sgemm_stubs_amd64.go -pkg kernels
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	ymm := func() reg.VecVirtual { return YMM() }
	zmm := func() reg.VecVirtual { return ZMM() }
	// AVX2: 16 ymm registers hold 6×2 accumulators, 2 B vectors and the
	// broadcast A value. The half-width tile serves a last column panel of
	// 8 or fewer columns; its 6 accumulators alone could not hide the FMA
	// latency, so it keeps two sets that alternate between steps of k.
	tile{name: "sgemmKernel6x16AVX2", lanes: 8, mr: 6, nv: 2, sets: 1, vec: ymm}.emit()
	tile{name: "sgemmKernel6x8AVX2", lanes: 8, mr: 6, nv: 1, sets: 2, vec: ymm}.emit()
	// For products 24 columns wide (1×1 convolutions to 24 channels):
	// 4×3 accumulators, 3 B vectors and the broadcast.
	tile{name: "sgemmKernel4x24AVX2", lanes: 8, mr: 4, nv: 3, sets: 1, vec: ymm}.emit()
	// The AVX-512 tiles' 14-row geometry (three base pointers into A) on
	// AVX2, for the tests only: 14 accumulators, a B vector and the
	// broadcast fill the 16 ymm registers. Machines without AVX-512 run it
	// to check the code paths the AVX-512 kernels share.
	tile{name: "sgemmKernel14x8AVX2", lanes: 8, mr: 14, nv: 1, sets: 1, vec: ymm}.emit()
	// AVX-512: the same template with 16 lanes and 32 zmm registers:
	// 14×2 accumulators, 2 B vectors and the broadcast A value (the
	// half-width tile: 2 sets of 14).
	tile{name: "sgemmKernel14x32AVX512", lanes: 16, mr: 14, nv: 2, sets: 1, vec: zmm}.emit()
	tile{name: "sgemmKernel14x16AVX512", lanes: 16, mr: 14, nv: 1, sets: 2, vec: zmm}.emit()
	// For products 24 columns wide (a multiple of 24 but not of 16): a zmm
	// and a ymm per row, 14×2 accumulators, 2 B vectors and the broadcast,
	// so that no column is computed to be dropped and the tiles need not
	// go through an edge buffer.
	tile{name: "sgemmKernel14x24AVX512", lanes: 16, mr: 14, nv: 2, tail: 8, sets: 1, vec: zmm}.emit()
	Generate()
}

// tile is the micro-kernel template: an mr×(nv·lanes) block of C held in
// registers, updated by one rank-1 product per step of k (a column of A
// broadcast one element at a time, a row of B loaded as nv vectors).
// With sets = 2, steps of k alternate between two sets of accumulators
// (the odd steps of each unrolled group of 4 go to the second), added
// together at the end.
type tile struct {
	name  string
	lanes int // float32 lanes per vector register
	mr    int // rows of C per tile
	nv    int // vectors per row of C: nr = nv·lanes
	// tail, if not 0, is the lanes of the last of the nv vectors, a ymm
	// register (8) where the others are zmm: nr = (nv-1)·lanes + tail.
	tail int
	sets int // accumulator sets (1 or 2)
	vec  func() reg.VecVirtual
}

// isTail reports whether vector v of a row is the ymm tail.
func (t tile) isTail(v int) bool { return t.tail != 0 && v == t.nv-1 }

// width returns the lanes of vector v of a row.
func (t tile) width(v int) int {
	if t.isTail(v) {
		return t.tail
	}
	return t.lanes
}

// vecOf returns a register for vector v of a row.
func (t tile) vecOf(v int) reg.VecVirtual {
	if t.isTail(v) {
		return YMM()
	}
	return t.vec()
}

// as returns r at vector v's width (the broadcast, alpha and beta
// registers are full width).
func (t tile) as(v int, r reg.VecVirtual) reg.Register {
	if t.isTail(v) {
		return r.AsY()
	}
	return r
}

// rowsPerBase is how many rows of A one base register reaches: offsets
// 0, rs, 2·rs, 3·rs (via rs3) and 4·rs.
const rowsPerBase = 5

// cpfRows is how many rows of the next tile's C each unrolled group of
// 4 steps of k prefetches.
const cpfRows = 3

func (t tile) emit() {
	nr := 0
	for v := 0; v < t.nv; v++ {
		nr += t.width(v)
	}
	TEXT(t.name, NOSPLIT, "func(k int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32, tiles, tileA, tileB, tileC int)")
	Pragma("noescape")
	order := []string{"with the sum in p order (one FMA per step); beta == 0 (either sign)"}
	if t.sets == 2 {
		order = []string{
			"summing the steps in two interleaved chains (one FMA per step; the",
			"split depends on k only), then adding the two; beta == 0 (either sign)",
		}
	}
	doc := []string{
		fmt.Sprintf("%s computes one %d×%d tile of C: for i < %d, j < %d,", t.name, t.mr, nr, t.mr, nr),
		"",
		"\tc[i*ldc+j] = alpha·Σ_{p<k} a[i*rsA+p*csA]·b[p*rsB+j] + beta·c[i*ldc+j]",
		"",
	}
	doc = append(doc, order...)
	doc = append(doc, "does not read c. It does so for tiles ≥ 1 tiles, the t-th with a, b and c",
		"advanced by t·tileA, t·tileB and t·tileC elements (one call for a row or",
		"column of tiles). The caller checks every index is in range; k >= 0.")
	Doc(doc...)

	// Each tile starts here, reloading its arguments from the frame, where
	// the end of the tile advanced a, b and c.
	Label(t.name + "_tile")
	k := Load(Param("k"), GP64())
	rs := Load(Param("rsA"), GP64())
	cs := Load(Param("csA"), GP64())
	rsB := Load(Param("rsB"), GP64())
	SHLQ(U8(2), rs)
	SHLQ(U8(2), cs)
	SHLQ(U8(2), rsB)
	bp := Load(Param("b").Base(), GP64())

	// Base pointers: row i of A is base[i/5] plus (i%5)·rs.
	nbase := (t.mr + rowsPerBase - 1) / rowsPerBase
	base := make([]reg.Register, nbase)
	base[0] = Load(Param("a").Base(), GP64())
	for q := 1; q < nbase; q++ {
		base[q] = GP64()
		LEAQ(Mem{Base: base[q-1], Index: rs, Scale: 4}, base[q])
		ADDQ(rs, base[q])
	}
	var rs3 reg.Register
	if t.mr > 3 {
		rs3 = GP64()
		LEAQ(Mem{Base: rs, Index: rs, Scale: 2}, rs3)
	}
	rowA := func(i int) Mem {
		m := Mem{Base: base[i/rowsPerBase]}
		switch i % rowsPerBase {
		case 1:
			m.Index, m.Scale = rs, 1
		case 2:
			m.Index, m.Scale = rs, 2
		case 3:
			m.Index, m.Scale = rs3, 1
		case 4:
			m.Index, m.Scale = rs, 4
		}
		return m
	}

	// Warm the next tile's C while the products run (the tile after a
	// call's last one is often the next call's first; prefetches do not
	// fault): with the current tile's, the lines of an accumulated C
	// (beta 1, k = 24) arrived too late, 10 % of a 1×1 convolution's
	// input gradient. The prefetches are spread over the steps of k,
	// cpfRows rows per 4 steps: issued all at once, 2·mr of them waited
	// for fill buffers behind the previous tile's stores.
	cpf := Load(Param("c").Base(), GP64())
	{
		tc := Load(Param("tileC"), GP64())
		SHLQ(U8(2), tc)
		ADDQ(tc, cpf)
	}
	cldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), cldc)
	crows := GP64()
	MOVQ(U32(t.mr), crows)
	prefetchRows := func(rows int) {
		for r := 0; r < rows; r++ {
			PREFETCHT0(Mem{Base: cpf})
			if 4*nr > 64 {
				PREFETCHT0(Mem{Base: cpf, Disp: 4*nr - 4})
			}
			ADDQ(cldc, cpf)
		}
	}

	acc := make([][][]reg.VecVirtual, t.sets) // [set][row][vector]
	for q := range acc {
		acc[q] = make([][]reg.VecVirtual, t.mr)
		for i := range acc[q] {
			acc[q][i] = make([]reg.VecVirtual, t.nv)
			for v := range acc[q][i] {
				acc[q][i][v] = t.vecOf(v)
				VXORPS(acc[q][i][v], acc[q][i][v], acc[q][i][v])
			}
		}
	}
	bv := make([]reg.VecVirtual, t.nv)
	for v := range bv {
		bv[v] = t.vecOf(v)
	}
	av := t.vec()

	// step is one rank-1 update: C += A[:, p] · B[p, :] into set q.
	// Each step also prefetches B's row 8 steps on: read in place (a 1×1
	// convolution's dy in its weight gradient, rows 576 bytes apart for
	// 144 channels) it came from memory a line or two a step, strided,
	// and the loads of B took a quarter of the kernel's samples. Packed,
	// the row is in cache already, at 2 loads per 2·mr FMAs.
	step := func(q int) {
		PREFETCHT0(Mem{Base: bp, Index: rsB, Scale: 8})
		if 4*nr > 64 {
			PREFETCHT0(Mem{Base: bp, Index: rsB, Scale: 8, Disp: 4*nr - 4})
		}
		for v := range bv {
			VMOVUPS(Mem{Base: bp, Disp: 4 * t.lanes * v}, bv[v])
		}
		for i := 0; i < t.mr; i++ {
			VBROADCASTSS(rowA(i), av)
			for v := range bv {
				VFMADD231PS(bv[v], t.as(v, av), acc[q][i][v])
			}
		}
		for q := range base {
			ADDQ(cs, base[q])
		}
		ADDQ(rsB, bp)
	}

	// pf walks the mr rows after the tile's, two cache lines per 4 steps:
	// when A is read in place (a 1×1 convolution's input), those are the
	// next tile's rows, which stream from memory in mr interleaved rows
	// that the hardware prefetchers follow poorly (K = 144 input channels
	// ran at a third of the speed without this on Zen 3). Elsewhere the
	// prefetches touch lines already on their way, at two loads per 48
	// FMAs.
	pf := GP64()
	IMUL3Q(U8(t.mr), rs, pf)
	ADDQ(base[0], pf)
	const unroll = 4
	Comment(fmt.Sprintf("Steps of k, %d at a time.", unroll))
	Label(t.name + "_loop4")
	CMPQ(k, U8(unroll))
	JL(LabelRef(t.name + "_crest"))
	PREFETCHT0(Mem{Base: pf})
	PREFETCHT0(Mem{Base: pf, Disp: 64})
	ADDQ(U8(128), pf)
	TESTQ(crows, crows)
	JLE(LabelRef(t.name + "_cdone"))
	prefetchRows(cpfRows)
	SUBQ(U8(cpfRows), crows)
	Label(t.name + "_cdone")
	for u := 0; u < unroll; u++ {
		step(u % t.sets)
	}
	SUBQ(U8(unroll), k)
	JMP(LabelRef(t.name + "_loop4"))

	// Rows the groups of 4 steps did not reach (k < 4·⌈mr/cpfRows⌉).
	Label(t.name + "_crest")
	TESTQ(crows, crows)
	JLE(LabelRef(t.name + "_loop1"))
	prefetchRows(1)
	DECQ(crows)
	JMP(LabelRef(t.name + "_crest"))

	Label(t.name + "_loop1")
	TESTQ(k, k)
	JZ(LabelRef(t.name + "_store"))
	step(0)
	DECQ(k)
	JMP(LabelRef(t.name + "_loop1"))

	Label(t.name + "_store")
	sum := acc[0]
	for q := 1; q < t.sets; q++ {
		for i := range sum {
			for v := range sum[i] {
				VADDPS(acc[q][i][v], sum[i][v], sum[i][v])
			}
		}
	}
	Comment("C = alpha·AB + beta·C; beta == ±0 leaves C unread, alpha == 1 skips the scaling, beta == 1 adds.")
	{
		// The scaling's multiplies run on the FMA units: 12 of them cost
		// a 6×16 tile about 4 % at k = 24 (a 1×1 convolution from 24
		// channels), where alpha is 1.
		bits := GP32()
		MOVL(paramAddr("alpha"), bits)
		CMPL(bits, U32(0x3f800000))
		JEQ(LabelRef(t.name + "_scaled"))
	}
	alpha := bv[0]
	VBROADCASTSS(paramAddr("alpha"), alpha)
	for i := range sum {
		for v := range sum[i] {
			VMULPS(sum[i][v], t.as(v, alpha), sum[i][v])
		}
	}
	Label(t.name + "_scaled")
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	betaBits := GP32()
	MOVL(paramAddr("beta"), betaBits)
	ANDL(U32(0x7fffffff), betaBits)
	JZ(LabelRef(t.name + "_beta0"))
	// beta == 1 (a gradient accumulated into C): adds on the FP adders
	// instead of FMAs on the multipliers the products use; c·1 + s is
	// c + s, the same bits.
	MOVL(paramAddr("beta"), betaBits)
	CMPL(betaBits, U32(0x3f800000))
	JEQ(LabelRef(t.name + "_beta1"))

	// storeC stores the tile row by row, each vector after combine(m, s)
	// has merged C's vector at m into the sum s (nil: C is not read).
	storeC := func(combine func(m Mem, v int, s reg.VecVirtual)) {
		for i := range sum {
			for v := range sum[i] {
				m := Mem{Base: cp, Disp: 4 * t.lanes * v}
				if combine != nil {
					combine(m, v, sum[i][v])
				}
				VMOVUPS(sum[i][v], m)
			}
			if i < t.mr-1 {
				ADDQ(ldc, cp)
			}
		}
	}
	beta := av
	VBROADCASTSS(paramAddr("beta"), beta)
	storeC(func(m Mem, v int, s reg.VecVirtual) { VFMADD231PS(m, t.as(v, beta), s) })
	JMP(LabelRef(t.name + "_next"))

	Label(t.name + "_beta1")
	storeC(func(m Mem, _ int, s reg.VecVirtual) { VADDPS(m, s, s) })
	JMP(LabelRef(t.name + "_next"))

	Label(t.name + "_beta0")
	storeC(nil)

	Label(t.name + "_next")
	Comment("Advance a, b and c in the frame to the next tile, if any.")
	adv := GP64()
	for _, pr := range [][2]string{{"tileA", "a"}, {"tileB", "b"}, {"tileC", "c"}} {
		MOVQ(paramAddr(pr[0]), adv)
		SHLQ(U8(2), adv)
		ADDQ(adv, baseAddr(pr[1]))
	}
	DECQ(paramAddr("tiles"))
	JNZ(LabelRef(t.name + "_tile"))
	VZEROUPPER()
	RET()
}

// baseAddr is the frame address of a slice parameter's base pointer.
func baseAddr(name string) Mem {
	b, err := Param(name).Base().Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// paramAddr is the frame address of a float32 parameter.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
