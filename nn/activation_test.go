package nn_test

import (
	"math"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

var activations = []struct {
	name  string
	f     func(*nn.Var) *nn.Var
	kinks []float32
}{
	{"ReLU", nn.ReLU, []float32{0}},
	{"ReLU6", nn.ReLU6, []float32{0, 6}},
	{"Sigmoid", nn.Sigmoid, nil},
	{"SiLU", nn.SiLU, nil},
	{"Tanh", nn.Tanh, nil},
	{"HardSigmoid", nn.HardSigmoid, []float32{-3, 3}},
	{"HardSwish", nn.HardSwish, []float32{-3, 3}},
	{"GELU", nn.GELU, nil},
}

func TestActivationGrad(t *testing.T) {
	shapes := [][]int{{1, 3, 5, 7}, {2, 3, 3, 1}, {1}, {5, 9}}
	for _, a := range activations {
		for _, s := range shapes {
			x := nn.Param(nntest.RandAwayFrom(rng(21), -8, 8, 0.05, append(a.kinks, -3, 0, 3, 6), s...))
			t.Run(a.name, func(t *testing.T) {
				nntest.CheckGrad(t, func() *nn.Var { return a.f(x) }, []*nn.Var{x}, nntest.Options{Eps: 1e-2})
			})
		}
	}
}

// TestActivationGradLarge covers tensors big enough to be split across
// threads.
func TestActivationGradLarge(t *testing.T) {
	for _, a := range activations {
		x := nn.Param(nntest.RandAwayFrom(rng(22), -8, 8, 0.05, a.kinks, 2, 29, 31, 11)) // > minChunk elements
		t.Run(a.name, func(t *testing.T) {
			nntest.CheckGrad(t, func() *nn.Var { return a.f(x) }, []*nn.Var{x}, nntest.Options{Eps: 1e-2, MaxPerVar: 24})
		})
	}
}

func TestActivationValues(t *testing.T) {
	x := []float32{-4, -3, -1, 0, 0.5, 3, 6, 7}
	s := func(v float64) float32 { return float32(1 / (1 + math.Exp(-v))) }
	want := map[string][]float32{
		"ReLU":        {0, 0, 0, 0, 0.5, 3, 6, 7},
		"ReLU6":       {0, 0, 0, 0, 0.5, 3, 6, 6},
		"Sigmoid":     {s(-4), s(-3), s(-1), 0.5, s(0.5), s(3), s(6), s(7)},
		"SiLU":        {-4 * s(-4), -3 * s(-3), -s(-1), 0, 0.5 * s(0.5), 3 * s(3), 6 * s(6), 7 * s(7)},
		"Tanh":        {-0.99932930, -0.99505475, -0.76159416, 0, 0.46211716, 0.99505475, 0.99998771, 0.99999834},
		"HardSigmoid": {0, 0, 2.0 / 6, 0.5, 3.5 / 6, 1, 1, 1},
		"HardSwish":   {0, 0, -2.0 / 6, 0, 0.5 * 3.5 / 6, 3, 6, 7},
		// x·Φ(x), Φ from tables.
		"GELU": {-4 * 3.1671242e-05, -3 * 0.0013498980, -0.15865525, 0, 0.5 * 0.69146246, 3 * 0.99865010, 6 * 0.99999999901, 7},
	}
	for _, a := range activations {
		got := a.f(nn.NewVar(nn.FromData(append([]float32(nil), x...), 2, 4))).Value.Data()
		for i, w := range want[a.name] {
			if math.Abs(float64(got[i]-w)) > 1e-6*max(1, math.Abs(float64(w))) {
				t.Errorf("%s(%g) = %g, want %g", a.name, x[i], got[i], w)
			}
		}
	}
}

// TestActivationDerivatives checks the derivatives at chosen points,
// kinks included, where the finite-difference check cannot look.
func TestActivationDerivatives(t *testing.T) {
	x := []float32{-4, -3, -1, 0, 1, 3, 6, 7}
	want := map[string][]float32{
		"ReLU":        {0, 0, 0, 0, 1, 1, 1, 1},
		"ReLU6":       {0, 0, 0, 0, 1, 1, 0, 0},
		"HardSigmoid": {0, 0, 1.0 / 6, 1.0 / 6, 1.0 / 6, 0, 0, 0},
		"HardSwish":   {0, -0.5, 1.0 / 6, 0.5, 5.0 / 6, 1, 1, 1}, // PyTorch's vectorised hardswish_backward
		"Tanh":        {1 - 0.99932930*0.99932930, 1 - 0.99505475*0.99505475, 1 - 0.76159416*0.76159416, 1, 1 - 0.76159416*0.76159416, 1 - 0.99505475*0.99505475, 1 - 0.99998771*0.99998771, 1 - 0.99999834*0.99999834},
		"SiLU":        {-0.05266461, -0.08810411, 0.07232949, 0.5, 0.92767051, 1.08810411, 1.01232643, 1.0054605},
		"Sigmoid":     {0.01766271, 0.04517666, 0.19661193, 0.25, 0.19661193, 0.04517666, 0.00246651, 0.00091022},
		"GELU":        {-0.00050365, -0.01194565, -0.08331547, 0.5, 1.08331547, 1.01194565, 1.00000004, 1},
	}
	for _, a := range activations {
		v := nn.Param(nn.FromData(append([]float32(nil), x...), 8))
		nn.Sum(a.f(v)).Backward()
		for i, w := range want[a.name] {
			if g := v.Grad.Data()[i]; math.Abs(float64(g-w)) > 5e-7 {
				t.Errorf("%s'(%g) = %.8g, want %.8g", a.name, x[i], g, w)
			}
		}
	}
}

func TestActivationSaturation(t *testing.T) {
	x := nn.Param(nn.FromData([]float32{-1000, 1000, float32(math.Inf(-1)), float32(math.Inf(1))}, 4))
	for _, a := range activations {
		x.ZeroGrad()
		y := a.f(x)
		nn.Sum(nn.Mul(y, nn.NewVar(nn.FromData([]float32{1, 1, 0, 0}, 4)))).Backward()
		for i, v := range y.Value.Data() {
			if math.IsNaN(float64(v)) {
				t.Errorf("%s(%g) = NaN", a.name, x.Value.Data()[i])
			}
		}
		for i, g := range x.Grad.Data() {
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
				t.Errorf("%s gradient at %g = %g", a.name, x.Value.Data()[i], g)
			}
		}
	}
}
