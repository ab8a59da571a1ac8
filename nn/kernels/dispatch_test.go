package kernels

import (
	"math"
	"os"
	"strings"
	"testing"
)

// forEachImpl runs f as a subtest under every implementation this machine
// supports, restoring the selected one afterwards.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	prev := Impl()
	defer func() {
		if err := Use(prev); err != nil {
			t.Fatal(err)
		}
	}()
	for _, name := range Available() {
		if err := Use(name); err != nil {
			t.Fatal(err)
		}
		t.Run(name, f)
	}
}

func TestSelectedImplementation(t *testing.T) {
	want := strings.ToLower(strings.TrimSpace(os.Getenv("SORTNET_KERNELS")))
	if want == "" {
		want = Available()[0]
	}
	if Impl() != want {
		t.Fatalf("kernels.Impl() = %q, want %q (SORTNET_KERNELS=%q, available %v, init error %v)",
			Impl(), want, os.Getenv("SORTNET_KERNELS"), Available(), InitError())
	}
	t.Logf("kernels: %s (available %v)", Impl(), Available())
}

func TestUseRejectsUnknownAndUnsupported(t *testing.T) {
	if err := Use("sse9"); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Fatalf("Use(sse9): %v", err)
	}
	for _, name := range []string{AVX512, AVX2} {
		if !supported[name] {
			if err := Use(name); err == nil {
				t.Fatalf("Use(%s) succeeded on a machine that cannot run it", name)
			}
		}
	}
	if got := Available(); got[len(got)-1] != Generic {
		t.Fatalf("Available() = %v: generic must be last", got)
	}
}

// guarded returns a slice of n elements starting off elements into a
// buffer padded on both sides with a sentinel, and a check that the
// padding is intact.
func guarded(t *testing.T, n, off int, sentinel float32) ([]float32, func()) {
	const pad = 17
	buf := make([]float32, off+n+pad+pad)
	for i := range buf {
		buf[i] = sentinel
	}
	s := buf[pad+off : pad+off+n : pad+off+n]
	return s, func() {
		t.Helper()
		for i, v := range buf {
			inside := i >= pad+off && i < pad+off+n
			if !inside && math.Float32bits(v) != math.Float32bits(sentinel) {
				t.Fatalf("guard band overwritten at %d (slice %d..%d): %v", i, pad+off, pad+off+n, v)
			}
		}
	}
}

// closeEnough compares with a tolerance for FMA and reordered sums.
func closeEnough(got, want float32, tol float64) bool {
	if math.IsNaN(float64(want)) {
		return math.IsNaN(float64(got))
	}
	if math.IsInf(float64(want), 0) {
		return got == want
	}
	d := math.Abs(float64(got) - float64(want))
	return d <= tol*(1+math.Abs(float64(want)))
}
