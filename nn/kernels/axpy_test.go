package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAxpyMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	forEachImpl(t, func(t *testing.T) {
		// Sizes cover the 4-vector blocks, single vectors and the scalar
		// tail of both the 8- and 16-lane versions.
		for _, n := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129, 1000} {
			for off := 0; off < 4; off++ {
				x := make([]float32, n+off)[off:]
				want := make([]float32, n)
				for i := range x {
					x[i] = rng.Float32()*4 - 2
					want[i] = rng.Float32()*4 - 2
				}
				y, check := guarded(t, n, off, -7)
				copy(y, want)
				Axpy(0.75, x, y)
				axpyGeneric(0.75, x, want)
				check()
				for i := range y {
					if !closeEnough(y[i], want[i], 1e-6) {
						t.Fatalf("n %d off %d: y[%d] = %v, want %v", n, off, i, y[i], want[i])
					}
				}
			}
		}
	})
}

func TestAxpyNaNInf(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		x := []float32{float32(math.NaN()), float32(math.Inf(1)), 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		y := make([]float32, len(x))
		Axpy(1, x, y)
		if !math.IsNaN(float64(y[0])) || !math.IsInf(float64(y[1]), 1) || y[2] != 1 {
			t.Fatalf("got %v", y[:3])
		}
	})
}

func TestAxpyShortX(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for x shorter than y")
		}
	}()
	Axpy(1, make([]float32, 2), make([]float32, 3))
}

func BenchmarkAxpy(b *testing.B) {
	x, y := make([]float32, 1<<16), make([]float32, 1<<16)
	for _, name := range Available() {
		b.Run(name, func(b *testing.B) {
			if err := Use(name); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(12 * len(y)))
			b.ReportAllocs()
			for b.Loop() {
				Axpy(0.5, x, y)
			}
		})
	}
	Use(Available()[0])
}
