// Command implicit generates conv_implicit_amd64.s: the strip kernels of
// the implicit-GEMM convolution (conv_implicit.go) for AVX2 and AVX-512,
// all instantiated from one template (strip below).
//
//	go run ./implicit -out ../conv_implicit_amd64.s -stubs ../conv_implicit_stubs_amd64.go -pkg kernels
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
	// The tiles of the SGEMM micro-kernels (_gen/sgemm): AVX2 6×16 and a
	// 6×8 one with two accumulator sets for a narrow last panel; the
	// AVX-512 14-row geometry on AVX2 for the tests (machines without
	// AVX-512 run it to check the code paths the AVX-512 kernels share);
	// AVX-512 14×32 and 14×16.
	strip{name: "implicitKernel6x16AVX2", lanes: 8, mr: 6, nv: 2, sets: 1, vec: ymm}.emit()
	strip{name: "implicitKernel6x8AVX2", lanes: 8, mr: 6, nv: 1, sets: 2, vec: ymm}.emit()
	strip{name: "implicitKernel14x8AVX2", lanes: 8, mr: 14, nv: 1, sets: 1, vec: ymm}.emit()
	strip{name: "implicitKernel14x32AVX512", lanes: 16, mr: 14, nv: 2, sets: 1, vec: zmm}.emit()
	strip{name: "implicitKernel14x16AVX512", lanes: 16, mr: 14, nv: 1, sets: 2, vec: zmm}.emit()
	// Nine rows for weight gradients whose window rows are KW·C = 9 wide
	// (the stem: 3×3 over RGB), which waste 5 of 14 rows: 18 accumulators
	// (two sets of 9 for the half tile) still hide the FMA latency.
	strip{name: "implicitKernel9x32AVX512", lanes: 16, mr: 9, nv: 2, sets: 1, vec: zmm}.emit()
	strip{name: "implicitKernel9x16AVX512", lanes: 16, mr: 9, nv: 1, sets: 2, vec: zmm}.emit()
	Generate()
}

// strip is the kernel template: tiles mr×(nv·lanes) tiles of C, one after
// the other, each held in registers while the steps run: segs segments of
// seg steps, one rank-1 update per step (a column of A broadcast one
// element at a time, a row of B loaded as nv vectors). Within a segment A
// moves on by csA and B by rsB per step; from one segment's start to the
// next by jumpA and jumpB; from one tile to the next, A by tileA and C by
// tileC (B starts over). A segment runs its first seg%4 steps one by one,
// then the rest in groups of 4. With sets = 2, the steps of the groups
// alternate between two sets of accumulators (the odd steps of each group
// go to the second), added together at the end.
type strip struct {
	name  string
	lanes int // float32 lanes per vector register
	mr    int // rows of C per tile
	nv    int // vectors per row of C: nr = nv·lanes
	sets  int // accumulator sets (1 or 2)
	vec   func() reg.VecVirtual
}

// rowsPerBase is how many rows of A one base register reaches: offsets
// 0, rs, 2·rs, 3·rs (via rs3) and 4·rs.
const rowsPerBase = 5

// cpfRows is how many rows of the next tile's C each group of 4 steps
// prefetches.
const cpfRows = 3

func (t strip) emit() {
	nr := t.nv * t.lanes
	TEXT(t.name, NOSPLIT, "func(tiles, segs, seg int, a []float32, rsA, csA, jumpA, tileA int, b []float32, rsB, jumpB int, c []float32, ldc, tileC int)")
	Pragma("noescape")
	doc := []string{
		fmt.Sprintf("%s computes tiles %d×%d tiles of C: for u < tiles, i < %d, j < %d,", t.name, t.mr, nr, t.mr, nr),
		"",
		"\tc[u*tileC+i*ldc+j] = Σ_{s<segs} Σ_{t<seg} a[u*tileA+i*rsA+s*jumpA+t*csA]·b[s*jumpB+t*rsB+j]",
		"",
	}
	if t.sets == 2 {
		doc = append(doc,
			"summing the steps in two interleaved chains (one FMA per step; the",
			"split depends on seg only), then adding the two. C is not read.")
	} else {
		doc = append(doc, "with the sum in s, t order (one FMA per step). C is not read.")
	}
	Doc(append(doc, "The caller checks every index is in range; all counts, strides and",
		"jumps are >= 0.")...)

	// Per-call values that the loops read once per segment or tile live
	// in the frame, so the step loop has its registers.
	adjA, adjB := AllocLocal(8), AllocLocal(8) // segment end → next segment start, bytes
	offA, offC := AllocLocal(8), AllocLocal(8) // current tile, bytes
	left := AllocLocal(8)                      // tiles still to do

	rs := Load(Param("rsA"), GP64())
	cs := Load(Param("csA"), GP64())
	rsB := Load(Param("rsB"), GP64())
	SHLQ(U8(2), rs)
	SHLQ(U8(2), cs)
	SHLQ(U8(2), rsB)
	{
		seg := Load(Param("seg"), GP64())
		tmp, adj := GP64(), GP64()
		Load(Param("jumpA"), adj)
		SHLQ(U8(2), adj)
		MOVQ(seg, tmp)
		IMULQ(cs, tmp)
		SUBQ(tmp, adj)
		MOVQ(adj, adjA)
		Load(Param("jumpB"), adj)
		SHLQ(U8(2), adj)
		MOVQ(seg, tmp)
		IMULQ(rsB, tmp)
		SUBQ(tmp, adj)
		MOVQ(adj, adjB)
		zero := GP64()
		XORQ(zero, zero)
		MOVQ(zero, offA)
		MOVQ(zero, offC)
		n := Load(Param("tiles"), GP64())
		MOVQ(n, left)
		TESTQ(n, n)
		JZ(LabelRef(t.name + "_done"))
	}
	var rs3 reg.Register
	if t.mr > 3 {
		rs3 = GP64()
		LEAQ(Mem{Base: rs, Index: rs, Scale: 2}, rs3)
	}

	acc := make([][][]reg.VecVirtual, t.sets) // [set][row][vector]
	for q := range acc {
		acc[q] = make([][]reg.VecVirtual, t.mr)
		for i := range acc[q] {
			acc[q][i] = make([]reg.VecVirtual, t.nv)
			for v := range acc[q][i] {
				acc[q][i][v] = t.vec()
			}
		}
	}
	bv := make([]reg.VecVirtual, t.nv)
	for v := range bv {
		bv[v] = t.vec()
	}
	av := t.vec()

	Label(t.name + "_tile")
	// Base pointers: row i of A is base[i/5] plus (i%5)·rs.
	nbase := (t.mr + rowsPerBase - 1) / rowsPerBase
	base := make([]reg.Register, nbase)
	base[0] = Load(Param("a").Base(), GP64())
	ADDQ(offA, base[0])
	for q := 1; q < nbase; q++ {
		base[q] = GP64()
		LEAQ(Mem{Base: base[q-1], Index: rs, Scale: 4}, base[q])
		ADDQ(rs, base[q])
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
	bp := Load(Param("b").Base(), GP64())

	// Warm the next tile's C while the products run, cpfRows rows per
	// group of 4 steps (the rest before the stores): the current tile's
	// 2·mr lines all at once, at its start, waited for fill buffers behind
	// the previous tile's stores (a sixth of the stem's forward pass).
	cpf := Load(Param("c").Base(), GP64())
	ADDQ(offC, cpf)
	cldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), cldc)
	{
		tc := Load(Param("tileC"), GP64())
		SHLQ(U8(2), tc)
		ADDQ(tc, cpf)
	}
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
	for q := range acc {
		for i := range acc[q] {
			for v := range acc[q][i] {
				VXORPS(acc[q][i][v], acc[q][i][v], acc[q][i][v])
			}
		}
	}

	// step is one rank-1 update: C += A[:, p] · B[p, :] into set q.
	step := func(q int) {
		for v := range bv {
			VMOVUPS(Mem{Base: bp, Disp: 4 * t.lanes * v}, bv[v])
		}
		for i := 0; i < t.mr; i++ {
			VBROADCASTSS(rowA(i), av)
			for v := range bv {
				VFMADD231PS(bv[v], av, acc[q][i][v])
			}
		}
		for q := range base {
			ADDQ(cs, base[q])
		}
		ADDQ(rsB, bp)
	}

	sc := Load(Param("segs"), GP64())
	TESTQ(sc, sc)
	JZ(LabelRef(t.name + "_store"))
	k := GP64()
	Label(t.name + "_seg")

	// A segment's first seg%4 steps one by one, then the rest 4 at a time:
	// the same branches in every segment of a call (a remainder loop after
	// the unrolled one cost a sixth of the speed with seg = 9).
	const unroll = 4
	Comment("The first seg%4 steps of a segment.")
	Load(Param("seg"), k)
	ANDQ(U8(unroll-1), k)
	for r := 1; r < unroll; r++ {
		JZ(LabelRef(t.name + "_quads"))
		step(0)
		if r < unroll-1 {
			DECQ(k)
		}
	}
	Label(t.name + "_quads")
	Comment(fmt.Sprintf("The rest, %d steps at a time.", unroll))
	Load(Param("seg"), k)
	SHRQ(U8(2), k)
	JZ(LabelRef(t.name + "_segend"))
	Label(t.name + "_loop4")
	TESTQ(crows, crows)
	JLE(LabelRef(t.name + "_cdone"))
	prefetchRows(cpfRows)
	SUBQ(U8(cpfRows), crows)
	Label(t.name + "_cdone")
	for u := 0; u < unroll; u++ {
		step(u % t.sets)
	}
	DECQ(k)
	JNZ(LabelRef(t.name + "_loop4"))

	Label(t.name + "_segend")
	for q := range base {
		ADDQ(adjA, base[q])
	}
	ADDQ(adjB, bp)
	DECQ(sc)
	JNZ(LabelRef(t.name + "_seg"))

	Label(t.name + "_store")
	TESTQ(crows, crows)
	JLE(LabelRef(t.name + "_sum"))
	prefetchRows(1)
	DECQ(crows)
	JMP(LabelRef(t.name + "_store"))
	Label(t.name + "_sum")
	sum := acc[0]
	for q := 1; q < t.sets; q++ {
		for i := range sum {
			for v := range sum[i] {
				VADDPS(acc[q][i][v], sum[i][v], sum[i][v])
			}
		}
	}
	cp := Load(Param("c").Base(), GP64())
	ADDQ(offC, cp)
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for i := range sum {
		for v := range sum[i] {
			VMOVUPS(sum[i][v], Mem{Base: cp, Disp: 4 * t.lanes * v})
		}
		if i < t.mr-1 {
			ADDQ(ldc, cp)
		}
	}

	Label(t.name + "_next")
	{
		step := Load(Param("tileA"), GP64())
		SHLQ(U8(2), step)
		ADDQ(step, offA)
		Load(Param("tileC"), step)
		SHLQ(U8(2), step)
		ADDQ(step, offC)
		DECQ(left)
		JNZ(LabelRef(t.name + "_tile"))
	}

	Label(t.name + "_done")
	VZEROUPPER()
	RET()
}
