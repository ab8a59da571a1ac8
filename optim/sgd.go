package optim

import (
	"github.com/sortnet/sortnet/layers"
)

// SGDConfig configures stochastic gradient descent with optional momentum,
// as torch.optim.SGD. Zero values take PyTorch's defaults: Momentum,
// Dampening and WeightDecay 0. LR has no default (PyTorch requires it).
type SGDConfig struct {
	LR          float64 // learning rate, > 0
	Momentum    float64 // momentum factor in [0, 1)
	Dampening   float64 // dampening of the momentum in [0, 1]
	Nesterov    bool    // Nesterov momentum; needs Momentum > 0 and Dampening 0
	WeightDecay float64 // L2 penalty added to the gradient, >= 0
	// NoDecay, if set, exempts the parameters for which it returns true
	// from weight decay (see NoDecayBiasAndNorm). It is called once per
	// parameter at construction.
	NoDecay func(p layers.Param) bool
}

// Validate reports every invalid field of c.
func (c SGDConfig) Validate() error {
	lr := checkNonNeg("LR", c.LR)
	if lr == "" && c.LR == 0 {
		lr = "LR is required (PyTorch's SGD has no default)"
	}
	damp := checkNonNeg("Dampening", c.Dampening)
	if damp == "" && c.Dampening > 1 {
		damp = "Dampening is " + fmtFloat(c.Dampening) + ", must be in [0, 1]"
	}
	nest := ""
	if c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0) {
		nest = "Nesterov needs Momentum > 0 and Dampening 0"
	}
	return joinErrs("SGDConfig", lr, checkUnit("Momentum", c.Momentum), damp, nest, checkNonNeg("WeightDecay", c.WeightDecay))
}

// SGD is stochastic gradient descent with optional (Nesterov) momentum and
// L2 weight decay, following torch.optim.SGD: with g = grad + wd·w,
//
//	buf = g                                  (first update)
//	buf = momentum·buf + (1-dampening)·g     (later updates)
//	g   = g + momentum·buf  (Nesterov)  or  buf
//	w   = w - lr·g
//
// Its state is "momentum_buffer.<name>" when Momentum > 0.
type SGD struct {
	core
	cfg SGDConfig
}

var _ Optimizer = (*SGD)(nil)

// NewSGD returns an SGD optimizer over params.
func NewSGD(params []layers.Param, cfg SGDConfig) (*SGD, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var names []string
	if cfg.Momentum != 0 {
		names = []string{"momentum_buffer"}
	}
	c, err := newCore("optim.SGD", params, cfg.LR, cfg.NoDecay, names, make([]float32, len(names)))
	if err != nil {
		return nil, err
	}
	return &SGD{core: c, cfg: cfg}, nil
}

// Config returns the configuration the optimizer was built with.
func (o *SGD) Config() SGDConfig { return o.cfg }

// Step applies one SGD update.
func (o *SGD) Step() {
	lr := float32(-o.lr)
	mom := float32(o.cfg.Momentum)
	damp := float32(1 - o.cfg.Dampening)
	nesterov := o.cfg.Nesterov
	o.each(func(w, g []float32, decay bool, s *slot) {
		var wd float32
		if decay {
			wd = float32(o.cfg.WeightDecay)
		}
		var buf []float32
		if mom != 0 {
			buf = s.bufs[0]
		}
		sgdUpdate(w, g, buf, lr, wd, mom, damp, nesterov, s.step == 1)
	})
}

// sgdUpdate is the SGD update of one parameter; negLR is -lr, buf is nil
// without momentum and is initialised from the gradient when first is set.
func sgdUpdate(w, g, buf []float32, negLR, wd, mom, damp float32, nesterov, first bool) {
	g = g[:len(w)]
	for i := range w {
		d := g[i]
		if wd != 0 {
			d += float32(wd * w[i])
		}
		if buf != nil {
			if first {
				buf[i] = d
			} else {
				buf[i] = float32(buf[i]*mom) + float32(damp*d)
			}
			if nesterov {
				d += float32(mom * buf[i])
			} else {
				d = buf[i]
			}
		}
		w[i] += float32(negLR * d)
	}
}
