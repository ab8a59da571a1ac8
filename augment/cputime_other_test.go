//go:build !unix

package augment_test

func cpuSeconds() float64 { return 0 }
