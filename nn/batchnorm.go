package nn

import (
	"fmt"
	"math"

	"github.com/sortnet/sortnet/nn/kernels"
)

// BNOpts configures BatchNorm. There are no hidden defaults: set Eps and
// Momentum (see the BatchNorm* constants).
type BNOpts struct {
	// RunningMean and RunningVar are the running statistics [C]: updated
	// in training mode (each may be nil), used in evaluation mode.
	RunningMean, RunningVar *Tensor
	// Training selects batch statistics (true) or the running ones.
	Training bool
	// Momentum, in [0, 1], is the weight of the new batch statistic in the
	// running ones (0 freezes them).
	Momentum float32
	// Eps, >= 0, is added to the variance.
	Eps float32
	// SiLU applies SiLU to the result, in the same pass over memory. When
	// the result needs no gradient (under NoGrad, or with no input that
	// requires one) that pass writes only the SiLU (kernels.BNApplySiLU);
	// otherwise it also writes the batch norm's output, which SiLU's
	// backward pass needs (kernels.BNApplySiLUSave), and the graph is the
	// one of SiLU(BatchNorm(x)). Either way the values are the same bits
	// as SiLU(BatchNorm(x)).
	SiLU bool
}

// Batch-norm defaults. PyTorch's nn.BatchNorm2d uses eps 1e-5 and momentum
// 0.1; models ported from TensorFlow (tf_efficientnet_*, EfficientDet) use
// Keras' epsilon 1e-3 and decay 0.99, which is momentum 0.01 in PyTorch's
// convention. Momentum is the weight of the new batch statistic:
// running = (1-momentum)*running + momentum*batch.
const (
	BatchNormEps        = 1e-5
	BatchNormMomentum   = 0.1
	BatchNormEpsTF      = 1e-3
	BatchNormMomentumTF = 0.01
)

// BatchNorm normalises x over every axis except the last (the channels of an
// NHWC activation, or the features of an [N, C] batch) and applies the
// per-channel affine transform: y = (x - μ)/√(σ² + eps)·gamma + beta.
//
// Shapes: x [..., C] with at least two dimensions; gamma, beta [C];
// o.RunningMean, o.RunningVar [C].
//
// In training mode μ and σ² are the batch mean and biased variance over the
// m = len(x)/C values of each channel, and the gradient flows through them.
// If RunningMean and RunningVar are given they are updated in place exactly as
// PyTorch does: running = (1-momentum)·running + momentum·batch, with the
// unbiased variance σ²·m/(m-1) for RunningVar. Either may be nil (then it is not
// updated). Training needs m > 1, as in PyTorch. The running statistics are
// updated even under NoGrad.
//
// In evaluation mode μ and σ² are the running statistics (both required) and
// BatchNorm is a per-channel affine op; gradients still flow to x, gamma and
// beta.
//
// gamma and beta are required; pass constants (NewVar) for a batch norm
// without learnable affine parameters.
func BatchNorm(x, gamma, beta *Var, o BNOpts) *Var {
	runMean, runVar, training, momentum, eps := o.RunningMean, o.RunningVar, o.Training, o.Momentum, o.Eps
	xs := x.Value.shape
	if len(xs) < 2 {
		panic(fmt.Sprintf("nn.BatchNorm: input %v: need at least 2 dimensions [..., C]", xs))
	}
	c := xs[len(xs)-1]
	m := 0
	if c > 0 {
		m = x.Value.Len() / c
	}
	bnCheckVec("gamma", xs, gamma.Value, c)
	bnCheckVec("beta", xs, beta.Value, c)
	if runMean != nil {
		bnCheckVec("running mean", xs, runMean, c)
	}
	if runVar != nil {
		bnCheckVec("running var", xs, runVar, c)
	}
	if !(eps >= 0) || math.IsInf(float64(eps), 0) {
		panic(fmt.Sprintf("nn.BatchNorm: input %v: eps %g must be finite and >= 0", xs, eps))
	}
	if !(momentum >= 0 && momentum <= 1) {
		panic(fmt.Sprintf("nn.BatchNorm: input %v: momentum %g must lie in [0, 1]", xs, momentum))
	}

	// mean and invStd are the statistics used for normalisation, saved for
	// the backward pass; y = x·scale + shift.
	st := make([]float32, 4*c)
	mean, invStd, scale, shift := st[:c], st[c:2*c], st[2*c:3*c], st[3*c:]
	if training {
		if m < 2 {
			panic(fmt.Sprintf("nn.BatchNorm: input %v: training needs more than 1 value per channel (got %d)", xs, m))
		}
		mv := make([]float64, 2*c)
		mu, v := mv[:c], mv[c:]
		kernels.ChannelMoments(x.Value.data, m, c, mu, v)
		mom := float64(momentum)
		unbias := float64(m) / float64(m-1)
		for j := range c {
			mean[j] = float32(mu[j])
			invStd[j] = float32(1 / math.Sqrt(v[j]+float64(eps)))
			if runMean != nil {
				runMean.data[j] = float32(mom*mu[j] + (1-mom)*float64(runMean.data[j]))
			}
			if runVar != nil {
				runVar.data[j] = float32(mom*v[j]*unbias + (1-mom)*float64(runVar.data[j]))
			}
		}
	} else {
		if runMean == nil || runVar == nil {
			panic(fmt.Sprintf("nn.BatchNorm: input %v: evaluation mode needs the running mean and variance", xs))
		}
		for j := range c {
			mean[j] = runMean.data[j]
			invStd[j] = float32(1 / math.Sqrt(float64(runVar.data[j])+float64(eps)))
		}
	}

	g, b := gamma.Value.data, beta.Value.data
	for j := range c {
		s := float64(g[j]) * float64(invStd[j])
		scale[j] = float32(s)
		shift[j] = float32(float64(b[j]) - float64(mean[j])*s)
	}
	y := newPooled(xs...)
	var act *Tensor // SiLU(y) when the graph needs y too
	switch {
	case !o.SiLU:
		kernels.BNApply(y.data, x.Value.data, m, c, scale, shift)
	case GradEnabled() && (x.requiresGrad || gamma.requiresGrad || beta.requiresGrad):
		act = newPooled(xs...)
		kernels.BNApplySiLUSave(act.data, y.data, x.Value.data, m, c, scale, shift)
	default:
		kernels.BNApplySiLU(y.data, x.Value.data, m, c, scale, shift)
		return result(y, "BatchNormSiLU", x, gamma, beta)
	}

	out := result(y, "BatchNorm", x, gamma, beta)
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		dy, xd := out.Grad.data, x.Value.data
		sums := make([]float64, 2*c)
		sumDy, sumDyXc := sums[:c], sums[c:]
		kernels.BNBackwardSums(dy, xd, m, c, mean, sumDy, sumDyXc)
		if gamma.requiresGrad {
			dg := gamma.gradData()
			for j := range c {
				dg[j] += float32(sumDyXc[j] * float64(invStd[j]))
			}
		}
		if beta.requiresGrad {
			db := beta.gradData()
			for j := range c {
				db[j] += float32(sumDy[j])
			}
		}
		if !x.requiresGrad {
			return
		}
		// dx = a·dy + b·(x-μ) + d. In training mode μ and σ depend on x:
		// dx = γ/σ·(dy - Σdy/m - x̂·Σ(dy·x̂)/m) with x̂ = (x-μ)/σ.
		bd := make([]float32, 2*c)
		a, bb, d := scale, bd[:c], bd[c:]
		if training {
			fm := float64(m)
			for j := range c {
				is := float64(invStd[j])
				aj := float64(g[j]) * is
				bb[j] = float32(-aj * is * is * sumDyXc[j] / fm)
				d[j] = float32(-aj * sumDy[j] / fm)
			}
		}
		if gx, fresh := x.gradOut(); fresh {
			kernels.BNBackwardInputSet(gx, dy, xd, m, c, mean, a, bb, d)
		} else {
			kernels.BNBackwardInput(gx, dy, xd, m, c, mean, a, bb, d)
		}
	}
	if act != nil {
		return siluResult(out, act)
	}
	return out
}

func bnCheckVec(name string, xs []int, t *Tensor, c int) {
	if t.Len() != c || t.Rank() != 1 {
		panic(fmt.Sprintf("nn.BatchNorm: input %v, %s %v: need [%d]", xs, name, t.shape, c))
	}
}
