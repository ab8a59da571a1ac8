// Package nntest holds test helpers for code built on package nn.
//
// CheckGrad compares the gradients that Backward computes for any op, layer
// or composite function with central finite differences, sampling the
// elements of large inputs; Rand and RandAwayFrom make inputs for it (the
// latter keeps values away from kinks such as 0 for ReLU, where finite
// differences are meaningless). Every op with a backward in sortnet has a
// CheckGrad test; new ops and layers should too.
package nntest
