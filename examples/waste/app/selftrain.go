package app

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("pseudolabel", "label an unlabelled pool with a checkpoint (CSV, and accuracy when the truth is known)", cmdPseudolabel)
	register("selftrain", "improve a classifier with pseudo-labels from an unlabelled pool", cmdSelftrain)
}

// selfFlags are the self-training flags.
type selfFlags struct {
	pool, truth, teacher string
	threshold, temp      float64
	soft, balance, tta   bool
	online, fresh, ema   bool
	rounds, epochs       int
	mu                   float64
	alphaT1, alphaT2     float64
	alphaFinal           float64
	randAugment          int
	control              bool
}

func addSelfFlags(fs *flag.FlagSet) *selfFlags {
	s := &selfFlags{}
	fs.StringVar(&s.pool, "pool", "", "folder of unlabelled images (default: <data>/pseudolabel, or <data>/pool for the synthetic set)")
	fs.StringVar(&s.truth, "pool-truth", "", "CSV file,true_class of the pool's hidden labels, to measure pseudo-label accuracy (default: <data>/pool_truth.csv if present)")
	fs.StringVar(&s.teacher, "teacher", "", "checkpoint of the supervised baseline to start from (default: train one first)")
	fs.Float64Var(&s.threshold, "threshold", 0.7, "confidence a pseudo-label needs (FixMatch 0.95, Noisy Student 0.3)")
	fs.BoolVar(&s.soft, "soft", false, "train on the teacher's probabilities instead of its argmax")
	fs.Float64Var(&s.temp, "temperature", 1, "softmax temperature of the teacher")
	fs.BoolVar(&s.balance, "balance", true, "balance the pseudo-labelled classes (most confident first, short classes repeated)")
	fs.BoolVar(&s.tta, "tta", false, "average the teacher's prediction with that of the mirrored image")
	fs.BoolVar(&s.online, "online", false, "FixMatch-style online pseudo-labelling instead of teacher→student rounds")
	fs.BoolVar(&s.fresh, "fresh-student", false, "start every round's student from scratch instead of the teacher's weights")
	fs.BoolVar(&s.ema, "ema", false, "label with an exponential moving average of the weights (EMA teacher)")
	fs.IntVar(&s.rounds, "rounds", 2, "teacher→student rounds")
	fs.IntVar(&s.epochs, "student-epochs", 0, "epochs per round (default: the recipe's epochs; half of them in the demo)")
	fs.Float64Var(&s.mu, "mu", 1, "pool samples per labelled sample in a batch")
	fs.Float64Var(&s.alphaT1, "alpha-t1", 0, "Lee's α ramp: pseudo-label weight 0 until this epoch of a round…")
	fs.Float64Var(&s.alphaT2, "alpha-t2", 0, "…rising to -alpha-final at this epoch (both 0: constant weight)")
	fs.Float64Var(&s.alphaFinal, "alpha-final", 1, "final pseudo-label weight")
	fs.IntVar(&s.randAugment, "randaugment", 0, "add RandAugment(2, M) with this magnitude to the student's pool view (0: off)")
	fs.BoolVar(&s.control, "control", true, "also continue the baseline without pseudo-labels for as many epochs, so the gain of self-training is not confused with that of training longer")
	return s
}

func (s *selfFlags) config(r Recipe) (train.SelfTrainConfig, error) {
	c := train.SelfTrainConfig{
		Rounds: s.rounds, Epochs: s.epochs, Online: s.online, Threshold: s.threshold, Soft: s.soft,
		Temperature: s.temp, FlipTTA: s.tta, Balance: s.balance, Mu: s.mu, FreshStudent: s.fresh,
	}
	if c.Epochs == 0 {
		c.Epochs = r.Epochs
	}
	if s.ema {
		c.Teacher = train.EMATeacher
	}
	if s.alphaT1 != 0 || s.alphaT2 != 0 {
		c.Alpha = train.Ramp{T1: s.alphaT1, T2: s.alphaT2, Final: s.alphaFinal}
	} else if s.alphaFinal != 1 {
		c.Alpha = train.Ramp{Final: s.alphaFinal}
	}
	if s.rounds < 1 {
		return c, fmt.Errorf("-rounds %d must be at least 1", s.rounds)
	}
	if s.randAugment < 0 || s.randAugment > 30 {
		return c, fmt.Errorf("-randaugment %d must lie in 0..30", s.randAugment)
	}
	return c, c.Validate()
}

// pool opens the unlabelled pool's clean and noisy views and its truth.
func (s *selfFlags) open(dataDir string, r Recipe, classes []string) (train.Pool, *data.ImageFolder, error) {
	dir := s.pool
	if dir == "" {
		dir = filepath.Join(dataDir, "pseudolabel")
		if _, err := os.Stat(dir); err != nil {
			dir = filepath.Join(dataDir, "pool")
		}
	}
	f, err := data.NewUnlabeledFolder(dir, data.FolderOptions{Cache: true, CacheMaxSide: cacheSide(r)})
	if err != nil {
		return train.Pool{}, nil, fmt.Errorf("pool: %w", err)
	}
	noisy := r.trainPipeline()
	if s.randAugment > 0 {
		noisy.Transforms = append(noisy.Transforms, augment.RandAugment(2, s.randAugment))
	}
	p := train.Pool{Clean: f.WithPipeline(r.evalPipeline()), Noisy: f.WithPipeline(noisy)}
	truth := s.truth
	if truth == "" {
		if _, err := os.Stat(filepath.Join(dataDir, "pool_truth.csv")); err == nil {
			truth = filepath.Join(dataDir, "pool_truth.csv")
		}
	}
	if truth != "" {
		if p.Truth, err = readTruth(truth, filepath.Dir(truth), f.Files, classes); err != nil {
			return p, nil, err
		}
	}
	return p, f, nil
}

// readTruth reads a CSV of file,true_class (file relative to base) into
// labels aligned with files.
func readTruth(path, base string, files, classes []string) ([]int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	byName := map[string]int{}
	for i, c := range classes {
		byName[c] = i
	}
	m := map[string]int{}
	r := csv.NewReader(fh)
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if line == 1 && rec[0] == "file" {
			continue
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("%s:%d: want file,true_class", path, line)
		}
		c, ok := byName[rec[1]]
		if !ok {
			return nil, fmt.Errorf("%s:%d: unknown class %q", path, line, rec[1])
		}
		m[filepath.Clean(filepath.Join(base, rec[0]))] = c
	}
	out := make([]int, len(files))
	for i, f := range files {
		c, ok := m[filepath.Clean(f)]
		if !ok {
			return nil, fmt.Errorf("%s has no true class for %s", path, f)
		}
		out[i] = c
	}
	return out, nil
}

func cmdPseudolabel(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "pseudolabel", "pseudolabel [flags]")
	t := addTrainFlags(fs, "runs/pseudolabel")
	s := addSelfFlags(fs)
	ckpt := fs.String("checkpoint", "runs/train/best.safetensors", "teacher checkpoint")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	r, err := t.resolve()
	if err != nil {
		return err
	}
	if t.data.Dir, err = t.dataDir(ctx, env); err != nil {
		return err
	}
	m, spec, err := loadModel(*ckpt, nil)
	if err != nil {
		return err
	}
	r.Model = spec
	cfg, err := s.config(r)
	if err != nil {
		return err
	}
	pool, files, err := s.open(t.data.Dir, r, spec.Classes)
	if err != nil {
		return err
	}
	task := &train.Classifier{Model: m, Classes: spec.Classes}
	opt, _ := optim.NewSGD(layers.Params(m), optim.SGDConfig{LR: 1e-3}) // unused: labelling only
	tr, err := train.New(task, opt, train.Config{Epochs: 1, Progress: progress(env)})
	if err != nil {
		return err
	}
	st, err := train.NewSelfTrainer(tr, cfg)
	if err != nil {
		return err
	}
	props, err := st.Label(ctx, pool.Clean, r.Batch, t.workers)
	if err != nil {
		return err
	}
	accepted, used := st.Select(props, t.seed)
	if err := os.MkdirAll(t.out, 0o755); err != nil {
		return err
	}
	csvPath := filepath.Join(t.out, "pseudolabels.csv")
	if err := train.WritePseudoCSV(csvPath, accepted, spec.Classes, files.Path); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "accepted %d of %d (%.1f%%) at threshold %.2f; %d after balancing; written to %s\n",
		len(accepted), len(props), 100*float64(len(accepted))/float64(len(props)), cfg.Threshold, len(used), csvPath)
	printPseudoStats(env.Stdout, accepted, pool.Truth, spec.Classes)
	return nil
}

// printPseudoStats prints accepted counts and, with the truth, accuracy per
// class.
func printPseudoStats(w io.Writer, accepted []train.Proposal, truth []int, classes []string) {
	counts := make([]int, len(classes))
	for _, p := range accepted {
		counts[p.Class]++
	}
	acc, per := train.PseudoAccuracy(accepted, truth, len(classes))
	var rows [][]string
	for c, name := range classes {
		cell := "-"
		if !math.IsNaN(per[c]) {
			cell = fmt.Sprintf("%.3f", per[c])
		}
		rows = append(rows, []string{name, fmt.Sprint(counts[c]), cell})
	}
	fmt.Fprint(w, table([]string{"class", "accepted", "pseudo-label accuracy"}, rows))
	if !math.IsNaN(acc) {
		fmt.Fprintf(w, "pseudo-label accuracy overall: %.3f\n", acc)
	}
}

// selfResult is a baseline, its supervised continuation (the control) and
// the self-trained model, evaluated on test.
type selfResult struct {
	Baseline, Control, Self *train.Evaluation
	Rounds                  []train.RoundReport
}

func cmdSelftrain(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "selftrain", "selftrain [flags]")
	t := addTrainFlags(fs, "runs/selftrain")
	s := addSelfFlags(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	r, err := t.resolve()
	if err != nil {
		return err
	}
	if t.threads > 0 {
		defer nn.SetThreads(nn.SetThreads(t.threads))
	}
	if t.data.Dir, err = t.dataDir(ctx, env); err != nil {
		return err
	}
	res, err := selfTrain(ctx, env, r, t, s, t.out)
	if err != nil {
		return err
	}
	printComparison(env.Stdout, []*selfResult{res})
	scores := map[string]any{"baseline": res.Baseline.Scores, "selftrained": res.Self.Scores}
	if res.Control != nil {
		scores["control"] = res.Control.Scores
	}
	b, _ := json.MarshalIndent(scores, "", "  ")
	return os.WriteFile(filepath.Join(t.out, "comparison.json"), b, 0o644)
}

// selfTrain trains (or loads) the baseline, self-trains it on the pool and
// evaluates both on the test split.
func selfTrain(ctx context.Context, env *Env, r Recipe, t *trainFlags, s *selfFlags, out string) (*selfResult, error) {
	cfg, err := s.config(r)
	if err != nil {
		return nil, err
	}
	sp, err := openSplits(ctx, env, t.data, r)
	if err != nil {
		return nil, err
	}
	pool, _, err := s.open(t.data.Dir, r, sp.Classes)
	if err != nil {
		return nil, err
	}
	res := &selfResult{}
	var base *trained
	if s.teacher != "" {
		want := r.Model
		want.Classes = sp.Classes
		m, spec, err := loadModel(s.teacher, &want)
		if err != nil {
			return nil, err
		}
		task := &train.Classifier{Model: m, Classes: sp.Classes}
		base = &trained{Task: task, Model: m, Spec: spec}
		if base.Test, err = evaluate(ctx, env, task, sp.Test, r.Batch, t.workers); err != nil {
			return nil, err
		}
	} else {
		fmt.Fprintln(env.Stdout, "— supervised baseline —")
		if base, err = trainClassifier(ctx, env, r, sp, t, filepath.Join(out, "baseline")); err != nil {
			return nil, err
		}
	}
	res.Baseline = base.Test
	fmt.Fprintf(env.Stdout, "baseline test: accuracy %.4f, balanced accuracy %.4f\n", base.Test.Scores["accuracy"], base.Test.Scores["balanced_accuracy"])

	if s.control {
		fmt.Fprintln(env.Stdout, "— control: the baseline trained on as many more epochs, without pseudo-labels —")
		if res.Control, err = control(ctx, env, r, t, sp, base, cfg.Rounds*cfg.Epochs, filepath.Join(out, "control")); err != nil {
			return nil, err
		}
	}

	fmt.Fprintln(env.Stdout, "— self-training —")
	layers.SetTraining(base.Model, true)
	opt, err := optim.NewAdam(layers.Params(base.Model), optim.AdamConfig{LR: r.LR})
	if err != nil {
		return nil, err
	}
	tc := train.Config{
		Epochs: 1, Schedule: optim.Multiplicative{Gamma: r.LRDecay}, Dir: filepath.Join(out, "student"), Plots: true,
		Metric: train.BalancedAccuracy, Progress: progress(env), Run: runInfo{Model: base.Spec, Recipe: r.Name + "+selftrain", Data: t.data.Dir},
	}
	if s.ema {
		tc.EMA = &optim.EMAConfig{Decay: 0.999, Warmup: true}
	}
	tr, err := train.New(base.Task, opt, tc)
	if err != nil {
		return nil, err
	}
	if cfg.FreshStudent {
		cfg.NewStudent = func() (train.PseudoLabeler, optim.Optimizer, error) {
			m, _, err := base.Spec.build(t.seed + 1000)
			if err != nil {
				return nil, nil, err
			}
			o, err := optim.NewAdam(layers.Params(m), optim.AdamConfig{LR: r.LR})
			return &train.Classifier{Model: m, Classes: sp.Classes}, o, err
		}
	}
	st, err := train.NewSelfTrainer(tr, cfg)
	if err != nil {
		return nil, err
	}
	valL, err := data.NewLoader(sp.Val, data.LoaderConfig{Batch: r.Batch, Workers: t.workers, Sampler: data.Sequential{}})
	if err != nil {
		return nil, err
	}
	lc := data.LoaderConfig{Batch: r.Batch, Workers: t.workers, Seed: t.seed}
	rounds, err := st.Fit(ctx, sp.Train, lc, pool, valL)
	res.Rounds = rounds
	if err != nil {
		return res, err
	}
	for _, rr := range rounds {
		fmt.Fprintf(env.Stdout, "round %d: accepted %.1f%% of the pool, pseudo-label accuracy %.3f, val balanced accuracy %.4f → %.4f\n",
			rr.Round, 100*rr.AcceptedFraction, rr.Accuracy, score(rr.Before), score(rr.After))
	}
	student := st.Trainer().Task().(*train.Classifier)
	// The best student by validation score (never by test).
	if best := filepath.Join(out, "student", "best.safetensors"); fileExists(best) {
		if _, err := train.LoadCheckpoint(best, train.State{Model: student.Model}); err != nil {
			return res, err
		}
	}
	if res.Self, err = evaluate(ctx, env, student, sp.Test, r.Batch, t.workers); err != nil {
		return res, err
	}
	if err := writeEvaluation(filepath.Join(out, "baseline_test"), res.Baseline); err != nil {
		return res, err
	}
	return res, writeEvaluation(filepath.Join(out, "selftrained_test"), res.Self)
}

// control continues a copy of the baseline for epochs more epochs on the
// labelled data alone, with the optimizer and schedule the student gets,
// and evaluates it on test.
func control(ctx context.Context, env *Env, r Recipe, t *trainFlags, sp *splits, base *trained, epochs int, dir string) (*train.Evaluation, error) {
	m, _, err := base.Spec.build(t.seed)
	if err != nil {
		return nil, err
	}
	if err := layers.LoadStateDict(m, layers.StateDict(base.Model), true); err != nil {
		return nil, err
	}
	task := &train.Classifier{Model: m, Classes: sp.Classes}
	opt, err := optim.NewAdam(layers.Params(m), optim.AdamConfig{LR: r.LR})
	if err != nil {
		return nil, err
	}
	tr, err := train.New(task, opt, train.Config{Epochs: epochs, Schedule: optim.Multiplicative{Gamma: r.LRDecay}, Dir: dir,
		Metric: train.BalancedAccuracy, Progress: progress(env), Run: runInfo{Model: base.Spec, Recipe: r.Name + "+control", Data: t.data.Dir}})
	if err != nil {
		return nil, err
	}
	trainL, err := data.NewLoader(sp.Train, data.LoaderConfig{Batch: r.Batch, Workers: t.workers, Seed: t.seed})
	if err != nil {
		return nil, err
	}
	valL, err := data.NewLoader(sp.Val, data.LoaderConfig{Batch: r.Batch, Workers: t.workers, Sampler: data.Sequential{}})
	if err != nil {
		return nil, err
	}
	rep, err := tr.Fit(ctx, trainL, valL)
	if err != nil {
		return nil, err
	}
	if rep.BestPath != "" {
		if _, err := train.LoadCheckpoint(rep.BestPath, train.State{Model: m}); err != nil {
			return nil, err
		}
	}
	return evaluate(ctx, env, task, sp.Test, r.Batch, t.workers)
}

func score(e *train.Evaluation) float64 {
	if e == nil {
		return math.NaN()
	}
	return e.Scores["balanced_accuracy"]
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// printComparison prints baseline, control and self-trained test scores,
// averaged over runs (seeds) with standard deviations; the gain is
// self-trained minus control when there is a control (the part that the
// pseudo-labels bring), else minus baseline.
func printComparison(w io.Writer, runs []*selfResult) {
	hasControl := runs[0].Control != nil
	cell := scoreCell
	row := func(name string, get func(*train.Evaluation) float64) []string {
		var b, c, s, d []float64
		for _, r := range runs {
			ref := r.Baseline
			if hasControl {
				ref = r.Control
				c = append(c, get(r.Control))
			}
			b, s, d = append(b, get(r.Baseline)), append(s, get(r.Self)), append(d, get(r.Self)-get(ref))
		}
		out := []string{name, cell(b)}
		if hasControl {
			out = append(out, cell(c))
		}
		return append(out, cell(s), cell(d))
	}
	var rows [][]string
	for _, name := range []string{"accuracy", "balanced_accuracy", "macro_f1"} {
		rows = append(rows, row(name, func(e *train.Evaluation) float64 { return e.Scores[name] }))
	}
	for c, name := range runs[0].Baseline.Confusion.Classes() {
		rows = append(rows, row("recall "+name, func(e *train.Evaluation) float64 { return recalls(e)[c] }))
	}
	head := []string{"metric", "baseline"}
	gain := "gain over baseline"
	if hasControl {
		head = append(head, "baseline, trained longer")
		gain = "gain over trained longer"
	}
	head = append(head, "self-trained", gain)
	fmt.Fprintf(w, "\ntest set, %d run(s):\n", len(runs))
	fmt.Fprint(w, table(head, rows))
}
