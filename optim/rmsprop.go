package optim

import (
	"math"

	"github.com/sortnet/sortnet/layers"
)

// RMSPropConfig configures RMSProp. It has two formulations:
//
//   - PyTorch's (torch.optim.RMSprop), the default. Zero values take
//     PyTorch's defaults: LR 1e-2, Alpha 0.99, Eps 1e-8, Momentum 0,
//     WeightDecay 0.
//   - TensorFlow's, with EpsInsideSqrt, exactly as timm's RMSpropTF (with
//     its defaults decoupled_decay=False, lr_in_momentum=True), which is how
//     timm trains EfficientNet. It differs from PyTorch's in four ways: eps
//     goes inside the square root, sqrt(ms + eps); the mean square starts
//     at ones instead of zeros (TensorFlow's initialisation, which damps the
//     first updates); the mean square is updated in TensorFlow's order,
//     ms += (1-α)·(g² - ms); and the learning rate is folded into the
//     momentum buffer, buf = momentum·buf + lr·g/denominator, w -= buf.
//     Zero values take timm's defaults: LR 1e-2, Alpha 0.9, Eps 1e-10. The
//     EfficientNet recipe sets Alpha 0.9, Eps 1e-3, Momentum 0.9.
//
// A zero Alpha therefore means the default; use a tiny value to turn the
// averaging off.
type RMSPropConfig struct {
	LR          float64 // learning rate, >= 0
	Alpha       float64 // decay of the mean square (TensorFlow's "decay", "rho"), in [0, 1)
	Eps         float64 // added to the denominator, > 0
	Momentum    float64 // momentum factor in [0, 1)
	Centered    bool    // divide by the estimated variance instead of the mean square
	WeightDecay float64 // L2 penalty added to the gradient, >= 0
	// EpsInsideSqrt selects the TensorFlow formulation (see above).
	EpsInsideSqrt bool
	// NoDecay, if set, exempts the parameters for which it returns true
	// from weight decay (see NoDecayBiasAndNorm). It is called once per
	// parameter at construction.
	NoDecay func(p layers.Param) bool
}

// Validate reports every invalid field of c.
func (c RMSPropConfig) Validate() error {
	return joinErrs("RMSPropConfig", checkNonNeg("LR", c.LR), checkUnit("Alpha", c.Alpha), checkNonNeg("Eps", c.Eps),
		checkUnit("Momentum", c.Momentum), checkNonNeg("WeightDecay", c.WeightDecay))
}

func (c RMSPropConfig) withDefaults() RMSPropConfig {
	c.LR = orDefault(c.LR, 1e-2)
	if c.EpsInsideSqrt {
		c.Alpha = orDefault(c.Alpha, 0.9)
		c.Eps = orDefault(c.Eps, 1e-10)
	} else {
		c.Alpha = orDefault(c.Alpha, 0.99)
		c.Eps = orDefault(c.Eps, 1e-8)
	}
	return c
}

// RMSProp divides the gradient by a running root mean square (Hinton),
// following torch.optim.RMSprop: with g = grad + wd·w,
//
//	ms  = α·ms + (1-α)·g²
//	ga  = α·ga + (1-α)·g                  (Centered)
//	d   = √(ms - ga²) + eps  (Centered)  or  √ms + eps
//	buf = momentum·buf + g/d;  w = w - lr·buf   (Momentum > 0)
//	w   = w - lr·g/d                            (otherwise)
//
// or TensorFlow's variant (see RMSPropConfig.EpsInsideSqrt). Its state is
// "square_avg.<name>", plus "momentum_buffer.<name>" with Momentum and
// "grad_avg.<name>" when Centered.
type RMSProp struct {
	core
	cfg RMSPropConfig
	mom int // index of the momentum buffer, or -1
	avg int // index of the gradient average, or -1
}

var _ Optimizer = (*RMSProp)(nil)

// NewRMSProp returns an RMSProp optimizer over params.
func NewRMSProp(params []layers.Param, cfg RMSPropConfig) (*RMSProp, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	o := &RMSProp{cfg: cfg, mom: -1, avg: -1}
	names := []string{"square_avg"}
	init := []float32{0}
	if cfg.EpsInsideSqrt {
		init[0] = 1
	}
	if cfg.Momentum > 0 {
		o.mom = len(names)
		names = append(names, "momentum_buffer")
		init = append(init, 0)
	}
	if cfg.Centered {
		o.avg = len(names)
		names = append(names, "grad_avg")
		init = append(init, 0)
	}
	c, err := newCore("optim.RMSProp", params, cfg.LR, cfg.NoDecay, names, init)
	if err != nil {
		return nil, err
	}
	o.core = c
	return o, nil
}

// Config returns the configuration with defaults filled in.
func (o *RMSProp) Config() RMSPropConfig { return o.cfg }

// Step applies one RMSProp update.
func (o *RMSProp) Step() {
	c := o.cfg
	r := rmsStep{
		lr:    float32(o.lr),
		negLR: float32(-o.lr),
		alpha: float32(c.Alpha),
		c:     float32(1 - c.Alpha),
		eps:   float32(c.Eps),
		mom:   float32(c.Momentum),
	}
	o.each(func(w, g []float32, decay bool, s *slot) {
		r := r
		if decay {
			r.wd = float32(c.WeightDecay)
		}
		var buf, ga []float32
		if o.mom >= 0 {
			buf = s.bufs[o.mom]
		}
		if o.avg >= 0 {
			ga = s.bufs[o.avg]
		}
		if c.EpsInsideSqrt {
			r.updateTF(w, g, s.bufs[0], buf, ga)
		} else {
			r.update(w, g, s.bufs[0], buf, ga)
		}
	})
}

// rmsStep holds the float32 scalars of one RMSProp update.
type rmsStep struct {
	lr, negLR float32
	alpha, c  float32 // α, 1-α
	eps       float32
	mom       float32
	wd        float32
}

// update is PyTorch's RMSprop on one parameter. buf (momentum) and ga
// (centered) are nil when unused.
func (r rmsStep) update(w, g, ms, buf, ga []float32) {
	n := len(w)
	g, ms = g[:n], ms[:n]
	for i := range w {
		gi := g[i]
		if r.wd != 0 {
			gi += float32(r.wd * w[i])
		}
		ms[i] = float32(ms[i]*r.alpha) + float32(float32(r.c*gi)*gi)
		var d float32
		if ga != nil {
			ga[i] = float32(ga[i]*r.alpha) + float32(r.c*gi)
			d = sqrt32(ms[i] + float32(float32(-ga[i])*ga[i]))
		} else {
			d = sqrt32(ms[i])
		}
		d += r.eps
		if buf != nil {
			buf[i] = float32(buf[i]*r.mom) + gi/d
			w[i] += float32(r.negLR * buf[i])
		} else {
			w[i] += float32(r.negLR*gi) / d
		}
	}
}

// updateTF is timm's RMSpropTF on one parameter (eps inside the root,
// TensorFlow's order of operations, learning rate inside the momentum).
func (r rmsStep) updateTF(w, g, ms, buf, ga []float32) {
	n := len(w)
	g, ms = g[:n], ms[:n]
	for i := range w {
		gi := g[i]
		if r.wd != 0 {
			gi += float32(r.wd * w[i])
		}
		ms[i] += float32(r.c * (float32(gi*gi) - ms[i]))
		var d float32
		if ga != nil {
			ga[i] += float32(r.c * (gi - ga[i]))
			d = sqrt32(float32(ms[i]+float32(float32(-ga[i])*ga[i])) + r.eps)
		} else {
			d = sqrt32(ms[i] + r.eps)
		}
		if buf != nil {
			buf[i] = float32(buf[i]*r.mom) + float32(r.lr*gi)/d
			w[i] -= buf[i]
		} else {
			w[i] += float32(r.negLR*gi) / d
		}
	}
}

// sqrt32 is the correctly rounded float32 square root.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
