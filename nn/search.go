package nn

import "github.com/sortnet/sortnet/nn/kernels"

// NextAbove returns the smallest i with x[i] > t, or with orEqual
// x[i] >= t, and len(x) if there is none; NaN never counts. It is the scan
// of a detector's top-k selection over its class logits, on the SIMD
// kernels (kernels.NextAbove).
func NextAbove(x []float32, t float32, orEqual bool) int {
	return kernels.NextAbove(x, t, orEqual)
}
