package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/train"
)

// confirmZoom is the crop the classifier judges a pseudo-box by: the
// square of sort and crops (-zoom 1.4), inside the 1.15–1.75 of the
// synthetic classifier crops.
const confirmZoom = 1.4

// confirmer keeps the pseudo-boxes a classifier confirms: each box is cut
// from its original pool image as a square crop (data.SquareCrop, zoom
// confirmZoom) and classified. A 1-class detector's box stays if the
// classifier finds litter with probability at least prob (1 − its
// probability of "background": a crop it cannot place among the litter
// classes is still litter); a box of a detector with several classes stays
// if the top class is the box's class with probability at least prob.
type confirmer struct {
	files   []string // the pool's images, by Proposal.Index
	classes []string // the detector's classes
	// classify classifies crops (one Prediction each; one with an Error
	// rejects its box).
	classify func(crops []*augment.Image) []Prediction
	prob     float64
	// threshold is the SelfTrainer's: proposals less confident than it
	// are never used, so they are passed on unchecked.
	threshold float64
}

// newConfirmer confirms with a classifier checkpoint's model, batch crops
// at a time.
func newConfirmer(ctx context.Context, m layers.Layer, spec ModelSpec, files, classes []string, prob, threshold float64, batch int) (*confirmer, error) {
	if len(classes) > 1 {
		for _, c := range classes {
			if !slices.Contains(spec.Classes, c) {
				return nil, fmt.Errorf("-confirm: the classifier's classes %v lack the detector's class %q, so it could never confirm its boxes", spec.Classes, c)
			}
		}
	}
	classify := func(crops []*augment.Image) []Prediction {
		return predictImages(ctx, m, spec, len(crops), batch, func(i int) (*augment.Image, error) { return crops[i], nil })
	}
	return &confirmer{files: files, classes: classes, classify: classify, prob: prob, threshold: threshold}, nil
}

// confirms tells whether the classifier's verdict p confirms a box of the
// detector's class label.
func (c *confirmer) confirms(p Prediction, label int) bool {
	if p.Error != "" {
		return false
	}
	if len(c.classes) == 1 {
		// Litter or not: the probability of every class but background,
		// however it is shared among the litter classes.
		return 1-p.All["background"] >= c.prob
	}
	return p.Probability >= c.prob && label >= 0 && label < len(c.classes) && p.Class == c.classes[label]
}

// confirm checks the boxes of the proposals the SelfTrainer would use.
// kept[i] is props[i] with the confirmed boxes only (Class the label of
// its first, highest-scoring one; Confidence the teacher's), or with no
// boxes and Class −1 if all were rejected, and the rejected boxes added to
// its ignore regions (the classifier's doubt is not proof of background);
// rejected[i] holds props[i]'s rejected boxes (Class the first one's
// label, or −1 without).
func (c *confirmer) confirm(props []train.Proposal) (kept, rejected []train.Proposal, err error) {
	type ref struct{ prop, box int }
	var crops []*augment.Image
	var refs []ref
	for i, p := range props {
		if len(p.Boxes) == 0 || p.Class < 0 || p.Confidence < c.threshold {
			continue
		}
		if p.Index < 0 || p.Index >= len(c.files) {
			return nil, nil, fmt.Errorf("-confirm: proposal for pool image %d of %d", p.Index, len(c.files))
		}
		img, err := augment.DecodeFile(c.files[p.Index])
		if err != nil {
			return nil, nil, err
		}
		for j, b := range p.Boxes {
			crop, err := data.SquareCrop(img, b, data.CropOptions{Zoom: confirmZoom})
			if err != nil {
				return nil, nil, fmt.Errorf("-confirm: %s: %w", c.files[p.Index], err)
			}
			crops, refs = append(crops, crop), append(refs, ref{i, j})
		}
	}
	kept = slices.Clone(props)
	rejected = make([]train.Proposal, len(props))
	for i, p := range props {
		rejected[i] = train.Proposal{Index: p.Index, Class: -1, Confidence: p.Confidence}
	}
	if len(crops) == 0 {
		return kept, rejected, nil
	}
	preds := c.classify(crops)
	if len(preds) != len(crops) {
		return nil, nil, fmt.Errorf("-confirm: %d verdicts on %d crops", len(preds), len(crops))
	}
	for k := 0; k < len(refs); {
		i := refs[k].prop
		p := &kept[i]
		p.Boxes, p.BoxLabels = nil, nil
		p.Ignore = slices.Clip(p.Ignore) // appended to below: not into props[i]'s array
		r := &rejected[i]
		for ; k < len(refs) && refs[k].prop == i; k++ {
			b, label := props[i].Boxes[refs[k].box], props[i].BoxLabels[refs[k].box]
			if c.confirms(preds[k], label) {
				p.Boxes, p.BoxLabels = append(p.Boxes, b), append(p.BoxLabels, label)
			} else {
				r.Boxes, r.BoxLabels = append(r.Boxes, b), append(r.BoxLabels, label)
				p.Ignore = append(p.Ignore, b)
			}
		}
		p.Class = -1
		if len(p.BoxLabels) > 0 {
			p.Class = p.BoxLabels[0]
		}
		if len(r.BoxLabels) > 0 {
			r.Class = r.BoxLabels[0]
		}
	}
	return kept, rejected, nil
}

// usable leaves out the proposals whose boxes were all rejected: their
// images are not used.
func usable(kept, rejected []train.Proposal) []train.Proposal {
	out := make([]train.Proposal, 0, len(kept))
	for i, p := range kept {
		if len(p.Boxes) == 0 && len(rejected[i].Boxes) > 0 {
			continue
		}
		out = append(out, p)
	}
	return out
}
