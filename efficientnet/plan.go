package efficientnet

import (
	"fmt"
	"math"
)

// BlockPlan is one block of a scaled model, with every size resolved.
type BlockPlan struct {
	Spec         BlockSpec // the block string it came from
	Stage, Index int       // position: blocks.<Stage>.<Index>
	In, Out      int       // input and output channels
	Mid          int       // channels of the depthwise conv (expanded for ir, In for ds)
	SE           int       // squeeze-excite bottleneck width; 0 = no SE
	Stride       int       // 1, or 2 on a stage's first block
	Act          string    // activation name
	DropPath     float64   // stochastic-depth probability
	Residual     bool      // adds the input back
}

// FeatureInfo describes one feature map of the backbone, as timm's
// feature_info: its channels, its reduction (stride) relative to the
// input, timm's stage number and the module that produces it.
type FeatureInfo struct {
	Channels  int
	Reduction int
	Stage     int    // timm's stage: 0 the stem, i+1 the output of blocks.<i>
	Module    string // "bn1" or "blocks.<i>"
}

// Plan is a resolved architecture: every block with its channel counts,
// stride and drop-path rate, before any weight is allocated. It is cheap
// to compute, even for L2.
type Plan struct {
	InChannels  int
	Stem        int // stem conv output channels
	Blocks      [][]BlockPlan
	Head        int // head conv output channels (the pooled feature size)
	NumClasses  int
	Features    []FeatureInfo
	StemKernel  int
	totalBlocks int
}

// Plan resolves the configuration into the blocks it builds. It follows
// timm's EfficientNetBuilder: stem channels round(32·width); each stage's
// repeats scaled by ScaleDepth; output channels RoundChannels(c, width);
// the expanded width of an ir block MakeDivisible(in·e, 8); the SE width
// round_half_even(mid · se/e) (= in·se, the block's input channels times
// the ratio), at least 1; stride only on a stage's first block; a residual
// when stride is 1, in == out and not noskip (never for dsa); drop-path
// rate DropPathRate·i/n for the i-th of n blocks; head channels
// round(1280·width) (4× the last stage's for Torchvision). A feature map is
// taken at the end of every stage that is followed by a stride-2 stage or
// is the last one (and from the stem if the first block has stride 2).
func (c Config) Plan() (Plan, error) {
	if err := c.Validate(); err != nil {
		return Plan{}, err
	}
	c = c.resolved()
	arch, err := DecodeArch(c.Arch)
	if err != nil {
		return Plan{}, err
	}
	round := func(ch int) int { return RoundChannels(ch, c.Width) }
	p := Plan{InChannels: c.InChannels, Stem: round(32), NumClasses: c.NumClasses, StemKernel: 3}

	// Expand repeats per stage.
	stages := make([][]BlockSpec, len(arch))
	for i, stage := range arch {
		reps := make([]int, len(stage))
		for j, b := range stage {
			reps[j] = b.Repeats
		}
		for j, r := range ScaleDepth(reps, c.Depth) {
			for range r {
				stages[i] = append(stages[i], stage[j])
			}
		}
		p.totalBlocks += len(stages[i])
	}

	in := p.Stem
	reduction := 2
	if stages[0][0].Stride > 1 {
		p.addFeature(FeatureInfo{Channels: in, Reduction: reduction, Stage: 0, Module: "bn1"})
	}
	idx := 0
	for si, stage := range stages {
		var blocks []BlockPlan
		for bi, spec := range stage {
			b := BlockPlan{Spec: spec, Stage: si, Index: bi, In: in, Out: round(spec.OutChannels), Stride: spec.Stride, Act: spec.Act}
			if bi > 0 {
				b.Stride = 1
			}
			if b.Act == "" {
				b.Act = c.Act
			}
			seRatio := spec.SERatio
			if spec.Type == InvertedResidual {
				b.Mid = MakeDivisible(float64(in)*spec.ExpandRatio, 8)
				seRatio /= spec.ExpandRatio
			} else {
				b.Mid = in
			}
			if spec.SERatio > 0 {
				b.SE = max(1, int(math.RoundToEven(float64(b.Mid)*seRatio)))
			}
			b.Residual = b.Stride == 1 && b.In == b.Out && !spec.NoSkip && spec.Type != DepthwiseSeparableAct
			b.DropPath = c.DropPathRate * float64(idx) / float64(p.totalBlocks)
			reduction *= b.Stride
			blocks = append(blocks, b)
			in = b.Out
			idx++
		}
		p.Blocks = append(p.Blocks, blocks)
		if si+1 == len(stages) || stages[si+1][0].Stride > 1 {
			p.addFeature(FeatureInfo{Channels: in, Reduction: reduction, Stage: si + 1, Module: fmt.Sprintf("blocks.%d", si)})
		}
	}
	if c.Flavour == Torchvision {
		p.Head = 4 * in
	} else {
		p.Head = round(1280)
	}
	return p, nil
}

func (p *Plan) addFeature(f FeatureInfo) {
	p.Features = append(p.Features, f)
}

// NumBlocks returns the number of blocks over all stages.
func (p Plan) NumBlocks() int { return p.totalBlocks }

// NumParams returns the number of trainable parameters the plan builds
// (batch-norm running statistics are buffers and do not count, as in
// PyTorch's parameters()).
func (p Plan) NumParams() int {
	conv := func(k, in, out int) int { return k * k * in * out }
	bn := func(c int) int { return 2 * c }
	n := conv(p.StemKernel, p.InChannels, p.Stem) + bn(p.Stem)
	for _, stage := range p.Blocks {
		for _, b := range stage {
			if b.Spec.Type == InvertedResidual {
				n += conv(b.Spec.ExpKernel, b.In, b.Mid) + bn(b.Mid)
			}
			n += b.Spec.Kernel*b.Spec.Kernel*b.Mid + bn(b.Mid)
			if b.SE > 0 {
				n += b.Mid*b.SE + b.SE + b.SE*b.Mid + b.Mid
			}
			n += conv(b.Spec.PwKernel, b.Mid, b.Out) + bn(b.Out)
		}
	}
	last := p.Blocks[len(p.Blocks)-1]
	n += conv(1, last[len(last)-1].Out, p.Head) + bn(p.Head)
	if p.NumClasses > 0 {
		n += p.Head*p.NumClasses + p.NumClasses
	}
	return n
}
