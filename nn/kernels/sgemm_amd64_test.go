//go:build amd64 && gc && !noasm

package kernels

func init() {
	if supported[AVX2] {
		sgemmGeometries = append(sgemmGeometries, struct {
			name string
			arch func() *sgemmArch
		}{"avx2_14x8", func() *sgemmArch { return newSgemmArch(14, 8, sgemmKernel14x8AVX2, nil) }})
	}
}
