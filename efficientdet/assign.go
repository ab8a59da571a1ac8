package efficientdet

import (
	"fmt"
	"math"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/nn"
)

// Anchor classes in Targets.Class besides the object classes 0…K−1.
const (
	Background = -1 // a negative anchor: every class's target is 0
	Ignored    = -2 // left out of the class loss
)

// MatchOptions configure Assign.
type MatchOptions struct {
	// MatchThreshold: an anchor whose best IoU with a ground-truth box is
	// at least this is a positive for that box (0 means effdet's 0.5).
	MatchThreshold float64
	// UnmatchedThreshold: anchors whose best IoU is below it are
	// background; those between it and MatchThreshold are Ignored. 0
	// means MatchThreshold (effdet: no ignored anchors).
	UnmatchedThreshold float64
	// IgnoreIoU: a background anchor overlapping an ignore region
	// (data.Batch.Ignore, see IgnoreRegions) at IoU ≥ IgnoreIoU is
	// Ignored (0 means 0.3).
	IgnoreIoU float64
}

func (o MatchOptions) thresholds() (float32, float32, error) {
	m, u := o.MatchThreshold, o.UnmatchedThreshold
	if m == 0 {
		m = 0.5
	}
	if u == 0 {
		u = m
	}
	if !(m > 0 && m <= 1) || !(u > 0 && u <= m) {
		return 0, 0, fmt.Errorf("efficientdet: match thresholds %v, %v: want 0 < unmatched <= match <= 1", o.MatchThreshold, o.UnmatchedThreshold)
	}
	return float32(m), float32(u), nil
}

// Targets are one image's training targets, one per anchor.
type Targets struct {
	// Class holds each anchor's class: an object class 0…K−1 for a
	// positive, Background or Ignored.
	Class []int32
	// Box holds each anchor's encoded box (ty, tx, th, tw) at 4a…4a+3;
	// zero except at positives.
	Box []float32
	// Positives counts the positive anchors.
	Positives int
	// Dropped counts the boxes left out because they had no area inside
	// the image.
	Dropped int
}

// Assign matches an image's ground-truth boxes (input pixels, labels in
// [0, numClasses)) to the anchors as effdet's AnchorLabeler does
// (TensorFlow's ArgMaxMatcher with force_match_for_each_row, and the
// Faster R-CNN box coder):
//
//   - each anchor takes the box it overlaps most (the first on ties); at
//     IoU ≥ MatchThreshold it is a positive of that box's class, below
//     UnmatchedThreshold background, in between Ignored;
//   - then every box claims the anchor it overlaps most (the first on
//     ties), whatever the IoU, so that no object goes without a positive
//     (a contested anchor goes to the first box);
//   - positives get the encoded box (Encode) as their regression target.
//
// Boxes are clipped to the image; a box with no area left is dropped and
// counted in Targets.Dropped. A box with a NaN or infinite coordinate or
// a label outside [0, numClasses) is an error. An image without boxes has
// only background anchors. The IoUs are computed in float32 in effdet's
// order of operations, spread over anchors in fixed blocks (the result does
// not depend on the thread count).
func Assign(a *Anchors, boxes []data.Box, labels []int, numClasses int, o MatchOptions) (Targets, error) {
	matchThr, unmatchedThr, err := o.thresholds()
	if err != nil {
		return Targets{}, err
	}
	if len(boxes) != len(labels) {
		return Targets{}, fmt.Errorf("efficientdet: %d boxes but %d labels", len(boxes), len(labels))
	}
	var gt [][4]float32
	var gl []int32
	t := Targets{Class: make([]int32, a.Len()), Box: make([]float32, 4*a.Len())}
	for i, b := range boxes {
		if !finite(b.X1, b.Y1, b.X2, b.Y2) {
			return Targets{}, fmt.Errorf("efficientdet: box %d %v has a non-finite coordinate", i, b)
		}
		if labels[i] < 0 || labels[i] >= numClasses {
			return Targets{}, fmt.Errorf("efficientdet: box %d has label %d, outside [0, %d)", i, labels[i], numClasses)
		}
		c := clipBox(b, float64(a.Width), float64(a.Height))
		if !(c[2] > c[0] && c[3] > c[1]) {
			t.Dropped++
			continue
		}
		gt = append(gt, c)
		gl = append(gl, int32(labels[i]))
	}
	match := make([]int32, a.Len())
	if len(gt) == 0 {
		for i := range t.Class {
			t.Class[i] = Background
		}
		return t, nil
	}
	// Per anchor: best box; per box: best anchor within each block.
	const grain = 4096
	nb := (a.Len() + grain - 1) / grain
	bestVal := make([]float32, nb*len(gt))
	bestIdx := make([]int32, nb*len(gt))
	nn.ParallelFor(a.Len(), grain, func(lo, hi int) {
		blk := lo / grain
		bv, bi := bestVal[blk*len(gt):(blk+1)*len(gt)], bestIdx[blk*len(gt):(blk+1)*len(gt)]
		for g := range bv {
			bv[g], bi[g] = -1, -1
		}
		for i := lo; i < hi; i++ {
			ab := &a.Boxes[i]
			best, arg := float32(-1), int32(-1)
			for g := range gt {
				u := iou32(&gt[g], ab)
				if u > best {
					best, arg = u, int32(g)
				}
				if u > bv[g] {
					bv[g], bi[g] = u, int32(i)
				}
			}
			switch {
			case best >= matchThr:
				match[i] = arg
			case best >= unmatchedThr:
				match[i] = Ignored
			default:
				match[i] = Background
			}
		}
	})
	// Force-match: each box's best anchor over all blocks (first on ties);
	// an anchor claimed by several boxes goes to the first.
	claimed := map[int32]bool{}
	for g := range gt {
		bv, bi := float32(-1), int32(-1)
		for blk := range nb {
			if v := bestVal[blk*len(gt)+g]; v > bv {
				bv, bi = v, bestIdx[blk*len(gt)+g]
			}
		}
		if !claimed[bi] {
			claimed[bi] = true
			match[bi] = int32(g)
		}
	}
	for i, m := range match {
		if m < 0 {
			t.Class[i] = m
			continue
		}
		t.Class[i] = gl[m]
		t.Positives++
		e := Encode(gt[m], a.Boxes[i])
		copy(t.Box[4*i:4*i+4], e[:])
	}
	return t, nil
}

// clipBox converts b to float32 clipped to [0, w]×[0, h].
func clipBox(b data.Box, w, h float64) [4]float32 {
	cl := func(v, hi float64) float32 { return float32(math.Min(math.Max(v, 0), hi)) }
	return [4]float32{cl(b.X1, w), cl(b.Y1, h), cl(b.X2, w), cl(b.Y2, h)}
}

// IgnoreRegions turns the Background anchors of t that overlap one of
// regions (input pixels, clipped to the image) at IoU ≥ o.IgnoreIoU into
// Ignored anchors, which the class loss leaves out; positives keep their
// class. Self-training uses it for the objects a teacher was unsure of:
// taught as background they would punish the student for finding litter
// the teacher missed. Regions with no area inside the image are skipped; a
// non-finite coordinate is an error. It returns the number of anchors
// turned.
func IgnoreRegions(t *Targets, a *Anchors, regions []data.Box, o MatchOptions) (int, error) {
	thr := o.IgnoreIoU
	if thr == 0 {
		thr = 0.3
	}
	if !(thr > 0 && thr <= 1) {
		return 0, fmt.Errorf("efficientdet: ignore IoU %v: want (0, 1]", o.IgnoreIoU)
	}
	if len(t.Class) != a.Len() {
		return 0, fmt.Errorf("efficientdet: targets of %d anchors for %d anchors", len(t.Class), a.Len())
	}
	var rs [][4]float32
	for i, b := range regions {
		if !finite(b.X1, b.Y1, b.X2, b.Y2) {
			return 0, fmt.Errorf("efficientdet: ignore region %d %v has a non-finite coordinate", i, b)
		}
		if c := clipBox(b, float64(a.Width), float64(a.Height)); c[2] > c[0] && c[3] > c[1] {
			rs = append(rs, c)
		}
	}
	if len(rs) == 0 {
		return 0, nil
	}
	const grain = 4096
	counts := make([]int, (a.Len()+grain-1)/grain)
	nn.ParallelFor(a.Len(), grain, func(lo, hi int) {
		n := 0
		for i := lo; i < hi; i++ {
			if t.Class[i] != Background {
				continue
			}
			for r := range rs {
				if iou32(&rs[r], &a.Boxes[i]) >= float32(thr) {
					t.Class[i] = Ignored
					n++
					break
				}
			}
		}
		counts[lo/grain] = n
	})
	n := 0
	for _, c := range counts {
		n += c
	}
	return n, nil
}
