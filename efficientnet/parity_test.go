package efficientnet_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// Fixtures: tools/fixtures_efficientnet.py (regenerate with
// /usr/bin/python3 tools/fixtures_efficientnet.py).

// readFixture returns the tensors of a safetensors fixture.
func readFixture(t *testing.T, path string) map[string]*nn.Tensor {
	t.Helper()
	ts, _, err := layers.ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// prefixed returns the tensors under prefix, with the prefix removed.
func prefixed(ts map[string]*nn.Tensor, prefix string) map[string]*nn.Tensor {
	out := map[string]*nn.Tensor{}
	for name, v := range ts {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// checkClose fails unless got and want have the same shape and agree
// within tol relative to the tensor's scale: |g-w| <= tol·(|w| + max|want|).
func checkClose(t *testing.T, what string, got, want *nn.Tensor, tol float64) {
	t.Helper()
	if !nn.SameShape(got.Shape(), want.Shape()) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
		return
	}
	scale := 0.0
	for _, v := range want.Data() {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if ok, msg := fixture.Close(got.Data(), want.Data(), tol, tol*scale); !ok {
		t.Errorf("%s: %s (max |want| %g)", what, msg, scale)
	}
}

// tinyTorchvision builds the fixture's model and loads its weights through
// the torchvision name mapping.
func tinyTorchvision(t *testing.T, ts map[string]*nn.Tensor) *efficientnet.Model {
	t.Helper()
	m, err := efficientnet.New(efficientnet.Config{Width: 0.1, Depth: 0.5, NumClasses: 5, Flavour: efficientnet.Torchvision})
	if err != nil {
		t.Fatal(err)
	}
	if err := efficientnet.LoadStateDict(m, prefixed(ts, "sd."), efficientnet.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTorchvisionParityEval(t *testing.T) {
	ts := readFixture(t, "testdata/torchvision_tiny.safetensors")
	m := tinyTorchvision(t, ts)
	layers.SetTraining(m, false)
	x := nn.NewVar(ts["x"])
	f, err := m.Features()
	if err != nil {
		t.Fatal(err)
	}
	nn.NoGrad(func() {
		checkClose(t, "logits", m.Forward(x).Value, ts["eval.logits"], 1e-4)
		checkClose(t, "head", m.ForwardFeatures(x).Value, ts["eval.head"], 1e-4)
		for i, y := range f.Forward(x) {
			checkClose(t, f.Info()[i].Module, y.Value, ts["eval.feat."+string(rune('0'+i))], 1e-4)
		}
	})
}

func TestTorchvisionParityTrainStep(t *testing.T) {
	ts := readFixture(t, "testdata/torchvision_tiny.safetensors")
	m := tinyTorchvision(t, ts)
	layers.SetTraining(m, true)
	var labels []int
	for _, v := range ts["train.labels"].Data() {
		labels = append(labels, int(v))
	}
	logits := m.Forward(nn.NewVar(ts["x"]))
	loss := nn.CrossEntropy(logits, labels, nn.CEOpts{})
	loss.Backward()
	checkClose(t, "train logits", logits.Value, ts["train.logits"], 1e-4)
	checkClose(t, "train loss", loss.Value, ts["train.loss"], 1e-4)
	params := map[string]*nn.Var{}
	for _, p := range layers.Params(m) {
		params[p.Name] = p.Var
	}
	grads := prefixed(ts, "train.grad.")
	if len(grads) < 10 {
		t.Fatalf("fixture has %d gradients", len(grads))
	}
	for name, want := range grads {
		p, ok := params[name]
		if !ok {
			t.Errorf("model has no parameter %s", name)
			continue
		}
		if p.Grad == nil {
			t.Errorf("%s: no gradient", name)
			continue
		}
		checkClose(t, "grad "+name, p.Grad, want, 1e-4)
	}
	sd := layers.StateDict(m)
	checkClose(t, "bn1.running_mean", sd["bn1.running_mean"], ts["train.bn1.running_mean"], 1e-4)
	checkClose(t, "bn1.running_var", sd["bn1.running_var"], ts["train.bn1.running_var"], 1e-4)
	loss.Release()
}

// A training checkpoint written by torch.save (state dict nested under
// "state_dict", float16 weights, torchvision names) loads without Python
// and gives the same logits as the fixture's weights.
func TestLoadPretrainedPth(t *testing.T) {
	ts := readFixture(t, "testdata/torchvision_tiny.safetensors")
	m, err := efficientnet.New(efficientnet.Config{Width: 0.1, Depth: 0.5, NumClasses: 5, Flavour: efficientnet.Torchvision})
	if err != nil {
		t.Fatal(err)
	}
	if err := efficientnet.LoadPretrained(m, "testdata/torchvision_tiny.pth", efficientnet.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	layers.SetTraining(m, false)
	nn.NoGrad(func() {
		checkClose(t, "logits", m.Forward(nn.NewVar(ts["x"])).Value, ts["eval.logits"], 1e-4)
	})

	// A different architecture: the error names the mismatch.
	other, _ := efficientnet.New(efficientnet.Config{Width: 0.2, Depth: 0.5, NumClasses: 5, Flavour: efficientnet.Torchvision})
	if err := efficientnet.LoadPretrained(other, "testdata/torchvision_tiny.pth", efficientnet.LoadOptions{}); err == nil ||
		!strings.Contains(err.Error(), "torchvision_tiny.pth") {
		t.Fatalf("mismatched architecture: %v", err)
	}
	// A truncated file: a clear error, no panic.
	b, err := os.ReadFile("testdata/torchvision_tiny.pth")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "cut.pth")
	os.WriteFile(bad, b[:len(b)/2], 0o644)
	if err := efficientnet.LoadPretrained(m, bad, efficientnet.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "cut.pth") {
		t.Fatalf("truncated checkpoint: %v", err)
	}
}
