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
// Each has versions for the column patterns of dilation 1 (colMaps;
// dwWgtS1<ISA> for stride 1), which load each source column once per
// pixel block and window row rather than once per tap.
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
	// pfLines is the number of 64-byte lines of pf a row kernel prefetches
	// per pixel block, at its start. The mirrored kernels (the input
	// gradient, pf the dy row the next dx row reads first) prefetch
	// pfPerRow lines per window row instead in blocks of 16 pixels or
	// more, spread over the block and three to five times as many. Intel
	// Xeon, medians of six interleaved runs, GFLOP/s, one thread | two:
	// dw3x3_144_56 input gradient 49.9 → 51.9 | 70.3 → 72.7, both
	// gradients (Conv2dBackward) 54.7 → 58.8 | 99.0 → 102.3; dw5x5_240_28
	// 96.3 → 98.4 | 142.4 → 151.3 and 96.3 → 100.5 | 157.2 → 160.1. 4 or
	// 12 lines per window row did no better. The forward kernels (pf the
	// next input row) lost 2–5 % on the 5×5 layer the same way.
	pfLines  = 8
	pfPerRow = 8
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
	{"AVX2", []int{8, 1}, 16, []int{8, 4, 2, 1}},
	{"AVX512", []int{16, 8, 1}, 32, []int{8, 4, 2, 1}},
}

// colMap is the column pattern of a row kernel specialised for stride and
// dilation 1 along the row: pixel p's tap t reads source column
// p*sp + t*st (in units of one pixel, u = |xtap| bytes), so neighbouring
// pixels share columns and each column is loaded once per window row.
type colMap struct {
	name   string
	sp, st int
}

var colMaps = []colMap{
	{"S1", 1, 1},  // forward, stride 1
	{"S2", 2, 1},  // forward, stride 2
	{"M1", 1, -1}, // input gradient (mirrored window), dilation 1
}

func main() {
	ConstraintExpr("amd64,gc,!noasm")
	for _, is := range isas {
		row(is, nil)
		for i := range colMaps {
			row(is, &colMaps[i])
		}
	}
	for _, is := range isas {
		wgt(is, false)
		wgt(is, true)
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
// ypix, acc, nr, xrow, yrow, pf, tile): see dwRowGo. The nr output rows
// one after the other (outermost loop), each one's pixels in tiles of tile
// pixels (the whole row if tile is 0), each tile's channels in steps of
// is.widths lanes, each step's pixels in blocks of is.pix pixels, widest
// first (inner loop; the column-map kernels start with wider blocks, see
// mappedBlocks); per block one register accumulator per pixel, the window
// rows in a run-time loop and the taps unrolled, each tap's weights
// loaded once for the whole block.
//
// With a column map m the kernel (dwRow<m.name><ISA>) requires xpix =
// m.sp*u and xtap = m.st*u for some u: it holds the taps' weights in
// registers, loads each source column of a pixel block once and
// multiplies it into every pixel that reads it.
func row(is isa, m *colMap) {
	name := "dwRow" + is.name
	doc := []string{name + " is dwRowGo in " + is.name + " (see conv_depthwise.go)."}
	if m != nil {
		name = "dwRow" + m.name + is.name
		doc = []string{
			fmt.Sprintf("%s is dwRowGo in %s for xpix = %d*u and xtap = %d*u (u > 0): each", name, is.name, m.sp, m.st),
			"source column is loaded once per pixel block and window row.",
		}
	}
	TEXT(name, NOSPLIT, "func(taps int, x, w, y []float32, offs [16]int, rows, n, c, xpix, xtap, wtap, ypix, acc, nr, xrow, yrow int, pf []float32, tile int)")
	Pragma("noescape")
	Doc(append(doc, "The caller guarantees every element it reads or writes is in bounds;",
		"pf is prefetched while the blocks run;",
		"with tile > 0 each row's pixels go through all the channels tile pixels",
		"at a time.")...)
	done := name + "_done"
	n := GP64()
	MOVQ(param("n"), n)
	TESTQ(n, n)
	JZ(LabelRef(done))
	CMPQ(param("nr"), U8(0))
	JLE(LabelRef(done))
	toBytes("xpix", "xtap", "wtap", "ypix", "xrow", "yrow")
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
	var u reg.GPVirtual // bytes per source column (column maps)
	if m != nil {
		u = GP64()
		MOVQ(param("xtap"), u)
		if m.st < 0 {
			NEGQ(u)
		}
	}
	nrem := AllocLocal(8)                     // pixels left
	lines := AllocLocal(8)                    // output rows left
	tdone, tn := AllocLocal(8), AllocLocal(8) // pixels of the row before the current tile, and in it
	xo, yo := AllocLocal(8), AllocLocal(8)    // the current output row's offsets in x and y, bytes
	pfp, pfe := AllocLocal(8), AllocLocal(8)
	{
		t := GP64()
		Load(Param("pf").Base(), t)
		MOVQ(t, pfp)
		e := GP64()
		Load(Param("pf").Len(), e)
		SHLQ(U8(2), e)
		ADDQ(t, e)
		MOVQ(e, pfe)
	}
	dispatch(name)

	for taps := 1; taps <= maxTaps; taps++ {
		sect := fmt.Sprintf("%s_t%d", name, taps)
		Label(sect)
		{
			t := GP64()
			MOVQ(param("nr"), t)
			MOVQ(t, lines)
			XORQ(t, t)
			MOVQ(t, xo)
			MOVQ(t, yo)
		}
		Label(sect + "_line")
		MOVQ(U32(0), tdone)
		Label(sect + "_tile")
		{
			t, tile := GP64(), GP64()
			MOVQ(n, t)
			SUBQ(tdone, t)
			MOVQ(param("tile"), tile)
			TESTQ(tile, tile)
			JZ(LabelRef(sect + "_whole"))
			CMPQ(t, tile)
			CMOVQGT(tile, t)
			Label(sect + "_whole")
			MOVQ(t, tn)
		}
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
			ADDQ(xo, xp)
			Load(Param("y").Base(), yp)
			ADDQ(yo, yp)
			{
				t := GP64()
				MOVQ(tdone, t)
				IMULQ(param("xpix"), t)
				ADDQ(t, xp)
				MOVQ(tdone, t)
				IMULQ(param("ypix"), t)
				ADDQ(t, yp)
				MOVQ(tn, t)
				MOVQ(t, nrem)
			}
			pix := is.pix
			if m != nil {
				// ZMM steps have 32 registers; YMM and scalar steps keep
				// to the 16 that VEX can encode.
				vregs := 16
				if w == 16 {
					vregs = is.vregs
				}
				pix = append(mappedBlocks(vregs, taps), pix...)
			}
			if w == 1 {
				pix = []int{1} // scalar channel tails: single pixels
			}
			for _, p := range pix {
				blk := fmt.Sprintf("%s_p%d", step, p)
				Label(blk)
				CMPQ(nrem, U8(p))
				JL(LabelRef(blk + "_end"))
				pfN := func(lbl string, n int) {
					t := GP64()
					MOVQ(pfp, t)
					CMPQ(t, pfe)
					JAE(LabelRef(lbl + "_nopf"))
					for k := 0; k < n; k++ {
						PREFETCHT0(Mem{Base: t, Disp: 64 * k})
					}
					ADDQ(U32(64*n), t)
					MOVQ(t, pfp)
					Label(lbl + "_nopf")
				}
				spread := m != nil && m.st < 0 && p >= 16
				if !spread {
					pfN(blk, pfLines)
				}
				if m == nil {
					rowBody(blk, lanes(w), taps, p, xp, wb, yp, offp, i1, i3, co)
				} else {
					var rowPf func(string)
					if spread {
						rowPf = func(l string) { pfN(l, pfPerRow) }
					}
					rowBodyMapped(blk, lanes(w), taps, p, *m, xp, wb, yp, offp, u, co, rowPf)
				}
				advance(xp, i1, p)
				yst := GP64()
				MOVQ(param("ypix"), yst)
				advance(yp, yst, p)
				SUBQ(U8(p), nrem)
				JMP(LabelRef(blk))
				Label(blk + "_end")
			}
			ADDQ(U32(4*w), co)
			SUBQ(U8(w), crem)
			JMP(LabelRef(step))
			Label(step + "_end")
		}
		{
			t := GP64()
			MOVQ(tn, t)
			ADDQ(t, tdone)
			MOVQ(tdone, t)
			CMPQ(t, n)
			JL(LabelRef(sect + "_tile"))
		}
		{
			t := GP64()
			MOVQ(param("xrow"), t)
			ADDQ(t, xo)
			MOVQ(param("yrow"), t)
			ADDQ(t, yo)
		}
		DECQ(lines)
		JNZ(LabelRef(sect + "_line"))
		JMP(LabelRef(done))
	}
	Label(done)
	VZEROUPPER()
	RET()
}

// yAddrs calls f with each of the p pixels of the output block at yp+co,
// in order: pixel i is at b + (i%5)*ypix, where one base register b steps
// 5 pixels at a time (a register per 5 pixels ran out of registers in a
// 24-pixel block).
func yAddrs(p int, yp, co reg.Register, f func(i int, m Mem)) {
	y1 := GP64()
	MOVQ(param("ypix"), y1)
	y3 := GP64()
	LEAQ(Mem{Base: y1, Index: y1, Scale: 2}, y3)
	b := GP64()
	LEAQ(Mem{Base: yp, Index: co, Scale: 1}, b)
	for i := 0; i < p; i++ {
		if i > 0 && i%5 == 0 {
			LEAQ(Mem{Base: b, Index: y1, Scale: 4}, b)
			ADDQ(y1, b)
		}
		f(i, pixAddr(i%5, b, nil, y1, y3))
	}
}

// advance adds p*step to ptr (p pixels of step bytes each).
func advance(ptr, step reg.Register, p int) {
	switch p {
	case 1, 2, 4, 8:
		LEAQ(Mem{Base: ptr, Index: step, Scale: uint8(p)}, ptr)
	default:
		t := GP64()
		IMUL3Q(U32(p), step, t)
		ADDQ(t, ptr)
	}
}

// mappedBlocks returns the pixel blocks of a column-mapped row kernel
// wider than the 8 of is.pix, widest first, for taps taps per window row
// and vregs vector registers: one accumulator per pixel beside the taps'
// weights and the source column, so that enough independent FMA chains
// are in flight to hide the FMA latency (8 pixels of 9 chained FMAs each,
// the 3×3 case, leave the FMA units idle about a fifth of the time), and
// each window row's taps-1 extra source columns are shared by more
// pixels. With 4 or 5 taps in 16 registers (AVX2) there are none: the 10
// pixels that fit, and 5 with two partials each, measured no faster on
// the 5×5 layers (AMD Zen 3). With 32 (AVX-512) they are 24 and 16: a
// 5×5 layer's 28-pixel rows have 24 interior pixels, which 16 + 8 ran with
// the 8-pixel block a third slower per pixel. On the Intel Xeon, one
// thread, interleaved runs, GFLOP/s: 16 (from 8) took dw5x5_240_28 from
// 89.6–90.8 to 89.1–96.6 forward and 73.9–74.0 to 80.2–84.4 for the input
// gradient; 24 then 108.2 → 111.2 and 89.1 → 93.6 (medians of four; two
// threads 105.5 → 109.6 for the input gradient; 3×3 layers unchanged).
func mappedBlocks(vregs, taps int) []int {
	if vregs < 32 {
		if taps > 3 {
			return nil
		}
		return []int{vregs - taps - 1}
	}
	return []int{min(24, vregs-taps-1), 16}
}

func rowBody(lbl string, l lanes, taps, p int, xp, wb, yp, offp, i1, i3, co reg.Register) {
	acc := make([]reg.VecVirtual, p)
	for i := range acc {
		acc[i] = l.vec()
	}
	accInit(lbl, l, acc, yp, co)
	part := partials(l, p, taps, acc)

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
			l.fma(pixAddr(i, b0, b5, i1, i3), wv, part(i, t))
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

	sumPartials(l, acc, part, taps)
	yAddrs(p, yp, co, func(i int, m Mem) { l.store(acc[i], m) })
}

// partials sets up the extra partial accumulators of splitAcc and returns
// the accumulator of pixel i for tap t.
func partials(l lanes, p, taps int, acc []reg.VecVirtual) func(i, t int) reg.VecVirtual {
	k := splitAcc(p, taps)
	if k == 1 {
		return func(i, t int) reg.VecVirtual { return acc[i] }
	}
	extra := make([][]reg.VecVirtual, p)
	for i := range extra {
		extra[i] = make([]reg.VecVirtual, k-1)
		for j := range extra[i] {
			extra[i][j] = l.vec()
			l.zero(extra[i][j])
		}
	}
	return func(i, t int) reg.VecVirtual {
		if t%k == 0 {
			return acc[i]
		}
		return extra[i][t%k-1]
	}
}

// sumPartials adds each pixel's extra partials into its accumulator, in
// order.
func sumPartials(l lanes, acc []reg.VecVirtual, part func(i, t int) reg.VecVirtual, taps int) {
	for i := range acc {
		for t := 1; t < splitAcc(len(acc), taps); t++ {
			if l == 1 {
				VADDSS(part(i, t), acc[i], acc[i])
			} else {
				VADDPS(part(i, t), acc[i], acc[i])
			}
		}
	}
}

// splitAcc returns, for a block of p pixels with taps taps per window row,
// how many partial accumulators each pixel's sum is spread over: a block
// of one or two pixels would otherwise be one or two chains of dependent
// FMAs, so its taps go round-robin into up to three (one pixel) or two
// (two pixels) partials per pixel, added at the end.
func splitAcc(p, taps int) int {
	switch p {
	case 1:
		return min(taps, 3)
	case 2:
		return min(taps, 2)
	}
	return 1
}

// accInit starts the accumulators of a pixel block from y (acc != 0) or
// from zero.
func accInit(lbl string, l lanes, acc []reg.VecVirtual, yp, co reg.Register) {
	CMPQ(param("acc"), U8(0))
	JEQ(LabelRef(lbl + "_zero"))
	yAddrs(len(acc), yp, co, func(i int, m Mem) { l.load(m, acc[i]) })
	JMP(LabelRef(lbl + "_rows"))
	Label(lbl + "_zero")
	for i := range acc {
		l.zero(acc[i])
	}
	Label(lbl + "_rows")
}

// fmaReg computes acc += x*w, all registers.
func (l lanes) fmaReg(w, x, acc reg.VecVirtual) {
	if l == 1 {
		VFMADD231SS(w, x, acc)
	} else {
		VFMADD231PS(w, x, acc)
	}
}

// rowBodyMapped is rowBody for a column map: per window row, the taps'
// weights go into registers, then the block's source columns are loaded
// one by one, each multiplied into the pixels that read it. The columns
// are visited in the order that gives every pixel its taps in ascending
// order (as in dwRowGo).
func rowBodyMapped(lbl string, l lanes, taps, p int, m colMap, xp, wb, yp, offp, u, co reg.Register, rowPf func(string)) {
	acc := make([]reg.VecVirtual, p)
	for i := range acc {
		acc[i] = l.vec()
	}
	accInit(lbl, l, acc, yp, co)
	part := partials(l, p, taps, acc)
	if l == 16 {
		// Each 16-lane step writes a whole line per pixel, which the
		// store must first read in; the block's lines one step on (the
		// next 16 channels of the same pixels) are asked for now, a
		// block ahead. Intel Xeon, one thread, interleaved medians,
		// GFLOP/s: dw3x3_144_56 forward 48.4 → 55.0, forward+backward
		// 48.8 → 52.2, two threads forward 94.1 → 99.5; dw5x5_240_28's
		// input gradient 86.3 → 94.1 with this and the 24-pixel blocks
		// together (89.1 → 93.6 of it the blocks'); stride 2 unchanged.
		// Two steps on, or three, gained less; at 8 lanes (AVX2), where
		// two steps share a line, nothing. Non-temporal stores instead
		// lost 11 % on the 5×5 layer.
		yAddrs(p, yp, co, func(i int, m Mem) { PREFETCHT0(m.Offset(64)) })
	}

	r := GP64()
	XORQ(r, r)
	Label(lbl + "_row")
	if rowPf != nil {
		rowPf(lbl + "_row")
	}
	wr := GP64()
	MOVQ(Mem{Base: offp, Index: r, Scale: 8, Disp: 8 * maxRows}, wr)
	ADDQ(wb, wr)
	ADDQ(co, wr)
	wv := make([]reg.VecVirtual, taps)
	for t := range wv {
		wv[t] = l.vec()
		l.load(Mem{Base: wr}, wv[t])
		if t < taps-1 {
			ADDQ(param("wtap"), wr)
		}
	}
	ptr := GP64() // source column j
	MOVQ(Mem{Base: offp, Index: r, Scale: 8}, ptr)
	ADDQ(xp, ptr)
	ADDQ(co, ptr)
	// Columns j = pp*sp + t*st: ascending from 0 for st > 0, descending
	// from (p-1)*sp for st < 0 (so that t ascends for every pixel).
	jlo, jhi := 0, (p-1)*m.sp+taps-1
	if m.st < 0 {
		jlo, jhi = -(taps - 1), (p-1)*m.sp
		if jhi > 0 {
			t := GP64()
			IMUL3Q(U32(jhi), u, t)
			ADDQ(t, ptr)
		}
	}
	xv := l.vec()
	for k := 0; k <= jhi-jlo; k++ {
		j := jlo + k
		if m.st < 0 {
			j = jhi - k
		}
		l.load(Mem{Base: ptr}, xv)
		for pp := 0; pp < p; pp++ {
			t := (j - pp*m.sp) * m.st
			if t >= 0 && t < taps {
				l.fmaReg(wv[t], xv, part(pp, t))
			}
		}
		if k < jhi-jlo {
			if m.st < 0 {
				SUBQ(u, ptr)
			} else {
				ADDQ(u, ptr)
			}
		}
	}
	INCQ(r)
	CMPQ(r, param("rows"))
	JL(LabelRef(lbl + "_row"))

	sumPartials(l, acc, part, taps)
	yAddrs(p, yp, co, func(i int, m Mem) { l.store(acc[i], m) })
}

// wgt emits dwWgt<ISA>(taps, x, w, y, offs, rows, n, c, xpix, xtap, wtap,
// ypix, nr, xrow, yrow): see dwWgtGo. Channels in steps of is.widths lanes
// (outer loop), window rows in groups whose rows×taps accumulators fit in
// registers, then the nr output rows and their pixels: per pixel one load
// of y and rows×taps FMAs, the accumulators added to w once per group.
// With mapped, dwWgtS1<ISA> for xpix = xtap (stride and dilation 1 along
// the row) takes the pixels in blocks first (wgtBlock).
func wgt(is isa, mapped bool) {
	name := "dwWgt" + is.name
	doc := []string{name + " is dwWgtGo in " + is.name + " (see conv_depthwise.go)."}
	if mapped {
		name = "dwWgtS1" + is.name
		doc = []string{
			name + " is dwWgtGo in " + is.name + " for xpix = xtap > 0: each source",
			"column is loaded once per pixel block and window row.",
		}
	}
	TEXT(name, NOSPLIT, "func(taps int, x, w, y []float32, offs [16]int, rows, n, c, xpix, xtap, wtap, ypix, nr, xrow, yrow int)")
	Pragma("noescape")
	Doc(append(doc, "The caller guarantees every element it reads or writes is in bounds.")...)
	done := name + "_done"
	n := GP64()
	MOVQ(param("n"), n)
	TESTQ(n, n)
	JZ(LabelRef(done))
	CMPQ(param("nr"), U8(1))
	JL(LabelRef(done))
	toBytes("xpix", "xtap", "wtap", "ypix", "xrow", "yrow")
	offp := GP64()
	LEAQ(offsParam(0), offp)
	xt := GP64() // x step per tap
	MOVQ(param("xtap"), xt)
	xt3 := GP64()
	LEAQ(Mem{Base: xt, Index: xt, Scale: 2}, xt3)
	rLocal := AllocLocal(8)  // first row of the current group
	crLocal := AllocLocal(8) // channels left
	q := qLocals{AllocLocal(8), AllocLocal(8), AllocLocal(8)}
	for _, d := range []struct {
		dst        Mem
		row, pixel string
	}{{q.x, "xrow", "xpix"}, {q.y, "yrow", "ypix"}} {
		t, u := GP64(), GP64()
		MOVQ(param(d.pixel), u)
		IMULQ(n, u)
		MOVQ(param(d.row), t)
		SUBQ(u, t)
		MOVQ(t, d.dst)
	}
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
				// Pixel blocks (mapped), widest first: for runs of 3 taps
				// or more (a window row's interior pixels; fewer taps are
				// border pixels, one at a time).
				var blocks []int
				if mapped && w > 1 && taps >= 3 {
					blocks = wgtBlocks(vregs - g*taps - 1)
				}
				wgtGroup(grp, lanes(w), taps, g, blocks, offp, xt, xt3, co, rLocal, q)
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

// qLocals are the stack slots of the output-row loop of dwWgt.
type qLocals struct{ x, y, n Mem }

// maxWgtBlock bounds the pixels of a dwWgtS1 block.
const maxWgtBlock = 16

// wgtBlocks returns dwWgtS1's pixel blocks, widest first, with free
// vector registers beside the accumulators and the source column: the
// widest that fit (at most maxWgtBlock), then 8 and 4 where narrower.
func wgtBlocks(free int) []int {
	var b []int
	for _, p := range []int{min(maxWgtBlock, free), 8, 4} {
		if p >= 4 && p <= free && (len(b) == 0 || p < b[len(b)-1]) {
			b = append(b, p)
		}
	}
	return b
}

// wgtGroup emits a group of g window rows' weight gradient over the nr
// output rows. With blocks (dwWgtS1), each row's pixels go first in those
// blocks, widest first (wgtBlock), then one by one.
func wgtGroup(lbl string, l lanes, taps, g int, blocks []int, offp, xt, xt3, co reg.Register, rLocal Mem, q qLocals) {
	acc := make([][]reg.VecVirtual, g)
	for j := range acc {
		acc[j] = make([]reg.VecVirtual, taps)
		for t := range acc[j] {
			acc[j][t] = l.vec()
			l.zero(acc[j][t])
		}
	}
	// Output rows q < nr: x rows xrow and y rows yrow apart, summed into
	// the same accumulators. After a row's pixels the pointers move on by
	// q.x = xrow - n*xpix and q.y = yrow - n*ypix.
	{
		t := GP64()
		MOVQ(param("nr"), t)
		MOVQ(t, q.n)
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
	// The pixel steps in registers where they fit beside the group's base
	// pointers, else read from the frame each pixel.
	var xs, ys Op = param("xpix"), param("ypix")
	if g <= 4 {
		xr, yr := GP64(), GP64()
		MOVQ(param("xpix"), xr)
		MOVQ(param("ypix"), yr)
		xs, ys = xr, yr
	}
	Label(lbl + "_q")
	npix := GP64()
	MOVQ(param("n"), npix)
	for _, p := range blocks {
		wgtBlock(fmt.Sprintf("%s_b%d", lbl, p), l, taps, p, acc, base, yq, npix, xt, ys)
	}
	TESTQ(npix, npix)
	JZ(LabelRef(lbl + "_rowend"))
	dv := l.vec()
	Label(lbl + "_pix")
	if l == 16 {
		// The next channel step's lines of this pixel's newest taps and
		// of its y.
		PREFETCHT0(Mem{Base: yq, Disp: 64})
		for j := range base {
			PREFETCHT0(tapAddr(taps-1, base[j], xt, xt3).Offset(64))
		}
	}
	l.load(Mem{Base: yq}, dv)
	for j := range acc {
		for t := range acc[j] {
			l.fma(tapAddr(t, base[j], xt, xt3), dv, acc[j][t])
		}
	}
	for j := range base {
		ADDQ(xs, base[j])
	}
	ADDQ(ys, yq)
	DECQ(npix)
	JNZ(LabelRef(lbl + "_pix"))
	Label(lbl + "_rowend")
	for j := range base {
		ADDQ(q.x, base[j])
	}
	ADDQ(q.y, yq)
	DECQ(q.n)
	JNZ(LabelRef(lbl + "_q"))

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

// wgtBlock emits dwWgtS1's blocks of p pixels along a row, while npix >=
// p: the block's y pixels go into registers, then per window row each
// source column is loaded once and multiplied into the accumulators of
// the taps that read it against those pixels (column j is tap t of pixel
// j-t). Every accumulator still takes its pixels in ascending order, as
// one pixel at a time does.
func wgtBlock(lbl string, l lanes, taps, p int, acc [][]reg.VecVirtual, base []reg.GPVirtual, yq, npix, xt reg.Register, ys Op) {
	dy := make([]reg.VecVirtual, p)
	for i := range dy {
		dy[i] = l.vec()
	}
	xv := l.vec()
	t := GP64()
	Label(lbl + "_blk")
	CMPQ(npix, U8(p))
	JL(LabelRef(lbl + "_blkend"))
	MOVQ(yq, t)
	for i := range dy {
		if l == 16 {
			PREFETCHT0(Mem{Base: t, Disp: 64}) // the next channel step's line
		}
		l.load(Mem{Base: t}, dy[i])
		if i < p-1 {
			ADDQ(ys, t)
		}
	}
	for j := range acc {
		MOVQ(base[j], t)
		for col := 0; col < p+taps-1; col++ {
			if l == 16 && col >= taps-1 {
				PREFETCHT0(Mem{Base: t, Disp: 64})
			}
			l.load(Mem{Base: t}, xv)
			for tap := max(0, col-p+1); tap <= min(taps-1, col); tap++ {
				l.fmaReg(dy[col-tap], xv, acc[j][tap])
			}
			if col < p+taps-2 {
				ADDQ(xt, t)
			}
		}
	}
	// On by p pixels: p·xtap (= p·xpix) and p·ypix bytes.
	IMUL3Q(U8(p), xt, t)
	for j := range base {
		ADDQ(t, base[j])
	}
	MOVQ(ys, t)
	IMUL3Q(U8(p), t, t)
	ADDQ(t, yq)
	SUBQ(U8(p), npix)
	JMP(LabelRef(lbl + "_blk"))
	Label(lbl + "_blkend")
}
