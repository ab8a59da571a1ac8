package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/nn"
)

// Dropout zeroes each element with probability P during training and
// scales the rest by 1/(1-P); in evaluation mode it passes x through.
type Dropout struct {
	P        float32
	Rng      *rand.Rand
	training bool
}

var (
	_ Layer          = (*Dropout)(nil)
	_ TrainingSwitch = (*Dropout)(nil)
)

// NewDropout returns dropout with probability p drawing from rng, in
// training mode.
func NewDropout(p float32, rng *rand.Rand) *Dropout {
	checkProb("layers.NewDropout", p, rng)
	return &Dropout{P: p, Rng: rng, training: true}
}

// Forward applies dropout in training mode.
func (d *Dropout) Forward(x *nn.Var) *nn.Var {
	if !d.training || d.P == 0 {
		return x
	}
	return nn.Dropout(x, d.P, d.Rng)
}

// SetTraining switches dropout on or off.
func (d *Dropout) SetTraining(on bool) { d.training = on }

// Members is empty.
func (d *Dropout) Members() Members { return Members{} }

// DropPath (stochastic depth) drops whole samples of a residual branch
// with probability P during training, scaling kept ones by 1/(1-P), as
// timm's drop_path; in evaluation mode it passes x through.
type DropPath struct {
	P        float32
	Rng      *rand.Rand
	training bool
}

var (
	_ Layer          = (*DropPath)(nil)
	_ TrainingSwitch = (*DropPath)(nil)
)

// NewDropPath returns drop-path with probability p drawing from rng, in
// training mode.
func NewDropPath(p float32, rng *rand.Rand) *DropPath {
	checkProb("layers.NewDropPath", p, rng)
	return &DropPath{P: p, Rng: rng, training: true}
}

// Forward applies drop-path in training mode.
func (d *DropPath) Forward(x *nn.Var) *nn.Var {
	if !d.training || d.P == 0 {
		return x
	}
	return nn.DropPath(x, d.P, d.Rng)
}

// SetTraining switches drop-path on or off.
func (d *DropPath) SetTraining(on bool) { d.training = on }

// Members is empty.
func (d *DropPath) Members() Members { return Members{} }

func checkProb(op string, p float32, rng *rand.Rand) {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("%s: probability %g outside [0, 1)", op, p))
	}
	if p > 0 && rng == nil {
		panic(fmt.Sprintf("%s: probability %g needs a *rand.Rand", op, p))
	}
}
