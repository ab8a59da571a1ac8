//go:build amd64 && gc && !noasm

package kernels

// The SIMD kernels of elementwise_amd64.s handle whole 8-lane vectors; the
// generic loops (which give the same bits) finish the rest.

func simdUnary(asm, generic func(dst, src []float32)) func(dst, src []float32) {
	return func(dst, src []float32) {
		k := len(dst) &^ 7
		if k > 0 {
			asm(dst[:k], src[:k])
		}
		if k < len(dst) {
			generic(dst[k:], src[k:len(dst)])
		}
	}
}

// simd3 wraps a kernel over three slices (a backward kernel, dx first, or
// a binary map, y first).
func simd3(asm, generic func(dx, v, dy []float32)) func(dx, v, dy []float32) {
	return func(dx, v, dy []float32) {
		k := len(dx) &^ 7
		if k > 0 {
			asm(dx[:k], v[:k], dy[:k])
		}
		if k < len(dx) {
			generic(dx[k:], v[k:len(dx)], dy[k:len(dx)])
		}
	}
}

var (
	_ = onImpl(AVX2, func() {
		sigmoidImpl = simdUnary(sigmoidAVX2, sigmoidGeneric)
		siluImpl = simdUnary(siluAVX2, siluGeneric)
		sigmoidBackwardImpl = simd3(sigmoidBackwardAVX2, sigmoidBackwardGeneric)
		siluBackwardImpl = simd3(siluBackwardAVX2, siluBackwardGeneric)
		siluBackwardSetImpl = simd3(siluBackwardSetAVX2, siluBackwardSetGeneric)
		addImpl, mulImpl = simd3(addAVX2, addGeneric), simd3(mulAVX2, mulGeneric)
	})
	_ = onImpl(AVX512, func() {
		sigmoidImpl = simdUnary(sigmoidAVX512, sigmoidGeneric)
		siluImpl = simdUnary(siluAVX512, siluGeneric)
		sigmoidBackwardImpl = simd3(sigmoidBackwardAVX512, sigmoidBackwardGeneric)
		siluBackwardImpl = simd3(siluBackwardAVX512, siluBackwardGeneric)
		siluBackwardSetImpl = simd3(siluBackwardSetAVX512, siluBackwardSetGeneric)
		addImpl, mulImpl = simd3(addAVX512, addGeneric), simd3(mulAVX512, mulGeneric)
	})
)
