package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sortnet/sortnet/data"
)

// splits are the classifier's data: train (augmented), val and test (not).
type splits struct {
	Classes    []string
	Train      data.Labeled
	Val, Test  data.Labeled
	TrainFiles *data.ImageFolder // the training folder, for its labels and files
	Skipped    int               // unreadable images dropped
}

// dataOpts are the data flags.
type dataOpts struct {
	Dir         string
	ValFraction float64
	BadImages   string // "fail" or "skip"
	Cache       bool
	Seed        uint64
}

func (o dataOpts) validate() error {
	if o.BadImages != "fail" && o.BadImages != "skip" {
		return fmt.Errorf("-bad-images %q: want fail or skip", o.BadImages)
	}
	if !(o.ValFraction > 0 && o.ValFraction < 1) {
		return fmt.Errorf("-val-fraction %v: want a fraction in (0, 1)", o.ValFraction)
	}
	return nil
}

// openSplits reads dir/train, dir/test and dir/val if present — otherwise a
// stratified share of train becomes the validation set, so that the test
// set is never used to choose a model.
func openSplits(ctx context.Context, env *Env, o dataOpts, r Recipe) (*splits, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(o.Dir); err != nil {
		return nil, fmt.Errorf("data folder: %w (want %s/train/<class>/*.jpg and %s/test/<class>/*.jpg)", err, o.Dir, o.Dir)
	}
	fo := data.FolderOptions{Cache: o.Cache, CacheMaxSide: cacheSide(r)}
	trainF, err := data.NewImageFolder(filepath.Join(o.Dir, "train"), fo)
	if err != nil {
		return nil, err
	}
	fo.Classes = trainF.Classes()
	testF, err := data.NewImageFolder(filepath.Join(o.Dir, "test"), fo)
	if err != nil {
		return nil, fmt.Errorf("test split: %w (class folders must be the same in every split)", err)
	}
	s := &splits{Classes: trainF.Classes(), TrainFiles: trainF}
	var valF *data.ImageFolder
	if _, err := os.Stat(filepath.Join(o.Dir, "val")); err == nil {
		if valF, err = data.NewImageFolder(filepath.Join(o.Dir, "val"), fo); err != nil {
			return nil, fmt.Errorf("val split: %w", err)
		}
	}
	for _, f := range []*data.ImageFolder{trainF, valF, testF} {
		if f == nil {
			continue
		}
		bad, err := f.Check(ctx, 0, o.BadImages == "skip")
		if err != nil {
			return nil, err
		}
		if len(bad) > 0 {
			if o.BadImages == "fail" {
				return nil, fmt.Errorf("%d unreadable images in %s, e.g. %v (use -bad-images skip to leave them out)", len(bad), f.Root, bad[0].Err)
			}
			fmt.Fprintf(env.Stderr, "waste: skipping %d unreadable images in %s, e.g. %v\n", len(bad), f.Root, bad[0].Err)
			s.Skipped += len(bad)
		}
	}
	s.Test = testF.WithPipeline(r.evalPipeline())
	if valF != nil {
		s.Train, s.Val = trainF.WithPipeline(r.trainPipeline()), valF.WithPipeline(r.evalPipeline())
		return s, nil
	}
	parts, err := data.StratifiedSplit(trainF.Labels(), []float64{1 - o.ValFraction, o.ValFraction}, o.Seed)
	if err != nil {
		return nil, err
	}
	if s.Train, err = data.NewSubset(trainF.WithPipeline(r.trainPipeline()), parts[0]); err != nil {
		return nil, err
	}
	if s.Val, err = data.NewSubset(trainF.WithPipeline(r.evalPipeline()), parts[1]); err != nil {
		return nil, err
	}
	return s, nil
}

// cacheSide keeps cached images a little above the training size.
func cacheSide(r Recipe) int { return r.Model.Size + r.Model.Size/4 + 64 }

// classCounts formats per-class counts.
func classCounts(labels []int, classes []string) string {
	counts := data.ClassCounts(labels, len(classes))
	var parts []string
	for i, c := range classes {
		parts = append(parts, fmt.Sprintf("%s %d", c, counts[i]))
	}
	return strings.Join(parts, ", ")
}
