package optim

import (
	"fmt"
	"math"
)

// Schedule shapes the learning rate over training. Factor(t) is the
// multiplier of the optimizer's base learning rate (its Config's LR) at
// progress t, so the learning rate lives in one place.
//
// Progress t is in whatever unit the schedule's durations are given in,
// and may be fractional:
//
//   - per epoch: durations in epochs, call with float64(epoch);
//   - per step, durations in epochs: call with Epochs(step, stepsPerEpoch),
//     which makes a cosine smooth within each epoch while a step-wise decay
//     still changes only at epoch boundaries;
//   - per step, durations in steps: call with float64(step).
//
// t = 0 is the start of training. Apply sets an optimizer's learning rate
// from a schedule.
type Schedule interface {
	// Factor returns the multiplier of the base learning rate at progress
	// t >= 0 (negative t counts as 0).
	Factor(t float64) float64
	// Validate reports invalid parameters.
	Validate() error
}

// Apply sets opt's learning rate to opt.BaseLR() * s.Factor(t) and returns
// it. It panics if s is invalid: check schedules with Validate when you
// build your configuration.
func Apply(opt Optimizer, s Schedule, t float64) float64 {
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("optim.Apply: %v", err))
	}
	lr := opt.BaseLR() * s.Factor(t)
	opt.SetLR(lr)
	return lr
}

// Epochs converts a step count into fractional epochs, for stepping an
// epoch-based schedule after every batch. It panics if stepsPerEpoch < 1.
func Epochs(step, stepsPerEpoch int) float64 {
	if stepsPerEpoch < 1 {
		panic(fmt.Sprintf("optim.Epochs: %d steps per epoch", stepsPerEpoch))
	}
	return float64(step) / float64(stepsPerEpoch)
}

// Constant keeps the base learning rate.
type Constant struct{}

// Factor returns 1.
func (Constant) Factor(float64) float64 { return 1 }

// Validate returns nil.
func (Constant) Validate() error { return nil }

// StepDecay multiplies the learning rate by Gamma every Every units of
// progress: Gamma^floor(t/Every), as torch.optim.lr_scheduler.StepLR and
// timm's StepLRScheduler (EfficientNet's recipe decays by 0.97 every 2.4
// epochs). A zero Gamma means PyTorch's default 0.1.
type StepDecay struct {
	Every float64 // period, > 0
	Gamma float64 // factor per period, > 0
}

// Factor returns Gamma^floor(t/Every).
func (s StepDecay) Factor(t float64) float64 {
	return math.Pow(orDefault(s.Gamma, 0.1), math.Floor(max(t, 0)/s.Every))
}

// Validate reports invalid parameters.
func (s StepDecay) Validate() error {
	e := checkNonNeg("Every", s.Every)
	if e == "" && s.Every == 0 {
		e = "Every is required"
	}
	return joinErrs("StepDecay", e, checkNonNeg("Gamma", s.Gamma))
}

// Multiplicative multiplies the learning rate by Gamma at the end of every
// epoch (unit of progress): Gamma^floor(t), as
// torch.optim.lr_scheduler.MultiplicativeLR with a constant factor.
// detect-waste trains with Gamma 0.99.
type Multiplicative struct {
	Gamma float64 // factor per unit, > 0 (required)
}

// Factor returns Gamma^floor(t).
func (s Multiplicative) Factor(t float64) float64 {
	return math.Pow(s.Gamma, math.Floor(max(t, 0)))
}

// Validate reports invalid parameters.
func (s Multiplicative) Validate() error {
	e := checkNonNeg("Gamma", s.Gamma)
	if e == "" && s.Gamma == 0 {
		e = "Gamma is required"
	}
	return joinErrs("Multiplicative", e)
}

// Cosine warms the learning rate up linearly from WarmupStart to 1 over
// [0, Warmup], then follows half a cosine from 1 down to Min at Total, and
// stays at Min afterwards:
//
//	t < Warmup:           WarmupStart + (1-WarmupStart)·t/Warmup
//	Warmup <= t < Total:  Min + (1-Min)·(1 + cos(π·(t-Warmup)/(Total-Warmup)))/2
//	t >= Total:           Min
//
// This is timm's CosineLRScheduler with warmup_prefix=True and
// transformers' get_cosine_schedule_with_warmup (with Min 0). WarmupStart
// and Min are fractions of the base learning rate.
type Cosine struct {
	Total       float64 // end of the cosine, > Warmup
	Warmup      float64 // length of the linear warm-up, >= 0
	WarmupStart float64 // factor at t = 0, in [0, 1]
	Min         float64 // factor at and after Total, in [0, 1]
}

// Factor returns the multiplier at t.
func (s Cosine) Factor(t float64) float64 {
	t = max(t, 0)
	switch {
	case t < s.Warmup:
		return s.WarmupStart + (1-s.WarmupStart)*t/s.Warmup
	case t >= s.Total:
		return s.Min
	}
	frac := (t - s.Warmup) / (s.Total - s.Warmup)
	return s.Min + (1-s.Min)*(1+math.Cos(math.Pi*frac))/2
}

// Validate reports invalid parameters.
func (s Cosine) Validate() error {
	total := checkNonNeg("Total", s.Total)
	warm := checkNonNeg("Warmup", s.Warmup)
	if total == "" && warm == "" && s.Total <= s.Warmup {
		total = fmt.Sprintf("Total (%v) must be greater than Warmup (%v)", s.Total, s.Warmup)
	}
	frac := func(name string, v float64) string {
		if e := checkNonNeg(name, v); e != "" {
			return e
		}
		if v > 1 {
			return fmt.Sprintf("%s is %v, must be in [0, 1] (a fraction of the base learning rate)", name, v)
		}
		return ""
	}
	return joinErrs("Cosine", total, warm, frac("WarmupStart", s.WarmupStart), frac("Min", s.Min))
}
