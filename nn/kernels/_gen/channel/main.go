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
//     vector of channels (the float64 ones on rows wider than one chunk:
//     rows outer, the accumulators loaded and stored per row, see
//     reduceRows);
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

// accs are the accumulators of a reduction: one register set per output
// in outs, float64 (the kinds of isa.f64; the outputs at twice a float32
// channel's byte offset) or float32 (isa.f32), starting from zero or, with
// fromOut, from the outputs.
type accs struct {
	outs    []reg.GPVirtual
	f64     bool
	fromOut bool
}

func (a accs) steps(is isa) []step {
	if a.f64 {
		return is.f64
	}
	return is.f32
}

// lanes is the number of channels of a step.
func (a accs) lanes(st step) int {
	if a.f64 {
		return f64lanes(st.k) * st.n
	}
	return int(st.k) * st.n
}

// mem addresses vector v of output i for the step at float32 byte offset co.
func (a accs) mem(i int, st step, co reg.GPVirtual, v int) Mem {
	if a.f64 {
		return Mem{Base: a.outs[i], Index: co, Scale: 2, Disp: 8 * f64lanes(st.k) * v}
	}
	return Mem{Base: a.outs[i], Index: co, Scale: 1, Disp: 4 * int(st.k) * v}
}

// load and store move the accumulators of a step.
func (a accs) load(st step, co reg.GPVirtual, acc [][]reg.VecVirtual) {
	for i := range acc {
		for v, r := range acc[i] {
			a.move(st.k, a.mem(i, st, co, v), r)
		}
	}
}

func (a accs) store(st step, co reg.GPVirtual, acc [][]reg.VecVirtual) {
	for i := range acc {
		for v, r := range acc[i] {
			a.move(st.k, r, a.mem(i, st, co, v))
		}
	}
}

func (a accs) move(k kind, src, dst Op) {
	switch {
	case k == 1 && a.f64:
		VMOVSD(src, dst)
	case k == 1:
		VMOVSS(src, dst)
	case a.f64:
		VMOVUPD(src, dst)
	default:
		VMOVUPS(src, dst)
	}
}

// newAccs allocates the accumulator registers of a step.
func (a accs) newAccs(st step) [][]reg.VecVirtual {
	acc := make([][]reg.VecVirtual, len(a.outs))
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, st.n)
		for v := range acc[i] {
			acc[i][v] = st.k.new()
		}
	}
	return acc
}

func zeroAccs(k kind, acc [][]reg.VecVirtual) {
	for i := range acc {
		for _, r := range acc[i] {
			k.zero(r)
		}
	}
}

// reduce emits the reduction loop of a kernel over rows of c channels, x
// pointing at the first row: body(k, n, row, chanOff, acc) adds one row's
// terms for the n vectors of kind k at byte offset chanOff of the row
// into the accumulators acc[i][v], whose sums go to the outputs. The
// float64 reductions on rows wider than one channel step take reduceRows,
// everything else reduceCols; either way each channel's sum runs over the
// rows in order. (The float32 ones, a load and an add or two per vector,
// ran slower rows outer: GlobalAvgPool on [8, 56·56, 144] 31–35 GB/s
// against 20–21, one thread.)
func reduce(name string, is isa, a accs, x reg.GPVirtual,
	body func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual)) {
	if !a.f64 {
		reduceCols(name, is, a, x, body)
		return
	}
	CMPQ(param("c"), U8(a.lanes(a.steps(is)[0])))
	JG(LabelRef(name + "_wide"))
	reduceCols(name, is, a, x, body)
	Label(name + "_wide")
	reduceRows(name+"_wide", is, a, x, body)
}

// reduceCols emits the reduction loop for narrow rows: for each channel
// step, the accumulators start at zero (or the outputs), body adds each
// row's terms in turn, and the accumulators go to the outputs.
func reduceCols(name string, is isa, a accs, x reg.GPVirtual,
	body func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual)) {
	rows := Load(Param("rows"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	forSteps(name, is, a, func(st step, lbl string, co reg.GPVirtual, acc [][]reg.VecVirtual) {
		if a.fromOut {
			a.load(st, co, acc)
		} else {
			zeroAccs(st.k, acc)
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
		a.store(st, co, acc)
	})
	VZEROUPPER()
	RET()
}

// forSteps emits the loop over a row's channels in the steps of a, widest
// first: while a step's lanes remain, body(st, lbl, chanOff, acc) with
// fresh accumulator registers (lbl is the step's label), then the channel
// offset and count move on.
func forSteps(name string, is isa, a accs, body func(st step, lbl string, co reg.GPVirtual, acc [][]reg.VecVirtual)) {
	co := GP64() // float32 byte offset of the step's first channel
	XORQ(co, co)
	crem := Load(Param("c"), GP64())
	for _, st := range a.steps(is) {
		lbl := fmt.Sprintf("%s_c%d_%d", name, st.n, st.k)
		Label(lbl)
		CMPQ(crem, U8(a.lanes(st)))
		JL(LabelRef(lbl + "_end"))
		body(st, lbl, co, a.newAccs(st))
		ADDQ(U32(4*a.lanes(st)), co)
		SUBQ(U8(a.lanes(st)), crem)
		JMP(LabelRef(lbl))
		Label(lbl + "_end")
	}
}

// reduceRows emits the reduction loop for wide rows: rows outer, and in
// each row the channel steps in order, each loading its accumulators from
// the outputs (a.fromOut: the kernels add to them), adding the row's
// terms and storing them back. The data are read in memory order, which
// the hardware prefetchers follow; reduceCols on wide rows reads one line
// per row at the row stride, the other steps' lines gone from L1 by the
// time they come. On [8·56·56, 144] (one thread, AMD Zen 3) BNBackwardSums
// ran 2.3–2.8 Gelem/s this way against 1.4–1.6, ChannelMoments 3.3–3.6
// against 2.5–2.8; on rows of 16 channels, where reduceCols reads in
// memory order too, 1.4–2.4 against 3.2 (each row waits for the last
// row's stores).
func reduceRows(name string, is isa, a accs, x reg.GPVirtual,
	body func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual)) {
	if !a.fromOut {
		panic(name + ": reduceRows adds to the outputs (fromOut)")
	}
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	left := Load(Param("rows"), GP64()) // rows not yet added, this one included
	Label(name + "_row")
	forSteps(name, is, a, func(st step, lbl string, co reg.GPVirtual, acc [][]reg.VecVirtual) {
		a.load(st, co, acc)
		TESTQ(left, left) // no rows: the outputs stay as they are
		JZ(LabelRef(lbl + "_store"))
		body(st.k, st.n, x, co, acc)
		Label(lbl + "_store")
		a.store(st, co, acc)
	})
	ADDQ(stride, x)
	DECQ(left)
	JG(LabelRef(name + "_row"))
	VZEROUPPER()
	RET()
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
// float64(shift[j]) added over rows r in order to s1[j] (d) and s2[j]
// (d·d).
func moments(is isa) {
	name := "chanMoments" + is.name
	TEXT(name, NOSPLIT, "func(x []float32, rows, stride, c int, shift []float32, s1, s2 []float64)")
	Pragma("noescape")
	Doc(name+" is chanMomentsGeneric (see channel_generic.go).", "The caller checks the lengths.")
	x := base("x")
	sh := base("shift")
	s1, s2 := base("s1"), base("s2")
	reduce(name, is, accs{outs: []reg.GPVirtual{s1, s2}, f64: true, fromOut: true}, x, func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual) {
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
// []float32, s1, s2 []float64): for j < c, over rows r in order, adds
// float64(g) to s1[j] and float64(g*(x-mean[j])) (the product in float32)
// to s2[j], g = dy[r*stride+j].
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
	reduce(name, is, accs{outs: []reg.GPVirtual{s1, s2}, f64: true, fromOut: true}, dy, func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual) {
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

// chanSum emits chanSum<ISA>(out, x []float32, rows, stride, c int):
// out[j] = Σ_r x[r*stride+j] in float32, rows in order, from 0.
func chanSum(is isa) {
	name := "chanSum" + is.name
	TEXT(name, NOSPLIT, "func(out, x []float32, rows, stride, c int)")
	Pragma("noescape")
	Doc(name+" is chanSumGeneric (see channel_generic.go).", "The caller checks the lengths.")
	out := base("out")
	x := base("x")
	reduce(name, is, accs{outs: []reg.GPVirtual{out}}, x, func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual) {
		for v := 0; v < n; v++ {
			k.add(Mem{Base: row, Index: co, Scale: 1, Disp: 4 * int(k) * v}, acc[0][v], acc[0][v])
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
	reduce(name, is, accs{outs: []reg.GPVirtual{out}, fromOut: true}, a, func(k kind, n int, row, co reg.GPVirtual, acc [][]reg.VecVirtual) {
		brow := GP64()
		LEAQ(Mem{Base: row, Index: dist, Scale: 1}, brow)
		for v := 0; v < n; v++ {
			off := 4 * int(k) * v
			p := k.new()
			k.load(Mem{Base: row, Index: co, Scale: 1, Disp: off}, p)
			k.mul(Mem{Base: brow, Index: co, Scale: 1, Disp: off}, p, p)
			k.add(p, acc[0][v], acc[0][v])
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
