package kernels

// sgemmKernelGeneric is the micro-kernel of the generic implementation: a
// 4×4 tile of C in sixteen scalar accumulators (see sgemmKernel), for each
// of tiles tiles.
func sgemmKernelGeneric(k int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32, tiles, tileA, tileB, tileC int) {
	for t := range tiles {
		sgemmTileGeneric(k, a[t*tileA:], rsA, csA, b[t*tileB:], rsB, c[t*tileC:], ldc, alpha, beta)
	}
}

func sgemmTileGeneric(k int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a0, a1, a2, a3 := a, a[rsA:], a[2*rsA:], a[3*rsA:]
	for p := 0; p < k; p++ {
		bp := b[p*rsB : p*rsB+4 : p*rsB+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		x := a0[p*csA]
		c00 += x * b0
		c01 += x * b1
		c02 += x * b2
		c03 += x * b3
		x = a1[p*csA]
		c10 += x * b0
		c11 += x * b1
		c12 += x * b2
		c13 += x * b3
		x = a2[p*csA]
		c20 += x * b0
		c21 += x * b1
		c22 += x * b2
		c23 += x * b3
		x = a3[p*csA]
		c30 += x * b0
		c31 += x * b1
		c32 += x * b2
		c33 += x * b3
	}
	sgemmStore4(c[0*ldc:0*ldc+4], c00, c01, c02, c03, alpha, beta)
	sgemmStore4(c[1*ldc:1*ldc+4], c10, c11, c12, c13, alpha, beta)
	sgemmStore4(c[2*ldc:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	sgemmStore4(c[3*ldc:3*ldc+4], c30, c31, c32, c33, alpha, beta)
}

// sgemmStore4 sets row = alpha·s + beta·row, not reading row when beta == 0.
func sgemmStore4(row []float32, s0, s1, s2, s3, alpha, beta float32) {
	row = row[:4]
	if beta == 0 {
		row[0], row[1], row[2], row[3] = alpha*s0, alpha*s1, alpha*s2, alpha*s3
		return
	}
	row[0] = alpha*s0 + beta*row[0]
	row[1] = alpha*s1 + beta*row[1]
	row[2] = alpha*s2 + beta*row[2]
	row[3] = alpha*s3 + beta*row[3]
}
