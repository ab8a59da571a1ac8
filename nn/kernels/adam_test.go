package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// adamCases are the constants of the SIMD kernel's modes: plain Adam, with
// weight decay in the gradient (L2), AdamW (Decoupled), and both.
func adamCases() []Adam {
	base := Adam{B1: 0.9, C1: 0.1, B2: 0.999, C2: 1 - float32(0.999), NegStep: -1e-3 / 0.19, BC2Sqrt: float32(math.Sqrt(1 - 0.999*0.999)), Eps: 1e-8}
	l2, w, both := base, base, base
	l2.L2 = 0.05
	w.Decoupled, w.Shrink = true, 0.9995
	both.L2, both.Decoupled, both.Shrink = 0.01, true, 0.98
	return []Adam{base, l2, w, both}
}

// TestAdamBitIdentical runs every implementation on hostile values (NaN,
// ±Inf, ±0, subnormal and huge weights, gradients and moments, v kept
// non-negative as Adam keeps it), for every length to 40 (whole vectors,
// pairs of vectors and tails) and longer ones, the slices offset by 0–3
// elements between guard bands: w, m and v must equal the generic loop's
// bit for bit (NaN for NaN) and nothing outside them may change.
func TestAdamBitIdentical(t *testing.T) {
	lens := []int{}
	for n := 0; n <= 40; n++ {
		lens = append(lens, n)
	}
	lens = append(lens, 63, 64, 65, 1000, 1027)
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 9))
		for ci, a := range adamCases() {
			for _, n := range lens {
				off := n % 4
				const guard = 9
				mk := func(nonneg bool) []float32 {
					s := hostile(r, n+off+2*guard, true)
					for i := range s {
						if nonneg && s[i] < 0 {
							s[i] = -s[i]
						}
					}
					return s
				}
				bw, bg, bm, bv := mk(false), mk(false), mk(false), mk(true)
				sl := func(b []float32) []float32 { return b[guard+off : guard+off+n] }
				ww, wm, wv := append([]float32(nil), bw...), append([]float32(nil), bm...), append([]float32(nil), bv...)
				adamGeneric(sl(ww), sl(bg), sl(wm), sl(wv), nil, &a)
				gg := append([]float32(nil), bg...)
				AdamUpdate(sl(bw), sl(bg), sl(bm), sl(bv), nil, &a)
				for name, pair := range map[string][2][]float32{"w": {bw, ww}, "m": {bm, wm}, "v": {bv, wv}, "g": {bg, gg}} {
					for i := range pair[0] {
						if !sameFloat32(pair[0][i], pair[1][i]) {
							t.Fatalf("case %d, n=%d off=%d: %s[%d] = %v, generic loop %v (guard bands %d elements)", ci, n, off, name, i-guard-off, pair[0][i], pair[1][i], guard)
						}
					}
				}
			}
		}
	})
}

// TestAdamStep checks the generic loop itself against float64 arithmetic on
// ordinary values: one step from zero moments moves each weight by about
// -lr·sign(g) (Adam's first step), and the moments are (1-β)·g and
// (1-β2)·g².
func TestAdamStep(t *testing.T) {
	const lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-8
	a := Adam{B1: b1, C1: 1 - b1, B2: b2, C2: 1 - b2, NegStep: float32(-lr / (1 - b1)), BC2Sqrt: float32(math.Sqrt(1 - b2)), Eps: eps}
	w := []float32{1, -2, 0.5, 3, 0, 7, -1, 2, 4}
	g := []float32{0.3, -0.2, 4, -1e-3, 2, 0.5, -7, 1, 0.25}
	m, v := make([]float32, len(w)), make([]float32, len(w))
	w0 := append([]float32(nil), w...)
	forEachImpl(t, func(t *testing.T) {
		copy(w, w0)
		clear(m)
		clear(v)
		AdamUpdate(w, g, m, v, nil, &a)
		for i := range w {
			gi := float64(g[i])
			if d := math.Abs(float64(m[i]) - (1-b1)*gi); d > 1e-6*math.Abs(gi) {
				t.Fatalf("m[%d] = %v, want %v", i, m[i], (1-b1)*gi)
			}
			if d := math.Abs(float64(v[i]) - (1-b2)*gi*gi); d > 1e-6*gi*gi {
				t.Fatalf("v[%d] = %v, want %v", i, v[i], (1-b2)*gi*gi)
			}
			want := float64(w0[i]) - lr*gi/(math.Abs(gi)+eps)
			if d := math.Abs(float64(w[i]) - want); d > 1e-6 {
				t.Fatalf("w[%d] = %v, want %v", i, w[i], want)
			}
		}
	})
}

// TestAdamAMSGrad: with vmax the running maximum is kept and used.
func TestAdamAMSGrad(t *testing.T) {
	a := adamCases()[0]
	w, g := []float32{1, 1}, []float32{0.1, 0.1}
	m, v, vmax := []float32{0, 0}, []float32{0, 0}, []float32{5, 0}
	AdamUpdate(w, g, m, v, vmax, &a)
	if vmax[0] != 5 || vmax[1] != v[1] {
		t.Fatalf("vmax = %v with v = %v, want [5 %v]", vmax, v, v[1])
	}
	if !(w[0] > w[1]) {
		t.Fatalf("w = %v: the larger vmax must damp the first step", w)
	}
}

func TestAdamRejectsShortSlices(t *testing.T) {
	a := adamCases()[0]
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "kernels.AdamUpdate: 3 weights but 2 gradients") {
			t.Fatalf("panic %q", msg)
		}
	}()
	AdamUpdate(make([]float32, 3), make([]float32, 2), make([]float32, 3), make([]float32, 3), nil, &a)
}
