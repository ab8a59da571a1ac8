//go:build amd64 && gc && !noasm

package kernels

// nextAboveSIMD scans the whole 8-lane vectors with nextAboveAVX2 and the
// rest with the generic loop. The AVX-512 implementation runs it too.
func nextAboveSIMD(x []float32, t float32, orEqual bool) int {
	k := len(x) &^ 7
	if k > 0 {
		if i := nextAboveAVX2(x[:k], t, orEqual); i < k {
			return i
		}
	}
	return k + nextAboveGeneric(x[k:], t, orEqual)
}

var (
	_ = onImpl(AVX2, func() { nextAboveImpl = nextAboveSIMD })
	_ = onImpl(AVX512, func() { nextAboveImpl = nextAboveSIMD })
)
