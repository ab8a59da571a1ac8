//go:build amd64 && gc && !noasm

package kernels

// The AVX-512 implementation runs the AVX2 kernel too (see _gen/pool).
var (
	_ = onImpl(AVX2, func() { maxPoolRun = maxPoolRunAVX2 })
	_ = onImpl(AVX512, func() { maxPoolRun = maxPoolRunAVX2 })
)
