package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Float64 references, written independently of the kernels' formulas
// (sigmoid through tanh), with the limits at ±Inf that the
// kernels promise.

func refSigmoid(x float64) float64 {
	if math.IsInf(x, 0) {
		return math.Max(0, math.Copysign(1, x))
	}
	return 0.5 * (1 + math.Tanh(x/2))
}

func refSiLU(x float64) float64 {
	if math.IsInf(x, -1) {
		return 0
	}
	return x * refSigmoid(x)
}

func refSiLUGrad(x float64) float64 {
	if math.IsInf(x, 0) {
		return refSigmoid(x)
	}
	s := refSigmoid(x)
	return s + x*s*(1-s)
}

func refGELU(x float64) float64 {
	if math.IsInf(x, -1) {
		return 0
	}
	// 1+erf(z) cancels in the lower tail; erfc(-z) is the same value
	// without the cancellation.
	return 0.5 * x * math.Erfc(-x/math.Sqrt2)
}

func refGELUGrad(x float64) float64 {
	if math.IsInf(x, 0) {
		return refSigmoid(x)
	}
	return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}

func refReLU6(x float64) float64 { return math.Min(math.Max(x, 0), 6) }

func refHardSwish(x float64) float64 {
	if x <= -3 {
		return 0
	}
	return x * refReLU6(x+3) / 6
}

func refHardSwishGrad(x float64) float64 {
	switch {
	case x < -3:
		return 0
	case x >= 3:
		return 1
	}
	return (2*x + 3) / 6
}

func step(cond bool, v float64) float64 {
	if cond {
		return v
	}
	return 0
}

type unaryCase struct {
	name    string
	fwd     func(dst, src []float32)
	bwd     func(dx, v, dy []float32)
	bwdOutY bool // the backward kernel reads the forward output y, not x
	ref     func(x float64) float64
	grad    func(x float64) float64 // derivative with respect to x
}

var unaryCases = []unaryCase{
	{"ReLU", ReLU, ReLUBackward, false,
		func(x float64) float64 { return math.Max(x, 0) },
		func(x float64) float64 { return step(x > 0, 1) }},
	{"ReLU6", ReLU6, ReLU6Backward, false, refReLU6,
		func(x float64) float64 { return step(x > 0 && x < 6, 1) }},
	{"Sigmoid", Sigmoid, SigmoidBackward, true, refSigmoid,
		func(x float64) float64 { s := refSigmoid(x); return s * (1 - s) }},
	{"SiLU", SiLU, SiLUBackward, false, refSiLU, refSiLUGrad},
	{"Tanh", Tanh, TanhBackward, true, math.Tanh,
		func(x float64) float64 { t := math.Tanh(x); return 1 - t*t }},
	{"HardSigmoid", HardSigmoid, HardSigmoidBackward, false,
		func(x float64) float64 { return refReLU6(x+3) / 6 },
		func(x float64) float64 { return step(x > -3 && x < 3, 1.0/6) }},
	{"HardSwish", HardSwish, HardSwishBackward, false, refHardSwish, refHardSwishGrad},
	{"GELU", GELU, GELUBackward, false, refGELU, refGELUGrad},
}

var inf = float32(math.Inf(1))

// specials are the awkward inputs: kinks, huge values, infinities, tiny
// numbers.
var specials = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1, 3, -3, 6, -6, 2.9999998, -2.9999998,
	5.9999995, 6.0000005, 20, -20, 88, -88, 100, -100, 1000, -1000,
	3e38, -3e38, inf, -inf, 1e-30, -1e-30, 1e-45, -1e-45,
}

func close32(got float32, want float64, rtol, atol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(float64(got))
	}
	if math.IsInf(want, 0) {
		return float64(got) == want
	}
	return math.Abs(float64(got)-want) <= atol+rtol*math.Abs(want)
}

func testInputs(r *rand.Rand, n int) []float32 {
	x := make([]float32, 0, n+len(specials))
	x = append(x, specials...)
	for i := 0; i < n; i++ {
		x = append(x, float32(r.NormFloat64()*4))
	}
	return x
}

func TestUnaryForward(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := testInputs(r, 2000)
	for _, c := range unaryCases {
		t.Run(c.name, func(t *testing.T) {
			y := make([]float32, len(x))
			c.fwd(y, x)
			bad := 0
			for i, v := range x {
				want := c.ref(float64(v))
				if math.IsNaN(float64(y[i])) || !close32(y[i], want, 2e-6, 1e-30) {
					if bad++; bad <= 5 {
						t.Errorf("%s(%g) = %g, want %g", c.name, v, y[i], want)
					}
				}
			}
		})
	}
}

func TestUnaryNaNPropagates(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range unaryCases {
		y := []float32{0, 0, 0}
		c.fwd(y, []float32{1, nan, -1})
		if !math.IsNaN(float64(y[1])) || math.IsNaN(float64(y[0])) || math.IsNaN(float64(y[2])) {
			t.Errorf("%s([1 NaN -1]) = %v, want NaN only in the middle", c.name, y)
		}
		// A NaN upstream gradient reaches dx wherever the derivative is
		// not zero.
		dx := []float32{0}
		v := []float32{1}
		if c.bwdOutY {
			c.fwd(v, v)
		}
		c.bwd(dx, v, []float32{nan})
		if !math.IsNaN(float64(dx[0])) {
			t.Errorf("%sBackward at x=1 with dy=NaN gave %g, want NaN", c.name, dx[0])
		}
	}
}

func TestUnaryBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := testInputs(r, 2000)
	for _, c := range unaryCases {
		t.Run(c.name, func(t *testing.T) {
			v := x
			if c.bwdOutY {
				v = make([]float32, len(x))
				c.fwd(v, x)
			}
			dy := make([]float32, len(x))
			dx := make([]float32, len(x))
			for i := range dy {
				dy[i] = float32(r.Float64()*2 - 1)
				dx[i] = float32(r.Float64()*2 - 1) // must be accumulated into
			}
			dx0 := append([]float32(nil), dx...)
			c.bwd(dx, v, dy)
			bad := 0
			for i, xi := range x {
				g := c.grad(float64(xi))
				want := float64(dx0[i]) + float64(dy[i])*g
				if math.IsNaN(float64(dx[i])) || !close32(dx[i], want, 1e-5, 1e-6) {
					if bad++; bad <= 5 {
						t.Errorf("%sBackward at x=%g: dx %g + dy %g·f' %g = %g, want %g", c.name, xi, dx0[i], dy[i], g, dx[i], want)
					}
				}
			}
		})
	}
}

func TestUnaryLargeMagnitude(t *testing.T) {
	// No NaN or Inf from large finite inputs, and the saturated values
	// are exact.
	want := map[string][2]float32{ // f(-1000), f(1000)
		"ReLU": {0, 1000}, "ReLU6": {0, 6}, "Sigmoid": {0, 1}, "SiLU": {0, 1000},
		"Tanh": {-1, 1}, "HardSigmoid": {0, 1}, "HardSwish": {0, 1000}, "GELU": {0, 1000},
	}
	for _, c := range unaryCases {
		y := make([]float32, 2)
		c.fwd(y, []float32{-1000, 1000})
		if w := want[c.name]; y[0] != w[0] || y[1] != w[1] {
			t.Errorf("%s(±1000) = %v, want %v", c.name, y, w)
		}
	}
}

// TestUnaryLayout runs every kernel over all lengths 0..35 at offsets 0..3
// inside guard bands, in place and out of place: nothing outside the slice
// may change, and each element must match the single-element result.
func TestUnaryLayout(t *testing.T) {
	const guard = 8
	sentinel := float32(-12345.5)
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range unaryCases {
		for n := 0; n <= 35; n++ {
			for off := 0; off < 4; off++ {
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(r.NormFloat64() * 5)
				}
				buf := make([]float32, off+n+guard)
				for i := range buf {
					buf[i] = sentinel
				}
				dst := buf[off : off+n]
				c.fwd(dst, src)
				for i := range buf {
					if (i < off || i >= off+n) && buf[i] != sentinel {
						t.Fatalf("%s n=%d off=%d: wrote outside dst at %d", c.name, n, off, i)
					}
				}
				inPlace := append([]float32(nil), src...)
				c.fwd(inPlace, inPlace)
				for i := range src {
					one := []float32{0}
					c.fwd(one, src[i:i+1])
					if dst[i] != one[0] || inPlace[i] != one[0] {
						t.Fatalf("%s n=%d off=%d element %d: %g, in place %g, alone %g", c.name, n, off, i, dst[i], inPlace[i], one[0])
					}
				}
				// Backward into a guarded dx.
				for i := range buf {
					buf[i] = sentinel
				}
				dx := buf[off : off+n]
				clear(dx)
				dy := make([]float32, n)
				for i := range dy {
					dy[i] = 1
				}
				c.bwd(dx, src, dy)
				for i := range buf {
					if (i < off || i >= off+n) && buf[i] != sentinel {
						t.Fatalf("%sBackward n=%d off=%d: wrote outside dx at %d", c.name, n, off, i)
					}
				}
			}
		}
	}
}

func TestUnaryLengthMismatchPanics(t *testing.T) {
	for _, c := range unaryCases {
		for _, call := range []func(){
			func() { c.fwd(make([]float32, 3), make([]float32, 4)) },
			func() { c.bwd(make([]float32, 3), make([]float32, 3), make([]float32, 2)) },
			func() { c.bwd(make([]float32, 3), make([]float32, 4), make([]float32, 3)) },
		} {
			func() {
				defer func() {
					msg := fmt.Sprint(recover())
					if !strings.HasPrefix(msg, "kernels."+c.name) {
						t.Errorf("%s: panic %q does not name the kernel", c.name, msg)
					}
				}()
				call()
			}()
		}
	}
}

func BenchmarkUnary(b *testing.B) {
	const n = 1 << 16
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
	}
	y, dy, dx := make([]float32, n), make([]float32, n), make([]float32, n)
	for _, c := range unaryCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.fwd(y, x)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		b.Run(c.name+"Backward", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.bwd(dx, x, dy)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
