package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/train"
)

// ModelSpec describes the classifier: enough to rebuild it from a
// checkpoint, which stores it as JSON.
type ModelSpec struct {
	Variant  string   `json:"variant"` // "b0"…"b8", or "" with Width/Depth
	Width    float64  `json:"width,omitempty"`
	Depth    float64  `json:"depth,omitempty"`
	TF       bool     `json:"tf"` // TensorFlow-ported flavour (tf_efficientnet_*)
	Size     int      `json:"size"`
	DropRate float64  `json:"drop_rate"`
	DropPath float64  `json:"drop_path"`
	Classes  []string `json:"classes"`
}

func (s ModelSpec) String() string {
	return fmt.Sprintf("%s, %d classes", s.Describe(), len(s.Classes))
}

// Describe names the architecture and size.
func (s ModelSpec) Describe() string {
	name := s.Variant
	if name == "" {
		name = fmt.Sprintf("w%.2g-d%.2g", s.Width, s.Depth)
	}
	if s.TF {
		name = "tf-" + name
	}
	return fmt.Sprintf("EfficientNet %s at %d px", name, s.Size)
}

func (s ModelSpec) config(rng *rand.Rand) efficientnet.Config {
	c := efficientnet.Config{Variant: s.Variant, Width: s.Width, Depth: s.Depth, Resolution: s.Size,
		NumClasses: len(s.Classes), DropRate: s.DropRate, DropPathRate: s.DropPath, Rng: rng}
	if s.TF {
		c.Flavour = efficientnet.TF
	}
	return c
}

// Validate checks the spec before a model is built from it.
func (s ModelSpec) Validate() error {
	if s.Size < 16 {
		return fmt.Errorf("model: image size %d is too small (at least 16)", s.Size)
	}
	if len(s.Classes) < 2 {
		return fmt.Errorf("model: %d classes; a classifier needs at least 2", len(s.Classes))
	}
	return s.config(nil).Validate()
}

// build makes the model with weights and dropout drawn from a PCG seeded
// by seed, returning the source so checkpoints can save its state.
func (s ModelSpec) build(seed uint64) (*efficientnet.Model, *rand.PCG, error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	src := rand.NewPCG(seed, 0x3e7)
	m, err := efficientnet.New(s.config(rand.New(src)))
	return m, src, err
}

// Recipe is a whole training setup.
type Recipe struct {
	Name            string
	Model           ModelSpec
	Epochs, Batch   int
	LR, LRDecay     float64 // Adam learning rate, multiplied by LRDecay each epoch
	Augment         string  // "detect-waste", "light" or "none"
	WeightedSampler bool
}

// recipes are the named starting points; flags override their fields.
var recipes = map[string]Recipe{
	// detect-waste's classifier: EfficientNet-B2 (TF weights) at 260 px,
	// Adam 1e-4 ×0.99 per epoch, batch 16, 20 epochs, albumentations.
	"detect-waste": {Name: "detect-waste", Model: ModelSpec{Variant: "b2", TF: true, Size: 260, DropRate: 0.3, DropPath: 0.2},
		Epochs: 20, Batch: 16, LR: 1e-4, LRDecay: 0.99, Augment: "detect-waste"},
	// small fits a CPU: a half-width, half-depth EfficientNet at 64 px
	// (0.66 M parameters, about 450 training images per second on 2
	// cores). On the synthetic litter it generalises about as well as
	// torchvision's EfficientNet of the same size trained the same way
	// (around 50 % test accuracy after 12 epochs on 2,400 crops): at 64 px
	// the network's five stride-2 stages leave a 2×2 map, and more data or
	// resolution, not more epochs, is what lifts it.
	"small": {Name: "small", Model: ModelSpec{Width: 0.5, Depth: 0.5, Size: 64, DropRate: 0.2, DropPath: 0.1},
		Epochs: 12, Batch: 32, LR: 3e-3, LRDecay: 0.95, Augment: "light"},
}

func recipe(name string) (Recipe, error) {
	r, ok := recipes[name]
	if !ok {
		var names []string
		for n := range recipes {
			names = append(names, n)
		}
		return r, fmt.Errorf("unknown recipe %q (known: %s)", name, strings.Join(names, ", "))
	}
	return r, nil
}

// trainPipeline is the recipe's training augmentation at its size.
func (r Recipe) trainPipeline() *augment.Pipeline {
	s := r.Model.Size
	switch r.Augment {
	case "detect-waste":
		return augment.DetectWasteTrain(s)
	case "none":
		return r.evalPipeline()
	}
	// light: the same steps, scaled for small images.
	cut := augment.NewCutout()
	cut.NumHoles, cut.MaxHSize, cut.MaxWSize = 4, max(2, s/16), max(2, s/16)
	return augment.NewPipeline(
		augment.NewResize(s+s/8, s+s/8),
		augment.NewRandomCrop(s, s),
		augment.NewHorizontalFlip(),
		augment.NewVerticalFlip(),
		augment.NewShiftScaleRotate(),
		augment.NewRandomBrightnessContrast(),
		cut,
	)
}

// evalPipeline resizes and normalises.
func (r Recipe) evalPipeline() *augment.Pipeline { return augment.DetectWasteEval(r.Model.Size) }

// runInfo is what a checkpoint records about its run (Meta.Config).
type runInfo struct {
	Model  ModelSpec `json:"model"`
	Recipe string    `json:"recipe"`
	Data   string    `json:"data"`
}

// loadModel rebuilds the model a checkpoint was trained as and loads its
// weights. want, if not nil, must match the checkpoint's architecture and
// classes.
func loadModel(path string, want *ModelSpec) (*efficientnet.Model, ModelSpec, error) {
	meta, err := train.ReadCheckpointMeta(path)
	if err != nil {
		return nil, ModelSpec{}, err
	}
	var info runInfo
	if len(meta.Config) == 0 || json.Unmarshal(meta.Config, &info) != nil || len(info.Model.Classes) == 0 {
		if isDetectorCheckpoint(meta) {
			return nil, ModelSpec{}, fmt.Errorf("%s is a detector checkpoint, not a classifier (use it with detect, detect-eval or sort -detector)", path)
		}
		return nil, ModelSpec{}, fmt.Errorf("%s is not a checkpoint of this program (no model description)", path)
	}
	spec := info.Model
	if want != nil {
		if err := sameModel(spec, *want); err != nil {
			return nil, spec, fmt.Errorf("%s: %w", path, err)
		}
	}
	m, _, err := spec.build(1)
	if err != nil {
		return nil, spec, err
	}
	if _, err := train.LoadCheckpoint(path, train.State{Model: m}); err != nil {
		return nil, spec, err
	}
	layers.SetTraining(m, false)
	return m, spec, nil
}

func sameModel(got, want ModelSpec) error {
	var diffs []string
	if strings.Join(got.Classes, ",") != strings.Join(want.Classes, ",") {
		diffs = append(diffs, fmt.Sprintf("classes %v, data has %v", got.Classes, want.Classes))
	}
	if got.Variant != want.Variant || got.Width != want.Width || got.Depth != want.Depth || got.TF != want.TF {
		diffs = append(diffs, fmt.Sprintf("model %v, flags ask for %v", got, want))
	}
	if len(diffs) > 0 {
		return errors.New("checkpoint does not match: " + strings.Join(diffs, "; "))
	}
	return nil
}
