package augment

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Transform is one augmentation step.
//
// Apply applies the transform unconditionally (albumentations'
// force_apply): the probability Prob is rolled by the container that holds
// the transform (Compose, OneOf, SomeOf, Pipeline), so OneOf can use the
// probabilities as weights and then force its choice. Every random choice
// comes from rng. Apply returns an error, never panics, for images the
// transform cannot handle (too small for a crop, wrong channel count) and
// for invalid options.
type Transform interface {
	Name() string
	Prob() float64
	Validate() error
	Apply(rng *rand.Rand, s *Sample) error
}

// roll reports whether a transform with probability p fires. p >= 1 draws
// nothing, so deterministic pipelines consume no randomness.
func roll(rng *rand.Rand, p float64) bool {
	if p >= 1 {
		return true
	}
	if p <= 0 {
		return false
	}
	return rng.Float64() < p
}

func checkP(name string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("augment.%s: probability P = %v: must be in [0, 1]", name, p)
	}
	return nil
}

// runTransform applies t and then clips and filters the boxes.
func runTransform(t Transform, rng *rand.Rand, s *Sample) error {
	if err := t.Apply(rng, s); err != nil {
		return err
	}
	if len(s.Boxes) > 0 {
		s.Boxes, s.Labels = filterBoxes(s.Boxes, s.Labels, s.Image.W, s.Image.H, s.bp)
	}
	return nil
}

// Compose applies its transforms in order, each with its own probability;
// the whole list runs with probability P.
type Compose struct {
	Transforms []Transform
	P          float64
}

// NewCompose returns a Compose with P = 1.
func NewCompose(ts ...Transform) *Compose { return &Compose{Transforms: ts, P: 1} }

func (c *Compose) Name() string  { return "Compose" }
func (c *Compose) Prob() float64 { return c.P }

func (c *Compose) Validate() error {
	if err := checkP("Compose", c.P); err != nil {
		return err
	}
	return validateAll("Compose", c.Transforms)
}

func validateAll(name string, ts []Transform) error {
	for i, t := range ts {
		if t == nil {
			return fmt.Errorf("augment.%s: transform %d is nil", name, i)
		}
		if err := t.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Compose) Apply(rng *rand.Rand, s *Sample) error {
	return applySequence(c.Transforms, rng, s)
}

// applySequence runs ts in order, each with its probability. A Resize
// directly followed by a RandomCrop is fused: the crop's corner is drawn
// first and only the cropped window of the resized image is computed. The
// random draws, the pixels and the boxes are exactly those of the two
// steps run one after the other.
func applySequence(ts []Transform, rng *rand.Rand, s *Sample) error {
	for i := 0; i < len(ts); i++ {
		t := ts[i]
		if !roll(rng, t.Prob()) {
			continue
		}
		if r, ok := t.(*Resize); ok && i+1 < len(ts) {
			if c, ok := ts[i+1].(*RandomCrop); ok {
				i++
				if roll(rng, c.Prob()) {
					if err := fusedResizeCrop(r, c, rng, s); err != nil {
						return err
					}
					continue
				}
				if err := runTransform(r, rng, s); err != nil {
					return err
				}
				continue
			}
		}
		if err := runTransform(t, rng, s); err != nil {
			return err
		}
	}
	return nil
}

func fusedResizeCrop(r *Resize, c *RandomCrop, rng *rand.Rand, s *Sample) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Height > r.Height || c.Width > r.Width {
		return fmt.Errorf("augment.RandomCrop: crop %dx%d is larger than the %dx%d image", c.Width, c.Height, r.Width, r.Height)
	}
	src := s.Image
	y0, x0 := c.corner(rng, r.Height, r.Width)
	dst := s.NewImage(c.Height, c.Width, src.C)
	resizeWindow(dst, src, r.Height, r.Width, y0, x0, r.Interpolation, s.ws)
	s.SetImage(dst)
	s.mapBoxes(Matrix{float64(r.Width) / float64(src.W), 0, -float64(x0), 0, float64(r.Height) / float64(src.H), -float64(y0)})
	if len(s.Boxes) > 0 {
		s.Boxes, s.Labels = filterBoxes(s.Boxes, s.Labels, s.Image.W, s.Image.H, s.bp)
	}
	return nil
}

// OneOf applies exactly one of its transforms, chosen with weights
// proportional to their probabilities (albumentations' OneOf); the choice
// runs with probability P (default 0.5).
type OneOf struct {
	Transforms []Transform
	P          float64
}

// NewOneOf returns a OneOf with albumentations' default P = 0.5.
func NewOneOf(ts ...Transform) *OneOf { return &OneOf{Transforms: ts, P: 0.5} }

func (o *OneOf) Name() string  { return "OneOf" }
func (o *OneOf) Prob() float64 { return o.P }

func (o *OneOf) Validate() error {
	if err := checkP("OneOf", o.P); err != nil {
		return err
	}
	if err := validateAll("OneOf", o.Transforms); err != nil {
		return err
	}
	if weightSum(o.Transforms) <= 0 {
		return errors.New("augment.OneOf: needs at least one transform with probability > 0")
	}
	return nil
}

func weightSum(ts []Transform) float64 {
	s := 0.0
	for _, t := range ts {
		s += t.Prob()
	}
	return s
}

// pick draws an index with weights proportional to Prob, skipping those in
// used (nil: none).
func pick(rng *rand.Rand, ts []Transform, used []bool) int {
	total := 0.0
	for i, t := range ts {
		if used == nil || !used[i] {
			total += t.Prob()
		}
	}
	if total <= 0 {
		return -1
	}
	r := rng.Float64() * total
	last := -1
	for i, t := range ts {
		if used != nil && used[i] || t.Prob() <= 0 {
			continue
		}
		last = i
		r -= t.Prob()
		if r < 0 {
			return i
		}
	}
	return last
}

func (o *OneOf) Apply(rng *rand.Rand, s *Sample) error {
	if i := pick(rng, o.Transforms, nil); i >= 0 {
		return runTransform(o.Transforms[i], rng, s)
	}
	return nil
}

// SomeOf applies N of its transforms, drawn with weights proportional to
// their probabilities, with replacement unless NoReplace (albumentations'
// SomeOf: replace=True, p=1 by default).
type SomeOf struct {
	Transforms []Transform
	N          int
	NoReplace  bool
	P          float64
}

// NewSomeOf returns a SomeOf with P = 1, drawing with replacement.
func NewSomeOf(n int, ts ...Transform) *SomeOf { return &SomeOf{Transforms: ts, N: n, P: 1} }

func (o *SomeOf) Name() string  { return "SomeOf" }
func (o *SomeOf) Prob() float64 { return o.P }

func (o *SomeOf) Validate() error {
	if err := checkP("SomeOf", o.P); err != nil {
		return err
	}
	if err := validateAll("SomeOf", o.Transforms); err != nil {
		return err
	}
	if o.N < 0 {
		return fmt.Errorf("augment.SomeOf: N = %d: must be >= 0", o.N)
	}
	if o.N > 0 && weightSum(o.Transforms) <= 0 {
		return errors.New("augment.SomeOf: needs at least one transform with probability > 0")
	}
	if o.NoReplace {
		k := 0
		for _, t := range o.Transforms {
			if t.Prob() > 0 {
				k++
			}
		}
		if o.N > k {
			return fmt.Errorf("augment.SomeOf: N = %d without replacement but only %d transforms have probability > 0", o.N, k)
		}
	}
	return nil
}

func (o *SomeOf) Apply(rng *rand.Rand, s *Sample) error {
	var used []bool
	if o.NoReplace {
		used = make([]bool, len(o.Transforms))
	}
	for k := 0; k < o.N; k++ {
		i := pick(rng, o.Transforms, used)
		if i < 0 {
			return nil
		}
		if used != nil {
			used[i] = true
		}
		if err := runTransform(o.Transforms[i], rng, s); err != nil {
			return err
		}
	}
	return nil
}

// Pipeline is a complete augmentation recipe: transforms on 8-bit images,
// the box rules, and the final normalisation to float32.
type Pipeline struct {
	Transforms []Transform
	Boxes      BoxParams
	// Normalize turns the final 8-bit image into floats (Process, Tensor);
	// nil means plain scaling to [0, 1].
	Normalize *Normalize
}

// NewPipeline returns a pipeline of ts with ImageNet normalisation and no
// box thresholds.
func NewPipeline(ts ...Transform) *Pipeline {
	return &Pipeline{Transforms: ts, Normalize: NewNormalize()}
}

// Validate checks every transform and option.
func (p *Pipeline) Validate() error {
	if p == nil {
		return errors.New("augment: nil Pipeline")
	}
	if err := p.Boxes.Validate(); err != nil {
		return err
	}
	if p.Normalize != nil {
		if err := p.Normalize.Validate(); err != nil {
			return err
		}
	}
	return validateAll("Pipeline", p.Transforms)
}

// Run augments one sample. The input is not modified; the result's image,
// boxes and labels are new (the image may come from ws, and is then the
// caller's to keep or to hand back with ws.Recycle). ws may be nil.
func (p *Pipeline) Run(rng *rand.Rand, in Sample, ws *Workspace) (Sample, error) {
	s, err := p.run(rng, in, ws)
	if err != nil {
		return Sample{}, err
	}
	if s.owned != s.Image {
		// Nothing replaced the caller's image: hand back a copy.
		s.Image = s.Image.Clone()
	}
	out := Sample{Image: s.Image, Geom: s.Geom}
	out.Boxes = append([]Box(nil), s.Boxes...)
	if in.Labels != nil {
		out.Labels = append([]int(nil), s.Labels...)
	}
	return out, nil
}

// Process augments one sample and writes the normalised result, H*W*C
// float32 values in HWC order, to dst, whose length must match the output
// image. The returned sample's Boxes and Labels live in ws (valid until
// its next use) and its Image is nil: the pixels went to dst.
func (p *Pipeline) Process(rng *rand.Rand, in Sample, dst []float32, ws *Workspace) (Sample, error) {
	if ws == nil {
		ws = new(Workspace)
	}
	s, err := p.run(rng, in, ws)
	if err != nil {
		return Sample{}, err
	}
	img := s.Image
	if len(dst) != len(img.Pix) {
		return Sample{}, fmt.Errorf("augment: pipeline output is %dx%dx%d (%d values) but dst holds %d", img.W, img.H, img.C, len(img.Pix), len(dst))
	}
	n := p.Normalize
	if n == nil {
		n = scaleOnly
	}
	if err := n.Into(dst, img); err != nil {
		return Sample{}, err
	}
	if s.owned == img {
		ws.put(img)
	}
	return Sample{Boxes: s.Boxes, Labels: s.Labels, Geom: s.Geom}, nil
}

// Recycle hands an image obtained from Run back to the workspace.
func (w *Workspace) Recycle(img *Image) {
	if img != nil {
		w.put(img)
	}
}

func (p *Pipeline) run(rng *rand.Rand, in Sample, ws *Workspace) (*Sample, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := validateInput(&in); err != nil {
		return nil, err
	}
	s := &Sample{Image: in.Image, Geom: in.Geom, ws: ws, bp: p.Boxes}
	if ws != nil {
		ws.boxes = append(ws.boxes[:0], in.Boxes...)
		s.Boxes = ws.boxes
		if in.Labels != nil {
			ws.labels = append(ws.labels[:0], in.Labels...)
			s.Labels = ws.labels
		}
	} else {
		s.Boxes = append([]Box(nil), in.Boxes...)
		if in.Labels != nil {
			s.Labels = append([]int(nil), in.Labels...)
		}
	}
	if len(s.Boxes) > 0 {
		s.Boxes, s.Labels = filterBoxes(s.Boxes, s.Labels, s.Image.W, s.Image.H, s.bp)
	}
	if err := applySequence(p.Transforms, rng, s); err != nil {
		return nil, err
	}
	return s, nil
}
