package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxPoolRunKernel drives the SIMD max-pooling run kernel against
// maxPoolRunGo bit for bit: windows of 1 to 25 elements, 1 to 9 pixels,
// every channel count up to 75 (groups of 4 vectors, single vectors, and
// the tail the kernel leaves alone), overlapping windows, values with NaN,
// ±0 and ±Inf (the NaN bits and the sign of zero must come out as the Go
// loop's), and guard bands around the output.
func TestMaxPoolRunKernel(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		run := maxPoolRun
		if run == nil {
			t.Skip("the generic implementation has no run kernel")
		}
		r := rand.New(rand.NewPCG(5, 6))
		for trial := 0; trial < 900; trial++ {
			k := 1 + trial%maxPoolTaps
			n := 1 + (trial/maxPoolTaps)%9
			c := trial % 76
			xpix := c * (1 + r.IntN(2))
			var offs [maxPoolTaps]int
			for i := range offs[:k] {
				offs[i] = r.IntN(4*c + 3)
			}
			xlen := 4*c + 3 + (n-1)*xpix + c
			x := hostile(r, xlen, true)
			// NaNs with distinct payloads: the last one in window order wins.
			for i := range x {
				if r.IntN(40) == 0 {
					x[i] = math.Float32frombits(0x7fc00000 | uint32(r.IntN(1<<22)))
				}
			}
			want := make([]float32, n*c)
			maxPoolRunGo(want, x, offs, k, n, c, xpix)
			y, check := guarded(t, n*c, trial%4, 7)
			run(y, x, offs, k, n, c, xpix)
			check()
			cv := c &^ 7
			for i := 0; i < n; i++ {
				for j := 0; j < cv; j++ {
					if g, w := y[i*c+j], want[i*c+j]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("k %d n %d c %d: y[%d][%d] = %v (%#x), want %v (%#x)", k, n, c, i, j, g, math.Float32bits(g), w, math.Float32bits(w))
					}
				}
				for j := cv; j < c; j++ {
					if y[i*c+j] != 7 { // the tail is the caller's: still the fill
						t.Fatalf("k %d n %d c %d: the kernel wrote tail channel %d of pixel %d", k, n, c, j, i)
					}
				}
			}
		}
	})
}
