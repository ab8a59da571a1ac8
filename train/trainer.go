package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/optim"
)

// Config configures a Trainer.
type Config struct {
	// Epochs is the number of passes over the training data (required).
	Epochs int
	// Schedule scales the optimizer's base learning rate; nil keeps it
	// constant. It is evaluated at the start of every epoch with the
	// number of completed epochs, or, with StepSchedule, before every
	// step with fractional epochs (optim.Epochs).
	Schedule     optim.Schedule
	StepSchedule bool
	// ClipNorm clips the global gradient norm (0: no clipping).
	ClipNorm float64
	// EMA, if set, keeps an exponential moving average of the weights;
	// with EvalEMA the averaged weights are the ones validated and kept as
	// the best checkpoint.
	EMA     *optim.EMAConfig
	EvalEMA bool
	// Dir receives last.safetensors (every epoch), best.safetensors (the
	// best validation score), metrics.jsonl and, with Plots, PNG plots.
	// Empty: nothing is written.
	Dir   string
	Plots bool
	// Metric selects the best checkpoint: a Metric, a Score or "loss"
	// (lower is better); nil means the task's default.
	Metric fmt.Stringer
	// Patience stops training after this many epochs without a better
	// validation score (0: never).
	Patience int
	// SkipNonFinite skips a batch whose loss or gradient is NaN or
	// infinite instead of stopping with an error.
	SkipNonFinite bool
	// Progress reports progress; nil is quiet.
	Progress *Progress
	// RNGs are random sources of the run (dropout, augmentation) that
	// checkpoints save and Resume restores, so a resumed run continues bit
	// for bit.
	RNGs map[string]RNG
	// Run describes the run (flags, data paths); stored as JSON in every
	// checkpoint.
	Run any
	// OnEpoch, if set, is called before each training epoch with its
	// number (1-based), e.g. to change what the data sets produce.
	OnEpoch func(epoch int)
}

// Validate reports invalid settings.
func (c Config) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("train.Config: Epochs %d must be at least 1", c.Epochs)
	case c.ClipNorm < 0 || math.IsNaN(c.ClipNorm) || math.IsInf(c.ClipNorm, 0):
		return fmt.Errorf("train.Config: ClipNorm %v must be finite and >= 0", c.ClipNorm)
	case c.Patience < 0:
		return fmt.Errorf("train.Config: Patience %d is negative", c.Patience)
	case c.EvalEMA && c.EMA == nil:
		return errors.New("train.Config: EvalEMA needs EMA")
	}
	if c.Schedule != nil {
		if err := c.Schedule.Validate(); err != nil {
			return fmt.Errorf("train.Config: %w", err)
		}
	}
	if c.EMA != nil {
		if err := c.EMA.Validate(); err != nil {
			return fmt.Errorf("train.Config: %w", err)
		}
	}
	return nil
}

// Trainer trains a Task with an optimizer. Step performs one training
// step and can drive a loop of your own; Fit is the full loop: epochs,
// learning-rate schedule, validation, checkpoints, early stopping,
// progress, metrics log and plots.
type Trainer struct {
	task Task
	opt  optim.Optimizer
	ema  *optim.EMA
	cfg  Config

	epoch     int // completed epochs
	batch     int // batches done in the current epoch (for resuming)
	step      int // optimizer steps taken
	skipped   int // batches skipped for a non-finite loss or gradient
	best      float64
	bestEpoch int
	history   []EpochMetrics
}

// New returns a Trainer. The optimizer must hold the task's parameters.
func New(task Task, opt optim.Optimizer, cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Trainer{task: task, opt: opt, cfg: cfg, best: math.Inf(-1)}
	if cfg.EMA != nil {
		ema, err := optim.NewEMA(layers.Params(task.Module()), *cfg.EMA)
		if err != nil {
			return nil, fmt.Errorf("train.New: %w", err)
		}
		t.ema = ema
	}
	return t, nil
}

// Optimizer returns the optimizer.
func (t *Trainer) Optimizer() optim.Optimizer { return t.opt }

// EMA returns the weight average, or nil.
func (t *Trainer) EMA() *optim.EMA { return t.ema }

// Task returns the task.
func (t *Trainer) Task() Task { return t.task }

// Epoch returns the number of completed epochs.
func (t *Trainer) Epoch() int { return t.epoch }

// Steps returns the number of optimizer steps taken.
func (t *Trainer) Steps() int { return t.step }

// StepResult reports one training step.
type StepResult struct {
	Samples  int
	Loss     float64
	Correct  int     // NoAccuracy if the task has none
	GradNorm float64 // global gradient norm before clipping
	Skipped  bool    // the loss or gradient was not finite and SkipNonFinite is on
}

// NonFiniteLossError reports a NaN or infinite loss or gradient.
type NonFiniteLossError struct {
	Step           int     // the optimizer step that failed (1-based)
	What           string  // "loss" or "gradient norm"
	Value          float64 // the offending value
	LastCheckpoint string  // the last checkpoint written, "" if none
}

func (e *NonFiniteLossError) Error() string {
	s := fmt.Sprintf("train: step %d: %s is %v", e.Step, e.What, e.Value)
	if e.LastCheckpoint != "" {
		s += "; the last good checkpoint is " + e.LastCheckpoint
	} else {
		s += "; no checkpoint was written yet"
	}
	return s + " (lower the learning rate, clip gradients, or set SkipNonFinite to skip such batches)"
}

// Step runs one training step on b: forward, loss, backward, gradient
// clipping, optimizer step and EMA update, then recycles the step's
// buffers. The model must be in training mode (Fit sees to it).
func (t *Trainer) Step(b *data.Batch) (StepResult, error) {
	r := StepResult{Samples: b.Len()}
	loss, correct, err := t.task.Loss(b)
	if err != nil {
		return r, err
	}
	defer loss.Release()
	r.Loss, r.Correct = float64(loss.Value.Item()), correct
	if !finite(r.Loss) {
		return t.nonFinite(r, "loss", r.Loss)
	}
	t.opt.ZeroGrad()
	loss.Backward()
	params := t.opt.Params()
	if t.cfg.ClipNorm > 0 {
		r.GradNorm = optim.ClipGradNorm(params, t.cfg.ClipNorm)
	} else {
		r.GradNorm = optim.GradNorm(params)
	}
	if !finite(r.GradNorm) {
		return t.nonFinite(r, "gradient norm", r.GradNorm)
	}
	t.opt.Step()
	if t.ema != nil {
		t.ema.Update()
	}
	t.step++
	return r, nil
}

func (t *Trainer) nonFinite(r StepResult, what string, v float64) (StepResult, error) {
	if t.cfg.SkipNonFinite {
		t.skipped++
		r.Skipped = true
		return r, nil
	}
	last := ""
	if p := t.path("last"); p != "" {
		if _, err := os.Stat(p); err == nil {
			last = p
		}
	}
	return r, &NonFiniteLossError{Step: t.step + 1, What: what, Value: v, LastCheckpoint: last}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (t *Trainer) path(name string) string {
	if t.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(t.cfg.Dir, name+".safetensors")
}

func (t *Trainer) metricName() string {
	if t.cfg.Metric == nil {
		return t.task.DefaultMetric()
	}
	return t.cfg.Metric.String()
}

// Report is what Fit returns.
type Report struct {
	History   []EpochMetrics
	Metric    string  // the score checkpoints were selected by
	Best      float64 // its best value (for "loss": the lowest loss)
	BestEpoch int
	BestPath  string      // the best checkpoint, "" without Dir
	Last      *Evaluation // the last validation
	Stopped   string      // why training ended early ("" if it ran all epochs)
	Skipped   int         // batches skipped as non-finite
	Elapsed   time.Duration
}

// Fit trains until Config.Epochs epochs are done (counting epochs done
// before a Resume), validating on val after every epoch (val may be nil).
// If ctx is cancelled it writes an "interrupted" checkpoint that Resume
// continues from, and returns ctx's error.
func (t *Trainer) Fit(ctx context.Context, trainData, val *data.Loader) (*Report, error) {
	start := time.Now()
	model := t.task.Module()
	name := t.metricName()
	rep := &Report{Metric: name}
	var logf *MetricsLog
	if t.cfg.Dir != "" {
		if err := os.MkdirAll(t.cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		var err error
		if logf, err = OpenMetricsLog(filepath.Join(t.cfg.Dir, "metrics.jsonl")); err != nil {
			return nil, err
		}
		defer logf.Close()
	}
	perEpoch := trainData.Batches()
	stopped := ""
	for t.epoch < t.cfg.Epochs && stopped == "" {
		epoch := t.epoch + 1
		if t.cfg.Schedule != nil && !t.cfg.StepSchedule {
			optim.Apply(t.opt, t.cfg.Schedule, float64(t.epoch))
		}
		if t.cfg.OnEpoch != nil {
			t.cfg.OnEpoch(epoch)
		}
		layers.SetTraining(model, true)
		stage := t.cfg.Progress.Start(fmt.Sprintf("epoch %d/%d", epoch, t.cfg.Epochs), trainData.Len())
		for b, err := range trainData.EpochFrom(ctx, epoch, t.batch) {
			if err != nil {
				stage.Done()
				if ctx.Err() != nil {
					return rep, t.interrupted(ctx.Err())
				}
				return rep, err
			}
			if t.cfg.Schedule != nil && t.cfg.StepSchedule {
				optim.Apply(t.opt, t.cfg.Schedule, optim.Epochs(t.step, perEpoch))
			}
			r, err := t.Step(b)
			if err != nil {
				stage.Done()
				return rep, err
			}
			t.batch++
			if !r.Skipped {
				stage.Add(r.Samples, r.Loss, r.Correct)
			}
		}
		if err := ctx.Err(); err != nil {
			stage.Done()
			return rep, t.interrupted(err)
		}
		sum := stage.Done()
		t.epoch, t.batch = epoch, 0

		row := EpochMetrics{Epoch: epoch, TrainLoss: sum.Loss, TrainAcc: sum.Accuracy, ValLoss: math.NaN(), ValAcc: math.NaN()}
		improved := false
		if val != nil {
			ev, err := t.Evaluate(ctx, val)
			if err != nil {
				if ctx.Err() != nil {
					return rep, t.interrupted(ctx.Err())
				}
				return rep, err
			}
			rep.Last = ev
			row.ValLoss = ev.Loss
			if acc, ok := ev.Scores[Accuracy.String()]; ok {
				row.ValAcc = acc
			}
			score, ok := ev.Score(name)
			if !ok {
				return rep, fmt.Errorf("train: the task reports no score %q (it has %v)", name, scoreNames(ev))
			}
			if score > t.best {
				t.best, t.bestEpoch, improved = score, epoch, true
			}
		}
		t.history = append(t.history, row)
		if err := t.logEpoch(logf, row, rep.Last); err != nil {
			return rep, err
		}
		if err := t.save("last"); err != nil {
			return rep, err
		}
		if improved {
			if err := t.saveBest(); err != nil {
				return rep, err
			}
		}
		if t.cfg.Plots && t.cfg.Dir != "" {
			if err := t.plot(rep.Last); err != nil {
				return rep, err
			}
		}
		if t.cfg.Patience > 0 && val != nil && epoch-t.bestEpoch >= t.cfg.Patience {
			stopped = fmt.Sprintf("early stop: no better %s for %d epochs", name, t.cfg.Patience)
			t.cfg.Progress.Logf("%s (best %.4f at epoch %d)", stopped, t.best, t.bestEpoch)
		}
	}
	rep.History = append([]EpochMetrics(nil), t.history...)
	rep.Best, rep.BestEpoch, rep.Stopped, rep.Skipped = t.best, t.bestEpoch, stopped, t.skipped
	if name == "loss" {
		rep.Best = -t.best
	}
	if t.bestEpoch > 0 {
		rep.BestPath = t.path("best")
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func scoreNames(e *Evaluation) []string {
	var out []string
	for k := range e.Scores {
		out = append(out, k)
	}
	return append(out, "loss")
}

// Evaluate runs the task's evaluation on l in evaluation mode (with the
// EMA weights if Config.EvalEMA), then restores training mode.
func (t *Trainer) Evaluate(ctx context.Context, l *data.Loader) (*Evaluation, error) {
	model := t.task.Module()
	layers.SetTraining(model, false)
	defer layers.SetTraining(model, true)
	if t.cfg.EvalEMA {
		t.ema.Swap()
		defer t.ema.Swap()
	}
	stage := t.cfg.Progress.Start("validate", l.Len())
	defer stage.Done()
	return t.task.Evaluate(ctx, l, stage)
}

func (t *Trainer) logEpoch(l *MetricsLog, row EpochMetrics, ev *Evaluation) error {
	if l == nil {
		return nil
	}
	v := map[string]float64{"loss": row.TrainLoss, "acc": row.TrainAcc, "lr": t.opt.LR()}
	if ev != nil {
		v["val_loss"] = ev.Loss
		for k, s := range ev.Scores {
			v["val_"+k] = s
		}
	}
	return l.Write(Record{Kind: "epoch", Epoch: row.Epoch, Step: t.step, Values: v})
}

func (t *Trainer) plot(ev *Evaluation) error {
	if err := PlotHistory(filepath.Join(t.cfg.Dir, "history.png"), t.history, PlotOptions{Title: "training"}); err != nil {
		return err
	}
	if ev != nil && ev.Confusion != nil {
		if err := PlotConfusion(filepath.Join(t.cfg.Dir, "confusion.png"), ev.Confusion, PlotOptions{Normalize: true, Title: "validation"}); err != nil {
			return err
		}
		return PlotPerClass(filepath.Join(t.cfg.Dir, "per_class.png"), ev.Confusion, PlotOptions{Title: "validation"})
	}
	return nil
}

// state is what a checkpoint holds.
func (t *Trainer) state() State {
	return State{Model: t.task.Module(), Optimizer: t.opt, EMA: t.ema, RNGs: t.cfg.RNGs}
}

func (t *Trainer) meta() (Meta, error) {
	m := Meta{Epoch: t.epoch, Step: t.step, BestMetric: t.best, Metric: t.metricName(), Extra: map[string]string{
		"batch":      strconv.Itoa(t.batch),
		"best_epoch": strconv.Itoa(t.bestEpoch),
		"skipped":    strconv.Itoa(t.skipped),
	}}
	h, err := json.Marshal(historyJSON(t.history))
	if err != nil {
		return m, err
	}
	m.Extra["history"] = string(h)
	if t.cfg.Run != nil {
		if m.Config, err = json.Marshal(t.cfg.Run); err != nil {
			return m, fmt.Errorf("train: run description: %w", err)
		}
	}
	return m, nil
}

// Save writes a checkpoint of the whole training state to path.
func (t *Trainer) Save(path string) error {
	m, err := t.meta()
	if err != nil {
		return err
	}
	return SaveCheckpoint(path, t.state(), m)
}

func (t *Trainer) save(name string) error {
	if p := t.path(name); p != "" {
		return t.Save(p)
	}
	return nil
}

// saveBest writes best.safetensors: the training state, with the EMA
// weights in the model's place when they are the ones validated.
func (t *Trainer) saveBest() error {
	if t.cfg.EvalEMA {
		t.ema.Swap()
		defer t.ema.Swap()
	}
	return t.save("best")
}

func (t *Trainer) interrupted(cause error) error {
	if p := t.path("interrupted"); p != "" {
		if err := t.Save(p); err != nil {
			return fmt.Errorf("train: interrupted (%v), and saving failed: %w", cause, err)
		}
		return fmt.Errorf("train: interrupted after %d epochs and %d batches; resume from %s: %w", t.epoch, t.batch, p, cause)
	}
	return fmt.Errorf("train: interrupted after %d epochs and %d batches: %w", t.epoch, t.batch, cause)
}

// Resume restores the training state from a checkpoint written by Fit
// (last, best or interrupted) or Save: model, optimizer, EMA, random
// sources, counters and history. The next Fit continues exactly where that
// run stopped, even in the middle of an epoch.
func (t *Trainer) Resume(path string) error {
	m, err := LoadCheckpoint(path, t.state())
	if err != nil {
		return err
	}
	t.epoch, t.step, t.best = m.Epoch, m.Step, m.BestMetric
	atoi := func(k string) (int, error) {
		if m.Extra[k] == "" {
			return 0, nil
		}
		v, err := strconv.Atoi(m.Extra[k])
		if err != nil {
			return 0, fmt.Errorf("train.Resume: %s: bad %s %q", path, k, m.Extra[k])
		}
		return v, nil
	}
	if t.batch, err = atoi("batch"); err != nil {
		return err
	}
	if t.bestEpoch, err = atoi("best_epoch"); err != nil {
		return err
	}
	if t.skipped, err = atoi("skipped"); err != nil {
		return err
	}
	t.history = nil
	if h := m.Extra["history"]; h != "" {
		var rows []historyRow
		if err := json.Unmarshal([]byte(h), &rows); err != nil {
			return fmt.Errorf("train.Resume: %s: history: %w", path, err)
		}
		for _, r := range rows {
			t.history = append(t.history, r.metrics())
		}
	}
	return nil
}

// historyRow is EpochMetrics with NaN stored as null.
type historyRow struct {
	Epoch                                int
	TrainLoss, TrainAcc, ValLoss, ValAcc *float64
}

func historyJSON(h []EpochMetrics) []historyRow {
	p := func(x float64) *float64 {
		if !finite(x) {
			return nil
		}
		return &x
	}
	out := make([]historyRow, len(h))
	for i, r := range h {
		out[i] = historyRow{r.Epoch, p(r.TrainLoss), p(r.TrainAcc), p(r.ValLoss), p(r.ValAcc)}
	}
	return out
}

func (r historyRow) metrics() EpochMetrics {
	v := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	return EpochMetrics{r.Epoch, v(r.TrainLoss), v(r.TrainAcc), v(r.ValLoss), v(r.ValAcc)}
}
