package kernels

// implicitKernelGeneric is the strip kernel of the generic implementation:
// 4×4 tiles of C in sixteen scalar accumulators (see implicitKernel),
// summing in s, t order.
func implicitKernelGeneric(tiles, segs, seg int, a []float32, rsA, csA, jumpA, tileA int, b []float32, rsB, jumpB int, c []float32, ldc, tileC int) {
	for u := 0; u < tiles; u++ {
		implicitTileGeneric(segs, seg, a[u*tileA:], rsA, csA, jumpA, b, rsB, jumpB, c[u*tileC:], ldc)
	}
}

func implicitTileGeneric(segs, seg int, a []float32, rsA, csA, jumpA int, b []float32, rsB, jumpB int, c []float32, ldc int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for s := 0; s < segs; s++ {
		as, bs := a[s*jumpA:], b[s*jumpB:]
		a0, a1, a2, a3 := as, as[rsA:], as[2*rsA:], as[3*rsA:]
		for t := 0; t < seg; t++ {
			bp := bs[t*rsB : t*rsB+4 : t*rsB+4]
			b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
			x := a0[t*csA]
			c00 += x * b0
			c01 += x * b1
			c02 += x * b2
			c03 += x * b3
			x = a1[t*csA]
			c10 += x * b0
			c11 += x * b1
			c12 += x * b2
			c13 += x * b3
			x = a2[t*csA]
			c20 += x * b0
			c21 += x * b1
			c22 += x * b2
			c23 += x * b3
			x = a3[t*csA]
			c30 += x * b0
			c31 += x * b1
			c32 += x * b2
			c33 += x * b3
		}
	}
	r := c[0*ldc : 0*ldc+4]
	r[0], r[1], r[2], r[3] = c00, c01, c02, c03
	r = c[1*ldc : 1*ldc+4]
	r[0], r[1], r[2], r[3] = c10, c11, c12, c13
	r = c[2*ldc : 2*ldc+4]
	r[0], r[1], r[2], r[3] = c20, c21, c22, c23
	r = c[3*ldc : 3*ldc+4]
	r[0], r[1], r[2], r[3] = c30, c31, c32, c33
}
