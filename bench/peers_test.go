package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/kernels"
)

// BenchmarkPeers runs sortnet beside the other Go libraries on the same
// work. Both sides use GOMAXPROCS threads (gonum's Gemm spreads over
// GOMAXPROCS goroutines): compare thread counts with GOMAXPROCS=1 and
// GOMAXPROCS=2 (with -cpu 1,2, go test measures each b.Loop benchmark's
// first line before it sets GOMAXPROCS: golang/go#49980).
func BenchmarkPeers(b *testing.B) {
	defer nn.SetThreads(nn.Threads())
	const n = 1024
	b.Run(fmt.Sprintf("gonum_sgemm/%d", n), func(b *testing.B) {
		x, y, z := randGeneral(n, n, 1), randGeneral(n, n, 2), randGeneral(n, n, 3)
		b.ReportAllocs()
		for b.Loop() {
			blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, x, y, 0, z)
		}
		reportGFLOPs(b, 2*n*n*n)
	})
	b.Run(fmt.Sprintf("sortnet_sgemm/%d", n), func(b *testing.B) {
		nn.SetThreads(runtime.GOMAXPROCS(0))
		x, y, z := randGeneral(n, n, 1), randGeneral(n, n, 2), randGeneral(n, n, 3)
		kernels.Sgemm(false, false, n, n, n, 1, x.Data, x.Stride, y.Data, y.Stride, 0, z.Data, z.Stride) // fill the pools
		b.ReportAllocs()
		for b.Loop() {
			kernels.Sgemm(false, false, n, n, n, 1, x.Data, x.Stride, y.Data, y.Stride, 0, z.Data, z.Stride)
		}
		reportGFLOPs(b, 2*n*n*n)
	})
}

// TestSgemmMatchesGonum checks kernels.Sgemm against gonum's blas32.Gemm,
// an independent implementation, for every transpose combination.
func TestSgemmMatchesGonum(t *testing.T) {
	for _, sz := range []struct{ m, n, k int }{{1, 1, 1}, {13, 17, 9}, {100, 24, 96}, {64, 200, 300}} {
		for tr := 0; tr < 4; tr++ {
			tA, tB := tr&1 != 0, tr&2 != 0
			ar, ac := sz.m, sz.k
			if tA {
				ar, ac = ac, ar
			}
			br, bc := sz.k, sz.n
			if tB {
				br, bc = bc, br
			}
			a, bm := randGeneral(ar, ac, 4), randGeneral(br, bc, 5)
			c, want := randGeneral(sz.m, sz.n, 6), randGeneral(sz.m, sz.n, 6)
			kernels.Sgemm(tA, tB, sz.m, sz.n, sz.k, 0.5, a.Data, a.Stride, bm.Data, bm.Stride, 2, c.Data, c.Stride)
			blas32.Gemm(trans(tA), trans(tB), 0.5, a, bm, 2, want)
			for i, w := range want.Data {
				if d := math.Abs(float64(c.Data[i] - w)); d > 1e-5*float64(sz.k+2) {
					t.Fatalf("%dx%dx%d tA=%v tB=%v: c[%d] = %v, gonum %v", sz.m, sz.n, sz.k, tA, tB, i, c.Data[i], w)
				}
			}
		}
	}
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// randGeneral returns a rows×cols matrix of values in [-1, 1) drawn from
// seed.
func randGeneral(rows, cols int, seed uint64) blas32.General {
	rng := rand.New(rand.NewPCG(seed, 7))
	g := blas32.General{Rows: rows, Cols: cols, Stride: cols, Data: make([]float32, rows*cols)}
	for i := range g.Data {
		g.Data[i] = rng.Float32()*2 - 1
	}
	return g
}

func reportGFLOPs(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
