//go:build amd64 && gc && !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

// cpuid also checks that the OS saves the wider register state (XCR0), so
// a true here means the instructions really run.
var _ = func() bool {
	supported[AVX2] = cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3)
	supported[AVX512] = supported[AVX2] && cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VL)
	return true
}()
