//go:build amd64 && gc && !noasm

package kernels

func init() {
	if supported[AVX2] {
		// The AVX-512 tiles' 14-row geometry, generated from the same
		// template with AVX2 registers: it runs the code paths of the
		// AVX-512 kernels on machines without AVX-512.
		implicitGeometries = append(implicitGeometries, struct {
			name string
			arch *implicitArch
		}{"avx2_14x8", &implicitArch{mr: 14, nr: 8, kern: implicitKernel14x8AVX2}})
	}
}
