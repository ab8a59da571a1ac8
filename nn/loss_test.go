package nn_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/internal/parallel"
	"github.com/sortnet/sortnet/nn/nntest"
)

var lossReductions = []nn.Reduction{nn.ReduceMean, nn.ReduceSum, nn.ReduceNone}

// lossSoftTargets returns [n, k] rows of random probabilities.
func lossSoftTargets(seed uint64, n, k int) *nn.Tensor {
	t := nntest.Rand(rng(seed), 0.05, 1, n, k)
	d := t.Data()
	for i := 0; i < n; i++ {
		var s float32
		for _, v := range d[i*k : i*k+k] {
			s += v
		}
		for j := range d[i*k : i*k+k] {
			d[i*k+j] /= s
		}
	}
	return t
}

func TestCrossEntropyGrad(t *testing.T) {
	for _, s := range [][2]int{{1, 3}, {5, 4}, {6, 7}} {
		n, k := s[0], s[1]
		r := rng(31)
		labels := make([]int, n)
		for i := range labels {
			labels[i] = r.IntN(k)
		}
		sw := nntest.Rand(r, 0, 2, n).Data()
		cw := nntest.Rand(r, 0.2, 2, k).Data()
		soft := lossSoftTargets(32, n, k)
		// A slice, not a map: the order fixes what r draws for each case.
		opts := []struct {
			name string
			o    nn.CEOpts
		}{
			{"plain", nn.CEOpts{}},
			{"smooth", nn.CEOpts{LabelSmoothing: 0.1}},
			{"class", nn.CEOpts{ClassWeights: cw}},
			{"sample", nn.CEOpts{Weights: sw}},
			{"all", nn.CEOpts{LabelSmoothing: 0.2, ClassWeights: cw, Weights: sw}},
			{"smoothFull", nn.CEOpts{LabelSmoothing: 1}},
		}
		for _, c := range opts {
			name, o := c.name, c.o
			for _, red := range lossReductions {
				o.Reduction = red
				x := nn.Param(nntest.Rand(r, -3, 3, n, k))
				t.Run(fmt.Sprintf("hard/%s/%v/%dx%d", name, red, n, k), func(t *testing.T) {
					nntest.CheckGrad(t, func() *nn.Var { return nn.CrossEntropy(x, labels, o) }, []*nn.Var{x}, nntest.Options{})
				})
				t.Run(fmt.Sprintf("soft/%s/%v/%dx%d", name, red, n, k), func(t *testing.T) {
					nntest.CheckGrad(t, func() *nn.Var { return nn.SoftCrossEntropy(x, soft, o) }, []*nn.Var{x}, nntest.Options{})
				})
			}
		}
	}
}

// TestCrossEntropyValues checks the reductions against a direct float64
// computation, including the class-weighted mean's denominator and
// per-sample weights, which never enter it.
func TestCrossEntropyValues(t *testing.T) {
	z := []float32{2, 0, -1, 0.5, 0.5, 3}
	labels := []int{0, 2}
	cw := []float32{2, 1, 0.5}
	sw := []float32{0.25, 3}
	x := nn.NewVar(nn.FromData(z, 2, 3))
	nll := func(i, j int) float64 {
		row := z[i*3 : i*3+3]
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v))
		}
		return math.Log(s) - float64(row[j])
	}
	const eps = 0.1
	var want [2]float64
	for i, y := range labels {
		v := (1 - eps) * float64(cw[y]) * nll(i, y)
		for j := range 3 {
			v += eps / 3 * float64(cw[j]) * nll(i, j)
		}
		want[i] = v * float64(sw[i])
	}
	den := float64(cw[0] + cw[2])
	o := nn.CEOpts{LabelSmoothing: eps, ClassWeights: cw, Weights: sw}
	for _, red := range lossReductions {
		o.Reduction = red
		got := nn.CrossEntropy(x, labels, o).Value.Data()
		exp := map[nn.Reduction][]float64{
			nn.ReduceNone: want[:],
			nn.ReduceSum:  {want[0] + want[1]},
			nn.ReduceMean: {(want[0] + want[1]) / den},
		}[red]
		for i := range exp {
			if math.Abs(float64(got[i])-exp[i]) > 1e-6*math.Abs(exp[i]) {
				t.Errorf("%v: got %v, want %v", red, got, exp)
			}
		}
	}
	// One-hot soft targets give the hard-label loss (no class weights: the
	// soft mean divides by N, the hard one by Σ w[y]).
	soft := nn.FromData([]float32{1, 0, 0, 0, 0, 1}, 2, 3)
	a := nn.SoftCrossEntropy(x, soft, nn.CEOpts{LabelSmoothing: 0.3}).Value.Item()
	b := nn.CrossEntropy(x, labels, nn.CEOpts{LabelSmoothing: 0.3}).Value.Item()
	if math.Abs(float64(a-b)) > 1e-6 {
		t.Errorf("soft one-hot %v, hard %v", a, b)
	}
}

func TestLossStableExtremes(t *testing.T) {
	x := nn.Param(nn.FromData([]float32{1000, 0, -1000, 0, 3e30, -3e30}, 3, 2))
	ce := nn.CrossEntropy(x, []int{1, 1, 0}, nn.CEOpts{Reduction: nn.ReduceNone})
	if v := ce.Value.Data(); v[0] != 1000 || v[1] != 0 || v[2] != 0 {
		t.Errorf("cross-entropy of extreme logits = %v, want [1000 0 0]", v)
	}
	nn.Sum(ce).Backward()
	if g := x.Grad.Data(); g[0] != 1 || g[1] != -1 || g[2] != 0 || g[3] != 0 {
		t.Errorf("cross-entropy grad = %v", g)
	}

	b := nn.Param(nn.FromData([]float32{200, -200, 800, -800}, 4))
	tg := nn.FromData([]float32{0, 0, 1, 1}, 4)
	bce := nn.BCEWithLogits(b, tg, nn.ReduceNone)
	if v := bce.Value.Data(); v[0] != 200 || v[1] != 0 || v[2] != 0 || v[3] != 800 {
		t.Errorf("BCE of extreme logits = %v, want [200 0 0 800]", v)
	}
	for _, gamma := range []float32{0, 0.5, 2} {
		b.ZeroGrad()
		fl := nn.SigmoidFocalLoss(b, tg, 0.25, gamma, nn.ReduceSum)
		fl.Backward()
		for i, g := range b.Grad.Data() {
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
				t.Errorf("focal gamma %g: grad[%d] = %v", gamma, i, g)
			}
		}
		if v := fl.Value.Item(); math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Errorf("focal gamma %g: loss %v", gamma, v)
		}
	}
}

func TestBinaryLossGrad(t *testing.T) {
	for _, shape := range [][]int{{1}, {3, 5}, {2, 3, 1, 4}} {
		r := rng(41)
		x := nn.Param(nntest.Rand(r, -4, 4, shape...))
		tg := nntest.Rand(r, 0, 1, shape...)
		for i, v := range tg.Data() {
			if i%3 != 2 { // two thirds binary, a third soft
				tg.Data()[i] = float32(math.Round(float64(v)))
			}
		}
		losses := map[string]func(nn.Reduction) *nn.Var{
			"BCE":          func(red nn.Reduction) *nn.Var { return nn.BCEWithLogits(x, tg, red) },
			"Focal.25_1.5": func(red nn.Reduction) *nn.Var { return nn.SigmoidFocalLoss(x, tg, 0.25, 1.5, red) },
			"Focal.25_2":   func(red nn.Reduction) *nn.Var { return nn.SigmoidFocalLoss(x, tg, 0.25, 2, red) },
			"Focal-1_0.5":  func(red nn.Reduction) *nn.Var { return nn.SigmoidFocalLoss(x, tg, -1, 0.5, red) },
			"Focal.5_0":    func(red nn.Reduction) *nn.Var { return nn.SigmoidFocalLoss(x, tg, 0.5, 0, red) },
		}
		for name, f := range losses {
			for _, red := range lossReductions {
				t.Run(fmt.Sprintf("%s/%v/%v", name, red, shape), func(t *testing.T) {
					nntest.CheckGrad(t, func() *nn.Var { return f(red) }, []*nn.Var{x}, nntest.Options{Eps: 1e-3})
				})
			}
		}
	}
}

// TestFocalReducesToBCE: gamma 0 without alpha is plain BCE.
func TestFocalReducesToBCE(t *testing.T) {
	r := rng(42)
	x := nn.NewVar(nntest.Rand(r, -5, 5, 4, 6))
	tg := nntest.Rand(r, 0, 1, 4, 6)
	a := nn.SigmoidFocalLoss(x, tg, -1, 0, nn.ReduceNone).Value.Data()
	b := nn.BCEWithLogits(x, tg, nn.ReduceNone).Value.Data()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("element %d: focal %v, BCE %v", i, a[i], b[i])
		}
	}
}

func TestRegressionLossGrad(t *testing.T) {
	for _, shape := range [][]int{{1}, {4, 3}, {2, 1, 3, 5}} {
		r := rng(51)
		tg := nntest.Rand(r, -2, 2, shape...)
		// pred = target + d with d kept away from the kinks at 0 and ±delta.
		d := nntest.RandAwayFrom(r, -2, 2, 0.02, []float32{0, -0.1, 0.1, -1, 1}, shape...)
		p := tg.Clone()
		for i := range p.Data() {
			p.Data()[i] += d.Data()[i]
		}
		x := nn.Param(p)
		losses := map[string]func(nn.Reduction) *nn.Var{
			"Huber0.1": func(red nn.Reduction) *nn.Var { return nn.Huber(x, tg, 0.1, red) },
			"Huber1":   func(red nn.Reduction) *nn.Var { return nn.Huber(x, tg, 1, red) },
			"L1":       func(red nn.Reduction) *nn.Var { return nn.L1(x, tg, red) },
			"MSE":      func(red nn.Reduction) *nn.Var { return nn.MSE(x, tg, red) },
		}
		for name, f := range losses {
			for _, red := range lossReductions {
				t.Run(fmt.Sprintf("%s/%v/%v", name, red, shape), func(t *testing.T) {
					nntest.CheckGrad(t, func() *nn.Var { return f(red) }, []*nn.Var{x}, nntest.Options{Eps: 1e-3})
				})
			}
		}
	}
}

func TestRegressionLossValues(t *testing.T) {
	x := nn.Param(nn.FromData([]float32{0, 0.05, -0.3, 2}, 4))
	tg := nn.New(4)
	cases := []struct {
		name       string
		f          func(nn.Reduction) *nn.Var
		vals, grad []float32
	}{
		{"Huber", func(r nn.Reduction) *nn.Var { return nn.Huber(x, tg, 0.1, r) },
			[]float32{0, 0.00125, 0.025, 0.195}, []float32{0, 0.05, -0.1, 0.1}},
		{"L1", func(r nn.Reduction) *nn.Var { return nn.L1(x, tg, r) },
			[]float32{0, 0.05, 0.3, 2}, []float32{0, 1, -1, 1}},
		{"MSE", func(r nn.Reduction) *nn.Var { return nn.MSE(x, tg, r) },
			[]float32{0, 0.0025, 0.09, 4}, []float32{0, 0.1, -0.6, 4}},
	}
	for _, c := range cases {
		v := c.f(nn.ReduceNone).Value.Data()
		var sum float64
		for i := range v {
			sum += float64(c.vals[i])
			if math.Abs(float64(v[i]-c.vals[i])) > 1e-7 {
				t.Errorf("%s values %v, want %v", c.name, v, c.vals)
				break
			}
		}
		if s := c.f(nn.ReduceSum).Value.Item(); math.Abs(float64(s)-sum) > 1e-6 {
			t.Errorf("%s sum %v, want %v", c.name, s, sum)
		}
		x.ZeroGrad()
		c.f(nn.ReduceMean).Backward()
		for i, g := range x.Grad.Data() {
			if math.Abs(float64(g-c.grad[i]/4)) > 1e-7 {
				t.Errorf("%s mean grad %v, want %v/4", c.name, x.Grad.Data(), c.grad)
				break
			}
		}
	}
}

// TestLossThreadInvariant: values and gradients are bit-identical with 1
// and 3 threads on sizes that span several blocks.
func TestLossThreadInvariant(t *testing.T) {
	run := func(threads int) [][]float32 {
		prev := parallel.SetThreads(threads)
		defer parallel.SetThreads(prev)
		r := rng(61)
		n, k := 3001, 9
		z := nn.Param(nntest.Rand(r, -4, 4, n, k))
		labels := make([]int, n)
		for i := range labels {
			labels[i] = r.IntN(k)
		}
		sw := nntest.Rand(r, 0, 1, n).Data()
		soft := lossSoftTargets(62, n, k)
		x := nn.Param(nntest.Rand(r, -4, 4, 5, 41, 97))
		tg := nntest.Rand(r, 0, 1, 5, 41, 97)
		losses := []*nn.Var{
			nn.CrossEntropy(z, labels, nn.CEOpts{LabelSmoothing: 0.1, Weights: sw}),
			nn.SoftCrossEntropy(z, soft, nn.CEOpts{Reduction: nn.ReduceSum}),
			nn.SigmoidFocalLoss(x, tg, 0.25, 1.5, nn.ReduceSum),
			nn.BCEWithLogits(x, tg, nn.ReduceMean),
			nn.Huber(x, tg, 0.1, nn.ReduceMean),
		}
		out := [][]float32{}
		total := losses[0]
		for _, l := range losses {
			out = append(out, []float32{l.Value.Item()})
			if l != total {
				total = nn.Add(total, l)
			}
		}
		total.Backward()
		return append(out, z.Grad.Data(), x.Grad.Data())
	}
	bnSameBits(t, run(1), run(3))
}

func TestLossPanics(t *testing.T) {
	z := nn.NewVar(nn.New(3, 4))
	cases := []struct {
		want string
		f    func()
	}{
		{"nn.CrossEntropy: label 4 of sample 1 out of range for 4 classes", func() {
			nn.CrossEntropy(z, []int{0, 4, 1}, nn.CEOpts{})
		}},
		{"nn.CrossEntropy: label -1 of sample 2 out of range for 4 classes", func() {
			nn.CrossEntropy(z, []int{0, 1, -1}, nn.CEOpts{})
		}},
		{"nn.CrossEntropy: logits [3 4], 2 labels", func() {
			nn.CrossEntropy(z, []int{0, 1}, nn.CEOpts{})
		}},
		{"nn.CrossEntropy: logits [3 4]: 2 sample weights, need 3", func() {
			nn.CrossEntropy(z, []int{0, 1, 2}, nn.CEOpts{Weights: []float32{1, 1}})
		}},
		{"nn.SoftCrossEntropy: logits [3 4]: 3 class weights, need 4", func() {
			nn.SoftCrossEntropy(z, nn.New(3, 4), nn.CEOpts{ClassWeights: []float32{1, 1, 1}})
		}},
		{"nn.SoftCrossEntropy: logits [3 4], targets [3 5]: shapes differ", func() {
			nn.SoftCrossEntropy(z, nn.New(3, 5), nn.CEOpts{})
		}},
		{"nn.CrossEntropy: logits [3 4]: label smoothing 1.5 outside [0, 1]", func() {
			nn.CrossEntropy(z, []int{0, 1, 2}, nn.CEOpts{LabelSmoothing: 1.5})
		}},
		{"nn.CrossEntropy: logits [12]: need [N K]", func() {
			nn.CrossEntropy(nn.Reshape(z, 12), []int{0}, nn.CEOpts{})
		}},
		{"nn.CrossEntropy: unknown reduction Reduction(7)", func() {
			nn.CrossEntropy(z, []int{0, 1, 2}, nn.CEOpts{Reduction: 7})
		}},
		{"nn.BCEWithLogits: input [3 4], target [4 3]: shapes differ", func() {
			nn.BCEWithLogits(z, nn.New(4, 3), nn.ReduceMean)
		}},
		{"nn.MSE: empty input [0 4] with mean reduction", func() {
			nn.MSE(nn.NewVar(nn.New(0, 4)), nn.New(0, 4), nn.ReduceMean)
		}},
		{"nn.Huber: input [3 4]: delta 0 must be > 0", func() {
			nn.Huber(z, nn.New(3, 4), 0, nn.ReduceMean)
		}},
		{"nn.SigmoidFocalLoss: input [3 4]: gamma -1 must be >= 0", func() {
			nn.SigmoidFocalLoss(z, nn.New(3, 4), 0.25, -1, nn.ReduceSum)
		}},
	}
	for _, tc := range cases {
		bnExpectPanic(t, tc.want, tc.f)
	}
}

func ExampleCrossEntropy() {
	logits := nn.Param(nn.FromData([]float32{
		2, 0, -1, // sample 0
		0.5, 0.5, 3, // sample 1
	}, 2, 3))
	labels := []int{0, 2}
	// Pseudo-labels with confidences as per-sample weights, and smoothing;
	// the same as PyTorch's
	// (F.cross_entropy(z, y, label_smoothing=0.1, reduction="none") * w).mean().
	loss := nn.CrossEntropy(logits, labels, nn.CEOpts{LabelSmoothing: 0.1, Weights: []float32{1, 0.5}})
	loss.Backward()
	fmt.Printf("loss %.4f\n", loss.Value.Item())
	fmt.Printf("dlogits %.4f\n", logits.Grad.Data())
	// Output:
	// loss 0.2479
	// dlogits [-0.0448 0.0404 0.0043 0.0093 0.0093 -0.0186]
}
