package nn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/internal/parallel"
	"github.com/sortnet/sortnet/nn/nntest"
)

// bnShapes: NHWC with odd channel counts, batch 1 with spatial > 1, an
// [N, C] batch, and a single channel.
var bnShapes = [][]int{
	{2, 3, 4, 5},
	{1, 3, 3, 3},
	{1, 2, 2, 7},
	{3, 2, 1, 1},
	{5, 3},
}

func TestBatchNormGrad(t *testing.T) {
	for _, training := range []bool{true, false} {
		for _, shape := range bnShapes {
			c := shape[len(shape)-1]
			t.Run(fmt.Sprintf("train=%t/%v", training, shape), func(t *testing.T) {
				r := rng(21)
				x := nn.Param(nntest.Rand(r, -2, 2, shape...))
				gamma := nn.Param(nntest.Rand(r, 0.5, 1.5, c))
				beta := nn.Param(nntest.Rand(r, -1, 1, c))
				rm, rv := nntest.Rand(r, -0.5, 0.5, c), nntest.Rand(r, 0.5, 2, c)
				f := func() *nn.Var {
					// Fresh copies: training would otherwise drift the
					// running stats between the finite-difference calls
					// (harmless, but keep f a pure function).
					return nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningMean: rm.Clone(), RunningVar: rv.Clone(), Training: training, Momentum: 0.1, Eps: 1e-5})
				}
				nntest.CheckGrad(t, f, []*nn.Var{x, gamma, beta}, nntest.Options{Eps: 1e-3})
			})
		}
	}
}

// TestBatchNormGradComposite feeds BatchNorm from another op and into
// another op, with constant affine parameters, so the gradient also has to
// accumulate correctly into a non-leaf input.
func TestBatchNormGradComposite(t *testing.T) {
	r := rng(22)
	x := nn.Param(nntest.Rand(r, -2, 2, 2, 3, 3, 4))
	gamma, beta := nn.NewVar(nn.Full(1, 4)), nn.NewVar(nn.New(4))
	f := func() *nn.Var {
		h := nn.MulScalar(x, 3)
		return nn.Mul(nn.BatchNorm(h, gamma, beta, nn.BNOpts{Training: true, Momentum: 0.1, Eps: 1e-3}), h)
	}
	nntest.CheckGrad(t, f, []*nn.Var{x}, nntest.Options{Eps: 1e-3})
}

func TestBatchNormRunningStats(t *testing.T) {
	// Channel 0: 1, 3, 5 -> mean 3, biased var 8/3, unbiased var 4.
	// Channel 1: 10, 20, 60 -> mean 30, biased var 1400/3, unbiased 700.
	x := nn.NewVar(nn.FromData([]float32{1, 10, 3, 20, 5, 60}, 3, 2))
	gamma := nn.NewVar(nn.FromData([]float32{2, 1}, 2))
	beta := nn.NewVar(nn.FromData([]float32{0.5, 0}, 2))
	rm := nn.FromData([]float32{1, 2}, 2)
	rv := nn.FromData([]float32{2, 3}, 2)
	y := nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningMean: rm, RunningVar: rv, Training: true, Momentum: 0.1, Eps: 0})
	want := map[string][]float64{
		"running mean": {0.9*1 + 0.1*3, 0.9*2 + 0.1*30},
		"running var":  {0.9*2 + 0.1*4, 0.9*3 + 0.1*700},
		"output": {
			2*(1-3)/math.Sqrt(8.0/3) + 0.5, (10 - 30) / math.Sqrt(1400.0/3),
			0.5, (20 - 30) / math.Sqrt(1400.0/3),
			2*(5-3)/math.Sqrt(8.0/3) + 0.5, (60 - 30) / math.Sqrt(1400.0/3),
		},
	}
	got := map[string][]float32{"running mean": rm.Data(), "running var": rv.Data(), "output": y.Value.Data()}
	for name, w := range want {
		for i := range w {
			if math.Abs(float64(got[name][i])-w[i]) > 1e-6*math.Max(1, math.Abs(w[i])) {
				t.Errorf("%s = %v, want %v", name, got[name], w)
				break
			}
		}
	}

	// Evaluation uses (and does not change) the running statistics.
	rm0, rv0 := rm.Clone(), rv.Clone()
	y = nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningMean: rm, RunningVar: rv, Momentum: 0.1, Eps: 1e-3})
	for i, v := range x.Value.Data() {
		c := i % 2
		w := (float64(v)-float64(rm0.Data()[c]))/math.Sqrt(float64(rv0.Data()[c])+1e-3)*float64(gamma.Value.Data()[c]) + float64(beta.Value.Data()[c])
		if math.Abs(float64(y.Value.Data()[i])-w) > 1e-5*math.Max(1, math.Abs(w)) {
			t.Fatalf("eval output %d = %v, want %v", i, y.Value.Data()[i], w)
		}
	}
	if rm.Data()[1] != rm0.Data()[1] || rv.Data()[1] != rv0.Data()[1] {
		t.Fatal("evaluation changed the running statistics")
	}

	// Training without running statistics, or with only one of them, and
	// under NoGrad (which still updates them, as PyTorch does).
	nn.BatchNorm(x, gamma, beta, nn.BNOpts{Training: true, Momentum: 0.1, Eps: 1e-5})
	nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningVar: rv, Training: true, Momentum: 0.1, Eps: 1e-5})
	nn.NoGrad(func() {
		nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningMean: rm, Training: true, Momentum: 0.5, Eps: 1e-5})
	})
	if w := float32(0.5*float64(rm0.Data()[0]) + 0.5*3); rm.Data()[0] != w {
		t.Fatalf("running mean under NoGrad = %v, want %v", rm.Data()[0], w)
	}
}

// TestBatchNormThreadInvariant runs forward and backward with 1 and 3
// threads on a size that spans several reduction blocks.
func TestBatchNormThreadInvariant(t *testing.T) {
	shape := []int{4, 33, 35, 7}
	run := func(threads int) [][]float32 {
		prev := parallel.SetThreads(threads)
		defer parallel.SetThreads(prev)
		r := rng(5)
		x := nn.Param(nntest.Rand(r, -1, 3, shape...))
		gamma, beta := nn.Param(nntest.Rand(r, 0.5, 1.5, 7)), nn.Param(nntest.Rand(r, -1, 1, 7))
		up := nntest.Rand(r, -1, 1, shape...)
		rm, rv := nn.New(7), nn.Full(1, 7)
		y := nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningMean: rm, RunningVar: rv, Training: true, Momentum: 0.1, Eps: 1e-5})
		nn.Sum(nn.Mul(y, nn.NewVar(up))).Backward()
		ye := nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningMean: rm, RunningVar: rv, Momentum: 0.1, Eps: 1e-5})
		return [][]float32{y.Value.Data(), x.Grad.Data(), gamma.Grad.Data(), beta.Grad.Data(), rm.Data(), rv.Data(), ye.Value.Data()}
	}
	bnSameBits(t, run(1), run(3))
}

func bnSameBits(t *testing.T, a, b [][]float32) {
	t.Helper()
	for k := range a {
		for i := range a[k] {
			if math.Float32bits(a[k][i]) != math.Float32bits(b[k][i]) {
				t.Fatalf("output %d element %d: %v with 1 thread, %v with 3", k, i, a[k][i], b[k][i])
			}
		}
	}
}

func TestBatchNormPanics(t *testing.T) {
	x := nn.NewVar(nn.New(2, 3, 3, 4))
	g4, b4 := nn.NewVar(nn.New(4)), nn.NewVar(nn.New(4))
	cases := []struct {
		want string
		f    func()
	}{
		{"nn.BatchNorm: input [2 3 3 4], gamma [3]: need [4]", func() {
			nn.BatchNorm(x, nn.NewVar(nn.New(3)), b4, nn.BNOpts{Training: true, Momentum: 0.1, Eps: 1e-5})
		}},
		{"nn.BatchNorm: input [2 3 3 4], running var [4 1]: need [4]", func() {
			nn.BatchNorm(x, g4, b4, nn.BNOpts{RunningMean: nn.New(4), RunningVar: nn.New(4, 1), Training: true, Momentum: 0.1, Eps: 1e-5})
		}},
		{"nn.BatchNorm: input [4]: need at least 2 dimensions", func() {
			nn.BatchNorm(nn.NewVar(nn.New(4)), g4, b4, nn.BNOpts{Training: true, Momentum: 0.1, Eps: 1e-5})
		}},
		{"nn.BatchNorm: input [1 1 1 4]: training needs more than 1 value per channel", func() {
			nn.BatchNorm(nn.NewVar(nn.New(1, 1, 1, 4)), g4, b4, nn.BNOpts{Training: true, Momentum: 0.1, Eps: 1e-5})
		}},
		{"nn.BatchNorm: input [2 3 3 4]: evaluation mode needs the running mean and variance", func() {
			nn.BatchNorm(x, g4, b4, nn.BNOpts{RunningMean: nn.New(4), Momentum: 0.1, Eps: 1e-5})
		}},
	}
	for _, tc := range cases {
		bnExpectPanic(t, tc.want, tc.f)
	}
}

func bnExpectPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, want) {
			t.Errorf("panic %q, want it to contain %q", msg, want)
		}
	}()
	f()
}

func ExampleBatchNorm() {
	// Two samples of a 1×2 image with 2 channels (NHWC).
	x := nn.Param(nn.FromData([]float32{1, 10, 3, 20, 5, 30, 7, 40}, 2, 1, 2, 2))
	gamma, beta := nn.Param(nn.Full(1, 2)), nn.Param(nn.New(2))
	runMean, runVar := nn.New(2), nn.Full(1, 2)
	y := nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningMean: runMean, RunningVar: runVar, Training: true, Momentum: nn.BatchNormMomentum, Eps: nn.BatchNormEps})
	fmt.Printf("y %.3f\n", y.Value.Data())
	fmt.Printf("running mean %.3f, running var %.3f\n", runMean.Data(), runVar.Data())
	// Output:
	// y [-1.342 -1.342 -0.447 -0.447 0.447 0.447 1.342 1.342]
	// running mean [0.400 2.500], running var [1.567 17.567]
}

// TestBatchNormSiLU: BNOpts.SiLU gives SiLU(BatchNorm(x)) bit for bit,
// through the fused pass when no gradient is needed (under NoGrad, or
// with constant inputs) and through the two ops otherwise, with the same
// running statistics; and its gradient is that of the composition.
func TestBatchNormSiLU(t *testing.T) {
	for _, training := range []bool{true, false} {
		for _, shape := range append(bnShapes, []int{2, 5, 3, 37}) {
			c := shape[len(shape)-1]
			t.Run(fmt.Sprintf("train=%t/%v", training, shape), func(t *testing.T) {
				r := rng(23)
				xt := nntest.Rand(r, -3, 3, shape...)
				g, b := nntest.Rand(r, 0.5, 1.5, c), nntest.Rand(r, -1, 1, c)
				rm, rv := nntest.Rand(r, -0.5, 0.5, c), nntest.Rand(r, 0.5, 2, c)
				run := func(fused, grad, noGrad bool) (y []float32, mean, vari []float32, op string) {
					m, v := rm.Clone(), rv.Clone()
					mk := nn.NewVar
					if grad {
						mk = nn.Param
					}
					x, gamma, beta := mk(xt.Clone()), mk(g.Clone()), mk(b.Clone())
					o := nn.BNOpts{RunningMean: m, RunningVar: v, Training: training, Momentum: 0.1, Eps: 1e-3, SiLU: fused}
					var out *nn.Var
					f := func() {
						if fused {
							out = nn.BatchNorm(x, gamma, beta, o)
						} else {
							out = nn.SiLU(nn.BatchNorm(x, gamma, beta, o))
						}
					}
					if noGrad {
						nn.NoGrad(f)
					} else {
						f()
					}
					return out.Value.Data(), m.Data(), v.Data(), out.Op()
				}
				want, wm, wv, _ := run(false, false, true)
				for _, c := range []struct {
					grad, noGrad bool
					op           string
				}{{false, true, "BatchNormSiLU"}, {true, true, "BatchNormSiLU"}, {false, false, "BatchNormSiLU"}, {true, false, "SiLU"}} {
					y, m, v, op := run(true, c.grad, c.noGrad)
					if op != c.op {
						t.Errorf("grad %t noGrad %t: op %q, want %q", c.grad, c.noGrad, op, c.op)
					}
					for i := range want {
						if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
							t.Fatalf("grad %t noGrad %t: y[%d] = %v, SiLU(BatchNorm) %v", c.grad, c.noGrad, i, y[i], want[i])
						}
					}
					for i := range wm {
						if m[i] != wm[i] || v[i] != wv[i] {
							t.Fatalf("grad %t noGrad %t: running stats [%d] %v %v, want %v %v", c.grad, c.noGrad, i, m[i], v[i], wm[i], wv[i])
						}
					}
				}
				// With gradients, the fused pass builds the graph of
				// SiLU(BatchNorm): the same gradient bits.
				dy := nntest.Rand(r, -1, 1, shape...)
				grads := func(fused bool) [][]float32 {
					x, gamma, beta := nn.Param(xt.Clone()), nn.Param(g.Clone()), nn.Param(b.Clone())
					o := nn.BNOpts{RunningMean: rm.Clone(), RunningVar: rv.Clone(), Training: training, Momentum: 0.1, Eps: 1e-3, SiLU: fused}
					var out *nn.Var
					if fused {
						out = nn.BatchNorm(x, gamma, beta, o)
					} else {
						out = nn.SiLU(nn.BatchNorm(x, gamma, beta, o))
					}
					loss := nn.Sum(nn.Mul(out, nn.NewVar(dy)))
					loss.Backward()
					return [][]float32{x.Grad.Data(), gamma.Grad.Data(), beta.Grad.Data()}
				}
				gf, gu := grads(true), grads(false)
				for k, name := range []string{"x", "gamma", "beta"} {
					for i := range gu[k] {
						if math.Float32bits(gf[k][i]) != math.Float32bits(gu[k][i]) {
							t.Fatalf("d%s[%d] = %v, through SiLU(BatchNorm) %v", name, i, gf[k][i], gu[k][i])
						}
					}
				}
				x := nn.Param(xt.Clone())
				gamma, beta := nn.Param(g.Clone()), nn.Param(b.Clone())
				nntest.CheckGrad(t, func() *nn.Var {
					return nn.BatchNorm(x, gamma, beta, nn.BNOpts{RunningMean: rm.Clone(), RunningVar: rv.Clone(), Training: training, Momentum: 0.1, Eps: 1e-3, SiLU: true})
				}, []*nn.Var{x, gamma, beta}, nntest.Options{Eps: 1e-3})
			})
		}
	}
}
