package nn

import (
	"fmt"
	"math"
)

// Regression losses on pred against target (same shape). A mean divides by
// the number of elements; ReduceNone returns pred's shape.

// Huber returns PyTorch's HuberLoss(delta): for d = pred - target,
// 0.5·d² where |d| < delta and delta·(|d| - 0.5·delta) elsewhere. Its
// gradient is d clamped to [-delta, delta]. delta must be > 0.
func Huber(pred *Var, target *Tensor, delta float32, r Reduction) *Var {
	if !(delta > 0) {
		panic(fmt.Sprintf("nn.Huber: input %v: delta %g must be > 0", pred.Value.shape, delta))
	}
	dl := float64(delta)
	return lossElementwise("Huber", pred, target, r,
		func(x, t float64) float64 {
			z := math.Abs(x - t)
			if z < dl {
				return 0.5 * z * z
			}
			return dl * (z - 0.5*dl)
		},
		func(x, t float64) float64 { return math.Max(-dl, math.Min(dl, x-t)) })
}

// L1 returns |pred - target| (PyTorch L1Loss); the gradient at 0 is 0.
func L1(pred *Var, target *Tensor, r Reduction) *Var {
	return lossElementwise("L1", pred, target, r,
		func(x, t float64) float64 { return math.Abs(x - t) },
		func(x, t float64) float64 {
			switch d := x - t; {
			case d > 0:
				return 1
			case d < 0:
				return -1
			default:
				return d // 0, or NaN
			}
		})
}

// MSE returns (pred - target)² (PyTorch MSELoss).
func MSE(pred *Var, target *Tensor, r Reduction) *Var {
	return lossElementwise("MSE", pred, target, r,
		func(x, t float64) float64 { return (x - t) * (x - t) },
		func(x, t float64) float64 { return 2 * (x - t) })
}
