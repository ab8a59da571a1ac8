package litter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the generator's drawing version. It is part of every data
// set's manifest hash, and changes whenever the same Config would draw
// different pixels, so cached data sets from an older generator are
// regenerated.
const Version = 1

// Config describes a synthetic litter data set. The zero value of Size,
// SceneW, SceneH, MaxObjects and Quality selects the default written next to
// the field; counts of zero are allowed (an empty split).
type Config struct {
	// Seed fixes every image and label.
	Seed uint64

	// Classifier crops per split. Train, Val and Test follow the
	// detect-waste class proportions (DetectWasteCounts), scaled to the
	// count; Pool is the unlabelled pool (PoolWeights, domain-shifted).
	Train, Val, Test, Pool int
	// Size is the side of the square crops in pixels (default 128).
	Size int

	// Detector scenes per split (WriteScenes, Scene).
	SceneTrain, SceneVal, SceneTest, ScenePool int
	// SceneW and SceneH are the scene size in pixels (default 512×384).
	// Crops are cut from scenes of this size too.
	SceneW, SceneH int
	// MaxObjects is the most litter items in a detector scene (default 6);
	// a scene has 2 to MaxObjects of them (1 if MaxObjects is 1).
	MaxObjects int

	// LabelNoise is the rate of wrong given labels in Train and Val, as
	// crowd-sourced labels have; Test labels are always the truth. The true
	// label is kept next to the given one.
	LabelNoise float64

	// Quality is the JPEG quality of written images (default 92).
	Quality int
	// Workers is the number of goroutines of the writers (default
	// GOMAXPROCS). It never changes the output.
	Workers int
}

// DefaultConfig returns the configuration of the built-in demo data set:
// about 5,000 labelled crops of 128 pixels, a pool of 2,000, 300 scenes,
// and 3 % label noise.
func DefaultConfig() Config {
	return Config{
		Seed:  1,
		Train: 3000, Val: 600, Test: 1200, Pool: 2000,
		Size:       128,
		SceneTrain: 200, SceneVal: 40, SceneTest: 60, ScenePool: 100,
		SceneW: 512, SceneH: 384, MaxObjects: 6,
		LabelNoise: 0.03,
		Quality:    92,
	}
}

// filled returns c with defaults in place of zero values.
func (c Config) filled() Config {
	if c.Size == 0 {
		c.Size = 128
	}
	if c.SceneW == 0 {
		c.SceneW = 512
	}
	if c.SceneH == 0 {
		c.SceneH = 384
	}
	if c.MaxObjects == 0 {
		c.MaxObjects = 6
	}
	if c.Quality == 0 {
		c.Quality = 92
	}
	return c
}

const maxCount = 50_000_000

// Validate reports what is wrong with the configuration, if anything.
func (c Config) Validate() error {
	c = c.filled()
	var errs []error
	for _, f := range []struct {
		name string
		n    int
	}{{"Train", c.Train}, {"Val", c.Val}, {"Test", c.Test}, {"Pool", c.Pool},
		{"SceneTrain", c.SceneTrain}, {"SceneVal", c.SceneVal}, {"SceneTest", c.SceneTest}, {"ScenePool", c.ScenePool}} {
		if f.n < 0 || f.n > maxCount {
			errs = append(errs, fmt.Errorf("%s %d: must lie in [0, %d]", f.name, f.n, maxCount))
		}
	}
	if c.Size < 16 || c.Size > 2048 {
		errs = append(errs, fmt.Errorf("Size %d: crops must be 16 to 2048 pixels", c.Size))
	}
	if c.SceneW < 64 || c.SceneW > 8192 || c.SceneH < 64 || c.SceneH > 8192 {
		errs = append(errs, fmt.Errorf("SceneW×SceneH %d×%d: scenes must be 64 to 8192 pixels a side", c.SceneW, c.SceneH))
	}
	if c.MaxObjects < 1 || c.MaxObjects > 64 {
		errs = append(errs, fmt.Errorf("MaxObjects %d: must lie in [1, 64]", c.MaxObjects))
	}
	if !(c.LabelNoise >= 0 && c.LabelNoise <= 0.5) {
		errs = append(errs, fmt.Errorf("LabelNoise %v: must lie in [0, 0.5]", c.LabelNoise))
	}
	if c.Quality < 1 || c.Quality > 100 {
		errs = append(errs, fmt.Errorf("Quality %d: JPEG quality must lie in [1, 100]", c.Quality))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("Workers %d: must not be negative", c.Workers))
	}
	if len(errs) > 0 {
		return fmt.Errorf("litter.Config: %w", errors.Join(errs...))
	}
	return nil
}

// Count returns the number of crops in a split.
func (c Config) Count(s Split) int {
	switch s {
	case Train:
		return c.Train
	case Val:
		return c.Val
	case Test:
		return c.Test
	case Pool:
		return c.Pool
	}
	return 0
}

// SceneCount returns the number of detector scenes in a split.
func (c Config) SceneCount(s Split) int {
	switch s {
	case Train:
		return c.SceneTrain
	case Val:
		return c.SceneVal
	case Test:
		return c.SceneTest
	case Pool:
		return c.ScenePool
	}
	return 0
}

// hash identifies what a writer of the given kind ("crops", "scenes")
// produces from c: everything that changes a pixel, a label or a file,
// and the generator Version; not Workers.
func (c Config) hash(kind string) string {
	c = c.filled()
	c.Workers = 0
	b, _ := json.Marshal(struct {
		Kind    string
		Version int
		Config  Config
	}{kind, Version, c})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
