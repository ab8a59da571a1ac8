package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// focalCases are the constants the tests run: torchvision's defaults, the
// EfficientDet ones with label smoothing, no α and no focusing, and a γ
// without a SIMD kernel.
var focalCases = []Focal{
	{Gamma: 2, Alpha: [2]float32{0.75, 0.25}, Target: [2]float32{0, 1}, Scale: 1},
	{Gamma: 1.5, Alpha: [2]float32{0.75, 0.25}, Target: [2]float32{0.05, 0.95}, Scale: 0.37},
	{Gamma: 1, Alpha: [2]float32{1, 1}, Target: [2]float32{0, 1}, Scale: -3},
	{Gamma: 0, Alpha: [2]float32{0.5, 0.5}, Target: [2]float32{0.1, 0.9}, Scale: 1e-3},
	{Gamma: 0.7, Alpha: [2]float32{0.75, 0.25}, Target: [2]float32{0, 1}, Scale: 2},
}

// refFocal is the term in float64 (efficientdet's former implementation,
// with p − t′ for a positive as (1 − t′) − (1 − p)): the loss, Scale times
// the derivative, and the magnitude of the derivative's terms, which bounds
// its rounding error where they cancel (p close to a smoothed target).
func refFocal(x float64, pos bool, f *Focal) (loss, grad, mag float64) {
	t := 0
	if pos {
		t = 1
	}
	at, ts, g := float64(f.Alpha[t]), float64(f.Target[t]), float64(f.Gamma)
	e := math.Exp(-math.Abs(x))
	p, q := 1/(1+e), e/(1+e)
	if x < 0 {
		p, q = q, p
	}
	u, du, pt := p, p*q, p-ts
	if pos {
		u, du, pt = q, -du, (1-ts)-q // p − t′ without cancellation
	}
	bce := math.Max(x, 0) - x*ts + math.Log1p(e)
	mod, dmod := math.Pow(u, g), 0.0
	if g > 0 && u > 0 {
		dmod = g * math.Pow(u, g-1) * du
	}
	sc := float64(f.Scale) * at
	return at * mod * bce, sc * (dmod*bce + mod*pt), math.Abs(sc) * (math.Abs(dmod*bce) + mod*(math.Abs(p)+math.Abs(ts)))
}

// TestFocalBitIdentical: every implementation gives the generic loop's
// bits for the derivatives and the lane sums, over every vector remainder
// up to 71 elements and some longer runs, inputs offset by 0–3 elements,
// hostile values (NaN, ±Inf, ±0, subnormals, ±3e38) and a guard band
// around d; the sums continue from values already in sum.
func TestFocalBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	forEachImpl(t, func(t *testing.T) {
		for ci := range focalCases {
			f := &focalCases[ci]
			for _, n := range append(seq(71), 119, 128, 1000) {
				off := n % 4
				x := hostile(r, n+off, true)[off:]
				var got, want [8]float64
				for i := range got {
					got[i] = float64(i) - 3.5
					want[i] = got[i]
				}
				d, ok := guarded(t, n, (off+1)%4, 8)
				dw := make([]float32, n)
				FocalNegatives(x, d, f, &got)
				focalNegGeneric(x, dw, f.Alpha[0], f.Target[0], f.Scale, f.Gamma, f.gamma(), &want)
				ok()
				for i := range dw {
					if !sameFloat32(d[i], dw[i]) {
						t.Fatalf("γ=%v n%d: d[%d] at x=%v = %v, generic %v", f.Gamma, n, i, x[i], d[i], dw[i])
					}
				}
				for i := range got {
					if !sameFloat64(got[i], want[i]) {
						t.Fatalf("γ=%v n%d: sum[%d] = %v, generic %v", f.Gamma, n, i, got[i], want[i])
					}
				}
			}
		}
	})
}

// TestFocalTerm: FocalTerm on a negative gives FocalNegatives' bits, and
// both targets agree with the float64 formula over a sweep of x: losses
// within 4e-6 relative (or 1e-30 absolute for tiny values), derivatives
// within 4e-6 of the magnitude of their terms (refFocal); ±Inf and NaN as
// in float64.
func TestFocalTerm(t *testing.T) {
	for ci := range focalCases {
		f := &focalCases[ci]
		var worstL, worstG float64
		for x := float32(-60); x < 60; x += 0.0173 {
			var sum [8]float64
			var d [1]float32
			FocalNegatives([]float32{x}, d[:], f, &sum)
			l0, g0 := FocalTerm(x, false, f)
			if !sameFloat64(sum[0], float64(l0)) || !sameFloat32(d[0], g0) {
				t.Fatalf("γ=%v x=%v: FocalTerm %v %v, FocalNegatives %v %v", f.Gamma, x, l0, g0, sum[0], d[0])
			}
			for _, pos := range []bool{false, true} {
				l, g := FocalTerm(x, pos, f)
				wl, wg, mag := refFocal(float64(x), pos, f)
				worstL = max(worstL, relErr(l, wl))
				worstG = max(worstG, relErr(g, wg)*math.Abs(wg)/max(mag, math.Abs(wg)))
			}
		}
		if worstL > 4e-6 || worstG > 4e-6 {
			t.Errorf("γ=%v: worst relative error: loss %.2g, derivative %.2g; want <= 4e-6", f.Gamma, worstL, worstG)
		}
		t.Logf("γ=%v: worst relative error: loss %.2g, derivative %.2g", f.Gamma, worstL, worstG)
	}
	f := &focalCases[0]
	inf := float32(math.Inf(1))
	for _, x := range []float32{-inf, inf, 1e30, -1e30, 100, -100, float32(math.NaN())} {
		for _, pos := range []bool{false, true} {
			l, g := FocalTerm(x, pos, f)
			wl, wg, _ := refFocal(float64(x), pos, f)
			if relErr(l, wl) > 4e-6 || relErr(g, wg) > 4e-6 {
				t.Errorf("x=%v pos=%v: %v %v, float64 %v %v", x, pos, l, g, wl, wg)
			}
		}
	}
}

// relErr is the relative error of got, 0 within 1e-30 of want or where
// both are NaN, and Inf where only one is.
func relErr(got float32, want float64) float64 {
	g := float64(got)
	switch {
	case math.IsNaN(g) || math.IsNaN(want):
		if math.IsNaN(g) && math.IsNaN(want) {
			return 0
		}
		return math.Inf(1)
	case g == want:
		return 0
	}
	diff := math.Abs(g - want)
	if diff < 1e-30 {
		return 0
	}
	return diff / math.Abs(want)
}

func TestFocalRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		gamma float32
		n, nd int
		want  string
	}{
		{-1, 4, 4, "gamma"},
		{float32(math.NaN()), 4, 4, "gamma"},
		{float32(math.Inf(1)), 4, 4, "gamma"},
		{2, 8, 7, "8 logits but 7 derivatives"},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), c.want) {
					t.Errorf("γ=%v len %d/%d: panic %v, want %q", c.gamma, c.n, c.nd, r, c.want)
				}
			}()
			var sum [8]float64
			FocalNegatives(make([]float32, c.n), make([]float32, c.nd), &Focal{Gamma: c.gamma}, &sum)
		}()
	}
}

// BenchmarkFocalNegatives times FocalNegatives per implementation on a
// block of 1024 anchors × 90 classes (EfficientDet's COCO head), γ = 1.5
// (SIMD) and 0.7 (math.Pow), in millions of logits per second on one
// thread.
func BenchmarkFocalNegatives(b *testing.B) {
	prev := Impl()
	defer Use(prev)
	r := rand.New(rand.NewPCG(5, 6))
	x := hostile(r, 1024*90, false)
	d := make([]float32, len(x))
	for _, impl := range Available() {
		for _, g := range []float32{1.5, 0.7} {
			f := Focal{Gamma: g, Alpha: [2]float32{0.75, 0.25}, Target: [2]float32{0, 1}, Scale: 1}
			b.Run(fmt.Sprintf("%s/gamma%v", impl, g), func(b *testing.B) {
				if err := Use(impl); err != nil {
					b.Fatal(err)
				}
				var sum [8]float64
				b.ReportAllocs()
				for b.Loop() {
					FocalNegatives(x, d, &f, &sum)
				}
				b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlogits/s")
			})
		}
	}
}
