package optim_test

import (
	"fmt"
	"testing"

	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// TestParityPyTorch replays tools/fixtures_optim.py: three steps of each
// optimizer on fixed gradients, compared with PyTorch 1.13 after every step.
func TestParityPyTorch(t *testing.T) {
	f, err := fixture.Load("testdata/optim_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func([]layers.Param) (optim.Optimizer, error){
		"sgd_nesterov": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-2})
		},
		"sgd_dampening": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.5, WeightDecay: 1e-2})
		},
		"adam": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdam(ps, optim.AdamConfig{LR: 1e-2, WeightDecay: 1e-2})
		},
		"adam_amsgrad": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdam(ps, optim.AdamConfig{LR: 1e-2, Beta1: 0.8, Beta2: 0.9, AMSGrad: true})
		},
		"adam_skip": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdam(ps, optim.AdamConfig{LR: 1e-2})
		},
		"adamw": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdamW(ps, optim.AdamWConfig{LR: 1e-2, WeightDecay: 0.1})
		},
		"adamw_nodecay": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewAdamW(ps, optim.AdamWConfig{LR: 1e-2, WeightDecay: 0.1, NoDecay: optim.NoDecayBiasAndNorm})
		},
		"rmsprop": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewRMSProp(ps, optim.RMSPropConfig{LR: 1e-2, Centered: true, Momentum: 0.9, WeightDecay: 1e-2})
		},
		"rmsprop_plain": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewRMSProp(ps, optim.RMSPropConfig{LR: 1e-2})
		},
		"rmsproptf": func(ps []layers.Param) (optim.Optimizer, error) {
			return optim.NewRMSProp(ps, optim.RMSPropConfig{LR: 1e-2, Alpha: 0.9, Eps: 1e-3, Momentum: 0.9,
				Centered: true, WeightDecay: 1e-2, EpsInsideSqrt: true})
		},
	}
	if got, want := len(cases), len(f.Meta["cases"].([]any)); got != want {
		t.Fatalf("%d cases here, fixture has %d", got, want)
	}
	names := []string{"w", "b", "k"}
	steps := int(f.Float("steps"))
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			var ps []layers.Param
			for _, n := range names {
				ps = append(ps, layers.Param{Name: n, Var: nn.Param(f.T("init." + n).Clone())})
			}
			opt, err := mk(ps)
			if err != nil {
				t.Fatal(err)
			}
			for s := 1; s <= steps; s++ {
				for _, p := range ps {
					p.Var.Grad = f.T(fmt.Sprintf("grad.%d.%s", s, p.Name)).Clone()
					if name == "adam_skip" && s == 2 && p.Name == "b" {
						p.Var.Grad = nil
					}
				}
				opt.Step()
				for _, p := range ps {
					want := f.T(fmt.Sprintf("%s.%d.%s", name, s, p.Name))
					if ok, msg := fixture.Close(p.Var.Value.Data(), want.Data(), 1e-5, 1e-7); !ok {
						t.Errorf("step %d, %s: %s", s, p.Name, msg)
					}
				}
			}
		})
	}
}
