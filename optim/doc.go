// Package optim trains parameters: the optimizers SGD, Adam, AdamW and
// RMSProp, learning-rate schedules, gradient clipping and an exponential
// moving average of weights.
//
// # Optimizers
//
// An Optimizer holds a fixed list of named parameters (layers.Params of a
// model) and updates them from their gradients with Step:
//
//	opt, err := optim.NewAdamW(layers.Params(model), optim.AdamWConfig{
//		LR: 1e-3, WeightDecay: 0.05, NoDecay: optim.NoDecayBiasAndNorm})
//	...
//	loss.Backward()
//	opt.Step()
//	opt.ZeroGrad()
//	loss.Release()
//
// The optimizers, in order of increasing complexity, are SGD (with
// momentum, dampening, Nesterov), Adam (optionally AMSGrad, L2 weight
// decay), AdamW (decoupled weight decay) and RMSProp (centered, momentum,
// and TensorFlow's formulation that timm uses for EfficientNet). Each
// follows the float32 arithmetic of PyTorch 1.13's single-tensor
// implementation (same operations in the same order, scalars derived in
// float64 and rounded as PyTorch rounds them), so steps agree with PyTorch
// to float32 rounding: most elements exactly, the rest within a few units
// in the last place (testdata/optim_parity.json, made by
// tools/fixtures_optim.py; PyTorch fuses some multiply-adds, Go does not).
// Parameters whose gradient is nil are skipped, as in PyTorch.
//
// Each optimizer has a Config whose Validate reports invalid values
// (negative or NaN rates, betas outside [0, 1), Nesterov without momentum,
// ...); the constructors call it and return its error. Zero fields take
// PyTorch's defaults, listed on each Config. NoDecay exempts parameters
// from weight decay; NoDecayBiasAndNorm is timm's rule (rank <= 1: biases,
// batch-norm scales and shifts).
//
// # State
//
// StateDict returns the optimizer state as tensors keyed by buffer and
// parameter name ("exp_avg.blocks.0.conv.weight", "step.fc.bias", "step"),
// ready to store in a checkpoint next to the model's own state dict.
// LoadStateDict restores it, and the next steps are bit for bit those the
// original optimizer would have taken. Step counts are stored as float32,
// exact up to 2^24 steps.
//
// # Schedules
//
// A Schedule returns a multiplier of the optimizer's base learning rate at
// a point of progress, in whatever unit its durations are given: Constant,
// StepDecay, Multiplicative (detect-waste's ×0.99 per epoch) and Cosine
// with linear warm-up. Apply sets an optimizer's learning rate from one,
// per epoch with float64(epoch), or per step with Epochs(step,
// stepsPerEpoch) or float64(step).
//
// # Clipping and averaging
//
// ClipGradNorm rescales all gradients to a maximum global L2 norm and
// returns the norm (NaN or Inf when a gradient overflowed, leaving the
// gradients alone so the step can be skipped); ClipGradValue clamps them
// elementwise. EMA keeps a moving average of the weights (timm's
// ModelEmaV2, with TensorFlow's optional warm-up) to evaluate with via
// Swap or CopyTo.
//
// # Threads
//
// Updates run element by element in a fixed order on the calling
// goroutine; they are cheap next to a training step's forward and
// backward passes and give identical results for any thread count.
package optim
