package efficientnet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sortnet/sortnet/layers"
)

// Flavour selects between the PyTorch-trained and the TensorFlow-ported
// EfficientNets, which differ in padding and batch-norm settings and so in
// which pretrained weights they run correctly with.
type Flavour int

const (
	// PyTorch is timm's efficientnet_bX: symmetric padding of k/2 on every
	// convolution, batch norm eps 1e-5 and momentum 0.1.
	PyTorch Flavour = iota
	// TF is timm's tf_efficientnet_bX, the port of Google's TensorFlow
	// checkpoints: TensorFlow "SAME" padding (asymmetric for stride 2,
	// computed from the input size), batch norm eps 1e-3 (momentum 0.1).
	TF
	// Torchvision is torchvision's efficientnet_bX: PyTorch padding and
	// batch norm, except that B5–B7 use eps 1e-3 and momentum 0.01 as
	// torchvision builds them; the head conv has 4× the last stage's
	// channels (the same as timm's for every B-variant).
	Torchvision
)

func (f Flavour) String() string {
	switch f {
	case PyTorch:
		return "pytorch"
	case TF:
		return "tf"
	case Torchvision:
		return "torchvision"
	}
	return fmt.Sprintf("Flavour(%d)", int(f))
}

// Config describes an EfficientNet. The zero values of the numeric fields
// take the variant's (or the flavour's) defaults, so
// Config{Variant: "b0", NumClasses: 8} is a complete description.
type Config struct {
	// Variant is "b0" … "b8" or "l2", or "" for a freely scaled model
	// (then Width and Depth are required).
	Variant string
	// Flavour selects PyTorch-style, TensorFlow-ported or torchvision
	// padding and batch-norm settings.
	Flavour Flavour
	// NumClasses is the classifier's output size; 0 builds no classifier
	// (Forward then returns the pooled pre-logits features).
	NumClasses int
	// Width and Depth are the channel and repeat multipliers; 0 takes the
	// variant's. Values below 1 (with Variant "") build models smaller
	// than B0.
	Width, Depth float64
	// Resolution is the default input size (informational: the network
	// takes any size); 0 takes the variant's, or 224.
	Resolution int
	// DropRate is the dropout probability before the classifier and
	// DropPathRate the stochastic-depth rate of the last block (block i of
	// n gets DropPathRate·i/n). Both default to 0; the reference recipes
	// use Variant.Dropout and 0.2.
	DropRate, DropPathRate float64
	// Act is the activation ("silu", "relu", "relu6", "hard_swish", …, see
	// layers.Activation); "" is "silu", EfficientNet's swish.
	Act string
	// InChannels is the number of input channels; 0 means 3.
	InChannels int
	// BNEps and BNMomentum override the flavour's batch-norm settings
	// when not 0.
	BNEps, BNMomentum float32
	// Arch is the architecture as timm block strings, one list per stage;
	// nil is EfficientNetArch().
	Arch [][]string
	// Rng is the source of the initial weights, dropout and drop-path
	// masks. nil means rand.New(rand.NewPCG(0, 0)), so that a Config
	// always builds the same model.
	Rng *rand.Rand
}

const maxMultiplier = 8 // above L2's width 4.3 and depth 5.3

// Validate checks the configuration and reports every problem it finds.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Variant != "" {
		if _, ok := LookupVariant(c.Variant); !ok {
			bad("unknown variant %q (want b0…b8, l2, or \"\" with Width and Depth)", c.Variant)
		}
	} else if c.Width == 0 || c.Depth == 0 {
		bad("variant \"\" needs Width and Depth (got %v, %v)", c.Width, c.Depth)
	}
	if !(c.Width >= 0 && c.Width <= maxMultiplier) {
		bad("Width %v outside [0, %d]", c.Width, maxMultiplier)
	}
	if !(c.Depth >= 0 && c.Depth <= maxMultiplier) {
		bad("Depth %v outside [0, %d]", c.Depth, maxMultiplier)
	}
	if c.Flavour < PyTorch || c.Flavour > Torchvision {
		bad("unknown flavour %d", int(c.Flavour))
	}
	if c.NumClasses < 0 {
		bad("NumClasses %d is negative", c.NumClasses)
	}
	if c.Resolution < 0 {
		bad("Resolution %d is negative", c.Resolution)
	}
	if !(c.DropRate >= 0 && c.DropRate < 1) {
		bad("DropRate %v outside [0, 1)", c.DropRate)
	}
	if !(c.DropPathRate >= 0 && c.DropPathRate < 1) {
		bad("DropPathRate %v outside [0, 1)", c.DropPathRate)
	}
	if _, err := layers.Activation(c.act()); err != nil {
		bad("Act: %v", err)
	}
	if c.InChannels < 0 {
		bad("InChannels %d is negative", c.InChannels)
	}
	if !(c.BNEps >= 0) || math.IsInf(float64(c.BNEps), 0) {
		bad("BNEps %v must be >= 0 and finite", c.BNEps)
	}
	if !(c.BNMomentum >= 0 && c.BNMomentum <= 1) {
		bad("BNMomentum %v outside [0, 1]", c.BNMomentum)
	}
	if c.Arch != nil {
		if _, err := DecodeArch(c.Arch); err != nil {
			bad("Arch: %v", err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("efficientnet: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

func (c Config) act() string {
	if c.Act == "" {
		return "silu"
	}
	return c.Act
}

// resolved returns c with every default filled in. c must be valid.
func (c Config) resolved() Config {
	if v, ok := LookupVariant(c.Variant); ok {
		if c.Width == 0 {
			c.Width = v.Width
		}
		if c.Depth == 0 {
			c.Depth = v.Depth
		}
		if c.Resolution == 0 {
			c.Resolution = v.Resolution
		}
	}
	if c.Resolution == 0 {
		c.Resolution = 224
	}
	c.Act = c.act()
	if c.InChannels == 0 {
		c.InChannels = 3
	}
	eps, mom := float32(1e-5), float32(0.1)
	switch {
	case c.Flavour == TF:
		eps = 1e-3
	case c.Flavour == Torchvision && (c.Variant == "b5" || c.Variant == "b6" || c.Variant == "b7"):
		eps, mom = 1e-3, 0.01
	}
	if c.BNEps == 0 {
		c.BNEps = eps
	}
	if c.BNMomentum == 0 {
		c.BNMomentum = mom
	}
	if c.Arch == nil {
		c.Arch = EfficientNetArch()
	}
	if c.Rng == nil {
		c.Rng = rand.New(rand.NewPCG(0, 0))
	}
	return c
}
