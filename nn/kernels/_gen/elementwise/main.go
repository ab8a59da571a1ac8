// Command elementwise generates elementwise_amd64.s: the logistic
// activations (sigmoid, SiLU and their gradients) and the batch-norm affine
// transform with an optional fused SiLU, for AVX2 and AVX-512.
//
//	go run ./elementwise -out ../elementwise_amd64.s -stubs ../elementwise_stubs_amd64.go -pkg kernels
//
// Each kernel runs exactly the float32 operations of its generic twin in
// elementwise_generic.go (logisticParts, sigmoidRun, siluRun, siluGradRun),
// channel_generic.go (bnApplyRowsGeneric) and focal_generic.go, in the
// same order, each rounded once (the fused multiply-adds of the
// exponential as fma32 does), so every implementation gives the same
// bits. The
// kernels handle whole 8-lane vectors only; the Go callers run the generic
// loop on the remaining elements.
//
// One template serves both instruction sets: loops over 16-lane ZMM
// vectors (AVX-512 only), four at a time and then one at a time, followed
// by loops over 8-lane YMM vectors, two at a time and then one at a time,
// which in the AVX-512 kernels are the same code as in the AVX2 kernels
// (see vs and group).
// Comparisons and selections use no mask registers: clamps with
// VMINPS/VMAXPS, and selections by the sign of x with VBLENDVPS on YMM
// and with sign masks from VPSRAD on ZMM (which has no VBLENDVPS).
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

type isa struct {
	name  string
	lanes []int // vector widths, widest first
}

var isas = []isa{
	{"AVX2", []int{8}},
	{"AVX512", []int{16, 8}},
}

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	consts()
	for _, is := range isas {
		unary(is, "sigmoid", "sigmoid: dst[i] = sigmoid(src[i]) as in sigmoidGeneric", sigmoidV)
		unary(is, "silu", "SiLU: dst[i] = SiLU(src[i]) as in siluGeneric", siluV)
		backward(is, "sigmoidBackward", "the sigmoid gradient: dx[i] += dy[i]*y[i]*(1-y[i]), y the forward output", sigmoidGradV)
		backward(is, "siluBackward", "the SiLU gradient: dx[i] += dy[i]*SiLU'(x[i]) as in siluBackwardGeneric", siluGradV)
		backwardSet(is, "siluBackwardSet", "the SiLU gradient: dx[i] = dy[i]*SiLU'(x[i]) as in siluBackwardSetGeneric (dx is not read)", siluGradV)
		bnApply(is)
		binaryMap(is, "add", "y[i] = a[i] + b[i]", VADDPS)
		binaryMap(is, "mul", "y[i] = a[i] * b[i]", VMULPS)
	}
	focalNeg(isas[0])
	adam()
	nextAbove()
	Generate()
}

// Constant vectors: 16 copies of each value, so that the same table serves
// YMM (the first 32 bytes) and ZMM operands.
var cmem = map[string]Mem{}

func constant(name string, bits uint32) {
	m := GLOBL("ewc_"+name, RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(bits))
	}
	cmem[name] = m
}

// The values must equal the Go constants of elementwise_generic.go (the
// tests compare every implementation bit for bit).
func consts() {
	f := func(name string, v float32) { constant(name, math.Float32bits(v)) }
	f("log2e", float32(1.44269504088896341))
	f("c1", float32(0.693359375))
	f("c2", float32(-2.12194440e-4))
	f("q0", float32(0.0013814561534672976))
	f("q1", float32(0.008368736132979393))
	f("q2", float32(0.04166838899254799))
	f("q3", float32(0.1666652113199234))
	f("q4", float32(0.4999999403953552))
	f("one", 1)
	f("lo", -88)
	f("round", 12582912)
	f("negmax", -math.MaxFloat32)
	f("posmax", math.MaxFloat32)
	for k := 1; k <= 7; k++ {
		f(fmt.Sprintf("l1p%d", k), float32(1/float64(2*k+1)))
	}
	f("c15", 1.5)
	constant("sign", 1<<31)
	constant("i127", 127)
}

func c(name string) Mem {
	m, ok := cmem[name]
	if !ok {
		panic("no constant " + name)
	}
	return m
}

// bcastParam returns a YMM register holding the float32 argument name in
// every lane.
func bcastParam(name string) reg.VecVirtual {
	a, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	v := YMM()
	VBROADCASTSS(a.Addr, v) // VEX: a legacy-SSE MOVSS here costs a state transition
	return v
}

// vk is a vector kind: 16 lanes (ZMM) or 8 (YMM).
type vk int

func (v vk) new() reg.VecVirtual {
	if v == 16 {
		return ZMM()
	}
	return YMM()
}

// load returns a register holding the constant vector name.
func (v vk) load(name string) reg.VecVirtual {
	r := v.new()
	VMOVUPS(c(name), r)
	return r
}

// vs is a group of vectors that a loop computes in lockstep: each
// operation is emitted for every vector of the group before the next
// operation. A logistic is a chain of some thirty dependent operations;
// one vector at a time, the out-of-order core found too little
// independent work to keep its units busy: SiLU ran at 21 cycles per YMM
// vector on Zen 3, compute-bound at a third of the copy bandwidth. Two
// YMM vectors at a time, on one thread of that machine, SiLU went from
// 8.8–9.4 to 10.9–11.5 GB/s, its gradient from 13.6–14.8 to 15.8–16.3,
// sigmoid from 9.5–10.0 to 11.3–12.3 and BN+SiLU from 7.5–8.9 to
// 9.5–10.2 (BenchmarkElementwise, the same run).
type vs []reg.VecVirtual

// grp is the shape of a group: its vector kind and size.
type grp struct {
	v vk
	n int
}

func (g grp) new() vs {
	r := make(vs, g.n)
	for i := range r {
		r[i] = g.v.new()
	}
	return r
}

// mems is one memory operand per vector of a group.
type mems []Mem

// at returns the operands of the group's vectors at byte offset off (a
// register) from base: consecutive vectors.
func (g grp) at(base, off reg.Register) mems {
	m := make(mems, g.n)
	for i := range m {
		m[i] = Mem{Base: base, Index: off, Scale: 1, Disp: 4 * int(g.v) * i}
	}
	return m
}

// each emits ins once per vector of a group: an argument of type vs or
// mems gives each vector its own operand, any other operand is shared.
func each(ins func(...Op), args ...any) {
	n := 0
	for _, a := range args {
		switch a := a.(type) {
		case vs:
			n = len(a)
		case mems:
			n = len(a)
		}
	}
	for i := 0; i < n; i++ {
		ops := make([]Op, len(args)) // avo keeps the slice
		for j, a := range args {
			switch a := a.(type) {
			case vs:
				ops[j] = a[i]
			case mems:
				ops[j] = a[i]
			case Op:
				ops[j] = a
			default:
				panic(fmt.Sprintf("operand %v", a))
			}
		}
		ins(ops...)
	}
}

// exp is the exponential of logisticParts on every lane of t, which it
// overwrites: the range
// reduction and the polynomial in fused multiply-adds (one rounding each,
// as fma32 in the generic loop), the rest rounded after every operation.
// With the FMAs SiLU ran 9–23 % faster than with a multiply and an add
// each, BN+SiLU 15–29 % (BenchmarkElementwise, one thread, Zen 3): Zen 3
// adds on two pipes and multiplies on two others, and the fused form
// takes 8 of the 12 adds off its busier half.
func (g grp) exp(t vs) vs {
	a := g.new()
	each(VMULPS, c("log2e"), t, a)
	sr := g.new()
	each(VADDPS, c("round"), a, sr) // n in the low mantissa bits
	nf := g.new()
	each(VSUBPS, c("round"), sr, nf)
	r := t // r = t - nf*c1 - nf*c2, in place
	each(VFNMADD231PS, c("c1"), nf, r)
	each(VFNMADD231PS, c("c2"), nf, r)
	z := g.new()
	each(VMULPS, r, r, z)
	// Q(r) in Estrin's scheme, as expPoly; the constant terms loaded just
	// before use, which keeps two registers a vector free.
	p01, pk := g.new(), g.new()
	each(VMOVUPS, c("q2"), p01)
	each(VFMADD231PS, c("q1"), r, p01) // q1*r + q2
	each(VFMADD231PS, c("q0"), z, p01) // q0*z + p01
	each(VMOVUPS, c("q4"), pk)
	each(VFMADD231PS, c("q3"), r, pk) // q3*r + q4
	each(VFMADD213PS, pk, z, p01)     // p01*z + pk = Q(r)
	each(VFMADD213PS, r, z, p01)      // Q*z + r
	each(VADDPS, c("one"), p01, p01)
	each(VPADDD, c("i127"), sr, sr)
	each(VPSLLD, U8(23), sr, sr) // 2^n (0 for n = -127)
	each(VMULPS, sr, p01, p01)
	return p01
}

// regs holds constants kept in registers: the clamp bounds and 1 must be
// register operands (the NaN-propagating operand of VMINPS/VMAXPS and the
// dividend of VDIVPS are the first source in Intel order).
type regs struct {
	lo, negmax, posmax, one reg.VecVirtual
}

func (v vk) regs() regs {
	return regs{lo: v.load("lo"), negmax: v.load("negmax"), posmax: v.load("posmax"), one: v.load("one")}
}

// blendv is VBLENDVPS(mask, b, a, dst) for each: dst = mask < 0 ? b : a,
// by the sign bit of each lane of mask.
func blendv(ops ...Op) { VBLENDVPS(ops[0], ops[1], ops[2], ops[3]) }

// parts is logisticParts: e = e^-|x|, p and q the numerators of sigmoid
// and 1-sigmoid (q only if wantQ).
func (g grp) parts(x vs, k regs, wantQ bool) (e, p, q vs) {
	t := g.new()
	each(VORPS, c("sign"), x, t) // -|x|
	each(VMAXPS, t, k.lo, t)     // lo > t ? lo : t (NaN t passes)
	e = g.exp(t)
	p = g.new()
	if g.v == 8 {
		// VBLENDVPS selects by the sign bit of x: one instruction where
		// the masks take three.
		each(blendv, x, e, k.one, p) // x < 0 ? e : 1
		if !wantQ {
			return e, p, nil
		}
		q = g.new()
		each(blendv, x, k.one, e, q) // x < 0 ? 1 : e
		return e, p, q
	}
	m := g.new()
	each(VPSRAD, U8(31), x, m) // all ones where the sign bit is set
	tmp := g.new()
	each(VANDPS, e, m, p)        // m & e
	each(VANDNPS, k.one, m, tmp) // ^m & 1
	each(VORPS, tmp, p, p)
	if !wantQ {
		return e, p, nil
	}
	q = g.new()
	each(VANDPS, k.one, m, q) // m & 1
	each(VANDNPS, e, m, tmp)  // ^m & e
	each(VORPS, tmp, q, q)
	return e, p, q
}

func sigmoidV(g grp, x vs, k regs) vs {
	e, p, _ := g.parts(x, k, false)
	den := g.new()
	each(VADDPS, k.one, e, den)
	each(VDIVPS, den, p, den) // p / (1+e)
	return den
}

func siluV(g grp, x vs, k regs) vs {
	e, p, _ := g.parts(x, k, false)
	den := g.new()
	each(VADDPS, k.one, e, den)
	xc := g.new()
	each(VMAXPS, x, k.negmax, xc) // negmax > x ? negmax : x (NaN x passes)
	each(VMULPS, p, xc, xc)
	each(VDIVPS, den, xc, xc) // xc*p / (1+e)
	return xc
}

// siluGradV is siluGradf32.
func siluGradV(g grp, x vs, k regs) vs {
	e, p, q := g.parts(x, k, true)
	inv := g.new()
	each(VADDPS, k.one, e, inv)
	each(VDIVPS, inv, k.one, inv) // 1 / (1+e)
	each(VMULPS, inv, p, p)       // s
	each(VMULPS, inv, q, q)       // 1-s
	xc := g.new()
	each(VMAXPS, x, k.negmax, xc)
	each(VMINPS, xc, k.posmax, xc) // posmax < xc ? posmax : xc (NaN passes)
	each(VMULPS, q, xc, xc)
	each(VADDPS, k.one, xc, xc)
	each(VMULPS, xc, p, p) // s * (xc*(1-s) + 1)
	return p
}

// sigmoidGradV is the factor y*(1-y) applied to dy: (dy*y)*(1-y).
func sigmoidGradV(g grp, y vs, k regs, dy mems) vs {
	d := g.new()
	each(VMULPS, dy, y, d)
	h := g.new()
	each(VSUBPS, y, k.one, h) // 1 - y
	each(VMULPS, h, d, d)
	return d
}

// group returns the number of vectors of l lanes that the main loop of a
// kernel computes in lockstep (see vs); a loop over single vectors
// follows it. Two YMM vectors of a logistic fit in the 16 registers VEX
// encodes (three do not); the 32 ZMM registers hold four.
func group(l int) int {
	if l == 16 {
		return 4
	}
	return 2
}

// vecLoops emits, for each vector width of is, a loop over groups of
// whole vectors and then one over the single vectors left: body(g, off)
// handles the vectors from byte offset off (a register) of every slice;
// n (a register) counts the elements left.
//
// With consts, the constants of the logistic kernels (regs) are loaded
// into registers just before each width's loops, so that the ZMM
// constants are dead in the YMM loops and the YMM loops of an AVX-512
// kernel are allocated the same registers below 16 as in the AVX2 kernel;
// without, body gets none.
func vecLoops(name string, is isa, n reg.Register, consts bool, body func(g grp, off reg.GPVirtual, k regs)) {
	off := GP64()
	XORQ(off, off)
	for _, l := range is.lanes {
		var k regs
		if consts {
			k = vk(l).regs()
		}
		for _, u := range []int{group(l), 1} {
			lbl := fmt.Sprintf("%s_v%dx%d", name, l, u)
			Label(lbl)
			CMPQ(n, U8(l*u))
			JL(LabelRef(lbl + "_end"))
			body(grp{vk(l), u}, off, k)
			ADDQ(U32(4*l*u), off)
			SUBQ(U8(l*u), n)
			JMP(LabelRef(lbl))
			Label(lbl + "_end")
		}
	}
}

// unary emits <fn><ISA>(dst, src []float32) over the whole 8-lane vectors
// of dst.
func unary(is isa, fn, what string, f func(g grp, x vs, k regs) vs) {
	name := fn + is.name
	TEXT(name, NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc(name+" computes "+what+" for i < len(dst)&^7.",
		"len(src) >= len(dst) must hold.")
	dst := Load(Param("dst").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	n := Load(Param("dst").Len(), GP64())
	vecLoops(name, is, n, true, func(g grp, off reg.GPVirtual, k regs) {
		x := g.new()
		each(VMOVUPS, g.at(src, off), x)
		each(VMOVUPS, f(g, x, k), g.at(dst, off))
	})
	VZEROUPPER()
	RET()
}

// binaryMap emits <fn><ISA>(y, a, b []float32): y[i] = a[i] op b[i] over
// the whole 8-lane vectors of y, op the instruction ins.
func binaryMap(is isa, fn, what string, ins func(...Op)) {
	name := fn + is.name
	TEXT(name, NOSPLIT, "func(y, a, b []float32)")
	Pragma("noescape")
	Doc(name+" sets "+what+" for i < len(y)&^7.",
		"len(a) and len(b) must be at least len(y).")
	y := Load(Param("y").Base(), GP64())
	a := Load(Param("a").Base(), GP64())
	b := Load(Param("b").Base(), GP64())
	n := Load(Param("y").Len(), GP64())
	vecLoops(name, is, n, false, func(g grp, off reg.GPVirtual, _ regs) {
		x := g.new()
		each(VMOVUPS, g.at(a, off), x)
		each(ins, g.at(b, off), x, x) // a op b
		each(VMOVUPS, x, g.at(y, off))
	})
	VZEROUPPER()
	RET()
}

// backward emits <fn><ISA>(dx, v, dy []float32): dx[i] += dy[i]*f'(v[i])
// over the whole 8-lane vectors of dx, where f computes the product with
// dy (sigmoid) or the derivative (SiLU).
func backward(is isa, fn, what string, f any) { backwardKernel(is, fn, "adds "+what, f, false) }

// backwardSet emits <fn><ISA>(dx, v, dy []float32): backward's kernel
// writing dx[i] = dy[i]*f'(v[i]) instead of adding it.
func backwardSet(is isa, fn, what string, f any) { backwardKernel(is, fn, "writes "+what, f, true) }

func backwardKernel(is isa, fn, what string, f any, set bool) {
	name := fn + is.name
	TEXT(name, NOSPLIT, "func(dx, v, dy []float32)")
	Pragma("noescape")
	Doc(name+" "+what+" for i < len(dx)&^7.",
		"len(v) and len(dy) must be at least len(dx).")
	dx := Load(Param("dx").Base(), GP64())
	vp := Load(Param("v").Base(), GP64())
	dy := Load(Param("dy").Base(), GP64())
	n := Load(Param("dx").Len(), GP64())
	vecLoops(name, is, n, true, func(g grp, off reg.GPVirtual, k regs) {
		x := g.new()
		each(VMOVUPS, g.at(vp, off), x)
		dym := g.at(dy, off)
		var d vs
		switch f := f.(type) {
		case func(grp, vs, regs) vs: // derivative
			d = f(g, x, k)
			each(VMULPS, dym, d, d)
		case func(grp, vs, regs, mems) vs: // product with dy
			d = f(g, x, k, dym)
		}
		dxm := g.at(dx, off)
		if !set {
			each(VADDPS, dxm, d, d) // dx + d
		}
		each(VMOVUPS, d, dxm)
	})
	VZEROUPPER()
	RET()
}

// bnApply emits bnApply<ISA>(y, z, x []float32, m, c int, scale, shift
// []float32, mode int): for rows r < m of c channels and channels
// j < c&^7, a = x[r*c+j]*scale[j] + shift[j] (two roundings) and
// y[r*c+j] = a (mode 0), siluf32(a) (mode 1), or siluf32(a) with a
// saved in z[r*c+j] (mode 2, for SiLU's backward pass).
func bnApply(is isa) {
	name := "bnApply" + is.name
	TEXT(name, NOSPLIT, "func(y, z, x []float32, m, c int, scale, shift []float32, mode int)")
	Pragma("noescape")
	Doc(name+" is the vector part of bnApplyRows: channels j < c&^7 of m rows.",
		"The caller checks the lengths.")
	yp := Load(Param("y").Base(), GP64())
	zp := Load(Param("z").Base(), GP64())
	xp := Load(Param("x").Base(), GP64())
	rows := Load(Param("m"), GP64())
	rowBytes := Load(Param("c"), GP64())
	SHLQ(U8(2), rowBytes)
	sc := Load(Param("scale").Base(), GP64())
	sh := Load(Param("shift").Base(), GP64())
	mode, err := Param("mode").Resolve()
	if err != nil {
		panic(err)
	}
	for md := 0; md < 3; md++ {
		lbl := fmt.Sprintf("%s_mode%d", name, md)
		if md == 0 {
			CMPQ(mode.Addr, U8(1))
			JEQ(LabelRef(name + "_mode1"))
			CMPQ(mode.Addr, U8(2))
			JEQ(LabelRef(name + "_mode2"))
		} else {
			Label(lbl)
		}
		Label(lbl + "_row")
		TESTQ(rows, rows)
		JZ(LabelRef(name + "_done"))
		n := Load(Param("c"), GP64())
		ANDQ(I8(-8), n)
		vecLoops(lbl, is, n, md != 0, func(g grp, off reg.GPVirtual, k regs) {
			a := g.new()
			each(VMOVUPS, g.at(xp, off), a)
			each(VMULPS, g.at(sc, off), a, a)
			each(VADDPS, g.at(sh, off), a, a)
			if md == 2 {
				each(VMOVUPS, a, g.at(zp, off))
			}
			if md > 0 {
				a = siluV(g, a, k)
			}
			each(VMOVUPS, a, g.at(yp, off))
		})
		ADDQ(rowBytes, xp)
		ADDQ(rowBytes, yp)
		if md == 2 {
			ADDQ(rowBytes, zp)
		}
		DECQ(rows)
		JMP(LabelRef(lbl + "_row"))
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// focalNeg emits focalNeg<ISA>(x, d []float32, at, ts, w float32, code int,
// sum *[8]float64): focalNegGeneric over the whole 8-lane vectors of x for
// the gamma codes 0–3 (γ = 0, 1, 1.5, 2; any other code does nothing),
// with focalMath's operations in its order. sum[0:4] and sum[4:8] are
// the lanes of two float64 accumulators, loaded at the start and stored at
// the end. One vector at a time: with the constants in registers, two in
// lockstep do not fit in 16.
func focalNeg(is isa) {
	name := "focalNeg" + is.name
	TEXT(name, NOSPLIT, "func(x, d []float32, at, ts, w float32, code int, sum *[8]float64)")
	Pragma("noescape")
	Doc(name+" is focalNegGeneric for i < len(x)&^7 and gamma codes 0-3.",
		"len(d) >= len(x) must hold.")
	xp := Load(Param("x").Base(), GP64())
	dp := Load(Param("d").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	sp := Load(Param("sum"), GP64())
	code := Load(Param("code"), GP64())
	at, ts, w := bcastParam("at"), bcastParam("ts"), bcastParam("w")
	k := regs{lo: vk(8).load("lo"), one: vk(8).load("one")}
	zero := YMM()
	VXORPS(zero, zero, zero)
	acc0, acc1 := YMM(), YMM()
	VMOVUPD(Mem{Base: sp}, acc0)
	VMOVUPD(Mem{Base: sp, Disp: 32}, acc1)
	off := GP64()
	XORQ(off, off)
	for gc := 0; gc < 4; gc++ {
		CMPQ(code, U8(gc))
		JEQ(LabelRef(fmt.Sprintf("%s_g%d", name, gc)))
	}
	JMP(LabelRef(name + "_done"))
	g := grp{8, 1}
	for gc := 0; gc < 4; gc++ {
		lbl := fmt.Sprintf("%s_g%d", name, gc)
		Label(lbl)
		CMPQ(n, U8(8))
		JL(LabelRef(name + "_done"))
		x := g.new()
		each(VMOVUPS, g.at(xp, off), x)
		e, p, q := g.parts(x, k, true)
		den := g.new()
		each(VADDPS, k.one, e, den)
		inv := g.new()
		each(VDIVPS, den, k.one, inv) // 1 / (1+e)
		each(VMULPS, inv, p, p)       // sigmoid(x)
		each(VMULPS, inv, q, q)       // 1 - sigmoid(x)
		each(VADDPS, k.one, den, den)
		s := g.new()
		each(VDIVPS, den, e, s) // e / (2+e)
		z := g.new()
		each(VMULPS, s, s, z)
		poly := g.new()
		each(VMULPS, c("l1p7"), z, poly)
		each(VADDPS, c("l1p6"), poly, poly)
		for j := 5; j >= 1; j-- {
			each(VMULPS, z, poly, poly)
			each(VADDPS, c(fmt.Sprintf("l1p%d", j)), poly, poly)
		}
		each(VMULPS, z, poly, poly)
		each(VADDPS, k.one, poly, poly)
		each(VADDPS, s, s, s)
		each(VMULPS, s, poly, poly) // log(1+e)
		bce := g.new()
		each(VMAXPS, zero, x, bce) // x > 0 ? x : 0
		each(VMULPS, ts, x, x)
		each(VSUBPS, x, bce, bce) // max(x, 0) - x*ts
		each(VADDPS, poly, bce, bce)
		du := g.new()
		each(VMULPS, q, p, du) // u = p, du = p*q
		var mod, dmod vs
		switch gc {
		case 0:
			mod, dmod = vs{k.one}, vs{zero}
		case 1:
			mod, dmod = p, du
		case 2:
			sq := g.new()
			each(VSQRTPS, p, sq)
			mod = g.new()
			each(VMULPS, sq, p, mod)
			each(VMULPS, c("c15"), sq, sq)
			each(VMULPS, du, sq, sq)
			dmod = sq
		case 3:
			mod = g.new()
			each(VMULPS, p, p, mod)
			dmod = g.new()
			each(VADDPS, p, p, dmod)
			each(VMULPS, du, dmod, dmod)
		}
		loss := g.new()
		each(VMULPS, at, mod, loss)
		each(VMULPS, bce, loss, loss)
		gr := g.new()
		each(VMULPS, bce, dmod, gr) // dmod*bce
		pt := g.new()
		each(VSUBPS, ts, p, pt) // p - ts
		each(VMULPS, mod, pt, pt)
		each(VADDPS, pt, gr, gr)
		each(VMULPS, at, gr, gr)
		each(VMULPS, w, gr, gr)
		each(VMOVUPS, gr, g.at(dp, off))
		t := YMM()
		VCVTPS2PD(loss[0].AsX(), t)
		VADDPD(t, acc0, acc0)
		h := XMM()
		VEXTRACTF128(U8(1), loss[0], h)
		VCVTPS2PD(h, t)
		VADDPD(t, acc1, acc1)
		ADDQ(U8(32), off)
		SUBQ(U8(8), n)
		JMP(LabelRef(lbl))
	}
	Label(name + "_done")
	VMOVUPD(acc0, Mem{Base: sp})
	VMOVUPD(acc1, Mem{Base: sp, Disp: 32})
	VZEROUPPER()
	RET()
}

// adam emits adamAVX2(w, g, m, v []float32, c *[9]float32, mode int): the
// Adam step of adamGeneric (adam.go) without vmax, for i < len(w)&^7, with
// the constants c in the order of Adam's fields (B1, C1, B2, C2, NegStep,
// BC2Sqrt, Eps, L2, Shrink); mode bit 1 applies Shrink to the weights
// (AdamW), bit 2 adds L2 times the weights to the gradient (Adam's weight
// decay). Each mode has its own loop, two vectors at a time, then one.
func adam() {
	name := "adamAVX2"
	TEXT(name, NOSPLIT, "func(w, g, m, v []float32, c *[9]float32, mode int)")
	Pragma("noescape")
	Doc(name+" is adamGeneric without vmax for i < len(w)&^7 (see adam.go):",
		"mode bit 1 is Decoupled, bit 2 a non-zero L2. len(g), len(m) and",
		"len(v) must be at least len(w).")
	wp := Load(Param("w").Base(), GP64())
	gp := Load(Param("g").Base(), GP64())
	mp := Load(Param("m").Base(), GP64())
	vp := Load(Param("v").Base(), GP64())
	cp := Load(Param("c"), GP64())
	// The constants, each broadcast once to a vector on the stack, are
	// memory operands: with two vectors at a time there are not enough
	// registers to hold them.
	consts := AllocLocal(32 * 9)
	for i := 0; i < 9; i++ {
		r := YMM()
		VBROADCASTSS(Mem{Base: cp, Disp: 4 * i}, r)
		VMOVUPS(r, consts.Offset(32*i))
	}
	bc := func(i int) Mem { return consts.Offset(32 * i) }
	mode := Load(Param("mode"), GP64())
	for md := 1; md < 4; md++ {
		CMPQ(mode, U8(md))
		JEQ(LabelRef(fmt.Sprintf("%s_m%d", name, md)))
	}
	for md := 0; md < 4; md++ {
		Label(fmt.Sprintf("%s_m%d", name, md))
		n := Load(Param("w").Len(), GP64())
		vecLoops(fmt.Sprintf("%s_m%d", name, md), isas[0], n, false, func(g grp, off reg.GPVirtual, _ regs) {
			wm, gm, mm, vm := g.at(wp, off), g.at(gp, off), g.at(mp, off), g.at(vp, off)
			w, gi := g.new(), g.new()
			each(VMOVUPS, wm, w)
			each(VMOVUPS, gm, gi)
			if md&1 != 0 { // w *= Shrink
				each(VMULPS, bc(8), w, w)
			}
			if md&2 != 0 { // gi += L2*w
				t := g.new()
				each(VMULPS, bc(7), w, t)
				each(VADDPS, t, gi, gi)
			}
			// m = m*B1 + C1*gi
			m, t := g.new(), g.new()
			each(VMOVUPS, mm, m)
			each(VMULPS, bc(0), m, m)
			each(VMULPS, bc(1), gi, t)
			each(VADDPS, t, m, m)
			each(VMOVUPS, m, mm)
			// v = v*B2 + (C2*gi)*gi
			v := g.new()
			each(VMOVUPS, vm, v)
			each(VMULPS, bc(2), v, v)
			each(VMULPS, bc(3), gi, t)
			each(VMULPS, gi, t, t)
			each(VADDPS, t, v, v)
			each(VMOVUPS, v, vm)
			// w += (NegStep*m) / (sqrt(v)/BC2Sqrt + Eps)
			each(VSQRTPS, v, v)
			each(VDIVPS, bc(5), v, v)
			each(VADDPS, bc(6), v, v)
			each(VMULPS, bc(4), m, m)
			each(VDIVPS, v, m, m)
			each(VADDPS, m, w, w)
			each(VMOVUPS, w, wm)
		})
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// nextAbove emits nextAboveAVX2(x []float32, t float32, orEqual bool) int:
// nextAboveGeneric (search.go) for len(x) a multiple of 8. Blocks of four
// vectors are compared with t and their masks ORed, so that a block with
// no candidate costs one test; a block with one is searched vector by
// vector (BSF on the first non-zero mask). The comparisons are ordered
// and quiet (false for NaN, no exception): t < x, or t <= x with orEqual.
func nextAbove() {
	name := "nextAboveAVX2"
	TEXT(name, NOSPLIT, "func(x []float32, t float32, orEqual bool) int")
	Pragma("noescape")
	Doc(name + " is nextAboveGeneric for len(x) a multiple of 8 (see search.go).")
	xp := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	tv := bcastParam("t")
	oe := Load(Param("orEqual"), GP8())
	i := GP64() // elements before the current block
	XORQ(i, i)
	TESTB(oe, oe)
	JNZ(LabelRef(name + "_le"))
	for _, p := range []struct {
		lbl  string
		pred uint8
	}{{"_lt", 0x11}, {"_le", 0x12}} { // LT_OQ, LE_OQ: t < x, t <= x
		lbl := name + p.lbl
		Label(lbl)
		Label(lbl + "_x4")
		left := GP64()
		MOVQ(n, left)
		SUBQ(i, left)
		CMPQ(left, U8(32))
		JL(LabelRef(lbl + "_x1"))
		m := make([]reg.VecVirtual, 4)
		for k := range m {
			m[k] = YMM()
			VCMPPS(U8(p.pred), Mem{Base: xp, Index: i, Scale: 4, Disp: 32 * k}, tv, m[k])
		}
		any01, any23 := YMM(), YMM()
		VORPS(m[1], m[0], any01)
		VORPS(m[3], m[2], any23)
		VORPS(any23, any01, any01)
		bits := GP32()
		VMOVMSKPS(any01, bits)
		TESTL(bits, bits)
		JNZ(LabelRef(lbl + "_in4"))
		ADDQ(U8(32), i)
		JMP(LabelRef(lbl + "_x4"))
		Label(lbl + "_in4")
		for k := range m {
			VMOVMSKPS(m[k], bits)
			TESTL(bits, bits)
			JNZ(LabelRef(lbl + "_found"))
			ADDQ(U8(8), i)
		}
		Label(lbl + "_x1")
		CMPQ(i, n)
		JAE(LabelRef(name + "_none"))
		v := YMM()
		VCMPPS(U8(p.pred), Mem{Base: xp, Index: i, Scale: 4}, tv, v)
		VMOVMSKPS(v, bits)
		TESTL(bits, bits)
		JNZ(LabelRef(lbl + "_found"))
		ADDQ(U8(8), i)
		JMP(LabelRef(lbl + "_x1"))
		Label(lbl + "_found") // bits: the mask of the vector at i
		BSFL(bits, bits)
		lane := GP64()
		MOVL(bits, lane.As32()) // zero-extends
		ADDQ(lane, i)
		JMP(LabelRef(name + "_none"))
	}
	Label(name + "_none")
	Store(i, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
