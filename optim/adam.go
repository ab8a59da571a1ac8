package optim

import (
	"math"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// AdamConfig configures Adam, as torch.optim.Adam. Zero values take
// PyTorch's defaults: LR 1e-3, Beta1 0.9, Beta2 0.999, Eps 1e-8,
// WeightDecay 0. (A zero Beta1 therefore means 0.9; use a tiny value such
// as 1e-12 to switch the first moment off.)
type AdamConfig struct {
	LR          float64 // learning rate, >= 0
	Beta1       float64 // decay of the first moment, in [0, 1)
	Beta2       float64 // decay of the second moment, in [0, 1)
	Eps         float64 // added to the denominator, > 0
	WeightDecay float64 // L2 penalty added to the gradient (not decoupled; see AdamW), >= 0
	AMSGrad     bool    // use the running maximum of the second moment
	// NoDecay, if set, exempts the parameters for which it returns true
	// from weight decay (see NoDecayBiasAndNorm). It is called once per
	// parameter at construction.
	NoDecay func(p layers.Param) bool
}

// Validate reports every invalid field of c.
func (c AdamConfig) Validate() error {
	return validateAdam("AdamConfig", c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay)
}

func validateAdam(name string, lr, b1, b2, eps, wd float64) error {
	return joinErrs(name, checkNonNeg("LR", lr), checkUnit("Beta1", b1), checkUnit("Beta2", b2), checkNonNeg("Eps", eps), checkNonNeg("WeightDecay", wd))
}

func (c AdamConfig) withDefaults() AdamConfig {
	c.LR = orDefault(c.LR, 1e-3)
	c.Beta1 = orDefault(c.Beta1, 0.9)
	c.Beta2 = orDefault(c.Beta2, 0.999)
	c.Eps = orDefault(c.Eps, 1e-8)
	return c
}

// AdamWConfig configures AdamW, as torch.optim.AdamW. Zero values take
// PyTorch's defaults: LR 1e-3, Beta1 0.9, Beta2 0.999, Eps 1e-8 and
// WeightDecay 1e-2. (A zero WeightDecay therefore means 1e-2: to train
// without decay use Adam, or a NoDecay that returns true.)
type AdamWConfig struct {
	LR          float64 // learning rate, >= 0
	Beta1       float64 // decay of the first moment, in [0, 1)
	Beta2       float64 // decay of the second moment, in [0, 1)
	Eps         float64 // added to the denominator, > 0
	WeightDecay float64 // decoupled decay: w *= 1 - lr·WeightDecay before each update, >= 0
	AMSGrad     bool    // use the running maximum of the second moment
	// NoDecay, if set, exempts the parameters for which it returns true
	// from weight decay (see NoDecayBiasAndNorm). It is called once per
	// parameter at construction.
	NoDecay func(p layers.Param) bool
}

// Validate reports every invalid field of c.
func (c AdamWConfig) Validate() error {
	return validateAdam("AdamWConfig", c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay)
}

func (c AdamWConfig) withDefaults() AdamWConfig {
	c.LR = orDefault(c.LR, 1e-3)
	c.Beta1 = orDefault(c.Beta1, 0.9)
	c.Beta2 = orDefault(c.Beta2, 0.999)
	c.Eps = orDefault(c.Eps, 1e-8)
	c.WeightDecay = orDefault(c.WeightDecay, 1e-2)
	return c
}

// Adam is the Adam optimizer (Kingma & Ba), following torch.optim.Adam:
// with g = grad + wd·w and t the parameter's own update count,
//
//	m = β1·m + (1-β1)·g
//	v = β2·v + (1-β2)·g²
//	w = w - lr/(1-β1ᵗ) · m / (√v / √(1-β2ᵗ) + eps)
//
// (with AMSGrad, √v uses the running maximum of v). Its state is
// "exp_avg.<name>", "exp_avg_sq.<name>" and, with AMSGrad,
// "max_exp_avg_sq.<name>".
type Adam struct {
	core
	cfg AdamConfig
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter),
// following torch.optim.AdamW: each update first shrinks the weights,
// w = w·(1 - lr·wd), and then applies the Adam update to the plain
// gradient. Its state is that of Adam.
type AdamW struct {
	core
	cfg AdamWConfig
}

var (
	_ Optimizer = (*Adam)(nil)
	_ Optimizer = (*AdamW)(nil)
)

func adamBuffers(amsgrad bool) []string {
	if amsgrad {
		return []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
	}
	return []string{"exp_avg", "exp_avg_sq"}
}

// NewAdam returns an Adam optimizer over params.
func NewAdam(params []layers.Param, cfg AdamConfig) (*Adam, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	names := adamBuffers(cfg.AMSGrad)
	c, err := newCore("optim.Adam", params, cfg.LR, cfg.NoDecay, names, make([]float32, len(names)))
	if err != nil {
		return nil, err
	}
	return &Adam{core: c, cfg: cfg}, nil
}

// NewAdamW returns an AdamW optimizer over params.
func NewAdamW(params []layers.Param, cfg AdamWConfig) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	names := adamBuffers(cfg.AMSGrad)
	c, err := newCore("optim.AdamW", params, cfg.LR, cfg.NoDecay, names, make([]float32, len(names)))
	if err != nil {
		return nil, err
	}
	return &AdamW{core: c, cfg: cfg}, nil
}

// Config returns the configuration with defaults filled in.
func (o *Adam) Config() AdamConfig { return o.cfg }

// Config returns the configuration with defaults filled in.
func (o *AdamW) Config() AdamWConfig { return o.cfg }

// Step applies one Adam update.
func (o *Adam) Step() {
	c := o.cfg
	o.each(func(w, g []float32, decay bool, s *slot) {
		a := newAdamStep(o.lr, c.Beta1, c.Beta2, c.Eps, s.step)
		if decay {
			a.L2 = float32(c.WeightDecay)
		}
		adamUpdate(&a, w, g, s.bufs)
	})
}

// Step applies one AdamW update.
func (o *AdamW) Step() {
	c := o.cfg
	o.each(func(w, g []float32, decay bool, s *slot) {
		a := newAdamStep(o.lr, c.Beta1, c.Beta2, c.Eps, s.step)
		if decay {
			a.Shrink, a.Decoupled = float32(1-o.lr*c.WeightDecay), true
		}
		adamUpdate(&a, w, g, s.bufs)
	})
}

// newAdamStep returns the float32 constants of one Adam update at the
// given step, derived the way PyTorch derives them (in float64 from the
// step count, then rounded); the caller sets the weight decay.
func newAdamStep(lr, beta1, beta2, eps float64, step int) nn.AdamConsts {
	t := float64(step)
	bc1 := 1 - math.Pow(beta1, t)
	bc2 := 1 - math.Pow(beta2, t)
	return nn.AdamConsts{
		B1: float32(beta1), C1: float32(1 - beta1),
		B2: float32(beta2), C2: float32(1 - beta2),
		NegStep: float32(-(lr / bc1)),
		BC2Sqrt: float32(math.Sqrt(bc2)),
		Eps:     float32(eps),
	}
}

// adamUpdate applies the step a to w with gradient g and state bufs (m, v
// and, with AMSGrad, the running maximum of v).
func adamUpdate(a *nn.AdamConsts, w, g []float32, bufs [][]float32) {
	var vmax []float32
	if len(bufs) > 2 {
		vmax = bufs[2]
	}
	nn.AdamUpdate(w, g, bufs[0], bufs[1], vmax, a)
}
