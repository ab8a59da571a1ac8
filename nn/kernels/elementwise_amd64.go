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

func simdBackward(asm, generic func(dx, v, dy []float32)) func(dx, v, dy []float32) {
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
		sigmoidBackwardImpl = simdBackward(sigmoidBackwardAVX2, sigmoidBackwardGeneric)
		siluBackwardImpl = simdBackward(siluBackwardAVX2, siluBackwardGeneric)
		siluBackwardSetImpl = simdBackward(siluBackwardSetAVX2, siluBackwardSetGeneric)
	})
	_ = onImpl(AVX512, func() {
		sigmoidImpl = simdUnary(sigmoidAVX512, sigmoidGeneric)
		siluImpl = simdUnary(siluAVX512, siluGeneric)
		sigmoidBackwardImpl = simdBackward(sigmoidBackwardAVX512, sigmoidBackwardGeneric)
		siluBackwardImpl = simdBackward(siluBackwardAVX512, siluBackwardGeneric)
		siluBackwardSetImpl = simdBackward(siluBackwardSetAVX512, siluBackwardSetGeneric)
	})
)
