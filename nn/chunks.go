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

// forRows runs fn over [0, rows) split across the pool, where each row
// holds rowLen elements of work; chunks hold about minChunk elements.
func forRows(rows, rowLen int, fn func(lo, hi int)) {
	parallel.For(rows, parallel.Grain(rows, max(1, minChunk/max(1, rowLen))), fn)
}

// forEachRow is forRows calling fn once per row.
func forEachRow(rows, rowLen int, fn func(r int)) {
	forRows(rows, rowLen, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			fn(r)
		}
	})
}
