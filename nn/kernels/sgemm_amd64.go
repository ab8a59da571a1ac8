//go:build amd64 && gc && !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

var (
	_ = func() bool {
		c := cpuid.CPU.Cache
		if c.L1D > 0 {
			cacheSizes.l1 = c.L1D
		}
		if c.L2 > 0 {
			cacheSizes.l2 = c.L2
		}
		if c.L3 > 0 {
			cacheSizes.l3 = c.L3
		}
		return true
	}()
	_ = onImpl(AVX2, func() {
		sgemmImpl = newSgemmArch(6, 16, sgemmKernel6x16AVX2, sgemmKernel6x8AVX2)
		sgemmImpl.narrow = newSgemmArch(4, 24, sgemmKernel4x24AVX2, nil)
	})
	_ = onImpl(AVX512, func() {
		sgemmImpl = newSgemmArch(14, 32, sgemmKernel14x32AVX512, sgemmKernel14x16AVX512)
		sgemmImpl.narrow = newSgemmArch(14, 24, sgemmKernel14x24AVX512, nil)
		sgemmImpl.keepHalf = true
	})
)
