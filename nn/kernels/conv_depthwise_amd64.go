//go:build amd64 && gc && !noasm

package kernels

var (
	dwAVX2   = &dwKernels{row: dwRowAVX2, wgt: dwWgtAVX2}
	dwAVX512 = &dwKernels{row: dwRowAVX512, wgt: dwWgtAVX512}

	_ = onImpl(AVX2, func() { dwSIMD = dwAVX2 })
	_ = onImpl(AVX512, func() { dwSIMD = dwAVX512 })
)
