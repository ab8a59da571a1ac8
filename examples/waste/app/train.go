package app

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("train", "train the classifier on ImageFolder data (synthetic litter by default)", cmdTrain)
	register("eval", "evaluate a checkpoint on a data split", cmdEval)
}

// trainFlags are the flags shared by the training commands.
type trainFlags struct {
	fs                  *flag.FlagSet
	recipe, model, out  string
	width, depth        float64
	size, epochs, batch int
	lr, lrDecay         float64
	dropRate, dropPath  float64
	augment             string
	weighted, tf        bool
	pretrained, resume  string
	threads, workers    int
	seed                uint64
	data                dataOpts
	synth               string
}

func addTrainFlags(fs *flag.FlagSet, out string) *trainFlags {
	t := &trainFlags{fs: fs}
	fs.StringVar(&t.recipe, "recipe", "small", "training recipe: small (CPU-sized EfficientNet at 64 px) or detect-waste (EfficientNet-B2 at 260 px, Adam 1e-4 ×0.99/epoch, batch 16, 20 epochs)")
	fs.StringVar(&t.model, "model", "", "EfficientNet variant b0…b8 (overrides the recipe's); use -width/-depth for a custom size")
	fs.Float64Var(&t.width, "width", 0, "custom width multiplier (with -depth, instead of -model)")
	fs.Float64Var(&t.depth, "depth", 0, "custom depth multiplier")
	fs.BoolVar(&t.tf, "tf", false, "TensorFlow-ported flavour (TF-same padding, BN eps 1e-3), for tf_efficientnet weights")
	fs.IntVar(&t.size, "size", 0, "image size in pixels (recipe's if 0)")
	fs.IntVar(&t.epochs, "epochs", 0, "training epochs (recipe's if 0)")
	fs.IntVar(&t.batch, "batch", 0, "batch size (recipe's if 0)")
	fs.Float64Var(&t.lr, "lr", 0, "Adam learning rate (recipe's if 0)")
	fs.Float64Var(&t.lrDecay, "lr-decay", 0, "learning-rate factor per epoch (recipe's if 0)")
	fs.Float64Var(&t.dropRate, "dropout", -1, "dropout before the classifier head (recipe's if negative)")
	fs.Float64Var(&t.dropPath, "drop-path", -1, "stochastic-depth rate of the last block (recipe's if negative)")
	fs.StringVar(&t.augment, "augment", "", "training augmentation: detect-waste (albumentations, as the reference), light (the same steps scaled for small images) or none (recipe's if empty)")
	fs.BoolVar(&t.weighted, "weighted-sampler", false, "draw every class equally often (detect-waste's --weighted_sampler)")
	fs.StringVar(&t.pretrained, "pretrained", "", "timm/torchvision weights (.pth or .safetensors) to start from, with a new head for these classes")
	fs.StringVar(&t.resume, "resume", "", "checkpoint to resume training from (last.safetensors or interrupted.safetensors)")
	fs.StringVar(&t.out, "out", out, "output folder: checkpoints, metrics.jsonl, plots, report.json")
	fs.IntVar(&t.threads, "threads", 0, "compute threads (0: all cores)")
	fs.IntVar(&t.workers, "workers", 0, "data-loading goroutines (0: all cores)")
	fs.Uint64Var(&t.seed, "seed", 1, "seed of initialisation, splits, shuffling and augmentation")
	fs.StringVar(&t.data.Dir, "data", "", "ImageFolder root with train/ and test/ (and optionally val/) class folders; empty: synthetic litter (see -synth)")
	fs.StringVar(&t.synth, "synth", "runs/synth", "where the synthetic data set is generated and cached when -data is empty")
	fs.Float64Var(&t.data.ValFraction, "val-fraction", 0.1, "share of train held out for validation when there is no val/ folder")
	fs.StringVar(&t.data.BadImages, "bad-images", "fail", "unreadable images: fail, or skip them and report the count")
	fs.BoolVar(&t.data.Cache, "cache", true, "keep decoded images in memory")
	return t
}

// resolve builds the recipe from the named one and the flags given.
func (t *trainFlags) resolve() (Recipe, error) {
	r, err := recipe(t.recipe)
	if err != nil {
		return r, err
	}
	given := set(t.fs)
	if t.model != "" {
		r.Model.Variant, r.Model.Width, r.Model.Depth = t.model, 0, 0
	}
	if given["width"] || given["depth"] {
		if t.width <= 0 || t.depth <= 0 {
			return r, fmt.Errorf("-width and -depth must both be positive")
		}
		r.Model.Variant, r.Model.Width, r.Model.Depth = "", t.width, t.depth
	}
	if given["tf"] {
		r.Model.TF = t.tf
	}
	for _, f := range []struct {
		name string
		v    int
		dst  *int
	}{{"size", t.size, &r.Model.Size}, {"epochs", t.epochs, &r.Epochs}, {"batch", t.batch, &r.Batch}} {
		if given[f.name] {
			if f.v <= 0 {
				return r, fmt.Errorf("-%s %d must be positive", f.name, f.v)
			}
			*f.dst = f.v
		}
	}
	if given["lr"] {
		if !(t.lr > 0) {
			return r, fmt.Errorf("-lr %v must be positive", t.lr)
		}
		r.LR = t.lr
	}
	if given["lr-decay"] {
		if !(t.lrDecay > 0 && t.lrDecay <= 1) {
			return r, fmt.Errorf("-lr-decay %v must lie in (0, 1]", t.lrDecay)
		}
		r.LRDecay = t.lrDecay
	}
	for _, f := range []struct {
		name string
		v    float64
		dst  *float64
	}{{"dropout", t.dropRate, &r.Model.DropRate}, {"drop-path", t.dropPath, &r.Model.DropPath}} {
		if given[f.name] {
			if !(f.v >= 0 && f.v < 1) {
				return r, fmt.Errorf("-%s %v must lie in [0, 1)", f.name, f.v)
			}
			*f.dst = f.v
		}
	}
	if given["augment"] {
		switch t.augment {
		case "detect-waste", "light", "none":
			r.Augment = t.augment
		default:
			return r, fmt.Errorf("-augment %q: want detect-waste, light or none", t.augment)
		}
	}
	r.WeightedSampler = r.WeightedSampler || t.weighted
	if t.threads < 0 || t.workers < 0 {
		return r, fmt.Errorf("-threads and -workers must not be negative")
	}
	t.data.Seed = t.seed
	return r, nil
}

// dataDir returns -data, generating the synthetic set if it is empty.
func (t *trainFlags) dataDir(ctx context.Context, env *Env) (string, error) {
	if t.data.Dir != "" {
		return t.data.Dir, nil
	}
	return t.synth, ensureSynthetic(ctx, env, t.synth, defaultSynth(t.seed))
}

// trained is the result of trainClassifier.
type trained struct {
	Trainer *train.Trainer
	Task    *train.Classifier
	Model   *efficientnet.Model
	Report  *train.Report
	Test    *train.Evaluation
	Best    string
	Spec    ModelSpec
}

// trainClassifier trains on s with recipe r into dir, then evaluates the
// best checkpoint on the test split.
func trainClassifier(ctx context.Context, env *Env, r Recipe, s *splits, t *trainFlags, dir string) (*trained, error) {
	spec := r.Model
	spec.Classes = s.Classes
	m, src, err := spec.build(t.seed)
	if err != nil {
		return nil, err
	}
	if t.pretrained != "" {
		if err := efficientnet.LoadPretrained(m, t.pretrained, efficientnet.LoadOptions{NewHead: true}); err != nil {
			return nil, err
		}
	}
	task := &train.Classifier{Model: m, Classes: s.Classes}
	opt, err := optim.NewAdam(layers.Params(m), optim.AdamConfig{LR: r.LR})
	if err != nil {
		return nil, err
	}
	cfg := train.Config{
		Epochs: r.Epochs, Schedule: optim.Multiplicative{Gamma: r.LRDecay}, Dir: dir, Plots: true,
		Metric: train.BalancedAccuracy, Progress: progress(env), RNGs: map[string]train.RNG{"model": src},
		Run: runInfo{Model: spec, Recipe: r.Name, Data: t.data.Dir},
	}
	tr, err := train.New(task, opt, cfg)
	if err != nil {
		return nil, err
	}
	if t.resume != "" {
		if err := tr.Resume(t.resume); err != nil {
			return nil, err
		}
	}
	lc := data.LoaderConfig{Batch: r.Batch, Workers: t.workers, Seed: t.seed}
	if r.WeightedSampler {
		if lc.Sampler, err = data.ClassBalanced(s.Train.Labels(), 0); err != nil {
			return nil, err
		}
	}
	trainL, err := data.NewLoader(s.Train, lc)
	if err != nil {
		return nil, err
	}
	valL, err := data.NewLoader(s.Val, data.LoaderConfig{Batch: r.Batch, Workers: t.workers, Sampler: data.Sequential{}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(env.Stdout, "training %v (%d parameters) on %d images: %s\n", spec, layers.CountParams(m), s.Train.Len(), classCounts(s.Train.Labels(), s.Classes))
	rep, err := tr.Fit(ctx, trainL, valL)
	if err != nil {
		return nil, err
	}
	out := &trained{Trainer: tr, Task: task, Model: m, Report: rep, Best: rep.BestPath, Spec: spec}
	if rep.BestPath != "" {
		if _, err := train.LoadCheckpoint(rep.BestPath, train.State{Model: m}); err != nil {
			return nil, err
		}
	}
	if out.Test, err = evaluate(ctx, env, task, s.Test, r.Batch, t.workers); err != nil {
		return nil, err
	}
	return out, nil
}

func evaluate(ctx context.Context, env *Env, task *train.Classifier, ds data.Dataset, batch, workers int) (*train.Evaluation, error) {
	l, err := data.NewLoader(ds, data.LoaderConfig{Batch: batch, Workers: workers, Sampler: data.Sequential{}})
	if err != nil {
		return nil, err
	}
	layers.SetTraining(task.Model, false)
	defer layers.SetTraining(task.Model, true)
	stage := progress(env).Start("test", ds.Len())
	defer stage.Done()
	return task.Evaluate(ctx, l, stage)
}

func progress(env *Env) *train.Progress {
	if env.Quiet {
		return nil
	}
	return train.NewProgress(train.ProgressConfig{Out: env.Stderr})
}

func cmdTrain(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "train", "train [flags]")
	t := addTrainFlags(fs, "runs/train")
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
	s, err := openSplits(ctx, env, t.data, r)
	if err != nil {
		return err
	}
	res, err := trainClassifier(ctx, env, r, s, t, t.out)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nbest %s %.4f at epoch %d: %s\n", res.Report.Metric, res.Report.Best, res.Report.BestEpoch, res.Best)
	printEvaluation(env.Stdout, "test", res.Test)
	return writeEvaluation(filepath.Join(t.out, "test"), res.Test)
}

func cmdEval(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "eval", "eval [flags]")
	ckpt := fs.String("checkpoint", "runs/train/best.safetensors", "checkpoint to evaluate")
	dir := fs.String("data", "", "ImageFolder root (empty: the synthetic set in -synth)")
	synth := fs.String("synth", "runs/synth", "synthetic data folder, when -data is empty")
	split := fs.String("split", "test", "sub-folder of -data to evaluate (test, val, train)")
	out := fs.String("out", "", "write the report, confusion matrix and per-class plots here")
	batch := fs.Int("batch", 32, "batch size")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *dir == "" {
		*dir = *synth
	}
	if _, err := os.Stat(*ckpt); err != nil {
		return fmt.Errorf("checkpoint: %w (train one with: waste train)", err)
	}
	m, spec, err := loadModel(*ckpt, nil)
	if err != nil {
		return err
	}
	f, err := data.NewImageFolder(filepath.Join(*dir, *split), data.FolderOptions{Classes: spec.Classes})
	if err != nil {
		return err
	}
	r := Recipe{Model: spec}
	task := &train.Classifier{Model: m, Classes: spec.Classes}
	ev, err := evaluate(ctx, env, task, f.WithPipeline(r.evalPipeline()), *batch, 0)
	if err != nil {
		return err
	}
	printEvaluation(env.Stdout, *split, ev)
	if *out != "" {
		return writeEvaluation(*out, ev)
	}
	return nil
}
