package nn

import "github.com/sortnet/sortnet/nn/internal/parallel"

// minChunk is the smallest piece of an elementwise loop worth handing to
// another thread.
const minChunk = 1 << 14

// forChunks runs fn over [0, n) split across the worker pool. fn must not
// reduce across elements (chunk boundaries depend on the thread count).
func forChunks(n int, fn func(lo, hi int)) {
	parallel.For(n, parallel.Grain(n, minChunk), fn)
}
