package kernels

// NextAbove returns the smallest i with x[i] > t, or with orEqual
// x[i] >= t, and len(x) if there is none; NaN (in x or t) never counts.
// A detector's top-k selection scans millions of class logits for the few
// above a rising threshold: the SIMD versions compare 32 at a time.
func NextAbove(x []float32, t float32, orEqual bool) int {
	return nextAboveImpl(x, t, orEqual)
}

func nextAboveGeneric(x []float32, t float32, orEqual bool) int {
	for i, v := range x {
		if v > t || orEqual && v == t {
			return i
		}
	}
	return len(x)
}

var nextAboveImpl = nextAboveGeneric

var _ = onImpl(Generic, func() { nextAboveImpl = nextAboveGeneric })
