// Command dwconv generates conv_depthwise_amd64.s: the row kernels of the
// SIMD depthwise convolution for AVX2 and AVX-512.
//
//	go run ./dwconv -out ../conv_depthwise_amd64.s -stubs ../conv_depthwise_stubs_amd64.go -pkg kernels
//
// Two kernels per instruction set, both vectorised over channels (NHWC
// keeps them contiguous) and both with a compile-time number of taps per
// window row (1 to maxTaps; the Go caller splits longer rows):
//
//   - dwRow<ISA>: a run of output pixels, each the sum over the given
//     window rows and taps (forward and input gradient);
//   - dwWgt<ISA>: the weight gradient of a run of output pixels for the
//     given window rows and taps.
//
// The semantics are those of dwRowGo and dwWgtGo in conv_depthwise.go.
//
// One template serves both instruction sets: the channel loop steps through
// lane widths widest first — AVX2 {8, 1}, AVX-512 {16, 8, 1} — so that the
// 8-lane and the scalar (1-lane) steps of the AVX-512 kernels are the same
// code as the AVX2 kernels' (VEX-encoded, registers below 16), and the
// 16-lane step differs only in the register width and the tile sizes.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

const (
	maxRows = 8 // window rows per call: offs holds 2*maxRows offsets
	maxTaps = 5 // taps per window row per call
	// maxGroup bounds the window rows whose weight-gradient accumulators
	// are held in registers at once (one base pointer each).
	maxGroup = 6
)

type isa struct {
	name   string
	widths []int // channel step widths in lanes, widest first
	vregs  int   // vector registers
	// pix are the pixel-block sizes of dwRow, largest first (each in
	// {1, 2, 4, 8}: a block advances with one scaled-index LEAQ).
	pix []int
}

var isas = []isa{
	{"AVX2", []int{8, 1}, 16, []int{8, 4, 1}},
	{"AVX512", []int{16, 8, 1}, 32, []int{8, 4, 1}},
}

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	for _, is := range isas {
		row(is)
	}
	for _, is := range isas {
		wgt(is)
	}
	Generate()
}

// lanes is the width of one channel step: 16 (ZMM), 8 (YMM) or 1 (scalar
// in an XMM register).
type lanes int

func (l lanes) vec() reg.VecVirtual {
	switch l {
	case 16:
		return ZMM()
	case 8:
		return YMM()
	}
	return XMM()
}

func (l lanes) load(m Mem, v reg.VecVirtual) {
	if l == 1 {
		VMOVSS(m, v)
	} else {
		VMOVUPS(m, v)
	}
}

func (l lanes) store(v reg.VecVirtual, m Mem) {
	if l == 1 {
		VMOVSS(v, m)
	} else {
		VMOVUPS(v, m)
	}
}

// fma computes acc += m*w.
func (l lanes) fma(m Mem, w, acc reg.VecVirtual) {
	if l == 1 {
		VFMADD231SS(m, w, acc)
	} else {
		VFMADD231PS(m, w, acc)
	}
}

// addTo computes v += m.
func (l lanes) addTo(m Mem, v reg.VecVirtual) {
	if l == 1 {
		VADDSS(m, v, v)
	} else {
		VADDPS(m, v, v)
	}
}

// zero clears v with the zeroing idiom avo recognises (no input
// dependency); the ZMM form needs AVX512DQ.
func (l lanes) zero(v reg.VecVirtual) { VXORPS(v, v, v) }

func param(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func sliceBase(name string) Mem {
	b, err := Param(name).Base().Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func offsParam(i int) Mem {
	b, err := Param("offs").Index(i).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// toBytes converts the element offsets and steps in the argument frame to
// byte offsets, in place.
func toBytes(steps ...string) {
	for i := 0; i < 2*maxRows; i++ {
		SHLQ(U8(2), offsParam(i))
	}
	for _, s := range steps {
		SHLQ(U8(2), param(s))
	}
}

// dispatch jumps to label prefix+"_t<taps>" for taps in 1..maxTaps and to
// prefix+"_done" otherwise.
func dispatch(prefix string) {
	t := GP64()
	MOVQ(param("taps"), t)
	for taps := 1; taps <= maxTaps; taps++ {
		CMPQ(t, U8(taps))
		JEQ(LabelRef(fmt.Sprintf("%s_t%d", prefix, taps)))
	}
	JMP(LabelRef(prefix + "_done"))
}

// pixAddr addresses pixel p of a block: base + p*step, with i1 = step,
// i3 = 3*step and b5 = base + 5*step (only for p >= 5).
func pixAddr(p int, base, b5, i1, i3 reg.Register) Mem {
	switch p {
	case 0:
		return Mem{Base: base}
	case 1:
		return Mem{Base: base, Index: i1, Scale: 1}
	case 2:
		return Mem{Base: base, Index: i1, Scale: 2}
	case 3:
		return Mem{Base: base, Index: i3, Scale: 1}
	case 4:
		return Mem{Base: base, Index: i1, Scale: 4}
	case 5:
		return Mem{Base: b5}
	case 6:
		return Mem{Base: base, Index: i3, Scale: 2}
	case 7:
		return Mem{Base: b5, Index: i1, Scale: 2}
	}
	panic("pixel block larger than 8")
}

// row emits dwRow<ISA>(taps, x, w, y, offs, rows, n, c, xpix, xtap, wtap,
// ypix, acc): see dwRowGo. Pixel blocks of is.pix pixels (outer loop), the
// channels in steps of is.widths lanes (inner loop); per step one register
// accumulator per pixel, the window rows in a run-time loop and the taps
// unrolled, each tap's weights loaded once for the whole block.
func row(is isa) {
	name := "dwRow" + is.name
	TEXT(name, NOSPLIT, "func(taps int, x, w, y []float32, offs [16]int, rows, n, c, xpix, xtap, wtap, ypix, acc int)")
	Pragma("noescape")
	Doc(name+" is dwRowGo in "+is.name+" (see conv_depthwise.go).",
		"The caller guarantees every element it reads or writes is in bounds.")
	done := name + "_done"
	n := GP64()
	MOVQ(param("n"), n)
	TESTQ(n, n)
	JZ(LabelRef(done))
	toBytes("xpix", "xtap", "wtap", "ypix")
	xp := GP64() // x at the current pixel block
	Load(Param("x").Base(), xp)
	wb := GP64()
	Load(Param("w").Base(), wb)
	yp := GP64() // y at the current pixel block
	Load(Param("y").Base(), yp)
	offp := GP64()
	LEAQ(offsParam(0), offp)
	i1 := GP64() // x step per pixel
	MOVQ(param("xpix"), i1)
	i3 := GP64()
	LEAQ(Mem{Base: i1, Index: i1, Scale: 2}, i3)
	dispatch(name)

	nrem := AllocLocal(8) // pixels left
	for taps := 1; taps <= maxTaps; taps++ {
		sect := fmt.Sprintf("%s_t%d", name, taps)
		Label(sect)
		co := GP64() // channel byte offset
		XORQ(co, co)
		crem := GP64() // channels left
		MOVQ(param("c"), crem)
		for _, w := range is.widths {
			step := fmt.Sprintf("%s_w%d", sect, w)
			Label(step)
			CMPQ(crem, U8(w))
			JL(LabelRef(step + "_end"))
			Load(Param("x").Base(), xp)
			Load(Param("y").Base(), yp)
			MOVQ(n, nrem)
			for _, p := range is.pix {
				blk := fmt.Sprintf("%s_p%d", step, p)
				Label(blk)
				CMPQ(nrem, U8(p))
				JL(LabelRef(blk + "_end"))
				rowBody(blk, lanes(w), taps, p, xp, wb, yp, offp, i1, i3, co)
				LEAQ(Mem{Base: xp, Index: i1, Scale: uint8(p)}, xp)
				yst := GP64()
				MOVQ(param("ypix"), yst)
				LEAQ(Mem{Base: yp, Index: yst, Scale: uint8(p)}, yp)
				SUBQ(U8(p), nrem)
				JMP(LabelRef(blk))
				Label(blk + "_end")
			}
			ADDQ(U32(4*w), co)
			SUBQ(U8(w), crem)
			JMP(LabelRef(step))
			Label(step + "_end")
		}
		JMP(LabelRef(done))
	}
	Label(done)
	VZEROUPPER()
	RET()
}

// yAddrs returns the addresses of the p pixels of the output block at
// yp+co.
func yAddrs(p int, yp, co reg.Register) []Mem {
	y1 := GP64()
	MOVQ(param("ypix"), y1)
	y3 := GP64()
	LEAQ(Mem{Base: y1, Index: y1, Scale: 2}, y3)
	yb := GP64()
	LEAQ(Mem{Base: yp, Index: co, Scale: 1}, yb)
	var yb5 reg.Register
	if p > 5 {
		yb5 = GP64()
		LEAQ(Mem{Base: yb, Index: y1, Scale: 4}, yb5)
		ADDQ(y1, yb5)
	}
	out := make([]Mem, p)
	for i := range out {
		out[i] = pixAddr(i, yb, yb5, y1, y3)
	}
	return out
}

func rowBody(lbl string, l lanes, taps, p int, xp, wb, yp, offp, i1, i3, co reg.Register) {
	acc := make([]reg.VecVirtual, p)
	for i := range acc {
		acc[i] = l.vec()
	}
	// Start from y (acc != 0) or from zero.
	CMPQ(param("acc"), U8(0))
	JEQ(LabelRef(lbl + "_zero"))
	for i, m := range yAddrs(p, yp, co) {
		l.load(m, acc[i])
	}
	JMP(LabelRef(lbl + "_rows"))
	Label(lbl + "_zero")
	for i := range acc {
		l.zero(acc[i])
	}
	Label(lbl + "_rows")

	r := GP64()
	XORQ(r, r)
	Label(lbl + "_row")
	b0 := GP64()
	MOVQ(Mem{Base: offp, Index: r, Scale: 8}, b0)
	ADDQ(xp, b0)
	ADDQ(co, b0)
	wr := GP64()
	MOVQ(Mem{Base: offp, Index: r, Scale: 8, Disp: 8 * maxRows}, wr)
	ADDQ(wb, wr)
	ADDQ(co, wr)
	var b5 reg.Register
	if p > 5 {
		b5 = GP64()
		LEAQ(Mem{Base: b0, Index: i1, Scale: 4}, b5)
		ADDQ(i1, b5)
	}
	wv := l.vec()
	for t := 0; t < taps; t++ {
		l.load(Mem{Base: wr}, wv)
		for i := range acc {
			l.fma(pixAddr(i, b0, b5, i1, i3), wv, acc[i])
		}
		if t < taps-1 {
			ADDQ(param("xtap"), b0)
			if b5 != nil {
				ADDQ(param("xtap"), b5)
			}
			ADDQ(param("wtap"), wr)
		}
	}
	INCQ(r)
	CMPQ(r, param("rows"))
	JL(LabelRef(lbl + "_row"))

	for i, m := range yAddrs(p, yp, co) {
		l.store(acc[i], m)
	}
}

// wgt emits dwWgt<ISA>(taps, x, w, y, offs, rows, n, c, xpix, xtap, wtap,
// ypix): see dwWgtGo. Channels in steps of is.widths lanes (outer loop),
// window rows in groups whose rows×taps accumulators fit in registers, and
// the pixels innermost: per pixel one load of y and rows×taps FMAs.
func wgt(is isa) {
	name := "dwWgt" + is.name
	TEXT(name, NOSPLIT, "func(taps int, x, w, y []float32, offs [16]int, rows, n, c, xpix, xtap, wtap, ypix int)")
	Pragma("noescape")
	Doc(name+" is dwWgtGo in "+is.name+" (see conv_depthwise.go).",
		"The caller guarantees every element it reads or writes is in bounds.")
	done := name + "_done"
	n := GP64()
	MOVQ(param("n"), n)
	TESTQ(n, n)
	JZ(LabelRef(done))
	toBytes("xpix", "xtap", "wtap", "ypix")
	offp := GP64()
	LEAQ(offsParam(0), offp)
	xt := GP64() // x step per tap
	MOVQ(param("xtap"), xt)
	xt3 := GP64()
	LEAQ(Mem{Base: xt, Index: xt, Scale: 2}, xt3)
	rLocal := AllocLocal(8)  // first row of the current group
	crLocal := AllocLocal(8) // channels left
	dispatch(name)

	for taps := 1; taps <= maxTaps; taps++ {
		sect := fmt.Sprintf("%s_t%d", name, taps)
		Label(sect)
		co := GP64()
		XORQ(co, co)
		{
			t := GP64()
			MOVQ(param("c"), t)
			MOVQ(t, crLocal)
		}
		for _, w := range is.widths {
			step := fmt.Sprintf("%s_w%d", sect, w)
			Label(step)
			CMPQ(crLocal, U8(w))
			JL(LabelRef(step + "_end"))
			MOVQ(U32(0), rLocal)
			// Accumulators for a group of rows: ZMM steps have 32
			// registers; YMM and scalar steps keep to the 16 that VEX
			// can encode, so they are the same code in both kernels.
			vregs := 16
			if w == 16 {
				vregs = is.vregs
			}
			gmax := min(maxGroup, maxRows, (vregs-2)/taps)
			for g := gmax; g >= 1; g-- {
				grp := fmt.Sprintf("%s_g%d", step, g)
				Label(grp)
				left := GP64()
				MOVQ(param("rows"), left)
				SUBQ(rLocal, left)
				CMPQ(left, U8(g))
				JL(LabelRef(grp + "_end"))
				wgtGroup(grp, lanes(w), taps, g, offp, xt, xt3, co, rLocal)
				ADDQ(U8(g), rLocal)
				JMP(LabelRef(fmt.Sprintf("%s_g%d", step, gmax)))
				Label(grp + "_end")
			}
			ADDQ(U32(4*w), co)
			SUBQ(U8(w), crLocal)
			JMP(LabelRef(step))
			Label(step + "_end")
		}
		JMP(LabelRef(done))
	}
	Label(done)
	VZEROUPPER()
	RET()
}

// tapAddr addresses tap t (< 5) of a row at base: base + t*xtap.
func tapAddr(t int, base, xt, xt3 reg.Register) Mem {
	switch t {
	case 0:
		return Mem{Base: base}
	case 1:
		return Mem{Base: base, Index: xt, Scale: 1}
	case 2:
		return Mem{Base: base, Index: xt, Scale: 2}
	case 3:
		return Mem{Base: base, Index: xt3, Scale: 1}
	case 4:
		return Mem{Base: base, Index: xt, Scale: 4}
	}
	panic("more than 5 taps")
}

func wgtGroup(lbl string, l lanes, taps, g int, offp, xt, xt3, co reg.Register, rLocal Mem) {
	acc := make([][]reg.VecVirtual, g)
	for j := range acc {
		acc[j] = make([]reg.VecVirtual, taps)
		for t := range acc[j] {
			acc[j][t] = l.vec()
			l.zero(acc[j][t])
		}
	}
	r := GP64()
	MOVQ(rLocal, r)
	base := make([]reg.GPVirtual, g)
	for j := range base {
		base[j] = GP64()
		MOVQ(Mem{Base: offp, Index: r, Scale: 8, Disp: 8 * j}, base[j])
		ADDQ(sliceBase("x"), base[j])
		ADDQ(co, base[j])
	}
	yq := GP64()
	MOVQ(sliceBase("y"), yq)
	ADDQ(co, yq)
	npix := GP64()
	MOVQ(param("n"), npix)
	dv := l.vec()
	Label(lbl + "_pix")
	l.load(Mem{Base: yq}, dv)
	for j := range acc {
		for t := range acc[j] {
			l.fma(tapAddr(t, base[j], xt, xt3), dv, acc[j][t])
		}
	}
	for j := range base {
		ADDQ(param("xpix"), base[j])
	}
	ADDQ(param("ypix"), yq)
	DECQ(npix)
	JNZ(LabelRef(lbl + "_pix"))

	// w[offs[maxRows+r+j] + t*wtap] += acc[j][t]
	MOVQ(rLocal, r)
	wp := GP64()
	for j := range acc {
		MOVQ(Mem{Base: offp, Index: r, Scale: 8, Disp: 8 * (maxRows + j)}, wp)
		ADDQ(sliceBase("w"), wp)
		ADDQ(co, wp)
		for t := range acc[j] {
			l.addTo(Mem{Base: wp}, acc[j][t])
			l.store(acc[j][t], Mem{Base: wp})
			if t < taps-1 {
				ADDQ(param("wtap"), wp)
			}
		}
	}
}
