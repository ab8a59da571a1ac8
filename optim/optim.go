package optim

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// Optimizer updates a fixed list of named parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter from its current Grad.
	// Parameters whose Grad is nil (never reached by Backward) or that do
	// not require a gradient (frozen with SetRequiresGrad(false)) are
	// skipped and keep their state untouched, so a frozen parameter costs
	// nothing and does not drift under momentum or weight decay.
	Step()
	// ZeroGrad zeroes the gradients of all parameters (keeping the buffers).
	ZeroGrad()
	// LR returns the current learning rate.
	LR() float64
	// SetLR sets the learning rate used by the next Step. It panics on a
	// negative, NaN or infinite value.
	SetLR(lr float64)
	// BaseLR returns the learning rate the optimizer was configured with;
	// schedules scale it (see Apply).
	BaseLR() float64
	// Steps returns the number of Step calls so far (restored by
	// LoadStateDict).
	Steps() int
	// Params returns the parameters, in the order given at construction
	// (the optimizer's own slice: do not modify it).
	Params() []layers.Param
	// StateDict returns a copy of the optimizer state, keyed by
	// "<buffer>.<param name>" (for example "exp_avg.blocks.0.conv.weight"),
	// "step.<param name>" (each parameter's own update count, as PyTorch
	// keeps it) and "step" (the number of Step calls). Parameters that have
	// never had a gradient have no entries. Hyperparameters and the
	// learning rate are not part of the state: they come from the Config
	// and the schedule.
	StateDict() map[string]*nn.Tensor
	// LoadStateDict replaces the state with a copy of sd, which must come
	// from an optimizer of the same kind and options over parameters with
	// the same names and shapes. On error nothing is changed; the error
	// lists every missing, unexpected and mis-shaped entry.
	LoadStateDict(sd map[string]*nn.Tensor) error
}

// NoDecayBiasAndNorm reports whether p has rank <= 1: biases and batch-norm
// scales and shifts. Used as a Config's NoDecay it exempts them from weight
// decay, timm's convention.
func NoDecayBiasAndNorm(p layers.Param) bool { return p.Var.Value.Rank() <= 1 }

// stepKey is the state-dict key of the number of Step calls.
const stepKey = "step"

// slot is the state of one parameter. step counts the updates the
// parameter has received; zero means the state was never initialised and
// bufs is nil.
type slot struct {
	step int
	bufs [][]float32
}

// core holds what every optimizer shares: the parameters, which of them
// take weight decay, the learning rates, the step count and the
// per-parameter state.
type core struct {
	kind   string // "optim.Adam", used in messages
	params []layers.Param
	decay  []bool // decay[i]: parameter i takes weight decay
	lr     float64
	baseLR float64
	steps  int
	names  []string  // buffer names, e.g. {"exp_avg", "exp_avg_sq"}
	init   []float32 // initial value of each buffer
	slots  []slot
}

// newCore checks params and sets up the shared state. noDecay may be nil.
func newCore(kind string, params []layers.Param, lr float64, noDecay func(layers.Param) bool, names []string, init []float32) (core, error) {
	if len(params) == 0 {
		return core{}, fmt.Errorf("%s: no parameters to optimize", kind)
	}
	byName := map[string]bool{}
	byVar := map[*nn.Var]string{}
	c := core{
		kind:   kind,
		params: append([]layers.Param(nil), params...),
		decay:  make([]bool, len(params)),
		lr:     lr,
		baseLR: lr,
		names:  names,
		init:   init,
		slots:  make([]slot, len(params)),
	}
	for i, p := range params {
		switch {
		case p.Name == "":
			return core{}, fmt.Errorf("%s: parameter %d has no name (state is saved by name)", kind, i)
		case p.Var == nil || p.Var.Value == nil:
			return core{}, fmt.Errorf("%s: parameter %q has no value", kind, p.Name)
		case p.Name == stepKey:
			return core{}, fmt.Errorf("%s: parameter name %q is reserved for the step count", kind, p.Name)
		case byName[p.Name]:
			return core{}, fmt.Errorf("%s: parameter name %q appears twice", kind, p.Name)
		}
		if other, ok := byVar[p.Var]; ok {
			return core{}, fmt.Errorf("%s: parameters %q and %q are the same Var", kind, other, p.Name)
		}
		byName[p.Name] = true
		byVar[p.Var] = p.Name
		c.decay[i] = noDecay == nil || !noDecay(p)
	}
	return c, nil
}

func (c *core) LR() float64            { return c.lr }
func (c *core) BaseLR() float64        { return c.baseLR }
func (c *core) Steps() int             { return c.steps }
func (c *core) Params() []layers.Param { return c.params }

func (c *core) SetLR(lr float64) {
	if lr < 0 || math.IsNaN(lr) || math.IsInf(lr, 0) {
		panic(fmt.Sprintf("%s.SetLR: learning rate %v: must be finite and >= 0", c.kind, lr))
	}
	c.lr = lr
}

func (c *core) ZeroGrad() {
	for _, p := range c.params {
		p.Var.ZeroGrad()
	}
}

// each calls fn for every parameter that has a gradient, after
// initialising its state on its first update and counting the update in
// the slot. fn gets the parameter's values, its gradient, whether it takes
// weight decay, and its state.
func (c *core) each(fn func(w, g []float32, decay bool, s *slot)) {
	c.steps++
	for i, p := range c.params {
		if p.Var.Grad == nil || !p.Var.RequiresGrad() {
			continue // never reached, or frozen: no update, state untouched
		}
		w, g := p.Var.Value.Data(), p.Var.Grad.Data()
		if len(g) != len(w) {
			panic(fmt.Sprintf("%s.Step: parameter %q has shape %v but its gradient %v", c.kind, p.Name, p.Var.Value.Shape(), p.Var.Grad.Shape()))
		}
		s := &c.slots[i]
		if s.step == 0 {
			s.bufs = make([][]float32, len(c.names))
			for k := range s.bufs {
				s.bufs[k] = make([]float32, len(w))
				if v := c.init[k]; v != 0 {
					for j := range s.bufs[k] {
						s.bufs[k][j] = v
					}
				}
			}
		}
		s.step++
		if len(w) <= updateGrain {
			fn(w, g, c.decay[i], s)
			continue
		}
		// Updates are elementwise: chunks of one tensor run in parallel
		// and the result does not depend on how it is split.
		nn.ParallelFor(len(w), updateGrain, func(lo, hi int) {
			sub := slot{step: s.step, bufs: make([][]float32, len(s.bufs))}
			for k, b := range s.bufs {
				sub.bufs[k] = b[lo:hi]
			}
			fn(w[lo:hi], g[lo:hi], c.decay[i], &sub)
		})
	}
}

// updateGrain is the chunk of a parameter tensor one thread updates.
const updateGrain = 1 << 14

func (c *core) StateDict() map[string]*nn.Tensor {
	sd := map[string]*nn.Tensor{stepKey: nn.Scalar(float32(c.steps))}
	for i, p := range c.params {
		s := c.slots[i]
		if s.step == 0 {
			continue
		}
		sd[stepKey+"."+p.Name] = nn.Scalar(float32(s.step))
		for k, name := range c.names {
			sd[name+"."+p.Name] = nn.FromData(append([]float32(nil), s.bufs[k]...), p.Var.Value.Shape()...)
		}
	}
	return sd
}

// count converts a step-count tensor to an int. Counts are stored as
// float32, exact up to 2^24.
func count(t *nn.Tensor) (int, bool) {
	if t == nil || t.Len() != 1 {
		return 0, false
	}
	v := float64(t.Data()[0])
	if v < 0 || v > 1<<24 || v != math.Trunc(v) {
		return 0, false
	}
	return int(v), true
}

func (c *core) LoadStateDict(sd map[string]*nn.Tensor) error {
	var missing, unexpected, bad []string
	known := map[string]bool{stepKey: true}
	steps, ok := 0, true
	if t, present := sd[stepKey]; !present {
		missing = append(missing, stepKey)
	} else if steps, ok = count(t); !ok {
		bad = append(bad, fmt.Sprintf("%s: %v is not a step count", stepKey, t))
	}
	slots := make([]slot, len(c.params))
	for i, p := range c.params {
		keys := make([]string, 0, len(c.names)+1)
		keys = append(keys, stepKey+"."+p.Name)
		for _, name := range c.names {
			keys = append(keys, name+"."+p.Name)
		}
		var have, lack []string
		for _, k := range keys {
			known[k] = true
			if _, present := sd[k]; present {
				have = append(have, k)
			} else {
				lack = append(lack, k)
			}
		}
		if len(have) == 0 {
			continue // never updated
		}
		if len(lack) > 0 {
			missing = append(missing, lack...)
			continue
		}
		st, ok := count(sd[keys[0]])
		if !ok || st == 0 {
			bad = append(bad, fmt.Sprintf("%s: %v is not a positive step count", keys[0], sd[keys[0]]))
			continue
		}
		s := slot{step: st, bufs: make([][]float32, len(c.names))}
		for k, key := range keys[1:] {
			t := sd[key]
			if t == nil || !nn.SameShape(t.Shape(), p.Var.Value.Shape()) {
				var shape []int
				if t != nil {
					shape = t.Shape()
				}
				bad = append(bad, fmt.Sprintf("%s: parameter has shape %v, state has %v", key, p.Var.Value.Shape(), shape))
				continue
			}
			s.bufs[k] = append([]float32(nil), t.Data()...)
		}
		slots[i] = s
	}
	for k := range sd {
		if !known[k] {
			unexpected = append(unexpected, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	sort.Strings(bad)
	var errs []string
	if len(bad) > 0 {
		errs = append(errs, "bad entries: "+strings.Join(bad, "; "))
	}
	if len(missing) > 0 {
		errs = append(errs, "missing: "+strings.Join(missing, ", "))
	}
	if len(unexpected) > 0 {
		errs = append(errs, "unexpected: "+strings.Join(unexpected, ", "))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s.LoadStateDict: %s", c.kind, strings.Join(errs, "; "))
	}
	c.steps = steps
	c.slots = slots
	return nil
}

// Validation helpers. Each returns "" when v is acceptable.

func checkFinite(name string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%s is %v, must be finite", name, v)
	}
	return ""
}

func checkNonNeg(name string, v float64) string {
	if s := checkFinite(name, v); s != "" {
		return s
	}
	if v < 0 {
		return fmt.Sprintf("%s is %v, must be >= 0", name, v)
	}
	return ""
}

// checkUnit requires v in [0, 1).
func checkUnit(name string, v float64) string {
	if s := checkNonNeg(name, v); s != "" {
		return s
	}
	if v >= 1 {
		return fmt.Sprintf("%s is %v, must be in [0, 1)", name, v)
	}
	return ""
}

// joinErrs builds one error naming the config from the non-empty messages.
func joinErrs(config string, msgs ...string) error {
	var out []string
	for _, m := range msgs {
		if m != "" {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return fmt.Errorf("optim.%s: %s", config, strings.Join(out, "; "))
}

// orDefault returns def when v is zero.
func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func fmtFloat(v float64) string { return fmt.Sprint(v) }
