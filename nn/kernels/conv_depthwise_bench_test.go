package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// dwBenchCases are EfficientNet-B0 depthwise layers at batch 8 with TF
// "SAME" padding (asymmetric for stride 2).
var dwBenchCases = []struct {
	name          string
	n, h, c, k, s int
}{
	{"dw3x3_144_56", 8, 56, 144, 3, 1},
	{"dw5x5_240_28", 8, 28, 240, 5, 1},
	{"dw3x3s2_144_56", 8, 56, 144, 3, 2},
	{"dw5x5s2_240_28", 8, 28, 240, 5, 2},
}

// samePad returns TF "SAME" output size and top/left padding.
func samePad(in, k, s int) (out, before int) {
	out = (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	return out, total / 2
}

func dwBenchParams(n, h, c, k, s int) ConvParams {
	out, pad := samePad(h, k, s)
	return ConvParams{N: n, H: h, W: h, C: c, OutH: out, OutW: out, OutC: c, KH: k, KW: k,
		StrideH: s, StrideW: s, DilH: 1, DilW: 1, PadTop: pad, PadLeft: pad, Groups: c}
}

// BenchmarkDepthwise times the depthwise convolution per implementation:
// forward, input gradient, weight gradient, both gradients through
// Conv2dBackward (bwd, 2× the forward FLOPs; fused where dwFused), and
// the forward pass and Conv2dBackward (fwdbwd, 3×). GFLOP/s counts
// 2·N·OutH·OutW·C·KH·KW per pass; GFLOP/cpu-s divides by the process's
// CPU time instead of wall time (per core, and not inflated by waiting
// for other processes).
// The worker pool runs GOMAXPROCS threads: run with GOMAXPROCS=1 or =2 in
// the environment for the one- and two-thread figures (go test's -cpu
// flag does not reach sub-benchmarks); tools/bench_depthwise_torch.py --go
// prints them next to PyTorch's.
func BenchmarkDepthwise(b *testing.B) {
	prev := Impl()
	defer Use(prev)
	defer parallel.SetThreads(parallel.SetThreads(runtime.GOMAXPROCS(0)))
	r := rand.New(rand.NewPCG(1, 2))
	for _, impl := range Available() {
		for _, bc := range dwBenchCases {
			p := dwBenchParams(bc.n, bc.h, bc.c, bc.k, bc.s)
			x := make([]float32, p.N*p.H*p.W*p.C)
			w := make([]float32, p.KH*p.KW*p.C)
			y := make([]float32, p.N*p.OutH*p.OutW*p.C)
			for i := range x {
				x[i] = r.Float32()*2 - 1
			}
			for i := range w {
				w[i] = r.Float32()*2 - 1
			}
			for i := range y {
				y[i] = r.Float32()*2 - 1
			}
			dx, dw := make([]float32, len(x)), make([]float32, len(w))
			flops := 2 * float64(p.N*p.OutH*p.OutW*p.C*p.KH*p.KW)
			for _, pass := range []struct {
				name  string
				scale float64
				fn    func()
			}{
				{"fwd", 1, func() { Conv2d(&p, x, w, y) }},
				{"bwdinput", 1, func() { Conv2dBackwardInput(&p, y, w, dx) }},
				{"bwdweight", 1, func() { Conv2dBackwardWeight(&p, x, y, dw) }},
				{"bwd", 2, func() { Conv2dBackward(&p, x, w, y, dx, dw, false) }},
				{"fwdbwd", 3, func() {
					Conv2d(&p, x, w, y)
					Conv2dBackward(&p, x, w, y, dx, dw, false)
				}},
			} {
				b.Run(impl+"/"+bc.name+"/"+pass.name, func(b *testing.B) {
					if err := Use(impl); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					cpu0 := processCPUTime()
					for b.Loop() {
						pass.fn()
					}
					work := pass.scale * flops * float64(b.N) / 1e9
					b.ReportMetric(work/b.Elapsed().Seconds(), "GFLOP/s")
					if cpu := processCPUTime() - cpu0; cpu > 0 {
						b.ReportMetric(work/cpu.Seconds(), "GFLOP/cpu-s")
					}
				})
			}
		}
	}
}
