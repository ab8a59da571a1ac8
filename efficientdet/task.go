package efficientdet

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/train"
)

// Predict runs the detector on a batch of images x [N, H, W, 3] under
// nn.NoGrad and returns each image's detections (see Detect); infos, if
// not nil, map them back to the original images. The caller puts the model
// in evaluation mode (layers.SetTraining(m, false)).
func (m *Model) Predict(x *nn.Tensor, infos []ImageInfo, o DetectOptions) ([][]Detection, error) {
	if err := m.checkInput(x); err != nil {
		return nil, err
	}
	a, err := m.Anchors(x.Dim(1), x.Dim(2))
	if err != nil {
		return nil, err
	}
	var out Output
	nn.NoGrad(func() { out = m.Forward(nn.NewVar(x)) })
	defer out.Release()
	return Detect(out, a, infos, o)
}

func (m *Model) checkInput(x *nn.Tensor) error {
	s := x.Shape()
	if in := m.net.Plan().InChannels; len(s) != 4 || s[3] != in || s[1] < 1 || s[2] < 1 {
		return fmt.Errorf("efficientdet: images %v: want NHWC [N H W %d] with H, W ≥ 1", s, in)
	}
	return nil
}

// Detector is the task of an EfficientDet for package train: it
// implements train.Task, so that train.Trainer fits it, and
// train.PseudoLabeler, so that train.SelfTrainer self-trains it, both
// unchanged. Batches carry boxes in input pixels (data.Batch.Boxes and
// BoxLabels, classes 0…K−1); an image may have none.
type Detector struct {
	Model   *Model
	Classes []string // class names, one per class of the model
	// LossOptions, MatchOptions and DetectOptions configure the training
	// loss, the anchor matching and the post-processing of Evaluate and
	// Propose (zero values: effdet's).
	LossOptions   LossOptions
	MatchOptions  MatchOptions
	DetectOptions DetectOptions
	// PseudoScore is the least score of a detection that Propose turns
	// into a pseudo-box (0 means 0.5).
	PseudoScore float64
	// PseudoIgnoreScore, if positive, is the least score of a detection
	// that Propose turns into an ignore region (data.Example.Ignore) when
	// it scores below PseudoScore: the anchors on objects the teacher was
	// unsure of are left out of the student's class loss instead of being
	// taught as background. 0 makes no ignore regions.
	PseudoIgnoreScore float64
}

var (
	_ train.Task          = (*Detector)(nil)
	_ train.PseudoLabeler = (*Detector)(nil)
)

// Module returns the model.
func (d *Detector) Module() layers.Module { return d.Model }

// DefaultMetric is "ap", COCO's AP averaged over IoU .50:.95.
func (d *Detector) DefaultMetric() string { return "ap" }

func (d *Detector) check() error {
	if d.Model == nil {
		return errors.New("efficientdet.Detector: no model")
	}
	if k := d.Model.NumClasses(); len(d.Classes) != k {
		return fmt.Errorf("efficientdet.Detector: model has %d classes but %d are named", k, len(d.Classes))
	}
	return nil
}

// targets assigns the anchors of every image of b.
func (d *Detector) targets(b *data.Batch, a *Anchors) ([]Targets, error) {
	n := b.Len()
	if (b.Boxes != nil && len(b.Boxes) != n) || (b.BoxLabels != nil && len(b.BoxLabels) != n) || (b.Ignore != nil && len(b.Ignore) != n) {
		return nil, fmt.Errorf("efficientdet: batch of %d images has %d box lists, %d label lists and %d ignore lists", n, len(b.Boxes), len(b.BoxLabels), len(b.Ignore))
	}
	ts := make([]Targets, n)
	for i := range n {
		var boxes []data.Box
		var labels []int
		if b.Boxes != nil {
			boxes = b.Boxes[i]
		}
		if b.BoxLabels != nil {
			labels = b.BoxLabels[i]
		}
		t, err := Assign(a, boxes, labels, d.Model.NumClasses(), d.MatchOptions)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", b.Indices[i], err)
		}
		if b.Ignore != nil && len(b.Ignore[i]) > 0 {
			if _, err := IgnoreRegions(&t, a, b.Ignore[i], d.MatchOptions); err != nil {
				return nil, fmt.Errorf("sample %d: %w", b.Indices[i], err)
			}
		}
		ts[i] = t
	}
	return ts, nil
}

// Loss computes the detection loss of a batch (see Loss), with each
// image weighted by b.Weights. It has no accuracy (train.NoAccuracy).
func (d *Detector) Loss(b *data.Batch) (*nn.Var, int, error) {
	if err := d.check(); err != nil {
		return nil, 0, err
	}
	if err := d.Model.checkInput(b.X); err != nil {
		return nil, 0, err
	}
	a, err := d.Model.Anchors(b.X.Dim(1), b.X.Dim(2))
	if err != nil {
		return nil, 0, err
	}
	if last := a.Levels[len(a.Levels)-1]; isTraining(d.Model.ClassNet) && b.Len()*last.H*last.W < 2 {
		return nil, 0, fmt.Errorf("efficientdet: a batch of %d %d×%d image leaves one value per channel at level %d, and batch norm needs two in training: use a larger batch or larger images", b.Len(), b.X.Dim(1), b.X.Dim(2), last.Level)
	}
	ts, err := d.targets(b, a)
	if err != nil {
		return nil, 0, err
	}
	out := d.Model.Forward(nn.NewVar(b.X))
	l, err := Loss(out, a, ts, b.Weights, d.LossOptions)
	if err != nil {
		return nil, 0, err
	}
	return l.Total, train.NoAccuracy, nil
}

// Evaluate detects objects in every batch of l and returns the mean loss
// and the COCO metrics as scores ("ap", "ap50", "ap75", "ap_small",
// "ap_medium", "ap_large", "ar1", "ar10", "ar100", "ar_small",
// "ar_medium", "ar_large", and "ap/<class>" per class; -1 where nothing
// could be measured). Ground truth is the batches' boxes clipped to the
// input (boxes with no area inside it are left out, as in training).
func (d *Detector) Evaluate(ctx context.Context, l *data.Loader, stage *train.Stage) (*train.Evaluation, error) {
	m, loss, n, err := d.evaluate(ctx, l, stage)
	if err != nil {
		return nil, err
	}
	e := &train.Evaluation{Samples: n, Loss: loss, Scores: m.Scores()}
	for k, name := range d.Classes {
		e.Scores["ap/"+name] = m.ClassAP[k]
	}
	return e, nil
}

// EvaluateCOCO is Evaluate returning the full metrics.
func (d *Detector) EvaluateCOCO(ctx context.Context, l *data.Loader) (*Metrics, error) {
	m, _, _, err := d.evaluate(ctx, l, nil)
	return m, err
}

func (d *Detector) evaluate(ctx context.Context, l *data.Loader, stage *train.Stage) (*Metrics, float64, int, error) {
	if err := d.check(); err != nil {
		return nil, 0, 0, err
	}
	ev := NewEvaluator(d.Model.NumClasses())
	var lossSum float64
	n := 0
	for b, err := range l.Epoch(ctx, 0) {
		if err != nil {
			return nil, 0, 0, err
		}
		if err := d.Model.checkInput(b.X); err != nil {
			return nil, 0, 0, err
		}
		a, err := d.Model.Anchors(b.X.Dim(1), b.X.Dim(2))
		if err != nil {
			return nil, 0, 0, err
		}
		ts, err := d.targets(b, a)
		if err != nil {
			return nil, 0, 0, err
		}
		var out Output
		var lv float64
		nn.NoGrad(func() {
			out = d.Model.Forward(nn.NewVar(b.X))
			var ls Losses
			if ls, err = Loss(out, a, ts, nil, d.LossOptions); err == nil {
				lv = float64(ls.Total.Value.Item())
			}
		})
		if err != nil {
			out.Release()
			return nil, 0, 0, err
		}
		dets, err := Detect(out, a, nil, d.DetectOptions)
		out.Release()
		if err != nil {
			return nil, 0, 0, err
		}
		for i := range b.Len() {
			var gts []GroundTruth
			for j, box := range boxesOf(b, i) {
				c := clipBox(box, float64(a.Width), float64(a.Height))
				if c[2] > c[0] && c[3] > c[1] {
					gts = append(gts, GroundTruth{Box: toBox(c), Class: b.BoxLabels[i][j]})
				}
			}
			if err := ev.Add(gts, dets[i]); err != nil {
				return nil, 0, 0, fmt.Errorf("sample %d: %w", b.Indices[i], err)
			}
		}
		lossSum += lv * float64(b.Len())
		n += b.Len()
		if stage != nil {
			stage.Add(b.Len(), lv, train.NoAccuracy)
		}
	}
	if n == 0 {
		return nil, 0, 0, errors.New("efficientdet.Detector.Evaluate: no samples")
	}
	return ev.Result(), lossSum / float64(n), n, nil
}

func boxesOf(b *data.Batch, i int) []data.Box {
	if b.Boxes == nil {
		return nil
	}
	return b.Boxes[i]
}

func toBox(c [4]float32) data.Box {
	return data.Box{X1: float64(c[0]), Y1: float64(c[1]), X2: float64(c[2]), Y2: float64(c[3])}
}

// Propose detects objects in every image of b (the model in evaluation
// mode, under NoGrad): the detections scoring at least PseudoScore become
// the proposal's Boxes and BoxLabels, those scoring at least
// PseudoIgnoreScore (if positive) but less its Ignore regions; its Class
// and Confidence are the class and score of the most confident detection,
// whatever its score (so that the SelfTrainer's threshold decides about
// the image, and its class balancing sees the dominant object), or -1 and
// 0 for an image without any detection. o.Temperature divides the class
// logits; o.FlipTTA adds the detections of the mirrored image and merges
// both by class-aware NMS.
func (d *Detector) Propose(b *data.Batch, o train.ProposeOpts) ([]train.Proposal, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if o.Temperature < 0 || math.IsNaN(o.Temperature) {
		return nil, fmt.Errorf("efficientdet.Detector.Propose: temperature %v must be positive", o.Temperature)
	}
	do := d.DetectOptions
	do.Temperature = o.Temperature
	do.ScoreThreshold = 0
	dets, err := d.Model.Predict(b.X, nil, do)
	if err != nil {
		return nil, err
	}
	if o.FlipTTA {
		flipped, err := d.Model.Predict(flipW(b.X), nil, do)
		if err != nil {
			return nil, err
		}
		r, err := do.resolved()
		if err != nil {
			return nil, err
		}
		w := float64(b.X.Dim(2))
		for i := range dets {
			all := append([]Detection(nil), dets[i]...)
			for _, f := range flipped[i] {
				f.Box.X1, f.Box.X2 = w-f.Box.X2, w-f.Box.X1
				all = append(all, f)
			}
			dets[i] = mergeNMS(all, r.IoUThreshold, r.MaxDetections)
		}
	}
	score := d.PseudoScore
	if score == 0 {
		score = 0.5
	}
	if d.PseudoIgnoreScore < 0 || d.PseudoIgnoreScore >= score || math.IsNaN(d.PseudoIgnoreScore) {
		return nil, fmt.Errorf("efficientdet.Detector.Propose: ignore score %v must lie in [0, %v), below the pseudo-box score", d.PseudoIgnoreScore, score)
	}
	out := make([]train.Proposal, b.Len())
	for i, ds := range dets {
		p := train.Proposal{Index: b.Indices[i], Class: -1}
		// Pseudo-boxes travel in the original image's coordinates, so that
		// Apply can put them through the student's augmentation.
		toOrig := augment.Identity
		if b.Geoms != nil {
			inv, err := b.Geoms[i].Invert()
			if err != nil {
				return nil, fmt.Errorf("efficientdet.Detector.Propose: sample %d: %w", b.Indices[i], err)
			}
			toOrig = inv
		}
		for j, det := range ds {
			if j == 0 {
				p.Class, p.Confidence = det.Class, det.Score
			}
			switch {
			case det.Score >= score:
				p.Boxes = append(p.Boxes, toOrig.MapBox(det.Box))
				p.BoxLabels = append(p.BoxLabels, det.Class)
			case d.PseudoIgnoreScore > 0 && det.Score >= d.PseudoIgnoreScore:
				p.Ignore = append(p.Ignore, toOrig.MapBox(det.Box))
			}
		}
		out[i] = p
	}
	return out, nil
}

// Apply gives the example the proposal's pseudo-boxes and ignore regions,
// mapped from the original image's coordinates into the example's through
// its geometry (ex.Geom: the noisy view's resize, padding, flips), clipped
// to the image; boxes that end up thinner than a pixel are dropped (with
// their labels).
func (d *Detector) Apply(ex *data.Example, p train.Proposal, soft bool) {
	ex.Boxes, ex.BoxLabels, ex.Ignore = nil, nil, nil
	h, w := float64(ex.Image.Dim(0)), float64(ex.Image.Dim(1))
	view := func(b data.Box) (data.Box, bool) {
		m := ex.Geom.MapBox(b)
		m = data.Box{X1: max(m.X1, 0), Y1: max(m.Y1, 0), X2: min(m.X2, w), Y2: min(m.Y2, h)}
		return m, m.X2-m.X1 >= 1 && m.Y2-m.Y1 >= 1
	}
	for i, b := range p.Boxes {
		if m, ok := view(b); ok {
			ex.Boxes = append(ex.Boxes, m)
			ex.BoxLabels = append(ex.BoxLabels, p.BoxLabels[i])
		}
	}
	for _, b := range p.Ignore {
		if m, ok := view(b); ok {
			ex.Ignore = append(ex.Ignore, m)
		}
	}
	if ex.Boxes == nil {
		ex.Boxes = []data.Box{} // a detection sample without objects
	}
	ex.Label = p.Class
}

func mergeNMS(ds []Detection, thr float64, limit int) []Detection {
	boxes := make([]data.Box, len(ds))
	scores := make([]float64, len(ds))
	classes := make([]int, len(ds))
	for i, d := range ds {
		boxes[i], scores[i], classes[i] = d.Box, d.Score, d.Class
	}
	keep := nmsClasses(boxes, scores, classes, thr, limit)
	out := make([]Detection, len(keep))
	for j, i := range keep {
		out[j] = ds[i]
	}
	return out
}

// flipW mirrors NHWC images left to right.
func flipW(x *nn.Tensor) *nn.Tensor {
	s := x.Shape()
	n, h, w, c := s[0], s[1], s[2], s[3]
	out := nn.New(s...)
	src, dst := x.Data(), out.Data()
	for i := range n * h {
		row := i * w * c
		for j := range w {
			copy(dst[row+j*c:row+(j+1)*c], src[row+(w-1-j)*c:row+(w-j)*c])
		}
	}
	return out
}
