package efficientnet_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// TestNoGradReleasesIntermediates checks that inference under nn.NoGrad,
// which hands intermediate activations back to the buffer pool as it goes,
// computes exactly what the recorded forward pass computes, never frees a
// returned value or the input, and stops allocating once the pool is warm.
func TestNoGradReleasesIntermediates(t *testing.T) {
	if raceBuild {
		t.Skip("allocation counts under -race (sync.Pool drops items on purpose)")
	}
	m, err := efficientnet.New(efficientnet.Config{Width: 0.25, Depth: 0.5, NumClasses: 7, Rng: rand.New(rand.NewPCG(4, 4))})
	if err != nil {
		t.Fatal(err)
	}
	layers.SetTraining(m, false)
	in := nn.Param(randTensor(rand.New(rand.NewPCG(5, 5)), 2, 48, 48, 3)) // recorded: nothing is released
	wantLogits := m.Forward(in).Value.Clone()
	wantFeats := []*nn.Tensor{}
	f, _ := m.Features()
	for _, y := range f.Forward(in) {
		wantFeats = append(wantFeats, y.Value.Clone())
	}
	sub, _ := m.Features(0, 2, 3) // consecutive maps: a returned map feeds the next stage
	x := nn.NewVar(in.Value.Clone())
	var logits, feats, subFeats []*nn.Var
	nn.NoGrad(func() {
		for range 3 {
			logits = append(logits, m.Forward(x))
			feats = f.Forward(x)
			subFeats = sub.Forward(x)
		}
	})
	for i, l := range logits {
		if !equal(l.Value, wantLogits) {
			t.Errorf("NoGrad logits %d differ from the recorded forward", i)
		}
	}
	for i, y := range feats {
		if !equal(y.Value, wantFeats[i]) {
			t.Errorf("NoGrad feature %d differs", i)
		}
	}
	for i, j := range []int{0, 2, 3} {
		if !equal(subFeats[i].Value, wantFeats[j]) {
			t.Errorf("NoGrad feature %d of the subset differs", j)
		}
	}
	if !equal(x.Value, in.Value) {
		t.Error("input changed")
	}

	// Once the pool holds the buffers, what a forward pass allocates (Var
	// headers, small per-channel vectors) does not grow with the batch:
	// going from batch 2 to 8 adds less than one activation of the first
	// block at batch 2 (recording every activation would add 3× all of
	// them).
	// The least of three runs: a garbage collection during one empties
	// the kernels' sync.Pool scratch buffers, which then allocate again.
	alloc := func(x *nn.Var) uint64 {
		nn.NoGrad(func() { m.Forward(x) }) // warm the pool for this size
		least := uint64(math.MaxUint64)
		for range 3 {
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			nn.NoGrad(func() { m.Forward(x) })
			runtime.ReadMemStats(&ms1)
			least = min(least, ms1.TotalAlloc-ms0.TotalAlloc)
		}
		return least
	}
	a2 := alloc(x)
	a8 := alloc(nn.NewVar(randTensor(rand.New(rand.NewPCG(6, 6)), 8, 48, 48, 3)))
	act := 4 * 2 * 24 * 24 * m.Plan().Blocks[1][0].Mid
	if a8 > a2+uint64(act) {
		t.Errorf("NoGrad forward allocated %d bytes at batch 2 and %d at batch 8: activations are not reused (one is %d bytes)", a2, a8, act)
	}
}
