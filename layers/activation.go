package layers

import (
	"fmt"
	"strings"

	"github.com/sortnet/sortnet/nn"
)

// Activations and other parameter-free layers, usable inside Sequential.
type (
	// Identity returns its input.
	Identity struct{}
	// ReLU is max(x, 0).
	ReLU struct{}
	// ReLU6 is min(max(x, 0), 6).
	ReLU6 struct{}
	// Sigmoid is 1/(1+e^-x).
	Sigmoid struct{}
	// SiLU (swish) is x·sigmoid(x).
	SiLU struct{}
	// HardSwish is x·relu6(x+3)/6.
	HardSwish struct{}
	// HardSigmoid is relu6(x+3)/6.
	HardSigmoid struct{}
	// Tanh is the hyperbolic tangent.
	Tanh struct{}
	// GlobalAvgPool averages NHWC input over H and W: [N,H,W,C] -> [N,1,1,C].
	GlobalAvgPool struct{}
	// Flatten reshapes [N, ...] to [N, rest].
	Flatten struct{}
)

func (Identity) Forward(x *nn.Var) *nn.Var      { return x }
func (ReLU) Forward(x *nn.Var) *nn.Var          { return nn.ReLU(x) }
func (ReLU6) Forward(x *nn.Var) *nn.Var         { return nn.ReLU6(x) }
func (Sigmoid) Forward(x *nn.Var) *nn.Var       { return nn.Sigmoid(x) }
func (SiLU) Forward(x *nn.Var) *nn.Var          { return nn.SiLU(x) }
func (HardSwish) Forward(x *nn.Var) *nn.Var     { return nn.HardSwish(x) }
func (HardSigmoid) Forward(x *nn.Var) *nn.Var   { return nn.HardSigmoid(x) }
func (Tanh) Forward(x *nn.Var) *nn.Var          { return nn.Tanh(x) }
func (GlobalAvgPool) Forward(x *nn.Var) *nn.Var { return nn.GlobalAvgPool(x) }
func (Flatten) Forward(x *nn.Var) *nn.Var       { return nn.Flatten(x) }

func (Identity) Members() Members      { return Members{} }
func (ReLU) Members() Members          { return Members{} }
func (ReLU6) Members() Members         { return Members{} }
func (Sigmoid) Members() Members       { return Members{} }
func (SiLU) Members() Members          { return Members{} }
func (HardSwish) Members() Members     { return Members{} }
func (HardSigmoid) Members() Members   { return Members{} }
func (Tanh) Members() Members          { return Members{} }
func (GlobalAvgPool) Members() Members { return Members{} }
func (Flatten) Members() Members       { return Members{} }

// Activation returns the activation layer for a timm/PyTorch name: "relu",
// "relu6", "sigmoid", "silu" or "swish", "hard_swish" or "hardswish",
// "hard_sigmoid" or "hardsigmoid", "tanh", "identity" or "linear". An
// unknown name is an error that lists the known ones.
func Activation(name string) (Layer, error) {
	switch strings.ToLower(name) {
	case "relu":
		return ReLU{}, nil
	case "relu6":
		return ReLU6{}, nil
	case "sigmoid":
		return Sigmoid{}, nil
	case "silu", "swish":
		return SiLU{}, nil
	case "hard_swish", "hardswish":
		return HardSwish{}, nil
	case "hard_sigmoid", "hardsigmoid":
		return HardSigmoid{}, nil
	case "tanh":
		return Tanh{}, nil
	case "identity", "linear", "":
		return Identity{}, nil
	}
	return nil, fmt.Errorf("layers.Activation: unknown activation %q (known: relu, relu6, sigmoid, silu/swish, hard_swish, hard_sigmoid, tanh, identity)", name)
}
