package train_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
	"github.com/sortnet/sortnet/train"
)

// run is a tiny training run whose every random choice comes from two
// named PCGs: "data" draws the batches, "dropout" the dropout masks.
type run struct {
	model   *layers.Sequential
	opt     *optim.Adam
	ema     *optim.EMA
	data    *rand.PCG
	dropout *rand.PCG
	dataRng *rand.Rand
}

// newRun builds the model from seed: different seeds give different
// initial weights and RNG states, which a checkpoint load must overwrite.
func newRun(t *testing.T, seed uint64, hidden int) *run {
	t.Helper()
	r := &run{data: rand.NewPCG(seed, 1), dropout: rand.NewPCG(seed, 2)}
	r.dataRng = rand.New(r.data)
	init := rand.New(rand.NewPCG(seed, 3))
	r.model = layers.NewSequential(
		layers.NewLinear(4, hidden, init),
		layers.NewBatchNorm2d(hidden, layers.BNConfig{}),
		layers.SiLU{},
		layers.NewDropout(0.25, rand.New(r.dropout)),
		layers.NewLinear(hidden, 3, init),
	)
	var err error
	if r.opt, err = optim.NewAdam(layers.Params(r.model), optim.AdamConfig{LR: 0.05}); err != nil {
		t.Fatal(err)
	}
	if r.ema, err = optim.NewEMA(layers.Params(r.model), optim.EMAConfig{Decay: 0.9, Warmup: true, Buffers: layers.Buffers(r.model)}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *run) state() train.State {
	return train.State{Model: r.model, Optimizer: r.opt, EMA: r.ema,
		RNGs: map[string]train.RNG{"data": r.data, "dropout": r.dropout}}
}

// step trains on one random batch of 6 samples and returns the loss.
func (r *run) step() float32 {
	x := nn.New(6, 4)
	labels := make([]int, 6)
	for i := range labels {
		labels[i] = r.dataRng.IntN(3)
		for j := 0; j < 4; j++ {
			x.Set(float32(r.dataRng.NormFloat64())+float32(labels[i]), i, j)
		}
	}
	loss := nn.CrossEntropy(r.model.Forward(nn.NewVar(x)), labels, nn.CEOpts{})
	l := loss.Value.Item()
	r.opt.ZeroGrad()
	loss.Backward()
	r.opt.Step()
	r.ema.Update()
	loss.Release()
	return l
}

// snapshot returns every tensor of the run by checkpoint name, copied.
func (r *run) snapshot() map[string][]float32 {
	out := map[string][]float32{}
	for k, t := range layers.StateDict(r.model) {
		out["model."+k] = append([]float32(nil), t.Data()...)
	}
	for k, t := range r.opt.StateDict() {
		out["optim."+k] = t.Data()
	}
	for k, t := range r.ema.StateDict() {
		out["ema."+k] = t.Data()
	}
	return out
}

func sameBits(t *testing.T, what string, got, want map[string][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d tensors, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || len(g) != len(w) {
			t.Fatalf("%s: tensor %s missing or resized", what, k)
		}
		for i := range w {
			if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
				t.Fatalf("%s: %s[%d] = %v, want %v (bit for bit)", what, k, i, g[i], w[i])
			}
		}
	}
}

func TestCheckpointResumeIsBitIdentical(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	cfg := json.RawMessage(`{"lr":0.05,"hidden":5}`)

	// Uninterrupted: 3 steps, save, 4 more.
	a := newRun(t, 1, 5)
	for range 3 {
		a.step()
	}
	meta := train.Meta{Epoch: 1, Step: 3, BestMetric: 0.625, Metric: "balanced_accuracy", Config: cfg,
		Extra: map[string]string{"note": "résumé"}}
	if err := train.SaveCheckpoint(path, a.state(), meta); err != nil {
		t.Fatal(err)
	}
	var lossA []float32
	for range 4 {
		lossA = append(lossA, a.step())
	}

	// Resumed: a different model, optimizer, EMA and RNGs, loaded.
	b := newRun(t, 99, 5)
	got, err := train.LoadCheckpoint(path, b.state())
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 1 || got.Step != 3 || got.BestMetric != 0.625 || got.Metric != "balanced_accuracy" ||
		string(got.Config) != string(cfg) || got.Extra["note"] != "résumé" || len(got.Extra) != 1 {
		t.Errorf("Meta = %+v, want %+v", got, meta)
	}
	if b.opt.Steps() != 3 || b.ema.Updates() != 3 {
		t.Errorf("restored optimizer steps %d, EMA updates %d, want 3, 3", b.opt.Steps(), b.ema.Updates())
	}
	for i := range 4 {
		if l := b.step(); math.Float32bits(l) != math.Float32bits(lossA[i]) {
			t.Fatalf("step %d after resume: loss %v, uninterrupted %v", i+4, l, lossA[i])
		}
	}
	sameBits(t, "after 4 more steps", b.snapshot(), a.snapshot())
	if x, y := a.data.Uint64(), b.data.Uint64(); x != y {
		t.Errorf("data RNG next draw %d, want %d", y, x)
	}
	if x, y := a.dropout.Uint64(), b.dropout.Uint64(); x != y {
		t.Errorf("dropout RNG next draw %d, want %d", y, x)
	}

	m2, err := train.ReadCheckpointMeta(path)
	if err != nil || m2.Step != 3 || m2.Metric != "balanced_accuracy" {
		t.Errorf("ReadCheckpointMeta = %+v, %v", m2, err)
	}
}

func TestCheckpointModelOnlyAndSpecialMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	a := newRun(t, 1, 5)
	a.step()
	// Save everything, load only the model (evaluation): the rest is ignored.
	if err := train.SaveCheckpoint(path, a.state(), train.Meta{BestMetric: math.NaN()}); err != nil {
		t.Fatal(err)
	}
	b := newRun(t, 2, 5)
	meta, err := train.LoadCheckpoint(path, train.State{Model: b.model})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(meta.BestMetric) || meta.Config != nil || meta.Extra != nil {
		t.Errorf("meta %+v: want NaN best metric, no config, no extra", meta)
	}
	want := map[string][]float32{}
	for k, t := range layers.StateDict(a.model) {
		want[k] = t.Data()
	}
	got := map[string][]float32{}
	for k, t := range layers.StateDict(b.model) {
		got[k] = t.Data()
	}
	sameBits(t, "model only", got, want)
	if b.opt.Steps() != 0 {
		t.Error("optimizer changed though not asked for")
	}

	// Saved without optimizer, EMA or RNGs: asking for them is an error.
	if err := train.SaveCheckpoint(path, train.State{Model: a.model}, train.Meta{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    train.State
		want string
	}{
		{"optimizer", train.State{Model: b.model, Optimizer: b.opt}, "no optimizer state"},
		{"ema", train.State{Model: b.model, EMA: b.ema}, "no EMA state"},
		{"rng", train.State{Model: b.model, RNGs: map[string]train.RNG{"augment": rand.NewPCG(1, 1)}}, `no RNG "augment" (it has none)`},
	} {
		if _, err := train.LoadCheckpoint(path, c.s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestCheckpointRefusesNonFinite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.safetensors")
	a := newRun(t, 1, 5)
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		w := a.model.Layers[4].(*layers.Linear).Weight.Value
		old := w.Data()[7]
		w.Data()[7] = v
		err := train.SaveCheckpoint(path, a.state(), train.Meta{})
		w.Data()[7] = old
		var nf *train.NonFiniteError
		if !errors.As(err, &nf) || nf.Tensor != "model.4.weight" || nf.Index != 7 {
			t.Fatalf("value %v: error %v, want a NonFiniteError for model.4.weight[7]", v, err)
		}
		if !strings.Contains(err.Error(), "model.4.weight") {
			t.Errorf("error %q does not name the tensor", err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Error("refused save changed the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("refused save left files behind: %v", entries)
	}
	// Bad config JSON and a nil model are errors too.
	if err := train.SaveCheckpoint(path, a.state(), train.Meta{Config: json.RawMessage("{")}); err == nil {
		t.Error("invalid Config JSON: no error")
	}
	if err := train.SaveCheckpoint(path, train.State{}, train.Meta{}); err == nil {
		t.Error("nil Model: no error")
	}
}

// badRNG marshals to a state no PCG accepts.
type badRNG struct{}

func (badRNG) MarshalBinary() ([]byte, error) { return []byte("not a pcg"), nil }
func (badRNG) UnmarshalBinary([]byte) error   { return nil }

func TestCheckpointLoadErrorsLeaveStateAlone(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	a := newRun(t, 1, 5)
	a.step()
	if err := train.SaveCheckpoint(good, a.state(), train.Meta{Epoch: 2}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	weights := filepath.Join(dir, "weights.safetensors")
	if err := layers.SaveModule(weights, a.model, nil); err != nil {
		t.Fatal(err)
	}
	// The model loads, then the "data" RNG fails: everything must roll back.
	badRng := filepath.Join(dir, "badrng.safetensors")
	if err := train.SaveCheckpoint(badRng, train.State{Model: a.model, Optimizer: a.opt, EMA: a.ema,
		RNGs: map[string]train.RNG{"data": badRNG{}, "dropout": a.dropout}}, train.Meta{}); err != nil {
		t.Fatal(err)
	}
	sgd, err := optim.NewSGD(layers.Params(a.model), optim.SGDConfig{LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		path string
		arch int // hidden width of the target model
		opt  bool
		want string
	}{
		{"missing file", filepath.Join(dir, "nope"), 5, false, "no such file"},
		{"truncated", write("trunc", raw[:len(raw)-9]), 5, false, "ckpt"},
		{"garbage", write("garbage", []byte("\x05\x00\x00\x00\x00\x00\x00\x00{]]]]")), 5, false, "ReadSafetensors"},
		{"plain weights", weights, 5, false, "not a sortnet checkpoint"},
		{"other architecture", good, 6, false, "shape mismatch: 0.bias"},
		{"rng state", badRng, 5, false, `RNG "data": corrupt state`},
		{"optimizer type", good, 5, true, "state of a *optim.Adam, the optimizer is a *optim.SGD"},
	}
	cases[1].want = "" // any error
	for _, c := range cases {
		b := newRun(t, 7, c.arch)
		before := b.snapshot()
		dataBefore, _ := b.data.MarshalBinary()
		s := b.state()
		if c.opt {
			s.Optimizer = sgd
		}
		_, err := train.LoadCheckpoint(c.path, s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "train.LoadCheckpoint "+c.path) {
			t.Errorf("%s: error %q does not name the file", c.name, err)
		}
		sameBits(t, c.name+": state after a failed load", b.snapshot(), before)
		if d, _ := b.data.MarshalBinary(); string(d) != string(dataBefore) {
			t.Errorf("%s: data RNG changed by a failed load", c.name)
		}
	}
	if _, err := train.ReadCheckpointMeta(weights); err == nil || !strings.Contains(err.Error(), "not a sortnet checkpoint") {
		t.Errorf("ReadCheckpointMeta of plain weights: %v", err)
	}
	if _, err := train.ReadCheckpointMeta(filepath.Join(dir, "garbage")); err == nil {
		t.Error("ReadCheckpointMeta of garbage: no error")
	}
}

func TestCheckpointWrongArchitectureNamesTensors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.safetensors")
	a := newRun(t, 1, 5)
	if err := train.SaveCheckpoint(path, train.State{Model: a.model}, train.Meta{}); err != nil {
		t.Fatal(err)
	}
	other := layers.NewSequential(layers.NewLinear(4, 5, rand.New(rand.NewPCG(1, 1))), layers.SiLU{}, layers.NewLinear(5, 3, rand.New(rand.NewPCG(1, 1))))
	_, err := train.LoadCheckpoint(path, train.State{Model: other})
	for _, w := range []string{"missing: 2.bias, 2.weight", "unexpected: 1.bias", "1.running_mean", "4.weight"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v, want it to contain %q", err, w)
		}
	}
}
