package layers

import (
	"fmt"

	"github.com/sortnet/sortnet/nn"
)

// BNConfig configures BatchNorm2d. Zero values take PyTorch's defaults
// (eps 1e-5, momentum 0.1); TensorFlow-ported models use eps 1e-3 and
// momentum 0.01.
type BNConfig struct {
	Eps      float32
	Momentum float32 // weight of the new batch in the running statistics
}

// BatchNorm2d normalises the channels (last axis) of NHWC input. In
// training mode it uses the batch statistics and updates the running ones;
// in evaluation mode it uses the running statistics.
//
// Parameter names: "weight" (γ), "bias" (β); buffers "running_mean",
// "running_var". PyTorch's num_batches_tracked is not kept (it only matters
// with momentum=None); weight importers skip it.
type BatchNorm2d struct {
	Weight, Bias            *nn.Var
	RunningMean, RunningVar *nn.Tensor
	Eps, Momentum           float32
	training                bool
}

var (
	_ Layer          = (*BatchNorm2d)(nil)
	_ TrainingSwitch = (*BatchNorm2d)(nil)
)

// NewBatchNorm2d returns batch norm over c channels with γ = 1, β = 0,
// running mean 0 and running variance 1, in training mode.
func NewBatchNorm2d(c int, cfg BNConfig) *BatchNorm2d {
	if c <= 0 {
		panic(fmt.Sprintf("layers.NewBatchNorm2d: %d channels", c))
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-5
	}
	if cfg.Momentum == 0 {
		cfg.Momentum = 0.1
	}
	if !(cfg.Eps > 0) || !(cfg.Momentum > 0 && cfg.Momentum <= 1) {
		panic(fmt.Sprintf("layers.NewBatchNorm2d: eps %g must be > 0 and momentum %g in (0, 1]", cfg.Eps, cfg.Momentum))
	}
	return &BatchNorm2d{
		Weight:      nn.Param(nn.Full(1, c)),
		Bias:        nn.Param(nn.New(c)),
		RunningMean: nn.New(c),
		RunningVar:  nn.Full(1, c),
		Eps:         cfg.Eps,
		Momentum:    cfg.Momentum,
		training:    true,
	}
}

// Forward normalises x [..., C].
func (b *BatchNorm2d) Forward(x *nn.Var) *nn.Var {
	return nn.BatchNorm(x, b.Weight, b.Bias, b.opts())
}

func (b *BatchNorm2d) opts() nn.BNOpts {
	return nn.BNOpts{RunningMean: b.RunningMean, RunningVar: b.RunningVar, Training: b.training, Momentum: b.Momentum, Eps: b.Eps}
}

// ForwardAct returns act.Forward(b.Forward(x)). With act SiLU the two are
// one op, which runs as a single pass over memory when no gradient is
// needed (nn.BNOpts.SiLU), to the same bits. With any other act, under
// nn.NoGrad, the norm's output goes back to the buffer pool once act has
// made its own; act must therefore return its input itself or a new
// value, never a view of it (the activations of this package do).
func (b *BatchNorm2d) ForwardAct(x *nn.Var, act Layer) *nn.Var {
	if _, ok := act.(SiLU); ok {
		o := b.opts()
		o.SiLU = true
		return nn.BatchNorm(x, b.Weight, b.Bias, o)
	}
	y := b.Forward(x)
	z := act.Forward(y)
	if z != y && !nn.GradEnabled() {
		nn.Recycle(y.Value)
	}
	return z
}

// SetTraining switches between batch statistics (on) and running ones.
func (b *BatchNorm2d) SetTraining(on bool) { b.training = on }

// Training reports the mode.
func (b *BatchNorm2d) Training() bool { return b.training }

// Members lists the parameters and running statistics.
func (b *BatchNorm2d) Members() Members {
	return Members{
		Params:  []Param{{"weight", b.Weight}, {"bias", b.Bias}},
		Buffers: []Buffer{{"running_mean", b.RunningMean}, {"running_var", b.RunningVar}},
	}
}
