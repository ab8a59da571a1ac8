package optim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// A tensor larger than one update chunk is updated in parallel pieces; the
// result must equal updating each element on its own, for any thread count.
func TestLargeParameterUpdatedInChunks(t *testing.T) {
	const n = 50000
	rng := rand.New(rand.NewPCG(4, 4))
	w0, g := nn.New(n), nn.New(n)
	nn.Normal(w0, 0, 1, rng)
	nn.Normal(g, 0, 1, rng)
	run := func(threads int) []float32 {
		defer nn.SetThreads(nn.SetThreads(threads))
		p := nn.Param(w0.Clone())
		opt, err := optim.NewAdamW(layers.Params(&one{p}), optim.AdamWConfig{LR: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			p.Grad = g.Clone()
			opt.Step()
		}
		return p.Value.Data()
	}
	a, b := run(1), run(4)
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("element %d: %v with 1 thread, %v with 4", k, a[k], b[k])
		}
	}
	for _, k := range []int{0, 1<<14 - 1, 1 << 14, n - 1} {
		// The same element as a parameter of its own.
		p := nn.Param(nn.FromData([]float32{w0.Data()[k]}, 1))
		opt, _ := optim.NewAdamW(layers.Params(&one{p}), optim.AdamWConfig{LR: 0.1})
		for i := 0; i < 3; i++ {
			p.Grad = nn.FromData([]float32{g.Data()[k]}, 1)
			opt.Step()
		}
		if p.Value.Data()[0] != a[k] {
			t.Fatalf("element %d: %v in a large tensor, %v alone", k, a[k], p.Value.Data()[0])
		}
	}
}

// one is a module with a single parameter "w".
type one struct{ w *nn.Var }

func (o *one) Members() layers.Members {
	return layers.Members{Params: []layers.Param{{Name: "w", Var: o.w}}}
}

func TestFrozenParameterDoesNotMove(t *testing.T) {
	p := nn.Param(nn.FromData([]float32{0.7}, 1))
	opt, err := optim.NewAdamW(layers.Params(&one{p}), optim.AdamWConfig{LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	p.Grad = nn.FromData([]float32{1}, 1)
	opt.Step()
	moved := p.Value.Data()[0]
	p.SetRequiresGrad(false)
	opt.ZeroGrad()
	for i := 0; i < 3; i++ {
		opt.Step()
	}
	if p.Value.Data()[0] != moved {
		t.Fatalf("frozen parameter moved from %v to %v", moved, p.Value.Data()[0])
	}
}
