package kernels

import (
	"runtime"
	"sync"
	"testing"
)

// TestFMAPeakRuns checks that every implementation's peak loop runs and
// leaves its (zero) sum.
func TestFMAPeakRuns(t *testing.T) {
	prev := Impl()
	defer Use(prev)
	for _, impl := range Available() {
		if err := Use(impl); err != nil {
			t.Fatal(err)
		}
		out := []float32{1}
		fmaPeak(100, out)
		if out[0] != 0 {
			t.Errorf("%s: sum %v, want 0", impl, out[0])
		}
	}
}

// BenchmarkPeak measures the float32 FLOP rate the cores deliver: each of
// GOMAXPROCS goroutines runs independent FMAs on registers, so the figure
// is FMA units × lanes × 2 flops × the clock under load (boost included)
// per core. It is the peak that tools/bench_peers.py divides kernel
// figures by; run it with GOMAXPROCS=1 and =2 for one and two threads (two
// hyperthreads of one core share its FMA units and show no gain).
func BenchmarkPeak(b *testing.B) {
	prev := Impl()
	defer Use(prev)
	const iters = 1 << 20
	for _, impl := range Available() {
		b.Run(impl, func(b *testing.B) {
			if err := Use(impl); err != nil {
				b.Fatal(err)
			}
			threads := runtime.GOMAXPROCS(0)
			for b.Loop() {
				var wg sync.WaitGroup
				for range threads {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var out [1]float32
						fmaPeak(iters, out[:])
					}()
				}
				wg.Wait()
			}
			flops := float64(b.N) * float64(threads) * iters * fmaPeakChains * float64(fmaPeakLanes) * 2
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9/float64(threads), "GFLOP/s/thread")
		})
	}
}
