package layers_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 3)) }

func names(ps []layers.Param) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s%v", p.Name, p.Var.Shape()))
	}
	return out
}

// params returns the Vars of m's parameters plus the input, for CheckGrad.
func params(m layers.Module, x *nn.Var) []*nn.Var {
	vs := []*nn.Var{x}
	for _, p := range layers.Params(m) {
		vs = append(vs, p.Var)
	}
	return vs
}

func TestLayerShapesNamesAndGradients(t *testing.T) {
	r := rng(1)
	cases := []struct {
		name   string
		layer  layers.Layer
		in     []int
		out    []int
		params []string
	}{
		{"conv3x3s2", layers.NewConv2d(3, 4, 3, layers.ConvConfig{Stride: 2, Padding: nn.Pad(1), Bias: true}, r),
			[]int{2, 5, 5, 3}, []int{2, 3, 3, 4}, []string{"weight[3 3 3 4]", "bias[4]"}},
		{"conv_same_grouped", layers.NewConv2d(4, 6, 3, layers.ConvConfig{Stride: 2, Groups: 2, Padding: nn.Padding{Same: true}}, r),
			[]int{1, 6, 7, 4}, []int{1, 3, 4, 6}, []string{"weight[3 3 2 6]"}},
		{"depthwise5x5", layers.NewDepthwiseConv2d(5, 5, layers.ConvConfig{Padding: nn.Pad(2)}, r),
			[]int{1, 6, 5, 5}, []int{1, 6, 5, 5}, []string{"weight[5 5 5]"}},
		{"depthwise_bias_stride2", layers.NewDepthwiseConv2d(3, 3, layers.ConvConfig{Stride: 2, Padding: nn.SamePadding(), Bias: true}, r),
			[]int{2, 5, 6, 3}, []int{2, 3, 3, 3}, []string{"weight[3 3 3]", "bias[3]"}},
		{"dropout", &reseeded{layers.NewDropout(0.3, rng(0)), 11},
			[]int{2, 3, 3, 2}, []int{2, 3, 3, 2}, nil},
		{"droppath", &reseeded{layers.NewDropPath(0.5, rng(0)), 12},
			[]int{4, 2, 2, 3}, []int{4, 2, 2, 3}, nil},
		{"linear", layers.NewLinear(7, 3, r),
			[]int{4, 7}, []int{4, 3}, []string{"weight[7 3]", "bias[3]"}},
		{"linear_after_pool", layers.NewLinear(7, 3, r),
			[]int{2, 1, 1, 7}, []int{2, 3}, []string{"weight[7 3]", "bias[3]"}},
		{"batchnorm", layers.NewBatchNorm2d(3, layers.BNConfig{}),
			[]int{2, 3, 2, 3}, []int{2, 3, 2, 3}, []string{"weight[3]", "bias[3]"}},
		{"squeeze_excite", layers.NewSqueezeExcite(6, 2, r),
			[]int{2, 3, 3, 6}, []int{2, 3, 3, 6},
			[]string{"conv_reduce.weight[1 1 6 2]", "conv_reduce.bias[2]", "conv_expand.weight[1 1 2 6]", "conv_expand.bias[6]"}},
		{"sequential", layers.NewSequential(
			layers.NewConv2d(2, 3, 1, layers.ConvConfig{}, r),
			layers.NewBatchNorm2d(3, layers.BNConfig{}),
			layers.SiLU{}, layers.GlobalAvgPool{}, layers.NewLinear(3, 2, r)),
			[]int{1, 3, 3, 2}, []int{1, 2},
			[]string{"0.weight[1 1 2 3]", "1.weight[3]", "1.bias[3]", "4.weight[3 2]", "4.bias[2]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := names(layers.Params(c.layer)); len(got)+len(c.params) > 0 && !reflect.DeepEqual(got, c.params) {
				t.Fatalf("params %v, want %v", got, c.params)
			}
			x := nn.Param(nntest.Rand(rng(2), -1, 1, c.in...))
			y := c.layer.Forward(x)
			if !nn.SameShape(y.Shape(), c.out) {
				t.Fatalf("output %v, want %v", y.Shape(), c.out)
			}
			nntest.CheckGrad(t, func() *nn.Var { return c.layer.Forward(x) }, params(c.layer, x), nntest.Options{})
		})
	}
}

func TestActivationLayers(t *testing.T) {
	for _, name := range []string{"relu", "relu6", "sigmoid", "silu", "swish", "hard_swish", "hard_sigmoid", "tanh", "identity"} {
		l, err := layers.Activation(name)
		if err != nil {
			t.Fatal(err)
		}
		x := nn.Param(nntest.RandAwayFrom(rng(4), -7, 7, 0.05, []float32{-3, 0, 3, 6}, 2, 3, 1, 4))
		if y := l.Forward(x); !nn.SameShape(y.Shape(), x.Shape()) {
			t.Fatalf("%s: shape %v", name, y.Shape())
		}
		nntest.CheckGrad(t, func() *nn.Var { return l.Forward(x) }, []*nn.Var{x}, nntest.Options{Eps: 1e-3})
	}
	if _, err := layers.Activation("gelu_fast"); err == nil || !strings.Contains(err.Error(), "gelu_fast") {
		t.Fatalf("unknown activation: err %v", err)
	}
}

func TestBatchNormModes(t *testing.T) {
	bn := layers.NewBatchNorm2d(2, layers.BNConfig{Momentum: 0.5})
	x := nn.NewVar(nn.FromData([]float32{1, 10, 3, 20}, 2, 1, 1, 2)) // channel 0: 1,3; channel 1: 10,20
	y := bn.Forward(x).Value.Data()
	// Batch statistics: mean (2, 15), biased var (1, 25).
	want := []float32{-1, -1, 1, 1}
	for i := range want {
		if d := y[i] - want[i]; d > 1e-4 || d < -1e-4 {
			t.Fatalf("training output %v, want ≈ %v", y, want)
		}
	}
	// Running stats: 0.5*init + 0.5*batch, with the unbiased variance (2, 50).
	if m, v := bn.RunningMean.Data(), bn.RunningVar.Data(); m[0] != 1 || m[1] != 7.5 || v[0] != 1.5 || v[1] != 25.5 {
		t.Fatalf("running mean %v var %v, want [1 7.5] [1.5 25.5]", m, v)
	}
	layers.SetTraining(bn, false)
	y = bn.Forward(x).Value.Data()
	if got, want := y[1], float32((10-7.5)/math.Sqrt(25.5+1e-5)); math.Abs(float64(got-want)) > 1e-5 {
		t.Fatalf("eval output %v, want %v", got, want)
	}
	if bn.RunningMean.Data()[1] != 7.5 {
		t.Fatal("eval mode changed the running statistics")
	}
}

// TestBatchNormForwardAct: ForwardAct equals act.Forward(Forward) bit for
// bit, fused (SiLU) or not (ReLU, Identity), with and without NoGrad.
func TestBatchNormForwardAct(t *testing.T) {
	bn := layers.NewBatchNorm2d(11, layers.BNConfig{})
	layers.SetTraining(bn, false)
	nn.Normal(bn.RunningMean, 0, 1, rng(7))
	nn.Normal(bn.Weight.Value, 1, 0.3, rng(8))
	x := nn.NewVar(nntest.Rand(rng(9), -3, 3, 2, 3, 5, 11))
	for _, act := range []layers.Layer{layers.SiLU{}, layers.ReLU{}, layers.Identity{}} {
		for _, noGrad := range []bool{false, true} {
			var got, want *nn.Var
			f := func() {
				want = act.Forward(bn.Forward(x))
				got = bn.ForwardAct(x, act)
			}
			if noGrad {
				nn.NoGrad(f)
			} else {
				f()
			}
			for i, w := range want.Value.Data() {
				if g := got.Value.Data()[i]; math.Float32bits(g) != math.Float32bits(w) {
					t.Fatalf("%T noGrad %t: [%d] = %v, want %v", act, noGrad, i, g, w)
				}
			}
		}
	}
}

func TestDropoutLayersEval(t *testing.T) {
	d, p := layers.NewDropout(0.5, rng(5)), layers.NewDropPath(0.5, rng(6))
	seq := layers.NewSequential(d, p)
	layers.SetTraining(seq, false)
	x := nn.NewVar(nn.Full(1, 4, 2, 2, 3))
	if y := seq.Forward(x); y != x {
		t.Fatal("dropout and drop-path must pass input through in eval mode")
	}
	layers.SetTraining(seq, true)
	y := seq.Forward(x).Value.Data()
	zeros := 0
	for _, v := range y {
		if v == 0 {
			zeros++
		}
	}
	if zeros == 0 || zeros == len(y) {
		t.Fatalf("training-mode dropout zeroed %d of %d", zeros, len(y))
	}
}

func TestStateDictRoundTrip(t *testing.T) {
	mk := func(seed uint64) *layers.Sequential {
		r := rng(seed)
		return layers.NewSequential(layers.NewConv2d(3, 4, 3, layers.ConvConfig{Bias: true}, r), layers.NewBatchNorm2d(4, layers.BNConfig{}))
	}
	a, b := mk(1), mk(2)
	a.Layers[1].(*layers.BatchNorm2d).RunningMean.Fill(0.25)
	if err := layers.LoadStateDict(b, layers.StateDict(a), true); err != nil {
		t.Fatal(err)
	}
	for name, ta := range layers.StateDict(a) {
		tb := layers.StateDict(b)[name]
		if !reflect.DeepEqual(ta.Data(), tb.Data()) {
			t.Fatalf("%s differs after LoadStateDict", name)
		}
	}
	want := []string{"0.bias", "0.weight", "1.bias", "1.running_mean", "1.running_var", "1.weight"}
	var got []string
	for n := range layers.StateDict(a) {
		got = append(got, n)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("state dict names %v, want %v", got, want)
	}
}

func TestStateNames(t *testing.T) {
	conv := layers.NewConv2d(3, 4, 3, layers.ConvConfig{Bias: true}, rng(1))
	m := layers.NewSequential(conv, layers.NewBatchNorm2d(4, layers.BNConfig{}), conv)
	// Module order, parameters before buffers, the shared conv once (as
	// StateDict has it).
	want := []string{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"}
	got := layers.StateNames(m)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("StateNames = %v, want %v", got, want)
	}
	if sd := layers.StateDict(m); len(sd) != len(got) {
		t.Fatalf("StateDict has %d names, StateNames %d", len(sd), len(got))
	}
}

func TestTrimStatePrefix(t *testing.T) {
	a, b := nn.New(1), nn.New(2)
	sd := map[string]*nn.Tensor{"module.x": a, "module.y.z": b}
	got := layers.TrimStatePrefix(sd, "module.")
	if len(got) != 2 || got["x"] != a || got["y.z"] != b {
		t.Fatalf("trimmed %v", got)
	}
	if _, ok := sd["module.x"]; !ok || len(sd) != 2 {
		t.Fatal("the input changed")
	}
	sd["other"] = a // not every name has the prefix: unchanged
	if got := layers.TrimStatePrefix(sd, "module."); len(got) != 3 || got["module.x"] != a {
		t.Fatalf("partly prefixed: %v", got)
	}
	if got := layers.TrimStatePrefix(nil, "module."); got != nil {
		t.Fatalf("nil: %v", got)
	}
}

func TestSharedParametersListedOnce(t *testing.T) {
	shared := layers.NewConv2d(2, 2, 1, layers.ConvConfig{}, rng(1))
	m := layers.NewSequential(shared, layers.ReLU{}, shared)
	ps := layers.Params(m)
	if len(ps) != 1 || ps[0].Name != "0.weight" {
		t.Fatalf("params %v, want one, named 0.weight", names(ps))
	}
	layers.Freeze(m, true)
	x := nn.NewVar(nn.Full(1, 1, 2, 2, 2))
	if y := m.Forward(x); y.RequiresGrad() {
		t.Fatal("a frozen model's output requires a gradient")
	}
	layers.Freeze(m, false)
	if !shared.Weight.RequiresGrad() {
		t.Fatal("Freeze(m, false) did not unfreeze")
	}
}

func TestLoadStateDictErrors(t *testing.T) {
	m := layers.NewSequential(layers.NewLinear(3, 2, rng(1)))
	good := layers.StateDict(m)
	cases := []struct {
		name   string
		sd     map[string]*nn.Tensor
		strict bool
		want   []string
	}{
		{"missing", map[string]*nn.Tensor{"0.weight": good["0.weight"]}, true, []string{"missing: 0.bias"}},
		{"unexpected", map[string]*nn.Tensor{"0.weight": good["0.weight"], "0.bias": good["0.bias"], "head.weight": nn.New(1)}, true, []string{"unexpected: head.weight"}},
		{"shape", map[string]*nn.Tensor{"0.weight": nn.New(2, 3), "0.bias": good["0.bias"]}, false, []string{"0.weight", "[3 2]", "[2 3]"}},
	}
	for _, c := range cases {
		before := append([]float32(nil), good["0.weight"].Data()...)
		err := layers.LoadStateDict(m, c.sd, c.strict)
		if err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
		if !reflect.DeepEqual(before, good["0.weight"].Data()) {
			t.Fatalf("%s: a failed load changed the weights", c.name)
		}
	}
	// Non-strict loading skips missing and unexpected names.
	if err := layers.LoadStateDict(m, map[string]*nn.Tensor{"0.bias": nn.New(2), "extra": nn.New(1)}, false); err != nil {
		t.Fatalf("non-strict: %v", err)
	}
}

func TestLayerPanicsNameSizes(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "layers.Linear") || !strings.Contains(msg, "[2 5]") {
			t.Fatalf("panic %q does not name the layer and the input shape", msg)
		}
	}()
	layers.NewLinear(3, 2, rng(1)).Forward(nn.NewVar(nn.New(2, 5)))
}

// reseeded gives a dropout-style layer a freshly seeded rng on every
// forward, so that gradient checks see the same mask each time.
type reseeded struct {
	layers.Layer
	seed uint64
}

func (r *reseeded) Forward(x *nn.Var) *nn.Var {
	switch l := r.Layer.(type) {
	case *layers.Dropout:
		l.Rng = rng(r.seed)
	case *layers.DropPath:
		l.Rng = rng(r.seed)
	}
	return r.Layer.Forward(x)
}
