package optim_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

func TestEMAUpdate(t *testing.T) {
	ps := scalarParam(0)
	e, err := optim.NewEMA(ps, optim.EMAConfig{Decay: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	w := ps[0].Var.Value.Data()
	// ema: 0 → 0.5·0 + 0.5·4 = 2 → 0.5·2 + 0.5·8 = 5
	for i, x := range []float32{4, 8} {
		w[0] = x
		e.Update()
		want := []float32{2, 5}[i]
		if got := e.StateDict()["x"].Item(); got != want {
			t.Errorf("update %d: ema %v, want %v", i+1, got, want)
		}
	}
	if e.Updates() != 2 {
		t.Errorf("Updates() = %d", e.Updates())
	}
	def, _ := optim.NewEMA(ps, optim.EMAConfig{})
	if def.Decay() != 0.9999 {
		t.Errorf("default decay %v", def.Decay())
	}
}

func TestEMAWarmup(t *testing.T) {
	ps := scalarParam(0)
	e, _ := optim.NewEMA(ps, optim.EMAConfig{Decay: 0.9, Warmup: true})
	// min(0.9, (1+t)/(10+t)): 0.1, 2/11, 3/12, ... reaching 0.9 at t = 80.
	ema := 0.0
	for tt := 0; tt < 100; tt++ {
		want := math.Min(0.9, float64(1+tt)/float64(10+tt))
		if d := e.Decay(); d != want {
			t.Fatalf("update %d: decay %v, want %v", tt, d, want)
		}
		ps[0].Var.Value.Data()[0] = float32(tt)
		e.Update()
		ema = want*ema + (1-want)*float64(tt)
	}
	if got := float64(e.StateDict()["x"].Item()); math.Abs(got-ema) > 1e-4*ema {
		t.Errorf("ema %v, want %v", got, ema)
	}
}

func emaModel() (*testModule, []layers.Param, []layers.Buffer) {
	m := &testModule{
		w:    nn.Param(nn.FromData([]float32{1, 2, 3}, 3)),
		mean: nn.FromData([]float32{10, 20, 30}, 3),
	}
	return m, layers.Params(m), layers.Buffers(m)
}

type testModule struct {
	w    *nn.Var
	mean *nn.Tensor
}

func (m *testModule) Members() layers.Members {
	return layers.Members{
		Params:  []layers.Param{{Name: "weight", Var: m.w}},
		Buffers: []layers.Buffer{{Name: "running_mean", Tensor: m.mean}},
	}
}

func TestEMASwapAndBuffers(t *testing.T) {
	m, ps, bs := emaModel()
	e, err := optim.NewEMA(ps, optim.EMAConfig{Decay: 0.75, Buffers: bs})
	if err != nil {
		t.Fatal(err)
	}
	copy(m.w.Value.Data(), []float32{0.1, 0.2, 0.3}) // irregular values: exactness matters
	copy(m.mean.Data(), []float32{11, 21, 31})
	e.Update()
	trainW := slices.Clone(m.w.Value.Data())
	emaW := e.StateDict()["weight"].Data()
	if want := float32(0.75*1) + float32(0.25)*0.1; emaW[0] != want {
		t.Errorf("ema weight %v, want %v", emaW[0], want)
	}
	if got := e.StateDict()["running_mean"].Data(); !slices.Equal(got, []float32{11, 21, 31}) {
		t.Errorf("buffer was averaged, not copied: %v", got)
	}
	e.Swap()
	if !slices.Equal(m.w.Value.Data(), emaW) {
		t.Errorf("after Swap model has %v, want %v", m.w.Value.Data(), emaW)
	}
	e.Swap()
	if !slices.Equal(m.w.Value.Data(), trainW) {
		t.Errorf("second Swap gave %v, want %v", m.w.Value.Data(), trainW)
	}
	if !slices.Equal(m.mean.Data(), []float32{11, 21, 31}) {
		t.Errorf("buffer after two swaps %v", m.mean.Data())
	}

	// CopyTo a second model.
	m2, _, _ := emaModel()
	if err := e.CopyTo(m2); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m2.w.Value.Data(), emaW) || !slices.Equal(m2.mean.Data(), []float32{11, 21, 31}) {
		t.Errorf("CopyTo gave %v %v", m2.w.Value.Data(), m2.mean.Data())
	}
	bad := &testModule{w: nn.Param(nn.New(4)), mean: nn.New(3)}
	if err := e.CopyTo(bad); err == nil || !strings.Contains(err.Error(), "weight: model has [4], EMA has [3]") {
		t.Errorf("CopyTo mismatched model: %v", err)
	}
	if bad.mean.Data()[0] != 0 {
		t.Error("failed CopyTo copied something")
	}
}

func TestEMAStateDict(t *testing.T) {
	_, ps, bs := emaModel()
	e, _ := optim.NewEMA(ps, optim.EMAConfig{Decay: 0.9, Warmup: true, Buffers: bs})
	for i := range 5 {
		ps[0].Var.Value.Data()[0] = float32(i) * 0.37
		e.Update()
	}
	sd := e.StateDict()
	if got := keys(sd); !slices.Equal(got, []string{"num_updates", "running_mean", "weight"}) {
		t.Errorf("keys %v", got)
	}
	_, ps2, bs2 := emaModel()
	e2, _ := optim.NewEMA(ps2, optim.EMAConfig{Decay: 0.9, Warmup: true, Buffers: bs2})
	if err := e2.LoadStateDict(sd); err != nil {
		t.Fatal(err)
	}
	if e2.Updates() != 5 || e2.Decay() != e.Decay() {
		t.Errorf("resumed updates %d decay %v, want 5, %v", e2.Updates(), e2.Decay(), e.Decay())
	}
	ps2[0].Var.Value.CopyFrom(ps[0].Var.Value)
	e.Update()
	e2.Update()
	if a, b := e.StateDict()["weight"].Data(), e2.StateDict()["weight"].Data(); !slices.Equal(a, b) {
		t.Errorf("resumed EMA %v, original %v", b, a)
	}

	delete(sd, "running_mean")
	sd["extra"] = nn.New(1)
	sd["weight"] = nn.New(2)
	err := e2.LoadStateDict(sd)
	for _, want := range []string{"weight: EMA has [3], state has [2]", "missing: running_mean", "unexpected: extra"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %q", err, want)
		}
	}
}

func TestEMAErrors(t *testing.T) {
	v := nn.Param(nn.New(1))
	cases := []struct {
		ps   []layers.Param
		cfg  optim.EMAConfig
		want string
	}{
		{nil, optim.EMAConfig{}, "nothing to average"},
		{[]layers.Param{{Name: "a", Var: v}, {Name: "a", Var: v}}, optim.EMAConfig{}, `"a" appears twice`},
		{[]layers.Param{{Name: "a", Var: v}}, optim.EMAConfig{Buffers: []layers.Buffer{{Name: "a", Tensor: nn.New(1)}}}, `"a" appears twice`},
		{[]layers.Param{{Name: "num_updates", Var: v}}, optim.EMAConfig{}, "reserved"},
		{[]layers.Param{{Name: "a", Var: v}}, optim.EMAConfig{Decay: -0.5}, "Decay is -0.5"},
	}
	for _, c := range cases {
		if _, err := optim.NewEMA(c.ps, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
