package kernels

import "fmt"

//go:generate sh -c "cd _gen && go run ./axpy -out ../axpy_amd64.s -stubs ../axpy_stubs_amd64.go -pkg kernels"

// Axpy computes y[i] += a·x[i] for every i < len(y). It panics if x is
// shorter than y.
//
// Reference loop:
//
//	for i := range y {
//		y[i] += a * x[i]
//	}
func Axpy(a float32, x, y []float32) {
	if len(x) < len(y) {
		panic(fmt.Sprintf("kernels.Axpy: x has %d elements, y %d", len(x), len(y)))
	}
	if len(y) == 0 {
		return
	}
	axpyImpl(a, x, y)
}

var axpyImpl = axpyGeneric

var _ = onImpl(Generic, func() { axpyImpl = axpyGeneric })
