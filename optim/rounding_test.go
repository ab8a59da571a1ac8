package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// The update loops round every float32 operation on its own: a product
// that meets an addition is converted explicitly, which the Go spec says
// stops the compiler fusing the two into one FMA (it may where GOAMD64 is
// v3 or above). The oracles below compute each operation in float64 and
// round it to float32, which gives the correctly rounded float32 result
// for +, -, ×, ÷ and √ (53 ≥ 2·24 + 2 bits), and no compiler fuses a
// float64 operation into a float32 one. CI runs these tests again with
// GOAMD64=v3 (.ci/run), where a missing conversion fails them.

// r32 rounds to float32.
func r32(x float64) float32 { return float32(x) }

func add(a, b float32) float32 { return r32(float64(a) + float64(b)) }
func sub(a, b float32) float32 { return r32(float64(a) - float64(b)) }
func mul(a, b float32) float32 { return r32(float64(a) * float64(b)) }
func div(a, b float32) float32 { return r32(float64(a) / float64(b)) }
func sqr(a float32) float32    { return r32(math.Sqrt(float64(a))) }

// roundingInputs returns n weights, gradients and three state buffers of
// mixed magnitudes, where fused and unfused results differ often.
func roundingInputs(n int) (w, g, s1, s2, s3 []float32) {
	rng := rand.New(rand.NewPCG(3, 4))
	v := func() []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(5)-2)))
		}
		return x
	}
	pos := func() []float32 {
		x := v()
		for i := range x {
			x[i] *= x[i]
		}
		return x
	}
	return v(), v(), pos(), v(), v()
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v (%#x), want %v (%#x): an operation was fused or reordered", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func clone(x []float32) []float32 { return append([]float32(nil), x...) }

func TestSGDRounding(t *testing.T) {
	const n = 512
	negLR, wd, mom, damp := float32(-0.1), float32(1e-2), float32(0.9), float32(0.75)
	for _, nesterov := range []bool{false, true} {
		for _, first := range []bool{false, true} {
			w, g, _, buf, _ := roundingInputs(n)
			ww, wb := clone(w), clone(buf)
			sgdUpdate(w, g, buf, negLR, wd, mom, damp, nesterov, first)
			for i := range ww {
				d := add(g[i], mul(wd, ww[i]))
				if first {
					wb[i] = d
				} else {
					wb[i] = add(mul(wb[i], mom), mul(damp, d))
				}
				if nesterov {
					d = add(d, mul(mom, wb[i]))
				} else {
					d = wb[i]
				}
				ww[i] = add(ww[i], mul(negLR, d))
			}
			sameBits(t, "buf", buf, wb)
			sameBits(t, "w", w, ww)
		}
	}
}

func TestRMSPropRounding(t *testing.T) {
	const n = 512
	r := rmsStep{lr: 0.01, negLR: -0.01, alpha: 0.9, c: 0.1, eps: 1e-3, mom: 0.9, wd: 1e-2}
	for _, c := range []struct{ tf, centered, momentum bool }{
		{false, false, false}, {false, false, true}, {false, true, false}, {false, true, true},
		{true, false, false}, {true, false, true}, {true, true, false}, {true, true, true},
	} {
		tf, centered := c.tf, c.centered
		{
			w, g, ms, buf, ga := roundingInputs(n)
			if !centered {
				ga = nil
			}
			if !c.momentum {
				buf = nil
			}
			ww, wms, wbuf, wga := clone(w), clone(ms), clone(buf), clone(ga)
			if tf {
				r.updateTF(w, g, ms, buf, ga)
			} else {
				r.update(w, g, ms, buf, ga)
			}
			for i := range ww {
				gi := add(g[i], mul(r.wd, ww[i]))
				var d float32
				if tf {
					wms[i] = add(wms[i], mul(r.c, sub(mul(gi, gi), wms[i])))
					v := wms[i]
					if centered {
						wga[i] = add(wga[i], mul(r.c, sub(gi, wga[i])))
						v = add(v, mul(-wga[i], wga[i]))
					}
					d = sqr(add(v, r.eps))
					if buf == nil {
						ww[i] = add(ww[i], div(mul(r.negLR, gi), d))
						continue
					}
					wbuf[i] = add(mul(wbuf[i], r.mom), div(mul(r.lr, gi), d))
					ww[i] = sub(ww[i], wbuf[i])
				} else {
					wms[i] = add(mul(wms[i], r.alpha), mul(mul(r.c, gi), gi))
					v := wms[i]
					if centered {
						wga[i] = add(mul(wga[i], r.alpha), mul(r.c, gi))
						v = add(v, mul(-wga[i], wga[i]))
					}
					d = add(sqr(v), r.eps)
					if buf == nil {
						ww[i] = add(ww[i], div(mul(r.negLR, gi), d))
						continue
					}
					wbuf[i] = add(mul(wbuf[i], r.mom), div(gi, d))
					ww[i] = add(ww[i], mul(r.negLR, wbuf[i]))
				}
			}
			sameBits(t, "ms", ms, wms)
			sameBits(t, "buf", buf, wbuf)
			sameBits(t, "ga", ga, wga)
			sameBits(t, "w", w, ww)
		}
	}
}

func TestEMARounding(t *testing.T) {
	const n = 512
	w, _, _, s, _ := roundingInputs(n)
	x := nn.FromData(clone(w), n)
	e, err := NewEMA([]layers.Param{{Name: "x", Var: nn.Param(x)}}, EMAConfig{Decay: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	copy(e.shadow[0].Data(), s)
	e.Update()
	a, b := float32(0.9), float32(1-0.9)
	want := make([]float32, n)
	for i := range want {
		want[i] = add(mul(a, s[i]), mul(b, w[i]))
	}
	sameBits(t, "ema", e.shadow[0].Data(), want)
}
