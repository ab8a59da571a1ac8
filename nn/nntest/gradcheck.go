package nntest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/nn"
)

// Options tunes CheckGrad. The zero value uses the defaults.
type Options struct {
	Eps  float64 // finite-difference step (default 1e-2)
	RTol float64 // tolerance relative to the element's gradient (default 2e-2)
	// ATol is the absolute tolerance as a fraction of the largest analytic
	// gradient of the same Var (default 2e-3).
	ATol float64
	// MaxPerVar bounds how many elements of each Var are checked (default
	// 96); larger Vars are sampled with a fixed seed.
	MaxPerVar int
	Seed      uint64 // seed of the random output weights and sampling
}

func (o Options) withDefaults() Options {
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.RTol == 0 {
		o.RTol = 2e-2
	}
	if o.ATol == 0 {
		o.ATol = 2e-3
	}
	if o.MaxPerVar == 0 {
		o.MaxPerVar = 96
	}
	return o
}

// CheckGrad checks the gradients that Backward computes for f against
// central finite differences. f must compute its output from the Vars in
// wrt (each requiring a gradient), deterministically: any randomness inside
// it must restart from the same seed on every call. The output may have any
// shape; CheckGrad reduces it to the scalar sum(out * r) with fixed random
// weights r, so every output element matters. The loss is accumulated in
// float64 to keep rounding out of the differences.
//
// Each mismatch is reported with t.Errorf, naming the Var (by index and
// shape), the element, both gradients and the tolerance; CheckGrad returns
// the number of mismatches.
func CheckGrad(t testing.TB, f func() *nn.Var, wrt []*nn.Var, opt Options) int {
	t.Helper()
	o := opt.withDefaults()
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))

	for i, v := range wrt {
		if !v.RequiresGrad() {
			t.Fatalf("CheckGrad: wrt[%d] %v does not require a gradient", i, v.Value.Shape())
		}
		v.ZeroGrad()
	}
	out := f()
	r := nn.New(out.Shape()...)
	for i := range r.Data() {
		r.Data()[i] = float32(rng.Float64()*2 - 1)
	}
	loss := nn.Sum(nn.Mul(out, nn.NewVar(r)))
	loss.Backward()
	analytic := make([][]float32, len(wrt))
	for i, v := range wrt {
		if v.Grad == nil {
			analytic[i] = make([]float32, v.Value.Len())
		} else {
			analytic[i] = append([]float32(nil), v.Grad.Data()...)
		}
	}
	loss.Release()

	eval := func() float64 {
		var s float64
		nn.NoGrad(func() {
			y := f()
			if !nn.SameShape(y.Shape(), r.Shape()) {
				panic(fmt.Sprintf("CheckGrad: output shape changed from %v to %v", r.Shape(), y.Shape()))
			}
			for j, x := range y.Value.Data() {
				s += float64(x) * float64(r.Data()[j])
			}
		})
		return s
	}

	bad := 0
	for i, v := range wrt {
		d := v.Value.Data()
		maxAbs := 0.0
		for _, g := range analytic[i] {
			maxAbs = math.Max(maxAbs, math.Abs(float64(g)))
		}
		idx := sample(len(d), o.MaxPerVar, rng)
		for _, k := range idx {
			x0 := d[k]
			d[k] = float32(float64(x0) + o.Eps)
			lp := eval()
			d[k] = float32(float64(x0) - o.Eps)
			lm := eval()
			h := float64(float32(float64(x0)+o.Eps)) - float64(float32(float64(x0)-o.Eps))
			d[k] = x0
			num := (lp - lm) / h
			ana := float64(analytic[i][k])
			tol := o.ATol*maxAbs + o.RTol*math.Abs(num) + 1e-6
			// Written so that NaN or Inf on either side counts as a mismatch.
			if !(math.Abs(ana-num) <= tol) || math.IsInf(num, 0) || math.IsInf(ana, 0) {
				bad++
				if bad <= 10 {
					t.Errorf("CheckGrad: wrt[%d] %v element %d: analytic %.6g, numeric %.6g (|diff| %.3g > tol %.3g)",
						i, v.Value.Shape(), k, ana, num, math.Abs(ana-num), tol)
				}
			}
		}
	}
	return bad
}

// sample returns up to k distinct indices in [0, n): all of them when n <= k,
// else the first and last and a random selection between.
func sample(n, k int, rng *rand.Rand) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := []int{0, n - 1}
	seen := map[int]bool{0: true, n - 1: true}
	for len(idx) < k {
		j := rng.IntN(n)
		if !seen[j] {
			seen[j] = true
			idx = append(idx, j)
		}
	}
	return idx
}

// Rand returns a tensor of the given shape with values uniform in [lo, hi),
// drawn from rng: the usual way to make inputs for CheckGrad.
func Rand(rng *rand.Rand, lo, hi float32, shape ...int) *nn.Tensor {
	t := nn.New(shape...)
	for i := range t.Data() {
		t.Data()[i] = lo + (hi-lo)*rng.Float32()
	}
	return t
}

// RandAwayFrom is Rand but keeps every value at least margin away from each
// of the given points (kinks such as 0 for ReLU), so finite differences do
// not straddle them.
func RandAwayFrom(rng *rand.Rand, lo, hi, margin float32, kinks []float32, shape ...int) *nn.Tensor {
	t := nn.New(shape...)
	for i := range t.Data() {
	retry:
		x := lo + (hi-lo)*rng.Float32()
		for _, k := range kinks {
			if x > k-margin && x < k+margin {
				goto retry
			}
		}
		t.Data()[i] = x
	}
	return t
}
