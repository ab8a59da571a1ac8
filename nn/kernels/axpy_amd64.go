//go:build amd64 && gc && !noasm

package kernels

var (
	_ = onImpl(AVX2, func() { axpyImpl = axpyAVX2 })
	_ = onImpl(AVX512, func() { axpyImpl = axpyAVX512 })
)
