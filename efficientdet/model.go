package efficientdet

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// Model is an EfficientDet detector (effdet's EfficientDet module):
//
//	backbone   EfficientNet stem and blocks, feature maps C3–C5 (strides 8, 16, 32)
//	fpn        P6… by resampling C5, then the BiFPN cells → P3…Pmax
//	class_net  shared separable convs, per-level batch norm → [N, H, W, A·classes]
//	box_net    the same → [N, H, W, A·4]
//
// Parameter names are effdet's (backbone.blocks.1.0.conv_dw.weight,
// fpn.resample.3.conv.conv.weight, fpn.cell.0.fnode.1.combine.edge_weights,
// fpn.cell.0.fnode.1.after_combine.conv.conv_pw.weight,
// class_net.bn_rep.0.2.bn.running_var, box_net.predict.conv_pw.bias, …), so
// layers.StateDict(m) lines up with an effdet checkpoint name by name.
type Model struct {
	Backbone *efficientnet.Features
	FPN      *BiFPN
	ClassNet *Head
	BoxNet   *Head

	cfg     Config
	net     *efficientnet.Model
	mu      sync.Mutex
	anchors map[[2]int]*Anchors
}

// Output holds a model's raw predictions, one map per pyramid level
// (finest first): Class [N, H_l, W_l, A·NumClasses] logits, with class c of
// anchor a at channel a·NumClasses + c, and Box [N, H_l, W_l, A·4], the
// encoded box (ty, tx, th, tw) of anchor a at channels 4a…4a+3. The anchors
// of a level are ordered by position (row-major) and, at each position, as
// Anchors lists them.
type Output struct {
	Class []*nn.Var
	Box   []*nn.Var
}

// Release returns the buffers of every map in o to the pool; o must not
// be used afterwards. Use it after inference under nn.NoGrad (in training,
// the loss's Release covers them).
func (o Output) Release() {
	for _, v := range o.Class {
		nn.Recycle(v.Value)
	}
	for _, v := range o.Box {
		nn.Recycle(v.Value)
	}
}

var _ layers.Module = (*Model)(nil)

// New builds the detector cfg describes, in training mode (switch with
// layers.SetTraining): the backbone with EfficientNet's initialisation,
// the BiFPN and heads with effdet's (Glorot-uniform BiFPN convolutions,
// N(0, 1/fan_in) head convolutions, batch norm γ 1 and β 0, fusion weights
// 1, the class prediction bias −log((1−0.01)/0.01) for a prior of 0.01),
// all drawn from cfg.Rng.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := cfg.resolved()
	net, err := efficientnet.New(r.Backbone)
	if err != nil {
		return nil, fmt.Errorf("efficientdet: backbone: %w", err)
	}
	fp, err := r.fpnPlan(net.Plan())
	if err != nil {
		return nil, err
	}
	feats, err := net.Features(fp.featIdx...)
	if err != nil {
		return nil, fmt.Errorf("efficientdet: backbone: %w", err)
	}
	bd, err := newBuilder(r)
	if err != nil {
		return nil, err
	}
	m := &Model{Backbone: feats, cfg: r, net: net, anchors: map[[2]int]*Anchors{}}
	m.FPN = bd.bifpn(fp)
	m.ClassNet = bd.head(r.NumClasses)
	m.BoxNet = bd.head(4)
	initFPN(m.FPN, r.Rng)
	initHead(m.ClassNet, true, r.Rng)
	initHead(m.BoxNet, false, r.Rng)
	return m, nil
}

// Config returns the configuration with every default resolved.
func (m *Model) Config() Config { return m.cfg }

// NumClasses returns the number of object classes.
func (m *Model) NumClasses() int { return m.ClassNet.Outputs }

// Members lists backbone, fpn, class_net and box_net.
func (m *Model) Members() layers.Members {
	return layers.Members{Children: []layers.Child{
		{Name: "backbone", Module: m.Backbone},
		{Name: "fpn", Module: m.FPN},
		{Name: "class_net", Module: m.ClassNet},
		{Name: "box_net", Module: m.BoxNet},
	}}
}

// ResetClassHead replaces the class net by a freshly initialised one for
// numClasses classes (drawn from rng, or the model's Config.Rng when nil):
// the way to fine-tune pretrained weights on other classes (effdet's
// reset_head).
func (m *Model) ResetClassHead(numClasses int, rng *rand.Rand) error {
	if numClasses < 1 {
		return fmt.Errorf("efficientdet: ResetClassHead: %d classes", numClasses)
	}
	if rng == nil {
		rng = m.cfg.Rng
	}
	m.cfg.NumClasses = numClasses
	bd, err := newBuilder(m.cfg)
	if err != nil {
		return err
	}
	h := bd.head(numClasses)
	initHead(h, true, rng)
	if !isTraining(m.ClassNet) {
		layers.SetTraining(h, false)
	}
	m.ClassNet = h
	return nil
}

func isTraining(h *Head) bool { return h.BNRep[0][0].Training() }

// LevelSizes returns the feature-map size of every level 0…maxLevel for
// an h×w input: level 0 is the input and each level halves the one
// before, rounding up (effdet's get_feat_sizes).
func LevelSizes(h, w, maxLevel int) [][2]int {
	s := make([][2]int, maxLevel+1)
	s[0] = [2]int{h, w}
	for l := 1; l <= maxLevel; l++ {
		s[l] = [2]int{(s[l-1][0]-1)/2 + 1, (s[l-1][1]-1)/2 + 1}
	}
	return s
}

// Forward runs the detector on x [N, H, W, 3] (any size, normalised as the
// backbone expects) and returns the raw class logits and box regressions
// of every level. Under nn.NoGrad every intermediate activation is
// recycled as soon as it has been used.
func (m *Model) Forward(x *nn.Var) Output {
	s := x.Shape()
	in := m.net.Plan().InChannels
	if len(s) != 4 || s[3] != in || s[1] < 1 || s[2] < 1 {
		panic(fmt.Sprintf("efficientdet: input %v: want NHWC [N H W %d]", s, in))
	}
	sizes := LevelSizes(s[1], s[2], m.cfg.MaxLevel)
	feats := m.Backbone.Forward(x)
	for i, f := range feats {
		if sz := sizes[MinLevel+i]; f.Value.Dim(1) != sz[0] || f.Value.Dim(2) != sz[1] {
			panic(fmt.Sprintf("efficientdet: backbone map %d is %v, want %d×%d for input %v", i, f.Shape(), sz[0], sz[1], s))
		}
	}
	p := m.FPN.Forward(feats, sizes)
	o := Output{Class: m.ClassNet.Forward(p), Box: m.BoxNet.Forward(p)}
	for _, v := range p {
		release(v, nil)
	}
	return o
}

// builder makes the BiFPN and head layers of a resolved config.
type builder struct {
	cfg Config
	act layers.Layer
}

func newBuilder(r Config) (builder, error) {
	act, err := layers.Activation(r.Act)
	if err != nil {
		return builder{}, fmt.Errorf("efficientdet: %w", err)
	}
	return builder{cfg: r, act: act}, nil
}

func (b builder) bn(c int) *layers.BatchNorm2d {
	return layers.NewBatchNorm2d(c, layers.BNConfig{Eps: b.cfg.BNEps, Momentum: b.cfg.BNMomentum})
}

func (b builder) pointwise(in, out int, bias bool) *layers.Conv2d {
	c := &layers.Conv2d{Weight: nn.Param(nn.New(1, 1, in, out))}
	if bias {
		c.Bias = nn.Param(nn.New(out))
	}
	return c
}

// separable returns a separable 3×3 convolution from in to out channels;
// the pointwise conv has a bias when bias is set, bn adds a batch norm.
func (b builder) separable(in, out int, bias, bn bool) *SeparableConv {
	pad := nn.Pad(1)
	if b.cfg.tf() {
		pad = nn.SamePadding() // the same as Pad(1) for a stride-1 3×3 conv
	}
	s := &SeparableConv{
		ConvDw: &layers.DepthwiseConv2d{Weight: nn.Param(nn.New(3, 3, in)), Opts: nn.Conv2dOpts{Padding: pad}},
		ConvPw: b.pointwise(in, out, bias),
	}
	if bn {
		s.BN = b.bn(out)
	}
	return s
}

func (b builder) resample(in, inLevel, outLevel int) *Resample {
	r := &Resample{InLevel: inLevel, OutLevel: outLevel, tf: b.cfg.tf()}
	if f := b.cfg.FPNChannels; in != f {
		// effdet: bias = not apply_bn or redundant_bias.
		r.Conv = &ConvBN{Conv: b.pointwise(in, f, b.cfg.tf()), BN: b.bn(f)}
	}
	return r
}

func (b builder) bifpn(fp fpnPlan) *BiFPN {
	f := b.cfg.FPNChannels
	n := b.cfg.numLevels()
	fpn := &BiFPN{}
	level := MinLevel + len(fp.featChan)
	for _, in := range fp.extraIn {
		fpn.Extra = append(fpn.Extra, b.resample(in, level-1, level))
		level++
	}
	for _, nodes := range fp.cells {
		cell := &Cell{levels: n}
		levelOf := make([]int, n, n+len(nodes))
		for i := range levelOf {
			levelOf[i] = MinLevel + i
		}
		for _, nd := range nodes {
			cb := &Combine{Inputs: append([]int(nil), nd.inputs...), Fusion: b.cfg.Fusion}
			for j, o := range nd.inputs {
				cb.Resample = append(cb.Resample, b.resample(nd.inChannels[j], levelOf[o], nd.level))
			}
			if cb.Fusion != Sum {
				cb.EdgeWeights = nn.Param(nn.Full(1, len(nd.inputs)))
			}
			cell.Nodes = append(cell.Nodes, &Fnode{
				Level:   nd.level,
				Combine: cb,
				Act:     b.act,
				Conv:    b.separable(f, f, b.cfg.tf(), true),
			})
			levelOf = append(levelOf, nd.level)
		}
		fpn.Cells = append(fpn.Cells, cell)
	}
	return fpn
}

func (b builder) head(outputs int) *Head {
	f := b.cfg.FPNChannels
	a := b.cfg.NumScales * len(b.cfg.AspectRatios)
	h := &Head{Act: b.act, Outputs: outputs}
	for range b.cfg.HeadRepeats {
		h.ConvRep = append(h.ConvRep, b.separable(f, f, b.cfg.tf(), false))
		levels := make([]*layers.BatchNorm2d, b.cfg.numLevels())
		for l := range levels {
			levels[l] = b.bn(f)
		}
		h.BNRep = append(h.BNRep, levels)
	}
	h.Predict = b.separable(f, a*outputs, true, false)
	return h
}
