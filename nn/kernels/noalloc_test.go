package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// allocsPerRun is testing.AllocsPerRun without its runtime.GOMAXPROCS(1):
// with one P the pool's workers seldom get to join a call, so the
// workers' side of a kernel would go unmeasured. It returns the average
// number of heap allocations of f, rounded down.
func allocsPerRun(runs int, f func()) float64 {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&m1)
	return float64((m1.Mallocs - m0.Mallocs) / uint64(runs))
}

// steadyAllocs returns the fewest allocations per call of f over a few
// rounds of allocsPerRun. The runtime allocates now and then on its own
// (a sudog when a worker parks, a new link of a sync.Pool's chain as
// pooled values move between Ps), in bursts that one round can catch; an
// allocation per call shows in every round.
func steadyAllocs(f func()) float64 {
	least := allocsPerRun(10, f)
	for round := 1; round < 4 && least > 0; round++ {
		least = min(least, allocsPerRun(10, f))
	}
	return least
}

// TestKernelsDoNotAllocate: in steady state (pools warm) no exported kernel
// allocates on the heap, with the work spread over two threads.
func TestKernelsDoNotAllocate(t *testing.T) {
	if sgemmRace {
		t.Skip("the race detector allocates")
	}
	defer parallel.SetThreads(parallel.SetThreads(2))
	// A collection empties the sync.Pools that hold the kernels' scratch
	// (and Tasks' argument boxes); refilling them is not a per-call
	// allocation, so the measurements run with the collector off.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	r := rand.New(rand.NewPCG(7, 7))
	vec := func(n int) []float32 { return hostile(r, n, false) }

	type kase struct {
		name string
		fn   func()
	}
	var cases []kase
	add := func(name string, fn func()) { cases = append(cases, kase{name: name, fn: fn}) }

	// Sgemm: square, every transposition, and 1×1-convolution shapes
	// (forward, dX, dW; the dW ones run as (Bᵀ·A)ᵀ).
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"Sgemm/80", false, false, 80, 80, 80},
		{"Sgemm/80_tA", true, false, 80, 80, 80},
		{"Sgemm/80_tB", false, true, 80, 80, 80},
		{"Sgemm/80_tAB", true, true, 80, 80, 80},
		{"Sgemm/97x61x33", false, false, 97, 61, 33},
		{"Sgemm/pw_96to24_28", false, false, 3136, 24, 96},
		{"Sgemm/pw_24to144_28", false, false, 3136, 144, 24},
		{"Sgemm/pw_96to24_28_dX", false, true, 3136, 96, 24},
		{"Sgemm/pw_96to24_28_dW", true, false, 96, 24, 3136},
		{"Sgemm/pw_24to144_28_dW", true, false, 24, 144, 3136},
	} {
		rowsA, colsA := s.m, s.k
		if s.transA {
			rowsA, colsA = colsA, rowsA
		}
		rowsB, colsB := s.k, s.n
		if s.transB {
			rowsB, colsB = colsB, rowsB
		}
		a, b, c := vec(rowsA*colsA), vec(rowsB*colsB), vec(s.m*s.n)
		add(s.name, func() { Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, colsA, b, colsB, 0.5, c, s.n) })
	}

	// Convolutions, one per path of conv_generic.go.
	conv := func(n, h, w, c, outC, k, stride, pad, dil, groups int) ConvParams {
		out := func(i int) int { return (i+2*pad-dil*(k-1)-1)/stride + 1 }
		return ConvParams{N: n, H: h, W: w, C: c, OutH: out(h), OutW: out(w), OutC: outC,
			KH: k, KW: k, StrideH: stride, StrideW: stride, DilH: dil, DilW: dil,
			PadTop: pad, PadLeft: pad, Groups: groups}
	}
	for _, cv := range []struct {
		name string
		p    ConvParams
		path func(p *ConvParams) bool
	}{
		{"pointwise", conv(2, 14, 14, 32, 48, 1, 1, 0, 1, 1), (*ConvParams).pointwise},
		{"pointwise_groups", conv(2, 14, 14, 32, 48, 1, 1, 0, 1, 2), (*ConvParams).pointwise},
		{"stem_3x3s2", conv(2, 32, 32, 3, 32, 3, 2, 1, 1, 1), (*ConvParams).implicitWeight},
		{"im2col_3x3_groups_dil", conv(2, 16, 16, 16, 24, 3, 1, 2, 2, 2), func(p *ConvParams) bool { return !p.implicit() && !p.depthwise() }},
		{"im2col_3x3_wide", conv(2, 12, 12, 96, 32, 3, 1, 1, 1, 1), func(p *ConvParams) bool { return !p.implicit() }},
		{"depthwise_3x3", conv(2, 28, 28, 32, 32, 3, 1, 1, 1, 32), (*ConvParams).depthwise},
		{"depthwise_5x5s2", conv(2, 28, 28, 40, 40, 5, 2, 2, 1, 40), (*ConvParams).depthwise},
	} {
		p := cv.p
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", cv.name, err)
		}
		if !cv.path(&p) {
			t.Fatalf("%s (%v) does not take the path it is meant to test", cv.name, &p)
		}
		x := vec(p.N * p.H * p.W * p.C)
		w := vec(p.KH * p.KW * p.C / p.Groups * p.OutC)
		y := vec(p.N * p.OutH * p.OutW * p.OutC)
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		add("Conv2d/"+cv.name, func() { Conv2d(&p, x, w, y) })
		add("Conv2dBackwardInput/"+cv.name, func() { Conv2dBackwardInput(&p, y, w, dx) })
		add("Conv2dBackwardInputSet/"+cv.name, func() { Conv2dBackwardInputSet(&p, y, w, dx) })
		add("Conv2dBackwardWeight/"+cv.name, func() { Conv2dBackwardWeight(&p, x, y, dw) })
		if cv.name == "pointwise" {
			// The kernels must not keep p: a caller's ConvParams on its
			// stack stays there.
			add("Conv2d/stack_params", func() { q := p; Conv2d(&q, x, w, y) })
			add("Conv2dBackwardInput/stack_params", func() { q := p; Conv2dBackwardInput(&q, y, w, dx) })
			add("Conv2dBackwardWeight/stack_params", func() { q := p; Conv2dBackwardWeight(&q, x, y, dw) })
		}
	}

	// Pooling.
	pp := PoolParams{N: 2, H: 28, W: 28, C: 32, OutH: 14, OutW: 14, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1}
	if err := pp.Validate(); err != nil {
		t.Fatal(err)
	}
	px, py := vec(pp.N*pp.H*pp.W*pp.C), vec(pp.N*pp.OutH*pp.OutW*pp.C)
	pdx, argmax := make([]float32, len(px)), make([]int32, len(py))
	MaxPool2d(&pp, px, py, argmax)
	// Each call passes a copy of pp on its stack: the kernels must not keep it.
	add("MaxPool2d", func() { q := pp; MaxPool2d(&q, px, py, nil) })
	add("MaxPool2d/argmax", func() { q := pp; MaxPool2d(&q, px, py, argmax) })
	fx, fd := vec(1003), make([]float32, 1003)
	var fsum [8]float64
	for _, g := range []float32{1.5, 0.7} { // SIMD and math.Pow
		f := Focal{Gamma: g, Alpha: [2]float32{0.75, 0.25}, Target: [2]float32{0, 1}, Scale: 1}
		add(fmt.Sprintf("FocalNegatives/γ%v", g), func() { FocalNegatives(fx, fd, &f, &fsum) })
		add(fmt.Sprintf("FocalTerm/γ%v", g), func() { FocalTerm(fx[0], true, &f) })
	}
	add("MaxPool2dBackward", func() { q := pp; MaxPool2dBackward(&q, py, argmax, pdx) })
	add("AvgPool2d", func() { q := pp; AvgPool2d(&q, px, py, false) })
	add("AvgPool2dBackward", func() { q := pp; AvgPool2dBackward(&q, py, pdx, true) })

	// Batch norm, per-channel and global pooling kernels on [n, hw, c].
	const n, hw, c = 4, 28 * 28, 48
	m := n * hw
	x, y, dy, dx := vec(m*c), vec(m*c), vec(m*c), vec(m*c)
	scale, shift, mean32, a, b, d := vec(c), vec(c), vec(c), vec(c), vec(c), vec(c)
	mean, variance := make([]float64, c), make([]float64, c)
	s, ds, pooled := vec(n*c), vec(n*c), vec(n*c)
	add("ChannelMoments", func() { ChannelMoments(x, m, c, mean, variance) })
	add("BNApply", func() { BNApply(y, x, m, c, scale, shift) })
	add("BNApplySiLU", func() { BNApplySiLU(y, x, m, c, scale, shift) })
	add("BNApplySiLUSave", func() { BNApplySiLUSave(y, dx, x, m, c, scale, shift) })
	add("BNBackwardSums", func() { BNBackwardSums(dy, x, m, c, mean32, mean, variance) })
	add("BNBackwardInput", func() { BNBackwardInput(dx, dy, x, m, c, mean32, a, b, d) })
	add("BNBackwardInputSet", func() { BNBackwardInputSet(dx, dy, x, m, c, mean32, a, b, d) })
	add("GlobalAvgPool", func() { GlobalAvgPool(n, hw, c, x, pooled) })
	add("GlobalAvgPoolBackward", func() { GlobalAvgPoolBackward(n, hw, c, pooled, dx) })
	add("ChannelScale", func() { ChannelScale(n, hw, c, x, s, y) })
	add("ChannelScaleBackward", func() { ChannelScaleBackward(n, hw, c, x, s, dy, dx, ds) })
	add("ChannelScaleBackward/dx", func() { ChannelScaleBackward(n, hw, c, x, s, dy, dx, nil) })
	add("ChannelScaleBackward/ds", func() { ChannelScaleBackward(n, hw, c, x, s, dy, nil, ds) })

	// Elementwise kernels (single-threaded) and Axpy.
	ex, ey, edy, edx := x[:4096], y[:4096], dy[:4096], dx[:4096]
	for _, e := range []struct {
		name string
		fn   func(dst, src []float32)
	}{
		{"ReLU", ReLU}, {"ReLU6", ReLU6}, {"Sigmoid", Sigmoid}, {"SiLU", SiLU},
		{"Tanh", Tanh}, {"HardSigmoid", HardSigmoid}, {"HardSwish", HardSwish}, {"GELU", GELU},
	} {
		add(e.name, func() { e.fn(ey, ex) })
	}
	for _, e := range []struct {
		name string
		fn   func(dx, v, dy []float32)
	}{
		{"ReLUBackward", ReLUBackward}, {"ReLU6Backward", ReLU6Backward},
		{"SigmoidBackward", SigmoidBackward}, {"SiLUBackward", SiLUBackward}, {"SiLUBackwardSet", SiLUBackwardSet},
		{"TanhBackward", TanhBackward}, {"HardSigmoidBackward", HardSigmoidBackward},
		{"HardSwishBackward", HardSwishBackward}, {"GELUBackward", GELUBackward},
	} {
		add(e.name, func() { e.fn(edx, ex, edy) })
	}
	add("Axpy", func() { Axpy(0.5, ex, ey) })

	forEachImpl(t, func(t *testing.T) {
		for _, k := range cases {
			k.fn() // warm the pools
			k.fn()
			if got := steadyAllocs(k.fn); got != 0 {
				t.Errorf("%s: %v allocations per call, want 0", k.name, got)
			}
		}
	})
}
