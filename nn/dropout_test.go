package nn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/internal/parallel"
	"github.com/sortnet/sortnet/nn/nntest"
)

func TestDropoutKeepFractionAndScale(t *testing.T) {
	for _, p := range []float32{0.1, 0.5, 0.8} {
		x := nn.NewVar(nn.Full(2, 200, 500))
		y := nn.Dropout(x, p, rng(61)).Value.Data()
		scale := 2 / (1 - p)
		kept := 0
		for _, v := range y {
			switch v {
			case 0:
			case scale:
				kept++
			default:
				t.Fatalf("p=%v: output %g is neither 0 nor 2/(1-p) = %g", p, v, scale)
			}
		}
		frac := float64(kept) / float64(len(y))
		// Binomial standard deviation of the fraction is about 0.0022.
		if want := 1 - float64(p); math.Abs(frac-want) > 0.01 {
			t.Errorf("p=%v: kept %.4f of elements, want %.4f", p, frac, want)
		}
	}
}

func TestDropoutEdges(t *testing.T) {
	x := nn.Param(nntest.Rand(rng(62), -1, 1, 3, 4))
	r := rng(63)
	if y := nn.Dropout(x, 0, r); y != x {
		t.Fatal("Dropout with p=0 did not return its input")
	}
	if y := nn.DropPath(x, 0, r); y != x {
		t.Fatal("DropPath with p=0 did not return its input")
	}
	for name, f := range map[string]func() *nn.Var{
		"Dropout":  func() *nn.Var { return nn.Dropout(x, 1, r) },
		"DropPath": func() *nn.Var { return nn.DropPath(x, 1, r) },
	} {
		x.ZeroGrad()
		y := f()
		for _, v := range y.Value.Data() {
			if v != 0 {
				t.Fatalf("%s with p=1 gave %v", name, y.Value)
			}
		}
		nn.Sum(y).Backward()
		for _, g := range x.Grad.Data() {
			if g != 0 {
				t.Fatalf("%s with p=1: gradient %v", name, x.Grad)
			}
		}
	}
	// p = 0 and p = 1 draw nothing.
	if a, b := r.Uint64(), rng(63).Uint64(); a != b {
		t.Error("Dropout/DropPath with p=0 or 1 consumed random numbers")
	}
}

func TestDropoutBadPPanics(t *testing.T) {
	x := nn.NewVar(nn.New(2, 3))
	for _, p := range []float32{-0.1, 1.5, float32(math.NaN())} {
		for name, f := range map[string]func(){
			"nn.Dropout":  func() { nn.Dropout(x, p, rng(1)) },
			"nn.DropPath": func() { nn.DropPath(x, p, rng(1)) },
		} {
			func() {
				defer func() {
					msg := fmt.Sprint(recover())
					if !strings.Contains(msg, name) || !strings.Contains(msg, "[2 3]") {
						t.Errorf("%s(p=%v): panic %q", name, p, msg)
					}
				}()
				f()
			}()
		}
	}
}

func TestDropoutSameSeedSameMask(t *testing.T) {
	x := nn.NewVar(nntest.Rand(rng(64), 1, 2, 7, 300))
	a := nn.Dropout(x, 0.3, rng(65)).Value.Data()
	b := nn.Dropout(x, 0.3, rng(65)).Value.Data()
	c := nn.Dropout(x, 0.3, rng(66)).Value.Data()
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same {
		t.Error("the same seed gave different masks")
	}
	if !differ {
		t.Error("different seeds gave the same mask")
	}
}

// TestDropoutThreadIndependent checks that the mask depends only on the
// seed, not on how the work is split over threads.
func TestDropoutThreadIndependent(t *testing.T) {
	x := nn.NewVar(nntest.Rand(rng(67), 1, 2, 4, 50, 50, 8)) // > minChunk
	run := func(threads int) (d, p []float32) {
		prev := parallel.SetThreads(threads)
		defer parallel.SetThreads(prev)
		d = nn.Dropout(x, 0.4, rng(68)).Value.Data()
		p = nn.DropPath(x, 0.4, rng(68)).Value.Data()
		return
	}
	d1, p1 := run(1)
	d4, p4 := run(4)
	for i := range d1 {
		if d1[i] != d4[i] || p1[i] != p4[i] {
			t.Fatalf("element %d differs between 1 and 4 threads", i)
		}
	}
}

func TestDropoutGradFlowsOnlyThroughKept(t *testing.T) {
	x := nn.Param(nntest.Rand(rng(69), 1, 2, 5, 37))
	y := nn.Dropout(x, 0.5, rng(70))
	nn.Sum(y).Backward()
	for i, v := range y.Value.Data() {
		g := x.Grad.Data()[i]
		if v == 0 && g != 0 || v != 0 && g != 2 {
			t.Fatalf("element %d: output %g, gradient %g (want 0 where dropped, 2 where kept)", i, v, g)
		}
	}
}

func TestDropoutGrad(t *testing.T) {
	for _, s := range [][]int{{1, 1}, {3, 5, 7}, {1, 2, 3, 5}} {
		x := nn.Param(nntest.Rand(rng(71), -1, 1, s...))
		for name, f := range map[string]func() *nn.Var{
			// The rng restarts from the same seed on every call, so
			// each evaluation sees the same mask.
			"Dropout":  func() *nn.Var { return nn.Dropout(x, 0.3, rng(72)) },
			"DropPath": func() *nn.Var { return nn.DropPath(x, 0.3, rng(72)) },
		} {
			t.Run(fmt.Sprint(name, s), func(t *testing.T) {
				nntest.CheckGrad(t, f, []*nn.Var{x}, nntest.Options{})
			})
		}
	}
}

func TestDropPathPerSample(t *testing.T) {
	const n, per = 4000, 6
	x := nn.Param(nntest.Rand(rng(73), 1, 2, n, 1, 2, 3))
	p := float32(0.25)
	y := nn.DropPath(x, p, rng(74))
	nn.Sum(y).Backward()
	scale := 1 / (1 - p)
	kept := 0
	for b := 0; b < n; b++ {
		out := y.Value.Data()[b*per : (b+1)*per]
		in := x.Value.Data()[b*per : (b+1)*per]
		g := x.Grad.Data()[b*per : (b+1)*per]
		k := out[0] != 0
		if k {
			kept++
		}
		for i := range out {
			switch {
			case k && (out[i] != in[i]*scale || g[i] != scale):
				t.Fatalf("kept sample %d: out %v, in %v, grad %v, scale %g", b, out, in, g, scale)
			case !k && (out[i] != 0 || g[i] != 0):
				t.Fatalf("dropped sample %d: out %v, grad %v", b, out, g)
			}
		}
	}
	// Binomial standard deviation of the fraction is about 0.007.
	if frac := float64(kept) / n; math.Abs(frac-0.75) > 0.03 {
		t.Errorf("kept %.3f of samples, want 0.75", frac)
	}
}
