package kernels

import "fmt"

//go:generate sh -c "cd _gen && go run ./sgemm -out ../sgemm_amd64.s -stubs ../sgemm_stubs_amd64.go -pkg kernels"

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where
// op(A) is m×k (A is m×k with leading dimension lda, or k×m if transA), op(B)
// is k×n (B is k×n with leading dimension ldb, or n×k if transB) and C is m×n
// with leading dimension ldc. With beta == 0, C is not read (NaNs in it do
// not propagate).
//
// The sums may run in another order than the reference loop's (blocks of
// k, then the micro-kernel's order), so results agree with it to float32
// rounding; the order depends on the shapes and the implementation only,
// never on the thread count.
//
// Reference loop:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += opA(i, p) * opB(p, j)
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		sgemmScale(m, n, alpha, beta, c, ldc)
		return
	}
	sgemmImpl.run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmScale is Sgemm with k == 0: every sum is 0.
func sgemmScale(m, n int, alpha, beta float32, c []float32, ldc int) {
	var s float32
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * s
			}
		} else {
			for j := range row {
				row[j] = alpha*s + beta*row[j]
			}
		}
	}
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(name string, s []float32, rows, cols, ld int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("kernels.Sgemm: %s is %d×%d but leading dimension is %d", name, rows, cols, ld))
		}
		if len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("kernels.Sgemm: %s is %d×%d (ld %d) but has only %d elements", name, rows, cols, ld, len(s)))
		}
	}
	need("A", a, ar, ac, lda)
	need("B", b, br, bc, ldb)
	need("C", c, m, n, ldc)
}

// sgemmImpl is the implementation in use, installed by use (dispatch.go).
var sgemmImpl *sgemmArch

var _ = onImpl(Generic, func() { sgemmImpl = newSgemmArch(4, 4, sgemmKernelGeneric, nil) })
