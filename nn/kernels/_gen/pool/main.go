// Command pool generates pool_amd64.s: the max-pooling run kernels for
// AVX2, without and with the argmax (which the AVX-512 implementation uses
// too: pooling is a few comparisons per loaded value, and YMM code runs on
// every AVX-512 machine).
//
//	go run ./pool -out ../pool_amd64.s -stubs ../pool_stubs_amd64.go -pkg kernels
//
// maxPoolRunAVX2 is maxPoolRunGo in pool_generic.go on the whole 8-lane
// vectors of each pixel's channels, with the same result bits: per window
// element v, in the order of offs, the running maximum m becomes v if v is
// NaN or v > m, and stays m otherwise (so NaN propagates, the last NaN's
// payload wins, and of +0 and -0 the first seen stays). In vector form:
// VMAXPS with v as the first source gives v > m ? v : m, and VBLENDVPS
// then puts v back in the lanes where VCMPPS finds v unordered.
// maxPoolArgRunAVX2 (see argRun) also keeps each maximum's index.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// ninf is a vector of -Inf.
var ninf Mem

// group is the number of YMM vectors of channels whose maxima run in
// lockstep: each is a chain of dependent max/blend pairs over the window.
const group = 4

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	ninf = GLOBL("pool_ninf", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(0xff800000))
	}

	TEXT("maxPoolRunAVX2", NOSPLIT, "func(y, x []float32, offs [25]int, k, n, c, xpix int)")
	Pragma("noescape")
	Doc("maxPoolRunAVX2 is maxPoolRunGo without am on channels j < c&^7 (see pool_generic.go).",
		"The window's k <= 25 element offsets are offs[:k].",
		"The caller checks that every element it reads or writes is in bounds.")
	yp := Load(Param("y").Base(), GP64())
	xb := Load(Param("x").Base(), GP64())
	op := offsAddr()
	nk := Load(Param("k"), GP64())
	n := Load(Param("n"), GP64())
	xpix := Load(Param("xpix"), GP64())
	SHLQ(U8(2), xpix)
	cb := Load(Param("c"), GP64())
	ANDQ(I8(-8), cb)
	SHLQ(U8(2), cb) // bytes of whole vectors per pixel
	TESTQ(nk, nk)
	JZ(LabelRef("done"))
	inf := YMM()
	VMOVUPS(ninf, inf)

	Label("pixel")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	co := GP64() // channel byte offset
	XORQ(co, co)
	channelSteps("", group, cb, co, 32, func(g int, lbl string) {
		acc := make([]reg.VecVirtual, g)
		for q := range acc {
			acc[q] = YMM()
			VMOVAPS(inf, acc[q])
		}
		k := GP64()
		XORQ(k, k)
		Label(lbl + "_window")
		p := GP64()
		MOVQ(Mem{Base: op, Index: k, Scale: 8}, p)
		SHLQ(U8(2), p)
		ADDQ(xb, p)
		ADDQ(co, p)
		v := make([]reg.VecVirtual, g)
		for q := range v {
			v[q] = YMM()
			VMOVUPS(Mem{Base: p, Disp: 32 * q}, v[q])
		}
		r := make([]reg.VecVirtual, g)
		for q := range r {
			r[q] = YMM()
			VMAXPS(acc[q], v[q], r[q]) // v > m ? v : m
		}
		m := make([]reg.VecVirtual, g)
		for q := range m {
			m[q] = YMM()
			VCMPPS(U8(3), v[q], v[q], m[q]) // v unordered: NaN
		}
		for q := range acc {
			VBLENDVPS(m[q], v[q], r[q], acc[q]) // NaN v ? v : r
		}
		INCQ(k)
		CMPQ(k, nk)
		JL(LabelRef(lbl + "_window"))
		for q := range acc {
			VMOVUPS(acc[q], Mem{Base: yp, Index: co, Scale: 1, Disp: 32 * q})
		}
	})
	ADDQ(xpix, xb)
	t := Load(Param("c"), GP64())
	SHLQ(U8(2), t)
	ADDQ(t, yp)
	DECQ(n)
	JMP(LabelRef("pixel"))

	Label("done")
	VZEROUPPER()
	RET()

	argRun()
	Generate()
}

// offsAddr returns a register holding the address of the window offsets
// (the offs argument) in the argument frame.
func offsAddr() reg.GPVirtual {
	b, err := Param("offs").Index(0).Resolve()
	if err != nil {
		panic(err)
	}
	op := GP64()
	LEAQ(b.Addr, op)
	return op
}

// channelSteps emits a pixel's loops over its channel vectors, first in
// steps of group vectors, then of one, each while enough remain: co (unit
// per vector, cb in all) advances after body(g, lbl) has emitted a step of
// g vectors, its labels prefixed with lbl.
func channelSteps(prefix string, group int, cb, co reg.Register, unit int, body func(g int, lbl string)) {
	for _, g := range []int{group, 1} {
		lbl := prefix + map[int]string{group: "groups", 1: "singles"}[g]
		Label(lbl)
		rest := GP64()
		MOVQ(cb, rest)
		SUBQ(co, rest)
		CMPQ(rest, U32(unit*g))
		JL(LabelRef(lbl + "_end"))
		body(g, lbl)
		ADDQ(U32(unit*g), co)
		JMP(LabelRef(lbl))
		Label(lbl + "_end")
	}
}

// argGroup is group for the argmax kernel, which holds an index vector
// beside each maximum.
const argGroup = 2

// argRun emits maxPoolArgRunAVX2(y []float32, am []int32, x []float32,
// offs [25]int, k, n, c, xpix int): maxPoolRunGo with am on the whole 8-lane
// vectors of each pixel's channels. Per window element v, in the order of
// offs, a lane takes v and v's index into x where v > m (VCMPPS less-than
// with m first) or v is NaN (unordered), both through VBLENDVPS with that
// mask; the indices start at the window's first element, as in the
// generic loop.
func argRun() {
	iota := GLOBL("pool_iota", RODATA|NOPTR)
	for i := 0; i < 8*argGroup; i++ {
		DATA(4*i, U32(uint32(i)))
	}
	TEXT("maxPoolArgRunAVX2", NOSPLIT, "func(y []float32, am []int32, x []float32, offs [25]int, k, n, c, xpix int)")
	Pragma("noescape")
	Doc("maxPoolArgRunAVX2 is maxPoolRunGo with am on channels j < c&^7 (see pool_generic.go).",
		"The window's k <= 25 element offsets are offs[:k].",
		"The caller checks that every element it reads or writes is in bounds.")
	yp := Load(Param("y").Base(), GP64())
	ap := Load(Param("am").Base(), GP64())
	xb := Load(Param("x").Base(), GP64())
	op := offsAddr()
	nk := Load(Param("k"), GP64())
	n := Load(Param("n"), GP64())
	pe := GP64() // the pixel's element offset in x: i*xpix
	XORQ(pe, pe)
	cb := Load(Param("c"), GP64())
	ANDQ(I8(-8), cb) // elements of whole vectors per pixel
	TESTQ(nk, nk)
	JZ(LabelRef("arg_done"))

	Label("arg_pixel")
	TESTQ(n, n)
	JZ(LabelRef("arg_done"))
	ce := GP64() // channel element offset
	XORQ(ce, ce)
	channelSteps("arg_", argGroup, cb, ce, 8, func(g int, lbl string) {
		// idx(t) = offs[t] + pe + ce + 8q + lane
		bidx := func(t reg.Register) reg.VecVirtual {
			s := GP64()
			MOVQ(Mem{Base: op, Index: t, Scale: 8}, s)
			ADDQ(pe, s)
			ADDQ(ce, s)
			xs := XMM()
			VMOVD(s.As32(), xs)
			b := YMM()
			VPBROADCASTD(xs, b)
			return b
		}
		m := make([]reg.VecVirtual, g)
		am := make([]reg.VecVirtual, g)
		zero := GP64()
		XORQ(zero, zero)
		b0 := bidx(zero)
		for q := range m {
			m[q] = YMM()
			VMOVUPS(ninf, m[q])
			am[q] = YMM()
			VPADDD(iota.Offset(32*q), b0, am[q])
		}
		k := GP64()
		XORQ(k, k)
		Label(lbl + "_window")
		p := GP64()
		MOVQ(Mem{Base: op, Index: k, Scale: 8}, p)
		ADDQ(pe, p)
		ADDQ(ce, p)
		SHLQ(U8(2), p)
		ADDQ(xb, p)
		b := bidx(k)
		for q := range m {
			v := YMM()
			VMOVUPS(Mem{Base: p, Disp: 32 * q}, v)
			mask := YMM()
			VCMPPS(U8(1), v, m[q], mask) // m < v
			u := YMM()
			VCMPPS(U8(3), v, v, u) // v unordered: NaN
			VORPS(u, mask, mask)
			VBLENDVPS(mask, v, m[q], m[q])
			idx := YMM()
			VPADDD(iota.Offset(32*q), b, idx)
			VBLENDVPS(mask, idx, am[q], am[q])
		}
		INCQ(k)
		CMPQ(k, nk)
		JL(LabelRef(lbl + "_window"))
		for q := range m {
			VMOVUPS(m[q], Mem{Base: yp, Index: ce, Scale: 4, Disp: 32 * q})
			VMOVDQU(am[q], Mem{Base: ap, Index: ce, Scale: 4, Disp: 32 * q})
		}
	})
	xpix := Load(Param("xpix"), GP64())
	ADDQ(xpix, pe)
	t := Load(Param("c"), GP64())
	SHLQ(U8(2), t)
	ADDQ(t, yp)
	ADDQ(t, ap)
	DECQ(n)
	JMP(LabelRef("arg_pixel"))

	Label("arg_done")
	VZEROUPPER()
	RET()
}
