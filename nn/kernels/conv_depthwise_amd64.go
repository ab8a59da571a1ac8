//go:build amd64 && gc && !noasm

package kernels

var (
	dwAVX2 = &dwKernels{row: dwRowAVX2, rowS1: dwRowS1AVX2, rowS2: dwRowS2AVX2, rowM1: dwRowM1AVX2,
		wgt: dwWgtAVX2, wgtS1: dwWgtS1AVX2}
	dwAVX512 = &dwKernels{row: dwRowAVX512, rowS1: dwRowS1AVX512, rowS2: dwRowS2AVX512, rowM1: dwRowM1AVX512,
		wgt: dwWgtAVX512, wgtS1: dwWgtS1AVX512}

	_ = onImpl(AVX2, func() { dwSIMD = dwAVX2 })
	_ = onImpl(AVX512, func() { dwSIMD = dwAVX512 })
)
