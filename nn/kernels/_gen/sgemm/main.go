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

	"github.com/sortnet/sortnet/nn/kernels/_gen/internal/tile"
)

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	ymm := func() reg.VecVirtual { return YMM() }
	zmm := func() reg.VecVirtual { return ZMM() }
	// AVX2: 16 ymm registers hold 6×2 accumulators, 2 B vectors and the
	// broadcast A value. The half-width tile serves a last column panel of
	// 8 or fewer columns; its 6 accumulators alone could not hide the FMA
	// latency, so it keeps two sets that alternate between steps of k.
	kernel{"sgemmKernel6x16AVX2", tile.Shape{Lanes: 8, MR: 6, NV: 2, Sets: 1, Vec: ymm}}.emit()
	kernel{"sgemmKernel6x8AVX2", tile.Shape{Lanes: 8, MR: 6, NV: 1, Sets: 2, Vec: ymm}}.emit()
	// For products 24 columns wide (1×1 convolutions to 24 channels):
	// 4×3 accumulators, 3 B vectors and the broadcast.
	kernel{"sgemmKernel4x24AVX2", tile.Shape{Lanes: 8, MR: 4, NV: 3, Sets: 1, Vec: ymm}}.emit()
	// The AVX-512 tiles' 14-row geometry (three base pointers into A) on
	// AVX2, for the tests only: 14 accumulators, a B vector and the
	// broadcast fill the 16 ymm registers. Machines without AVX-512 run it
	// to check the code paths the AVX-512 kernels share.
	kernel{"sgemmKernel14x8AVX2", tile.Shape{Lanes: 8, MR: 14, NV: 1, Sets: 1, Vec: ymm}}.emit()
	// AVX-512: the same template with 16 lanes and 32 zmm registers:
	// 14×2 accumulators, 2 B vectors and the broadcast A value (the
	// half-width tile: 2 sets of 14).
	kernel{"sgemmKernel14x32AVX512", tile.Shape{Lanes: 16, MR: 14, NV: 2, Sets: 1, Vec: zmm}}.emit()
	kernel{"sgemmKernel14x16AVX512", tile.Shape{Lanes: 16, MR: 14, NV: 1, Sets: 2, Vec: zmm}}.emit()
	// For products 24 columns wide (a multiple of 24 but not of 16): a zmm
	// and a ymm per row, 14×2 accumulators, 2 B vectors and the broadcast,
	// so that no column is computed to be dropped and the tiles need not
	// go through an edge buffer.
	kernel{"sgemmKernel14x24AVX512", tile.Shape{Lanes: 16, MR: 14, NV: 2, Tail: 8, Sets: 1, Vec: zmm}}.emit()
	Generate()
}

// kernel is the micro-kernel template: a register tile (package tile)
// updated by one rank-1 product per step of k. With two accumulator sets,
// steps of k alternate between them (the odd steps of each unrolled group
// of 4 go to the second), added together at the end.
type kernel struct {
	name string
	tile.Shape
}

func (t kernel) emit() {
	nr := t.NR()
	TEXT(t.name, NOSPLIT, "func(k int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32, tiles, tileA, tileB, tileC int)")
	Pragma("noescape")
	order := []string{"with the sum in p order (one FMA per step); beta == 0 (either sign)"}
	if t.Sets == 2 {
		order = []string{
			"summing the steps in two interleaved chains (one FMA per step; the",
			"split depends on k only), then adding the two; beta == 0 (either sign)",
		}
	}
	doc := []string{
		fmt.Sprintf("%s computes one %d×%d tile of C: for i < %d, j < %d,", t.name, t.MR, nr, t.MR, nr),
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

	rows := &tile.RowsA{Base: tile.Bases(t.MR, Load(Param("a").Base(), GP64()), rs), RS: rs, RS3: tile.RS3(t.MR, rs)}

	// Warm the next tile's C while the products run (the tile after a
	// call's last one is often the next call's first; prefetches do not
	// fault): with the current tile's, the lines of an accumulated C
	// (beta 1, k = 24) arrived too late, 10 % of a 1×1 convolution's
	// input gradient.
	cpf := Load(Param("c").Base(), GP64())
	{
		tc := Load(Param("tileC"), GP64())
		SHLQ(U8(2), tc)
		ADDQ(tc, cpf)
	}
	cldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), cldc)
	nextC := tile.NewNextC(t.MR, nr, cpf, cldc)

	acc := t.Acc()
	for _, set := range acc {
		tile.Clear(set)
	}
	// Each step also prefetches B's row 8 steps on: read in place (a 1×1
	// convolution's dy in its weight gradient, rows 576 bytes apart for
	// 144 channels) it came from memory a line or two a step, strided,
	// and the loads of B took a quarter of the kernel's samples. Packed,
	// the row is in cache already, at 2 loads per 2·mr FMAs.
	step := t.NewStep(rows, cs, bp, rsB)
	step.PrefetchB = true

	// pf walks the mr rows after the tile's, two cache lines per 4 steps:
	// when A is read in place (a 1×1 convolution's input), those are the
	// next tile's rows, which stream from memory in mr interleaved rows
	// that the hardware prefetchers follow poorly (K = 144 input channels
	// ran at a third of the speed without this on Zen 3). Elsewhere the
	// prefetches touch lines already on their way, at two loads per 48
	// FMAs.
	pf := GP64()
	IMUL3Q(U8(t.MR), rs, pf)
	ADDQ(rows.Base[0], pf)
	const unroll = 4
	Comment(fmt.Sprintf("Steps of k, %d at a time.", unroll))
	Label(t.name + "_loop4")
	CMPQ(k, U8(unroll))
	JL(LabelRef(t.name + "_crest"))
	PREFETCHT0(Mem{Base: pf})
	PREFETCHT0(Mem{Base: pf, Disp: 64})
	ADDQ(U8(128), pf)
	nextC.Group(t.name + "_cdone")
	for u := 0; u < unroll; u++ {
		step.Emit(acc[u%t.Sets])
	}
	SUBQ(U8(unroll), k)
	JMP(LabelRef(t.name + "_loop4"))

	// Rows the groups of 4 steps did not reach (k < 4·⌈mr/tile.CRowsPerGroup⌉).
	nextC.Rest(t.name+"_crest", t.name+"_loop1")

	Label(t.name + "_loop1")
	TESTQ(k, k)
	JZ(LabelRef(t.name + "_store"))
	step.Emit(acc[0])
	DECQ(k)
	JMP(LabelRef(t.name + "_loop1"))

	Label(t.name + "_store")
	sum := tile.Sum(acc)
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
	alpha := step.B[0]
	VBROADCASTSS(paramAddr("alpha"), alpha)
	for i := range sum {
		for v := range sum[i] {
			VMULPS(sum[i][v], t.As(v, alpha), sum[i][v])
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

	// storeC stores the tile, C's vectors merged in by combine (nil: C
	// is not read).
	storeC := func(combine func(m Mem, v int, s reg.VecVirtual)) { t.Store(sum, cp, ldc, combine) }
	beta := step.A
	VBROADCASTSS(paramAddr("beta"), beta)
	storeC(func(m Mem, v int, s reg.VecVirtual) { VFMADD231PS(m, t.As(v, beta), s) })
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
