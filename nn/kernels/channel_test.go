package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The SIMD elementwise and per-channel kernels run the generic loops'
// operations in the same order, so they must give the same bits. These
// tests compare every implementation with the generic loops bit for bit
// (NaN with NaN) on hostile layouts.

// sameFloat32 reports whether a and b are equal bit for bit, or both NaN.
func sameFloat32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func sameFloat64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

// hostile returns n values: mostly normal with spread, sprinkled with
// special values (±0, ±Inf, NaN, huge, tiny, subnormal) when special.
func hostile(r *rand.Rand, n int, special bool) []float32 {
	sp := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 3e38, -3e38, 1e-40, -1e-40, 88.5, -88.5, 90, -90, 104.5, -104.5, 17.5, -17.5}
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * 6)
		if special && r.IntN(5) == 0 {
			s[i] = sp[r.IntN(len(sp))]
		}
	}
	return s
}

// chanCase is a [rows, c] layout with a row stride; every channel count up
// to 70 covers the 64- and 32-lane chunks, single vectors and scalar tails.
type chanCase struct{ rows, stride, c int }

func chanCases() []chanCase {
	var cs []chanCase
	for c := 0; c <= 70; c++ {
		cs = append(cs, chanCase{1 + c%5, c + c%3, c})
	}
	return append(cs, chanCase{0, 8, 8}, chanCase{0, 40, 40}, chanCase{37, 144, 144}, chanCase{9, 300, 240}, chanCase{3, 1153, 1152})
}

func (cc chanCase) String() string {
	return fmt.Sprintf("rows%d_stride%d_c%d", cc.rows, cc.stride, cc.c)
}

// matrix returns a [rows, stride] matrix at offset off inside a guarded
// buffer (only the first c columns of each row matter to the kernels).
func (cc chanCase) matrix(t *testing.T, r *rand.Rand, off int, special bool) ([]float32, func()) {
	n := max(0, (cc.rows-1)*cc.stride+cc.c)
	if cc.rows == 0 {
		n = 0
	}
	m, check := guarded(t, n, off, -4321)
	copy(m, hostile(r, n, special))
	return m, check
}

func TestChannelKernelsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	forEachImpl(t, func(t *testing.T) {
		k := chanK
		for i, cc := range chanCases() {
			off := i % 4
			special := i%3 == 0
			a, aok := cc.matrix(t, r, off, special)
			b, bok := cc.matrix(t, r, (off+1)%4, special)
			vec := func() []float32 {
				v := hostile(r, cc.c+3, special)[(off+2)%4:]
				return v[:cc.c:cc.c]
			}
			s1, s2, m1, m2, mu, va, vb, vd := vec(), vec(), vec(), vec(), vec(), vec(), vec(), vec()
			_ = s2

			// float64 reductions.
			// They add to their outputs: start both from the same values.
			g1, g2 := make([]float64, cc.c), make([]float64, cc.c)
			w1, w2 := make([]float64, cc.c), make([]float64, cc.c)
			for j := range g1 {
				g1[j], g2[j] = float64(va[j])*1e3, float64(vb[j])
				w1[j], w2[j] = g1[j], g2[j]
			}
			k.moments(a, cc.rows, cc.stride, cc.c, s1, g1, g2)
			chanMomentsGeneric(a, cc.rows, cc.stride, cc.c, s1, w1, w2)
			for j := range w1 {
				if !sameFloat64(g1[j], w1[j]) || !sameFloat64(g2[j], w2[j]) {
					t.Fatalf("%v moments[%d] = %v %v, generic %v %v", cc, j, g1[j], g2[j], w1[j], w2[j])
				}
			}
			k.dySums(a, b, cc.rows, cc.stride, cc.c, m1, g1, g2)
			chanDySumsGeneric(a, b, cc.rows, cc.stride, cc.c, m1, w1, w2)
			for j := range w1 {
				if !sameFloat64(g1[j], w1[j]) || !sameFloat64(g2[j], w2[j]) {
					t.Fatalf("%v dySums[%d] = %v %v, generic %v %v", cc, j, g1[j], g2[j], w1[j], w2[j])
				}
			}

			// float32 reductions into guarded outputs.
			for _, red := range []struct {
				name string
				got  func(out []float32)
				want func(out []float32)
			}{
				{"sum", func(o []float32) { k.sum(o, a, cc.rows, cc.stride, cc.c) },
					func(o []float32) { chanSumGeneric(o, a, cc.rows, cc.stride, cc.c) }},
				{"dot", func(o []float32) { k.dot(o, a, b, cc.rows, cc.stride, cc.c) },
					func(o []float32) { chanDotGeneric(o, a, b, cc.rows, cc.stride, cc.c) }},
			} {
				init := vec()
				got, gok := guarded(t, cc.c, (off+3)%4, 99)
				copy(got, init)
				want := append([]float32(nil), init...)
				red.got(got)
				red.want(want)
				gok()
				for j := range want {
					if !sameFloat32(got[j], want[j]) {
						t.Fatalf("%v %s[%d] = %v, generic %v", cc, red.name, j, got[j], want[j])
					}
				}
			}

			// Maps into a guarded copy of b (the destination).
			for _, mp := range []struct {
				name string
				run  func(k *chanKernels, dst []float32)
			}{
				{"mul", func(k *chanKernels, d []float32) { k.mul(d, a, cc.rows, cc.stride, cc.c, m2) }},
				{"mulAdd", func(k *chanKernels, d []float32) { k.mulAdd(d, a, cc.rows, cc.stride, cc.c, m2) }},
				{"add", func(k *chanKernels, d []float32) { k.add(d, cc.rows, cc.stride, cc.c, m2) }},
				{"bnGrad", func(k *chanKernels, d []float32) { k.bnGrad(d, a, b, cc.rows, cc.stride, cc.c, mu, va, vb, vd) }},
				// Writes, so what the destination held must not show.
				{"bnGradSet", func(k *chanKernels, d []float32) { k.bnGradSet(d, a, b, cc.rows, cc.stride, cc.c, mu, va, vb, vd) }},
			} {
				got, gok := guarded(t, len(b), off, 55)
				copy(got, b)
				want := append([]float32(nil), b...)
				mp.run(k, got)
				mp.run(chanGeneric, want)
				gok()
				for j := range want {
					if !sameFloat32(got[j], want[j]) {
						t.Fatalf("%v %s[%d] = %v, generic %v", cc, mp.name, j, got[j], want[j])
					}
				}
			}

			// The batch-norm map, with and without SiLU, and with SiLU
			// saving its input, on contiguous rows.
			n := cc.rows * cc.c
			x := hostile(r, n, special)
			for mode := range 3 {
				silu := mode > 0
				got, gok := guarded(t, n, off, 66)
				gotZ, zok := guarded(t, n, (off+2)%4, 77)
				want, wantZ := make([]float32, n), make([]float32, n)
				var z, wz []float32
				if mode == 2 {
					z, wz = gotZ, wantZ
				}
				k.bnApply(got, z, x, cc.rows, cc.c, m1, m2, silu)
				bnApplyRowsGeneric(want, wz, x, cc.rows, cc.c, m1, m2, silu)
				gok()
				zok()
				for j := range want {
					if !sameFloat32(got[j], want[j]) {
						t.Fatalf("%v bnApply mode %d [%d] = %v, generic %v (x %v)", cc, mode, j, got[j], want[j], x[j])
					}
					if mode == 2 && !sameFloat32(gotZ[j], wantZ[j]) {
						t.Fatalf("%v bnApply saved input [%d] = %v, generic %v (x %v)", cc, j, gotZ[j], wantZ[j], x[j])
					}
					if mode < 2 && math.Float32bits(gotZ[j]) != math.Float32bits(77) {
						t.Fatalf("%v bnApply mode %d wrote z[%d]", cc, mode, j)
					}
				}
			}
			aok()
			bok()
		}
	})
}

// TestBNApplySiLUFused: the fused kernels give the bits of BNApply
// followed by SiLU, under every implementation and in place.
func TestBNApplySiLUFused(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	forEachImpl(t, func(t *testing.T) {
		for _, sz := range [][2]int{{1, 1}, {3, 7}, {5, 8}, {7, 23}, {33, 144}, {1000, 40}} {
			m, c := sz[0], sz[1]
			x := hostile(r, m*c, true)
			scale, shift := hostile(r, c, false), hostile(r, c, false)
			want := make([]float32, m*c)
			BNApply(want, x, m, c, scale, shift)
			SiLU(want, want)
			got := append([]float32(nil), x...)
			BNApplySiLU(got, got, m, c, scale, shift)
			for i := range want {
				if !sameFloat32(got[i], want[i]) {
					t.Fatalf("m%d c%d: y[%d] = %v, BNApply+SiLU %v", m, c, i, got[i], want[i])
				}
			}
			// Saving the SiLU's input, into x itself.
			wantZ := make([]float32, m*c)
			BNApply(wantZ, x, m, c, scale, shift)
			y, z := make([]float32, m*c), append([]float32(nil), x...)
			BNApplySiLUSave(y, z, z, m, c, scale, shift)
			for i := range want {
				if !sameFloat32(y[i], want[i]) || !sameFloat32(z[i], wantZ[i]) {
					t.Fatalf("m%d c%d: save: y[%d], z = %v, %v; BNApply+SiLU %v, %v", m, c, i, y[i], z[i], want[i], wantZ[i])
				}
			}
		}
	})
}

// TestChannelScale checks the squeeze-excite scaling and its gradients
// against direct loops (the order of nn.Mul's broadcast), bit for bit, with
// nil gradients skipped.
func TestChannelScale(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	forEachImpl(t, func(t *testing.T) {
		for _, sz := range [][3]int{{1, 1, 1}, {2, 3, 7}, {1, 9, 70}, {3, 49, 144}, {2, 300, 24}, {0, 4, 4}} {
			n, hw, c := sz[0], sz[1], sz[2]
			x, dy := hostile(r, n*hw*c, true), hostile(r, n*hw*c, true)
			s := hostile(r, n*c, false)
			y, yok := guarded(t, n*hw*c, 1, 3)
			ChannelScale(n, hw, c, x, s, y)
			yok()
			dx0, ds0 := hostile(r, n*hw*c, false), hostile(r, n*c, false)
			dx, ds := append([]float32(nil), dx0...), append([]float32(nil), ds0...)
			ChannelScaleBackward(n, hw, c, x, s, dy, dx, ds)
			for i := 0; i < n; i++ {
				for p := 0; p < hw; p++ {
					for j := 0; j < c; j++ {
						q := (i*hw+p)*c + j
						if w := x[q] * s[i*c+j]; !sameFloat32(y[q], w) {
							t.Fatalf("%v: y[%d] = %v, want %v", sz, q, y[q], w)
						}
						if w := dx0[q] + float32(dy[q]*s[i*c+j]); !sameFloat32(dx[q], w) {
							t.Fatalf("%v: dx[%d] = %v, want %v", sz, q, dx[q], w)
						}
					}
				}
				for j := 0; j < c; j++ {
					w := ds0[i*c+j]
					for p := 0; p < hw; p++ {
						q := (i*hw+p)*c + j
						w = w + float32(dy[q]*x[q])
					}
					if !sameFloat32(ds[i*c+j], w) {
						t.Fatalf("%v: ds[%d] = %v, want %v", sz, i*c+j, ds[i*c+j], w)
					}
				}
			}
			ChannelScaleBackward(n, hw, c, x, s, dy, nil, nil) // nothing to do, no panic
		}
	})
}

// TestGlobalAvgPoolBitIdentical compares GlobalAvgPool and its backward
// under every implementation with the generic ones.
func TestGlobalAvgPoolBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, sz := range [][3]int{{1, 1, 1}, {2, 5, 9}, {3, 49, 130}, {2, 784, 40}} {
		n, hw, c := sz[0], sz[1], sz[2]
		x, dy := hostile(r, n*hw*c, true), hostile(r, n*c, true)
		dx0 := hostile(r, n*hw*c, false)
		run := func() (y, dx []float32) {
			y, dx = make([]float32, n*c), append([]float32(nil), dx0...)
			GlobalAvgPool(n, hw, c, x, y)
			GlobalAvgPoolBackward(n, hw, c, dy, dx)
			return
		}
		prev := Impl()
		Use(Generic)
		wy, wdx := run()
		Use(prev)
		forEachImpl(t, func(t *testing.T) {
			y, dx := run()
			for i := range wy {
				if !sameFloat32(y[i], wy[i]) {
					t.Fatalf("%v: y[%d] = %v, generic %v", sz, i, y[i], wy[i])
				}
			}
			for i := range wdx {
				if !sameFloat32(dx[i], wdx[i]) {
					t.Fatalf("%v: dx[%d] = %v, generic %v", sz, i, dx[i], wdx[i])
				}
			}
		})
	}
}

// TestLogisticBitIdentical runs the SIMD sigmoid and SiLU kernels and
// their gradients over every length up to 70 and a few longer ones (the
// loops over groups of 4 ZMM or 2 YMM vectors, over single 16- and 8-lane
// vectors, and the generic tail: 127 = 64+3·16+8+7 and 7·16+8+7) at
// offsets 0–3 inside guard bands, on values that include every special
// case, and compares them with the generic loops bit for bit.
func TestLogisticBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	type unary = func(dst, src []float32)
	type bwd = func(dx, v, dy []float32)
	forEachImpl(t, func(t *testing.T) {
		for _, n := range append(seq(71), 119, 127, 207) {
			for off := 0; off < 4; off++ {
				src := hostile(r, n+off, true)[off:]
				for _, f := range []struct {
					name      string
					got, want unary
				}{{"Sigmoid", Sigmoid, sigmoidGeneric}, {"SiLU", SiLU, siluGeneric}} {
					got, ok := guarded(t, n, (off+1)%4, 8)
					want := make([]float32, n)
					f.got(got, src)
					f.want(want, src)
					ok()
					for i := range want {
						if !sameFloat32(got[i], want[i]) {
							t.Fatalf("%s n%d off%d: [%d] f(%v) = %v, generic %v", f.name, n, off, i, src[i], got[i], want[i])
						}
					}
				}
				dy := hostile(r, n, false)
				dx0 := hostile(r, n, false)
				for _, f := range []struct {
					name      string
					got, want bwd
				}{{"SigmoidBackward", SigmoidBackward, sigmoidBackwardGeneric}, {"SiLUBackward", SiLUBackward, siluBackwardGeneric},
					{"SiLUBackwardSet", SiLUBackwardSet, siluBackwardSetGeneric}} { // dx0 must not be read

					got, ok := guarded(t, n, (off+2)%4, 8)
					copy(got, dx0)
					want := append([]float32(nil), dx0...)
					f.got(got, src, dy)
					f.want(want, src, dy)
					ok()
					for i := range want {
						if !sameFloat32(got[i], want[i]) {
							t.Fatalf("%s n%d off%d: [%d] at %v = %v, generic %v", f.name, n, off, i, src[i], got[i], want[i])
						}
					}
				}
			}
		}
		// SiLUBackwardSet writes what SiLUBackward adds to zeros.
		src, dy := hostile(r, 100, true), hostile(r, 100, false)
		set, add := make([]float32, len(src)), make([]float32, len(src))
		SiLUBackwardSet(set, src, dy)
		SiLUBackward(add, src, dy)
		for i := range set {
			if set[i] != add[i] && !(math.IsNaN(float64(set[i])) && math.IsNaN(float64(add[i]))) {
				t.Fatalf("SiLUBackwardSet: [%d] = %v, SiLUBackward onto 0 %v", i, set[i], add[i])
			}
		}
		// In place.
		x := hostile(r, 100, true)
		want := make([]float32, len(x))
		siluGeneric(want, x)
		SiLU(x, x)
		for i := range x {
			if !sameFloat32(x[i], want[i]) {
				t.Fatalf("in place: [%d] = %v, want %v", i, x[i], want[i])
			}
		}
	})
}

// TestLogisticAccuracy: sigmoid and SiLU within 3 ulp of float64 over a
// dense sweep of the range where e^-|x| is normal, and the documented
// limits beyond it.
func TestLogisticAccuracy(t *testing.T) {
	ulps := func(got float32, want float64) float64 {
		w := float32(want)
		if got == w {
			return 0
		}
		u := math.Abs(float64(math.Nextafter32(w, float32(math.Inf(1)))) - float64(w))
		return math.Abs(float64(got)-want) / u
	}
	var worstS, worstL float64
	for x := float32(-87.3); x < 87.3; x += 0.00123 {
		xd := float64(x)
		s := 1 / (1 + math.Exp(-xd))
		worstS = max(worstS, ulps(sigmoidf32(x), s))
		worstL = max(worstL, ulps(siluf32(x), xd*s))
	}
	if worstS > 3 || worstL > 3 {
		t.Errorf("worst error: sigmoid %.2f ulp, SiLU %.2f ulp; want <= 3", worstS, worstL)
	}
	t.Logf("worst error: sigmoid %.2f ulp, SiLU %.2f ulp", worstS, worstL)
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		x, s, l, g float32
	}{{inf, 1, inf, 1}, {-inf, 0, 0, 0}, {200, 1, 200, 1}, {-200, 0, 0, 0}, {40, 1, 40, 1}, {-105, 0, 0, 0}} {
		if s, l, g := sigmoidf32(c.x), siluf32(c.x), siluGradf32(c.x); s != c.s || l != c.l || g != c.g {
			t.Errorf("x=%v: sigmoid %v, SiLU %v, SiLU' %v; want %v %v %v", c.x, s, l, g, c.s, c.l, c.g)
		}
	}
	if nan := float32(math.NaN()); sigmoidf32(nan) == sigmoidf32(nan) || siluf32(nan) == siluf32(nan) || siluGradf32(nan) == siluGradf32(nan) {
		t.Error("NaN does not propagate")
	}
}

// seq returns 0, 1, …, n-1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
