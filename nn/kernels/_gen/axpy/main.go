// Command axpy generates axpy_amd64.s: y += a·x for AVX2 and AVX-512.
//
//	go run ./axpy -out ../axpy_amd64.s -stubs ../axpy_stubs_amd64.go -pkg kernels
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	axpy("axpyAVX2", 8, reg.Y0, func() reg.VecVirtual { return YMM() })
	axpy("axpyAVX512", 16, reg.Z0, func() reg.VecVirtual { return ZMM() })
	Generate()
}

// axpy emits y[i] += a*x[i] for i < len(y) (len(x) >= len(y) is checked by
// the Go caller), unrolled 4 vectors deep, with a scalar tail.
func axpy(name string, lanes int, _ reg.VecPhysical, vec func() reg.VecVirtual) {
	TEXT(name, NOSPLIT, "func(a float32, x, y []float32)")
	Pragma("noescape")
	Doc(name+" computes y[i] += a*x[i] for i < len(y).", "len(x) >= len(y) must hold.")
	xp := Load(Param("x").Base(), GP64())
	yp := Load(Param("y").Base(), GP64())
	n := Load(Param("y").Len(), GP64())
	av := vec()
	VBROADCASTSS(NewParamAddr("a", 0), av)

	const unroll = 4
	block := lanes * unroll
	Label(name + "_block")
	CMPQ(n, U32(block))
	JL(LabelRef(name + "_vec"))
	var acc [unroll]reg.VecVirtual
	for u := range acc {
		acc[u] = vec()
		VMOVUPS(Mem{Base: yp, Disp: 4 * lanes * u}, acc[u])
	}
	for u := range acc {
		VFMADD231PS(Mem{Base: xp, Disp: 4 * lanes * u}, av, acc[u])
	}
	for u := range acc {
		VMOVUPS(acc[u], Mem{Base: yp, Disp: 4 * lanes * u})
	}
	ADDQ(U32(4*block), xp)
	ADDQ(U32(4*block), yp)
	SUBQ(U32(block), n)
	JMP(LabelRef(name + "_block"))

	Label(name + "_vec")
	CMPQ(n, U32(lanes))
	JL(LabelRef(name + "_tail"))
	v := vec()
	VMOVUPS(Mem{Base: yp}, v)
	VFMADD231PS(Mem{Base: xp}, av, v)
	VMOVUPS(v, Mem{Base: yp})
	ADDQ(U32(4*lanes), xp)
	ADDQ(U32(4*lanes), yp)
	SUBQ(U32(lanes), n)
	JMP(LabelRef(name + "_vec"))

	Label(name + "_tail")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	s := XMM()
	VMOVSS(Mem{Base: yp}, s)
	VFMADD231SS(Mem{Base: xp}, av.AsX(), s)
	VMOVSS(s, Mem{Base: yp})
	ADDQ(U32(4), xp)
	ADDQ(U32(4), yp)
	DECQ(n)
	JMP(LabelRef(name + "_tail"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
