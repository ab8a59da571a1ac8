package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// bnSizes covers a single row, a single channel, odd channel counts, one
// block, several blocks with a short last block, and the 64-block limit.
var bnSizes = [][2]int{
	{1, 1}, {1, 7}, {2, 3}, {3, 1}, {17, 5}, {100, 33}, {3001, 7}, {40000, 3}, {513, 64},
}

// bnData returns n values of mean mu and spread s, starting at offset off in
// a slice padded with guard values on both sides.
func bnData(r *rand.Rand, n, off int, mu, s float32) []float32 {
	buf := make([]float32, n+off+3)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	x := buf[off : off+n]
	for i := range x {
		x[i] = mu + s*(2*r.Float32()-1)
	}
	return x
}

func bnRefMoments(x []float32, m, c int) (mean, variance []float64) {
	mean, variance = make([]float64, c), make([]float64, c)
	for j := 0; j < c; j++ {
		var s float64
		for r := 0; r < m; r++ {
			s += float64(x[r*c+j])
		}
		mean[j] = s / float64(m)
		var v float64
		for r := 0; r < m; r++ {
			d := float64(x[r*c+j]) - mean[j]
			v += d * d
		}
		variance[j] = v / float64(m)
	}
	return
}

func bnClose(got, want, rtol, atol float64) bool {
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

func TestChannelMoments(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sz := range bnSizes {
		m, c := sz[0], sz[1]
		// A large mean relative to the spread is where a naive one-pass
		// variance in float32 (or even float64 without a shift) goes wrong.
		for _, mu := range []float32{0, 3, 1e4} {
			name := fmt.Sprintf("m%d_c%d_mu%g", m, c, mu)
			x := bnData(r, m*c, m%4, mu, 1)
			mean, variance := make([]float64, c), make([]float64, c)
			ChannelMoments(x, m, c, mean, variance)
			wm, wv := bnRefMoments(x, m, c)
			for j := 0; j < c; j++ {
				if !bnClose(mean[j], wm[j], 1e-12, 1e-12) || !bnClose(variance[j], wv[j], 1e-9, 1e-12) {
					t.Fatalf("%s: channel %d: mean %v var %v, want %v %v", name, j, mean[j], variance[j], wm[j], wv[j])
				}
			}
		}
	}
}

func TestChannelMomentsEdges(t *testing.T) {
	mean, variance := []float64{7, 7}, []float64{7, 7}
	ChannelMoments(nil, 0, 2, mean, variance)
	if !math.IsNaN(mean[0]) || !math.IsNaN(variance[1]) {
		t.Fatalf("m=0: mean %v var %v, want NaN", mean, variance)
	}
	// A constant channel has variance exactly 0, never negative.
	x := []float32{5, 1, 5, 2, 5, 3}
	ChannelMoments(x, 3, 2, mean, variance)
	if mean[0] != 5 || variance[0] != 0 || mean[1] != 2 || math.Abs(variance[1]-2.0/3) > 1e-15 {
		t.Fatalf("mean %v var %v", mean, variance)
	}
	x[2] = float32(math.NaN())
	ChannelMoments(x, 3, 2, mean, variance)
	if !math.IsNaN(mean[0]) || !math.IsNaN(variance[0]) || math.IsNaN(mean[1]) {
		t.Fatalf("NaN in channel 0: mean %v var %v", mean, variance)
	}
}

func TestBNApply(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range bnSizes {
		m, c := sz[0], sz[1]
		x := bnData(r, m*c, 1, 0, 2)
		scale, shift := bnData(r, c, 2, 0, 1), bnData(r, c, 3, 0, 1)
		buf := bnData(r, m*c+4, 0, 0, 1)
		y := buf[2 : 2+m*c]
		guard := append([]float32(nil), buf...)
		BNApply(y, x, m, c, scale, shift)
		for i := range buf {
			if i >= 2 && i < 2+m*c {
				continue
			}
			if math.Float32bits(buf[i]) != math.Float32bits(guard[i]) {
				t.Fatalf("m%d c%d: guard element %d overwritten", m, c, i)
			}
		}
		for i, v := range y {
			if want := x[i]*scale[i%c] + shift[i%c]; v != want {
				t.Fatalf("m%d c%d: y[%d] = %v, want %v", m, c, i, v, want)
			}
		}
		// In place.
		BNApply(x, x, m, c, scale, shift)
		for i := range y {
			if x[i] != y[i] {
				t.Fatalf("m%d c%d: in-place y[%d] = %v, want %v", m, c, i, x[i], y[i])
			}
		}
	}
}

func TestBNBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, sz := range bnSizes {
		m, c := sz[0], sz[1]
		x, dy := bnData(r, m*c, 1, 1, 2), bnData(r, m*c, 3, 0, 1)
		mean, a, b, d := bnData(r, c, 0, 1, 1), bnData(r, c, 1, 0, 1), bnData(r, c, 2, 0, 1), bnData(r, c, 3, 0, 1)
		sumDy, sumDyXc := make([]float64, c), make([]float64, c)
		for j := range sumDy {
			sumDy[j], sumDyXc[j] = 99, 99 // must be overwritten
		}
		BNBackwardSums(dy, x, m, c, mean, sumDy, sumDyXc)
		for j := 0; j < c; j++ {
			var s1, s2 float64
			for i := 0; i < m; i++ {
				s1 += float64(dy[i*c+j])
				s2 += float64(dy[i*c+j]) * (float64(x[i*c+j]) - float64(mean[j]))
			}
			if !bnClose(sumDy[j], s1, 1e-12, 1e-12) || !bnClose(sumDyXc[j], s2, 1e-6, 1e-6*math.Sqrt(float64(m))) {
				t.Fatalf("m%d c%d: channel %d sums %v %v, want %v %v", m, c, j, sumDy[j], sumDyXc[j], s1, s2)
			}
		}
		dx := bnData(r, m*c, 2, 0, 1)
		dx0 := append([]float32(nil), dx...)
		BNBackwardInput(dx, dy, x, m, c, mean, a, b, d)
		for i := range dx {
			j := i % c
			if want := dx0[i] + (float32(a[j]*dy[i]) + float32(b[j]*(x[i]-mean[j])) + d[j]); dx[i] != want {
				t.Fatalf("m%d c%d: dx[%d] = %v, want %v", m, c, i, dx[i], want)
			}
		}
		// The Set variant overwrites dx (NaNs there included) with what
		// adding to zeros gives.
		for i := range dx {
			dx[i] = float32(math.NaN())
		}
		BNBackwardInputSet(dx, dy, x, m, c, mean, a, b, d)
		for i := range dx {
			j := i % c
			if want := 0 + (float32(a[j]*dy[i]) + float32(b[j]*(x[i]-mean[j])) + d[j]); dx[i] != want {
				t.Fatalf("m%d c%d: Set: dx[%d] = %v, want %v", m, c, i, dx[i], want)
			}
		}
	}
}

// TestBNKernelsThreadInvariant checks that the reductions give bit-identical
// results with 1 and 3 threads on sizes that span many blocks.
func TestBNKernelsThreadInvariant(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m, c := 30011, 5
	x, dy := bnData(r, m*c, 0, 0.5, 3), bnData(r, m*c, 0, 0, 1)
	mean32 := []float32{0.1, 0.2, 0.3, 0.4, 0.5}
	run := func(threads int) []float64 {
		prev := parallel.SetThreads(threads)
		defer parallel.SetThreads(prev)
		out := make([]float64, 4*c)
		ChannelMoments(x, m, c, out[:c], out[c:2*c])
		BNBackwardSums(dy, x, m, c, mean32, out[2*c:3*c], out[3*c:])
		return out
	}
	a, b := run(1), run(3)
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("element %d: %v with 1 thread, %v with 3", i, a[i], b[i])
		}
	}
}

func TestBNKernelPanics(t *testing.T) {
	cases := []struct {
		want string
		f    func()
	}{
		{"kernels.ChannelMoments: x has 5 elements, needs 6", func() {
			ChannelMoments(make([]float32, 5), 2, 3, make([]float64, 3), make([]float64, 3))
		}},
		{"kernels.BNApply: shift has 2 elements, needs 3", func() {
			BNApply(make([]float32, 6), make([]float32, 6), 2, 3, make([]float32, 3), make([]float32, 2))
		}},
		{"kernels.BNBackwardSums: negative size", func() {
			BNBackwardSums(nil, nil, -1, 3, nil, nil, nil)
		}},
		{"kernels.BNBackwardInput: dx has 0 elements", func() {
			BNBackwardInput(nil, make([]float32, 6), make([]float32, 6), 2, 3, nil, nil, nil, nil)
		}},
	}
	for _, tc := range cases {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want it to contain %q", msg, tc.want)
				}
			}()
			tc.f()
		}()
	}
}

func BenchmarkBN(b *testing.B) {
	for _, sz := range [][2]int{{16 * 64 * 64, 32}, {16 * 8 * 8, 1280}} {
		m, c := sz[0], sz[1]
		r := rand.New(rand.NewPCG(1, 1))
		x, dy := bnData(r, m*c, 0, 0, 1), bnData(r, m*c, 0, 0, 1)
		y := make([]float32, m*c)
		mean, variance := make([]float64, c), make([]float64, c)
		scale, shift, mean32 := make([]float32, c), make([]float32, c), make([]float32, c)
		bytes := float64(4 * m * c)
		b.Run(fmt.Sprintf("moments/m%d_c%d", m, c), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ChannelMoments(x, m, c, mean, variance)
			}
			b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run(fmt.Sprintf("apply/m%d_c%d", m, c), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				BNApply(y, x, m, c, scale, shift)
			}
			b.ReportMetric(2*bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run(fmt.Sprintf("backwardsums/m%d_c%d", m, c), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				BNBackwardSums(dy, x, m, c, mean32, mean, variance)
			}
			b.ReportMetric(2*bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
