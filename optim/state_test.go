package optim_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

func keys(m map[string]*nn.Tensor) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// model returns three named parameters with random values.
func model(seed uint64) []layers.Param {
	r := rand.New(rand.NewPCG(seed, 1))
	shapes := map[string][]int{"conv.weight": {3, 3, 2, 4}, "bn.weight": {4}, "fc.weight": {4, 5}}
	var ps []layers.Param
	for _, name := range []string{"conv.weight", "bn.weight", "fc.weight"} {
		t := nn.New(shapes[name]...)
		for i := range t.Data() {
			t.Data()[i] = float32(r.NormFloat64())
		}
		ps = append(ps, layers.Param{Name: name, Var: nn.Param(t)})
	}
	return ps
}

// randGrads sets a gradient on every parameter, except "bn.weight" when
// skipBN is set.
func randGrads(r *rand.Rand, ps []layers.Param, skipBN bool) {
	for _, p := range ps {
		if skipBN && p.Name == "bn.weight" {
			p.Var.Grad = nil
			continue
		}
		g := nn.New(p.Var.Shape()...)
		for i := range g.Data() {
			g.Data()[i] = float32(r.NormFloat64())
		}
		p.Var.Grad = g
	}
}

func clone(ps []layers.Param) []layers.Param {
	out := make([]layers.Param, len(ps))
	for i, p := range ps {
		out[i] = layers.Param{Name: p.Name, Var: nn.Param(p.Var.Value.Clone())}
	}
	return out
}

type maker func([]layers.Param) (optim.Optimizer, error)

var makers = map[string]maker{
	"sgd": func(ps []layers.Param) (optim.Optimizer, error) {
		return optim.NewSGD(ps, optim.SGDConfig{LR: 0.05, Momentum: 0.9, Dampening: 0.1, WeightDecay: 1e-4})
	},
	"sgd plain": func(ps []layers.Param) (optim.Optimizer, error) {
		return optim.NewSGD(ps, optim.SGDConfig{LR: 0.05})
	},
	"adam amsgrad": func(ps []layers.Param) (optim.Optimizer, error) {
		return optim.NewAdam(ps, optim.AdamConfig{LR: 1e-2, AMSGrad: true, WeightDecay: 1e-3})
	},
	"adamw": func(ps []layers.Param) (optim.Optimizer, error) {
		return optim.NewAdamW(ps, optim.AdamWConfig{LR: 1e-2, NoDecay: optim.NoDecayBiasAndNorm})
	},
	"rmsprop": func(ps []layers.Param) (optim.Optimizer, error) {
		return optim.NewRMSProp(ps, optim.RMSPropConfig{Momentum: 0.9, Centered: true})
	},
	"rmsprop tf": func(ps []layers.Param) (optim.Optimizer, error) {
		return optim.NewRMSProp(ps, optim.RMSPropConfig{Momentum: 0.9, Eps: 1e-3, EpsInsideSqrt: true})
	},
}

// TestResume: an optimizer rebuilt from a StateDict (and the weights)
// continues bit for bit like the original.
func TestResume(t *testing.T) {
	for name, mk := range makers {
		t.Run(name, func(t *testing.T) {
			ps := model(1)
			opt, err := mk(ps)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(2, 2))
			for i := range 3 {
				randGrads(r, ps, i == 0) // bn.weight's own step count lags
				opt.Step()
			}
			sd := opt.StateDict()
			ps2 := clone(ps)
			opt2, _ := mk(ps2)
			if err := opt2.LoadStateDict(sd); err != nil {
				t.Fatal(err)
			}
			if opt2.Steps() != 3 {
				t.Errorf("resumed Steps() = %d, want 3", opt2.Steps())
			}
			// Mutating the saved dict must not reach either optimizer.
			for _, v := range sd {
				v.Fill(123)
			}
			for i := range 3 {
				randGrads(r, ps, i == 1)
				for j := range ps {
					ps2[j].Var.Grad = nil
					if g := ps[j].Var.Grad; g != nil {
						ps2[j].Var.Grad = g.Clone()
					}
				}
				opt.Step()
				opt2.Step()
				for j := range ps {
					if !slices.Equal(ps[j].Var.Value.Data(), ps2[j].Var.Value.Data()) {
						t.Fatalf("step %d: %s differs after resuming", i+1, ps[j].Name)
					}
				}
			}
			if a, b := keys(opt.StateDict()), keys(opt2.StateDict()); !slices.Equal(a, b) {
				t.Errorf("state keys %v vs %v", a, b)
			}
		})
	}
}

func TestStateDictKeys(t *testing.T) {
	ps := model(1)
	opt, _ := optim.NewRMSProp(ps, optim.RMSPropConfig{Momentum: 0.9, Centered: true})
	randGrads(rand.New(rand.NewPCG(1, 1)), ps, true)
	opt.Step()
	want := []string{
		"grad_avg.conv.weight", "grad_avg.fc.weight",
		"momentum_buffer.conv.weight", "momentum_buffer.fc.weight",
		"square_avg.conv.weight", "square_avg.fc.weight",
		"step", "step.conv.weight", "step.fc.weight",
	}
	sd := opt.StateDict()
	if got := keys(sd); !slices.Equal(got, want) {
		t.Errorf("keys %v\nwant %v", got, want)
	}
	if !nn.SameShape(sd["square_avg.conv.weight"].Shape(), []int{3, 3, 2, 4}) {
		t.Errorf("square_avg shape %v", sd["square_avg.conv.weight"].Shape())
	}
	if sd["step"].Item() != 1 || sd["step.fc.weight"].Item() != 1 {
		t.Errorf("steps %v %v", sd["step"], sd["step.fc.weight"])
	}
}

func TestLoadStateDictErrors(t *testing.T) {
	ps := model(1)
	opt, _ := optim.NewAdam(ps, optim.AdamConfig{})
	randGrads(rand.New(rand.NewPCG(1, 1)), ps, false)
	opt.Step()
	good := opt.StateDict()
	edit := func(fn func(sd map[string]*nn.Tensor)) map[string]*nn.Tensor {
		sd := map[string]*nn.Tensor{}
		for k, v := range good {
			sd[k] = v.Clone()
		}
		fn(sd)
		return sd
	}
	cases := []struct {
		name string
		sd   map[string]*nn.Tensor
		want string
	}{
		{"missing buffer", edit(func(sd map[string]*nn.Tensor) { delete(sd, "exp_avg_sq.fc.weight") }), "missing: exp_avg_sq.fc.weight"},
		{"missing step", edit(func(sd map[string]*nn.Tensor) { delete(sd, "step") }), "missing: step"},
		{"shape", edit(func(sd map[string]*nn.Tensor) { sd["exp_avg.fc.weight"] = nn.New(5, 4) }),
			"exp_avg.fc.weight: parameter has shape [4 5], state has [5 4]"},
		{"unexpected", edit(func(sd map[string]*nn.Tensor) { sd["max_exp_avg_sq.fc.weight"] = nn.New(4, 5) }),
			"unexpected: max_exp_avg_sq.fc.weight"},
		{"bad step", edit(func(sd map[string]*nn.Tensor) { sd["step.bn.weight"] = nn.Scalar(1.5) }), "step.bn.weight: Tensor[1][1.5] is not a positive step count"},
		{"bad count", edit(func(sd map[string]*nn.Tensor) { sd["step"] = nn.Scalar(-1) }), "step: Tensor[1][-1] is not a step count"},
	}
	for _, c := range cases {
		before := opt.StateDict()
		err := opt.LoadStateDict(c.sd)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "optim.Adam.LoadStateDict: ") {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
		after := opt.StateDict()
		for k, v := range before {
			if !slices.Equal(v.Data(), after[k].Data()) {
				t.Errorf("%s: failed load changed %s", c.name, k)
			}
		}
	}
	// A parameter with no entries at all is simply not initialised yet.
	sd := edit(func(sd map[string]*nn.Tensor) {
		for _, k := range []string{"step.bn.weight", "exp_avg.bn.weight", "exp_avg_sq.bn.weight"} {
			delete(sd, k)
		}
	})
	if err := opt.LoadStateDict(sd); err != nil {
		t.Errorf("state without bn.weight: %v", err)
	}
	if _, ok := opt.StateDict()["exp_avg.bn.weight"]; ok {
		t.Error("bn.weight has state after loading a dict without it")
	}
}
