package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// Dropout and drop-path (stochastic depth). Both are training-time ops:
// they always apply when called, and the layers that wrap them skip the
// call in evaluation. The random mask is drawn from rng sequentially,
// element by element, before any parallel work, so a seed gives the same
// mask for any thread count.

func checkDropP(op string, x *Var, p float32) {
	if !(p >= 0 && p <= 1) { // also rejects NaN
		panic(fmt.Sprintf("nn.%s: input %v: drop probability %v outside [0, 1]", op, x.Value.shape, p))
	}
}

// keepScale returns 1/(1-p), the factor that keeps the expected value of
// the kept elements unchanged.
func keepScale(p float32) float32 { return float32(1 / (1 - float64(p))) }

// Dropout zeroes each element of x independently with probability p and
// scales the kept ones by 1/(1-p) (inverted dropout, PyTorch's
// F.dropout(training=True)). An element is kept when rng.Float32() < 1-p,
// one draw per element in order. p = 0 returns x itself and draws nothing;
// p = 1 returns zeros and draws nothing. It panics for p outside [0, 1].
func Dropout(x *Var, p float32, rng *rand.Rand) *Var {
	checkDropP("Dropout", x, p)
	if p == 0 {
		return x
	}
	n := x.Value.Len()
	y := newPooled(x.Value.shape...)
	yd, xd := y.data, x.Value.data
	if p == 1 {
		clear(yd)
		out := result(y, "Dropout", x)
		if out.requiresGrad {
			out.backward = func() { x.gradData() } // the gradient is zero
		}
		return out
	}
	keep, scale := 1-p, keepScale(p)
	mask := make([]uint64, (n+63)/64) // bit i set: element i kept
	for i := 0; i < n; i++ {
		if rng.Float32() < keep {
			mask[i/64] |= 1 << (i % 64)
		}
	}
	// Chunks of whole mask words, so no two chunks share one.
	words := len(mask)
	forWords := func(fn func(lo, hi int)) {
		parallel.For(words, parallel.Grain(words, minChunk/64), fn)
	}
	forWords(func(lo, hi int) {
		for i := lo * 64; i < min(hi*64, n); i++ {
			if mask[i/64]&(1<<(i%64)) != 0 {
				yd[i] = xd[i] * scale
			} else {
				yd[i] = 0
			}
		}
	})
	out := result(y, "Dropout", x)
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.data, x.gradData()
			forWords(func(lo, hi int) {
				for i := lo * 64; i < min(hi*64, n); i++ {
					if mask[i/64]&(1<<(i%64)) != 0 {
						gx[i] += g[i] * scale
					}
				}
			})
		}
	}
	return out
}

// DropPath drops whole samples: each sample x[b] along axis 0 is kept with
// probability 1-p and then scaled by 1/(1-p), else zeroed (timm's
// drop_path with scale_by_keep; it is applied to a residual branch before
// the skip connection is added). Sample b is kept when rng.Float32() < 1-p,
// one draw per sample in order. p = 0 returns x itself and draws nothing;
// p = 1 returns zeros and draws nothing. It panics for p outside [0, 1].
func DropPath(x *Var, p float32, rng *rand.Rand) *Var {
	checkDropP("DropPath", x, p)
	s := x.Value.shape
	if len(s) == 0 {
		panic(fmt.Sprintf("nn.DropPath: input %v has no batch axis", s))
	}
	if p == 0 {
		return x
	}
	batch := s[0]
	per := 0 // elements per sample
	if batch > 0 {
		per = x.Value.Len() / batch
	}
	// factor[b] is 0 for a dropped sample, 1/(1-p) for a kept one.
	factor := make([]float32, batch)
	if p < 1 {
		keep, scale := 1-p, keepScale(p)
		for b := range factor {
			if rng.Float32() < keep {
				factor[b] = scale
			}
		}
	}
	y := newPooled(s...)
	xd, yd := x.Value.data, y.data
	forRows(batch, per, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			dst, src, f := yd[b*per:(b+1)*per], xd[b*per:(b+1)*per], factor[b]
			if f == 0 {
				clear(dst)
				continue
			}
			for i, v := range src {
				dst[i] = v * f
			}
		}
	})
	out := result(y, "DropPath", x)
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.data, x.gradData()
			forRows(batch, per, func(lo, hi int) {
				for b := lo; b < hi; b++ {
					f := factor[b]
					if f == 0 {
						continue
					}
					dst, src := gx[b*per:(b+1)*per], g[b*per:(b+1)*per]
					for i, v := range src {
						dst[i] += v * f
					}
				}
			})
		}
	}
	return out
}
