package nn_test

import (
	"testing"

	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/nn"
)

// Parity with PyTorch 1.13 on fixtures written by tools/fixtures_ops.py
// (regenerate with /usr/bin/python3 tools/fixtures_ops.py).

func loadOps(t *testing.T) *fixture.File {
	t.Helper()
	f, err := fixture.Load("testdata/ops.json")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// forwardBackward runs op on a copy of x, back-propagates g and returns the
// output and the input gradient.
func forwardBackward(op func(*nn.Var) *nn.Var, x, g *nn.Tensor) (y, gx *nn.Tensor) {
	v := nn.Param(x.Clone())
	out := op(v)
	nn.Sum(nn.Mul(out, nn.NewVar(g))).Backward()
	return out.Value, v.Grad
}

func checkClose(t *testing.T, what string, got, want *nn.Tensor, rtol, atol float64) {
	t.Helper()
	if !nn.SameShape(got.Shape(), want.Shape()) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
		return
	}
	if ok, msg := fixture.Close(got.Data(), want.Data(), rtol, atol); !ok {
		t.Errorf("%s: %s", what, msg)
	}
}

func TestActivationsMatchPyTorch(t *testing.T) {
	f := loadOps(t)
	for _, a := range activations {
		y, gx := forwardBackward(a.f, f.T("act.x"), f.T("act.g"))
		// PyTorch's float32 erf loses accuracy in GELU's lower tail,
		// hence the absolute tolerance.
		checkClose(t, a.name, y, f.T("act."+a.name+".y"), 1e-6, 1e-6)
		checkClose(t, a.name+" gradient", gx, f.T("act."+a.name+".gx"), 1e-5, 1e-6)
	}
}

func TestSoftmaxMatchesPyTorch(t *testing.T) {
	f := loadOps(t)
	for name, op := range map[string]func(*nn.Var) *nn.Var{"Softmax": nn.Softmax, "LogSoftmax": nn.LogSoftmax} {
		y, gx := forwardBackward(op, f.T("softmax.x"), f.T("softmax.g"))
		checkClose(t, name, y, f.T("softmax."+name+".y"), 1e-5, 1e-6)
		checkClose(t, name+" gradient", gx, f.T("softmax."+name+".gx"), 1e-5, 1e-6)
	}
}

func TestUpsampleNearestMatchesPyTorch(t *testing.T) {
	f := loadOps(t)
	factor := int(f.Float("upsample_factor"))
	y, gx := forwardBackward(func(x *nn.Var) *nn.Var { return nn.UpsampleNearest(x, factor) }, f.T("upsample.x"), f.T("upsample.g"))
	checkClose(t, "UpsampleNearest", y, f.T("upsample.y"), 0, 0)
	checkClose(t, "UpsampleNearest gradient", gx, f.T("upsample.gx"), 1e-6, 1e-7)
}

func TestFansMatchPyTorch(t *testing.T) {
	f := loadOps(t)
	ints := func(v any) []int {
		var s []int
		for _, x := range v.([]any) {
			s = append(s, int(x.(float64)))
		}
		return s
	}
	cases := f.Meta["fans"].([]any)
	if len(cases) == 0 {
		t.Fatal("no fan cases in the fixture")
	}
	for _, c := range cases {
		m := c.(map[string]any)
		ours := ints(m["ours"])
		fi, fo := nn.Fans(ours)
		if fi != int(m["fan_in"].(float64)) || fo != int(m["fan_out"].(float64)) {
			t.Errorf("Fans(%v) = %d, %d; PyTorch gives %v, %v for %v", ours, fi, fo, m["fan_in"], m["fan_out"], m["torch"])
		}
	}
}
