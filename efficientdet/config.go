package efficientdet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
)

// MinLevel is the finest pyramid level, P3 at stride 8: the BiFPN and the
// anchors start there, as in every EfficientDet.
const MinLevel = 3

// Fusion selects how a BiFPN node combines its inputs.
type Fusion int

const (
	// DefaultFusion takes the variant's (FastAttn for D0–D5, Sum for
	// D6, D7 and D7x; FastAttn for a free configuration).
	DefaultFusion Fusion = iota
	// FastAttn is the paper's fast normalized fusion, effdet's
	// "fastattn": Σ ReLU(wᵢ)·xᵢ / (Σ ReLU(w) + 1e-4), one learned weight
	// per input, initialised to 1.
	FastAttn
	// Attn weighs the inputs by the softmax of the learned weights
	// (effdet's "attn").
	Attn
	// Sum adds the inputs (effdet's "sum"; no weights).
	Sum
)

func (f Fusion) String() string {
	switch f {
	case DefaultFusion:
		return "default"
	case FastAttn:
		return "fastattn"
	case Attn:
		return "attn"
	case Sum:
		return "sum"
	}
	return fmt.Sprintf("Fusion(%d)", int(f))
}

// Variant is one row of the EfficientDet scaling table (the paper's
// Table 1 as effdet's tf_efficientdet_dX configs spell it).
type Variant struct {
	Name        string  // "d0" … "d7", "d7x"
	Backbone    string  // EfficientNet variant: "b0" … "b7"
	Size        int     // input image size (square)
	FPNChannels int     // BiFPN width
	FPNCells    int     // BiFPN repeats
	HeadRepeats int     // separable convs in each head before the prediction
	AnchorScale float64 // anchor size in units of the level's stride
	MaxLevel    int     // coarsest pyramid level (7; 8 for D7x)
	Fusion      Fusion  // BiFPN node fusion
}

var variants = []Variant{
	{"d0", "b0", 512, 64, 3, 3, 4, 7, FastAttn},
	{"d1", "b1", 640, 88, 4, 3, 4, 7, FastAttn},
	{"d2", "b2", 768, 112, 5, 3, 4, 7, FastAttn},
	{"d3", "b3", 896, 160, 6, 4, 4, 7, FastAttn},
	{"d4", "b4", 1024, 224, 7, 4, 4, 7, FastAttn},
	{"d5", "b5", 1280, 288, 7, 4, 4, 7, FastAttn},
	{"d6", "b6", 1280, 384, 8, 5, 4, 7, Sum},
	{"d7", "b6", 1536, 384, 8, 5, 5, 7, Sum},
	{"d7x", "b7", 1536, 384, 8, 5, 4, 8, Sum},
}

// Variants returns the D0–D7 and D7x table, smallest first.
func Variants() []Variant { return append([]Variant(nil), variants...) }

// LookupVariant returns the named variant ("d0" … "d7", "d7x").
func LookupVariant(name string) (Variant, bool) {
	for _, v := range variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// AspectRatio is an anchor shape as a (width, height) multiplier pair:
// effdet's (1.4, 0.7) is an anchor 1.4× as wide and 0.7× as high as the
// square one.
type AspectRatio struct{ X, Y float64 }

// DefaultAspectRatios are EfficientDet's anchor shapes: (1, 1), (1.4, 0.7)
// and (0.7, 1.4).
func DefaultAspectRatios() []AspectRatio {
	return []AspectRatio{{1, 1}, {1.4, 0.7}, {0.7, 1.4}}
}

// Config describes an EfficientDet. Zero fields take the variant's (or
// EfficientDet's) defaults, so Config{Variant: "d2", Flavour:
// efficientnet.TF, NumClasses: 7} is a complete description of effdet's
// tf_efficientdet_d2 with a 7-class head.
type Config struct {
	// Variant is "d0" … "d7" or "d7x", or "" for a free configuration
	// (then Backbone, FPNChannels, FPNCells, HeadRepeats and the image
	// size are required).
	Variant string
	// Flavour selects effdet's TensorFlow-ported models (efficientnet.TF:
	// tf_efficientdet_dX on tf_efficientnet_bX, TensorFlow "SAME" padding
	// in the backbone and in the BiFPN's max-pools, and the original
	// models' redundant conv biases before batch norm) or its PyTorch
	// ones (efficientnet.PyTorch, efficientdet_dX: symmetric padding, no
	// redundant biases). Pretrained weights only load into their own
	// flavour. Torchvision builds a torchvision-flavoured backbone and a
	// PyTorch-flavoured BiFPN and heads.
	Flavour efficientnet.Flavour
	// NumClasses is the number of object classes (required; no
	// background class).
	NumClasses int
	// Backbone overrides the variant's backbone (efficientnet Variant
	// bN). Set Variant or Width and Depth for a smaller one; its Flavour,
	// NumClasses, DropPathRate and Rng are ignored (the detector's are
	// used).
	Backbone efficientnet.Config
	// Height and Width are the input size the model is configured for
	// (anchors default to it); 0 takes the variant's. The network runs on
	// any size: levels are ⌈size/2ˡ⌉, which are exact halvings when the
	// size divides by 2^MaxLevel (128), as effdet expects.
	Height, Width int
	// FPNChannels, FPNCells and HeadRepeats are the BiFPN width, its
	// number of cells and the separable convs per head; 0 takes the
	// variant's.
	FPNChannels, FPNCells, HeadRepeats int
	// Fusion is the BiFPN node fusion (DefaultFusion: the variant's).
	Fusion Fusion
	// MaxLevel is the coarsest level (0: the variant's, 7 for all but
	// D7x's 8). Levels MinLevel…5 come from the backbone (strides 8, 16,
	// 32), the coarser ones from max-pooling.
	MaxLevel int
	// NumScales anchor sizes per octave (0: 3, that is 2^0, 2^(1/3),
	// 2^(2/3)), AspectRatios the anchor shapes (nil: DefaultAspectRatios)
	// and AnchorScale the base anchor size in strides (0: the variant's,
	// 4; D7 uses 5).
	NumScales    int
	AspectRatios []AspectRatio
	AnchorScale  float64
	// Act is the activation of the BiFPN and heads ("" is "silu", swish).
	Act string
	// BNEps and BNMomentum configure the BiFPN's and heads' batch norm; 0
	// takes effdet's 1e-3 and 0.01 (TensorFlow's 0.99 decay).
	BNEps, BNMomentum float32
	// DropPathRate is the backbone's stochastic depth (effdet trains with
	// 0.2); 0 means none.
	DropPathRate float64
	// Rng is the source of the initial weights and drop-path masks. nil
	// means rand.New(rand.NewPCG(0, 0)), so that a Config always builds
	// the same model.
	Rng *rand.Rand
}

// backboneSet reports whether Backbone was filled in.
func (c Config) backboneSet() bool {
	b := c.Backbone
	return b.Variant != "" || b.Width != 0 || b.Depth != 0 || b.Arch != nil
}

// Validate checks the configuration and reports every problem it finds.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Variant != "" {
		if _, ok := LookupVariant(c.Variant); !ok {
			bad("unknown variant %q (want d0…d7, d7x, or \"\" for a free configuration)", c.Variant)
		}
	} else {
		if !c.backboneSet() {
			bad("variant \"\" needs a Backbone (an efficientnet Variant, or Width and Depth)")
		}
		if c.FPNChannels == 0 || c.FPNCells == 0 || c.HeadRepeats == 0 {
			bad("variant \"\" needs FPNChannels, FPNCells and HeadRepeats (got %d, %d, %d)", c.FPNChannels, c.FPNCells, c.HeadRepeats)
		}
		if c.Height == 0 || c.Width == 0 {
			bad("variant \"\" needs Height and Width (got %d, %d)", c.Height, c.Width)
		}
	}
	if c.Flavour < efficientnet.PyTorch || c.Flavour > efficientnet.Torchvision {
		bad("unknown flavour %d", int(c.Flavour))
	}
	if c.NumClasses < 1 {
		bad("NumClasses %d: a detector needs at least one class", c.NumClasses)
	}
	if c.Height < 0 || c.Width < 0 {
		bad("image size %d×%d is negative", c.Height, c.Width)
	}
	if c.FPNChannels < 0 || c.FPNCells < 0 || c.HeadRepeats < 0 {
		bad("FPNChannels, FPNCells, HeadRepeats (%d, %d, %d) must not be negative", c.FPNChannels, c.FPNCells, c.HeadRepeats)
	}
	if c.Fusion < DefaultFusion || c.Fusion > Sum {
		bad("unknown fusion %d", int(c.Fusion))
	}
	if c.MaxLevel != 0 && (c.MaxLevel < 6 || c.MaxLevel > 10) {
		bad("MaxLevel %d outside [6, 10]", c.MaxLevel)
	}
	if c.NumScales < 0 || c.NumScales > 16 {
		bad("NumScales %d outside [0, 16]", c.NumScales)
	}
	for _, r := range c.AspectRatios {
		if !(r.X > 0 && r.Y > 0) || math.IsInf(r.X, 0) || math.IsInf(r.Y, 0) {
			bad("aspect ratio %v: both sides must be positive and finite", r)
		}
	}
	if c.AspectRatios != nil && len(c.AspectRatios) == 0 {
		bad("AspectRatios is empty (nil takes the default)")
	}
	if !(c.AnchorScale >= 0) || math.IsInf(c.AnchorScale, 0) {
		bad("AnchorScale %v must be >= 0 and finite", c.AnchorScale)
	}
	if _, err := layers.Activation(c.act()); err != nil {
		bad("Act: %v", err)
	}
	if !(c.BNEps >= 0) || math.IsInf(float64(c.BNEps), 0) {
		bad("BNEps %v must be >= 0 and finite", c.BNEps)
	}
	if !(c.BNMomentum >= 0 && c.BNMomentum <= 1) {
		bad("BNMomentum %v outside [0, 1]", c.BNMomentum)
	}
	if !(c.DropPathRate >= 0 && c.DropPathRate < 1) {
		bad("DropPathRate %v outside [0, 1)", c.DropPathRate)
	}
	if len(errs) == 0 {
		if _, err := c.backboneConfig().Plan(); err != nil {
			bad("Backbone: %v", err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("efficientdet: invalid config: %w", errors.Join(errs...))
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
	v, _ := LookupVariant(c.Variant)
	if !c.backboneSet() {
		c.Backbone = efficientnet.Config{Variant: v.Backbone}
	}
	if c.Height == 0 {
		c.Height = v.Size
	}
	if c.Width == 0 {
		c.Width = v.Size
	}
	if c.FPNChannels == 0 {
		c.FPNChannels = v.FPNChannels
	}
	if c.FPNCells == 0 {
		c.FPNCells = v.FPNCells
	}
	if c.HeadRepeats == 0 {
		c.HeadRepeats = v.HeadRepeats
	}
	if c.Fusion == DefaultFusion {
		c.Fusion = v.Fusion
		if c.Fusion == DefaultFusion {
			c.Fusion = FastAttn
		}
	}
	if c.MaxLevel == 0 {
		c.MaxLevel = max(v.MaxLevel, 7)
	}
	if c.NumScales == 0 {
		c.NumScales = 3
	}
	if c.AspectRatios == nil {
		c.AspectRatios = DefaultAspectRatios()
	} else {
		c.AspectRatios = append([]AspectRatio(nil), c.AspectRatios...)
	}
	if c.AnchorScale == 0 {
		c.AnchorScale = v.AnchorScale
		if c.AnchorScale == 0 {
			c.AnchorScale = 4
		}
	}
	c.Act = c.act()
	if c.BNEps == 0 {
		c.BNEps = 1e-3
	}
	if c.BNMomentum == 0 {
		c.BNMomentum = 0.01
	}
	if c.Rng == nil {
		c.Rng = rand.New(rand.NewPCG(0, 0))
	}
	c.Backbone = c.backboneConfig()
	return c
}

// backboneConfig returns the backbone's efficientnet configuration.
func (c Config) backboneConfig() efficientnet.Config {
	b := c.Backbone
	if !c.backboneSet() {
		v, _ := LookupVariant(c.Variant)
		b = efficientnet.Config{Variant: v.Backbone}
	}
	b.Flavour = c.Flavour
	b.NumClasses = 0
	b.DropPathRate = c.DropPathRate
	b.Rng = c.Rng
	return b
}

// tf reports whether the BiFPN and heads are TensorFlow-flavoured.
func (c Config) tf() bool { return c.Flavour == efficientnet.TF }

// numLevels returns the number of pyramid levels.
func (c Config) numLevels() int { return c.MaxLevel - MinLevel + 1 }

// AnchorsPerLocation returns the anchors at each position of a level:
// NumScales × len(AspectRatios) (9 for EfficientDet). The config must be
// valid.
func (c Config) AnchorsPerLocation() int {
	r := c.resolved()
	return r.NumScales * len(r.AspectRatios)
}

// NumParams returns the number of trainable parameters the configuration
// builds, computed from its plan without allocating any weight (cheap even
// for D7x).
func (c Config) NumParams() (int, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	r := c.resolved()
	bp, err := r.Backbone.Plan()
	if err != nil {
		return 0, err
	}
	// The backbone is EfficientNet's stem and blocks: its parameters less
	// the head conv and its batch norm (NumClasses is 0).
	last := bp.Blocks[len(bp.Blocks)-1]
	n := bp.NumParams() - last[len(last)-1].Out*bp.Head - 2*bp.Head
	fp, err := r.fpnPlan(bp)
	if err != nil {
		return 0, err
	}
	f := r.FPNChannels
	bias := 0
	if r.tf() {
		bias = f
	}
	resample := func(in int) int {
		if in == f {
			return 0
		}
		return in*f + bias + 2*f
	}
	sep := func(in, out int, outBias int, bn bool) int {
		p := 9*in + in*out + outBias
		if bn {
			p += 2 * out
		}
		return p
	}
	for _, in := range fp.extraIn {
		n += resample(in)
	}
	for _, cell := range fp.cells {
		for _, node := range cell {
			if r.Fusion != Sum {
				n += len(node.inputs)
			}
			for _, in := range node.inChannels {
				n += resample(in)
			}
			n += sep(f, f, bias, true)
		}
	}
	a := r.NumScales * len(r.AspectRatios)
	head := func(outputs int) int {
		p := r.HeadRepeats*sep(f, f, bias, false) + r.HeadRepeats*r.numLevels()*2*f
		return p + sep(f, a*outputs, a*outputs, false)
	}
	n += head(r.NumClasses) + head(4)
	return n, nil
}
