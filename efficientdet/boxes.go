package efficientdet

import (
	"math"
	"sort"

	"github.com/sortnet/sortnet/data"
)

// Boxes here are data.Box values, (x1, y1, x2, y2) in pixels; internally
// anchors and decoded predictions are [4]float32 in the same order.

// IoU returns the intersection over union of two boxes, 0 when they do
// not overlap (torchvision.ops.box_iou for one pair; a box with no area
// overlaps nothing).
func IoU(a, b data.Box) float64 {
	w := math.Min(a.X2, b.X2) - math.Max(a.X1, b.X1)
	h := math.Min(a.Y2, b.Y2) - math.Max(a.Y1, b.Y1)
	if !(w > 0 && h > 0) {
		return 0
	}
	inter := w * h
	return inter / (area(a) + area(b) - inter)
}

func area(b data.Box) float64 { return (b.X2 - b.X1) * (b.Y2 - b.Y1) }

// PairwiseIoU returns the IoU of every box of a with every box of b, row
// by row: element i·len(b)+j is IoU(a[i], b[j]) (torchvision.ops.box_iou).
func PairwiseIoU(a, b []data.Box) []float64 {
	out := make([]float64, len(a)*len(b))
	for i := range a {
		for j := range b {
			out[i*len(b)+j] = IoU(a[i], b[j])
		}
	}
	return out
}

// iou32 is effdet's IouSimilarity in float32 (region_similarity_calculator
// .iou), operation for operation, so that matching decides ties as effdet
// does: boxes (x1, y1, x2, y2), intersection clamped at 0, IoU 0 where the
// intersection is 0.
func iou32(a, b *[4]float32) float32 {
	ih := float32(min(a[3], b[3]) - max(a[1], b[1]))
	if ih <= 0 {
		return 0
	}
	iw := float32(min(a[2], b[2]) - max(a[0], b[0]))
	if iw <= 0 {
		return 0
	}
	inter := float32(ih * iw)
	aa := float32(float32(a[3]-a[1]) * float32(a[2]-a[0]))
	ab := float32(float32(b[3]-b[1]) * float32(b[2]-b[0]))
	return inter / float32(float32(aa+ab)-inter)
}

// boxCoderEps is effdet's FasterRcnnBoxCoder epsilon, added to the sizes
// before dividing and taking logarithms.
const boxCoderEps = 1e-7

// Encode returns the Faster R-CNN encoding of box b relative to anchor a,
// (ty, tx, th, tw) = ((y−ya)/ha, (x−xa)/wa, log(h/ha), log(w/wa)) with
// centres (y, x) and sizes (h, w), in effdet's order and float32
// arithmetic (FasterRcnnBoxCoder without scale factors).
func Encode(b, a [4]float32) [4]float32 {
	ya, xa := float32(a[1]+a[3])/2, float32(a[0]+a[2])/2
	ha, wa := float32(a[3]-a[1])+boxCoderEps, float32(a[2]-a[0])+boxCoderEps
	y, x := float32(b[1]+b[3])/2, float32(b[0]+b[2])/2
	h, w := float32(b[3]-b[1])+boxCoderEps, float32(b[2]-b[0])+boxCoderEps
	return [4]float32{
		float32(y-ya) / ha,
		float32(x-xa) / wa,
		float32(math.Log(float64(h / ha))),
		float32(math.Log(float64(w / wa))),
	}
}

// Decode inverts Encode for a prediction t = (ty, tx, th, tw) at anchor a
// (effdet's decode_box_outputs): the box (x1, y1, x2, y2).
func Decode(t, a [4]float32) [4]float32 {
	ya, xa := float32(a[1]+a[3])/2, float32(a[0]+a[2])/2
	ha, wa := a[3]-a[1], a[2]-a[0]
	w := float32(math.Exp(float64(t[3]))) * wa
	h := float32(math.Exp(float64(t[2]))) * ha
	y := float32(t[0]*ha) + ya
	x := float32(t[1]*wa) + xa
	return [4]float32{x - w/2, y - h/2, x + w/2, y + h/2}
}

// NMS is non-maximum suppression as torchvision.ops.nms: visiting boxes
// by decreasing score, it keeps a box unless its IoU with a box already
// kept is above iouThreshold. It returns the indices kept, highest score
// first. Equal scores keep their index order. Boxes or scores that are
// NaN are dropped.
func NMS(boxes []data.Box, scores []float64, iouThreshold float64) []int {
	return nmsClasses(boxes, scores, nil, iouThreshold, 0)
}

// BatchedNMS is NMS within each class (torchvision.ops.batched_nms):
// boxes of different classes never suppress each other. The indices kept
// come highest score first.
func BatchedNMS(boxes []data.Box, scores []float64, classes []int, iouThreshold float64) []int {
	return nmsClasses(boxes, scores, classes, iouThreshold, 0)
}

// nmsClasses runs class-aware greedy NMS (all one class when classes is
// nil) and stops after limit boxes are kept (0: no limit). A candidate is
// kept when no kept box of its class overlaps it by more than the
// threshold, which is greedy NMS checked against the kept set only.
func nmsClasses(boxes []data.Box, scores []float64, classes []int, thr float64, limit int) []int {
	order := byScore(boxes, scores)
	kept := map[int][]int{}
	var out []int
	for _, i := range order {
		c := 0
		if classes != nil {
			c = classes[i]
		}
		ok := true
		for _, k := range kept[c] {
			if IoU(boxes[i], boxes[k]) > thr {
				ok = false
				break
			}
		}
		if ok {
			kept[c] = append(kept[c], i)
			out = append(out, i)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out
}

// byScore returns the indices of the finite boxes and scores, highest
// score first, ties in index order.
func byScore(boxes []data.Box, scores []float64) []int {
	order := make([]int, 0, len(scores))
	for i, s := range scores {
		b := boxes[i]
		if !math.IsNaN(s) && finite(b.X1, b.Y1, b.X2, b.Y2) {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	return order
}

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// SoftNMSOptions configure SoftNMS.
type SoftNMSOptions struct {
	// Sigma is the Gaussian penalty's width: a box overlapping the one
	// just kept by IoU u has its score multiplied by exp(−u²/Sigma).
	// 0 means effdet's 0.5.
	Sigma float64
	// ScoreThreshold drops boxes whose rescored score falls to or below
	// it. 0 means effdet's 0.001.
	ScoreThreshold float64
}

// SoftNMS is effdet's batched Gaussian soft-NMS (Bodla et al. 2017):
// within each class it repeatedly keeps the highest-scoring remaining box
// and decays the scores of the others by exp(−IoU²/Sigma), dropping those
// that fall to ScoreThreshold. It returns the indices kept and their new
// scores, highest first. Its cost grows with the square of the boxes per
// class (effdet calls it "incredibly slow").
func SoftNMS(boxes []data.Box, scores []float64, classes []int, o SoftNMSOptions) (keep []int, newScores []float64) {
	sigma, thr := o.Sigma, o.ScoreThreshold
	if sigma == 0 {
		sigma = 0.5
	}
	if thr == 0 {
		thr = 0.001
	}
	groups := map[int][]int{}
	var cls []int
	for _, i := range byScore(boxes, scores) {
		c := 0
		if classes != nil {
			c = classes[i]
		}
		if _, ok := groups[c]; !ok {
			cls = append(cls, c)
		}
		groups[c] = append(groups[c], i)
	}
	type pick struct {
		i int
		s float64
	}
	var picks []pick
	for _, c := range cls {
		rem := groups[c]
		s := make([]float64, len(rem))
		for j, i := range rem {
			s[j] = scores[i]
		}
		for len(rem) > 0 {
			top := 0
			for j := range s {
				if s[j] > s[top] {
					top = j
				}
			}
			picks = append(picks, pick{rem[top], s[top]})
			tb := boxes[rem[top]]
			n := 0
			for j := range rem {
				if j == top {
					continue
				}
				u := IoU(tb, boxes[rem[j]])
				v := s[j] * math.Exp(-u*u/sigma)
				if v > thr {
					rem[n], s[n] = rem[j], v
					n++
				}
			}
			rem, s = rem[:n], s[:n]
		}
	}
	sort.SliceStable(picks, func(a, b int) bool { return picks[a].s > picks[b].s })
	keep = make([]int, len(picks))
	newScores = make([]float64, len(picks))
	for j, p := range picks {
		keep[j], newScores[j] = p.i, p.s
	}
	return keep, newScores
}
