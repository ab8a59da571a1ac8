package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// blobs is a two-class problem: class 1 images are brighter on the left.
func blobs(n int, seed uint64) *data.Tensors {
	rng := rand.New(rand.NewPCG(seed, 9))
	ds := &data.Tensors{Names: []string{"right", "left"}}
	for i := 0; i < n; i++ {
		img := nn.New(4, 4, 1)
		c := i % 2
		for y := 0; y < 4; y++ {
			for x := 0; x < 4; x++ {
				v := rng.NormFloat64() * 0.5
				if (x < 2) == (c == 1) {
					v += 1
				}
				img.Set(float32(v), y, x, 0)
			}
		}
		ds.Images = append(ds.Images, img)
		ds.Y = append(ds.Y, c)
	}
	return ds
}

type fixture struct {
	task    *Classifier
	opt     optim.Optimizer
	dropout *rand.PCG
}

// newFixture builds a small model with dropout (so the run has random state
// beyond the data) from seed.
func newFixture(t *testing.T, seed uint64) fixture {
	t.Helper()
	init := rand.New(rand.NewPCG(seed, 1))
	src := rand.NewPCG(seed, 2)
	m := layers.NewSequential(layers.Flatten{}, layers.NewLinear(16, 8, init), layers.SiLU{},
		layers.NewDropout(0.2, rand.New(src)), layers.NewLinear(8, 2, init))
	opt, err := optim.NewAdam(layers.Params(m), optim.AdamConfig{LR: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{&Classifier{Model: m, Classes: []string{"right", "left"}}, opt, src}
}

func loaders(t *testing.T) (*data.Loader, *data.Loader) {
	t.Helper()
	tr, err := data.NewLoader(blobs(64, 1), data.LoaderConfig{Batch: 8, Seed: 5, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	va, err := data.NewLoader(blobs(32, 2), data.LoaderConfig{Batch: 16, Sampler: data.Sequential{}})
	if err != nil {
		t.Fatal(err)
	}
	return tr, va
}

func weights(m layers.Module) []float32 {
	var out []float32
	for _, p := range layers.Params(m) {
		out = append(out, p.Var.Value.Data()...)
	}
	return out
}

func TestFitLearnsAndWritesOutputs(t *testing.T) {
	f := newFixture(t, 1)
	dir := t.TempDir()
	tr, va := loaders(t)
	tn, err := New(f.task, f.opt, Config{Epochs: 6, Dir: dir, Plots: true, Metric: BalancedAccuracy,
		Schedule: optim.Multiplicative{Gamma: 0.99}, EMA: &optim.EMAConfig{Decay: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tn.Fit(context.Background(), tr, va)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Best < 0.9 || rep.Last.Scores["accuracy"] < 0.9 {
		t.Fatalf("best balanced accuracy %.3f, last accuracy %.3f; want > 0.9", rep.Best, rep.Last.Scores["accuracy"])
	}
	if len(rep.History) != 6 || rep.History[5].TrainLoss >= rep.History[0].TrainLoss {
		t.Fatalf("history %+v: training loss did not fall", rep.History)
	}
	if got, want := f.opt.LR(), 0.05*math.Pow(0.99, 5); math.Abs(got-want) > 1e-12 {
		t.Fatalf("learning rate after 6 epochs %v, want %v", got, want)
	}
	for _, name := range []string{"last.safetensors", "best.safetensors", "metrics.jsonl", "history.png", "confusion.png", "per_class.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("missing output: %v", err)
		}
	}
	recs, err := ReadMetricsLog(filepath.Join(dir, "metrics.jsonl"))
	if err != nil || len(recs) != 6 || recs[5].Values["val_balanced_accuracy"] == 0 {
		t.Fatalf("metrics log: %d records, err %v", len(recs), err)
	}
}

// A run interrupted in the middle of an epoch and resumed from its
// checkpoint ends with exactly the weights of an uninterrupted run.
func TestResumeIsBitIdentical(t *testing.T) {
	tr, va := loaders(t)
	cfg := func(dir string, rngs map[string]RNG) Config {
		return Config{Epochs: 3, Dir: dir, RNGs: rngs, EMA: &optim.EMAConfig{Decay: 0.8, Warmup: true},
			Schedule: optim.Cosine{Total: 3, Warmup: 1}, StepSchedule: true}
	}
	a := newFixture(t, 7)
	ta, _ := New(a.task, a.opt, cfg(t.TempDir(), map[string]RNG{"dropout": a.dropout}))
	if _, err := ta.Fit(context.Background(), tr, va); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	b := newFixture(t, 7)
	tb, _ := New(b.task, b.opt, cfg(dir, map[string]RNG{"dropout": b.dropout}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopAfter := 12 // batches: in the middle of epoch 2
	tb.cfg.Progress = nil
	hooked := &hookTask{Task: b.task, after: stopAfter, cancel: cancel}
	tb.task = hooked
	_, err := tb.Fit(ctx, tr, va)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted.safetensors") {
		t.Fatalf("interrupted Fit returned %v", err)
	}

	c := newFixture(t, 99) // different initial weights and rng: all must come from the checkpoint
	tc, _ := New(c.task, c.opt, cfg(dir, map[string]RNG{"dropout": c.dropout}))
	if err := tc.Resume(filepath.Join(dir, "interrupted.safetensors")); err != nil {
		t.Fatal(err)
	}
	if tc.Epoch() != 1 || tc.batch == 0 {
		t.Fatalf("resumed at epoch %d batch %d, want inside epoch 2", tc.Epoch(), tc.batch)
	}
	if _, err := tc.Fit(context.Background(), tr, va); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(weights(c.task.Model), weights(a.task.Model)) {
		t.Fatal("resumed run ended with different weights")
	}
	if ta.Steps() != tc.Steps() || len(tc.history) != 3 {
		t.Fatalf("steps %d vs %d, history %d rows", ta.Steps(), tc.Steps(), len(tc.history))
	}
}

// hookTask cancels a context after a number of Loss calls.
type hookTask struct {
	Task
	after, calls int
	cancel       func()
}

func (h *hookTask) Loss(b *data.Batch) (*nn.Var, int, error) {
	h.calls++
	if h.calls == h.after {
		h.cancel()
	}
	return h.Task.Loss(b)
}

// nanTask returns a NaN loss from the given call on.
type nanTask struct {
	Task
	from, calls int
}

func (n *nanTask) Loss(b *data.Batch) (*nn.Var, int, error) {
	n.calls++
	loss, c, err := n.Task.Loss(b)
	if n.calls >= n.from {
		loss = nn.MulScalar(loss, float32(math.NaN()))
	}
	return loss, c, err
}

func TestNonFiniteLossStopsOrSkips(t *testing.T) {
	tr, _ := loaders(t)
	f := newFixture(t, 3)
	dir := t.TempDir()
	tn, _ := New(&nanTask{Task: f.task, from: 11}, f.opt, Config{Epochs: 3, Dir: dir})
	_, err := tn.Fit(context.Background(), tr, nil)
	var nf *NonFiniteLossError
	if !errors.As(err, &nf) || nf.Step != 11 || !strings.Contains(err.Error(), "last.safetensors") {
		t.Fatalf("error %v: want step 11 and the last checkpoint named", err)
	}
	meta, err := ReadCheckpointMeta(filepath.Join(dir, "last.safetensors"))
	if err != nil || meta.Epoch != 1 {
		t.Fatalf("last checkpoint: epoch %d, err %v", meta.Epoch, err)
	}

	g := newFixture(t, 3)
	tn, _ = New(&nanTask{Task: g.task, from: 11}, g.opt, Config{Epochs: 2, SkipNonFinite: true})
	rep, err := tn.Fit(context.Background(), tr, nil)
	if err != nil || rep.Skipped != 6 {
		t.Fatalf("skipping: %d skipped, err %v; want 6", rep.Skipped, err)
	}
}

func TestEarlyStopping(t *testing.T) {
	tr, va := loaders(t)
	f := newFixture(t, 4)
	// A zero learning rate never improves after the first epoch.
	f.opt.SetLR(0)
	tn, _ := New(f.task, f.opt, Config{Epochs: 20, Patience: 2, Metric: Score("loss")})
	rep, err := tn.Fit(context.Background(), tr, va)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.History) != 3 || rep.BestEpoch != 1 || !strings.Contains(rep.Stopped, "early stop") {
		t.Fatalf("%d epochs, best at %d, stopped %q", len(rep.History), rep.BestEpoch, rep.Stopped)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Epochs: 1, ClipNorm: -1}, {Epochs: 1, EvalEMA: true}, {Epochs: 1, Patience: -1},
		{Epochs: 1, Schedule: optim.Cosine{Total: -1}}} {
		if err := c.Validate(); err == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
}
