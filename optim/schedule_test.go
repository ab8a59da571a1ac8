package optim_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/optim"
)

func TestSchedules(t *testing.T) {
	cos := optim.Cosine{Total: 10, Warmup: 2, WarmupStart: 0.1, Min: 0.01}
	cases := []struct {
		name string
		s    optim.Schedule
		t    float64
		want float64
	}{
		{"constant", optim.Constant{}, 17, 1},
		{"step start", optim.StepDecay{Every: 3, Gamma: 0.5}, 0, 1},
		{"step before edge", optim.StepDecay{Every: 3, Gamma: 0.5}, 2.999, 1},
		{"step edge", optim.StepDecay{Every: 3, Gamma: 0.5}, 3, 0.5},
		{"step later", optim.StepDecay{Every: 3, Gamma: 0.5}, 7, 0.25},
		{"step default gamma", optim.StepDecay{Every: 30}, 65, 0.01},
		{"step fractional period", optim.StepDecay{Every: 2.4, Gamma: 0.97}, 5, 0.97 * 0.97},
		{"multiplicative 0", optim.Multiplicative{Gamma: 0.99}, 0, 1},
		{"multiplicative mid-epoch", optim.Multiplicative{Gamma: 0.99}, 0.75, 1},
		{"multiplicative 3", optim.Multiplicative{Gamma: 0.99}, 3, 0.99 * 0.99 * 0.99},
		{"multiplicative 3.5", optim.Multiplicative{Gamma: 0.99}, 3.5, 0.99 * 0.99 * 0.99},
		{"cosine start", cos, 0, 0.1},
		{"cosine negative", cos, -1, 0.1},
		{"cosine warm-up", cos, 1, 0.55},
		{"cosine warm-up end", cos, 2, 1},
		{"cosine just after", cos, 2 + 1e-9, 1},
		{"cosine middle", cos, 6, 0.505},
		{"cosine three quarters", cos, 8, 0.01 + 0.99*(1-math.Sqrt2/2)/2},
		{"cosine end", cos, 10, 0.01},
		{"cosine after", cos, 50, 0.01},
		{"cosine no warm-up", optim.Cosine{Total: 4}, 0, 1},
		{"cosine no warm-up end", optim.Cosine{Total: 4}, 4, 0},
	}
	for _, c := range cases {
		if err := c.s.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got := c.s.Factor(c.t); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Factor(%v) = %v, want %v", c.name, c.t, got, c.want)
		}
	}
}

// TestCosineContinuous: no jump at the end of the warm-up or at Total.
func TestCosineContinuous(t *testing.T) {
	s := optim.Cosine{Total: 100, Warmup: 5, Min: 0.05}
	prev := s.Factor(0)
	for i := 1; i <= 1100; i++ {
		x := float64(i) / 10
		f := s.Factor(x)
		if math.Abs(f-prev) > 0.021 {
			t.Fatalf("jump from %v to %v at t=%v", prev, f, x)
		}
		if x > 5 && f > prev {
			t.Fatalf("cosine rises at t=%v", x)
		}
		prev = f
	}
}

func TestScheduleValidate(t *testing.T) {
	cases := []struct {
		s    optim.Schedule
		want string
	}{
		{optim.StepDecay{}, "optim.StepDecay: Every is required"},
		{optim.StepDecay{Every: 1, Gamma: -1}, "Gamma is -1, must be >= 0"},
		{optim.Multiplicative{}, "optim.Multiplicative: Gamma is required"},
		{optim.Multiplicative{Gamma: math.NaN()}, "Gamma is NaN"},
		{optim.Cosine{}, "Total (0) must be greater than Warmup (0)"},
		{optim.Cosine{Total: 5, Warmup: 5}, "Total (5) must be greater than Warmup (5)"},
		{optim.Cosine{Total: 5, Warmup: -1}, "Warmup is -1"},
		{optim.Cosine{Total: 5, Min: 2}, "Min is 2, must be in [0, 1]"},
		{optim.Cosine{Total: 5, WarmupStart: -0.1}, "WarmupStart is -0.1"},
	}
	for _, c := range cases {
		err := c.s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%#v: error %v, want %q", c.s, err, c.want)
		}
	}
}

func TestApply(t *testing.T) {
	opt, _ := optim.NewAdam(scalarParam(1), optim.AdamConfig{LR: 0.1})
	s := optim.Cosine{Total: 10, Warmup: 2}
	// Per step with an epoch-based schedule, 4 steps per epoch: step 4 is
	// halfway through the warm-up.
	if lr := optim.Apply(opt, s, optim.Epochs(4, 4)); math.Abs(lr-0.05) > 1e-15 || opt.LR() != lr {
		t.Errorf("Apply: lr %v, opt.LR %v, want 0.05", lr, opt.LR())
	}
	if opt.BaseLR() != 0.1 {
		t.Errorf("BaseLR changed to %v", opt.BaseLR())
	}
	// Applying again does not compound.
	optim.Apply(opt, optim.Multiplicative{Gamma: 0.5}, 2)
	optim.Apply(opt, optim.Multiplicative{Gamma: 0.5}, 2)
	if opt.LR() != 0.025 {
		t.Errorf("LR %v, want 0.025", opt.LR())
	}
	if e := optim.Epochs(10, 4); e != 2.5 {
		t.Errorf("Epochs(10, 4) = %v", e)
	}
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "optim.Apply: optim.Multiplicative: Gamma is required") {
			t.Errorf("panic %q", msg)
		}
	}()
	optim.Apply(opt, optim.Multiplicative{}, 1)
}
