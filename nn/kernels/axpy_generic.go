package kernels

// axpyGeneric is the reference Axpy.
func axpyGeneric(a float32, x, y []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}
