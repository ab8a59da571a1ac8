package efficientnet

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// Shape legend for the blocks: x [N, H, W, In] → [N, H/stride, W/stride, Out];
// the depthwise conv runs over Mid channels.

// MBConv is timm's InvertedResidual block (EfficientNet's MBConv):
//
//	conv_pw  1×1 (or a×a) In→Mid, bn1, act
//	conv_dw  depthwise k×k over Mid with the block's stride, bn2, act
//	se       squeeze-excite over Mid, bottleneck SE (from the block's input width)
//	conv_pwl 1×1 (or p×p) Mid→Out, bn3 (no activation)
//	+ x      through drop_path, when Residual
//
// Children carry timm's names, so its parameters are
// blocks.<s>.<b>.conv_pw.weight, ….bn1.running_mean, ….se.conv_reduce.bias
// and so on.
type MBConv struct {
	ConvPw   *layers.Conv2d
	BN1      *layers.BatchNorm2d
	ConvDw   *layers.DepthwiseConv2d
	BN2      *layers.BatchNorm2d
	SE       *layers.SqueezeExcite // nil without squeeze-excite
	ConvPwl  *layers.Conv2d
	BN3      *layers.BatchNorm2d
	DropPath *layers.DropPath // nil when the rate is 0
	Act      layers.Layer
	Residual bool
}

var _ layers.Layer = (*MBConv)(nil)

// Forward runs the block on x [N, H, W, In].
func (b *MBConv) Forward(x *nn.Var) *nn.Var {
	y := b.ConvPw.Forward(x)
	y = then(y, bnAct(b.BN1, b.Act))
	y = then(y, b.ConvDw.Forward)
	y = then(y, bnAct(b.BN2, b.Act))
	if b.SE != nil {
		y = then(y, b.SE.Forward)
	}
	y = then(y, b.ConvPwl.Forward)
	y = then(y, b.BN3.Forward)
	return residual(y, x, b.Residual, b.DropPath)
}

// Members lists the children in timm's module order.
func (b *MBConv) Members() layers.Members {
	ch := []layers.Child{{Name: "conv_pw", Module: b.ConvPw}, {Name: "bn1", Module: b.BN1}, {Name: "conv_dw", Module: b.ConvDw}, {Name: "bn2", Module: b.BN2}}
	if b.SE != nil {
		ch = append(ch, layers.Child{Name: "se", Module: b.SE})
	}
	ch = append(ch, layers.Child{Name: "conv_pwl", Module: b.ConvPwl}, layers.Child{Name: "bn3", Module: b.BN3})
	if b.DropPath != nil {
		ch = append(ch, layers.Child{Name: "drop_path", Module: b.DropPath})
	}
	return layers.Members{Children: ch}
}

// DSConv is timm's DepthwiseSeparableConv block:
//
//	conv_dw  depthwise k×k over In with the block's stride, bn1, act
//	se       squeeze-excite over In
//	conv_pw  1×1 (or p×p) In→Out, bn2 (act only for "dsa" blocks)
//	+ x      through drop_path, when Residual
type DSConv struct {
	ConvDw   *layers.DepthwiseConv2d
	BN1      *layers.BatchNorm2d
	SE       *layers.SqueezeExcite // nil without squeeze-excite
	ConvPw   *layers.Conv2d
	BN2      *layers.BatchNorm2d
	DropPath *layers.DropPath // nil when the rate is 0
	Act      layers.Layer
	PwAct    bool // activation after bn2 ("dsa")
	Residual bool
}

var _ layers.Layer = (*DSConv)(nil)

// Forward runs the block on x [N, H, W, In].
func (b *DSConv) Forward(x *nn.Var) *nn.Var {
	y := b.ConvDw.Forward(x)
	y = then(y, bnAct(b.BN1, b.Act))
	if b.SE != nil {
		y = then(y, b.SE.Forward)
	}
	y = then(y, b.ConvPw.Forward)
	if b.PwAct {
		y = then(y, bnAct(b.BN2, b.Act))
	} else {
		y = then(y, b.BN2.Forward)
	}
	return residual(y, x, b.Residual, b.DropPath)
}

// Members lists the children in timm's module order.
func (b *DSConv) Members() layers.Members {
	ch := []layers.Child{{Name: "conv_dw", Module: b.ConvDw}, {Name: "bn1", Module: b.BN1}}
	if b.SE != nil {
		ch = append(ch, layers.Child{Name: "se", Module: b.SE})
	}
	ch = append(ch, layers.Child{Name: "conv_pw", Module: b.ConvPw}, layers.Child{Name: "bn2", Module: b.BN2})
	if b.DropPath != nil {
		ch = append(ch, layers.Child{Name: "drop_path", Module: b.DropPath})
	}
	return layers.Members{Children: ch}
}

func residual(y, x *nn.Var, on bool, dp *layers.DropPath) *nn.Var {
	if !on {
		return y
	}
	if dp != nil {
		y = then(y, dp.Forward)
	}
	return then(y, func(y *nn.Var) *nn.Var { return nn.Add(y, x) })
}

// bnAct returns the function that runs bn and then act (fused for SiLU:
// layers.BatchNorm2d.ForwardAct).
func bnAct(bn *layers.BatchNorm2d, act layers.Layer) func(*nn.Var) *nn.Var {
	return func(v *nn.Var) *nn.Var { return bn.ForwardAct(v, act) }
}

// then returns f(v). When no graph is being recorded (nn.NoGrad), v is an
// intermediate value nobody else holds, and f made a new value (f is not
// an identity and does not return a view of v), v's buffer goes back to
// the pool at once: inference then runs in a few reused buffers instead of
// allocating every activation. With gradients on, the graph keeps v and
// Release frees it after the step.
func then(v *nn.Var, f func(*nn.Var) *nn.Var) *nn.Var {
	y := f(v)
	release(v, y)
	return y
}

// release recycles old's buffer under nn.NoGrad if it is not new itself.
// old must be an intermediate value that nothing else refers to.
func release(old, new *nn.Var) {
	if old != new && !nn.GradEnabled() {
		nn.Recycle(old.Value)
	}
}

// builder makes the layers of one model with the flavour's padding and
// batch-norm settings. Weights are allocated zeroed; initGoog fills them.
type builder struct {
	tf  bool
	bn  layers.BNConfig
	rng *rand.Rand
}

// padding returns the padding of a k×k convolution with the given stride:
// TensorFlow "SAME" for TF, else timm's symmetric ((stride-1) + (k-1))/2.
func (bd builder) padding(k, stride int) nn.Padding {
	if bd.tf {
		return nn.SamePadding()
	}
	return nn.Pad(((stride - 1) + (k - 1)) / 2)
}

func (bd builder) conv(cin, cout, k, stride int) *layers.Conv2d {
	return &layers.Conv2d{
		Weight: nn.Param(nn.New(k, k, cin, cout)),
		Opts:   nn.Conv2dOpts{Stride: stride, Padding: bd.padding(k, stride)},
	}
}

func (bd builder) dwconv(c, k, stride int) *layers.DepthwiseConv2d {
	return &layers.DepthwiseConv2d{
		Weight: nn.Param(nn.New(k, k, c)),
		Opts:   nn.Conv2dOpts{Stride: stride, Groups: c, Padding: bd.padding(k, stride)},
	}
}

func (bd builder) norm(c int) *layers.BatchNorm2d { return layers.NewBatchNorm2d(c, bd.bn) }

func (bd builder) se(c, reduced int, act layers.Layer) *layers.SqueezeExcite {
	if reduced == 0 {
		return nil
	}
	conv := func(cin, cout int) *layers.Conv2d {
		return &layers.Conv2d{Weight: nn.Param(nn.New(1, 1, cin, cout)), Bias: nn.Param(nn.New(cout))}
	}
	return &layers.SqueezeExcite{Reduce: conv(c, reduced), Expand: conv(reduced, c), Act: act, Gate: layers.Sigmoid{}}
}

func (bd builder) dropPath(p float64) *layers.DropPath {
	if p == 0 {
		return nil
	}
	return layers.NewDropPath(float32(p), bd.rng)
}

// block builds the block of a plan entry.
func (bd builder) block(p BlockPlan) (layers.Layer, error) {
	act, err := layers.Activation(p.Act)
	if err != nil {
		return nil, fmt.Errorf("efficientnet: blocks.%d.%d: %w", p.Stage, p.Index, err)
	}
	k := p.Spec.Kernel
	switch p.Spec.Type {
	case InvertedResidual:
		return &MBConv{
			ConvPw:   bd.conv(p.In, p.Mid, p.Spec.ExpKernel, 1),
			BN1:      bd.norm(p.Mid),
			ConvDw:   bd.dwconv(p.Mid, k, p.Stride),
			BN2:      bd.norm(p.Mid),
			SE:       bd.se(p.Mid, p.SE, act),
			ConvPwl:  bd.conv(p.Mid, p.Out, p.Spec.PwKernel, 1),
			BN3:      bd.norm(p.Out),
			DropPath: bd.dropPath(p.DropPath),
			Act:      act,
			Residual: p.Residual,
		}, nil
	case DepthwiseSeparable, DepthwiseSeparableAct:
		return &DSConv{
			ConvDw:   bd.dwconv(p.In, k, p.Stride),
			BN1:      bd.norm(p.In),
			SE:       bd.se(p.In, p.SE, act),
			ConvPw:   bd.conv(p.In, p.Out, p.Spec.PwKernel, 1),
			BN2:      bd.norm(p.Out),
			DropPath: bd.dropPath(p.DropPath),
			Act:      act,
			PwAct:    p.Spec.Type == DepthwiseSeparableAct,
			Residual: p.Residual,
		}, nil
	}
	return nil, fmt.Errorf("efficientnet: blocks.%d.%d: unknown block type %v", p.Stage, p.Index, p.Spec.Type)
}
