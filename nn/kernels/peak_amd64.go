//go:build amd64 && gc && !noasm

package kernels

var (
	_ = onImpl(AVX2, func() { fmaPeak, fmaPeakLanes = fmaPeakAVX2, 8 })
	_ = onImpl(AVX512, func() { fmaPeak, fmaPeakLanes = fmaPeakAVX512, 16 })
)
