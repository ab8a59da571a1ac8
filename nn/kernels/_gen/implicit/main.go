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

	"github.com/sortnet/sortnet/nn/kernels/_gen/internal/tile"
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
	strip{"implicitKernel6x16AVX2", tile.Shape{Lanes: 8, MR: 6, NV: 2, Sets: 1, Vec: ymm}}.emit()
	strip{"implicitKernel6x8AVX2", tile.Shape{Lanes: 8, MR: 6, NV: 1, Sets: 2, Vec: ymm}}.emit()
	strip{"implicitKernel14x8AVX2", tile.Shape{Lanes: 8, MR: 14, NV: 1, Sets: 1, Vec: ymm}}.emit()
	strip{"implicitKernel14x32AVX512", tile.Shape{Lanes: 16, MR: 14, NV: 2, Sets: 1, Vec: zmm}}.emit()
	strip{"implicitKernel14x16AVX512", tile.Shape{Lanes: 16, MR: 14, NV: 1, Sets: 2, Vec: zmm}}.emit()
	// Nine rows for weight gradients whose window rows are KW·C = 9 wide
	// (the stem: 3×3 over RGB), which waste 5 of 14 rows: 18 accumulators
	// (two sets of 9 for the half tile) still hide the FMA latency.
	strip{"implicitKernel9x32AVX512", tile.Shape{Lanes: 16, MR: 9, NV: 2, Sets: 1, Vec: zmm}}.emit()
	strip{"implicitKernel9x16AVX512", tile.Shape{Lanes: 16, MR: 9, NV: 1, Sets: 2, Vec: zmm}}.emit()
	Generate()
}

// strip is the kernel template: tiles register tiles (package tile) of
// C, one after the other, each held in registers while the steps run:
// segs segments of seg steps, one rank-1 update per step. Within a
// segment A moves on by csA and B by rsB per step; from one segment's
// start to the next by jumpA and jumpB; from one tile to the next, A by
// tileA and C by tileC (B starts over). A segment runs its first seg%4
// steps one by one, then the rest in groups of 4. With two accumulator
// sets, the steps of the groups alternate between them (the odd steps of
// each group go to the second), added together at the end.
type strip struct {
	name string
	tile.Shape
}

func (t strip) emit() {
	nr := t.NR()
	TEXT(t.name, NOSPLIT, "func(tiles, segs, seg int, a []float32, rsA, csA, jumpA, tileA int, b []float32, rsB, jumpB int, c []float32, ldc, tileC int)")
	Pragma("noescape")
	doc := []string{
		fmt.Sprintf("%s computes tiles %d×%d tiles of C: for u < tiles, i < %d, j < %d,", t.name, t.MR, nr, t.MR, nr),
		"",
		"\tc[u*tileC+i*ldc+j] = Σ_{s<segs} Σ_{t<seg} a[u*tileA+i*rsA+s*jumpA+t*csA]·b[s*jumpB+t*rsB+j]",
		"",
	}
	if t.Sets == 2 {
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
	rs3 := tile.RS3(t.MR, rs)
	acc := t.Acc()

	Label(t.name + "_tile")
	a0 := Load(Param("a").Base(), GP64())
	ADDQ(offA, a0)
	rows := &tile.RowsA{Base: tile.Bases(t.MR, a0, rs), RS: rs, RS3: rs3}
	bp := Load(Param("b").Base(), GP64())
	step := t.NewStep(rows, cs, bp, rsB)

	// Warm the next tile's C while the products run (the rest of its
	// rows before the stores; without it, a sixth of the stem's forward
	// pass waited for the stores' lines).
	cpf := Load(Param("c").Base(), GP64())
	ADDQ(offC, cpf)
	cldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), cldc)
	{
		tc := Load(Param("tileC"), GP64())
		SHLQ(U8(2), tc)
		ADDQ(tc, cpf)
	}
	nextC := tile.NewNextC(t.MR, nr, cpf, cldc)
	for _, set := range acc {
		tile.Clear(set)
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
		step.Emit(acc[0])
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
	nextC.Group(t.name + "_cdone")
	for u := 0; u < unroll; u++ {
		step.Emit(acc[u%t.Sets])
	}
	DECQ(k)
	JNZ(LabelRef(t.name + "_loop4"))

	Label(t.name + "_segend")
	rows.Add(adjA)
	ADDQ(adjB, bp)
	DECQ(sc)
	JNZ(LabelRef(t.name + "_seg"))

	nextC.Rest(t.name+"_store", t.name+"_sum")
	Label(t.name + "_sum")
	sum := tile.Sum(acc)
	cp := Load(Param("c").Base(), GP64())
	ADDQ(offC, cp)
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	t.Store(sum, cp, ldc, nil)

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
