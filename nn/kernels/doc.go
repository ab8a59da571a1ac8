// Package kernels holds sortnet's compute kernels on plain []float32 slices:
// SGEMM, convolution (1×1, depthwise, general), pooling and elementwise
// loops. Package nn builds its ops on these functions and never loops over
// large tensors itself where a kernel exists.
//
// Each kernel family has a generic Go implementation (files *_generic.go)
// that is its specification and the test oracle of any faster version.
// Where a SIMD kernel must give the same bits as its twin, the twin rounds
// every product that meets an addition with an explicit conversion
// (float32(a*b) + c): the Go compiler may otherwise fuse the two into one
// FMA, and does where GOAMD64 is v3 or above. .ci/run runs the tests of
// nn and optim a second time with GOAMD64=v3 to catch a missing one.
// Kernels parallelise over the process-wide worker pool and split
// reductions in a fixed way, so results are bit-identical for any thread
// count.
//
// All slices are row-major; images are NHWC; convolution weights are HWIO
// [KH, KW, Cin/groups, Cout].
package kernels
