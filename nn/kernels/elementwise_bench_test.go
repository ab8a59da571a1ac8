package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// BenchmarkElementwise times the memory-bound kernels per implementation
// on an EfficientNet-B0 activation at batch 8, [8, 56, 56, 144] (14 MB),
// and reports GB/s: the bytes each call must read and write (an
// accumulated output counts twice), per second of wall time and per second
// of CPU time (per core, for shared machines). "copy" is Go's copy of the same
// tensor, the reference for what the memory system delivers.
func BenchmarkElementwise(b *testing.B) {
	const n, hw, c = 8, 56 * 56, 144
	m := n * hw
	size := m * c
	r := rand.New(rand.NewPCG(3, 3))
	x, y, dy, dx := hostile(r, size, false), make([]float32, size), hostile(r, size, false), make([]float32, size)
	vec := func(k int) []float32 { return hostile(r, k, false) }
	scale, shift, mean32, a, bb, d := vec(c), vec(c), vec(c), vec(c), vec(c), vec(c)
	mean, variance := make([]float64, c), make([]float64, c)
	s, ds, pooled := vec(n*c), make([]float32, n*c), make([]float32, n*c)
	aw, am, av := hostile(r, size, false), make([]float32, size), make([]float32, size)
	adam := adamCases()[0]
	const f = 4 // bytes per float32
	ops := []struct {
		name  string
		bytes int
		fn    func()
	}{
		{"copy", 2 * f * size, func() { copy(y, x) }},
		{"Add", 3 * f * size, func() { Add(y, x, dy) }},
		{"Sigmoid", 2 * f * size, func() { Sigmoid(y, x) }},
		{"SigmoidBackward", 4 * f * size, func() { SigmoidBackward(dx, y, dy) }},
		{"SiLU", 2 * f * size, func() { SiLU(y, x) }},
		{"SiLUBackward", 4 * f * size, func() { SiLUBackward(dx, x, dy) }},
		{"BNApply", 2 * f * size, func() { BNApply(y, x, m, c, scale, shift) }},
		{"BNApplySiLU", 2 * f * size, func() { BNApplySiLU(y, x, m, c, scale, shift) }},
		{"ChannelMoments", f * size, func() { ChannelMoments(x, m, c, mean, variance) }},
		{"BNBackwardSums", 2 * f * size, func() { BNBackwardSums(dy, x, m, c, mean32, mean, variance) }},
		{"BNBackwardInput", 4 * f * size, func() { BNBackwardInput(dx, dy, x, m, c, mean32, a, bb, d) }},
		{"GlobalAvgPool", f * size, func() { GlobalAvgPool(n, hw, c, x, pooled) }},
		{"GlobalAvgPoolBackward", 2 * f * size, func() { GlobalAvgPoolBackward(n, hw, c, pooled, dx) }},
		{"ChannelScale", 2 * f * size, func() { ChannelScale(n, hw, c, x, s, y) }},
		{"ChannelScaleBackward", 5 * f * size, func() { ChannelScaleBackward(n, hw, c, x, s, dy, dx, ds) }},
		// An optimizer step over as many parameters: reads w, g, m, v and
		// writes w, m, v.
		{"AdamUpdate", 7 * f * size, func() { AdamUpdate(aw, dy, am, av, nil, &adam) }},
	}
	prev := Impl()
	defer Use(prev)
	defer parallel.SetThreads(parallel.SetThreads(runtime.GOMAXPROCS(0)))
	for _, impl := range Available() {
		for _, op := range ops {
			b.Run(impl+"/"+op.name, func(b *testing.B) {
				if err := Use(impl); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(op.bytes))
				b.ReportAllocs()
				cpu0 := processCPUTime()
				for b.Loop() {
					op.fn()
				}
				gb := float64(op.bytes) * float64(b.N) / 1e9
				b.ReportMetric(gb/b.Elapsed().Seconds(), "GB/s")
				if cpu := processCPUTime() - cpu0; cpu > 0 {
					b.ReportMetric(gb/cpu.Seconds(), "GB/cpu-s")
				}
			})
		}
	}
}
