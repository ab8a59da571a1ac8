//go:build unix

package augment_test

import "syscall"

// cpuSeconds is the process's user+system CPU time, to report throughput
// per CPU-second on machines where other work competes for the cores.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
