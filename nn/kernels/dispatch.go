package kernels

import (
	"fmt"
	"os"
	"strings"
)

// Implementation names, best first.
const (
	AVX512  = "avx512"  // AVX-512 F, BW, DQ and VL
	AVX2    = "avx2"    // AVX2 and FMA3
	Generic = "generic" // plain Go: the specification of every kernel
)

var order = []string{AVX512, AVX2, Generic}

// supported reports which implementations this CPU and build can run; the
// amd64 build fills in the SIMD entries from cpuid (dispatch_amd64.go).
var supported = map[string]bool{Generic: true}

// installers switch the kernel function variables to one implementation.
// Kernel families register theirs with onImpl in package-level variable
// declarations, which all run before any init function, so selection in
// init sees every registration.
var installers []struct {
	impl string
	fn   func()
}

// onImpl registers fn to install impl's versions of one kernel family. A
// family that has no version for an implementation keeps the best version
// below it (see use).
func onImpl(impl string, fn func()) bool {
	installers = append(installers, struct {
		impl string
		fn   func()
	}{impl, fn})
	return true
}

var current = Generic

// initErr records why SORTNET_KERNELS could not be honoured.
var initErr error

func init() {
	want := strings.TrimSpace(strings.ToLower(os.Getenv("SORTNET_KERNELS")))
	if want == "" {
		for _, name := range order {
			if supported[name] {
				use(name)
				return
			}
		}
	}
	if err := Use(want); err != nil {
		initErr = fmt.Errorf("SORTNET_KERNELS=%s: %w; using %s", want, err, Generic)
		fmt.Fprintln(os.Stderr, "sortnet:", initErr)
		use(Generic)
	}
}

// Impl names the implementation in use: "avx512", "avx2" or "generic".
func Impl() string { return current }

// InitError reports why the implementation named by SORTNET_KERNELS was
// not selected, or nil if it was (or the variable was not set).
func InitError() error { return initErr }

// Available lists the implementations this machine and build can run, best
// first; "generic" is always last.
func Available() []string {
	var out []string
	for _, name := range order {
		if supported[name] {
			out = append(out, name)
		}
	}
	return out
}

// Use switches every kernel to the named implementation. It fails for an
// unknown name or one this CPU (or a -tags noasm build) cannot run. It is
// meant for tests and benchmarks that compare implementations; do not call
// it while kernels are running.
func Use(name string) error {
	known := false
	for _, n := range order {
		known = known || n == name
	}
	if !known {
		return fmt.Errorf("unknown kernel implementation %q (known: %s)", name, strings.Join(order, ", "))
	}
	if !supported[name] {
		return fmt.Errorf("this CPU or build cannot run the %s kernels (available: %s)", name, strings.Join(Available(), ", "))
	}
	use(name)
	return nil
}

// use installs the generic kernels, then each faster implementation up to
// and including name (AVX2 before AVX-512), so a family without a version
// for name runs the best one below it.
func use(name string) {
	for i := len(order) - 1; i >= 0; i-- {
		level := order[i]
		for _, in := range installers {
			if in.impl == level {
				in.fn()
			}
		}
		if level == name {
			break
		}
	}
	current = name
}
