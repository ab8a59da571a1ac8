package bench

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// layerCase is one EfficientNet-B0 convolution at batch 8: an n×h×h×cin
// NHWC input, a k×k kernel with stride s and TF "SAME" padding, cout
// outputs; depthwise layers have cout == cin and one group per channel.
type layerCase struct {
	name            string
	n, h, cin, cout int
	k, s            int
	depthwise       bool
	stem            bool // the input needs no gradient (it is the image)
}

// layerCases are BenchmarkLayers' layers; tools/bench_peers.py (section
// layers) measures the same ones in PyTorch.
var layerCases = []layerCase{
	{name: "stem_3x3s2_3to32_224", n: 8, h: 224, cin: 3, cout: 32, k: 3, s: 2, stem: true},
	{name: "pw_96to24_56", n: 8, h: 56, cin: 96, cout: 24, k: 1, s: 1},
	{name: "pw_144to24_56", n: 8, h: 56, cin: 144, cout: 24, k: 1, s: 1},
	{name: "pw_24to144_56", n: 8, h: 56, cin: 24, cout: 144, k: 1, s: 1},
	{name: "dw3x3_144_56", n: 8, h: 56, cin: 144, cout: 144, k: 3, s: 1, depthwise: true},
	{name: "dw5x5_240_28", n: 8, h: 28, cin: 240, cout: 240, k: 5, s: 1, depthwise: true},
}

// flops returns the forward pass's FLOPs, 2·N·OutH·OutW·Cout·K·K·Cin/groups.
func (c layerCase) flops() float64 {
	out := (c.h + c.s - 1) / c.s // TF "SAME"
	perGroup := c.cin
	if c.depthwise {
		perGroup = 1
	}
	return 2 * float64(c.n*out*out*c.cout*c.k*c.k*perGroup)
}

// bwdFactor is how many forward passes' FLOPs a forward plus backward
// counts: 3 (forward, input gradient, weight gradient), 2 for the stem,
// whose input needs no gradient.
func (c layerCase) bwdFactor() float64 {
	if c.stem {
		return 2
	}
	return 3
}

// layer returns the case's input and weight (the input is a constant for
// the stem, a parameter otherwise) and a function that applies the layer.
func (c layerCase) layer(rng *rand.Rand) (x, w *nn.Var, apply func(x, w *nn.Var) *nn.Var) {
	xt := nntest.Rand(rng, -1, 1, c.n, c.h, c.h, c.cin)
	if c.stem {
		x = nn.NewVar(xt)
	} else {
		x = nn.Param(xt)
	}
	opts := nn.Conv2dOpts{Stride: c.s}
	if c.k > 1 {
		opts.Padding = nn.SamePadding()
	}
	if c.depthwise {
		w = nn.Param(nntest.Rand(rng, -1, 1, c.k, c.k, c.cin))
		return x, w, func(x, w *nn.Var) *nn.Var { return nn.DepthwiseConv2d(x, w, opts) }
	}
	w = nn.Param(nntest.Rand(rng, -1, 1, c.k, c.k, c.cin, c.cout))
	return x, w, func(x, w *nn.Var) *nn.Var { return nn.Conv2d(x, w, opts) }
}

// BenchmarkLayers times single EfficientNet-B0 layers at batch 8 through
// the nn ops (nn.Conv2d, nn.DepthwiseConv2d; NHWC, TF "SAME" padding),
// forward only (fwd, under nn.NoGrad) and forward plus backward (fwdbwd:
// Backward from a given gradient of the output, as PyTorch's
// y.backward(grad), then Release; the input gradient written fresh, as
// PyTorch's with x.grad = None). The names are fixed so that figures
// compare across runs and with PyTorch:
//
//	BenchmarkLayers/<layer>/<fwd|fwdbwd>
//
//	stem_3x3s2_3to32_224   3×3 stride 2, 3→32 channels, 224×224
//	pw_96to24_56           1×1, 96→24, 56×56
//	pw_144to24_56          1×1, 144→24, 56×56
//	pw_24to144_56          1×1, 24→144, 56×56
//	dw3x3_144_56           3×3 depthwise, 144 channels, 56×56
//	dw5x5_240_28           5×5 depthwise, 240 channels, 28×28
//
// GFLOP/s counts 2·N·OutH·OutW·Cout·K·K·Cin/groups per forward pass and 3×
// that per fwdbwd (input and weight gradients), 2× for the stem, whose
// input (the image) needs no gradient and gets none. The worker pool runs
// GOMAXPROCS threads (set GOMAXPROCS in the environment, not -cpu:
// golang/go#49980, see BenchmarkPeers); the first pass, which fills the
// buffer pool, is not timed. tools/bench_peers.py --sections layers prints
// these next to PyTorch's figures for the same layers.
func BenchmarkLayers(b *testing.B) {
	defer nn.SetThreads(nn.Threads())
	for _, c := range layerCases {
		rng := rand.New(rand.NewPCG(1, 2))
		x, w, apply := c.layer(rng)
		dy := c.outGrad(rng)
		b.Run(c.name+"/fwd", func(b *testing.B) {
			nn.SetThreads(runtime.GOMAXPROCS(0))
			layerForward(apply, x, w) // fill the buffer pool
			b.ReportAllocs()
			for b.Loop() {
				layerForward(apply, x, w)
			}
			reportGFLOPs(b, c.flops())
		})
		b.Run(c.name+"/fwdbwd", func(b *testing.B) {
			nn.SetThreads(runtime.GOMAXPROCS(0))
			layerStep(apply, x, w, dy) // fill the buffer pool
			b.ReportAllocs()
			for b.Loop() {
				layerStep(apply, x, w, dy)
			}
			reportGFLOPs(b, c.bwdFactor()*c.flops())
		})
	}
}

func layerForward(apply func(x, w *nn.Var) *nn.Var, x, w *nn.Var) {
	nn.NoGrad(func() { nn.Recycle(apply(x, w).Value) })
}

// layerStep runs the layer forward, then backward from the output
// gradient dy, and releases the graph. The layer reads x as an activation
// (activation), as a layer reads its input in a network, so the input
// gradient is written fresh each step, as PyTorch's side (x.grad = None)
// gets it; w is a leaf, whose gradient stays allocated and accumulates
// across steps (the kernels add onto it).
func layerStep(apply func(x, w *nn.Var) *nn.Var, x, w *nn.Var, dy *nn.Tensor) {
	loss := seed(apply(activation(x), w), dy)
	loss.Backward()
	loss.Release()
}

// activation returns x as the output of an op (the identity, whose
// gradient is dropped) if x requires a gradient, else x. A leaf's
// gradient belongs to the caller, so ops add onto it; an op's output's
// gradient is a buffer the backward pass writes and Release recycles.
func activation(x *nn.Var) *nn.Var {
	if !x.RequiresGrad() {
		return x
	}
	return nn.Custom("Activation", x.Value, func(*nn.Tensor) {}, x)
}

// seedOne is the value of every seed: Backward needs a single value.
var seedOne = nn.New(1)

// seed returns a scalar whose Backward starts y's backward pass from the
// gradient dy (a tensor of y's shape made outside the buffer pool, so
// Backward's recycling of y.Grad leaves it alone), as PyTorch's
// y.backward(dy) does: no reduction in the forward pass, no copy of dy.
func seed(y *nn.Var, dy *nn.Tensor) *nn.Var {
	return nn.Custom("Seed", seedOne, func(*nn.Tensor) { y.Grad = dy }, y)
}

// outGrad returns a random gradient for the case's output.
func (c layerCase) outGrad(rng *rand.Rand) *nn.Tensor {
	out := (c.h + c.s - 1) / c.s
	return nntest.Rand(rng, -1, 1, c.n, out, out, c.cout)
}

// TestLayerCases checks the FLOP counts BenchmarkLayers reports against
// hand-worked values, and that each case builds the graph it claims: an
// output of the right shape, gradients for exactly the inputs that should
// have one, and that seeding Backward with dy gives the gradients of
// Sum(y·dy).
func TestLayerCases(t *testing.T) {
	want := map[string]float64{
		"stem_3x3s2_3to32_224": 2 * 8 * 112 * 112 * 32 * 27,
		"pw_96to24_56":         2 * 8 * 56 * 56 * 24 * 96,
		"pw_144to24_56":        2 * 8 * 56 * 56 * 24 * 144,
		"pw_24to144_56":        2 * 8 * 56 * 56 * 144 * 24,
		"dw3x3_144_56":         2 * 8 * 56 * 56 * 144 * 9,
		"dw5x5_240_28":         2 * 8 * 28 * 28 * 240 * 25,
	}
	for _, c := range layerCases {
		if got := c.flops(); got != want[c.name] {
			t.Errorf("%s: %v FLOPs, want %v", c.name, got, want[c.name])
		}
		// A batch of one keeps the test fast; the shapes are the same.
		c.n = 1
		grads := func(seeded bool) (dx, dw []float32) {
			x, w, apply := c.layer(rand.New(rand.NewPCG(1, 2)))
			dy := c.outGrad(rand.New(rand.NewPCG(3, 4)))
			y := apply(x, w)
			out := (c.h + c.s - 1) / c.s
			if s := y.Shape(); s[0] != 1 || s[1] != out || s[2] != out || s[3] != c.cout {
				t.Fatalf("%s: output %v, want [1 %d %d %d]", c.name, s, out, out, c.cout)
			}
			var loss *nn.Var
			if seeded {
				loss = seed(y, dy)
			} else {
				loss = nn.Sum(nn.Mul(y, nn.NewVar(dy)))
			}
			loss.Backward()
			if (x.Grad != nil) == c.stem {
				t.Fatalf("%s: input gradient %v, want one: %v", c.name, x.Grad != nil, !c.stem)
			}
			if w.Grad == nil {
				t.Fatalf("%s: no weight gradient", c.name)
			}
			if x.Grad != nil {
				dx = x.Grad.Data()
			}
			dw = w.Grad.Data()
			loss.Release()
			return dx, dw
		}
		dx, dw := grads(true)
		refX, refW := grads(false)
		if !slices.Equal(dx, refX) || !slices.Equal(dw, refW) {
			t.Errorf("%s: gradients seeded with dy differ from those of Sum(y·dy)", c.name)
		}
		// layerStep reads x as an activation: its input gradient goes to
		// a buffer of the graph, not onto x's.
		x, w, apply := c.layer(rand.New(rand.NewPCG(1, 2)))
		layerStep(apply, x, w, c.outGrad(rand.New(rand.NewPCG(3, 4))))
		if x.Grad != nil || w.Grad == nil || !slices.Equal(w.Grad.Data(), dw) {
			t.Errorf("%s: layerStep left x.Grad %v (want none), w.Grad %v (want the weight gradient)", c.name, x.Grad != nil, w.Grad != nil)
		}
	}
}
