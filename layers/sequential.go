package layers

import (
	"strconv"

	"github.com/sortnet/sortnet/nn"
)

// Sequential runs layers one after another. Children are named by their
// index ("0", "1", …), as in PyTorch's nn.Sequential.
type Sequential struct {
	Layers []Layer
}

var _ Layer = (*Sequential)(nil)

// NewSequential returns a Sequential of the given layers.
func NewSequential(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

// Append adds layers at the end.
func (s *Sequential) Append(layers ...Layer) { s.Layers = append(s.Layers, layers...) }

// Forward feeds x through every layer in order.
func (s *Sequential) Forward(x *nn.Var) *nn.Var {
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return x
}

// Members lists the layers as children "0", "1", ….
func (s *Sequential) Members() Members {
	m := Members{Children: make([]Child, len(s.Layers))}
	for i, l := range s.Layers {
		m.Children[i] = Child{strconv.Itoa(i), l}
	}
	return m
}
