package efficientnet

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// Model is an EfficientNet classifier:
//
//	conv_stem 3×3/2, bn1, act
//	blocks.<stage>.<block>   DSConv / MBConv blocks
//	conv_head 1×1, bn2, act  (ForwardFeatures ends here)
//	global average pool      (PreLogits ends here)
//	dropout, classifier      (Forward)
//
// Parameter names are timm's (conv_stem.weight, bn1.running_var,
// blocks.1.0.conv_dw.weight, conv_head.weight, classifier.bias, …), so
// layers.StateDict(m) lines up with a timm checkpoint name by name. Input
// is NHWC [N, H, W, InChannels] of any size.
type Model struct {
	Stem       *layers.Conv2d
	BN1        *layers.BatchNorm2d
	Blocks     *layers.Sequential // stages, each a *layers.Sequential of blocks
	Head       *layers.Conv2d
	BN2        *layers.BatchNorm2d
	Dropout    *layers.Dropout
	Classifier *layers.Linear // nil when NumClasses is 0
	Act        layers.Layer

	cfg  Config
	plan Plan
}

var (
	_ layers.Layer = (*Model)(nil)
	_ layers.Layer = (*layers.Sequential)(nil)
)

// New builds the model cfg describes with timm's TensorFlow-style
// initialisation (see initGoog) drawn from cfg.Rng, in training mode
// (switch with layers.SetTraining).
func New(cfg Config) (*Model, error) {
	return build(cfg, true)
}

func build(cfg Config, init bool) (*Model, error) {
	plan, err := cfg.Plan()
	if err != nil {
		return nil, err
	}
	cfg = cfg.resolved()
	act, err := layers.Activation(cfg.Act)
	if err != nil {
		return nil, fmt.Errorf("efficientnet: %w", err)
	}
	bd := builder{tf: cfg.Flavour == TF, bn: layers.BNConfig{Eps: cfg.BNEps, Momentum: cfg.BNMomentum}, rng: cfg.Rng}
	m := &Model{
		Stem:    bd.conv(plan.InChannels, plan.Stem, plan.StemKernel, 2),
		BN1:     bd.norm(plan.Stem),
		Blocks:  layers.NewSequential(),
		Dropout: layers.NewDropout(float32(cfg.DropRate), cfg.Rng),
		Act:     act,
		cfg:     cfg,
		plan:    plan,
	}
	for _, stage := range plan.Blocks {
		seq := layers.NewSequential()
		for _, bp := range stage {
			b, err := bd.block(bp)
			if err != nil {
				return nil, err
			}
			seq.Append(b)
		}
		m.Blocks.Append(seq)
	}
	last := plan.Blocks[len(plan.Blocks)-1]
	m.Head = bd.conv(last[len(last)-1].Out, plan.Head, 1, 1)
	m.BN2 = bd.norm(plan.Head)
	if plan.NumClasses > 0 {
		m.Classifier = &layers.Linear{Weight: nn.Param(nn.New(plan.Head, plan.NumClasses)), Bias: nn.Param(nn.New(plan.NumClasses))}
	}
	if init {
		initGoog(m, cfg.Rng)
	}
	return m, nil
}

// Config returns the configuration with every default resolved.
func (m *Model) Config() Config { return m.cfg }

// Plan returns the resolved architecture.
func (m *Model) Plan() Plan { return m.plan }

// NumFeatures returns the width of the pooled pre-logits features (the
// head conv's channels).
func (m *Model) NumFeatures() int { return m.plan.Head }

// NumClasses returns the classifier's output size (0 without classifier).
func (m *Model) NumClasses() int {
	if m.Classifier == nil {
		return 0
	}
	return m.Classifier.Weight.Value.Dim(1)
}

// FeatureInfo describes every feature map the backbone can return
// (strides 2, 4, 8, 16, 32 for EfficientNet).
func (m *Model) FeatureInfo() []FeatureInfo { return append([]FeatureInfo(nil), m.plan.Features...) }

// Members lists conv_stem, bn1, blocks, conv_head, bn2, classifier (and the
// parameter-free dropout, so that layers.SetTraining reaches it).
func (m *Model) Members() layers.Members {
	ch := []layers.Child{
		{Name: "conv_stem", Module: m.Stem},
		{Name: "bn1", Module: m.BN1},
		{Name: "blocks", Module: m.Blocks},
		{Name: "conv_head", Module: m.Head},
		{Name: "bn2", Module: m.BN2},
		{Name: "dropout", Module: m.Dropout},
	}
	if m.Classifier != nil {
		ch = append(ch, layers.Child{Name: "classifier", Module: m.Classifier})
	}
	return layers.Members{Children: ch}
}

// Under nn.NoGrad the forward passes below hand every intermediate
// activation back to the buffer pool as soon as it has been used (see
// then), never the input or a returned value.

func (m *Model) stem(x *nn.Var) *nn.Var {
	if x.Value.Rank() != 4 || x.Value.Dim(3) != m.plan.InChannels {
		panic(fmt.Sprintf("efficientnet: input %v: want NHWC [N H W %d]", x.Shape(), m.plan.InChannels))
	}
	y := m.Stem.Forward(x)
	return then(y, bnAct(m.BN1, m.Act))
}

// stage runs blocks.<i> on x; with free, x is an intermediate value it
// may release.
func (m *Model) stage(i int, x *nn.Var, free bool) *nn.Var {
	for _, b := range m.Blocks.Layers[i].(*layers.Sequential).Layers {
		y := b.Forward(x)
		if free {
			release(x, y)
		}
		x, free = y, true
	}
	return x
}

// ForwardFeatures runs the network up to and including the head conv, bn2
// and activation: [N, H, W, In] → [N, ⌈H/32⌉, ⌈W/32⌉, NumFeatures] (for
// even sizes; odd sizes follow each conv's padding).
func (m *Model) ForwardFeatures(x *nn.Var) *nn.Var {
	y := m.stem(x)
	for i := range m.Blocks.Layers {
		y = m.stage(i, y, true)
	}
	y = then(y, m.Head.Forward)
	return then(y, bnAct(m.BN2, m.Act))
}

// PreLogits returns the pooled features [N, NumFeatures], the embedding
// the classifier sees (without dropout).
func (m *Model) PreLogits(x *nn.Var) *nn.Var {
	return nn.Flatten(then(m.ForwardFeatures(x), nn.GlobalAvgPool))
}

// Forward returns the logits [N, NumClasses], or the pre-logits features
// when the model has no classifier.
func (m *Model) Forward(x *nn.Var) *nn.Var {
	y := m.PreLogits(x)
	if m.Classifier == nil {
		return y
	}
	y = m.Dropout.Forward(y) // pre-logits are a view: never released
	return m.Classifier.Forward(y)
}

// ResetClassifier replaces the classifier by a new one with numClasses
// outputs (none for 0), initialised as New does (U(±1/√numClasses), zero
// bias) from rng, or from the model's Config.Rng when rng is nil. This is
// the way to fine-tune a pretrained model on a different set of classes.
func (m *Model) ResetClassifier(numClasses int, rng *rand.Rand) error {
	if numClasses < 0 {
		return fmt.Errorf("efficientnet: ResetClassifier: %d classes", numClasses)
	}
	m.plan.NumClasses = numClasses
	m.cfg.NumClasses = numClasses
	if numClasses == 0 {
		m.Classifier = nil
		return nil
	}
	if rng == nil {
		rng = m.cfg.Rng
	}
	m.Classifier = &layers.Linear{Weight: nn.Param(nn.New(m.plan.Head, numClasses)), Bias: nn.Param(nn.New(numClasses))}
	initLinear(m.Classifier, rng)
	return nil
}

// Features returns a feature backbone over this model's stem and blocks
// (sharing their parameters) that returns the feature maps with the given
// indices into FeatureInfo() — for EfficientNet 0…4 at strides 2, 4, 8,
// 16 and 32 — as timm's features_only model. No indices means all of them.
func (m *Model) Features(outIndices ...int) (*Features, error) {
	if len(outIndices) == 0 {
		for i := range m.plan.Features {
			outIndices = append(outIndices, i)
		}
	}
	f := &Features{m: m}
	prev := -1
	for _, i := range outIndices {
		if i < 0 || i >= len(m.plan.Features) {
			return nil, fmt.Errorf("efficientnet: Features: index %d outside [0, %d)", i, len(m.plan.Features))
		}
		if i <= prev {
			return nil, fmt.Errorf("efficientnet: Features: indices %v must be strictly increasing", outIndices)
		}
		prev = i
		f.info = append(f.info, m.plan.Features[i])
	}
	return f, nil
}

// Features is a feature-extraction backbone: the stem and blocks of a
// Model, returning feature maps at several strides. Its Members are the
// model's conv_stem, bn1 and blocks under the same names, so its state
// dict is the model's without the head.
type Features struct {
	m    *Model
	info []FeatureInfo
}

// Info describes the maps Forward returns, in order.
func (f *Features) Info() []FeatureInfo { return append([]FeatureInfo(nil), f.info...) }

// Forward returns the selected feature maps, NHWC, shallowest first. It
// stops after the last stage it needs.
func (f *Features) Forward(x *nn.Var) []*nn.Var {
	out := make([]*nn.Var, 0, len(f.info))
	next := 0
	x = f.m.stem(x)
	if f.info[0].Stage == 0 {
		out = append(out, x)
		next++
	}
	for si := range f.m.Blocks.Layers {
		if next == len(f.info) {
			break
		}
		returned := len(out) > 0 && out[len(out)-1] == x
		x = f.m.stage(si, x, !returned)
		if f.info[next].Stage == si+1 {
			out = append(out, x)
			next++
		}
	}
	return out
}

// Members lists conv_stem, bn1 and blocks.
func (f *Features) Members() layers.Members {
	return layers.Members{Children: []layers.Child{
		{Name: "conv_stem", Module: f.m.Stem},
		{Name: "bn1", Module: f.m.BN1},
		{Name: "blocks", Module: f.m.Blocks},
	}}
}
