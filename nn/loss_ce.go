package nn

import (
	"fmt"
	"math"
)

// Cross-entropy losses on logits [N, K] (N samples, K classes). Both are
// computed from a max-shifted log-sum-exp in float64 and share one backward
// rule: sample i's loss is ℓ_i = Σ_k q_ik·(lse_i - z_ik) for target weights
// q_ik, so ∂ℓ_i/∂z_ik = Q_i·softmax(z_i)_k - q_ik with Q_i = Σ_k q_ik.

// CEOpts holds the options of CrossEntropy and SoftCrossEntropy. The zero
// value is PyTorch's default (no smoothing, no weights, mean).
type CEOpts struct {
	// LabelSmoothing ε in [0, 1] mixes the target with the uniform
	// distribution, exactly as PyTorch's label_smoothing: the target
	// becomes (1-ε)·target + ε/K.
	LabelSmoothing float32

	// Weights, if set, holds one weight per sample (len N), e.g. the
	// confidence of a pseudo-label. It multiplies that sample's loss (after
	// class weighting and smoothing) and never enters a mean's denominator:
	// with ReduceMean the result is Σ_i Weights[i]·ℓ_i / D for the D below,
	// so without class weights it equals PyTorch's
	// (cross_entropy(..., reduction='none') * Weights).mean(). A weight of 0
	// drops a sample's loss but still counts it in D. ReduceNone returns
	// the weighted values.
	Weights []float32

	// ClassWeights, if set, holds one weight per class (len K), with
	// PyTorch's weight= semantics. For CrossEntropy, sample i's loss is
	// (1-ε)·w[y_i]·(-log p_i,y_i) + ε/K·Σ_k w[k]·(-log p_ik), and a mean
	// divides by D = Σ_i w[y_i] instead of N. For SoftCrossEntropy it is
	// Σ_k w[k]·t_ik·(-log p_ik), and a mean still divides by N.
	ClassWeights []float32

	// Reduction combines the per-sample losses; ReduceNone returns shape
	// [N], the others shape [1].
	Reduction Reduction
}

// CrossEntropy returns the softmax cross-entropy of logits [N, K] against
// class indices labels (len N, each in [0, K)), PyTorch's
// cross_entropy(logits, labels, weight=ClassWeights,
// label_smoothing=LabelSmoothing, reduction=...), with optional per-sample
// weights (see CEOpts). A mean divides by N, or by Σ_i ClassWeights[y_i].
func CrossEntropy(logits *Var, labels []int, o CEOpts) *Var {
	const op = "CrossEntropy"
	n, k := ceCheck(op, logits, o)
	if len(labels) != n {
		panic(fmt.Sprintf("nn.%s: logits %v, %d labels: need one label per sample", op, logits.Value.shape, len(labels)))
	}
	for i, y := range labels {
		if y < 0 || y >= k {
			panic(fmt.Sprintf("nn.%s: label %d of sample %d out of range for %d classes", op, y, i, k))
		}
	}
	eps, fk := float64(o.LabelSmoothing), float64(k)
	cw := o.ClassWeights
	wk := func(j int) float64 {
		if cw == nil {
			return 1
		}
		return float64(cw[j])
	}
	sumW, den := fk, float64(n)
	if cw != nil {
		sumW, den = 0, 0
		for _, w := range cw {
			sumW += float64(w)
		}
		for _, y := range labels {
			den += float64(cw[y])
		}
	}
	z := logits.Value.data
	lse, per := make([]float64, n), make([]float64, n)
	forEachRow(n, k, func(i int) {
		row := z[i*k : i*k+k]
		l := ceLogSumExp(row)
		lse[i] = l
		y := labels[i]
		v := (1 - eps) * wk(y) * (l - float64(row[y]))
		if eps != 0 {
			var s float64
			for j, zj := range row {
				s += wk(j) * (l - float64(zj))
			}
			v += eps / fk * s
		}
		per[i] = v * ceSampleWeight(o.Weights, i)
	})
	return ceFinish(op, logits, per, den, o.Reduction, func(i int, s float64, dz []float32) {
		row, y := z[i*k:i*k+k], labels[i]
		s *= ceSampleWeight(o.Weights, i)
		wy := (1 - eps) * wk(y)
		q0 := wy + eps/fk*sumW // Q_i
		for j, zj := range row {
			q := eps / fk * wk(j)
			if j == y {
				q += wy
			}
			dz[j] += float32(s * (q0*math.Exp(float64(zj)-lse[i]) - q))
		}
	})
}

// SoftCrossEntropy returns the cross-entropy of logits [N, K] against
// probability targets [N, K] (soft labels, rows summing to 1), PyTorch's
// cross_entropy with probability targets: ℓ_i = -Σ_k w[k]·t'_ik·log p_ik
// with t' = (1-ε)·t + ε/K, times the per-sample weight if set. A mean always
// divides by N (as PyTorch does, class weights or not).
func SoftCrossEntropy(logits *Var, targets *Tensor, o CEOpts) *Var {
	const op = "SoftCrossEntropy"
	n, k := ceCheck(op, logits, o)
	if !SameShape(logits.Value.shape, targets.shape) {
		panic(fmt.Sprintf("nn.%s: logits %v, targets %v: shapes differ", op, logits.Value.shape, targets.shape))
	}
	eps, fk := float64(o.LabelSmoothing), float64(k)
	cw := o.ClassWeights
	// q returns the target weight q_ik of element j of sample i's row.
	q := func(t []float32, j int) float64 {
		v := (1-eps)*float64(t[j]) + eps/fk
		if cw != nil {
			v *= float64(cw[j])
		}
		return v
	}
	z, td := logits.Value.data, targets.data
	lse, per := make([]float64, n), make([]float64, n)
	forEachRow(n, k, func(i int) {
		row, t := z[i*k:i*k+k], td[i*k:i*k+k]
		l := ceLogSumExp(row)
		lse[i] = l
		var v float64
		for j, zj := range row {
			v += q(t, j) * (l - float64(zj))
		}
		per[i] = v * ceSampleWeight(o.Weights, i)
	})
	return ceFinish(op, logits, per, float64(n), o.Reduction, func(i int, s float64, dz []float32) {
		row, t := z[i*k:i*k+k], td[i*k:i*k+k]
		s *= ceSampleWeight(o.Weights, i)
		var q0 float64
		for j := range row {
			q0 += q(t, j)
		}
		for j, zj := range row {
			dz[j] += float32(s * (q0*math.Exp(float64(zj)-lse[i]) - q(t, j)))
		}
	})
}

// ceCheck validates the logits and options and returns N and K.
func ceCheck(op string, logits *Var, o CEOpts) (n, k int) {
	s := logits.Value.shape
	if len(s) != 2 || s[1] < 1 {
		panic(fmt.Sprintf("nn.%s: logits %v: need [N K] with K >= 1", op, s))
	}
	n, k = s[0], s[1]
	o.Reduction.check(op)
	if !(o.LabelSmoothing >= 0 && o.LabelSmoothing <= 1) {
		panic(fmt.Sprintf("nn.%s: logits %v: label smoothing %g outside [0, 1]", op, s, o.LabelSmoothing))
	}
	if o.Weights != nil && len(o.Weights) != n {
		panic(fmt.Sprintf("nn.%s: logits %v: %d sample weights, need %d", op, s, len(o.Weights), n))
	}
	if o.ClassWeights != nil && len(o.ClassWeights) != k {
		panic(fmt.Sprintf("nn.%s: logits %v: %d class weights, need %d", op, s, len(o.ClassWeights), k))
	}
	if o.Reduction == ReduceMean && n == 0 {
		panic(fmt.Sprintf("nn.%s: empty input %v with mean reduction", op, s))
	}
	return n, k
}

func ceSampleWeight(w []float32, i int) float64 {
	if w == nil {
		return 1
	}
	return float64(w[i])
}

// ceLogSumExp returns log Σ exp(row) computed around the row's maximum.
func ceLogSumExp(row []float32) float64 {
	mx := row[0]
	for _, v := range row[1:] {
		mx = max(mx, v)
	}
	m := float64(mx)
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// ceFinish reduces the per-sample losses per (a mean divides by den) and
// records the backward, which calls rowGrad(i, s, dz) to add s·∂ℓ_i/∂z_i
// into sample i's gradient row dz.
func ceFinish(op string, logits *Var, per []float64, den float64, r Reduction, rowGrad func(i int, s float64, dz []float32)) *Var {
	n, k := logits.Value.shape[0], logits.Value.shape[1]
	var y *Tensor
	if r == ReduceNone {
		y = newPooled(n)
		for i, v := range per {
			y.data[i] = float32(v)
		}
	} else {
		var s float64
		for _, v := range per {
			s += v
		}
		if r == ReduceMean {
			s /= den
		}
		y = newPooled(1)
		y.data[0] = float32(s)
	}
	out := result(y, op, logits)
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		g, gz := out.Grad.data, logits.gradData()
		scale := 0.0
		if r != ReduceNone {
			scale = float64(g[0])
			if r == ReduceMean {
				scale /= den
			}
		}
		forEachRow(n, k, func(i int) {
			s := scale
			if r == ReduceNone {
				s = float64(g[i])
			}
			rowGrad(i, s, gz[i*k:i*k+k])
		})
	}
	return out
}
