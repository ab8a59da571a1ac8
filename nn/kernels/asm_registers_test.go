package kernels

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestAsmVectorRegisters checks the generated assembly of every kernel
// family: AVX2 functions use only the 16 vector registers VEX can encode
// and no AVX-512 (ZMM or mask) registers; in AVX-512 functions, the YMM and
// XMM code also keeps to registers below 16, so that it is VEX-encoded like
// the AVX2 code it was generated from (and tested as). No kernel touches an
// X register with a legacy-SSE instruction (one without the V prefix):
// after 256-bit code that costs a state transition or a merge with the
// upper half, and one MOVD in the argmax max-pool loop made it 50× slower
// on Zen 3.
//
// The exception is evexYMM: AVX-512 kernels whose YMM registers are part
// of the AVX-512 design, not code shared with an AVX2 twin.
func TestAsmVectorRegisters(t *testing.T) {
	// The 14×24 SGEMM tile holds a zmm and a ymm accumulator per row: 28
	// accumulators, two B vectors and the broadcast need registers above
	// 15 for its ymm halves (EVEX, AVX512VL, which dispatch requires).
	evexYMM := map[string]bool{"·sgemmKernel14x24AVX512": true}
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	highXY := regexp.MustCompile(`\b[XY](1[6-9]|2[0-9]|3[01])\b`)
	avx512 := regexp.MustCompile(`\bZ[0-9]+\b|\bK[1-7]\b`)
	// An instruction not starting with V (or a branch, label or data)
	// that names an X register.
	legacySSE := regexp.MustCompile(`^\s+([A-UW-Z][A-Z0-9]*)\s.*\bX[0-9]+\b`)
	checked := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), "_amd64.s") {
			continue
		}
		src, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		fn := ""
		for i, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(line, "TEXT ") {
				fn = line
				continue
			}
			if fn == "" || strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			checked++
			if m := highXY.FindString(line); m != "" && !evexYMM[strings.TrimSuffix(strings.Fields(fn)[1], "(SB),")] {
				t.Errorf("%s:%d: %s uses %s (EVEX only): %s", f.Name(), i+1, fn, m, strings.TrimSpace(line))
			}
			if m := legacySSE.FindStringSubmatch(line); m != nil {
				t.Errorf("%s:%d: %s uses legacy SSE %s on an X register: %s", f.Name(), i+1, fn, m[1], strings.TrimSpace(line))
			}
			if strings.Contains(fn, "AVX2") {
				if m := avx512.FindString(line); m != "" {
					t.Errorf("%s:%d: AVX2 function %s uses %s: %s", f.Name(), i+1, fn, m, strings.TrimSpace(line))
				}
			}
		}
	}
	if checked == 0 {
		t.Skip("no assembly in this package")
	}
}
