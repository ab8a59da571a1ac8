//go:build amd64 && gc && !noasm

package kernels

// The AVX-512 implementation runs the AVX2 kernels too (see _gen/pool).
var (
	_ = onImpl(AVX2, func() { maxPoolRun, maxPoolArgRun = maxPoolRunAVX2, maxPoolArgRunAVX2 })
	_ = onImpl(AVX512, func() { maxPoolRun, maxPoolArgRun = maxPoolRunAVX2, maxPoolArgRunAVX2 })
)
