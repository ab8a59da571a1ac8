package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sortnet/sortnet/nn"
)

// ConvConfig configures Conv2d and DepthwiseConv2d. Zero Stride, Dilation
// and Groups mean 1; the zero Padding means none.
type ConvConfig struct {
	Stride, Dilation, Groups int
	Padding                  nn.Padding
	Bias                     bool // add a learned per-channel bias
}

func (c ConvConfig) opts() nn.Conv2dOpts {
	return nn.Conv2dOpts{Stride: c.Stride, Dilation: c.Dilation, Groups: c.Groups, Padding: c.Padding}
}

// Conv2d is a 2-D convolution over NHWC input with an HWIO weight
// [K, K, Cin/groups, Cout] and an optional bias [Cout].
//
// Parameter names: "weight", "bias".
type Conv2d struct {
	Weight *nn.Var
	Bias   *nn.Var // nil without bias
	Opts   nn.Conv2dOpts
}

var _ Layer = (*Conv2d)(nil)

// NewConv2d returns a k×k convolution from cin to cout channels, initialised
// as PyTorch initialises nn.Conv2d: weight and bias uniform in
// ±1/sqrt(fan_in), fan_in = k·k·cin/groups. It panics if the channel counts
// do not divide by the group count.
func NewConv2d(cin, cout, k int, cfg ConvConfig, rng *rand.Rand) *Conv2d {
	g := max(cfg.Groups, 1)
	if cin <= 0 || cout <= 0 || k <= 0 || cin%g != 0 || cout%g != 0 {
		panic(fmt.Sprintf("layers.NewConv2d: cin %d, cout %d, kernel %d, groups %d: sizes must be positive and channels divisible by groups", cin, cout, k, g))
	}
	c := &Conv2d{Weight: nn.Param(nn.New(k, k, cin/g, cout)), Opts: cfg.opts()}
	bound := 1 / math.Sqrt(float64(k*k*cin/g))
	nn.Uniform(c.Weight.Value, -bound, bound, rng)
	if cfg.Bias {
		c.Bias = nn.Param(nn.New(cout))
		nn.Uniform(c.Bias.Value, -bound, bound, rng)
	}
	return c
}

// Forward convolves x [N, H, W, Cin] to [N, H', W', Cout].
func (c *Conv2d) Forward(x *nn.Var) *nn.Var {
	return addBias(nn.Conv2d(x, c.Weight, c.Opts), c.Bias)
}

// addBias adds b (if any) to y. Under NoGrad nothing else can refer to y
// afterwards, so its buffer goes straight back to the pool.
func addBias(y, b *nn.Var) *nn.Var {
	if b == nil {
		return y
	}
	z := nn.Add(y, b)
	if !nn.GradEnabled() {
		nn.Recycle(y.Value)
	}
	return z
}

// Members lists "weight" and, if present, "bias".
func (c *Conv2d) Members() Members { return weightBias(c.Weight, c.Bias) }

// DepthwiseConv2d convolves each channel with its own k×k filter: weight
// [K, K, C], optional bias [C]. It is Conv2d with groups = C, with the
// weight stored without the unit input-channel axis.
//
// Parameter names: "weight", "bias".
type DepthwiseConv2d struct {
	Weight *nn.Var
	Bias   *nn.Var
	Opts   nn.Conv2dOpts // Groups is ignored (always C)
}

var _ Layer = (*DepthwiseConv2d)(nil)

// NewDepthwiseConv2d returns a depthwise k×k convolution over c channels,
// initialised as PyTorch initialises nn.Conv2d(c, c, k, groups=c): uniform
// in ±1/k. cfg.Groups is ignored.
func NewDepthwiseConv2d(c, k int, cfg ConvConfig, rng *rand.Rand) *DepthwiseConv2d {
	if c <= 0 || k <= 0 {
		panic(fmt.Sprintf("layers.NewDepthwiseConv2d: %d channels, kernel %d: sizes must be positive", c, k))
	}
	d := &DepthwiseConv2d{Weight: nn.Param(nn.New(k, k, c)), Opts: cfg.opts()}
	d.Opts.Groups = c
	bound := 1 / float64(k)
	nn.Uniform(d.Weight.Value, -bound, bound, rng)
	if cfg.Bias {
		d.Bias = nn.Param(nn.New(c))
		nn.Uniform(d.Bias.Value, -bound, bound, rng)
	}
	return d
}

// Forward convolves x [N, H, W, C] to [N, H', W', C].
func (d *DepthwiseConv2d) Forward(x *nn.Var) *nn.Var {
	return addBias(nn.DepthwiseConv2d(x, d.Weight, d.Opts), d.Bias)
}

// Members lists "weight" and, if present, "bias".
func (d *DepthwiseConv2d) Members() Members { return weightBias(d.Weight, d.Bias) }

// Linear is a fully connected layer: y = x·W + b with W [In, Out], b [Out].
// Input [N, In] (or any shape whose last axis is In after Flatten).
//
// Parameter names: "weight", "bias".
type Linear struct {
	Weight *nn.Var
	Bias   *nn.Var // nil without bias
}

var _ Layer = (*Linear)(nil)

// NewLinear returns a linear layer with bias, initialised as PyTorch
// initialises nn.Linear: uniform in ±1/sqrt(in).
func NewLinear(in, out int, rng *rand.Rand) *Linear {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("layers.NewLinear: in %d, out %d: sizes must be positive", in, out))
	}
	l := &Linear{Weight: nn.Param(nn.New(in, out)), Bias: nn.Param(nn.New(out))}
	bound := 1 / math.Sqrt(float64(in))
	nn.Uniform(l.Weight.Value, -bound, bound, rng)
	nn.Uniform(l.Bias.Value, -bound, bound, rng)
	return l
}

// Forward maps x [N, In] to [N, Out]. Inputs of higher rank are flattened
// to [N, rest] first, so [N, 1, 1, C] after global pooling works directly.
func (l *Linear) Forward(x *nn.Var) *nn.Var {
	if x.Value.Rank() != 2 {
		x = nn.Flatten(x)
	}
	if in := l.Weight.Value.Dim(0); x.Value.Dim(1) != in {
		panic(fmt.Sprintf("layers.Linear: input %v, weight %v: %d input features, weight expects %d", x.Shape(), l.Weight.Shape(), x.Value.Dim(1), in))
	}
	return addBias(nn.MatMul(x, l.Weight), l.Bias)
}

// Members lists "weight" and, if present, "bias".
func (l *Linear) Members() Members { return weightBias(l.Weight, l.Bias) }

// weightBias lists "weight" and, if b is not nil, "bias".
func weightBias(w, b *nn.Var) Members {
	m := Members{Params: []Param{{"weight", w}}}
	if b != nil {
		m.Params = append(m.Params, Param{"bias", b})
	}
	return m
}
