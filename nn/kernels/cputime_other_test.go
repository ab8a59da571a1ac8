//go:build !unix

package kernels

import "time"

// processCPUTime is not measured on this platform (the CPU-second metrics
// are left out).
func processCPUTime() time.Duration { return 0 }
