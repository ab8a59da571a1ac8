// Command elementwise generates elementwise_amd64.s: the logistic
// activations (sigmoid, SiLU and their gradients) and the batch-norm affine
// transform with an optional fused SiLU, for AVX2 and AVX-512.
//
//	go run ./elementwise -out ../elementwise_amd64.s -stubs ../elementwise_stubs_amd64.go -pkg kernels
//
// Each kernel runs exactly the float32 operations of its generic twin in
// elementwise_generic.go (logisticParts, sigmoidRun, siluRun, siluGradRun)
// and channel_generic.go (bnApplyRowsGeneric), in the same order, each
// rounded (no FMA), so every implementation gives the same bits. The kernels handle whole 8-lane vectors only; the Go
// callers run the generic loop on the remaining elements.
//
// One template serves both instruction sets: a loop over 16-lane ZMM
// vectors (AVX-512 only) followed by a loop over 8-lane YMM vectors, which
// in the AVX-512 kernels is the same code as in the AVX2 kernels.
// Comparisons and selections use no masks (clamps with VMINPS/VMAXPS, sign
// masks from VPSRAD), so the ZMM code is the YMM code with wider registers.
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
	}
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
	f("p0", float32(1.9875691500e-4))
	f("p1", float32(1.3981999507e-3))
	f("p2", float32(8.3334519073e-3))
	f("p3", float32(4.1665795894e-2))
	f("p4", float32(1.6666665459e-1))
	f("p5", float32(5.0000001201e-1))
	f("one", 1)
	f("lo", -88)
	f("round", 12582912)
	f("negmax", -math.MaxFloat32)
	f("posmax", math.MaxFloat32)
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

// exp is the exponential of logisticParts on every lane of t.
func (v vk) exp(t reg.VecVirtual) reg.VecVirtual {
	a := v.new()
	VMULPS(c("log2e"), t, a)
	sr := v.new()
	VADDPS(c("round"), a, sr) // n in the low mantissa bits
	nf := v.new()
	VSUBPS(c("round"), sr, nf)
	u := v.new()
	VMULPS(c("c1"), nf, u)
	r := v.new()
	VSUBPS(u, t, r) // r = t - nf*c1
	VMULPS(c("c2"), nf, u)
	VSUBPS(u, r, r) // r -= nf*c2
	z := v.new()
	VMULPS(r, r, z)
	p01, p23, p45 := v.new(), v.new(), v.new()
	VMULPS(c("p0"), r, p01)
	VADDPS(c("p1"), p01, p01)
	VMULPS(c("p2"), r, p23)
	VADDPS(c("p3"), p23, p23)
	VMULPS(c("p4"), r, p45)
	VADDPS(c("p5"), p45, p45)
	VMULPS(z, p01, p01)
	VADDPS(p23, p01, p01)
	VMULPS(z, p01, p01)
	VADDPS(p45, p01, p01)
	VMULPS(z, p01, p01)
	VADDPS(r, p01, p01)
	VADDPS(c("one"), p01, p01)
	VPADDD(c("i127"), sr, sr)
	VPSLLD(U8(23), sr, sr) // 2^n (0 for n = -127)
	VMULPS(sr, p01, p01)
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

// parts is logisticParts: e = e^-|x|, p and q the numerators of sigmoid
// and 1-sigmoid (q only if wantQ).
func (v vk) parts(x reg.VecVirtual, k regs, wantQ bool) (e, p, q reg.VecVirtual) {
	t := v.new()
	VORPS(c("sign"), x, t) // -|x|
	VMAXPS(t, k.lo, t)     // lo > t ? lo : t (NaN t passes)
	e = v.exp(t)
	m := v.new()
	VPSRAD(U8(31), x, m) // all ones where the sign bit is set
	tmp := v.new()
	p = v.new()
	VANDPS(e, m, p)        // m & e
	VANDNPS(k.one, m, tmp) // ^m & 1
	VORPS(tmp, p, p)
	if !wantQ {
		return e, p, nil
	}
	q = v.new()
	VANDPS(k.one, m, q) // m & 1
	VANDNPS(e, m, tmp)  // ^m & e
	VORPS(tmp, q, q)
	return e, p, q
}

func sigmoidV(v vk, x reg.VecVirtual, k regs) reg.VecVirtual {
	e, p, _ := v.parts(x, k, false)
	den := v.new()
	VADDPS(k.one, e, den)
	VDIVPS(den, p, den) // p / (1+e)
	return den
}

func siluV(v vk, x reg.VecVirtual, k regs) reg.VecVirtual {
	e, p, _ := v.parts(x, k, false)
	den := v.new()
	VADDPS(k.one, e, den)
	xc := v.new()
	VMAXPS(x, k.negmax, xc) // negmax > x ? negmax : x (NaN x passes)
	VMULPS(p, xc, xc)
	VDIVPS(den, xc, xc) // xc*p / (1+e)
	return xc
}

// siluGradV is siluGradf32.
func siluGradV(v vk, x reg.VecVirtual, k regs) reg.VecVirtual {
	e, p, q := v.parts(x, k, true)
	inv := v.new()
	VADDPS(k.one, e, inv)
	VDIVPS(inv, k.one, inv) // 1 / (1+e)
	VMULPS(inv, p, p)       // s
	VMULPS(inv, q, q)       // 1-s
	xc := v.new()
	VMAXPS(x, k.negmax, xc)
	VMINPS(xc, k.posmax, xc) // posmax < xc ? posmax : xc (NaN passes)
	VMULPS(q, xc, xc)
	VADDPS(k.one, xc, xc)
	VMULPS(xc, p, p) // s * (xc*(1-s) + 1)
	return p
}

// sigmoidGradV is the factor y*(1-y) applied to dy: (dy*y)*(1-y).
func sigmoidGradV(v vk, y reg.VecVirtual, k regs, dy Mem) reg.VecVirtual {
	g := v.new()
	VMULPS(dy, y, g)
	h := v.new()
	VSUBPS(y, k.one, h) // 1 - y
	VMULPS(h, g, g)
	return g
}

// vecLoops emits, for each vector width of is, a loop over the remaining
// whole vectors: body(v, off) handles the vector at byte offset off (a
// register) of every slice; n (a register) counts the elements left.
//
// The constants a width needs are loaded into registers just before its
// loop, so that the ZMM constants are dead in the YMM loop and the YMM loop
// of an AVX-512 kernel is allocated the same registers below 16 as in the
// AVX2 kernel.
func vecLoops(name string, is isa, n reg.Register, body func(v vk, off reg.GPVirtual, k regs)) {
	off := GP64()
	XORQ(off, off)
	for _, l := range is.lanes {
		lbl := fmt.Sprintf("%s_v%d", name, l)
		k := vk(l).regs()
		Label(lbl)
		CMPQ(n, U8(l))
		JL(LabelRef(lbl + "_end"))
		body(vk(l), off, k)
		ADDQ(U32(4*l), off)
		SUBQ(U8(l), n)
		JMP(LabelRef(lbl))
		Label(lbl + "_end")
	}
}

// unary emits <fn><ISA>(dst, src []float32) over the whole 8-lane vectors
// of dst.
func unary(is isa, fn, what string, f func(v vk, x reg.VecVirtual, k regs) reg.VecVirtual) {
	name := fn + is.name
	TEXT(name, NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc(name+" computes "+what+" for i < len(dst)&^7.",
		"len(src) >= len(dst) must hold.")
	dst := Load(Param("dst").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	n := Load(Param("dst").Len(), GP64())
	vecLoops(name, is, n, func(v vk, off reg.GPVirtual, k regs) {
		x := v.new()
		VMOVUPS(Mem{Base: src, Index: off, Scale: 1}, x)
		y := f(v, x, k)
		VMOVUPS(y, Mem{Base: dst, Index: off, Scale: 1})
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
	vecLoops(name, is, n, func(v vk, off reg.GPVirtual, k regs) {
		x := v.new()
		VMOVUPS(Mem{Base: vp, Index: off, Scale: 1}, x)
		dym := Mem{Base: dy, Index: off, Scale: 1}
		var g reg.VecVirtual
		switch f := f.(type) {
		case func(vk, reg.VecVirtual, regs) reg.VecVirtual: // derivative
			g = f(v, x, k)
			VMULPS(dym, g, g)
		case func(vk, reg.VecVirtual, regs, Mem) reg.VecVirtual: // product with dy
			g = f(v, x, k, dym)
		}
		dxm := Mem{Base: dx, Index: off, Scale: 1}
		if !set {
			VADDPS(dxm, g, g) // dx + g
		}
		VMOVUPS(g, dxm)
	})
	VZEROUPPER()
	RET()
}

// bnApply emits bnApply<ISA>(y, x []float32, m, c int, scale, shift
// []float32, silu int): for rows r < m of c channels and channels
// j < c&^7, z = x[r*c+j]*scale[j] + shift[j] (two roundings) and
// y[r*c+j] = z, or siluf32(z) if silu != 0.
func bnApply(is isa) {
	name := "bnApply" + is.name
	TEXT(name, NOSPLIT, "func(y, x []float32, m, c int, scale, shift []float32, silu int)")
	Pragma("noescape")
	Doc(name+" is the vector part of bnApplyRows: channels j < c&^7 of m rows.",
		"The caller checks the lengths.")
	yp := Load(Param("y").Base(), GP64())
	xp := Load(Param("x").Base(), GP64())
	rows := Load(Param("m"), GP64())
	rowBytes := Load(Param("c"), GP64())
	SHLQ(U8(2), rowBytes)
	sc := Load(Param("scale").Base(), GP64())
	sh := Load(Param("shift").Base(), GP64())
	for _, act := range []bool{false, true} {
		lbl := fmt.Sprintf("%s_silu%v", name, act)
		if !act {
			flag, err := Param("silu").Resolve()
			if err != nil {
				panic(err)
			}
			CMPQ(flag.Addr, U8(0))
			JNE(LabelRef(fmt.Sprintf("%s_silu%v", name, true)))
		} else {
			Label(lbl)
		}
		Label(lbl + "_row")
		TESTQ(rows, rows)
		JZ(LabelRef(name + "_done"))
		n := Load(Param("c"), GP64())
		ANDQ(I8(-8), n)
		vecLoops(lbl, is, n, func(v vk, off reg.GPVirtual, k regs) {
			z := v.new()
			VMOVUPS(Mem{Base: xp, Index: off, Scale: 1}, z)
			VMULPS(Mem{Base: sc, Index: off, Scale: 1}, z, z)
			VADDPS(Mem{Base: sh, Index: off, Scale: 1}, z, z)
			if act {
				z = siluV(v, z, k)
			}
			VMOVUPS(z, Mem{Base: yp, Index: off, Scale: 1})
		})
		ADDQ(rowBytes, xp)
		ADDQ(rowBytes, yp)
		DECQ(rows)
		JMP(LabelRef(lbl + "_row"))
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
