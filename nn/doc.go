// Package nn is sortnet's numerical core: float32 tensors, define-by-run
// autograd, and the primitive ops that layers and models are built from.
//
// # Tensors
//
// A Tensor is a shape and a contiguous row-major []float32. Images are NHWC
// (channels innermost). Convolution weights are HWIO [KH, KW, Cin/groups,
// Cout], depthwise weights [KH, KW, C], linear weights [In, Out].
//
// # Autograd
//
// A Var wraps a Tensor in the graph. Param makes a trainable leaf, NewVar a
// constant. Every op returns a new Var that remembers its inputs and a
// backward function (only when gradients are enabled and an input needs
// one). Backward on a single-valued Var accumulates gradients into every
// leaf's Grad; ZeroGrad clears them. NoGrad switches recording off for
// inference.
//
// Each op's forward and backward live side by side in one file. Op outputs
// come from a buffer pool: call Release on the loss once a training step is
// done and the next step reuses the same memory instead of growing the heap.
//
// # Threads and determinism
//
// Ops split their work over one process-wide worker pool sized by
// SetThreads (default GOMAXPROCS). Reductions are split in a fixed way, so
// results are bit-identical for any thread count and a seed fixes a whole
// training run.
//
// # Errors
//
// Ops panic on programmer errors, with a message that names the op and the
// shapes involved. Anything that reads files or user data (in other
// packages) returns an error instead.
package nn

import "github.com/sortnet/sortnet/nn/internal/parallel"

// SetThreads sets the number of threads ops use (the calling goroutine plus
// n-1 pool workers); n < 1 means runtime.GOMAXPROCS(0). It returns the
// previous setting. Results do not depend on it.
func SetThreads(n int) int { return parallel.SetThreads(n) }

// Threads returns the number of threads ops use.
func Threads() int { return parallel.Threads() }

// ParallelFor calls fn(lo, hi) for consecutive chunks of grain elements
// (the last may be shorter) covering [0, n), spread over the worker pool,
// and returns when all are done. Chunk boundaries depend only on n and
// grain. fn must write disjoint memory for disjoint chunks; code that
// reduces across chunks must keep one partial per chunk and combine them in
// order, to stay independent of the thread count.
func ParallelFor(n, grain int, fn func(lo, hi int)) { parallel.For(n, grain, fn) }
