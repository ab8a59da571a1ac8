package kernels

import (
	"sync"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// rowBufs recycles the per-chunk row accumulators of sgemmGeneric.
var rowBufs sync.Pool

func getRow(n int) *[]float32 {
	if b, ok := rowBufs.Get().(*[]float32); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float32, n)
	return &b
}

// sgemmGeneric is the reference SGEMM: rows of C are split across the pool
// (each row is computed by one thread, so the result does not depend on the
// thread count); within a row the k loop runs in order.
func sgemmGeneric(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// Enough rows per chunk that each chunk does ~64k multiply-adds.
	grain := max(1, (1<<16)/max(1, n*k))
	parallel.For(m, grain, func(lo, hi int) {
		buf := getRow(n)
		defer rowBufs.Put(buf)
		acc := *buf
		for i := lo; i < hi; i++ {
			clear(acc)
			if transB {
				for j := 0; j < n; j++ {
					brow := b[j*ldb : j*ldb+k]
					var s float32
					if transA {
						for p, bv := range brow {
							s += a[p*lda+i] * bv
						}
					} else {
						arow := a[i*lda : i*lda+k]
						for p, bv := range brow {
							s += arow[p] * bv
						}
					}
					acc[j] = s
				}
			} else {
				for p := 0; p < k; p++ {
					var av float32
					if transA {
						av = a[p*lda+i]
					} else {
						av = a[i*lda+p]
					}
					brow := b[p*ldb : p*ldb+n]
					for j, bv := range brow {
						acc[j] += av * bv
					}
				}
			}
			crow := c[i*ldc : i*ldc+n]
			if beta == 0 {
				for j := range crow {
					crow[j] = alpha * acc[j]
				}
			} else {
				for j := range crow {
					crow[j] = alpha*acc[j] + beta*crow[j]
				}
			}
		}
	})
}
