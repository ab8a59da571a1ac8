package efficientdet_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// TestNoGradReleasesIntermediates: inference under nn.NoGrad, which hands
// the BiFPN's and heads' intermediates back to the pool as soon as they
// are used, computes what the recorded forward pass computes (so nothing
// still needed was released), leaves the input alone, and once the pool
// is warm allocates about as much at batch 8 as at batch 2 (the
// post-processing allocates per image, the network should not).
func TestNoGradReleasesIntermediates(t *testing.T) {
	if raceBuild {
		t.Skip("allocation counts under -race (sync.Pool drops items on purpose)")
	}
	for _, fusion := range []efficientdet.Fusion{efficientdet.FastAttn, efficientdet.Sum} {
		m, err := efficientdet.New(efficientdet.Config{
			Backbone: efficientnet.Config{Width: 0.25, Depth: 0.25}, Flavour: efficientnet.TF,
			FPNChannels: 16, FPNCells: 3, HeadRepeats: 2, Fusion: fusion,
			Height: 96, Width: 80, NumClasses: 3, Rng: rand.New(rand.NewPCG(4, 4)),
		})
		if err != nil {
			t.Fatal(err)
		}
		layers.SetTraining(m, false)
		in := nn.New(2, 72, 88, 3)
		nn.Normal(in, 0, 1, rand.New(rand.NewPCG(5, 5)))
		want := m.Forward(nn.Param(in.Clone())) // recorded: nothing is released
		x := nn.NewVar(in.Clone())
		for range 3 {
			var got efficientdet.Output
			nn.NoGrad(func() { got = m.Forward(x) })
			for l := range got.Class {
				if !same(got.Class[l].Value, want.Class[l].Value) || !same(got.Box[l].Value, want.Box[l].Value) {
					t.Fatalf("%s: NoGrad output of level %d differs from the recorded forward", fusion, l)
				}
			}
			got.Release()
		}
		if !same(x.Value, in) {
			t.Fatal("input changed")
		}
		alloc := func(x *nn.Tensor) uint64 {
			run := func() {
				nn.NoGrad(func() { m.Forward(nn.NewVar(x)).Release() })
			}
			run() // warm the pool for this size
			// The least of three runs: a garbage collection during a run
			// empties the kernels' sync.Pool scratch, which then allocates
			// again.
			best := uint64(math.MaxUint64)
			for range 3 {
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				run()
				runtime.ReadMemStats(&ms1)
				best = min(best, ms1.TotalAlloc-ms0.TotalAlloc)
			}
			return best
		}
		big := nn.New(8, 72, 88, 3)
		nn.Normal(big, 0, 1, rand.New(rand.NewPCG(6, 6)))
		a2, a8 := alloc(in), alloc(big)
		act := uint64(4 * 2 * 36 * 44 * 16) // one stride-2 map at batch 2
		t.Logf("%s: %d bytes at batch 2, %d at batch 8", fusion, a2, a8)
		if a8 > a2+act {
			t.Errorf("%s: Forward allocated %d bytes at batch 2 and %d at batch 8: activations are not reused", fusion, a2, a8)
		}
	}
}

func same(a, b *nn.Tensor) bool {
	if !nn.SameShape(a.Shape(), b.Shape()) {
		return false
	}
	for i, v := range a.Data() {
		if v != b.Data()[i] {
			return false
		}
	}
	return true
}
