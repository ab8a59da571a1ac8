package optim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// EMAConfig configures an exponential moving average of weights.
type EMAConfig struct {
	// Decay of the average, in (0, 1); zero means timm's default 0.9999.
	Decay float64
	// Warmup lowers the decay early in training, as TensorFlow's
	// ExponentialMovingAverage with num_updates does: update t (counting
	// from 0) uses min(Decay, (1+t)/(10+t)), so the average follows the
	// weights closely at first instead of remembering the random init.
	Warmup bool
	// Buffers are tensors (batch-norm running statistics, from
	// layers.Buffers) that the EMA copies as they are at every Update
	// rather than averaging them, like timm's ModelEmaV3 with
	// exclude_buffers. Leave it empty to track parameters only.
	Buffers []layers.Buffer
}

// Validate reports invalid fields.
func (c EMAConfig) Validate() error {
	return joinErrs("EMAConfig", checkUnit("Decay", c.Decay))
}

// emaCountKey is the state-dict key of the number of updates.
const emaCountKey = "num_updates"

// EMA keeps an exponential moving average of a model's weights (timm's
// ModelEmaV2): after each optimizer step, Update sets
//
//	ema = decay·ema + (1-decay)·param
//
// for every parameter. Evaluating with the averaged weights is often
// better than with the raw ones; Swap exchanges them with the model's for
// that.
type EMA struct {
	cfg     EMAConfig
	names   []string
	live    []*nn.Tensor // the model's tensors: params, then buffers
	shadow  []*nn.Tensor // the averages, same order
	nParams int          // live[:nParams] are parameters
	updates int
}

// NewEMA starts an average of params (and copies of cfg.Buffers), each
// initialised to its current value.
func NewEMA(params []layers.Param, cfg EMAConfig) (*EMA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Decay = orDefault(cfg.Decay, 0.9999)
	e := &EMA{cfg: cfg, nParams: len(params)}
	seen := map[string]bool{}
	add := func(name string, t *nn.Tensor) error {
		switch {
		case name == "":
			return fmt.Errorf("optim.NewEMA: tensor %d has no name", len(e.names))
		case t == nil:
			return fmt.Errorf("optim.NewEMA: %q has no value", name)
		case name == emaCountKey:
			return fmt.Errorf("optim.NewEMA: name %q is reserved for the update count", name)
		case seen[name]:
			return fmt.Errorf("optim.NewEMA: name %q appears twice", name)
		}
		seen[name] = true
		e.names = append(e.names, name)
		e.live = append(e.live, t)
		e.shadow = append(e.shadow, t.Clone())
		return nil
	}
	for _, p := range params {
		var t *nn.Tensor
		if p.Var != nil {
			t = p.Var.Value
		}
		if err := add(p.Name, t); err != nil {
			return nil, err
		}
	}
	for _, b := range cfg.Buffers {
		if err := add(b.Name, b.Tensor); err != nil {
			return nil, err
		}
	}
	if len(e.names) == 0 {
		return nil, fmt.Errorf("optim.NewEMA: nothing to average")
	}
	return e, nil
}

// Decay returns the decay the next Update will use.
func (e *EMA) Decay() float64 {
	if !e.cfg.Warmup {
		return e.cfg.Decay
	}
	t := float64(e.updates)
	return min(e.cfg.Decay, (1+t)/(10+t))
}

// Updates returns the number of Update calls so far.
func (e *EMA) Updates() int { return e.updates }

// Update folds the model's current weights into the average and copies
// the buffers. Call it after each optimizer step.
func (e *EMA) Update() {
	d := e.Decay()
	a, b := float32(d), float32(1-d)
	for i, live := range e.live {
		s, w := e.shadow[i].Data(), live.Data()
		if i >= e.nParams {
			copy(s, w)
			continue
		}
		w = w[:len(s)]
		for j := range s {
			s[j] = float32(a*s[j]) + float32(b*w[j])
		}
	}
	e.updates++
}

// Swap exchanges the averaged weights with the model's, so the model
// evaluates with the average; a second Swap restores the training weights
// exactly (values are exchanged, not recomputed). Do not call Update or
// step the optimizer between the two Swaps.
func (e *EMA) Swap() {
	for i, live := range e.live {
		s, w := e.shadow[i].Data(), live.Data()
		w = w[:len(s)]
		for j := range s {
			s[j], w[j] = w[j], s[j]
		}
	}
}

// CopyTo copies the averaged weights (and buffers) into the tensors of m
// with the same names, for instance a separate evaluation model or the
// final model to save. Every tracked name must exist in m with the same
// shape; m's other tensors are left alone. On error nothing is copied.
func (e *EMA) CopyTo(m layers.Module) error {
	dst := layers.StateDict(m)
	var errs []string
	for i, name := range e.names {
		t, ok := dst[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("%s: not in the model", name))
		case !nn.SameShape(t.Shape(), e.shadow[i].Shape()):
			errs = append(errs, fmt.Sprintf("%s: model has %v, EMA has %v", name, t.Shape(), e.shadow[i].Shape()))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("optim.EMA.CopyTo: %s", strings.Join(errs, "; "))
	}
	for i, name := range e.names {
		dst[name].CopyFrom(e.shadow[i])
	}
	return nil
}

// StateDict returns copies of the averaged tensors under the model's names
// and the update count under "num_updates" (which the warm-up needs to
// resume exactly).
func (e *EMA) StateDict() map[string]*nn.Tensor {
	sd := map[string]*nn.Tensor{emaCountKey: nn.Scalar(float32(e.updates))}
	for i, name := range e.names {
		sd[name] = e.shadow[i].Clone()
	}
	return sd
}

// LoadStateDict replaces the averages and the update count with copies of
// those in sd, which must hold exactly the tracked names with the same
// shapes and "num_updates". On error nothing is changed.
func (e *EMA) LoadStateDict(sd map[string]*nn.Tensor) error {
	var errs, missing, unexpected []string
	n, ok := 0, true
	if t, present := sd[emaCountKey]; !present {
		missing = append(missing, emaCountKey)
	} else if n, ok = count(t); !ok {
		errs = append(errs, fmt.Sprintf("%s: %v is not an update count", emaCountKey, t))
	}
	known := map[string]bool{emaCountKey: true}
	for i, name := range e.names {
		known[name] = true
		t, present := sd[name]
		switch {
		case !present:
			missing = append(missing, name)
		case t == nil || !nn.SameShape(t.Shape(), e.shadow[i].Shape()):
			var shape []int
			if t != nil {
				shape = t.Shape()
			}
			errs = append(errs, fmt.Sprintf("%s: EMA has %v, state has %v", name, e.shadow[i].Shape(), shape))
		}
	}
	for k := range sd {
		if !known[k] {
			unexpected = append(unexpected, k)
		}
	}
	sort.Strings(errs)
	sort.Strings(missing)
	sort.Strings(unexpected)
	if len(missing) > 0 {
		errs = append(errs, "missing: "+strings.Join(missing, ", "))
	}
	if len(unexpected) > 0 {
		errs = append(errs, "unexpected: "+strings.Join(unexpected, ", "))
	}
	if len(errs) > 0 {
		return fmt.Errorf("optim.EMA.LoadStateDict: %s", strings.Join(errs, "; "))
	}
	for i, name := range e.names {
		e.shadow[i].CopyFrom(sd[name])
	}
	e.updates = n
	return nil
}
