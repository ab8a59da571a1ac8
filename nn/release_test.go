package nn_test

import (
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
)

func TestReleaseEmptiesViewsAndBackwardAfterReleasePanics(t *testing.T) {
	x := nn.Param(nn.Full(2, 2, 3))
	h := nn.MulScalar(x, 4)
	v := nn.Reshape(h, 3, 2)
	loss := nn.Sum(v)
	loss.Backward()
	loss.Release()
	if v.Value.Data() != nil || h.Value.Data() != nil {
		t.Fatal("Release left a view or an intermediate readable")
	}
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "released") {
			t.Fatalf("Backward after Release: panic %q", msg)
		}
	}()
	loss.Backward()
}

// A frozen part of the graph (no parameter needs a gradient there) is still
// recycled by Release; values computed under NoGrad and kept by the caller
// are not.
func TestReleaseFrozenGraphButNotNoGradValues(t *testing.T) {
	frozen := nn.NewVar(nn.Full(1, 64, 64))
	var cached *nn.Var
	nn.NoGrad(func() { cached = nn.AddScalar(frozen, 1) })
	head := nn.Param(nn.Full(0.5, 64, 64))
	nn.FreePool()
	feat := nn.ReLU(nn.MulScalar(cached, 3)) // recorded, but requires no gradient
	loss := nn.Sum(nn.Mul(feat, head))
	loss.Backward()
	loss.Release()
	if feat.Value.Data() != nil {
		t.Fatal("the frozen part of the graph was not recycled")
	}
	if nn.PoolBytes() == 0 {
		t.Fatal("nothing returned to the pool")
	}
	if cached.Value.Data() == nil || cached.Value.Data()[0] != 2 {
		t.Fatal("Release recycled a value computed under NoGrad")
	}
	var out *nn.Var
	nn.NoGrad(func() { out = nn.ReLU(cached) })
	out.Release() // a no-op for NoGrad outputs
	if out.Value.Data() == nil {
		t.Fatal("Release emptied a NoGrad output")
	}
}

func TestPoolSizeClassesAndLimit(t *testing.T) {
	nn.FreePool()
	defer nn.SetPoolLimit(nn.SetPoolLimit(1 << 20))
	// Two sizes in one class share a buffer.
	step := func(n int) {
		x := nn.Param(nn.New(n))
		y := nn.Sum(nn.AddScalar(x, 1))
		y.Backward()
		y.Release()
	}
	step(1000)
	held := nn.PoolBytes()
	step(990)
	if nn.PoolBytes() != held {
		t.Fatalf("sizes 1000 and 990 did not share pooled buffers: %d then %d bytes", held, nn.PoolBytes())
	}
	step(1 << 20) // 4 MiB buffers exceed the 1 MiB limit and are dropped
	if nn.PoolBytes() > 1<<20 {
		t.Fatalf("pool holds %d bytes, limit 1 MiB", nn.PoolBytes())
	}
	nn.SetPoolLimit(0)
	if nn.PoolBytes() != 0 {
		t.Fatal("SetPoolLimit(0) kept buffers")
	}
}

func TestFlattenEmptyBatch(t *testing.T) {
	y := nn.Flatten(nn.NewVar(nn.New(0, 3, 2)))
	if !nn.SameShape(y.Shape(), []int{0, 6}) {
		t.Fatalf("Flatten of [0 3 2] = %v", y.Shape())
	}
}

func TestShapeOverflowPanics(t *testing.T) {
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "too many elements") {
			t.Fatalf("panic %q", msg)
		}
	}()
	nn.New(1<<40, 1<<40)
}
