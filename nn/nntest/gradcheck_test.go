package nntest_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// recorder is a testing.TB that counts errors instead of failing.
type recorder struct {
	testing.TB
	errors int
}

func (r *recorder) Errorf(string, ...any) { r.errors++ }
func (r *recorder) Helper()               {}

// square is x² with a deliberately chosen derivative factor.
func square(x *nn.Var, factor float32) *nn.Var {
	in := x.Value.Data()
	y := nn.New(x.Shape()...)
	for i, v := range in {
		y.Data()[i] = v * v
	}
	return nn.Custom("square", y, func(g *nn.Tensor) {
		d := make([]float32, len(in))
		for i, v := range in {
			d[i] = factor * v * g.Data()[i]
		}
		x.AccumulateGrad(d)
	}, x)
}

func TestCheckGradAcceptsCorrectAndRejectsWrong(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := nn.Param(nntest.Rand(rng, 0.5, 2, 3, 4))
	if bad := nntest.CheckGrad(t, func() *nn.Var { return square(x, 2) }, []*nn.Var{x}, nntest.Options{}); bad != 0 {
		t.Fatalf("correct gradient rejected %d times", bad)
	}
	r := &recorder{TB: t}
	bad := nntest.CheckGrad(r, func() *nn.Var { return square(x, 2.1) }, []*nn.Var{x}, nntest.Options{})
	// Elements whose gradient is tiny next to the largest may pass within
	// the absolute tolerance; most of the 12 must be caught.
	if bad < 8 || r.errors != min(bad, 10) {
		t.Fatalf("5%% wrong gradient: %d of 12 caught, %d reported", bad, r.errors)
	}
}

// A function whose finite differences are NaN or Inf must never pass.
func TestCheckGradRejectsNonFinite(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		x := nn.Param(nn.Full(1, 3))
		f := func() *nn.Var {
			y := nn.Full(v, 3)
			return nn.Custom("broken", y, func(g *nn.Tensor) { x.AccumulateGrad(g.Data()) }, x)
		}
		r := &recorder{TB: t}
		if bad := nntest.CheckGrad(r, f, []*nn.Var{x}, nntest.Options{}); bad != 3 {
			t.Fatalf("output %v: %d mismatches, want 3", v, bad)
		}
	}
}
