package efficientdet_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
)

// The expected numbers below are worked out by hand from pycocotools'
// COCOeval (evaluateImg, accumulate, summarize): precision at recall r is
// the best precision at any recall ≥ r, sampled at the 101 thresholds
// 0, .01, …, 1, so a curve that stays at precision p up to recall R gives
// p·(⌊100R⌋+1)/101 (recall is a multiple of 1/npig; the count includes
// r = 0).

type img struct {
	gts  []efficientdet.GroundTruth
	dets []efficientdet.Detection
}

func box(x1, y1, x2, y2 float64) data.Box { return data.Box{X1: x1, Y1: y1, X2: x2, Y2: y2} }

func gt(b data.Box, class int) efficientdet.GroundTruth {
	return efficientdet.GroundTruth{Box: b, Class: class}
}

func crowd(b data.Box, class int) efficientdet.GroundTruth {
	return efficientdet.GroundTruth{Box: b, Class: class, Crowd: true}
}

func det(b data.Box, score float64, class int) efficientdet.Detection {
	return efficientdet.Detection{Box: b, Score: score, Class: class}
}

func evaluate(t *testing.T, classes int, imgs ...img) *efficientdet.Metrics {
	t.Helper()
	e := efficientdet.NewEvaluator(classes)
	for _, im := range imgs {
		if err := e.Add(im.gts, im.dets); err != nil {
			t.Fatal(err)
		}
	}
	return e.Result()
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

type want map[string]float64

func check(t *testing.T, m *efficientdet.Metrics, w want) {
	t.Helper()
	s := m.Scores()
	for k, v := range w {
		if !near(s[k], v) {
			t.Errorf("%s = %.6f, want %.6f", k, s[k], v)
		}
	}
}

func TestCOCOPerfect(t *testing.T) {
	m := evaluate(t, 1, img{
		gts:  []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0)},
		dets: []efficientdet.Detection{det(box(0, 0, 10, 10), 0.9, 0)},
	})
	// Area 100 is small; medium and large have no ground truth: -1.
	check(t, m, want{"ap": 1, "ap50": 1, "ap75": 1, "ap_small": 1, "ap_medium": -1, "ap_large": -1,
		"ar1": 1, "ar10": 1, "ar100": 1, "ar_small": 1, "ar_medium": -1, "ar_large": -1})
}

func TestCOCORankingAndMaxDets(t *testing.T) {
	// A false positive ranked above the true one: precision 1/2 at
	// recall 1, so AP = 0.5 at every IoU. AR@1 keeps only the FP.
	m := evaluate(t, 1, img{
		gts: []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0)},
		dets: []efficientdet.Detection{
			det(box(0, 0, 10, 10), 0.8, 0),
			det(box(20, 20, 30, 30), 0.9, 0),
		},
	})
	check(t, m, want{"ap": 0.5, "ap50": 0.5, "ar1": 0, "ar10": 1, "ar100": 1})
}

func TestCOCOIoUThresholds(t *testing.T) {
	// IoU 0.62 matches at .50, .55, .60 only: AP = 3/10, AP50 = 1, AP75 = 0.
	m := evaluate(t, 1, img{
		gts:  []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0)},
		dets: []efficientdet.Detection{det(box(0, 0, 10, 6.2), 0.9, 0)},
	})
	check(t, m, want{"ap": 0.3, "ap50": 1, "ap75": 0, "ar100": 0.3})
}

func TestCOCOCrowd(t *testing.T) {
	// Detections inside a crowd region are ignored, even several of them
	// and ranked first; without the rule they would be two false
	// positives ahead of the true one (AP 1/3).
	m := evaluate(t, 1, img{
		gts: []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0), crowd(box(50, 50, 100, 100), 0)},
		dets: []efficientdet.Detection{
			det(box(60, 60, 70, 70), 0.95, 0),
			det(box(60, 60, 80, 80), 0.93, 0),
			det(box(0, 0, 10, 10), 0.9, 0),
		},
	})
	check(t, m, want{"ap": 1, "ar100": 1})

	// Overlap with a crowd region is intersection over the detection's
	// area: 500/1000 = 0.5 (its IoU would be 0.09), so the detection is
	// ignored at IoU .50 only and a false positive ahead of the true one
	// at the nine other thresholds: AP = (1 + 9·0.5)/10.
	m = evaluate(t, 1, img{
		gts: []efficientdet.GroundTruth{crowd(box(0, 0, 100, 100), 0), gt(box(200, 200, 210, 210), 0)},
		dets: []efficientdet.Detection{
			det(box(95, 0, 105, 100), 0.9, 0),
			det(box(200, 200, 210, 210), 0.8, 0),
		},
	})
	check(t, m, want{"ap": 0.55, "ap50": 1, "ap75": 0.5})

	// A detection that overlaps a regular box enough stays with it, even
	// if a crowd region covers it better (regular boxes come first and a
	// match to one is never traded for an ignored one).
	m = evaluate(t, 1, img{
		gts:  []efficientdet.GroundTruth{crowd(box(0, 0, 10, 10), 0), gt(box(0, 0, 10, 10), 0)},
		dets: []efficientdet.Detection{det(box(0, 0, 10, 7), 0.9, 0)},
	})
	check(t, m, want{"ap50": 1})

	// A class whose only box is a crowd region has nothing to find: -1.
	m = evaluate(t, 1, img{
		gts:  []efficientdet.GroundTruth{crowd(box(0, 0, 10, 10), 0)},
		dets: []efficientdet.Detection{det(box(0, 0, 10, 10), 0.9, 0)},
	})
	check(t, m, want{"ap": -1, "ar100": -1})
}

func TestCOCOAreaRanges(t *testing.T) {
	// A small (10×10) and a large (100×100) box, both found, and a false
	// positive of medium area ranked first. "all": FP, TP, TP over 2
	// boxes, precision 2/3 everywhere. "small" and "large": the other
	// box is ignored, the detection matched to it too, and the unmatched
	// medium FP is outside the range, so ignored as well: AP 1. "medium"
	// has no box: -1.
	m := evaluate(t, 1, img{
		gts: []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0), gt(box(100, 100, 200, 200), 0)},
		dets: []efficientdet.Detection{
			det(box(300, 300, 340, 350), 0.95, 0),
			det(box(0, 0, 10, 10), 0.9, 0),
			det(box(100, 100, 200, 200), 0.8, 0),
		},
	})
	check(t, m, want{"ap": 2.0 / 3, "ap_small": 1, "ap_medium": -1, "ap_large": 1, "ar_small": 1, "ar_large": 1, "ar_medium": -1})

	// GroundTruth.Area, not the box, decides the range (COCO's
	// segmentation area): a 40×40 box annotated with area 500 is small.
	m = evaluate(t, 1, img{
		gts:  []efficientdet.GroundTruth{{Box: box(0, 0, 40, 40), Class: 0, Area: 500}},
		dets: []efficientdet.Detection{det(box(0, 0, 40, 40), 0.9, 0)},
	})
	check(t, m, want{"ap_small": 1, "ap_medium": -1})
}

func TestCOCOMaxDetections(t *testing.T) {
	// Twelve boxes, each found: AR@1 = 1/12, AR@10 = 10/12, AR@100 = 1.
	var im img
	for i := range 12 {
		x := float64(20 * i)
		im.gts = append(im.gts, gt(box(x, 0, x+10, 10), 0))
		im.dets = append(im.dets, det(box(x, 0, x+10, 10), 1-float64(i)/100, 0))
	}
	m := evaluate(t, 1, im)
	check(t, m, want{"ap": 1, "ar1": 1.0 / 12, "ar10": 10.0 / 12, "ar100": 1})

	// Only 100 detections per image and class count: a true positive
	// ranked 101st is cut off.
	im = img{gts: []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0)}}
	for i := range 100 {
		im.dets = append(im.dets, det(box(100, 100, 110, 110), 0.5+float64(i)/1000, 0))
	}
	im.dets = append(im.dets, det(box(0, 0, 10, 10), 0.1, 0))
	m = evaluate(t, 1, im)
	check(t, m, want{"ap": 0, "ar100": 0})
}

func TestCOCOTies(t *testing.T) {
	// Equal scores across images rank in image order. One box per image;
	// image A's detection is right, image B's wrong, both scored 0.5.
	a := img{gts: []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0)}, dets: []efficientdet.Detection{det(box(0, 0, 10, 10), 0.5, 0)}}
	b := img{gts: []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0)}, dets: []efficientdet.Detection{det(box(50, 50, 60, 60), 0.5, 0)}}
	// TP then FP: precision 1 up to recall 1/2: 51 of 101 thresholds.
	check(t, evaluate(t, 1, a, b), want{"ap": 51.0 / 101})
	// FP then TP: precision 1/2 up to recall 1/2.
	check(t, evaluate(t, 1, b, a), want{"ap": 0.5 * 51.0 / 101})

	// A detection overlapping two boxes equally (IoU 0.6 each) takes the
	// later one; the second detection, exactly on that box, is then a
	// false positive (its IoU with the first box is 1/3). AP50 = 51/101,
	// where taking the first box would have given 1.
	m := evaluate(t, 1, img{
		gts: []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0), gt(box(5, 0, 15, 10), 0)},
		dets: []efficientdet.Detection{
			det(box(2.5, 0, 12.5, 10), 0.9, 0),
			det(box(5, 0, 15, 10), 0.8, 0),
		},
	})
	check(t, m, want{"ap50": 51.0 / 101})
}

func TestCOCOClasses(t *testing.T) {
	// Class 0: found. Class 1: no ground truth anywhere, only a detection:
	// no AP (-1), left out of the mean. Class 2: a box never detected: AP 0,
	// counted. A class-0 false positive on an image without class-0 boxes
	// counts, ranked below the true positive.
	m := evaluate(t, 3,
		img{
			gts:  []efficientdet.GroundTruth{gt(box(0, 0, 10, 10), 0), gt(box(30, 30, 40, 40), 2)},
			dets: []efficientdet.Detection{det(box(0, 0, 10, 10), 0.9, 0), det(box(50, 50, 60, 60), 0.99, 1)},
		},
		img{dets: []efficientdet.Detection{det(box(0, 0, 10, 10), 0.5, 0)}},
	)
	if !near(m.ClassAP[0], 1) || m.ClassAP[1] != -1 || m.ClassAP[2] != 0 {
		t.Errorf("class APs %v, want [1 -1 0]", m.ClassAP)
	}
	check(t, m, want{"ap": 0.5, "ar100": 0.5})
	if m.Images != 2 || m.GroundTruths != 2 || m.Dets != 3 {
		t.Errorf("counts %d images, %d boxes, %d detections", m.Images, m.GroundTruths, m.Dets)
	}
	if !strings.Contains(m.String(), " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500") {
		t.Errorf("summary:\n%s", m)
	}
}

func TestCOCOEmptyAndBadInput(t *testing.T) {
	m := evaluate(t, 2)
	check(t, m, want{"ap": -1, "ar100": -1})
	e := efficientdet.NewEvaluator(2)
	for _, c := range []struct {
		gts  []efficientdet.GroundTruth
		dets []efficientdet.Detection
		msg  string
	}{
		{[]efficientdet.GroundTruth{gt(box(0, 0, 1, 1), 2)}, nil, "class 2"},
		{nil, []efficientdet.Detection{det(box(0, 0, 1, 1), 0.5, -1)}, "class -1"},
		{nil, []efficientdet.Detection{det(box(0, 0, 1, 1), math.NaN(), 0)}, "non-finite"},
		{[]efficientdet.GroundTruth{gt(box(0, math.Inf(1), 1, 1), 0)}, nil, "bad box"},
	} {
		if err := e.Add(c.gts, c.dets); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("want an error about %q, got %v", c.msg, err)
		}
	}
	if e.Len() != 0 {
		t.Errorf("bad images were recorded")
	}
}
