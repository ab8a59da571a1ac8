package nn_test

import (
	"math"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

func TestSoftmaxGrad(t *testing.T) {
	for _, s := range [][]int{{1, 1}, {1, 7}, {3, 5}, {2, 3, 4}, {2, 1, 1, 9}, {1}} {
		x := nn.Param(nntest.Rand(rng(31), -3, 3, s...))
		for name, f := range map[string]func(*nn.Var) *nn.Var{"Softmax": nn.Softmax, "LogSoftmax": nn.LogSoftmax} {
			t.Run(name, func(t *testing.T) {
				nntest.CheckGrad(t, func() *nn.Var { return f(x) }, []*nn.Var{x}, nntest.Options{Eps: 1e-3})
			})
		}
	}
}

func TestSoftmaxValues(t *testing.T) {
	x := nn.NewVar(nn.FromData([]float32{1, 2, 3, 0, 0, 0}, 2, 3))
	e1, e2, e3 := math.Exp(1), math.Exp(2), math.Exp(3)
	z := e1 + e2 + e3
	want := []float64{e1 / z, e2 / z, e3 / z, 1.0 / 3, 1.0 / 3, 1.0 / 3}
	got := nn.Softmax(x).Value.Data()
	gotLog := nn.LogSoftmax(x).Value.Data()
	for i, w := range want {
		if math.Abs(float64(got[i])-w) > 1e-7 {
			t.Errorf("Softmax[%d] = %g, want %g", i, got[i], w)
		}
		if math.Abs(float64(gotLog[i])-math.Log(w)) > 1e-6 {
			t.Errorf("LogSoftmax[%d] = %g, want %g", i, gotLog[i], math.Log(w))
		}
	}
}

func TestSoftmaxRowsSumToOne(t *testing.T) {
	x := nn.NewVar(nntest.Rand(rng(32), -20, 20, 4, 3, 3, 11))
	y := nn.Softmax(x).Value.Data()
	for r := 0; r < len(y)/11; r++ {
		var s float64
		for _, v := range y[r*11 : (r+1)*11] {
			if v < 0 || v > 1 {
				t.Fatalf("row %d: probability %g", r, v)
			}
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-6 {
			t.Errorf("row %d sums to %.9g", r, s)
		}
	}
}

func TestSoftmaxLargeLogits(t *testing.T) {
	// exp(1e4) overflows any float; subtracting the row maximum first
	// keeps it finite. Shifting a row must not change the result.
	x := nn.NewVar(nn.FromData([]float32{1e4, 1e4 - 1, 1e4 - 2, -1e4, -1e4 - 1, -1e4 - 2, 3e38, 0, -3e38}, 3, 3))
	y := nn.Softmax(x).Value.Data()
	ly := nn.LogSoftmax(x).Value.Data()
	ref := nn.Softmax(nn.NewVar(nn.FromData([]float32{2, 1, 0}, 3))).Value.Data()
	for r := 0; r < 2; r++ {
		for i := 0; i < 3; i++ {
			if math.Abs(float64(y[r*3+i]-ref[i])) > 1e-7 {
				t.Errorf("row %d: Softmax = %v, want %v", r, y[r*3:r*3+3], ref)
			}
		}
	}
	if y[6] != 1 || y[7] != 0 || y[8] != 0 {
		t.Errorf("Softmax of [3e38 0 -3e38] = %v, want [1 0 0]", y[6:])
	}
	for i, v := range ly {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) && i != 8 {
			t.Errorf("LogSoftmax[%d] = %g", i, v)
		}
	}
	if ly[6] != 0 {
		t.Errorf("LogSoftmax of the dominant logit = %g, want 0", ly[6])
	}
}

func TestSoftmaxPanicsWithoutAxis(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Softmax of an empty last axis did not panic")
		}
	}()
	nn.Softmax(nn.NewVar(nn.New(3, 0)))
}
