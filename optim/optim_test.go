package optim_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// scalarParam is a one-element parameter "x" = w with gradient g.
func scalarParam(w float32) []layers.Param {
	return []layers.Param{{Name: "x", Var: nn.Param(nn.FromData([]float32{w}, 1))}}
}

func setGrad(ps []layers.Param, g ...float32) {
	for i, p := range ps {
		p.Var.Grad = nn.FromData([]float32{g[i]}, 1)
	}
}

// TestHandSteps checks single updates against values worked out by hand
// (w = 1 and g = 2 unless stated; the arithmetic is in each comment).
func TestHandSteps(t *testing.T) {
	sgd := func(c optim.SGDConfig) func(ps []layers.Param) (optim.Optimizer, error) {
		return func(ps []layers.Param) (optim.Optimizer, error) { return optim.NewSGD(ps, c) }
	}
	cases := []struct {
		name string
		make func([]layers.Param) (optim.Optimizer, error)
		g    []float32 // gradient at each step
		want []float64 // w after each step
	}{
		// w -= 0.1·0.5
		{"sgd", sgd(optim.SGDConfig{LR: 0.1}), []float32{0.5}, []float64{0.95}},
		// d = 0.5 + 0.1·1 = 0.6; w = 1 - 0.06
		{"sgd wd", sgd(optim.SGDConfig{LR: 0.1, WeightDecay: 0.1}), []float32{0.5}, []float64{0.94}},
		// step 1: buf = d = 0.6, w = 0.94
		// step 2: d = 0.5 + 0.1·0.94 = 0.594; buf = 0.9·0.6 + 0.594 = 1.134; w = 0.94 - 0.1134
		{"sgd momentum", sgd(optim.SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.1}), []float32{0.5, 0.5}, []float64{0.94, 0.8266}},
		// step 1: buf = 0.5 (the first buffer is not dampened), w = 0.95
		// step 2: buf = 0.9·0.5 + 0.5·0.5 = 0.7; w = 0.95 - 0.07
		{"sgd dampening", sgd(optim.SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.5}), []float32{0.5, 0.5}, []float64{0.95, 0.88}},
		// buf = 0.6; d = 0.6 + 0.9·0.6 = 1.14; w = 1 - 0.114
		{"sgd nesterov", sgd(optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 0.1}), []float32{0.5}, []float64{0.886}},
		// Bias correction makes m̂ = g and v̂ = g² at every step for a
		// constant gradient, so each step moves w by lr·g/(|g|+eps) = 0.1.
		{"adam", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdam(ps, optim.AdamConfig{LR: 0.1})
		}, []float32{2, 2, 2}, []float64{0.9, 0.8, 0.7}},
		// g = 2 + 0.5·1 = 2.5, still a move of 0.1 on the first step.
		{"adam l2", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdam(ps, optim.AdamConfig{LR: 0.1, WeightDecay: 0.5})
		}, []float32{-2}, []float64{1.1}},
		// step 1: m = 0.2, v = 0.004 → w = 0.9
		// step 2 (g = 0): m = 0.18, v = 0.003996, vmax = 0.004, bc1 = 0.19,
		// bc2 = 0.001999: w = 0.9 - 0.1·(0.18/0.19)/(√0.004/√0.001999)
		{"amsgrad", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdam(ps, optim.AdamConfig{LR: 0.1, AMSGrad: true})
		}, []float32{2, 0}, []float64{0.9, 0.9 - 0.1*(0.18/0.19)/(math.Sqrt(0.004)/math.Sqrt(0.001999))}},
		// w = 1·(1 - 0.1·0.1) = 0.99, then the Adam move of 0.1
		{"adamw", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdamW(ps, optim.AdamWConfig{LR: 0.1, WeightDecay: 0.1})
		}, []float32{2}, []float64{0.89}},
		// default weight decay 1e-2: w = 1 - 0.1·0.01 - 0.1
		{"adamw default decay", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdamW(ps, optim.AdamWConfig{LR: 0.1})
		}, []float32{2}, []float64{0.899}},
		// ms = 0.01·4 = 0.04; w = 1 - 0.01·2/(0.2 + 1e-8)
		{"rmsprop", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewRMSProp(ps, optim.RMSPropConfig{})
		}, []float32{2}, []float64{0.9}},
		// ga = 0.02; w = 1 - 0.02/√(0.04 - 0.0004)
		{"rmsprop centered", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewRMSProp(ps, optim.RMSPropConfig{Centered: true})
		}, []float32{2}, []float64{0.8994962184740788}},
		// step 1: buf = 2/0.2 = 10, w = 0.9
		// step 2: ms = 0.0796, buf = 9 + 2/√0.0796, w = 0.9 - 0.01·buf
		{"rmsprop momentum", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewRMSProp(ps, optim.RMSPropConfig{Momentum: 0.9})
		}, []float32{2, 2}, []float64{0.9, 0.9 - 0.01*(9+2/math.Sqrt(0.0796))}},
		// TensorFlow: ms starts at 1; ms = 1 + 0.1·(4-1) = 1.3; d = √1.31;
		// buf = 0.01·2/d, w = 1 - buf. Step 2: ms = 1.57, d = √1.58,
		// buf = 0.9·buf + 0.02/d.
		{"rmsprop tf", func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewRMSProp(ps, optim.RMSPropConfig{Eps: 0.01, Momentum: 0.9, EpsInsideSqrt: true})
		}, []float32{2, 2}, []float64{0.9825259188667792, 0.9508881001633659}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := scalarParam(1)
			opt, err := c.make(ps)
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range c.g {
				setGrad(ps, g)
				opt.Step()
				got := float64(ps[0].Var.Value.Data()[0])
				if math.Abs(got-c.want[i]) > 2e-7*math.Max(1, math.Abs(c.want[i])) {
					t.Errorf("step %d: w = %.9g, want %.9g", i+1, got, c.want[i])
				}
			}
			if opt.Steps() != len(c.g) {
				t.Errorf("Steps() = %d, want %d", opt.Steps(), len(c.g))
			}
		})
	}
}

func TestValidation(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		err  error
		want string // substring of the error; "" for valid
	}{
		{"sgd ok", optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true}.Validate(), ""},
		{"sgd no lr", optim.SGDConfig{}.Validate(), "LR is required"},
		{"sgd negative lr", optim.SGDConfig{LR: -1}.Validate(), "LR is -1, must be >= 0"},
		{"sgd nan lr", optim.SGDConfig{LR: nan}.Validate(), "LR is NaN, must be finite"},
		{"sgd momentum 1", optim.SGDConfig{LR: 1, Momentum: 1}.Validate(), "Momentum is 1, must be in [0, 1)"},
		{"sgd nesterov alone", optim.SGDConfig{LR: 1, Nesterov: true}.Validate(), "Nesterov needs Momentum > 0 and Dampening 0"},
		{"sgd nesterov dampening", optim.SGDConfig{LR: 1, Momentum: 0.9, Dampening: 0.1, Nesterov: true}.Validate(), "Nesterov needs"},
		{"sgd dampening 2", optim.SGDConfig{LR: 1, Momentum: 0.9, Dampening: 2}.Validate(), "Dampening is 2, must be in [0, 1]"},
		{"sgd wd", optim.SGDConfig{LR: 1, WeightDecay: -1e-4}.Validate(), "WeightDecay is -0.0001"},
		{"adam ok", optim.AdamConfig{}.Validate(), ""},
		{"adam beta1", optim.AdamConfig{Beta1: 1}.Validate(), "Beta1 is 1, must be in [0, 1)"},
		{"adam beta2", optim.AdamConfig{Beta2: -0.5}.Validate(), "Beta2 is -0.5, must be >= 0"},
		{"adam eps", optim.AdamConfig{Eps: -1e-8}.Validate(), "Eps is -1e-08, must be >= 0"},
		{"adam inf lr", optim.AdamConfig{LR: math.Inf(1)}.Validate(), "LR is +Inf, must be finite"},
		{"adam several", optim.AdamConfig{LR: -1, Beta2: 2}.Validate(), "LR is -1, must be >= 0; Beta2 is 2"},
		{"adamw ok", optim.AdamWConfig{WeightDecay: 0.05}.Validate(), ""},
		{"adamw nan wd", optim.AdamWConfig{WeightDecay: nan}.Validate(), "optim.AdamWConfig: WeightDecay is NaN"},
		{"rmsprop ok", optim.RMSPropConfig{Centered: true, Momentum: 0.9}.Validate(), ""},
		{"rmsprop alpha", optim.RMSPropConfig{Alpha: 1.5}.Validate(), "Alpha is 1.5, must be in [0, 1)"},
		{"rmsprop eps", optim.RMSPropConfig{Eps: nan}.Validate(), "Eps is NaN"},
		{"rmsprop momentum", optim.RMSPropConfig{Momentum: -0.9}.Validate(), "Momentum is -0.9"},
		{"ema ok", optim.EMAConfig{Decay: 0.999}.Validate(), ""},
		{"ema decay", optim.EMAConfig{Decay: 1}.Validate(), "Decay is 1, must be in [0, 1)"},
	}
	for _, c := range cases {
		switch {
		case c.want == "" && c.err != nil:
			t.Errorf("%s: unexpected error %v", c.name, c.err)
		case c.want != "" && c.err == nil:
			t.Errorf("%s: no error, want %q", c.name, c.want)
		case c.want != "" && !strings.Contains(c.err.Error(), c.want):
			t.Errorf("%s: error %q, want it to contain %q", c.name, c.err, c.want)
		}
	}
	// Constructors refuse invalid configs too.
	if _, err := optim.NewAdam(scalarParam(1), optim.AdamConfig{Beta1: 1}); err == nil {
		t.Error("NewAdam accepted Beta1 1")
	}
	if _, err := optim.NewSGD(scalarParam(1), optim.SGDConfig{}); err == nil {
		t.Error("NewSGD accepted a zero LR")
	}
}

func TestDefaults(t *testing.T) {
	ps := scalarParam(1)
	adam, _ := optim.NewAdam(ps, optim.AdamConfig{})
	if c := adam.Config(); c.LR != 1e-3 || c.Beta1 != 0.9 || c.Beta2 != 0.999 || c.Eps != 1e-8 || c.WeightDecay != 0 {
		t.Errorf("Adam defaults %+v", c)
	}
	adamw, _ := optim.NewAdamW(ps, optim.AdamWConfig{})
	if c := adamw.Config(); c.LR != 1e-3 || c.WeightDecay != 1e-2 {
		t.Errorf("AdamW defaults %+v", c)
	}
	rms, _ := optim.NewRMSProp(ps, optim.RMSPropConfig{})
	if c := rms.Config(); c.LR != 1e-2 || c.Alpha != 0.99 || c.Eps != 1e-8 {
		t.Errorf("RMSProp defaults %+v", c)
	}
	tf, _ := optim.NewRMSProp(ps, optim.RMSPropConfig{EpsInsideSqrt: true})
	if c := tf.Config(); c.Alpha != 0.9 || c.Eps != 1e-10 {
		t.Errorf("RMSProp TF defaults %+v", c)
	}
	if adam.LR() != 1e-3 || adam.BaseLR() != 1e-3 {
		t.Errorf("LR %v, BaseLR %v", adam.LR(), adam.BaseLR())
	}
}

func TestParamChecks(t *testing.T) {
	v := nn.Param(nn.New(2))
	cases := []struct {
		name   string
		params []layers.Param
		want   string
	}{
		{"empty", nil, "no parameters"},
		{"unnamed", []layers.Param{{Var: v}}, "parameter 0 has no name"},
		{"nil var", []layers.Param{{Name: "a"}}, `parameter "a" has no value`},
		{"duplicate name", []layers.Param{{Name: "a", Var: v}, {Name: "a", Var: nn.Param(nn.New(2))}}, `parameter name "a" appears twice`},
		{"same var", []layers.Param{{Name: "a", Var: v}, {Name: "b", Var: v}}, `parameters "a" and "b" are the same Var`},
		{"reserved", []layers.Param{{Name: "step", Var: v}}, "reserved"},
	}
	for _, c := range cases {
		_, err := optim.NewAdam(c.params, optim.AdamConfig{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSetLRPanics(t *testing.T) {
	opt, _ := optim.NewAdam(scalarParam(1), optim.AdamConfig{})
	opt.SetLR(0) // zero is fine (start of a warm-up)
	for _, lr := range []float64{-1e-3, math.NaN(), math.Inf(1)} {
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, "optim.Adam.SetLR") {
					t.Errorf("SetLR(%v): panic %q", lr, msg)
				}
			}()
			opt.SetLR(lr)
		}()
	}
}

func TestNoDecayBiasAndNorm(t *testing.T) {
	cases := []struct {
		shape []int
		want  bool
	}{
		{[]int{8}, true},           // bias, BN gamma/beta
		{[]int{1}, true},           // scalar
		{[]int{4, 8}, false},       // linear weight
		{[]int{3, 3, 8}, false},    // depthwise weight
		{[]int{3, 3, 4, 8}, false}, // conv weight
	}
	for _, c := range cases {
		p := layers.Param{Name: "p", Var: nn.Param(nn.New(c.shape...))}
		if got := optim.NoDecayBiasAndNorm(p); got != c.want {
			t.Errorf("shape %v: %v, want %v", c.shape, got, c.want)
		}
	}
	// In an optimizer: with zero gradients only decay moves a weight, so
	// the bias stays put and the matrix shrinks.
	ps := []layers.Param{
		{Name: "fc.weight", Var: nn.Param(nn.Full(1, 2, 2))},
		{Name: "fc.bias", Var: nn.Param(nn.Full(1, 2))},
	}
	opt, err := optim.NewSGD(ps, optim.SGDConfig{LR: 0.5, WeightDecay: 0.2, NoDecay: optim.NoDecayBiasAndNorm})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		p.Var.Grad = nn.New(p.Var.Shape()...)
	}
	opt.Step()
	if w, b := ps[0].Var.Value.Data()[0], ps[1].Var.Value.Data()[0]; w != 0.9 || b != 1 {
		t.Errorf("weight %v (want 0.9), bias %v (want 1)", w, b)
	}
}

// TestNilGradSkipped: a parameter without a gradient keeps its value and
// gets no state, while the others are updated.
func TestNilGradSkipped(t *testing.T) {
	ps := []layers.Param{
		{Name: "a", Var: nn.Param(nn.Full(1, 3))},
		{Name: "frozen", Var: nn.Param(nn.Full(1, 3))},
	}
	opt, _ := optim.NewAdam(ps, optim.AdamConfig{LR: 0.1})
	ps[0].Var.Grad = nn.Full(1, 3)
	opt.Step()
	if got := ps[1].Var.Value.Data(); got[0] != 1 || got[1] != 1 || got[2] != 1 {
		t.Errorf("frozen parameter changed: %v", got)
	}
	if got := ps[0].Var.Value.Data()[0]; got == 1 {
		t.Error("parameter with a gradient was not updated")
	}
	sd := opt.StateDict()
	for _, k := range []string{"step", "step.a", "exp_avg.a", "exp_avg_sq.a"} {
		if sd[k] == nil {
			t.Errorf("state dict lacks %q", k)
		}
	}
	if len(sd) != 4 {
		t.Errorf("state dict has %d entries, want 4: %v", len(sd), keys(sd))
	}
}

func TestZeroGrad(t *testing.T) {
	ps := scalarParam(1)
	setGrad(ps, 3)
	opt, _ := optim.NewSGD(ps, optim.SGDConfig{LR: 1})
	opt.ZeroGrad()
	if g := ps[0].Var.Grad.Data()[0]; g != 0 {
		t.Errorf("grad %v after ZeroGrad", g)
	}
	if len(opt.Params()) != 1 || opt.Params()[0].Name != "x" {
		t.Errorf("Params() = %v", opt.Params())
	}
}
