//go:build amd64 && gc && !noasm

package kernels

var (
	chanAVX2 = &chanKernels{
		moments:   chanMomentsAVX2,
		dySums:    chanDySumsAVX2,
		sum:       chanSumAVX2,
		dot:       chanDotAVX2,
		mul:       chanMulAVX2,
		mulAdd:    chanMulAddAVX2,
		add:       chanAddAVX2,
		bnGrad:    chanBNGradAVX2,
		bnGradSet: chanBNGradSetAVX2,
		bnApply: func(y, z, x []float32, rows, c int, scale, shift []float32, silu bool) {
			bnApplySIMD(bnApplyAVX2, y, z, x, rows, c, scale, shift, silu)
		},
	}
	chanAVX512 = &chanKernels{
		moments:   chanMomentsAVX512,
		dySums:    chanDySumsAVX512,
		sum:       chanSumAVX512,
		dot:       chanDotAVX512,
		mul:       chanMulAVX512,
		mulAdd:    chanMulAddAVX512,
		add:       chanAddAVX512,
		bnGrad:    chanBNGradAVX512,
		bnGradSet: chanBNGradSetAVX512,
		bnApply: func(y, z, x []float32, rows, c int, scale, shift []float32, silu bool) {
			bnApplySIMD(bnApplyAVX512, y, z, x, rows, c, scale, shift, silu)
		},
	}

	_ = onImpl(AVX2, func() { chanK = chanAVX2 })
	_ = onImpl(AVX512, func() { chanK = chanAVX512 })
)

// bnApplySIMD runs the vector kernel on the first c&^7 channels of every
// row and the generic loop (same bits) on the rest.
func bnApplySIMD(asm func(y, z, x []float32, m, c int, scale, shift []float32, mode int),
	y, z, x []float32, rows, c int, scale, shift []float32, silu bool) {
	if rows == 0 {
		return
	}
	y, x = y[:rows*c], x[:rows*c]
	scale, shift = scale[:c], shift[:c]
	mode := 0
	switch {
	case silu && z != nil:
		z = z[:rows*c]
		mode = 2
	case silu:
		mode = 1
	}
	if c >= 8 {
		asm(y, z, x, rows, c, scale, shift, mode)
	}
	if k := c &^ 7; k < c {
		for r := 0; r < rows; r++ {
			var zr []float32
			if mode == 2 {
				zr = z[r*c+k:]
			}
			bnApplyRowsGeneric(y[r*c+k:], zr, x[r*c+k:], 1, c-k, scale[k:], shift[k:], silu)
		}
	}
}
