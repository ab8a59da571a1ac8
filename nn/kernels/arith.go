package kernels

// Elementwise arithmetic on same-length slices: the same-shape case of
// nn's Add and Mul, whose generic loops ran about a third as fast as a
// copy of the same data. y may be a or b (in place); any other overlap is
// not allowed. Each element is one float32 operation, so every
// implementation gives the same bits.

// Add sets y[i] = a[i] + b[i].
func Add(y, a, b []float32) {
	checkLens3("Add", "y, a and b", y, a, b)
	addImpl(y, a, b)
}

// Mul sets y[i] = a[i] * b[i].
func Mul(y, a, b []float32) {
	checkLens3("Mul", "y, a and b", y, a, b)
	mulImpl(y, a, b)
}

func addGeneric(y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		y[i] = a[i] + b[i]
	}
}

func mulGeneric(y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		y[i] = a[i] * b[i]
	}
}

var addImpl, mulImpl = addGeneric, mulGeneric

var _ = onImpl(Generic, func() { addImpl, mulImpl = addGeneric, mulGeneric })
