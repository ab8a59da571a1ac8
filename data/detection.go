package data

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"

	"github.com/sortnet/sortnet/augment"
)

// Detection is a detection data set: the images of a COCO file, read from
// a folder, with their boxes, through a box-aware augmentation pipeline
// (augment.EffDetTrain, augment.EffDetEval, ...). Category ids map to
// contiguous class indices in increasing id order (COCO.CategoryIndex);
// crowd annotations are left out of the training targets (COCO evaluation
// handles them). Images without annotations are kept: they teach the
// detector what background looks like.
type Detection struct {
	COCO     *COCO
	ImageDir string
	Pipeline *augment.Pipeline
	Names    []string    // class names by index
	index    map[int]int // category id → class
	byImage  map[int][]COCOAnnotation
	ws       *sync.Pool
}

// NewDetection returns the data set of c's images under imageDir.
func NewDetection(c *COCO, imageDir string, p *augment.Pipeline) *Detection {
	idx, names := c.CategoryIndex()
	return &Detection{COCO: c, ImageDir: imageDir, Pipeline: p, Names: names, index: idx, byImage: c.ByImage(),
		ws: &sync.Pool{New: func() any { return new(augment.Workspace) }}}
}

// WithPipeline returns a view of the same data with another pipeline.
func (d *Detection) WithPipeline(p *augment.Pipeline) *Detection {
	e := *d
	e.Pipeline = p
	e.ws = &sync.Pool{New: func() any { return new(augment.Workspace) }}
	return &e
}

// Len returns the number of images.
func (d *Detection) Len() int { return len(d.COCO.Images) }

// Classes returns the class names.
func (d *Detection) Classes() []string { return d.Names }

// ClassOf returns the class index of a category id and whether it exists.
func (d *Detection) ClassOf(categoryID int) (int, bool) {
	c, ok := d.index[categoryID]
	return c, ok
}

// Path returns the file of image i.
func (d *Detection) Path(i int) string {
	return filepath.Join(d.ImageDir, d.COCO.Images[i].FileName)
}

// Example loads image i with its boxes through the pipeline.
func (d *Detection) Example(i int, rng *rand.Rand) (Example, error) {
	im := d.COCO.Images[i]
	img, err := augment.DecodeFile(d.Path(i))
	if err != nil {
		return Example{}, err
	}
	if img.H != im.Height || img.W != im.Width {
		return Example{}, fmt.Errorf("%s is %dx%d but the COCO file says %dx%d", d.Path(i), img.W, img.H, im.Width, im.Height)
	}
	s := augment.Sample{Image: img}
	for _, a := range d.byImage[im.ID] {
		if a.IsCrowd != 0 {
			continue
		}
		s.Boxes = append(s.Boxes, a.Box())
		s.Labels = append(s.Labels, d.index[a.CategoryID])
	}
	out, err := runPipeline(d.Pipeline, d.ws, rng, s)
	if err != nil {
		return Example{}, fmt.Errorf("%s: %w", d.Path(i), err)
	}
	boxes := append([]Box{}, out.sample.Boxes...)
	labels := append([]int{}, out.sample.Labels...)
	return Example{Image: out.image, Label: Unlabeled, Boxes: boxes, BoxLabels: labels, Geom: out.sample.Geom, Index: i}, nil
}
