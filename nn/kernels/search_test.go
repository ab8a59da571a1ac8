package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNextAbove runs every implementation against the generic loop: every
// length to 100 and longer ones, the first match at every position (and
// none), ties with and without orEqual, NaN and ±Inf in x and as t, ±0,
// and a matching value just past the slice, which must not be found.
func TestNextAbove(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		lens := []int{}
		for n := 0; n <= 100; n++ {
			lens = append(lens, n)
		}
		lens = append(lens, 255, 256, 1000, 4099)
		for _, n := range lens {
			for _, th := range []float32{0.5, 0, negZero, inf, -inf, nan, 3} {
				for _, orEqual := range []bool{false, true} {
					for trial := 0; trial < 4; trial++ {
						buf := make([]float32, n+1)
						for i := range buf {
							buf[i] = r.Float32() * 0.4 // below 0.5, never a match for t = 0.5
							switch r.IntN(12) {
							case 0:
								buf[i] = nan
							case 1:
								buf[i] = -inf
							}
						}
						x := buf[:n]
						if n > 0 && trial > 0 {
							at := r.IntN(n)
							x[at] = []float32{th, 0.7, inf, 0, negZero}[r.IntN(5)]
						}
						buf[n] = 10 // past the end
						got := NextAbove(x, th, orEqual)
						want := nextAboveGeneric(x, th, orEqual)
						if got != want {
							t.Fatalf("n=%d t=%v orEqual=%v: %d, generic loop %d (x=%v)", n, th, orEqual, got, want, x)
						}
					}
				}
			}
		}
	})
}
