// Command peak generates peak_amd64.s: a loop of independent FMAs that
// runs the vector units at their peak, to measure the FLOP rate a core
// delivers (the clock under load times the FMA throughput).
//
//	go run ./peak -out ../peak_amd64.s -stubs ../peak_stubs_amd64.go -pkg kernels
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// chains is the number of independent accumulators: at least FMA latency
// (4 cycles) × FMA units (2) so that every unit starts an FMA each cycle.
const chains = 12

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	peak("fmaPeakAVX2", func() reg.VecVirtual { return YMM() })
	peak("fmaPeakAVX512", func() reg.VecVirtual { return ZMM() })
	Generate()
}

// peak emits a function that runs n iterations of chains independent
// acc = acc·x + y FMAs (on registers only, no memory traffic) and stores
// the sum of the accumulators' first lanes in out[0], so the work cannot
// be skipped.
func peak(name string, vec func() reg.VecVirtual) {
	TEXT(name, NOSPLIT, "func(n int, out []float32)")
	Pragma("noescape")
	Doc(name+" runs n iterations of 12 independent vector FMAs and", "stores a sum of the accumulators in out[0] (len(out) ≥ 1).")
	n := Load(Param("n"), GP64())
	op := Load(Param("out").Base(), GP64())
	x, y := vec(), vec()
	VXORPS(x, x, x)
	VXORPS(y, y, y)
	var acc [chains]reg.VecVirtual
	for i := range acc {
		acc[i] = vec()
		VXORPS(acc[i], acc[i], acc[i])
	}
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	for i := range acc {
		VFMADD213PS(y, x, acc[i])
	}
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	for i := 1; i < chains; i++ {
		VADDPS(acc[i], acc[0], acc[0])
	}
	VMOVSS(acc[0].AsX(), Mem{Base: op})
	VZEROUPPER()
	RET()
}
