package app

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/sortnet/sortnet/examples/waste/litter"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("synth", "generate the synthetic litter data set (classifier crops, pool, detector scenes)", cmdSynth)
	register("preview", "write a contact sheet of synthetic samples per class, or augmentation previews", cmdPreview)
}

// defaultSynth is the synthetic set the demo and the default paths use:
// detect-waste's class proportions at a size a CPU trains in minutes.
func defaultSynth(seed uint64) litter.Config {
	c := litter.DefaultConfig()
	c.Seed = seed
	c.Train, c.Val, c.Test, c.Pool = 2400, 400, 800, 2400
	c.Size = 80
	return c
}

// ensureSynthetic writes the synthetic classifier data set into dir unless
// it is already there (cached by configuration).
func ensureSynthetic(ctx context.Context, env *Env, dir string, cfg litter.Config) error {
	return generate(env, "synthetic litter", "synthetic data", cfg.Train+cfg.Val+cfg.Test+cfg.Pool, func(progress func(done, total int)) error {
		return litter.WriteImageFolder(ctx, dir, cfg, progress)
	})
}

// generate runs write (one of litter's writers) with a progress stage
// named name over total items; errors are prefixed with what.
func generate(env *Env, name, what string, total int, write func(progress func(done, total int)) error) error {
	stage := progress(env).Start(name, total)
	last := 0
	err := write(func(done, total int) {
		stage.Add(done-last, math.NaN(), train.NoAccuracy) // no loss to show
		last = done
	})
	stage.Done()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func cmdSynth(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "synth", "synth [flags]")
	out := fs.String("out", "runs/synth", "output folder (ImageFolder train/val/test, pool/, pool_truth.csv)")
	c := defaultSynth(1)
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed: the same seed gives the same images")
	fs.IntVar(&c.Train, "train", c.Train, "training crops")
	fs.IntVar(&c.Val, "val", c.Val, "validation crops")
	fs.IntVar(&c.Test, "test", c.Test, "test crops")
	fs.IntVar(&c.Pool, "pool", c.Pool, "unlabelled pool crops (domain-shifted, no bio or background)")
	fs.IntVar(&c.Size, "size", c.Size, "crop side in pixels")
	fs.Float64Var(&c.LabelNoise, "label-noise", c.LabelNoise, "rate of wrong training labels")
	scenes := fs.Int("scenes", 0, "also write this many detector training scenes with COCO boxes into <out>/scenes")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if err := ensureSynthetic(ctx, env, *out, c); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "synthetic litter in %s: %d train, %d val, %d test, %d pool crops of %d px\n", *out, c.Train, c.Val, c.Test, c.Pool, c.Size)
	if *scenes > 0 {
		c.SceneTrain, c.SceneVal, c.SceneTest = *scenes, max(1, *scenes/5), max(1, *scenes/5)
		dir := filepath.Join(*out, "scenes")
		if err := litter.WriteScenes(ctx, dir, c, nil); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "detector scenes in %s\n", dir)
	}
	return nil
}

func cmdPreview(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "preview", "preview [flags]")
	out := fs.String("out", "runs/preview.png", "PNG file to write")
	per := fs.Int("per-class", 8, "samples per class")
	seed := fs.Uint64("seed", 1, "seed of the synthetic world")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *per < 1 {
		return fmt.Errorf("-per-class %d must be positive", *per)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := litter.ContactSheet(f, defaultSynth(*seed), *per); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s\n", *out)
	return nil
}
