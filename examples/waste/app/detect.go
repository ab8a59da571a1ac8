package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/examples/waste/litter"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/train"
)

// DetSpec describes a detector: enough to rebuild it from a checkpoint,
// which stores it as JSON, and the COCO categories its classes stand for.
type DetSpec struct {
	// Variant is an EfficientDet variant "d0"…"d7x", or "" for a free
	// configuration: a backbone (Backbone, or Width and Depth) with a
	// BiFPN of FPNChannels × FPNCells and HeadRepeats separable convs per
	// head.
	Variant     string  `json:"variant,omitempty"`
	Backbone    string  `json:"backbone,omitempty"` // EfficientNet variant "b0"…"b7" of a free configuration
	Width       float64 `json:"width,omitempty"`
	Depth       float64 `json:"depth,omitempty"`
	TF          bool    `json:"tf"` // TensorFlow-ported flavour (tf_efficientdet_*)
	Size        int     `json:"size"`
	FPNChannels int     `json:"fpn_channels,omitempty"`
	FPNCells    int     `json:"fpn_cells,omitempty"`
	HeadRepeats int     `json:"head_repeats,omitempty"`
	// BNMomentum of the BiFPN and heads (0: effdet's 0.01); short CPU runs
	// use 0.1 so that the running statistics keep up.
	BNMomentum float64 `json:"bn_momentum,omitempty"`
	DropPath   float64 `json:"drop_path,omitempty"`
	// Classes are the class names and CategoryIDs their COCO category ids.
	Classes     []string `json:"classes"`
	CategoryIDs []int    `json:"category_ids"`
}

func (s DetSpec) String() string {
	return fmt.Sprintf("%s, %d class(es) %s", s.Describe(), len(s.Classes), strings.Join(s.Classes, ", "))
}

// Describe names the architecture and size.
func (s DetSpec) Describe() string {
	tf := ""
	if s.TF {
		tf = "tf-"
	}
	if s.Variant != "" {
		return fmt.Sprintf("EfficientDet %s%s at %d px", tf, s.Variant, s.Size)
	}
	bb := s.Backbone
	if bb == "" {
		bb = fmt.Sprintf("w%.2g-d%.2g", s.Width, s.Depth)
	}
	return fmt.Sprintf("EfficientDet %s%s, BiFPN %d×%d, heads %d, at %d px", tf, bb, s.FPNChannels, s.FPNCells, s.HeadRepeats, s.Size)
}

func (s DetSpec) config(rng *rand.Rand) efficientdet.Config {
	c := efficientdet.Config{
		Variant: s.Variant, NumClasses: len(s.Classes), Height: s.Size, Width: s.Size,
		FPNChannels: s.FPNChannels, FPNCells: s.FPNCells, HeadRepeats: s.HeadRepeats,
		BNMomentum: float32(s.BNMomentum), DropPathRate: s.DropPath, Rng: rng,
	}
	if s.Variant == "" {
		c.Backbone = efficientnet.Config{Variant: s.Backbone, Width: s.Width, Depth: s.Depth}
	}
	if s.TF {
		c.Flavour = efficientnet.TF
	}
	return c
}

// Validate checks the spec before a detector is built from it.
func (s DetSpec) Validate() error {
	if s.Size < 128 || s.Size%128 != 0 {
		return fmt.Errorf("detector: image size %d must be a positive multiple of 128 (EfficientDet halves it 7 times)", s.Size)
	}
	if len(s.Classes) < 1 {
		return errors.New("detector: no classes")
	}
	if len(s.CategoryIDs) != len(s.Classes) {
		return fmt.Errorf("detector: %d classes but %d category ids", len(s.Classes), len(s.CategoryIDs))
	}
	return s.config(nil).Validate()
}

// build makes the detector with weights drawn from a PCG seeded by seed,
// returning the source so checkpoints can save its state.
func (s DetSpec) build(seed uint64) (*efficientdet.Detector, *rand.PCG, error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	src := rand.NewPCG(seed, 0xde7)
	m, err := efficientdet.New(s.config(rand.New(src)))
	if err != nil {
		return nil, nil, err
	}
	return &efficientdet.Detector{Model: m, Classes: s.Classes}, src, nil
}

// categories returns the COCO categories of the spec's classes.
func (s DetSpec) categories() []data.COCOCategory {
	out := make([]data.COCOCategory, len(s.Classes))
	for i, c := range s.Classes {
		out[i] = data.COCOCategory{ID: s.CategoryIDs[i], Name: c}
	}
	return out
}

// DetRecipe is a whole detector training setup.
type DetRecipe struct {
	Name          string
	Model         DetSpec
	Epochs, Batch int
	// Optimizer is "adam" or "sgd" (momentum 0.9, weight decay 4e-5, as
	// effdet); LR its base learning rate, following a cosine with a linear
	// warm-up of WarmupEpochs, per step.
	Optimizer    string
	LR           float64
	WarmupEpochs float64
	// EMA is the decay of the weight average that is validated and kept
	// (0: none); ClipNorm clips the gradient norm.
	EMA      float64
	ClipNorm float64
	Augment  string // "light" or "detect-waste"
}

// detRecipes are the named starting points; flags override their fields.
var detRecipes = map[string]DetRecipe{
	// small fits a CPU: a half-width, half-depth EfficientNet backbone, a
	// 48-channel BiFPN of 2 cells and 2-conv heads at 256 px (0.64 M
	// parameters), Adam.
	"small": {Name: "small", Model: DetSpec{Width: 0.5, Depth: 0.5, Size: 256, FPNChannels: 48, FPNCells: 2, HeadRepeats: 2, BNMomentum: 0.1},
		Epochs: 22, Batch: 8, Optimizer: "adam", LR: 3e-3, WarmupEpochs: 1, ClipNorm: 10, Augment: "light"},
	// detect-waste's detector: effdet's tf_efficientdet_d2 at 768 px, SGD
	// momentum 0.9 lr 1e-3, cosine with 5 warm-up epochs, batch 4, EMA,
	// clipping at 10, 20 epochs, Blur and RandomBrightness before effdet's
	// flip and random resize-pad. (detect-waste started from COCO
	// weights: see -pretrained.)
	"detect-waste": {Name: "detect-waste", Model: DetSpec{Variant: "d2", TF: true, Size: 768, DropPath: 0.2},
		Epochs: 20, Batch: 4, Optimizer: "sgd", LR: 1e-3, WarmupEpochs: 5, EMA: 0.9998, ClipNorm: 10, Augment: "detect-waste"},
}

func detRecipe(name string) (DetRecipe, error) {
	r, ok := detRecipes[name]
	if !ok {
		var names []string
		for n := range detRecipes {
			names = append(names, n)
		}
		slices.Sort(names)
		return r, fmt.Errorf("unknown detector recipe %q (known: %s)", name, strings.Join(names, ", "))
	}
	return r, nil
}

// trainPipeline is the recipe's box-aware training augmentation.
func (r DetRecipe) trainPipeline() *augment.Pipeline {
	s := r.Model.Size
	if r.Augment == "detect-waste" {
		return augment.DetectWasteDetectorTrain(s)
	}
	// light: effdet's flip and random resize-pad, with a narrower scale
	// range (short runs learn faster without tiny objects), a vertical flip
	// (litter is photographed from above) and brightness and contrast.
	rrp := augment.NewRandomResizePad(s, s)
	rrp.Scale = augment.Range{Min: 0.75, Max: 1.5}
	return augment.NewPipeline(augment.NewHorizontalFlip(), augment.NewVerticalFlip(), augment.NewRandomBrightnessContrast(), rrp)
}

// detEvalPipeline letterboxes an image onto the detector's square input:
// scaled to fit, never stretched, padded with the ImageNet mean.
func detEvalPipeline(s DetSpec) *augment.Pipeline { return augment.EffDetEval(s.Size) }

// detRunInfo is what a detector checkpoint records about its run
// (Meta.Config).
type detRunInfo struct {
	Detector DetSpec `json:"detector"`
	Recipe   string  `json:"recipe"`
	Data     string  `json:"data"`
}

// loadDetector rebuilds the detector a checkpoint was trained as and loads
// its weights, in evaluation mode. want, if not nil, must match the
// checkpoint's architecture and classes.
func loadDetector(path string, want *DetSpec) (*efficientdet.Detector, DetSpec, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, DetSpec{}, fmt.Errorf("detector checkpoint: %w (train one with: waste detect-train)", err)
	}
	meta, err := train.ReadCheckpointMeta(path)
	if err != nil {
		return nil, DetSpec{}, err
	}
	var info struct {
		Detector *DetSpec  `json:"detector"`
		Model    ModelSpec `json:"model"`
	}
	if len(meta.Config) > 0 {
		_ = json.Unmarshal(meta.Config, &info)
	}
	if info.Detector == nil || len(info.Detector.Classes) == 0 {
		if len(info.Model.Classes) > 0 {
			return nil, DetSpec{}, fmt.Errorf("%s is a classifier checkpoint (%v), not a detector (train one with: waste detect-train)", path, info.Model)
		}
		return nil, DetSpec{}, fmt.Errorf("%s is not a detector checkpoint of this program (no detector description)", path)
	}
	spec := *info.Detector
	if want != nil {
		if err := sameDetector(spec, *want); err != nil {
			return nil, spec, fmt.Errorf("%s: %w", path, err)
		}
	}
	det, _, err := spec.build(1)
	if err != nil {
		return nil, spec, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := train.LoadCheckpoint(path, train.State{Model: det.Model}); err != nil {
		return nil, spec, fmt.Errorf("%s does not hold the weights of the %v it describes: %w", path, spec, err)
	}
	layers.SetTraining(det.Model, false)
	return det, spec, nil
}

// isDetectorCheckpoint reports whether a checkpoint's run describes a
// detector.
func isDetectorCheckpoint(meta train.Meta) bool {
	var info struct {
		Detector *DetSpec `json:"detector"`
	}
	return json.Unmarshal(meta.Config, &info) == nil && info.Detector != nil
}

// sameDetector reports how a checkpoint's detector differs from the one
// asked for.
func sameDetector(got, want DetSpec) error {
	var diffs []string
	if !slices.Equal(got.Classes, want.Classes) || !slices.Equal(got.CategoryIDs, want.CategoryIDs) {
		diffs = append(diffs, fmt.Sprintf("classes %s, the data has %s", catList(got.categories()), catList(want.categories())))
	}
	g, w := got, want
	g.Classes, g.CategoryIDs, w.Classes, w.CategoryIDs = nil, nil, nil, nil
	g.BNMomentum, g.DropPath, w.BNMomentum, w.DropPath = 0, 0, 0, 0 // training settings
	if fmt.Sprint(g) != fmt.Sprint(w) {
		diffs = append(diffs, fmt.Sprintf("architecture %s, the flags ask for %s", got.Describe(), want.Describe()))
	}
	if len(diffs) > 0 {
		return errors.New("checkpoint does not match: " + strings.Join(diffs, "; "))
	}
	return nil
}

func catList(cs []data.COCOCategory) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%d %s", c.ID, c.Name))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// cocoSplit is one split of a detection data set: a COCO file whose
// categories are those of the detector, and the folder its file names are
// relative to.
type cocoSplit struct {
	Name   string // "train", "val", "test", or the file's name
	Path   string // the JSON file ("" for a split carved out of another)
	COCO   *data.COCO
	Images string
}

func (s *cocoSplit) dataset(p *augment.Pipeline) *data.Detection {
	return data.NewDetection(s.COCO, s.Images, p)
}

// file returns the path of image i.
func (s *cocoSplit) file(i int) string { return filepath.Join(s.Images, s.COCO.Images[i].FileName) }

// readSplit reads a COCO file and checks that its images exist under
// images (the JSON file's folder if empty).
func readSplit(name, path, images string) (*cocoSplit, error) {
	c, _, err := data.ReadCOCO(path)
	if err != nil {
		return nil, fmt.Errorf("%s split: %w", name, err)
	}
	if images == "" {
		images = filepath.Dir(path)
	}
	s := &cocoSplit{Name: name, Path: path, COCO: c, Images: images}
	if err := s.checkFiles(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkFiles reports image files of the COCO file that do not exist.
func (s *cocoSplit) checkFiles() error {
	var missing []string
	for i := range s.COCO.Images {
		if _, err := os.Stat(s.file(i)); err != nil {
			missing = append(missing, s.file(i))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d of %d images do not exist, e.g. %s (file_name is read relative to %s; set -images to the folder the file names start from)",
		s.Path, len(missing), len(s.COCO.Images), missing[0], s.Images)
}

// mergeCategories makes every annotation of c one class, cat: detect-waste's
// 1-class "litter" detector trained on all its categories this way.
func mergeCategories(c *data.COCO, cat data.COCOCategory) *data.COCO {
	out := *c
	out.Categories = []data.COCOCategory{cat}
	out.Annotations = make([]data.COCOAnnotation, len(c.Annotations))
	for i, a := range c.Annotations {
		a.CategoryID = cat.ID
		out.Annotations[i] = a
	}
	return &out
}

// litterCategory is the class of the 1-class detector.
var litterCategory = data.COCOCategory{ID: 1, Name: "litter", Supercategory: "litter"}

// sortedCategories returns c's categories by increasing id, the class
// order of data.NewDetection.
func sortedCategories(c *data.COCO) []data.COCOCategory {
	cats := append([]data.COCOCategory(nil), c.Categories...)
	slices.SortFunc(cats, func(a, b data.COCOCategory) int { return a.ID - b.ID })
	return cats
}

// forClasses maps a split's categories onto classes: a single class takes
// every category (1-class litter); otherwise the categories must be the
// classes, id for id and name for name.
func (s *cocoSplit) forClasses(classes []data.COCOCategory) error {
	if len(classes) == 1 {
		if len(s.COCO.Categories) != 1 || s.COCO.Categories[0].ID != classes[0].ID {
			s.COCO = mergeCategories(s.COCO, classes[0])
		}
		return nil
	}
	got := sortedCategories(s.COCO)
	same := len(got) == len(classes)
	for i := 0; same && i < len(got); i++ {
		same = got[i].ID == classes[i].ID && got[i].Name == classes[i].Name
	}
	if !same {
		return fmt.Errorf("%s: category ids %s do not match the detector's classes %s", s.Path, catList(got), catList(classes))
	}
	return nil
}

// carve moves a share of s's images (seeded) into a new split.
func (s *cocoSplit) carve(name string, fraction float64, seed uint64) (*cocoSplit, error) {
	n := len(s.COCO.Images)
	k := int(float64(n)*fraction + 0.5)
	if k < 1 || k >= n {
		return nil, fmt.Errorf("%s has %d images: too few to hold out %.0f%% for %s (give a %s file)", s.Path, n, 100*fraction, name, name)
	}
	perm := rand.New(rand.NewPCG(seed, 0x5117)).Perm(n)
	held := map[int]bool{}
	for _, i := range perm[:k] {
		held[s.COCO.Images[i].ID] = true
	}
	a, b := *s.COCO, *s.COCO
	a.Images, b.Images, a.Annotations, b.Annotations = nil, nil, nil, nil
	for _, im := range s.COCO.Images {
		if held[im.ID] {
			b.Images = append(b.Images, im)
		} else {
			a.Images = append(a.Images, im)
		}
	}
	for _, an := range s.COCO.Annotations {
		if held[an.ImageID] {
			b.Annotations = append(b.Annotations, an)
		} else {
			a.Annotations = append(a.Annotations, an)
		}
	}
	s.COCO = &a
	return &cocoSplit{Name: name, Path: fmt.Sprintf("%s (%.0f%% held out for %s)", s.Path, 100*fraction, name), COCO: &b, Images: s.Images}, nil
}

// sceneConfig is the synthetic scene set the detector commands use by
// default: n training scenes of the litter world (val n/6, test n/4),
// an unlabelled pool of pool scenes (4n if 0: self-training pays when the
// unlabelled images outnumber the labelled ones), without label noise.
func sceneConfig(seed uint64, n, pool int) litter.Config {
	c := litter.DefaultConfig()
	c.Seed = seed
	c.Train, c.Val, c.Test, c.Pool = 0, 0, 0, 0
	if pool == 0 {
		pool = 4 * n
	}
	c.SceneTrain, c.SceneVal, c.SceneTest, c.ScenePool = n, max(2, n/6), max(2, n/4), pool
	// The given boxes' labels are true: the 7-class detector's crowd-label
	// noise is left out of the demo, which measures how litter is found.
	c.LabelNoise = 0
	return c
}

// ensureScenes writes the synthetic detector scenes into dir unless they
// are already there (cached by configuration).
func ensureScenes(ctx context.Context, env *Env, dir string, cfg litter.Config) error {
	return generate(env, "synthetic scenes", "synthetic scenes", cfg.SceneTrain+cfg.SceneVal+cfg.SceneTest+cfg.ScenePool, func(progress func(done, total int)) error {
		return litter.WriteScenes(ctx, dir, cfg, progress)
	})
}

// detData is a detector's data: train, val and optionally test, with the
// categories the detector's classes stand for.
type detData struct {
	Root             string // the data folder, if any
	Categories       []data.COCOCategory
	Train, Val, Test *cocoSplit
}

func (d *detData) classes() (names []string, ids []int) {
	for _, c := range d.Categories {
		names, ids = append(names, c.Name), append(ids, c.ID)
	}
	return names, ids
}

// detDataFlags are the data flags of the detector commands.
type detDataFlags struct {
	dir, trainJSON, valJSON, testJSON, images string
	synth                                     string
	scenes, poolScenes                        int
	dataSeed                                  uint64
	classes                                   int
	valFraction                               float64
}

func addDetDataFlags(fs *flag.FlagSet) *detDataFlags {
	d := &detDataFlags{}
	fs.StringVar(&d.dir, "data", "", "COCO data folder holding train.json, val.json and test.json (val and test optional) with the images their file names point to; empty: synthetic litter scenes (see -synth)")
	fs.StringVar(&d.trainJSON, "train-json", "", "training COCO file (instead of <data>/train.json)")
	fs.StringVar(&d.valJSON, "val-json", "", "validation COCO file (instead of <data>/val.json; if neither exists, -val-fraction of train is held out)")
	fs.StringVar(&d.testJSON, "test-json", "", "test COCO file (instead of <data>/test.json; optional)")
	fs.StringVar(&d.images, "images", "", "folder the COCO file names are relative to (default: each JSON file's folder)")
	fs.StringVar(&d.synth, "synth", "runs/scenes", "where the synthetic scenes are generated and cached when no data is given")
	fs.IntVar(&d.scenes, "scenes", 300, "synthetic training scenes (512×384, 2–6 litter items each; val gets 1/6 as many, test 1/4, the unlabelled pool 4×)")
	fs.IntVar(&d.poolScenes, "pool-scenes", 0, "unlabelled synthetic pool scenes (domain-shifted; 0: 4× -scenes)")
	fs.Uint64Var(&d.dataSeed, "data-seed", 1, "seed of the synthetic scenes (the same for every -seed, so runs differ only in training)")
	fs.IntVar(&d.classes, "classes", 1, "1: one class \"litter\" for every category (detect-waste's 1-class detector); otherwise the number of categories in the data, all kept (7 for the synthetic scenes and detect-waste)")
	fs.Float64Var(&d.valFraction, "val-fraction", 0.15, "share of the training images held out for validation when there is no validation file")
	return d
}

// synthetic reports whether the synthetic scenes are used.
func (d *detDataFlags) synthetic() bool { return d.dir == "" && d.trainJSON == "" }

// root returns the data folder (the synthetic one if none was given),
// generating the synthetic scenes if needed.
func (d *detDataFlags) root(ctx context.Context, env *Env) (string, error) {
	if !d.synthetic() {
		return d.dir, nil
	}
	if d.scenes < 2 || d.poolScenes < 0 || d.poolScenes == 1 {
		return "", fmt.Errorf("-scenes %d and -pool-scenes %d: need at least 2 (or -pool-scenes 0)", d.scenes, d.poolScenes)
	}
	return d.synth, ensureScenes(ctx, env, d.synth, sceneConfig(d.dataSeed, d.scenes, d.poolScenes))
}

// open reads the splits and maps their categories onto the detector's
// classes; seed draws the validation images when they are held out of
// train.
func (d *detDataFlags) open(ctx context.Context, env *Env, seed uint64) (*detData, error) {
	if d.classes < 1 {
		return nil, fmt.Errorf("-classes %d must be positive", d.classes)
	}
	if !(d.valFraction > 0 && d.valFraction < 1) {
		return nil, fmt.Errorf("-val-fraction %v: want a fraction in (0, 1)", d.valFraction)
	}
	root, err := d.root(ctx, env)
	if err != nil {
		return nil, err
	}
	pick := func(flag, name string, required bool) (string, error) {
		if flag != "" {
			return flag, nil
		}
		if root == "" {
			if required {
				return "", fmt.Errorf("name the training data with -data or -train-json")
			}
			return "", nil
		}
		p := filepath.Join(root, name+".json")
		if _, err := os.Stat(p); err != nil {
			if required {
				if _, e := os.Stat(root); e != nil {
					return "", fmt.Errorf("data folder: %w (want %s/train.json, val.json, test.json and the images)", e, root)
				}
				return "", fmt.Errorf("%s: no %s.json there (or name it with -%s-json)", root, name, name)
			}
			return "", nil
		}
		return p, nil
	}
	out := &detData{Root: root}
	trainPath, err := pick(d.trainJSON, "train", true)
	if err != nil {
		return nil, err
	}
	if out.Train, err = readSplit("train", trainPath, d.images); err != nil {
		return nil, err
	}
	cats := sortedCategories(out.Train.COCO)
	switch {
	case d.classes == 1:
		cats = []data.COCOCategory{litterCategory}
		if len(out.Train.COCO.Categories) == 1 {
			cats = out.Train.COCO.Categories
		}
	case d.classes != len(cats):
		return nil, fmt.Errorf("-classes %d, but %s has %d categories %s (use -classes 1 to merge them into one litter class)", d.classes, trainPath, len(cats), catList(cats))
	}
	out.Categories = cats
	if err := out.Train.forClasses(cats); err != nil {
		return nil, err
	}
	for _, sp := range []struct {
		flag, name string
		dst        **cocoSplit
	}{{d.valJSON, "val", &out.Val}, {d.testJSON, "test", &out.Test}} {
		p, err := pick(sp.flag, sp.name, false)
		if err != nil {
			return nil, err
		}
		if p == "" {
			continue
		}
		s, err := readSplit(sp.name, p, d.images)
		if err != nil {
			return nil, err
		}
		if err := s.forClasses(cats); err != nil {
			return nil, err
		}
		*sp.dst = s
	}
	if out.Val == nil {
		if out.Val, err = out.Train.carve("val", d.valFraction, seed); err != nil {
			return nil, err
		}
	}
	return out, nil
}
