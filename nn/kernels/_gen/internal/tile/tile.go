// Package tile holds what the SGEMM micro-kernels (_gen/sgemm) and the
// implicit-GEMM strip kernels (_gen/implicit) share: an mr×nr block of C
// held in registers and updated by one rank-1 product per step of k (a
// column of A broadcast one element at a time, a row of B loaded as nv
// vectors), A's rows reached from a few base pointers, and the prefetch of
// the next tile's C spread over the steps.
package tile

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Shape is a tile's geometry.
type Shape struct {
	Lanes int // float32 lanes per vector register
	MR    int // rows of C per tile
	NV    int // vectors per row of C: nr = nv·lanes
	// Tail, if not 0, is the lanes of the last of the NV vectors, a ymm
	// register (8) where the others are full width: nr = (nv-1)·lanes + tail.
	Tail int
	Sets int // accumulator sets (1 or 2)
	Vec  func() reg.VecVirtual
}

// isTail reports whether vector v of a row is the ymm tail.
func (s Shape) isTail(v int) bool { return s.Tail != 0 && v == s.NV-1 }

// Width returns the lanes of vector v of a row.
func (s Shape) Width(v int) int {
	if s.isTail(v) {
		return s.Tail
	}
	return s.Lanes
}

// NR returns the columns of the tile.
func (s Shape) NR() int {
	nr := 0
	for v := 0; v < s.NV; v++ {
		nr += s.Width(v)
	}
	return nr
}

// VecOf returns a new register for vector v of a row.
func (s Shape) VecOf(v int) reg.VecVirtual {
	if s.isTail(v) {
		return YMM()
	}
	return s.Vec()
}

// As returns r at vector v's width (the broadcast, alpha and beta
// registers are full width).
func (s Shape) As(v int, r reg.VecVirtual) reg.Register {
	if s.isTail(v) {
		return r.AsY()
	}
	return r
}

// Acc returns new accumulator registers, [set][row][vector], not yet
// cleared.
func (s Shape) Acc() [][][]reg.VecVirtual {
	acc := make([][][]reg.VecVirtual, s.Sets)
	for q := range acc {
		acc[q] = make([][]reg.VecVirtual, s.MR)
		for i := range acc[q] {
			acc[q][i] = make([]reg.VecVirtual, s.NV)
			for v := range acc[q][i] {
				acc[q][i][v] = s.VecOf(v)
			}
		}
	}
	return acc
}

// Clear zeroes the accumulators of set.
func Clear(set [][]reg.VecVirtual) {
	for i := range set {
		for v := range set[i] {
			VXORPS(set[i][v], set[i][v], set[i][v])
		}
	}
}

// Store stores sum, the tile, row by row from cp, rows ldc bytes apart
// (cp moves on to the last row), each vector after combine(m, v, s), if
// not nil, has merged C's vector v at m into its sum s.
func (s Shape) Store(sum [][]reg.VecVirtual, cp, ldc reg.Register, combine func(m Mem, v int, s reg.VecVirtual)) {
	for i := range sum {
		for v := range sum[i] {
			m := Mem{Base: cp, Disp: 4 * s.Lanes * v}
			if combine != nil {
				combine(m, v, sum[i][v])
			}
			VMOVUPS(sum[i][v], m)
		}
		if i < s.MR-1 {
			ADDQ(ldc, cp)
		}
	}
}

// Sum adds the other sets into the first and returns it.
func Sum(acc [][][]reg.VecVirtual) [][]reg.VecVirtual {
	sum := acc[0]
	for q := 1; q < len(acc); q++ {
		for i := range sum {
			for v := range sum[i] {
				VADDPS(acc[q][i][v], sum[i][v], sum[i][v])
			}
		}
	}
	return sum
}

// Step emits the rank-1 updates of a tile.
type Step struct {
	s    Shape
	B    []reg.VecVirtual // one row of B
	A    reg.VecVirtual   // the broadcast element of A
	rows *RowsA           // A's rows, advanced cs bytes a step
	cs   reg.Register
	bp   reg.Register // B's current row, advanced rsB bytes a step
	rsB  reg.Register
	// PrefetchB prefetches B's row 8 steps on in every step.
	PrefetchB bool
}

// NewStep returns the steps of a tile with A's rows at rows, cs bytes
// from one step to the next, and B's rows at bp, rsB bytes apart; it
// allocates B's row and the broadcast registers.
func (s Shape) NewStep(rows *RowsA, cs, bp, rsB reg.Register) *Step {
	st := &Step{s: s, rows: rows, cs: cs, bp: bp, rsB: rsB, B: make([]reg.VecVirtual, s.NV)}
	for v := range st.B {
		st.B[v] = s.VecOf(v)
	}
	st.A = s.Vec()
	return st
}

// Emit is one rank-1 update, C += A[:, p]·B[p, :] into set, then A and B
// move on a step.
func (st *Step) Emit(set [][]reg.VecVirtual) {
	s := st.s
	nr := s.NR()
	if st.PrefetchB {
		PREFETCHT0(Mem{Base: st.bp, Index: st.rsB, Scale: 8})
		if 4*nr > 64 {
			PREFETCHT0(Mem{Base: st.bp, Index: st.rsB, Scale: 8, Disp: 4*nr - 4})
		}
	}
	for v := range st.B {
		VMOVUPS(Mem{Base: st.bp, Disp: 4 * s.Lanes * v}, st.B[v])
	}
	for i := 0; i < s.MR; i++ {
		VBROADCASTSS(st.rows.Row(i), st.A)
		for v := range st.B {
			VFMADD231PS(st.B[v], s.As(v, st.A), set[i][v])
		}
	}
	st.rows.Add(st.cs)
	ADDQ(st.rsB, st.bp)
}

// RowsPerBase is how many rows of A one base register reaches: offsets
// 0, rs, 2·rs, 3·rs (via rs3) and 4·rs.
const RowsPerBase = 5

// RowsA addresses the mr rows of A: row i is Base[i/5] plus (i%5)·RS,
// with RS3 = 3·RS.
type RowsA struct {
	Base    []reg.Register
	RS, RS3 reg.Register
}

// Bases returns the base registers of a tile of mr rows rs bytes apart:
// a0 and new registers set from it.
func Bases(mr int, a0, rs reg.Register) []reg.Register {
	base := make([]reg.Register, (mr+RowsPerBase-1)/RowsPerBase)
	base[0] = a0
	for q := 1; q < len(base); q++ {
		base[q] = GP64()
		LEAQ(Mem{Base: base[q-1], Index: rs, Scale: 4}, base[q])
		ADDQ(rs, base[q])
	}
	return base
}

// RS3 returns a new register holding 3·rs for tiles of more than 3 rows
// (nil otherwise).
func RS3(mr int, rs reg.Register) reg.Register {
	if mr <= 3 {
		return nil
	}
	rs3 := GP64()
	LEAQ(Mem{Base: rs, Index: rs, Scale: 2}, rs3)
	return rs3
}

// Row returns the address of row i's current element.
func (r *RowsA) Row(i int) Mem {
	m := Mem{Base: r.Base[i/RowsPerBase]}
	switch i % RowsPerBase {
	case 1:
		m.Index, m.Scale = r.RS, 1
	case 2:
		m.Index, m.Scale = r.RS, 2
	case 3:
		m.Index, m.Scale = r.RS3, 1
	case 4:
		m.Index, m.Scale = r.RS, 4
	}
	return m
}

// Add adds op (bytes) to every base.
func (r *RowsA) Add(op Op) {
	for _, b := range r.Base {
		ADDQ(op, b)
	}
}

// CRowsPerGroup is how many rows of the next tile's C each unrolled group
// of 4 steps of k prefetches.
const CRowsPerGroup = 3

// NextC prefetches the next tile's C while the products run, a few rows
// per group of steps: issued all at once at a tile's start, its 2·mr
// lines waited for fill buffers behind the previous tile's stores.
type NextC struct {
	ptr, ldc, left reg.Register
	nr             int
}

// NewNextC starts the prefetch of the mr rows of nr columns from ptr,
// ldc bytes apart.
func NewNextC(mr, nr int, ptr, ldc reg.Register) *NextC {
	left := GP64()
	MOVQ(U32(mr), left)
	return &NextC{ptr: ptr, ldc: ldc, left: left, nr: nr}
}

// rows prefetches the next n rows.
func (c *NextC) rows(n int) {
	for r := 0; r < n; r++ {
		PREFETCHT0(Mem{Base: c.ptr})
		if 4*c.nr > 64 {
			PREFETCHT0(Mem{Base: c.ptr, Disp: 4*c.nr - 4})
		}
		ADDQ(c.ldc, c.ptr)
	}
}

// Group prefetches CRowsPerGroup more rows, if any are left; lbl names
// the label it jumps to when none are.
func (c *NextC) Group(lbl string) {
	TESTQ(c.left, c.left)
	JLE(LabelRef(lbl))
	c.rows(CRowsPerGroup)
	SUBQ(U8(CRowsPerGroup), c.left)
	Label(lbl)
}

// Rest prefetches the rows the groups did not reach, one at a time, then
// goes on at label next; lbl names the loop.
func (c *NextC) Rest(lbl, next string) {
	Label(lbl)
	TESTQ(c.left, c.left)
	JLE(LabelRef(next))
	c.rows(1)
	DECQ(c.left)
	JMP(LabelRef(lbl))
}
