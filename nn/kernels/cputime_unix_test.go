//go:build unix

package kernels

import (
	"syscall"
	"time"
)

// processCPUTime returns the CPU time (user + system) the process has used
// so far, for the per-CPU-second benchmark metrics: on a shared machine
// they show what the cores delivered while they ran.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
