package efficientdet

import (
	"fmt"
	"math"
	"sync"

	"github.com/sortnet/sortnet/nn"
)

// focalParams are the constants of the class loss.
type focalParams struct {
	alpha, gamma, smoothing float64
	scale                   float64 // 1 / normaliser
}

// focalTerm returns the loss of one logit x against the binary target t
// (0 or 1) and its derivative: effdet's new_focal_loss,
//
//	α_t · (1 − p_t)^γ · BCE(x, t′),   t′ = t·(1−ε) + ε/2
//
// with p = sigmoid(x), p_t = p·t + (1−p)·(1−t) and α_t = α·t + (1−α)·(1−t)
// taken from the unsmoothed t. With ε = 0 this is torchvision's
// sigmoid_focal_loss. Computed in float64: e = exp(−|x|) gives p, 1−p and
// log(1+e) without cancellation.
func (f *focalParams) term(x float64, t bool) (loss, grad float64) {
	e := math.Exp(-math.Abs(x))
	p, q := 1/(1+e), e/(1+e) // sigmoid(|x|), 1 − sigmoid(|x|)
	if x < 0 {
		p, q = q, p
	}
	ts := f.smoothing / 2
	at := 1 - f.alpha
	u := p // 1 − p_t
	du := p * q
	if t {
		ts = 1 - f.smoothing/2
		at = f.alpha
		u = q
		du = -du
	}
	bce := math.Max(x, 0) - x*ts + math.Log1p(e)
	var mod, dmod float64
	switch g := f.gamma; g {
	case 0:
		mod = 1
	case 1:
		mod, dmod = u, du
	case 1.5:
		s := math.Sqrt(u)
		mod, dmod = u*s, 1.5*s*du
	case 2:
		mod, dmod = u*u, 2*u*du
	default:
		mod = math.Pow(u, g)
		if u > 0 {
			dmod = g * math.Pow(u, g-1) * du
		}
	}
	return at * mod * bce, at * (dmod*bce + mod*(p-ts))
}

// focalLoss is the class loss over every level's logits, as one op:
//
//	Σ_n w_n Σ_anchors Σ_c term(x, c == class) · scale
//
// where the target of anchor a is its class in classes[n] (Background: 0
// for every class; Ignored anchors are left out), without materialising
// the one-hot targets. logits[l] is level l's [N, H, W, A·C] map; the
// anchors of level l start at starts[l] in classes[n]. The sum runs in
// fixed blocks of anchors combined in order, so it does not depend on the
// thread count. When gradients are recorded, the same pass stores each
// logit's derivative (times its image's weight and the scale, in float32)
// for the backward pass: the exp and log1p of every logit are a third of
// a D0 training step, and computing them again there doubled them.
func focalLoss(logits []*nn.Var, starts []int, classes [][]int32, weights []float32, numClasses int, p focalParams) *nn.Var {
	n := len(classes)
	type span struct{ l, img, lo, hi int } // anchors lo…hi of one image of one level
	const grain = 1024                     // anchors per block
	var spans []span
	for l, x := range logits {
		s := x.Shape()
		if len(s) != 4 || s[0] != n || s[3]%numClasses != 0 {
			panic(fmt.Sprintf("efficientdet: class map %d %v: want [%d H W A·%d]", l, s, n, numClasses))
		}
		per := s[1] * s[2] * s[3] / numClasses
		for img := range n {
			for lo := 0; lo < per; lo += grain {
				spans = append(spans, span{l, img, lo, min(lo+grain, per)})
			}
		}
	}
	blockSum := make([]float64, len(spans))
	// Level l's derivatives go to deriv[off[l]:off[l+1]], indexed like its
	// logits; ignored anchors keep the zeros getScratch leaves.
	var deriv []float32
	off := make([]int, len(logits)+1)
	store := false
	for l, x := range logits {
		off[l+1] = off[l] + x.Value.Len()
		store = store || x.RequiresGrad() && nn.GradEnabled()
	}
	if store {
		deriv = getScratch(off[len(logits)])
	}
	each := func(sp span, fn func(i int, x float32, t bool)) {
		data := logits[sp.l].Value.Data()
		per := len(data) / n / numClasses
		cls := classes[sp.img][starts[sp.l]:]
		base := sp.img * per * numClasses
		for a := sp.lo; a < sp.hi; a++ {
			c := cls[a]
			if c == Ignored {
				continue
			}
			row := base + a*numClasses
			for k := range numClasses {
				fn(row+k, data[row+k], int32(k) == c)
			}
		}
	}
	nn.ParallelFor(len(spans), 1, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			var sum float64
			if !store {
				each(spans[s], func(_ int, x float32, t bool) {
					l, _ := p.term(float64(x), t)
					sum += l
				})
			} else {
				d := deriv[off[spans[s].l]:]
				w := p.scale * float64(weights[spans[s].img])
				each(spans[s], func(i int, x float32, t bool) {
					l, g := p.term(float64(x), t)
					sum += l
					d[i] = float32(w * g)
				})
			}
			blockSum[s] = sum * float64(weights[spans[s].img])
		}
	})
	var total float64
	for _, s := range blockSum {
		total += s
	}
	out := nn.Scalar(float32(total * p.scale))
	return nn.Custom("efficientdet.FocalLoss", out, func(g *nn.Tensor) {
		// The stored derivatives already hold the scale: with the
		// upstream gradient 1 (the loss alone, or weighted 1) they are
		// the gradient, to the bit of computing it here.
		up := float64(g.Item())
		for l, x := range logits {
			if !x.RequiresGrad() {
				continue
			}
			d := deriv[off[l]:off[l+1]]
			if up != 1 {
				nn.ParallelFor(len(d), 1<<14, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						d[i] = float32(float64(d[i]) * up)
					}
				})
			}
			x.AccumulateGrad(d)
		}
		putScratch(deriv)
	}, logits...)
}

// scratch holds the buffer that the backward pass fills and hands to
// AccumulateGrad, kept between training steps (a sync.Pool would lose it
// at every garbage collection, and a class map of D0 with 90 classes at
// batch 4 is 70 MB). A second concurrent user gets a fresh buffer.
var scratch struct {
	sync.Mutex
	buf []float32
}

func getScratch(n int) []float32 {
	scratch.Lock()
	b := scratch.buf
	scratch.buf = nil
	scratch.Unlock()
	if cap(b) < n {
		return make([]float32, n)
	}
	b = b[:n]
	clear(b)
	return b
}

func putScratch(b []float32) {
	scratch.Lock()
	if cap(b) > cap(scratch.buf) {
		scratch.buf = b
	}
	scratch.Unlock()
}
