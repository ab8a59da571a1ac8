package app

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("detect-train", "train the litter detector on COCO data (synthetic scenes by default)", cmdDetectTrain)
}

// detTrainFlags are the flags shared by the detector training commands.
type detTrainFlags struct {
	fs                              *flag.FlagSet
	recipe, model, backbone, out    string
	width, depth, lr                float64
	size, epochs, batch             int
	fpnChannels, fpnCells, headReps int
	pretrained, backboneWeights     string
	resume                          string
	threads, workers                int
	seed                            uint64
	data                            *detDataFlags
}

func addDetTrainFlags(fs *flag.FlagSet, out string) *detTrainFlags {
	t := &detTrainFlags{fs: fs}
	fs.StringVar(&t.recipe, "recipe", "small", "training recipe: small (a CPU-sized EfficientDet at 256 px, Adam, 22 epochs) or detect-waste (tf_efficientdet_d2 at 768 px, SGD 1e-3 with cosine decay and 5 warm-up epochs, batch 4, EMA, 20 epochs)")
	fs.StringVar(&t.model, "model", "", "EfficientDet variant d0…d7x (overrides the recipe's; its image size unless -size)")
	fs.StringVar(&t.backbone, "backbone", "", "EfficientNet variant b0…b7 as the backbone of a free configuration")
	fs.Float64Var(&t.width, "width", 0, "backbone width multiplier of a free configuration (with -depth)")
	fs.Float64Var(&t.depth, "depth", 0, "backbone depth multiplier of a free configuration")
	fs.IntVar(&t.fpnChannels, "fpn-channels", 0, "BiFPN width (recipe's if 0)")
	fs.IntVar(&t.fpnCells, "fpn-cells", 0, "BiFPN cells (recipe's if 0)")
	fs.IntVar(&t.headReps, "head-repeats", 0, "separable convs per head before the prediction (recipe's if 0)")
	fs.IntVar(&t.size, "size", 0, "square input size in pixels, a multiple of 128 (recipe's if 0); images are letterboxed onto it")
	fs.IntVar(&t.epochs, "epochs", 0, "training epochs (recipe's if 0)")
	fs.IntVar(&t.batch, "batch", 0, "batch size (recipe's if 0)")
	fs.Float64Var(&t.lr, "lr", 0, "base learning rate (recipe's if 0)")
	fs.StringVar(&t.pretrained, "pretrained", "", "effdet weights (.pth or .safetensors, e.g. tf_efficientdet_d2's) to start from, with a new class head for these classes")
	fs.StringVar(&t.backboneWeights, "backbone-weights", "", "EfficientNet classifier weights (timm/torchvision .pth or .safetensors) to start the backbone from")
	fs.StringVar(&t.resume, "resume", "", "checkpoint to resume training from (last.safetensors or interrupted.safetensors)")
	fs.StringVar(&t.out, "out", out, "output folder: checkpoints, metrics.jsonl, plots, the final evaluation")
	fs.IntVar(&t.threads, "threads", 0, "compute threads (0: all cores)")
	fs.IntVar(&t.workers, "workers", 0, "data-loading goroutines (0: all cores)")
	fs.Uint64Var(&t.seed, "seed", 1, "seed of initialisation, held-out validation images, shuffling and augmentation")
	t.data = addDetDataFlags(fs)
	return t
}

// resolve builds the recipe from the named one and the flags given.
func (t *detTrainFlags) resolve() (DetRecipe, error) {
	r, err := detRecipe(t.recipe)
	if err != nil {
		return r, err
	}
	given := set(t.fs)
	m := &r.Model
	if t.model != "" {
		v, ok := efficientdet.LookupVariant(t.model)
		if !ok {
			return r, fmt.Errorf("-model %q: want an EfficientDet variant d0…d7x", t.model)
		}
		*m = DetSpec{Variant: v.Name, TF: m.TF, Size: v.Size, DropPath: m.DropPath}
	}
	if t.backbone != "" || given["width"] || given["depth"] {
		if t.backbone == "" && (t.width <= 0 || t.depth <= 0) {
			return r, fmt.Errorf("-width and -depth must both be positive")
		}
		if m.Variant != "" { // a free configuration with the variant's sizes
			v, _ := efficientdet.LookupVariant(m.Variant)
			m.Variant, m.FPNChannels, m.FPNCells, m.HeadRepeats = "", v.FPNChannels, v.FPNCells, v.HeadRepeats
		}
		m.Backbone, m.Width, m.Depth = t.backbone, t.width, t.depth
	}
	type intFlag struct {
		name string
		v    int
		dst  *int
	}
	for _, f := range []intFlag{{"size", t.size, &m.Size}, {"epochs", t.epochs, &r.Epochs}, {"batch", t.batch, &r.Batch}} {
		if given[f.name] {
			if f.v <= 0 {
				return r, fmt.Errorf("-%s %d must be positive", f.name, f.v)
			}
			*f.dst = f.v
		}
	}
	for _, f := range []intFlag{{"fpn-channels", t.fpnChannels, &m.FPNChannels}, {"fpn-cells", t.fpnCells, &m.FPNCells}, {"head-repeats", t.headReps, &m.HeadRepeats}} {
		if given[f.name] {
			if f.v <= 0 {
				return r, fmt.Errorf("-%s %d must be positive", f.name, f.v)
			}
			if m.Variant != "" {
				return r, fmt.Errorf("-%s changes a free configuration; with the variant %s add -backbone or -width/-depth", f.name, m.Variant)
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
	if t.threads < 0 || t.workers < 0 {
		return r, fmt.Errorf("-threads and -workers must not be negative")
	}
	m.Classes, m.CategoryIDs = []string{"?"}, []int{1} // checked for real once the data is read
	if err := m.Validate(); err != nil {
		return r, err
	}
	m.Classes, m.CategoryIDs = nil, nil
	return r, nil
}

// detTrained is the result of trainDetector.
type detTrained struct {
	Trainer *train.Trainer
	Det     *efficientdet.Detector
	Spec    DetSpec
	Report  *train.Report
	Best    string
	Test    *detEval // the best checkpoint on the test split (val without one)
}

// trainDetector trains on d with recipe r into dir, then evaluates the
// best checkpoint on the test split (or val) in COCO fashion.
func trainDetector(ctx context.Context, env *Env, r DetRecipe, d *detData, t *detTrainFlags, dir string) (*detTrained, error) {
	spec := r.Model
	spec.Classes, spec.CategoryIDs = d.classes()
	det, src, err := spec.build(t.seed)
	if err != nil {
		return nil, err
	}
	if t.pretrained != "" {
		if err := efficientdet.LoadPretrained(det.Model, t.pretrained, efficientdet.LoadOptions{NewHead: true}); err != nil {
			return nil, err
		}
	}
	if t.backboneWeights != "" {
		if err := efficientdet.LoadPretrained(det.Model, t.backboneWeights, efficientdet.LoadOptions{BackboneOnly: true}); err != nil {
			return nil, err
		}
	}
	tr, err := newDetTrainer(env, r, det, spec, src, nil, dir, t.data.dir)
	if err != nil {
		return nil, err
	}
	if t.resume != "" {
		if err := checkDetCheckpoint(t.resume, spec); err != nil {
			return nil, err
		}
		if err := tr.Resume(t.resume); err != nil {
			return nil, err
		}
	}
	trainL, valL, err := detLoaders(r, spec, d, t.workers, t.seed)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(env.Stdout, "training %v (%d parameters) on %d images with %d boxes, validating on %d\n",
		spec, layers.CountParams(det.Model), len(d.Train.COCO.Images), len(d.Train.COCO.Annotations), len(d.Val.COCO.Images))
	rep, err := tr.Fit(ctx, trainL, valL)
	if err != nil {
		return nil, err
	}
	out := &detTrained{Trainer: tr, Det: det, Spec: spec, Report: rep, Best: rep.BestPath}
	if rep.BestPath != "" {
		if _, err := train.LoadCheckpoint(rep.BestPath, train.State{Model: det.Model}); err != nil {
			return nil, err
		}
	}
	test := d.Test
	if test == nil {
		test = d.Val
	}
	layers.SetTraining(det.Model, false)
	defer layers.SetTraining(det.Model, true)
	if out.Test, err = evalCOCO(ctx, env, det, spec, test, r.Batch); err != nil {
		return nil, err
	}
	return out, nil
}

// newDetTrainer sets up the optimizer and trainer of a recipe for task
// (the detector, or a wrapper of it): the recipe's cosine schedule over its
// epochs, or sched.
func newDetTrainer(env *Env, r DetRecipe, task train.Task, spec DetSpec, src *rand.PCG, sched optim.Schedule, dir, dataDir string) (*train.Trainer, error) {
	var opt optim.Optimizer
	var err error
	params := layers.Params(task.Module())
	switch r.Optimizer {
	case "sgd":
		opt, err = optim.NewSGD(params, optim.SGDConfig{LR: r.LR, Momentum: 0.9, WeightDecay: 4e-5})
	default:
		opt, err = optim.NewAdam(params, optim.AdamConfig{LR: r.LR})
	}
	if err != nil {
		return nil, err
	}
	if sched == nil {
		epochs := float64(r.Epochs)
		sched = optim.Cosine{Total: epochs, Warmup: min(r.WarmupEpochs, epochs/4), WarmupStart: 0.1, Min: 0.02}
	}
	cfg := train.Config{
		Epochs: r.Epochs, StepSchedule: true, ClipNorm: r.ClipNorm, Schedule: sched,
		Dir: dir, Plots: dir != "", Progress: progress(env),
		Run: detRunInfo{Detector: spec, Recipe: r.Name, Data: dataDir},
	}
	if src != nil {
		cfg.RNGs = map[string]train.RNG{"model": src}
	}
	if r.EMA > 0 {
		cfg.EMA, cfg.EvalEMA = &optim.EMAConfig{Decay: r.EMA, Warmup: true}, true
	}
	return train.New(task, opt, cfg)
}

// detLoaders returns the training loader (augmented, shuffled) and the
// validation loader (letterboxed, in order).
func detLoaders(r DetRecipe, spec DetSpec, d *detData, workers int, seed uint64) (trainL, valL *data.Loader, err error) {
	r.Model = spec
	n := len(d.Train.COCO.Images)
	// A last batch of one image can leave batch norm a single value per
	// channel at the coarsest level.
	trainL, err = data.NewLoader(d.Train.dataset(r.trainPipeline()), data.LoaderConfig{Batch: r.Batch, Workers: workers, Seed: seed, DropLast: n > r.Batch})
	if err != nil {
		return nil, nil, err
	}
	valL, err = data.NewLoader(d.Val.dataset(detEvalPipeline(spec)), data.LoaderConfig{Batch: r.Batch, Workers: workers, Sampler: data.Sequential{}})
	return trainL, valL, err
}

// checkDetCheckpoint checks that a checkpoint holds the detector spec
// describes before a trainer resumes from it.
func checkDetCheckpoint(path string, spec DetSpec) error {
	_, _, err := loadDetector(path, &spec)
	return err
}

func cmdDetectTrain(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "detect-train", "detect-train [flags]\n\n"+
		"Trains an EfficientDet on COCO data: -data DIR with train.json, val.json and\n"+
		"test.json (val and test optional; without val a share of train is held out)\n"+
		"and the images their file names point to, or files named with -train-json,\n"+
		"-val-json, -test-json (and -images for the folder the file names are\n"+
		"relative to). With neither it generates synthetic litter scenes (-synth,\n"+
		"-scenes). The best checkpoint by validation AP is <out>/best.safetensors;\n"+
		"at the end its COCO AP table on test (or val) is printed and written to\n"+
		"<out>/test.")
	t := addDetTrainFlags(fs, "runs/detect")
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
	d, err := t.data.open(ctx, env, t.seed)
	if err != nil {
		return err
	}
	res, err := trainDetector(ctx, env, r, d, t, t.out)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nbest %s %.4f at epoch %d: %s (%s)\n", res.Report.Metric, res.Report.Best, res.Report.BestEpoch, res.Best, res.Report.Elapsed.Round(1e9))
	printDetEval(env.Stdout, res.Test)
	return writeDetEval(filepath.Join(t.out, res.Test.Split), res.Test)
}
