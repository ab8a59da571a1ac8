package data

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/nn"
)

// Box is an axis-aligned box in pixels, pascal_voc order (augment.Box):
// X1, Y1 top left, X2, Y2 bottom right, in continuous coordinates.
type Box = augment.Box

// Example is one sample ready for batching.
type Example struct {
	// Image holds the pixels as an HWC float32 tensor, normalised.
	Image *nn.Tensor
	// Label is the class index; Unlabeled (-1) when the sample has none.
	Label int
	// Target optionally holds a soft label: K class probabilities. When it
	// is set it takes precedence over Label for the loss.
	Target []float32
	// Weight scales the sample's loss; 0 means 1.
	Weight float32
	// Boxes and BoxLabels are the objects of a detection sample, in the
	// coordinates of Image.
	Boxes     []Box
	BoxLabels []int
	// Ignore holds regions of a detection sample, in the coordinates of
	// Image, where the loss should neither reward nor punish a detection:
	// objects a teacher was unsure of, left out rather than taught as
	// background.
	Ignore []Box
	// Geom maps the original image's coordinates to Image's (the
	// augmentation's geometry; the zero value is the identity), so that
	// predictions map back with Geom.Invert().
	Geom augment.Matrix
	// Index is the sample's index in its data set, set by the Loader.
	Index int
}

// Unlabeled is the Label of a sample without a class.
const Unlabeled = -1

// Dataset is an indexable collection of examples. Example must be safe to
// call from several goroutines at once; rng (never nil) is the only source
// of randomness it may use, so that an example depends only on (i, rng).
type Dataset interface {
	Len() int
	Example(i int, rng *rand.Rand) (Example, error)
}

// Labeled is a Dataset that knows every sample's class without loading it;
// stratified splits and class-balanced sampling need it.
type Labeled interface {
	Dataset
	// Labels returns the class index of every sample (Unlabeled for none).
	Labels() []int
	// Classes returns the class names, indexed by class.
	Classes() []string
}

// Subset is the view of a Dataset restricted to some of its indices.
type Subset struct {
	Base    Dataset
	Indices []int
}

// NewSubset returns base restricted to indices (not copied). It returns an
// error if an index is out of range.
func NewSubset(base Dataset, indices []int) (*Subset, error) {
	n := base.Len()
	for _, i := range indices {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("data.NewSubset: index %d out of range for %d samples", i, n)
		}
	}
	return &Subset{Base: base, Indices: indices}, nil
}

// Len returns the number of indices.
func (s *Subset) Len() int { return len(s.Indices) }

// Example returns the base example at Indices[i].
func (s *Subset) Example(i int, rng *rand.Rand) (Example, error) {
	return s.Base.Example(s.Indices[i], rng)
}

// Labels returns the labels of the subset if the base is Labeled, else nil.
func (s *Subset) Labels() []int {
	l, ok := s.Base.(Labeled)
	if !ok {
		return nil
	}
	all := l.Labels()
	out := make([]int, len(s.Indices))
	for k, i := range s.Indices {
		out[k] = all[i]
	}
	return out
}

// Classes returns the base's class names if it is Labeled, else nil.
func (s *Subset) Classes() []string {
	if l, ok := s.Base.(Labeled); ok {
		return l.Classes()
	}
	return nil
}

// Tensors is an in-memory classification data set: one HWC image tensor and
// one label per sample, with an optional transform applied on each access.
type Tensors struct {
	Images    []*nn.Tensor
	Y         []int
	Names     []string // class names
	Transform func(img *nn.Tensor, rng *rand.Rand) (*nn.Tensor, error)
}

var _ Labeled = (*Tensors)(nil)

// Len returns the number of samples.
func (t *Tensors) Len() int { return len(t.Images) }

// Example returns sample i, transformed if a Transform is set (the stored
// tensor itself is never modified).
func (t *Tensors) Example(i int, rng *rand.Rand) (Example, error) {
	img := t.Images[i]
	if t.Transform != nil {
		var err error
		if img, err = t.Transform(img, rng); err != nil {
			return Example{}, fmt.Errorf("sample %d: %w", i, err)
		}
	}
	label := Unlabeled
	if t.Y != nil {
		label = t.Y[i]
	}
	return Example{Image: img, Label: label, Index: i}, nil
}

// Labels returns the labels.
func (t *Tensors) Labels() []int { return t.Y }

// Classes returns the class names.
func (t *Tensors) Classes() []string { return t.Names }
