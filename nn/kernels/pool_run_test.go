package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxPoolRunKernel drives the SIMD max-pooling run kernels against
// maxPoolRunGo, without and with am, bit for bit (and index for index):
// windows of 1 to 25 elements, 1 to 9 pixels, every channel count up to
// 75 (groups of vectors, single vectors, and the tail the kernels leave
// alone), overlapping windows, values with NaN, ±0, ±Inf and ties (the NaN
// bits, the sign of zero and the index of the first of equal values must
// come out as the Go loops'), and guard bands around the outputs.
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
			// Ties too: ±0 and repeated values.
			for i := range x {
				if r.IntN(10) == 0 {
					x[i] = []float32{0, float32(math.Copysign(0, -1)), 1, 1}[r.IntN(4)]
				}
			}
			want := make([]float32, n*c)
			maxPoolRunGo(want, nil, x, offs, k, n, c, xpix)
			wantA, wantAm := make([]float32, n*c), make([]int32, n*c)
			maxPoolRunGo(wantA, wantAm, x, offs, k, n, c, xpix)
			y, check := guarded(t, n*c, trial%4, 7)
			run(y, x, offs, k, n, c, xpix)
			check()
			ya, checkA := guarded(t, n*c, (trial+1)%4, 7)
			amBuf := make([]int32, n*c+34)
			for i := range amBuf {
				amBuf[i] = -7
			}
			am := amBuf[17 : 17+n*c]
			maxPoolArgRun(ya, am, x, offs, k, n, c, xpix)
			checkA()
			for i := range amBuf {
				if (i < 17 || i >= 17+n*c) && amBuf[i] != -7 {
					t.Fatalf("k %d n %d c %d: argmax guard band overwritten at %d", k, n, c, i)
				}
			}
			cv := c &^ 7
			for i := 0; i < n; i++ {
				for j := 0; j < cv; j++ {
					q := i*c + j
					if g, w := y[q], want[q]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("k %d n %d c %d: y[%d][%d] = %v (%#x), want %v (%#x)", k, n, c, i, j, g, math.Float32bits(g), w, math.Float32bits(w))
					}
					if math.Float32bits(ya[q]) != math.Float32bits(wantA[q]) || am[q] != wantAm[q] {
						t.Fatalf("k %d n %d c %d: with argmax [%d][%d] = %v at %d, want %v at %d", k, n, c, i, j, ya[q], am[q], wantA[q], wantAm[q])
					}
				}
				for j := cv; j < c; j++ {
					if y[i*c+j] != 7 || ya[i*c+j] != 7 || am[i*c+j] != -7 { // the tail is the caller's: still the fill
						t.Fatalf("k %d n %d c %d: the kernel wrote tail channel %d of pixel %d", k, n, c, j, i)
					}
				}
			}
		}
	})
}
