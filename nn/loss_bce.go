package nn

import (
	"fmt"
	"math"

	"github.com/sortnet/sortnet/nn/kernels"
)

// Losses on logits with independent binary (or soft, in [0, 1]) targets of
// the same shape. A mean divides by the number of elements; ReduceNone
// returns the logits' shape.

// BCEWithLogits returns the binary cross-entropy of sigmoid(logits) against
// targets, PyTorch's BCEWithLogitsLoss, in the stable form
// max(x, 0) - x·t + log(1 + exp(-|x|)). The gradient is sigmoid(x) - t.
func BCEWithLogits(logits *Var, targets *Tensor, r Reduction) *Var {
	return lossElementwise("BCEWithLogits", logits, targets, r, lossBCE,
		func(x, t float64) float64 { return lossSigmoid(x) - t })
}

// SigmoidFocalLoss returns the focal loss of torchvision.ops.sigmoid_focal_loss:
// with p = sigmoid(x), p_t = p·t + (1-p)·(1-t) and α_t = α·t + (1-α)·(1-t),
//
//	loss = α_t · BCE(x, t) · (1 - p_t)^gamma
//
// where alpha < 0 drops the α_t factor. gamma must be >= 0. A detector
// normalises the ReduceSum value by its number of positive anchors itself.
func SigmoidFocalLoss(logits *Var, targets *Tensor, alpha, gamma float32, r Reduction) *Var {
	if !(gamma >= 0) {
		panic(fmt.Sprintf("nn.SigmoidFocalLoss: input %v: gamma %g must be >= 0", logits.Value.shape, gamma))
	}
	a, g := float64(alpha), float64(gamma)
	alphaT := func(t float64) float64 {
		if a < 0 {
			return 1
		}
		return a*t + (1-a)*(1-t)
	}
	// u = 1 - p_t = p·(1-t) + (1-p)·t, with 1-p computed as sigmoid(-x) so
	// it keeps its precision when p is close to 1.
	pow := func(u float64) float64 {
		if g == 2 {
			return u * u
		}
		return math.Pow(u, g)
	}
	return lossElementwise("SigmoidFocalLoss", logits, targets, r,
		func(x, t float64) float64 {
			p, q := lossSigmoid(x), lossSigmoid(-x)
			u := p*(1-t) + q*t
			return alphaT(t) * lossBCE(x, t) * pow(u)
		},
		func(x, t float64) float64 {
			// d/dx [ce·u^γ] = (p - t)·u^γ + ce·γ·u^(γ-1)·p·q·(1 - 2t),
			// using dce/dx = p - t and du/dx = p·q·(1 - 2t).
			p, q := lossSigmoid(x), lossSigmoid(-x)
			u := p*(1-t) + q*t
			d := (p - t) * pow(u)
			if g != 0 && u > 0 {
				d += lossBCE(x, t) * g * math.Pow(u, g-1) * p * q * (1 - 2*t)
			}
			return alphaT(t) * d
		})
}

// lossSigmoid returns 1/(1+exp(-x)) without overflow.
func lossSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// lossBCE returns the binary cross-entropy of sigmoid(x) against t.
func lossBCE(x, t float64) float64 {
	return math.Max(x, 0) - x*t + math.Log1p(math.Exp(-math.Abs(x)))
}

// FocalConsts are the constants of FocalNegatives and FocalTerm: γ, α_t
// and the smoothed target t′ for negatives (index 0) and positives (index
// 1), and the factor of the derivatives (kernels.Focal).
type FocalConsts = kernels.Focal

// FocalNegatives is the building block of a detector's class loss, whose
// targets are almost all negative: for every logit x[i] against target 0
// it adds the focal loss α_t·(1−p_t)^γ·BCE(x, t′) (in float64) to
// sum[i%8] and sets d[i] to Scale times its derivative, with SIMD
// kernels for γ = 0, 1, 1.5 and 2. The caller corrects the few positives
// with FocalTerm (loss and derivative of one logit; FocalTerm(x, false,
// f) gives the bits FocalNegatives adds and writes). Both run in float32
// and agree with the float64 formula to a few 1e-7 (kernels.Focal).
// len(d) >= len(x); f.Gamma must be finite and >= 0.
func FocalNegatives(x, d []float32, f *FocalConsts, sum *[8]float64) {
	kernels.FocalNegatives(x, d, f, sum)
}

// FocalTerm returns the focal loss of the logit x against a positive (pos)
// or negative target and f.Scale times its derivative: see FocalNegatives.
func FocalTerm(x float32, pos bool, f *FocalConsts) (loss, grad float32) {
	return kernels.FocalTerm(x, pos, f)
}
