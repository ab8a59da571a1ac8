package efficientdet

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/sortnet/sortnet/data"
)

// GroundTruth is one annotated object, for evaluation.
type GroundTruth struct {
	Box   data.Box
	Class int
	// Crowd marks a COCO iscrowd region: it is never a target (missing it
	// costs nothing), a detection matched to it is neither a true nor a
	// false positive, any number of detections may match it, and their
	// overlap is measured as intersection over the detection's area.
	Crowd bool
	// Area is the object's area for the small/medium/large ranges (COCO's
	// annotation "area", which for COCO itself is the segmentation's);
	// 0 means the box's.
	Area float64
}

// COCO's evaluation parameters (pycocotools Params.setDetParams).
var (
	// COCOIoUThresholds are .50:.05:.95, computed as numpy.linspace does.
	COCOIoUThresholds = linspace(0.5, 0.95, 10)
	// COCORecallThresholds are 0:.01:1, the 101 points of the
	// interpolated precision.
	COCORecallThresholds = linspace(0, 1, 101)
	// COCOMaxDetections are the detections per image and class that AR
	// counts: 1, 10, 100 (AP uses 100).
	COCOMaxDetections = []int{1, 10, 100}
	// COCOAreaRanges are all, small (< 32²), medium (32²…96²) and large
	// (> 96²), in square pixels, both ends inclusive.
	COCOAreaRanges = [][2]float64{{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}}
)

// linspace is numpy.linspace(start, stop, n): start + i·step with the
// last value exactly stop.
func linspace(start, stop float64, n int) []float64 {
	out := make([]float64, n)
	step := (stop - start) / float64(n-1)
	for i := range out {
		out[i] = float64(i)*step + start
	}
	out[n-1] = stop
	return out
}

// Evaluator computes COCO-style detection metrics, as pycocotools'
// COCOeval does for iouType "bbox" with its default parameters: AP
// averaged over IoU thresholds .50:.05:.95 with 101-point interpolated
// precision, AP50, AP75, AP for small, medium and large objects, AR at 1,
// 10 and 100 detections per image and class, AR by size, and AP per class.
// Add one image at a time, then call Result. An Evaluator is not safe for
// concurrent use.
//
// The rules, from COCOeval.evaluateImg and accumulate:
//
//   - Images and classes are evaluated separately; at most 100
//     detections per image and class count, the highest scores (ties keep
//     their order).
//   - Each detection, by decreasing score, takes the ground-truth box of its
//     class it overlaps most with IoU ≥ the threshold that is not taken
//     yet (a later box wins an exact tie), preferring boxes that are not
//     ignored: once matched to one it does not move to an ignored one.
//   - A box is ignored when it is a crowd region or its area is outside
//     the range evaluated; a detection matched to an ignored box is
//     ignored, and so is an unmatched detection whose own area is outside
//     the range.
//   - Per class and range, detections of all images are ranked by score
//     (ties: image order, then rank within the image); precision at each
//     recall threshold r is the highest precision at any recall ≥ r (0 if
//     r is never reached); recall is that of all detections.
//   - A class with no ground truth that is not ignored (in the range) has
//     no AP or AR there (-1) and is left out of the means; so are images
//     and classes without boxes or detections.
type Evaluator struct {
	numClasses int
	images     []evalImage
}

type evalImage struct {
	gts  []GroundTruth
	dets []Detection
}

// NewEvaluator returns an evaluator for classes 0…numClasses−1.
func NewEvaluator(numClasses int) *Evaluator {
	if numClasses < 1 {
		panic(fmt.Sprintf("efficientdet.NewEvaluator: %d classes", numClasses))
	}
	return &Evaluator{numClasses: numClasses}
}

// Add records one image's ground truth and detections. Classes outside
// [0, numClasses), non-finite coordinates or scores and negative areas
// are errors (and nothing is recorded). Detections may be in any order.
func (e *Evaluator) Add(gts []GroundTruth, dets []Detection) error {
	for i, g := range gts {
		if g.Class < 0 || g.Class >= e.numClasses {
			return fmt.Errorf("efficientdet: ground truth %d has class %d, outside [0, %d)", i, g.Class, e.numClasses)
		}
		if !finite(g.Box.X1, g.Box.Y1, g.Box.X2, g.Box.Y2, g.Area) || g.Area < 0 {
			return fmt.Errorf("efficientdet: ground truth %d: bad box %v or area %v", i, g.Box, g.Area)
		}
	}
	for i, d := range dets {
		if d.Class < 0 || d.Class >= e.numClasses {
			return fmt.Errorf("efficientdet: detection %d has class %d, outside [0, %d)", i, d.Class, e.numClasses)
		}
		if !finite(d.Box.X1, d.Box.Y1, d.Box.X2, d.Box.Y2, d.Score) {
			return fmt.Errorf("efficientdet: detection %d: non-finite box %v or score %v", i, d.Box, d.Score)
		}
	}
	e.images = append(e.images, evalImage{append([]GroundTruth(nil), gts...), append([]Detection(nil), dets...)})
	return nil
}

// Len returns the number of images added.
func (e *Evaluator) Len() int { return len(e.images) }

// Metrics are the COCO summary numbers (pycocotools' stats, in [0, 1],
// or -1 where nothing could be measured) and the AP of every class.
type Metrics struct {
	AP, AP50, AP75             float64
	APSmall, APMedium, APLarge float64
	AR1, AR10, AR100           float64
	ARSmall, ARMedium, ARLarge float64
	ClassAP, ClassAP50         []float64 // per class, area all, 100 detections; -1 without ground truth
	Images, GroundTruths, Dets int
	precision                  []float64 // [T][R][K][A][M]
	recall                     []float64 // [T][K][A][M]
	nT, nR, nK, nA, nM         int
}

// Scores returns the summary numbers by name: "ap", "ap50", "ap75",
// "ap_small", "ap_medium", "ap_large", "ar1", "ar10", "ar100",
// "ar_small", "ar_medium", "ar_large".
func (m *Metrics) Scores() map[string]float64 {
	return map[string]float64{
		"ap": m.AP, "ap50": m.AP50, "ap75": m.AP75,
		"ap_small": m.APSmall, "ap_medium": m.APMedium, "ap_large": m.APLarge,
		"ar1": m.AR1, "ar10": m.AR10, "ar100": m.AR100,
		"ar_small": m.ARSmall, "ar_medium": m.ARMedium, "ar_large": m.ARLarge,
	}
}

// String prints the twelve lines of COCOeval.summarize.
func (m *Metrics) String() string {
	var b strings.Builder
	line := func(ap bool, iou, area string, maxDet int, v float64) {
		title, kind := "Average Precision", "(AP)"
		if !ap {
			title, kind = "Average Recall", "(AR)"
		}
		fmt.Fprintf(&b, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n", title, kind, iou, area, maxDet, v)
	}
	all := "0.50:0.95"
	line(true, all, "all", 100, m.AP)
	line(true, "0.50", "all", 100, m.AP50)
	line(true, "0.75", "all", 100, m.AP75)
	line(true, all, "small", 100, m.APSmall)
	line(true, all, "medium", 100, m.APMedium)
	line(true, all, "large", 100, m.APLarge)
	line(false, all, "all", 1, m.AR1)
	line(false, all, "all", 10, m.AR10)
	line(false, all, "all", 100, m.AR100)
	line(false, all, "small", 100, m.ARSmall)
	line(false, all, "medium", 100, m.ARMedium)
	line(false, all, "large", 100, m.ARLarge)
	return b.String()
}

// perImage is COCOeval.evaluateImg's result for one image, class and
// area range.
type perImage struct {
	scores  []float64 // detections, highest score first (at most 100)
	matched [][]bool  // [T][D]: matched to a ground-truth box
	ignored [][]bool  // [T][D]
	npig    int       // ground-truth boxes not ignored
}

// Result computes the metrics over every image added so far.
func (e *Evaluator) Result() *Metrics {
	T, R, K, A, M := len(COCOIoUThresholds), len(COCORecallThresholds), e.numClasses, len(COCOAreaRanges), len(COCOMaxDetections)
	maxDet := COCOMaxDetections[M-1]
	m := &Metrics{nT: T, nR: R, nK: K, nA: A, nM: M, Images: len(e.images)}
	m.precision = make([]float64, T*R*K*A*M)
	m.recall = make([]float64, T*K*A*M)
	for i := range m.precision {
		m.precision[i] = -1
	}
	for i := range m.recall {
		m.recall[i] = -1
	}
	// evals[k][a] lists the per-image results in image order (nil entries
	// for images with neither boxes nor detections of class k).
	evals := make([][][]*perImage, K)
	for k := range evals {
		evals[k] = make([][]*perImage, A)
	}
	for _, img := range e.images {
		m.GroundTruths += len(img.gts)
		m.Dets += len(img.dets)
		byG := make([][]GroundTruth, K)
		byD := make([][]Detection, K)
		for _, g := range img.gts {
			byG[g.Class] = append(byG[g.Class], g)
		}
		for _, d := range img.dets {
			byD[d.Class] = append(byD[d.Class], d)
		}
		for k := range K {
			gts, dets := byG[k], byD[k]
			if len(gts) == 0 && len(dets) == 0 {
				continue
			}
			sort.SliceStable(dets, func(i, j int) bool { return dets[i].Score > dets[j].Score })
			if len(dets) > maxDet {
				dets = dets[:maxDet]
			}
			ious := make([][]float64, len(dets))
			for d := range dets {
				ious[d] = make([]float64, len(gts))
				for g := range gts {
					ious[d][g] = cocoIoU(dets[d].Box, gts[g].Box, gts[g].Crowd)
				}
			}
			for a, rng := range COCOAreaRanges {
				evals[k][a] = append(evals[k][a], evaluateImg(gts, dets, ious, rng))
			}
		}
	}
	idx := func(t, r, k, a, mi int) int { return (((t*R+r)*K+k)*A+a)*M + mi }
	ridx := func(t, k, a, mi int) int { return ((t*K+k)*A+a)*M + mi }
	for k := range K {
		for a := range A {
			E := evals[k][a]
			if len(E) == 0 {
				continue
			}
			npig := 0
			for _, ev := range E {
				npig += ev.npig
			}
			if npig == 0 {
				continue
			}
			for mi, md := range COCOMaxDetections {
				// Gather the first md detections of every image, ranked by
				// score; a stable sort keeps image order on ties.
				type det struct {
					score float64
					ev    *perImage
					i     int
				}
				var ds []det
				for _, ev := range E {
					for i := range min(md, len(ev.scores)) {
						ds = append(ds, det{ev.scores[i], ev, i})
					}
				}
				sort.SliceStable(ds, func(i, j int) bool { return ds[i].score > ds[j].score })
				for t := range T {
					tp, fp := 0, 0
					rc := make([]float64, 0, len(ds))
					pr := make([]float64, 0, len(ds))
					for _, d := range ds {
						if d.ev.ignored[t][d.i] {
							// Neither a true nor a false positive: the
							// curves repeat their last point.
						} else if d.ev.matched[t][d.i] {
							tp++
						} else {
							fp++
						}
						rc = append(rc, float64(tp)/float64(npig))
						pr = append(pr, float64(tp)/(float64(fp+tp)+eps64))
					}
					if len(rc) > 0 {
						m.recall[ridx(t, k, a, mi)] = rc[len(rc)-1]
					} else {
						m.recall[ridx(t, k, a, mi)] = 0
					}
					for i := len(pr) - 1; i > 0; i-- {
						if pr[i] > pr[i-1] {
							pr[i-1] = pr[i]
						}
					}
					for r, thr := range COCORecallThresholds {
						q := 0.0
						if i := sort.SearchFloat64s(rc, thr); i < len(rc) {
							q = pr[i]
						}
						m.precision[idx(t, r, k, a, mi)] = q
					}
				}
			}
		}
	}
	m.AP = m.summarize(true, -1, 0, M-1)
	m.AP50 = m.summarize(true, 0, 0, M-1)
	m.AP75 = m.summarize(true, 5, 0, M-1)
	m.APSmall = m.summarize(true, -1, 1, M-1)
	m.APMedium = m.summarize(true, -1, 2, M-1)
	m.APLarge = m.summarize(true, -1, 3, M-1)
	m.AR1 = m.summarize(false, -1, 0, 0)
	m.AR10 = m.summarize(false, -1, 0, 1)
	m.AR100 = m.summarize(false, -1, 0, M-1)
	m.ARSmall = m.summarize(false, -1, 1, M-1)
	m.ARMedium = m.summarize(false, -1, 2, M-1)
	m.ARLarge = m.summarize(false, -1, 3, M-1)
	m.ClassAP = make([]float64, K)
	m.ClassAP50 = make([]float64, K)
	for k := range K {
		m.ClassAP[k] = m.mean(true, -1, k, 0, M-1)
		m.ClassAP50[k] = m.mean(true, 0, k, 0, M-1)
	}
	return m
}

// eps64 is numpy's np.spacing(1), which COCOeval adds to the precision's
// denominator.
const eps64 = 2.220446049250313e-16

// summarize is COCOeval.summarize's _summarize over all classes: the mean
// of the entries that are not -1 (t = -1: every IoU threshold).
func (m *Metrics) summarize(ap bool, t, a, mi int) float64 { return m.mean(ap, t, -1, a, mi) }

// mean averages precision (ap) or recall over IoU threshold t (-1: all),
// class k (-1: all), area range a and max-detection index mi, skipping -1.
func (m *Metrics) mean(ap bool, t, k, a, mi int) float64 {
	sum, n := 0.0, 0
	for ti := range m.nT {
		if t >= 0 && ti != t {
			continue
		}
		for ki := range m.nK {
			if k >= 0 && ki != k {
				continue
			}
			if ap {
				for r := range m.nR {
					if v := m.precision[(((ti*m.nR+r)*m.nK+ki)*m.nA+a)*m.nM+mi]; v > -1 {
						sum += v
						n++
					}
				}
			} else if v := m.recall[((ti*m.nK+ki)*m.nA+a)*m.nM+mi]; v > -1 {
				sum += v
				n++
			}
		}
	}
	if n == 0 {
		return -1
	}
	return sum / float64(n)
}

// Precision returns the interpolated precision at IoU threshold index t,
// recall threshold index r, class k, area range a and max-detection index
// mi (COCOeval's eval["precision"][t, r, k, a, mi]; -1 where not
// measured).
func (m *Metrics) Precision(t, r, k, a, mi int) float64 {
	return m.precision[(((t*m.nR+r)*m.nK+k)*m.nA+a)*m.nM+mi]
}

// Recall returns COCOeval's eval["recall"][t, k, a, mi].
func (m *Metrics) Recall(t, k, a, mi int) float64 {
	return m.recall[((t*m.nK+k)*m.nA+a)*m.nM+mi]
}

// cocoIoU is COCO's bbIou: intersection over union, or over the
// detection's area for a crowd box.
func cocoIoU(d, g data.Box, crowd bool) float64 {
	w := math.Min(d.X2, g.X2) - math.Max(d.X1, g.X1)
	if w <= 0 {
		return 0
	}
	h := math.Min(d.Y2, g.Y2) - math.Max(d.Y1, g.Y1)
	if h <= 0 {
		return 0
	}
	i := w * h
	da := (d.X2 - d.X1) * (d.Y2 - d.Y1)
	if crowd {
		return i / da
	}
	return i / (da + (g.X2-g.X1)*(g.Y2-g.Y1) - i)
}

// evaluateImg is COCOeval.evaluateImg for one image, class and area range.
// dets are sorted by score and truncated; ious[d][g] in the given orders.
func evaluateImg(gts []GroundTruth, dets []Detection, ious [][]float64, rng [2]float64) *perImage {
	out := &perImage{scores: make([]float64, len(dets))}
	for i, d := range dets {
		out.scores[i] = d.Score
	}
	// Ground truth: ignored boxes last (stable).
	ign := make([]bool, len(gts))
	order := make([]int, len(gts))
	for g, gt := range gts {
		a := gt.Area
		if a == 0 {
			a = area(gt.Box)
		}
		ign[g] = gt.Crowd || a < rng[0] || a > rng[1]
		order[g] = g
		if !ign[g] {
			out.npig++
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return !ign[order[i]] && ign[order[j]] })
	T := len(COCOIoUThresholds)
	out.matched = make([][]bool, T)
	out.ignored = make([][]bool, T)
	for t, thr := range COCOIoUThresholds {
		taken := make([]bool, len(gts))
		out.matched[t] = make([]bool, len(dets))
		out.ignored[t] = make([]bool, len(dets))
		for d := range dets {
			best := math.Min(thr, 1-1e-10)
			m := -1
			for _, g := range order {
				if taken[g] && !gts[g].Crowd {
					continue
				}
				if m > -1 && !ign[m] && ign[g] {
					break
				}
				if ious[d][g] < best {
					continue
				}
				best, m = ious[d][g], g
			}
			if m == -1 {
				continue
			}
			out.ignored[t][d] = ign[m]
			out.matched[t][d] = true
			taken[m] = true
		}
		// Unmatched detections outside the area range are ignored.
		for d, det := range dets {
			if a := area(det.Box); !out.matched[t][d] && (a < rng[0] || a > rng[1]) {
				out.ignored[t][d] = true
			}
		}
	}
	return out
}
