package litter

import (
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/sortnet/sortnet/data"
)

// Sample is one classifier crop.
type Sample struct {
	Image *image.RGBA
	// Label is the given label: the true class, except for a LabelNoise
	// share of Train and Val samples; Unlabeled for Pool samples.
	Label int
	// True is the class actually drawn.
	True int
}

// Object is one annotated litter item of a scene.
type Object struct {
	// Box is the item's extent in scene pixels, as annotators draw it:
	// the pixels it covers, clipped to the scene.
	Box data.Box
	// Label is the given class (label noise as for crops); Unlabeled in the
	// pool. True is the class drawn. Both are class indices (1..7), which
	// are also the 7-class COCO category ids.
	Label, True int
}

// SceneSample is one detector scene.
type SceneSample struct {
	Image   *image.RGBA
	Objects []Object
}

func check(cfg *Config, split Split, i, n int, what string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if !split.valid() {
		return fmt.Errorf("litter: %v: no such split", split)
	}
	if i < 0 || i >= n {
		return fmt.Errorf("litter: %s %d of split %v: the split has %d", what, i, split, n)
	}
	return nil
}

// trueClass returns the drawn class of crop i.
func trueClass(cfg *Config, split Split, i int) int {
	return newLabeler(cfg.Seed, split, cfg.Count(split)).class(i)
}

// givenLabel applies label noise to a true class. It draws from its own
// stream, so the noise rate never changes the images.
func givenLabel(cfg *Config, split Split, i, truth int, sub int, object bool) int {
	if split == Pool {
		return Unlabeled
	}
	if split == Test || cfg.LabelNoise == 0 {
		return truth
	}
	r := sampleRNG(cfg.Seed^uint64(sub)*0x9e3779b97f4a7c15, streamLabel, split, i)
	if r.Float64() >= cfg.LabelNoise {
		return truth
	}
	w := split.weights()
	w[truth] = 0
	if object {
		w[Background] = 0 // a scene's object is litter: a wrong label is another litter class
	}
	return drawClass(r, w)
}

// Labels returns the given and the true label of every crop of a split
// without drawing any image (for samplers and class statistics).
func Labels(cfg Config, split Split) (given, truth []int, err error) {
	cfg = cfg.filled()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if !split.valid() {
		return nil, nil, fmt.Errorf("litter: %v: no such split", split)
	}
	n := cfg.Count(split)
	l := newLabeler(cfg.Seed, split, n)
	given, truth = make([]int, n), make([]int, n)
	for i := range n {
		truth[i] = l.class(i)
		given[i] = givenLabel(&cfg, split, i, truth[i], 0, false)
	}
	return given, truth, nil
}

// Crop draws classifier crop i of a split: a square window around one
// item of a scene (or a patch of bare ground for background), with
// context, resized to cfg.Size, through the scene's camera. It depends on
// (cfg, split, i) alone.
func Crop(cfg Config, split Split, i int) (Sample, error) {
	cfg = cfg.filled()
	if err := check(&cfg, split, i, cfg.Count(split), "crop"); err != nil {
		return Sample{}, err
	}
	s, _ := crop(&cfg, split, i)
	return s, nil
}

// crop draws crop i with its photo (for writers: the camera's JPEG file).
func crop(cfg *Config, split Split, i int) (Sample, photo) {
	t := trueClass(cfg, split, i)
	p := renderCrop(cfg, split, i, t, streamCrop)
	return Sample{Image: p.img, Label: givenLabel(cfg, split, i, t, 0, false), True: t}, p
}

func renderCrop(cfg *Config, split Split, i, class, stream int) photo {
	wd, _, view := cropWorld(cfg, split, i, class, stream)
	side := view.x1 - view.x0
	c := wd.render(view.x0, view.y0, side, side, cfg.Size, cfg.Size)
	r := rand.New(rand.NewPCG(uint64(i), mix(cfg.Seed^uint64(stream)<<40^uint64(split))))
	return finish(c, wd.cam, cropBlur(wd.cam, float32(cfg.Size)/side, cfg.Size), r)
}

// CropSource returns the whole scene crop i is cut from, with its objects,
// and the crop's window in scene pixels (it may reach past the scene's
// edge, where the ground goes on). Crop(cfg, split, i) is this window
// drawn at cfg.Size.
func CropSource(cfg Config, split Split, i int) (SceneSample, data.Box, error) {
	cfg = cfg.filled()
	if err := check(&cfg, split, i, cfg.Count(split), "crop"); err != nil {
		return SceneSample{}, data.Box{}, err
	}
	t := trueClass(&cfg, split, i)
	wd, _, view := cropWorld(&cfg, split, i, t, streamCrop)
	var objs []*object
	for _, o := range wd.objs {
		if o.class > 0 {
			objs = append(objs, o)
		}
	}
	s, _ := drawScene(&cfg, wd, objs, split, i, 1)
	return s, data.Box{X1: float64(view.x0), Y1: float64(view.y0), X2: float64(view.x1), Y2: float64(view.y1)}, nil
}

// Scene draws detector scene i of a split with its annotated objects.
func Scene(cfg Config, split Split, i int) (SceneSample, error) {
	cfg = cfg.filled()
	if err := check(&cfg, split, i, cfg.SceneCount(split), "scene"); err != nil {
		return SceneSample{}, err
	}
	wd, objs := sceneWorld(&cfg, split, i)
	s, _ := drawScene(&cfg, wd, objs, split, i, 2)
	return s, nil
}

func drawScene(cfg *Config, wd *world, objs []*object, split Split, i int, sub int) (SceneSample, photo) {
	c := wd.render(0, 0, float32(cfg.SceneW), float32(cfg.SceneH), cfg.SceneW, cfg.SceneH)
	r := rand.New(rand.NewPCG(uint64(i), mix(cfg.Seed^uint64(sub)<<40^uint64(split)^0x5ce7e)))
	p := finish(c, wd.cam, wd.cam.blur, r)
	s := SceneSample{Image: p.img}
	for k, o := range objs {
		b := o.box
		s.Objects = append(s.Objects, Object{
			Box:   data.Box{X1: float64(b.x0), Y1: float64(b.y0), X2: float64(b.x1), Y2: float64(b.y1)},
			Label: givenLabel(cfg, split, i*64+k, o.class, sub, true),
			True:  o.class,
		})
	}
	return s, p
}
