package efficientdet

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/nn"
)

// Detection is one object found in an image.
type Detection struct {
	Box   data.Box // pixels of the original image (of the input without an ImageInfo)
	Score float64  // the class probability, sigmoid of the logit, in [0, 1]
	Class int      // 0…NumClasses−1
}

// Letterbox is how an original image was placed on the model's input: a
// point (x, y) of the original lands at (x·Scale − OffsetX, y·Scale −
// OffsetY). It has the fields of augment.Letterbox, so one converts into
// the other (efficientdet.Letterbox(lb)); effdet's "img_scale" is
// 1/Scale. The zero Letterbox is the identity.
type Letterbox struct {
	Scale            float64
	OffsetX, OffsetY float64
}

func (l Letterbox) scale() float64 {
	if l.Scale == 0 {
		return 1
	}
	return l.Scale
}

// Forward maps a box of the original image onto the input.
func (l Letterbox) Forward(b data.Box) data.Box {
	s := l.scale()
	return data.Box{X1: b.X1*s - l.OffsetX, Y1: b.Y1*s - l.OffsetY, X2: b.X2*s - l.OffsetX, Y2: b.Y2*s - l.OffsetY}
}

// Inverse maps a box on the input (a prediction) back to the original
// image: ((x + OffsetX)/Scale, (y + OffsetY)/Scale).
func (l Letterbox) Inverse(b data.Box) data.Box {
	s := l.scale()
	return data.Box{X1: (b.X1 + l.OffsetX) / s, Y1: (b.Y1 + l.OffsetY) / s, X2: (b.X2 + l.OffsetX) / s, Y2: (b.Y2 + l.OffsetY) / s}
}

// ImageInfo says where an input image came from: its letterbox placement
// and the original size (0: unknown, then detections are clipped to the
// input only).
type ImageInfo struct {
	Letterbox     Letterbox
	Width, Height int
}

// DetectOptions configure Detect. Zero fields take effdet's defaults.
type DetectOptions struct {
	// Candidates is how many (anchor, class) pairs with the highest
	// logits are decoded before NMS; 0 means 5000.
	Candidates int
	// IoUThreshold: NMS drops a box overlapping a kept box of its class
	// by more than this; 0 means 0.5.
	IoUThreshold float64
	// MaxDetections per image after NMS; 0 means 100.
	MaxDetections int
	// ScoreThreshold drops candidates whose score is below it (0: keep
	// all, as effdet does for evaluation).
	ScoreThreshold float64
	// SoftNMS replaces NMS by Gaussian soft-NMS (effdet's soft_nms option:
	// σ 0.5, scores pruned at 0.001), which rescores the detections.
	SoftNMS bool
	// Temperature divides the class logits before the sigmoid (0 means 1).
	Temperature float64
}

func (o DetectOptions) resolved() (DetectOptions, error) {
	if o.Candidates == 0 {
		o.Candidates = 5000
	}
	if o.IoUThreshold == 0 {
		o.IoUThreshold = 0.5
	}
	if o.MaxDetections == 0 {
		o.MaxDetections = 100
	}
	if o.Temperature == 0 {
		o.Temperature = 1
	}
	switch {
	case o.Candidates < 0 || o.MaxDetections < 0:
		return o, fmt.Errorf("efficientdet: Candidates %d and MaxDetections %d must not be negative", o.Candidates, o.MaxDetections)
	case !(o.IoUThreshold > 0 && o.IoUThreshold <= 1):
		return o, fmt.Errorf("efficientdet: IoUThreshold %v outside (0, 1]", o.IoUThreshold)
	case !(o.ScoreThreshold >= 0 && o.ScoreThreshold <= 1):
		return o, fmt.Errorf("efficientdet: ScoreThreshold %v outside [0, 1]", o.ScoreThreshold)
	case !(o.Temperature > 0) || math.IsInf(o.Temperature, 0):
		return o, fmt.Errorf("efficientdet: Temperature %v must be positive", o.Temperature)
	}
	return o, nil
}

// Detect turns a batch's outputs into detections (effdet's
// DetBenchPredict post-processing), per image:
//
//  1. the Candidates highest class logits over every anchor and class
//     (ties: the lower anchor and class first; NaN logits never count);
//  2. their boxes decoded at their anchors (Decode) and clipped to the
//     input, and to the original image's area on it when infos give its
//     size (non-finite boxes are dropped);
//  3. class-aware NMS at IoUThreshold (or soft-NMS), at most
//     MaxDetections kept, highest score first; boxes that are empty or
//     not finite after clipping are dropped;
//  4. boxes mapped back to the original image through infos[i].Letterbox.
//
// a must be the anchors of the input size the outputs were computed at;
// infos is nil or has one entry per image.
func Detect(out Output, a *Anchors, infos []ImageInfo, o DetectOptions) ([][]Detection, error) {
	o, err := o.resolved()
	if err != nil {
		return nil, err
	}
	if len(out.Class) != len(a.Levels) || len(out.Box) != len(a.Levels) {
		return nil, fmt.Errorf("efficientdet: %d class and %d box maps for %d anchor levels", len(out.Class), len(out.Box), len(a.Levels))
	}
	n := out.Class[0].Value.Dim(0)
	k := 0
	for l, lv := range a.Levels {
		c, b := out.Class[l].Shape(), out.Box[l].Shape()
		if len(c) != 4 || c[0] != n || c[1] != lv.H || c[2] != lv.W || c[3]%a.PerLocation != 0 || c[3] == 0 {
			return nil, fmt.Errorf("efficientdet: class map of level %d is %v, want [%d %d %d A·classes] (A = %d)", lv.Level, c, n, lv.H, lv.W, a.PerLocation)
		}
		if k == 0 {
			k = c[3] / a.PerLocation
		}
		if c[3] != k*a.PerLocation || !nn.SameShape(b, []int{n, lv.H, lv.W, 4 * a.PerLocation}) {
			return nil, fmt.Errorf("efficientdet: level %d maps %v and %v do not fit %d anchors per location", lv.Level, c, b, a.PerLocation)
		}
	}
	if infos != nil && len(infos) != n {
		return nil, fmt.Errorf("efficientdet: %d image infos for %d images", len(infos), n)
	}
	for i, in := range infos {
		if !(in.Letterbox.Scale >= 0) || !finite(in.Letterbox.Scale, in.Letterbox.OffsetX, in.Letterbox.OffsetY) || in.Width < 0 || in.Height < 0 {
			return nil, fmt.Errorf("efficientdet: image %d: bad letterbox %+v or size %d×%d", i, in.Letterbox, in.Width, in.Height)
		}
	}
	res := make([][]Detection, n)
	nn.ParallelFor(n, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var info ImageInfo
			if infos != nil {
				info = infos[i]
			}
			res[i] = detectImage(out, a, i, k, info, o)
		}
	})
	return res, nil
}

// candidate is one (anchor, class) pair as one key: the bits of its logit,
// made to order as an unsigned integer, above the complement of its flat
// index anchor·K + class over all levels. A larger key is a better
// candidate: a higher logit, or the same logit and a lower index. −0 is
// folded into +0 (they tie, as float comparison has it); NaN never
// becomes a candidate.
type candidate uint64

func newCandidate(logit float32, idx int) candidate {
	b := math.Float32bits(logit + 0) // −0 + 0 = +0
	if b>>31 != 0 {
		b = ^b // negative: a larger magnitude orders lower
	} else {
		b |= 1 << 31
	}
	return candidate(uint64(b)<<32 | uint64(^uint32(idx)))
}

func (c candidate) logit() float32 {
	b := uint32(c >> 32)
	if b>>31 != 0 {
		b &^= 1 << 31
	} else {
		b = ^b
	}
	return math.Float32frombits(b)
}

func (c candidate) idx() int { return int(^uint32(c)) }

// bestFirst orders candidates for package slices: the better first.
func bestFirst(a, b candidate) int { return cmp.Compare(b, a) }

// selectBest reorders c so that its n best candidates (the largest keys)
// come first, in no particular order: quickselect on median-of-three
// pivots, sorting outright a range that has not shrunk after 2·log2 len(c)
// steps. The candidates differ by index, so the n best are a unique set.
// The partition swaps every element and advances only past the better
// ones, which leaves nothing for the branch predictor to miss.
func selectBest(c []candidate, n int) {
	if n <= 0 || n >= len(c) {
		return
	}
	lo, hi := 0, len(c) // c[:lo] are among the n best, c[hi:] are not
	for depth := 2 * bits.Len(uint(len(c))); hi-lo > 1; depth-- {
		if depth == 0 {
			slices.SortFunc(c[lo:hi], bestFirst)
			return
		}
		// Median of three as the pivot, moved to hi-1.
		m := lo + (hi-lo)/2
		if c[m] < c[hi-1] {
			c[m], c[hi-1] = c[hi-1], c[m]
		}
		if c[lo] < c[hi-1] {
			c[lo], c[hi-1] = c[hi-1], c[lo]
		}
		if c[m] < c[lo] {
			c[m], c[lo] = c[lo], c[m]
		}
		c[lo], c[hi-1] = c[hi-1], c[lo] // c[hi-1] is now the median
		pv := c[hi-1]
		// Partition: better than the pivot to the front.
		i := lo
		for j := lo; j < hi-1; j++ {
			cj := c[j]
			c[j] = c[i]
			c[i] = cj
			i += b2i(cj > pv)
		}
		c[i], c[hi-1] = c[hi-1], c[i] // the pivot's final place
		switch {
		case i == n-1 || i == n:
			return
		case i < n:
			lo = i + 1
		default:
			hi = i
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// topCandidates returns the n best (anchor, class) logits of image img
// that are at least minLogit (NaN never), best first: the logits above a
// threshold (found by nn.NextAbove, 32 at a time) go into a buffer of 2n;
// when it fills, selectBest keeps the n best and the worst of them
// becomes the threshold. With it Detect ran
// 2.1–2.4× faster on D0's 4.4 M logits (BenchmarkDetect) than with a
// min-heap of the n best, which went through container/heap's interface,
// and an allocation, for every logit above the heap's top.
func topCandidates(out Output, a *Anchors, img, k, n int, minLogit float32) []candidate {
	if n <= 0 {
		return nil
	}
	buf := make([]candidate, 0, 2*n)
	thr, orEqual := minLogit, true // accept logit > thr, or == thr until the first selection
	for l, lv := range a.Levels {
		per := lv.Count * k
		d := out.Class[l].Value.Data()[img*per : (img+1)*per]
		base := lv.Start * k
		for j := nn.NextAbove(d, thr, orEqual); j < len(d); j += 1 + nn.NextAbove(d[j+1:], thr, orEqual) {
			buf = append(buf, newCandidate(d[j], base+j))
			if len(buf) == cap(buf) {
				selectBest(buf, n)
				buf = buf[:n]
				// Later indices lose ties, so only a higher logit beats
				// the worst candidate kept.
				thr, orEqual = slices.Min(buf).logit(), false
			}
		}
	}
	selectBest(buf, n)
	buf = buf[:min(n, len(buf))]
	slices.SortFunc(buf, bestFirst)
	return buf
}

func detectImage(out Output, a *Anchors, img, k int, info ImageInfo, o DetectOptions) []Detection {
	// 1. Top candidates by logit.
	minLogit := float32(math.Inf(-1))
	if o.ScoreThreshold > 0 {
		// sigmoid(x/T) >= s  ⇔  x >= T·logit(s); slightly lower so that
		// float32 rounding never drops a candidate the score would keep.
		lg := o.Temperature * math.Log(o.ScoreThreshold/(1-o.ScoreThreshold))
		minLogit = float32(lg - 1e-6*math.Abs(lg) - 1e-12)
	}
	cands := topCandidates(out, a, img, k, o.Candidates, minLogit)

	// 2. Decode and clip.
	x0, y0, x1, y1 := 0.0, 0.0, float64(a.Width), float64(a.Height)
	lb := info.Letterbox
	if info.Width > 0 && info.Height > 0 {
		r := lb.Forward(data.Box{X2: float64(info.Width), Y2: float64(info.Height)})
		x0, y0 = math.Max(x0, r.X1), math.Max(y0, r.Y1)
		x1, y1 = math.Min(x1, r.X2), math.Min(y1, r.Y2)
	}
	boxes := make([]data.Box, 0, len(cands))
	scores := make([]float64, 0, len(cands))
	classes := make([]int, 0, len(cands))
	for _, c := range cands {
		anchor := c.idx() / k
		lv := levelOf(a, anchor)
		bd := out.Box[lv].Value.Data()
		off := (img*a.Levels[lv].Count + anchor - a.Levels[lv].Start) * 4
		t := [4]float32{bd[off], bd[off+1], bd[off+2], bd[off+3]}
		b := Decode(t, a.Boxes[anchor])
		if !finite(float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])) {
			continue // a NaN or overflowing prediction
		}
		box := data.Box{
			X1: clamp(float64(b[0]), x0, x1), Y1: clamp(float64(b[1]), y0, y1),
			X2: clamp(float64(b[2]), x0, x1), Y2: clamp(float64(b[3]), y0, y1),
		}
		if !(box.X2 > box.X1 && box.Y2 > box.Y1) {
			continue
		}
		boxes = append(boxes, box)
		scores = append(scores, sigmoid(float64(c.logit())/o.Temperature))
		classes = append(classes, c.idx()%k)
	}

	// 3. NMS.
	var keep []int
	if o.SoftNMS {
		var s []float64
		keep, s = SoftNMS(boxes, scores, classes, SoftNMSOptions{})
		for j, i := range keep {
			scores[i] = s[j]
		}
		if len(keep) > o.MaxDetections {
			keep = keep[:o.MaxDetections]
		}
	} else {
		keep = nmsClasses(boxes, scores, classes, o.IoUThreshold, o.MaxDetections)
	}

	// 4. Back to the original image.
	dets := make([]Detection, 0, len(keep))
	for _, i := range keep {
		if scores[i] < o.ScoreThreshold {
			continue
		}
		dets = append(dets, Detection{Box: lb.Inverse(boxes[i]), Score: scores[i], Class: classes[i]})
	}
	return dets
}

// levelOf returns the index of the level holding anchor i.
func levelOf(a *Anchors, i int) int {
	for l := len(a.Levels) - 1; l > 0; l-- {
		if i >= a.Levels[l].Start {
			return l
		}
	}
	return 0
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
