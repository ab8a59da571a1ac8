// Command channel generates channel_amd64.s: per-channel kernels on
// [rows, c] matrices (NHWC activations with the pixels as rows) for AVX2
// and AVX-512 — the batch-norm statistics and gradients, channel sums
// (global average pooling) and channel scaling (squeeze-excite).
//
//	go run ./channel -out ../channel_amd64.s -stubs ../channel_stubs_amd64.go -pkg kernels
//
// Each kernel runs exactly the float32/float64 operations of its generic
// twin in channel_generic.go, in the same order and without FMA, so every
// implementation gives the same bits. Two templates:
//
//   - reductions (chanMoments, chanDySums, chanSum, chanDot): each
//     channel's sum runs over the rows in order, as the generic loop's;
//     channels in chunks outer, rows inner, one register accumulator per
//     vector of channels (the float64 reductions on rows wider than one
//     chunk: rows outer, the accumulators loaded and stored per row, see
//     f64ReduceRows);
//   - maps (chanMul, chanMulAdd, chanAdd, chanBNGrad): rows outer, channels
//     inner.
//
// Channel widths step from the widest down to a scalar tail. The AVX-512
// kernels put ZMM steps in front of the AVX2 kernels' YMM/XMM/scalar steps,
// which are the same code (registers below 16, VEX-encoded).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// step is one channel step: n vectors of kind k (lanes float32 each, or
// float64 lanes for the float64 reductions).
type step struct {
	n int
	k kind
}

// kind is a register width: 16 ZMM, 8 YMM, 4 XMM, 1 scalar in XMM.
type kind int

func (k kind) new() reg.VecVirtual {
	switch k {
	case 16:
		return ZMM()
	case 8:
		return YMM()
	}
	return XMM()
}

// half is the register holding the float32 source of a float64 vector of
// kind k: VCVTPS2PD widens XMM to YMM and YMM to ZMM.
func (k kind) half() kind {
	switch k {
	case 16:
		return 8
	case 8:
		return 4
	}
	return 1
}

func (k kind) load(m Mem, v reg.VecVirtual) {
	if k == 1 {
		VMOVSS(m, v)
	} else {
		VMOVUPS(m, v)
	}
}

func (k kind) store(v reg.VecVirtual, m Mem) {
	if k == 1 {
		VMOVSS(v, m)
	} else {
		VMOVUPS(v, m)
	}
}

func (k kind) zero(v reg.VecVirtual) { VXORPS(v, v, v) }

// Single precision arithmetic: dst = a op b (operands in Go order: the
// first may be memory).
func (k kind) add(b Op, a, dst reg.VecVirtual) {
	if k == 1 {
		VADDSS(b, a, dst)
	} else {
		VADDPS(b, a, dst)
	}
}

func (k kind) sub(b Op, a, dst reg.VecVirtual) { // dst = a - b
	if k == 1 {
		VSUBSS(b, a, dst)
	} else {
		VSUBPS(b, a, dst)
	}
}

func (k kind) mul(b Op, a, dst reg.VecVirtual) {
	if k == 1 {
		VMULSS(b, a, dst)
	} else {
		VMULPS(b, a, dst)
	}
}

type isa struct {
	name string
	f32  []step // float32 reductions and maps, widest first
	f64  []step // float64 reductions: k is the float64 register kind
}

var isas = []isa{
	{"AVX2", []step{{4, 8}, {1, 8}, {1, 1}}, []step{{4, 8}, {1, 8}, {1, 1}}},
	{"AVX512", []step{{4, 16}, {4, 8}, {1, 8}, {1, 1}}, []step{{4, 16}, {4, 8}, {1, 8}, {1, 1}}},
}

// f64lanes is the number of float64 lanes in a register of kind k.
func f64lanes(k kind) int {
	switch k {
	case 16:
		return 8
	case 8:
		return 4
	}
	return 1
}

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	for _, is := range isas {
		moments(is)
		dySums(is)
		chanSum(is)
		chanDot(is)
		chanMul(is)
		chanMulAdd(is)
		chanAdd(is)
		bnGrad(is, false)
		bnGrad(is, true)
	}
	Generate()
}

func param(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func base(name string) reg.GPVirtual {
	r := GP64()
	Load(Param(name).Base(), r)
	return r
}

// f64Reduce emits the float64 reduction loop of a kernel over rows of c
// channels: body(k, n, row, chanOff, acc) adds one row's terms for the n
// vectors of kind k at byte offset chanOff of the row into the float64
// accumulators acc[a][v] (a < naccs, v < n), whose sums go to the outputs
// outs[a]. Rows that one channel step covers (c up to its lanes) take
// f64ReduceCols, wider rows f64ReduceRows.
func f64Reduce(name string, is isa, naccs int, outs []reg.GPVirtual, x reg.GPVirtual,
	body func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual)) {
	st := is.f64[0]
	CMPQ(param("c"), U8(f64lanes(st.k)*st.n))
	JG(LabelRef(name + "_wide"))
	f64ReduceCols(name, is, naccs, outs, x, body)
	Label(name + "_wide")
	f64ReduceRows(name+"_wide", is, naccs, outs, x, body)
}

// f64ReduceCols emits the float64 reduction loop for narrow rows: for each
// channel step, accumulators acc[a][v] (a < naccs, v < step.n) start at
// zero, then for each row body adds that row's terms, then the
// accumulators are stored to the outputs outs[a] (float64 slices) at the
// step's channels. chanOff is the byte offset of the step's first channel
// in a float32 row; the float64 outputs are at twice that.
func f64ReduceCols(name string, is isa, naccs int, outs []reg.GPVirtual, x reg.GPVirtual,
	body func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual)) {
	rows := Load(Param("rows"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	co := GP64() // float32 byte offset of the step's first channel
	XORQ(co, co)
	crem := Load(Param("c"), GP64())
	for _, st := range is.f64 {
		lanes := f64lanes(st.k) * st.n
		lbl := fmt.Sprintf("%s_c%d_%d", name, st.n, st.k)
		Label(lbl)
		CMPQ(crem, U8(lanes))
		JL(LabelRef(lbl + "_end"))
		acc := make([][]reg.VecVirtual, naccs)
		for a := range acc {
			acc[a] = make([]reg.VecVirtual, st.n)
			for v := range acc[a] {
				acc[a][v] = st.k.new()
				st.k.zero(acc[a][v])
			}
		}
		row := GP64()
		MOVQ(x, row)
		r := GP64()
		MOVQ(rows, r)
		Label(lbl + "_row")
		TESTQ(r, r)
		JZ(LabelRef(lbl + "_flush"))
		body(st.k, st.n, row, co, acc)
		ADDQ(stride, row)
		DECQ(r)
		JMP(LabelRef(lbl + "_row"))
		Label(lbl + "_flush")
		for a, out := range outs {
			for v := 0; v < st.n; v++ {
				m := Mem{Base: out, Index: co, Scale: 2, Disp: 8 * f64lanes(st.k) * v}
				if st.k == 1 {
					VMOVSD(acc[a][v], m)
				} else {
					VMOVUPD(acc[a][v], m)
				}
			}
		}
		ADDQ(U32(4*lanes), co)
		SUBQ(U8(lanes), crem)
		JMP(LabelRef(lbl))
		Label(lbl + "_end")
	}
	VZEROUPPER()
	RET()
}

// f64ReduceRows emits the float64 reduction loop for wide rows: rows
// outer, and in each row the channel steps in order, each loading its
// accumulators from the outputs (zeros for the first row), adding the
// row's terms and storing them back. Each channel's sum still runs over
// the rows in order, and the data are read in memory order, which the
// hardware prefetchers follow; f64ReduceCols on wide rows reads one line
// per row at the row stride, the other steps' lines gone from L1 by the
// time they come. On [8·56·56, 144] (one thread, AMD Zen 3) BNBackwardSums
// ran 2.3–2.8 Gelem/s this way against 1.4–1.6, ChannelMoments 3.3–3.6
// against 2.5–2.8; on rows of 16 channels, where f64ReduceCols reads in
// memory order too, 1.4–2.4 against 3.2 (each row waits for the last
// row's stores).
func f64ReduceRows(name string, is isa, naccs int, outs []reg.GPVirtual, x reg.GPVirtual,
	body func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual)) {
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	left := Load(Param("rows"), GP64()) // rows not yet added, this one included
	Label(name + "_row")
	co := GP64() // float32 byte offset of the step's first channel
	XORQ(co, co)
	crem := Load(Param("c"), GP64())
	for _, st := range is.f64 {
		lanes := f64lanes(st.k) * st.n
		lbl := fmt.Sprintf("%s_c%d_%d", name, st.n, st.k)
		Label(lbl)
		CMPQ(crem, U8(lanes))
		JL(LabelRef(lbl + "_end"))
		acc := make([][]reg.VecVirtual, naccs)
		for a := range acc {
			acc[a] = make([]reg.VecVirtual, st.n)
			for v := range acc[a] {
				acc[a][v] = st.k.new()
			}
		}
		out := func(a, v int) Mem {
			return Mem{Base: outs[a], Index: co, Scale: 2, Disp: 8 * f64lanes(st.k) * v}
		}
		CMPQ(left, param("rows"))
		JNE(LabelRef(lbl + "_load"))
		for a := range acc {
			for v := range acc[a] {
				st.k.zero(acc[a][v])
			}
		}
		JMP(LabelRef(lbl + "_add"))
		Label(lbl + "_load")
		for a := range acc {
			for v := range acc[a] {
				pdMove(st.k, out(a, v), acc[a][v])
			}
		}
		Label(lbl + "_add")
		TESTQ(left, left) // no rows: the outputs are zeroed
		JZ(LabelRef(lbl + "_store"))
		body(st.k, st.n, x, co, acc)
		Label(lbl + "_store")
		for a := range acc {
			for v := range acc[a] {
				pdMove(st.k, acc[a][v], out(a, v))
			}
		}
		ADDQ(U32(4*lanes), co)
		SUBQ(U8(lanes), crem)
		JMP(LabelRef(lbl))
		Label(lbl + "_end")
	}
	ADDQ(stride, x)
	DECQ(left)
	JG(LabelRef(name + "_row"))
	VZEROUPPER()
	RET()
}

// pdMove moves float64 values of kind k between a register and memory.
func pdMove(k kind, src, dst Op) {
	if k == 1 {
		VMOVSD(src, dst)
	} else {
		VMOVUPD(src, dst)
	}
}

// cvt widens the float32 value(s) at m (k.half() of them) to float64 in v.
func cvt(k kind, m Op, v reg.VecVirtual) {
	if k == 1 {
		VCVTSS2SD(m, v, v)
	} else {
		VCVTPS2PD(m, v)
	}
}

func pdAdd(k kind, b Op, a, dst reg.VecVirtual) {
	if k == 1 {
		VADDSD(b, a, dst)
	} else {
		VADDPD(b, a, dst)
	}
}

func pdSub(k kind, b Op, a, dst reg.VecVirtual) {
	if k == 1 {
		VSUBSD(b, a, dst)
	} else {
		VSUBPD(b, a, dst)
	}
}

func pdMul(k kind, b Op, a, dst reg.VecVirtual) {
	if k == 1 {
		VMULSD(b, a, dst)
	} else {
		VMULPD(b, a, dst)
	}
}

// moments emits chanMoments<ISA>(x []float32, rows, stride, c int, shift
// []float32, s1, s2 []float64): for j < c, d = float64(x[r*stride+j]) -
// float64(shift[j]) summed over rows r in order from zero: s1[j] = Σd and
// s2[j] = Σd·d.
func moments(is isa) {
	name := "chanMoments" + is.name
	TEXT(name, NOSPLIT, "func(x []float32, rows, stride, c int, shift []float32, s1, s2 []float64)")
	Pragma("noescape")
	Doc(name+" is chanMomentsGeneric (see channel_generic.go).", "The caller checks the lengths.")
	x := base("x")
	sh := base("shift")
	s1, s2 := base("s1"), base("s2")
	f64Reduce(name, is, 2, []reg.GPVirtual{s1, s2}, x, func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual) {
		for v := 0; v < n; v++ {
			off := 4 * f64lanes(k) * v
			d := k.new()
			cvt(k, Mem{Base: row, Index: co, Scale: 1, Disp: off}, d)
			s := k.new()
			cvt(k, Mem{Base: sh, Index: co, Scale: 1, Disp: off}, s)
			pdSub(k, s, d, d) // d - shift
			pdAdd(k, d, acc[0][v], acc[0][v])
			pdMul(k, d, d, d)
			pdAdd(k, d, acc[1][v], acc[1][v])
		}
	})
}

// dySums emits chanDySums<ISA>(dy, x []float32, rows, stride, c int, mean
// []float32, s1, s2 []float64): for j < c, over rows r in order from zero,
// s1[j] = Σ float64(g) and s2[j] = Σ float64(g*(x-mean[j])) (the product
// in float32), g = dy[r*stride+j].
func dySums(is isa) {
	name := "chanDySums" + is.name
	TEXT(name, NOSPLIT, "func(dy, x []float32, rows, stride, c int, mean []float32, s1, s2 []float64)")
	Pragma("noescape")
	Doc(name+" is chanDySumsGeneric (see channel_generic.go).", "The caller checks the lengths.")
	dy := base("dy")
	x := base("x")
	mu := base("mean")
	s1, s2 := base("s1"), base("s2")
	// Walk dy with the row pointer and x at the fixed distance x - dy.
	dist := GP64()
	MOVQ(x, dist)
	SUBQ(dy, dist)
	f64Reduce(name, is, 2, []reg.GPVirtual{s1, s2}, dy, func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual) {
		h := k.half()
		xrow := GP64()
		LEAQ(Mem{Base: row, Index: dist, Scale: 1}, xrow)
		for v := 0; v < n; v++ {
			off := 4 * f64lanes(k) * v
			g := h.new()
			h.load(Mem{Base: row, Index: co, Scale: 1, Disp: off}, g)
			xv := h.new()
			h.load(Mem{Base: xrow, Index: co, Scale: 1, Disp: off}, xv)
			h.sub(Mem{Base: mu, Index: co, Scale: 1, Disp: off}, xv, xv) // x - mean
			h.mul(g, xv, xv)                                             // (x - mean)*g
			gd := k.new()
			cvt(k, g, gd)
			pdAdd(k, gd, acc[0][v], acc[0][v])
			cvt(k, xv, gd)
			pdAdd(k, gd, acc[1][v], acc[1][v])
		}
	})
}

// f32Reduce is f64Reduce for float32 accumulators and a float32 output
// (fromOut says whether the accumulators start from the output or from 0).
func f32Reduce(name string, is isa, out reg.GPVirtual, fromOut bool, x reg.Register,
	body func(k kind, n int, row, co reg.GPVirtual, acc []reg.VecVirtual)) {
	rows := Load(Param("rows"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	co := GP64()
	XORQ(co, co)
	crem := Load(Param("c"), GP64())
	for _, st := range is.f32 {
		lanes := int(st.k) * st.n
		lbl := fmt.Sprintf("%s_c%d_%d", name, st.n, st.k)
		Label(lbl)
		CMPQ(crem, U8(lanes))
		JL(LabelRef(lbl + "_end"))
		acc := make([]reg.VecVirtual, st.n)
		for v := range acc {
			acc[v] = st.k.new()
			if fromOut {
				st.k.load(Mem{Base: out, Index: co, Scale: 1, Disp: 4 * int(st.k) * v}, acc[v])
			} else {
				st.k.zero(acc[v])
			}
		}
		row := GP64()
		MOVQ(x, row)
		r := GP64()
		MOVQ(rows, r)
		Label(lbl + "_row")
		TESTQ(r, r)
		JZ(LabelRef(lbl + "_flush"))
		body(st.k, st.n, row, co, acc)
		ADDQ(stride, row)
		DECQ(r)
		JMP(LabelRef(lbl + "_row"))
		Label(lbl + "_flush")
		for v := range acc {
			st.k.store(acc[v], Mem{Base: out, Index: co, Scale: 1, Disp: 4 * int(st.k) * v})
		}
		ADDQ(U32(4*lanes), co)
		SUBQ(U8(lanes), crem)
		JMP(LabelRef(lbl))
		Label(lbl + "_end")
	}
	VZEROUPPER()
	RET()
}

// chanSum emits chanSum<ISA>(out, x []float32, rows, stride, c int):
// out[j] = Σ_r x[r*stride+j] in float32, rows in order, from 0.
func chanSum(is isa) {
	name := "chanSum" + is.name
	TEXT(name, NOSPLIT, "func(out, x []float32, rows, stride, c int)")
	Pragma("noescape")
	Doc(name+" is chanSumGeneric (see channel_generic.go).", "The caller checks the lengths.")
	out := base("out")
	x := base("x")
	f32Reduce(name, is, out, false, x, func(k kind, n int, row, co reg.GPVirtual, acc []reg.VecVirtual) {
		for v := 0; v < n; v++ {
			k.add(Mem{Base: row, Index: co, Scale: 1, Disp: 4 * int(k) * v}, acc[v], acc[v])
		}
	})
}

// chanDot emits chanDot<ISA>(out, a, b []float32, rows, stride, c int):
// out[j] += a[r*stride+j]*b[r*stride+j] for rows r in order, each product
// rounded and added to the running float32 sum that starts at out[j].
func chanDot(is isa) {
	name := "chanDot" + is.name
	TEXT(name, NOSPLIT, "func(out, a, b []float32, rows, stride, c int)")
	Pragma("noescape")
	Doc(name+" is chanDotGeneric (see channel_generic.go).", "The caller checks the lengths.")
	out := base("out")
	a := base("a")
	b := base("b")
	dist := GP64()
	MOVQ(b, dist)
	SUBQ(a, dist)
	f32Reduce(name, is, out, true, a, func(k kind, n int, row, co reg.GPVirtual, acc []reg.VecVirtual) {
		brow := GP64()
		LEAQ(Mem{Base: row, Index: dist, Scale: 1}, brow)
		for v := 0; v < n; v++ {
			off := 4 * int(k) * v
			p := k.new()
			k.load(Mem{Base: row, Index: co, Scale: 1, Disp: off}, p)
			k.mul(Mem{Base: brow, Index: co, Scale: 1, Disp: off}, p, p)
			k.add(p, acc[v], acc[v])
		}
	})
}

// rowMap emits the map template: for each row r < rows (stride elements
// apart in every matrix) and each channel step, body(k, n, off) with off
// the byte offset of the step's first channel in the row (the matrices are
// addressed through the row pointers ptrs, advanced together).
func rowMap(name string, is isa, ptrs []reg.GPVirtual, body func(k kind, n int, co reg.GPVirtual)) {
	rows := Load(Param("rows"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	Label(name + "_row")
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_done"))
	co := GP64()
	XORQ(co, co)
	crem := Load(Param("c"), GP64())
	for _, st := range is.f32 {
		lanes := int(st.k) * st.n
		lbl := fmt.Sprintf("%s_c%d_%d", name, st.n, st.k)
		Label(lbl)
		CMPQ(crem, U8(lanes))
		JL(LabelRef(lbl + "_end"))
		body(st.k, st.n, co)
		ADDQ(U32(4*lanes), co)
		SUBQ(U8(lanes), crem)
		JMP(LabelRef(lbl))
		Label(lbl + "_end")
	}
	for _, p := range ptrs {
		ADDQ(stride, p)
	}
	DECQ(rows)
	JMP(LabelRef(name + "_row"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

func at(p reg.Register, co reg.Register, k kind, v int) Mem {
	return Mem{Base: p, Index: co, Scale: 1, Disp: 4 * int(k) * v}
}

// chanMul emits chanMul<ISA>(y, x []float32, rows, stride, c int, s
// []float32): y[r*stride+j] = x[r*stride+j]*s[j].
func chanMul(is isa) {
	name := "chanMul" + is.name
	TEXT(name, NOSPLIT, "func(y, x []float32, rows, stride, c int, s []float32)")
	Pragma("noescape")
	Doc(name+" is chanMulGeneric (see channel_generic.go).", "The caller checks the lengths.")
	y, x, s := base("y"), base("x"), base("s")
	rowMap(name, is, []reg.GPVirtual{y, x}, func(k kind, n int, co reg.GPVirtual) {
		for v := 0; v < n; v++ {
			t := k.new()
			k.load(at(x, co, k, v), t)
			k.mul(at(s, co, k, v), t, t)
			k.store(t, at(y, co, k, v))
		}
	})
}

// chanMulAdd emits chanMulAdd<ISA>(dx, dy []float32, rows, stride, c int,
// s []float32): dx[i] = dx[i] + dy[i]*s[j] (the product rounded first).
func chanMulAdd(is isa) {
	name := "chanMulAdd" + is.name
	TEXT(name, NOSPLIT, "func(dx, dy []float32, rows, stride, c int, s []float32)")
	Pragma("noescape")
	Doc(name+" is chanMulAddGeneric (see channel_generic.go).", "The caller checks the lengths.")
	dx, dy, s := base("dx"), base("dy"), base("s")
	rowMap(name, is, []reg.GPVirtual{dx, dy}, func(k kind, n int, co reg.GPVirtual) {
		for v := 0; v < n; v++ {
			t := k.new()
			k.load(at(dy, co, k, v), t)
			k.mul(at(s, co, k, v), t, t)
			u := k.new()
			k.load(at(dx, co, k, v), u)
			k.add(t, u, u)
			k.store(u, at(dx, co, k, v))
		}
	})
}

// chanAdd emits chanAdd<ISA>(dx []float32, rows, stride, c int, t
// []float32): dx[r*stride+j] += t[j].
func chanAdd(is isa) {
	name := "chanAdd" + is.name
	TEXT(name, NOSPLIT, "func(dx []float32, rows, stride, c int, t []float32)")
	Pragma("noescape")
	Doc(name+" is chanAddGeneric (see channel_generic.go).", "The caller checks the lengths.")
	dx, t := base("dx"), base("t")
	rowMap(name, is, []reg.GPVirtual{dx}, func(k kind, n int, co reg.GPVirtual) {
		for v := 0; v < n; v++ {
			u := k.new()
			k.load(at(dx, co, k, v), u)
			k.add(at(t, co, k, v), u, u)
			k.store(u, at(dx, co, k, v))
		}
	})
}

// bnGrad emits chanBNGrad<ISA>(dx, dy, x []float32, rows, stride, c int,
// mean, a, b, d []float32): dx[i] = dx[i] + ((a*g + b*(x-mean)) + d) per
// channel, each operation rounded (see chanBNGradGeneric); with set,
// chanBNGradSet<ISA>, which writes dx[i] = (a*g + b*(x-mean)) + d without
// reading dx (chanBNGradSetGeneric).
func bnGrad(is isa, set bool) {
	name, twin := "chanBNGrad"+is.name, "chanBNGradGeneric"
	if set {
		name, twin = "chanBNGradSet"+is.name, "chanBNGradSetGeneric"
	}
	TEXT(name, NOSPLIT, "func(dx, dy, x []float32, rows, stride, c int, mean, a, b, d []float32)")
	Pragma("noescape")
	Doc(name+" is "+twin+" (see channel_generic.go).", "The caller checks the lengths.")
	dx, dy, x := base("dx"), base("dy"), base("x")
	mu, a, b, d := base("mean"), base("a"), base("b"), base("d")
	rowMap(name, is, []reg.GPVirtual{dx, dy, x}, func(k kind, n int, co reg.GPVirtual) {
		for v := 0; v < n; v++ {
			t := k.new()
			k.load(at(x, co, k, v), t)
			k.sub(at(mu, co, k, v), t, t) // x - mean
			k.mul(at(b, co, k, v), t, t)  // b*(x-mean)
			u := k.new()
			k.load(at(dy, co, k, v), u)
			k.mul(at(a, co, k, v), u, u) // a*g
			k.add(t, u, u)
			k.add(at(d, co, k, v), u, u)
			if set {
				k.store(u, at(dx, co, k, v))
				continue
			}
			t2 := k.new()
			k.load(at(dx, co, k, v), t2)
			k.add(u, t2, t2)
			k.store(t2, at(dx, co, k, v))
		}
	})
}
