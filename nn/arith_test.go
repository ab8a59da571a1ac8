package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

func TestBinaryGrad(t *testing.T) {
	cases := []struct{ a, b []int }{
		{[]int{2, 3, 5}, []int{2, 3, 5}},       // same shape
		{[]int{2, 3, 4, 5}, []int{5}},          // per-channel
		{[]int{2, 3, 4, 5}, []int{1}},          // scalar
		{[]int{1}, []int{2, 3}},                // scalar on the left
		{[]int{2, 3, 4, 5}, []int{2, 1, 1, 5}}, // squeeze-excite
		{[]int{3, 2, 2, 1}, []int{3, 1, 1, 1}}, // drop-path
		{[]int{2, 1, 3}, []int{1, 4, 3}},       // both broadcast
		{[]int{1, 1, 1, 7}, []int{1, 1, 1, 7}}, // batch 1
	}
	ops := map[string]func(a, b *nn.Var) *nn.Var{"Add": nn.Add, "Sub": nn.Sub, "Mul": nn.Mul, "Div": nn.Div}
	for name, op := range ops {
		for _, c := range cases {
			r := rng(7)
			a := nn.Param(nntest.Rand(r, -2, 2, c.a...))
			b := nn.Param(nntest.RandAwayFrom(r, -2, 2, 0.5, []float32{0}, c.b...))
			t.Run(fmt.Sprint(name, c.a, c.b), func(t *testing.T) {
				nntest.CheckGrad(t, func() *nn.Var { return op(a, b) }, []*nn.Var{a, b}, nntest.Options{})
			})
			// Operands computed by an op get fresh gradient buffers,
			// which the backward pass writes instead of adding to.
			t.Run(fmt.Sprint(name, c.a, c.b, "/computed"), func(t *testing.T) {
				nntest.CheckGrad(t, func() *nn.Var {
					return op(nn.MulScalar(a, 1), nn.MulScalar(b, 1))
				}, []*nn.Var{a, b}, nntest.Options{})
			})
		}
	}
}

// Add and Sub hand the output's gradient buffer to an operand instead of
// copying it (takesGrad); these graphs add to that operand's gradient
// afterwards, take both contributions in one Var, or chain handovers.
func TestSumGradHandover(t *testing.T) {
	r := rng(9)
	x := nn.Param(nntest.Rand(r, -2, 2, 2, 3, 4))
	y := nn.Param(nntest.Rand(r, -2, 2, 2, 3, 4))
	for name, f := range map[string]func() *nn.Var{
		"add then more": func() *nn.Var { u := nn.MulScalar(x, 2); return nn.Add(u, nn.MulScalar(u, 3)) },
		"sub then more": func() *nn.Var { u := nn.MulScalar(x, 2); return nn.Sub(u, nn.Mul(u, y)) },
		"same operand":  func() *nn.Var { u := nn.MulScalar(x, 2); return nn.Add(u, u) },
		"chain":         func() *nn.Var { u := nn.MulScalar(x, 2); z := nn.Add(u, nn.MulScalar(y, 1)); return nn.Add(z, u) },
		"leaf operand":  func() *nn.Var { return nn.Sub(x, nn.MulScalar(y, 3)) },
	} {
		t.Run(name, func(t *testing.T) {
			nntest.CheckGrad(t, f, []*nn.Var{x, y}, nntest.Options{})
		})
	}

	// A gradient the caller sets is not the graph's: it must come back
	// unchanged, though an operand that took it would be added to.
	dy := nntest.Rand(r, -1, 1, 2, 3, 4)
	want := append([]float32(nil), dy.Data()...)
	x.ZeroGrad()
	u := nn.MulScalar(x, 2)
	out := nn.Add(u, nn.MulScalar(u, 3))
	seed := nn.Custom("Seed", nn.New(1), func(*nn.Tensor) { out.Grad = dy }, out)
	seed.Backward()
	for i, v := range dy.Data() {
		if v != want[i] {
			t.Fatalf("the caller's gradient changed: dy[%d] = %v, was %v", i, v, want[i])
		}
	}
	for i, g := range x.Grad.Data() {
		if w := 8 * want[i]; math.Abs(float64(g-w)) > 1e-5 {
			t.Fatalf("x.Grad[%d] = %v, want %v", i, g, w)
		}
	}
}

func TestBinaryValues(t *testing.T) {
	a := nn.NewVar(nn.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	b := nn.NewVar(nn.FromData([]float32{10, 20, 30}, 3))
	got := nn.Add(a, b).Value.Data()
	want := []float32{11, 22, 33, 14, 25, 36}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Add broadcast = %v, want %v", got, want)
		}
	}
	c := nn.NewVar(nn.FromData([]float32{2, 4}, 2, 1))
	got = nn.Div(a, c).Value.Data()
	want = []float32{0.5, 1, 1.5, 1, 1.25, 1.5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Div broadcast = %v, want %v", got, want)
		}
	}
}

func TestBroadcastMismatchPanics(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "nn.Add") || !strings.Contains(msg, "[2 3]") || !strings.Contains(msg, "[4]") {
			t.Fatalf("panic message %q does not name the op and both shapes", msg)
		}
	}()
	nn.Add(nn.NewVar(nn.New(2, 3)), nn.NewVar(nn.New(4)))
}

func TestScalarOpsGrad(t *testing.T) {
	r := rng(3)
	x := nn.Param(nntest.Rand(r, -1, 1, 3, 5))
	for name, f := range map[string]func() *nn.Var{
		"AddScalar": func() *nn.Var { return nn.AddScalar(x, 3) },
		"MulScalar": func() *nn.Var { return nn.MulScalar(x, -2.5) },
		"Neg":       func() *nn.Var { return nn.Neg(x) },
		"Sum":       func() *nn.Var { return nn.Sum(x) },
		"Mean":      func() *nn.Var { return nn.Mean(x) },
		"SumAxis0":  func() *nn.Var { return nn.SumAxis(x, 0, false) },
		"MeanAxis1": func() *nn.Var { return nn.MeanAxis(x, -1, true) },
		"Reshape":   func() *nn.Var { return nn.Reshape(x, 5, -1) },
		"Flatten":   func() *nn.Var { return nn.Flatten(nn.Reshape(x, 3, 1, 5)) },
		"ReLU":      func() *nn.Var { return nn.ReLU(x) },
	} {
		t.Run(name, func(t *testing.T) {
			nntest.CheckGrad(t, f, []*nn.Var{x}, nntest.Options{Eps: 1e-3})
		})
	}
}

func TestMatMulGrad(t *testing.T) {
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {8, 1, 4}, {17, 9, 2}} {
		r := rng(11)
		a := nn.Param(nntest.Rand(r, -1, 1, s[0], s[1]))
		b := nn.Param(nntest.Rand(r, -1, 1, s[1], s[2]))
		nntest.CheckGrad(t, func() *nn.Var { return nn.MatMul(a, b) }, []*nn.Var{a, b}, nntest.Options{})
	}
}

func TestGradAccumulatesAndZeroGrad(t *testing.T) {
	x := nn.Param(nn.FromData([]float32{1, 2}, 2))
	for i := 0; i < 3; i++ {
		nn.Sum(nn.MulScalar(x, 2)).Backward()
	}
	if g := x.Grad.Data(); g[0] != 6 || g[1] != 6 {
		t.Fatalf("accumulated grad = %v, want [6 6]", g)
	}
	x.ZeroGrad()
	if g := x.Grad.Data(); g[0] != 0 || g[1] != 0 {
		t.Fatalf("after ZeroGrad grad = %v", g)
	}
}

func TestNoGradRecordsNothing(t *testing.T) {
	x := nn.Param(nn.FromData([]float32{1, 2}, 2))
	var y *nn.Var
	nn.NoGrad(func() { y = nn.Sum(nn.Mul(x, x)) })
	if y.RequiresGrad() || !y.IsLeaf() {
		t.Fatalf("op under NoGrad recorded a graph: %v", y)
	}
	if !nn.GradEnabled() {
		t.Fatal("grad mode not restored after NoGrad")
	}
}

func TestDiamondGraph(t *testing.T) {
	// y = (x*x) + x uses x twice; dy/dx = 2x + 1.
	x := nn.Param(nn.FromData([]float32{3}, 1))
	y := nn.Add(nn.Mul(x, x), x)
	y.Backward()
	if g := x.Grad.Data()[0]; g != 7 {
		t.Fatalf("grad = %v, want 7", g)
	}
}

func TestReleaseReusesBuffers(t *testing.T) {
	nn.FreePool()
	x := nn.Param(nn.New(64, 64))
	step := func() {
		y := nn.Sum(nn.ReLU(nn.AddScalar(x, 1)))
		y.Backward()
		y.Release()
	}
	step()
	held := nn.PoolBytes()
	if held == 0 {
		t.Fatal("Release returned nothing to the pool")
	}
	allocs := testing.AllocsPerRun(10, step)
	if nn.PoolBytes() != held {
		t.Fatalf("pool grew from %d to %d bytes: buffers are not reused", held, nn.PoolBytes())
	}
	// Small headers (Vars, closures, shapes) remain; the big buffers must not.
	if allocs > 40 {
		t.Fatalf("%v allocations per step", allocs)
	}
}

// Large broadcast reductions (bias and squeeze-excite gradients) are summed
// in fixed blocks: correct against float64, identical for any thread count.
func TestBroadcastReductionBlocks(t *testing.T) {
	r := rng(5)
	x := nn.Param(nntest.Rand(r, -1, 1, 8, 32, 32, 16))
	s := nn.Param(nntest.Rand(r, -1, 1, 8, 1, 1, 16))
	bias := nn.Param(nntest.Rand(r, -1, 1, 16))
	run := func(threads int) (gs, gb []float32) {
		defer nn.SetThreads(nn.SetThreads(threads))
		s.ZeroGrad()
		bias.ZeroGrad()
		loss := nn.Sum(nn.Add(nn.Mul(x, s), bias))
		loss.Backward()
		loss.Release()
		return append([]float32(nil), s.Grad.Data()...), append([]float32(nil), bias.Grad.Data()...)
	}
	gs1, gb1 := run(1)
	gs3, gb3 := run(3)
	for i := range gs1 {
		if gs1[i] != gs3[i] {
			t.Fatalf("SE gradient %d: %v with 1 thread, %v with 3", i, gs1[i], gs3[i])
		}
	}
	for i := range gb1 {
		if gb1[i] != gb3[i] {
			t.Fatalf("bias gradient %d: %v with 1 thread, %v with 3", i, gb1[i], gb3[i])
		}
		if want := float32(8 * 32 * 32); gb1[i] != want {
			t.Fatalf("bias gradient %d = %v, want %v", i, gb1[i], want)
		}
	}
	xd := x.Value.Data()
	for n := 0; n < 8; n++ {
		for c := 0; c < 16; c++ {
			var want float64
			for p := 0; p < 32*32; p++ {
				want += float64(xd[(n*1024+p)*16+c])
			}
			if got := float64(gs1[n*16+c]); math.Abs(got-want) > 1e-3 {
				t.Fatalf("SE gradient [%d,%d] = %v, want %v", n, c, got, want)
			}
		}
	}
}
