//go:build amd64 && gc && !noasm

package kernels

var (
	_ = onImpl(AVX2, func() {
		implicitImpl = &implicitArch{mr: 6, nr: 16, kern: implicitKernel6x16AVX2, half: implicitKernel6x8AVX2}
	})
	_ = onImpl(AVX512, func() {
		implicitImpl = &implicitArch{mr: 14, nr: 32, kern: implicitKernel14x32AVX512, half: implicitKernel14x16AVX512,
			short: &implicitArch{mr: 9, nr: 32, kern: implicitKernel9x32AVX512, half: implicitKernel9x16AVX512}}
	})
)
