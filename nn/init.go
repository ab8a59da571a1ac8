package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Initializers. Each writes into an existing Tensor (a parameter's value),
// drawing from an explicit *rand.Rand in element order, so a seed fixes the
// result. They mirror torch.nn.init; the weight layouts differ from
// PyTorch's (see Fans), but the fans — and so the scales — are the same.

// FanMode selects which fan the Kaiming initializers scale by.
type FanMode int

const (
	// FanIn preserves the variance of activations in the forward pass
	// (PyTorch mode="fan_in", the default).
	FanIn FanMode = iota
	// FanOut preserves the variance of gradients in the backward pass
	// (PyTorch mode="fan_out"; timm's EfficientNet convolutions).
	FanOut
)

func (m FanMode) String() string {
	switch m {
	case FanIn:
		return "FanIn"
	case FanOut:
		return "FanOut"
	}
	return fmt.Sprintf("FanMode(%d)", int(m))
}

// Gains for the Kaiming and Xavier initializers, the values of PyTorch's
// torch.nn.init.calculate_gain.
const (
	GainLinear  = 1.0        // identity, convolutions, sigmoid
	GainSigmoid = 1.0        // sigmoid
	GainReLU    = math.Sqrt2 // relu (and leaky_relu with slope 0)
	GainTanh    = 5.0 / 3    // tanh
	GainSELU    = 3.0 / 4    // selu
)

// GainLeakyReLU returns calculate_gain("leaky_relu", slope) =
// √(2/(1+slope²)). PyTorch's default Linear and Conv2d initialisation is
// kaiming_uniform_ with a = √5, that is GainLeakyReLU(math.Sqrt(5)) = √(1/3)
// in FanIn mode, a uniform bound of 1/√fanIn.
func GainLeakyReLU(slope float64) float64 { return math.Sqrt(2 / (1 + slope*slope)) }

// Fans returns the fan-in and fan-out of a weight in sortnet's layouts,
// where the last dimension is always the output dimension. They equal what
// PyTorch's _calculate_fan_in_and_fan_out returns for the same weight in
// PyTorch's layout:
//
//	linear     [In, Out]             fanIn = In,             fanOut = Out
//	           (PyTorch [Out, In])
//	depthwise  [KH, KW, C]           fanIn = KH·KW,          fanOut = KH·KW·C
//	           (PyTorch [C, 1, KH, KW])
//	conv HWIO  [KH, KW, Cin/g, Cout] fanIn = KH·KW·Cin/g,    fanOut = KH·KW·Cout
//	           (PyTorch [Cout, Cin/g, KH, KW])
//
// A rank-3 shape is always read as a depthwise weight. Ranks above 4 are
// read like HWIO: the leading dimensions form the receptive field, the last
// two are input and output. Fans panics for rank 0 or 1 (biases and
// normalisation parameters have no fans; PyTorch raises as well).
//
// timm's EfficientNet computes its own conv fan-out as KH·KW·Cout/groups,
// which for a depthwise weight is KH·KW, not Fans' KH·KW·C.
func Fans(shape []int) (fanIn, fanOut int) {
	switch r := len(shape); {
	case r < 2:
		panic(fmt.Sprintf("nn.Fans: shape %v: need at least 2 dimensions ([In Out], [KH KW C] or [KH KW Cin Cout])", shape))
	case r == 2:
		return shape[0], shape[1]
	case r == 3:
		rf := shape[0] * shape[1]
		return rf, rf * shape[2]
	default:
		rf := 1
		for _, d := range shape[:r-2] {
			rf *= d
		}
		return rf * shape[r-2], rf * shape[r-1]
	}
}

// Zeros sets every element of t to 0 (torch.nn.init.zeros_).
func Zeros(t *Tensor) { t.Zero() }

// Ones sets every element of t to 1 (torch.nn.init.ones_).
func Ones(t *Tensor) { t.Fill(1) }

// Constant sets every element of t to v (torch.nn.init.constant_).
func Constant(t *Tensor, v float32) { t.Fill(v) }

// Uniform fills t with values drawn uniformly from [lo, hi)
// (torch.nn.init.uniform_). It panics unless lo <= hi.
func Uniform(t *Tensor, lo, hi float64, rng *rand.Rand) {
	if !(lo <= hi) {
		panic(fmt.Sprintf("nn.Uniform: tensor %v: bounds [%v, %v) are empty", t.shape, lo, hi))
	}
	uniform(t, lo, hi, rng)
}

func uniform(t *Tensor, lo, hi float64, rng *rand.Rand) {
	l, h := float32(lo), float32(hi)
	for i := range t.data {
		v := float32(lo + (hi-lo)*rng.Float64())
		if v >= h && h > l { // rounding to float32 reached hi
			v = math.Nextafter32(h, l)
		}
		t.data[i] = v
	}
}

// Normal fills t with values drawn from N(mean, std²)
// (torch.nn.init.normal_). It panics for a negative std.
func Normal(t *Tensor, mean, std float64, rng *rand.Rand) {
	if !(std >= 0) {
		panic(fmt.Sprintf("nn.Normal: tensor %v: std %v < 0", t.shape, std))
	}
	for i := range t.data {
		t.data[i] = float32(mean + std*rng.NormFloat64())
	}
}

// TruncNormal fills t with values drawn from N(mean, std²) conditioned on
// [lo, hi] (torch.nn.init.trunc_normal_; lo and hi are absolute bounds,
// PyTorch's a and b, default -2 and 2). Values are drawn by rejection, so
// the bounds must not lie far out in one tail: it panics unless lo < hi,
// std > 0 and the interval holds at least 1e-4 of the probability mass.
func TruncNormal(t *Tensor, mean, std, lo, hi float64, rng *rand.Rand) {
	if !(lo < hi) || !(std > 0) {
		panic(fmt.Sprintf("nn.TruncNormal: tensor %v: mean %v std %v bounds [%v, %v]: need std > 0 and lo < hi", t.shape, mean, std, lo, hi))
	}
	cdf := func(x float64) float64 { return 0.5 * math.Erfc(-(x-mean)/(std*math.Sqrt2)) }
	if cdf(hi)-cdf(lo) < 1e-4 {
		panic(fmt.Sprintf("nn.TruncNormal: tensor %v: bounds [%v, %v] hold under 1e-4 of N(%v, %v²)", t.shape, lo, hi, mean, std))
	}
	for i := range t.data {
		for {
			v := mean + std*rng.NormFloat64()
			if v >= lo && v <= hi {
				t.data[i] = float32(v)
				break
			}
		}
	}
}

// kaimingStd returns gain/√fan for the chosen fan of t.
func kaimingStd(op string, t *Tensor, mode FanMode, gain float64) float64 {
	fanIn, fanOut := Fans(t.shape)
	var fan int
	switch mode {
	case FanIn:
		fan = fanIn
	case FanOut:
		fan = fanOut
	default:
		panic(fmt.Sprintf("nn.%s: tensor %v: unknown %v", op, t.shape, mode))
	}
	if fan == 0 {
		panic(fmt.Sprintf("nn.%s: tensor %v: %v is 0", op, t.shape, mode))
	}
	return gain / math.Sqrt(float64(fan))
}

// KaimingUniform fills t from U(-b, b) with b = gain·√(3/fan), fan chosen by
// mode from Fans(t.Shape()) (torch.nn.init.kaiming_uniform_ with
// gain = calculate_gain(nonlinearity, a); pass GainReLU for ReLU networks,
// GainLeakyReLU(math.Sqrt(5)) for PyTorch's default layer init).
func KaimingUniform(t *Tensor, mode FanMode, gain float64, rng *rand.Rand) {
	b := math.Sqrt(3) * kaimingStd("KaimingUniform", t, mode, gain)
	uniform(t, -b, b, rng)
}

// KaimingNormal fills t from N(0, std²) with std = gain/√fan, fan chosen by
// mode from Fans(t.Shape()) (torch.nn.init.kaiming_normal_; timm's
// EfficientNet uses FanOut with GainReLU for its convolutions).
func KaimingNormal(t *Tensor, mode FanMode, gain float64, rng *rand.Rand) {
	Normal(t, 0, kaimingStd("KaimingNormal", t, mode, gain), rng)
}

// xavierStd returns gain·√(2/(fanIn+fanOut)).
func xavierStd(op string, t *Tensor, gain float64) float64 {
	fanIn, fanOut := Fans(t.shape)
	if fanIn+fanOut == 0 {
		panic(fmt.Sprintf("nn.%s: tensor %v: fans are 0", op, t.shape))
	}
	return gain * math.Sqrt(2/float64(fanIn+fanOut))
}

// XavierUniform fills t from U(-b, b) with b = gain·√(6/(fanIn+fanOut))
// (torch.nn.init.xavier_uniform_, Glorot uniform).
func XavierUniform(t *Tensor, gain float64, rng *rand.Rand) {
	b := math.Sqrt(3) * xavierStd("XavierUniform", t, gain)
	uniform(t, -b, b, rng)
}

// XavierNormal fills t from N(0, std²) with std = gain·√(2/(fanIn+fanOut))
// (torch.nn.init.xavier_normal_, Glorot normal).
func XavierNormal(t *Tensor, gain float64, rng *rand.Rand) {
	Normal(t, 0, xavierStd("XavierNormal", t, gain), rng)
}
