package efficientdet

import (
	"fmt"
	"math"

	"github.com/sortnet/sortnet/nn"
)

// LossOptions configure Loss. Zero fields take effdet's defaults.
type LossOptions struct {
	// Alpha weighs the positives' class loss (1−Alpha the negatives');
	// 0 means 0.25.
	Alpha float64
	// Gamma is the focusing exponent of the focal loss; 0 means 1.5
	// (set NoFocus for γ = 0, plain α-balanced cross-entropy).
	Gamma   float64
	NoFocus bool
	// Delta is the Huber loss's switch from quadratic to linear; 0 means
	// 0.1.
	Delta float64
	// BoxWeight multiplies the box loss in the total; 0 means 50.
	BoxWeight float64
	// LabelSmoothing ε in [0, 1) moves the class targets to ε/2 and
	// 1−ε/2 in the cross-entropy (effdet's new_focal_loss; the focal
	// factors keep the hard targets). 0: none.
	LabelSmoothing float64
}

func (o LossOptions) resolved() (LossOptions, error) {
	if o.Alpha == 0 {
		o.Alpha = 0.25
	}
	if o.Gamma == 0 && !o.NoFocus {
		o.Gamma = 1.5
	}
	if o.NoFocus {
		o.Gamma = 0
	}
	if o.Delta == 0 {
		o.Delta = 0.1
	}
	if o.BoxWeight == 0 {
		o.BoxWeight = 50
	}
	switch {
	case !(o.Alpha > 0 && o.Alpha < 1):
		return o, fmt.Errorf("efficientdet: loss Alpha %v outside (0, 1)", o.Alpha)
	case !(o.Gamma >= 0 && o.Gamma <= 10):
		return o, fmt.Errorf("efficientdet: loss Gamma %v outside [0, 10]", o.Gamma)
	case !(o.Delta > 0) || math.IsInf(o.Delta, 0):
		return o, fmt.Errorf("efficientdet: loss Delta %v must be positive", o.Delta)
	case !(o.BoxWeight > 0) || math.IsInf(o.BoxWeight, 0):
		return o, fmt.Errorf("efficientdet: loss BoxWeight %v must be positive", o.BoxWeight)
	case !(o.LabelSmoothing >= 0 && o.LabelSmoothing < 1):
		return o, fmt.Errorf("efficientdet: LabelSmoothing %v outside [0, 1)", o.LabelSmoothing)
	}
	return o, nil
}

// Losses are the parts of the detection loss, each of shape [1].
type Losses struct {
	Total, Class, Box *nn.Var
	// Positives is the number of positive anchors in the batch.
	Positives int
}

// Loss computes effdet's detection loss of a batch's outputs against its
// targets (one Targets per image, for the anchors the outputs were made
// with):
//
//	class = Σ focal(class logits, one-hot targets) / (P + 1)
//	box   = Σ_positives Huber_δ(box outputs − targets) / (4·(P + 1))
//	total = class + BoxWeight·box
//
// with P the positive anchors of the whole batch. The focal loss is the
// sigmoid focal loss (α 0.25, γ 1.5) summed over every class of every
// anchor but the Ignored ones; the box loss is nn.Huber on the positive
// anchors' four coordinates. weights, if not nil, scales each image's
// share of both sums (pseudo-label confidences; the normaliser is not
// weighted). Mismatched shapes are errors.
func Loss(out Output, a *Anchors, targets []Targets, weights []float32, o LossOptions) (Losses, error) {
	o, err := o.resolved()
	if err != nil {
		return Losses{}, err
	}
	n := len(targets)
	if len(out.Class) != len(a.Levels) || len(out.Box) != len(a.Levels) {
		return Losses{}, fmt.Errorf("efficientdet: %d class and %d box maps for %d anchor levels", len(out.Class), len(out.Box), len(a.Levels))
	}
	if weights == nil {
		weights = make([]float32, n)
		for i := range weights {
			weights[i] = 1
		}
	}
	if len(weights) != n {
		return Losses{}, fmt.Errorf("efficientdet: %d weights for %d images", len(weights), n)
	}
	numClasses := 0
	starts := make([]int, len(a.Levels))
	for l, lv := range a.Levels {
		starts[l] = lv.Start
		c, b := out.Class[l].Shape(), out.Box[l].Shape()
		loc := lv.Count / a.PerLocation
		if len(c) != 4 || c[0] != n || c[1] != lv.H || c[2] != lv.W || c[3]%a.PerLocation != 0 {
			return Losses{}, fmt.Errorf("efficientdet: class map of level %d is %v, want [%d %d %d A·classes] (A = %d)", lv.Level, c, n, lv.H, lv.W, a.PerLocation)
		}
		if numClasses == 0 {
			numClasses = c[3] / a.PerLocation
		}
		if c[3] != numClasses*a.PerLocation || !nn.SameShape(b, []int{n, lv.H, lv.W, 4 * a.PerLocation}) || loc != lv.H*lv.W {
			return Losses{}, fmt.Errorf("efficientdet: level %d maps %v and %v do not fit %d anchors per location", lv.Level, c, b, a.PerLocation)
		}
	}
	pos := 0
	classes := make([][]int32, n)
	for i, t := range targets {
		if len(t.Class) != a.Len() || len(t.Box) != 4*a.Len() {
			return Losses{}, fmt.Errorf("efficientdet: targets of image %d cover %d anchors, want %d", i, len(t.Class), a.Len())
		}
		pos += t.Positives
		classes[i] = t.Class
	}
	norm := float64(pos) + 1
	cls := focalLoss(out.Class, starts, classes, weights, numClasses,
		focalParams{alpha: o.Alpha, gamma: o.Gamma, smoothing: o.LabelSmoothing, scale: 1 / norm})

	uniform := true
	for _, w := range weights {
		uniform = uniform && w == 1
	}
	var box *nn.Var
	for l, lv := range a.Levels {
		pred := out.Box[l]
		// The target equals the prediction away from the positives, so
		// that Huber is 0 there with a zero gradient.
		tgt := pred.Value.Clone()
		td := tgt.Data()
		per := lv.Count * 4
		for i, t := range targets {
			for k := range lv.Count {
				if t.Class[lv.Start+k] >= 0 {
					copy(td[i*per+4*k:i*per+4*k+4], t.Box[4*(lv.Start+k):4*(lv.Start+k)+4])
				}
			}
		}
		var v *nn.Var
		if uniform {
			v = nn.Huber(pred, tgt, float32(o.Delta), nn.ReduceSum)
		} else {
			w := nn.FromData(append([]float32(nil), weights...), n, 1, 1, 1)
			v = nn.Sum(nn.Mul(nn.Huber(pred, tgt, float32(o.Delta), nn.ReduceNone), nn.NewVar(w)))
		}
		if box == nil {
			box = v
		} else {
			box = nn.Add(box, v)
		}
	}
	box = nn.MulScalar(box, float32(1/(4*norm)))
	total := nn.Add(cls, nn.MulScalar(box, float32(o.BoxWeight)))
	return Losses{Total: total, Class: cls, Box: box, Positives: pos}, nil
}
