package peers

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sortnet/sortnet/nn"
)

// convCase is a 3×3 convolution, stride 1, padding 1, at batch n over h×h
// images: cin → cout channels.
type convCase struct{ n, h, cin, cout int }

// peerConv is the layer of BenchmarkPeers' conv3x3 cases.
var peerConv = convCase{n: 8, h: 56, cin: 32, cout: 64}

func (c convCase) flops() float64 { return 2 * float64(c.n*c.h*c.h*c.cout*9*c.cin) }

// data returns the case's input (NHWC) and weight (HWIO) drawn from seed.
func (c convCase) data(seed uint64) (x, w []float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x = make([]float32, c.n*c.h*c.h*c.cin)
	w = make([]float32, 9*c.cin*c.cout)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	for i := range w {
		w[i] = rng.Float32()*2 - 1
	}
	return x, w
}

// gorgoniaConv is the case as a gorgonia graph: x NCHW, w OIHW, built once.
type gorgoniaConv struct {
	g    *G.ExprGraph
	x, w *G.Node
	y    *G.Node
	vm   G.VM
}

// newGorgoniaConv builds the graph with the case's data transposed into
// gorgonia's layouts; with grads, the graph also computes the gradients of
// Sum(y) with respect to x and w.
func newGorgoniaConv(c convCase, x, w []float32, grads bool) (*gorgoniaConv, error) {
	xt := make([]float32, len(x)) // NHWC → NCHW
	for n := 0; n < c.n; n++ {
		for i := 0; i < c.h*c.h; i++ {
			for ch := 0; ch < c.cin; ch++ {
				xt[(n*c.cin+ch)*c.h*c.h+i] = x[(n*c.h*c.h+i)*c.cin+ch]
			}
		}
	}
	wt := make([]float32, len(w)) // HWIO → OIHW
	for k := 0; k < 9; k++ {
		for i := 0; i < c.cin; i++ {
			for o := 0; o < c.cout; o++ {
				wt[(o*c.cin+i)*9+k] = w[(k*c.cin+i)*c.cout+o]
			}
		}
	}
	gc := &gorgoniaConv{g: G.NewGraph()}
	gc.x = G.NewTensor(gc.g, tensor.Float32, 4, G.WithShape(c.n, c.cin, c.h, c.h), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(c.n, c.cin, c.h, c.h), tensor.WithBacking(xt))))
	gc.w = G.NewTensor(gc.g, tensor.Float32, 4, G.WithShape(c.cout, c.cin, 3, 3), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(c.cout, c.cin, 3, 3), tensor.WithBacking(wt))))
	var err error
	gc.y, err = G.Conv2d(gc.x, gc.w, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1})
	if err != nil {
		return nil, err
	}
	if !grads {
		gc.vm = G.NewTapeMachine(gc.g)
		return gc, nil
	}
	loss, err := G.Sum(gc.y)
	if err != nil {
		return nil, err
	}
	if _, err := G.Grad(loss, gc.x, gc.w); err != nil {
		return nil, err
	}
	gc.vm = G.NewTapeMachine(gc.g, G.BindDualValues(gc.x, gc.w))
	return gc, nil
}

// run evaluates the graph once.
func (gc *gorgoniaConv) run() error {
	defer gc.vm.Reset()
	return gc.vm.RunAll()
}

// BenchmarkPeers runs sortnet and gorgonia on the same convolution, 3×3,
// stride 1, padding 1, 32 → 64 channels over 56×56 images at batch 8:
//
//	gorgonia_conv3x3_32to64_56_b8          gorgonia.Conv2d, NCHW, its tensor type
//	sortnet_conv3x3_32to64_56_b8           nn.Conv2d under nn.NoGrad, NHWC
//	gorgonia_conv3x3_32to64_56_b8_fwdbwd   forward, then the gradients of
//	sortnet_conv3x3_32to64_56_b8_fwdbwd    Sum(y) for x and w
//
// gorgonia's graph is built once and its tape machine evaluated in the
// loop; sortnet's first pass, which fills the buffer pool, is not timed.
// GFLOP/s counts 2·N·H·W·Cout·9·Cin per forward pass, 3× that per forward
// and backward. Both use GOMAXPROCS threads (set it in the environment
// rather than with -cpu: golang/go#49980).
func BenchmarkPeers(b *testing.B) {
	c := peerConv
	x, w := c.data(1)
	for _, grads := range []bool{false, true} {
		suffix, factor := "", 1.0
		if grads {
			suffix, factor = "_fwdbwd", 3
		}
		b.Run("gorgonia_conv3x3_32to64_56_b8"+suffix, func(b *testing.B) {
			gc, err := newGorgoniaConv(c, x, w, grads)
			if err != nil {
				b.Fatal(err)
			}
			defer gc.vm.Close()
			if err := gc.run(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := gc.run(); err != nil {
					b.Fatal(err)
				}
			}
			reportGFLOPs(b, factor*c.flops())
		})
		b.Run("sortnet_conv3x3_32to64_56_b8"+suffix, func(b *testing.B) {
			defer nn.SetThreads(nn.SetThreads(runtime.GOMAXPROCS(0)))
			xt, wt := nn.FromData(x, c.n, c.h, c.h, c.cin), nn.FromData(w, 3, 3, c.cin, c.cout)
			xv, wv := nn.NewVar(xt), nn.NewVar(wt)
			step := func() { sortnetConv(xv, wv) }
			if grads {
				xv, wv = nn.Param(xt), nn.Param(wt)
				step = func() { sortnetConvStep(xv, wv) }
			}
			step() // fill the buffer pool
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
			reportGFLOPs(b, factor*c.flops())
		})
	}
}

func sortnetConv(x, w *nn.Var) {
	nn.NoGrad(func() {
		nn.Recycle(nn.Conv2d(x, w, nn.Conv2dOpts{Padding: nn.Pad(1)}).Value)
	})
}

func sortnetConvStep(x, w *nn.Var) {
	loss := nn.Sum(nn.Conv2d(x, w, nn.Conv2dOpts{Padding: nn.Pad(1)}))
	loss.Backward()
	loss.Release()
}

func reportGFLOPs(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestGorgoniaAgrees checks that both sides of BenchmarkPeers compute the
// same thing (on a smaller batch): gorgonia's output and the gradients of
// Sum(y), transposed back to sortnet's layouts, match nn.Conv2d's.
func TestGorgoniaAgrees(t *testing.T) {
	c := convCase{n: 2, h: 9, cin: 5, cout: 7}
	x, w := c.data(2)
	gc, err := newGorgoniaConv(c, x, w, true)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.vm.Close()
	if err := gc.run(); err != nil {
		t.Fatal(err)
	}
	xv, wv := nn.Param(nn.FromData(x, c.n, c.h, c.h, c.cin)), nn.Param(nn.FromData(w, 3, 3, c.cin, c.cout))
	y := nn.Conv2d(xv, wv, nn.Conv2dOpts{Padding: nn.Pad(1)})
	nn.Sum(y).Backward()

	hw := c.h * c.h
	check := func(what string, got, want []float32, index func(i int) int) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: gorgonia gives %d values, sortnet %d", what, len(got), len(want))
		}
		for i, g := range got {
			if s := want[index(i)]; math.Abs(float64(g-s)) > 1e-4*(1+math.Abs(float64(s))) {
				t.Fatalf("%s[%d]: gorgonia %v, sortnet %v", what, i, g, s)
			}
		}
	}
	nchw := func(ch int) func(i int) int { // NCHW index → NHWC index
		return func(i int) int { n, r := i/(ch*hw), i%(ch*hw); return (n*hw+r%hw)*ch + r/hw }
	}
	check("y", gc.y.Value().Data().([]float32), y.Value.Data(), nchw(c.cout))
	dx, err := gc.x.Grad()
	if err != nil {
		t.Fatal(err)
	}
	check("dx", dx.Data().([]float32), xv.Grad.Data(), nchw(c.cin))
	dw, err := gc.w.Grad()
	if err != nil {
		t.Fatal(err)
	}
	check("dw", dw.Data().([]float32), wv.Grad.Data(), func(i int) int { // OIHW → HWIO
		o, r := i/(c.cin*9), i%(c.cin*9)
		return (r%9*c.cin+r/9)*c.cout + o
	})
}
