package efficientnet_test

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// toPyTorch converts a sortnet-layout tensor to PyTorch's layout (the
// inverse of what loading does), element by element.
func toPyTorch(name string, t *nn.Tensor) *nn.Tensor {
	s := t.Shape()
	switch {
	case strings.HasSuffix(name, "conv_dw.weight"): // [KH KW C] -> [C 1 KH KW]
		out := nn.New(s[2], 1, s[0], s[1])
		for kh := range s[0] {
			for kw := range s[1] {
				for c := range s[2] {
					out.Set(t.At(kh, kw, c), c, 0, kh, kw)
				}
			}
		}
		return out
	case len(s) == 4: // HWIO -> OIHW
		out := nn.New(s[3], s[2], s[0], s[1])
		for kh := range s[0] {
			for kw := range s[1] {
				for i := range s[2] {
					for o := range s[3] {
						out.Set(t.At(kh, kw, i, o), o, i, kh, kw)
					}
				}
			}
		}
		return out
	case len(s) == 2:
		out := nn.New(s[1], s[0])
		for i := range s[0] {
			for o := range s[1] {
				out.Set(t.At(i, o), o, i)
			}
		}
		return out
	}
	return t.Clone()
}

// pytorchStateDict returns m's state dict as PyTorch would save it for
// timm: PyTorch layouts and a num_batches_tracked per batch norm.
func pytorchStateDict(m layers.Module) map[string]*nn.Tensor {
	out := map[string]*nn.Tensor{}
	for name, t := range layers.StateDict(m) {
		out[name] = toPyTorch(name, t)
		if base, ok := strings.CutSuffix(name, ".running_mean"); ok {
			out[base+".num_batches_tracked"] = nn.Scalar(3)
		}
	}
	return out
}

func stateEqual(t *testing.T, a, b layers.Module) bool {
	t.Helper()
	sa, sb := layers.StateDict(a), layers.StateDict(b)
	if len(sa) != len(sb) {
		t.Errorf("state dicts have %d and %d entries", len(sa), len(sb))
		return false
	}
	for name, v := range sa {
		if !equal(v, sb[name]) {
			t.Errorf("%s differs", name)
			return false
		}
	}
	return true
}

func newModel(t *testing.T, cfg efficientnet.Config, seed uint64) *efficientnet.Model {
	t.Helper()
	cfg.Rng = rand.New(rand.NewPCG(seed, seed))
	m, err := efficientnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConvertLayouts(t *testing.T) {
	seq := func(shape ...int) *nn.Tensor {
		x := nn.New(shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(i)
		}
		return x
	}
	sd := map[string]*nn.Tensor{
		"blocks.0.0.conv_dw.weight":        seq(4, 1, 3, 2), // [C 1 KH KW]
		"blocks.0.0.conv_pw.weight":        seq(5, 4, 1, 1), // [O I 1 1]
		"conv_stem.weight":                 seq(4, 3, 3, 2), // [O I KH KW]
		"classifier.weight":                seq(2, 5),       // [Out In]
		"classifier.bias":                  seq(2),
		"bn1.num_batches_tracked":          nn.Scalar(7),
		"blocks.0.0.bn1.running_var":       seq(4),
		"blocks.0.0.se.conv_reduce.bias":   seq(1),
		"blocks.0.0.se.conv_expand.weight": seq(4, 1, 1, 1),
	}
	out, origin, err := efficientnet.ConvertStateDict(sd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out["bn1.num_batches_tracked"]; ok || len(out) != len(sd)-1 {
		t.Errorf("converted names %v", origin)
	}
	dw := out["blocks.0.0.conv_dw.weight"]
	if !nn.SameShape(dw.Shape(), []int{3, 2, 4}) || dw.At(2, 1, 3) != sd["blocks.0.0.conv_dw.weight"].At(3, 0, 2, 1) {
		t.Errorf("depthwise %v", dw.Shape())
	}
	st := out["conv_stem.weight"]
	if !nn.SameShape(st.Shape(), []int{3, 2, 3, 4}) || st.At(1, 1, 2, 3) != sd["conv_stem.weight"].At(3, 2, 1, 1) || st.At(2, 0, 1, 0) != sd["conv_stem.weight"].At(0, 1, 2, 0) {
		t.Errorf("conv %v", st.Shape())
	}
	pw := out["blocks.0.0.conv_pw.weight"]
	if !nn.SameShape(pw.Shape(), []int{1, 1, 4, 5}) || pw.At(0, 0, 3, 1) != sd["blocks.0.0.conv_pw.weight"].At(1, 3, 0, 0) {
		t.Errorf("pointwise %v", pw.Shape())
	}
	cl := out["classifier.weight"]
	if !nn.SameShape(cl.Shape(), []int{5, 2}) || cl.At(4, 1) != sd["classifier.weight"].At(1, 4) {
		t.Errorf("linear %v", cl.Shape())
	}
	if !equal(out["blocks.0.0.bn1.running_var"], sd["blocks.0.0.bn1.running_var"]) {
		t.Error("vectors should pass unchanged")
	}
	// A sortnet-layout state dict (depthwise rank 3) passes as it is.
	own := map[string]*nn.Tensor{"blocks.0.0.conv_dw.weight": seq(3, 3, 4), "conv_stem.weight": seq(3, 3, 3, 8), "classifier.weight": seq(8, 2)}
	out, _, err = efficientnet.ConvertStateDict(own)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range own {
		if out[name] != v {
			t.Errorf("%s was converted", name)
		}
	}
	// Malformed PyTorch tensors.
	for _, bad := range []map[string]*nn.Tensor{
		{"blocks.0.0.conv_dw.weight": seq(4, 2, 3, 3)},
		{"blocks.0.0.conv_dw.weight": seq(4, 1, 3, 3), "blocks.0.0.conv_pw.weight": seq(2, 2, 2)},
		{"features.0.0.weight": seq(8, 3, 3, 3), "features.1.0.block.7.0.weight": seq(8, 1, 3, 3), "features.2.0.weight": seq(8, 8, 1, 1)},
		{"features.0.0.weight": seq(8, 3, 3, 3), "features.x.0.weight": seq(8)},
		{"features.0.1.weight": seq(8)}, // no head conv
		{"module.conv_stem.weight": seq(4, 3, 3, 3), "module.blocks.0.0.conv_dw.weight": seq(4, 1, 3, 3), "module.blocks.0.0.conv_pw.weight": seq(2, 2, 2)},
	} {
		if _, _, err := efficientnet.ConvertStateDict(bad); err == nil {
			t.Errorf("ConvertStateDict(%v): no error", keys(bad))
		}
	}
}

func keys(sd map[string]*nn.Tensor) []string {
	var ks []string
	for k := range sd {
		ks = append(ks, k)
	}
	return ks
}

// TestLoadTorchvisionNames loads every entry of torchvision's full-size B0
// and B1 state dicts (names and shapes from testdata/torchvision_names.txt;
// values made up) strictly into our B0 and B1 and checks where a few
// tensors land.
func TestLoadTorchvisionNames(t *testing.T) {
	f, err := os.Open("testdata/torchvision_names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sds := map[string]map[string]*nn.Tensor{}
	sc := bufio.NewScanner(f)
	k := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		var shape []int
		for _, d := range fields[2:] {
			n, err := strconv.Atoi(d)
			if err != nil {
				t.Fatal(err)
			}
			shape = append(shape, n)
		}
		x := nn.New(shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(k%1000) + float32(i%997)/1000
		}
		k++
		if sds[fields[0]] == nil {
			sds[fields[0]] = map[string]*nn.Tensor{}
		}
		sds[fields[0]][fields[1]] = x
	}
	if len(sds) != 2 {
		t.Fatalf("variants %v", len(sds))
	}
	for v, sd := range sds {
		m, err := efficientnet.NewUninitialised(efficientnet.Config{Variant: v, Flavour: efficientnet.Torchvision, NumClasses: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if err := efficientnet.LoadStateDict(m, sd, efficientnet.LoadOptions{}); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		own := layers.StateDict(m)
		for tv, timm := range map[string]string{
			"features.1.0.block.0.0.weight":      "blocks.0.0.conv_dw.weight",
			"features.1.0.block.1.fc1.bias":      "blocks.0.0.se.conv_reduce.bias",
			"features.1.0.block.2.1.weight":      "blocks.0.0.bn2.weight",
			"features.2.1.block.0.0.weight":      "blocks.1.1.conv_pw.weight",
			"features.2.1.block.1.1.bias":        "blocks.1.1.bn2.bias",
			"features.2.1.block.2.fc2.bias":      "blocks.1.1.se.conv_expand.bias",
			"features.3.0.block.1.0.weight":      "blocks.2.0.conv_dw.weight",
			"features.6.2.block.3.0.weight":      "blocks.5.2.conv_pwl.weight",
			"features.7.0.block.3.1.running_var": "blocks.6.0.bn3.running_var",
			"features.0.0.weight":                "conv_stem.weight",
			"features.0.1.running_mean":          "bn1.running_mean",
			"features.8.0.weight":                "conv_head.weight",
			"features.8.1.weight":                "bn2.weight",
			"classifier.1.weight":                "classifier.weight",
			"classifier.1.bias":                  "classifier.bias",
		} {
			if !equal(toPyTorch(timm, own[timm]), sd[tv]) {
				t.Errorf("%s: %s did not land in %s", v, tv, timm)
			}
		}
		if v == "b1" && !equal(toPyTorch("x", own["blocks.0.1.conv_pw.weight"]), sd["features.1.1.block.2.0.weight"]) {
			t.Error("b1: second ds block of stage 0 mismapped")
		}
	}
}

func TestLoadPretrainedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := efficientnet.Config{Width: 0.25, Depth: 0.25, NumClasses: 6, Flavour: efficientnet.TF}
	src := newModel(t, cfg, 1)
	// Non-trivial running statistics.
	for _, b := range layers.Buffers(src) {
		nn.Uniform(b.Tensor, 0.5, 1.5, rand.New(rand.NewPCG(9, 9)))
	}

	// PyTorch layout, timm names, nn.DataParallel prefix, num_batches_tracked.
	pt := map[string]*nn.Tensor{}
	for name, v := range pytorchStateDict(src) {
		pt["module."+name] = v
	}
	ptPath := filepath.Join(dir, "timm.safetensors")
	if err := layers.WriteSafetensors(ptPath, pt, nil); err != nil {
		t.Fatal(err)
	}
	dst := newModel(t, cfg, 2)
	if err := efficientnet.LoadPretrained(dst, ptPath, efficientnet.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	stateEqual(t, src, dst)

	// sortnet's own layout, as layers.SaveModule writes it.
	ownPath := filepath.Join(dir, "own.safetensors")
	if err := layers.SaveModule(ownPath, src, nil); err != nil {
		t.Fatal(err)
	}
	dst = newModel(t, cfg, 3)
	if err := efficientnet.LoadPretrained(dst, ownPath, efficientnet.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	stateEqual(t, src, dst)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	small := efficientnet.Config{Width: 0.25, Depth: 0.25, NumClasses: 6}
	src := newModel(t, small, 1)
	ckpt := pytorchStateDict(src)

	check := func(name string, m *efficientnet.Model, sd map[string]*nn.Tensor, opts efficientnet.LoadOptions, wants ...string) {
		t.Helper()
		before := layers.StateDict(m)
		snapshot := map[string]*nn.Tensor{}
		for k, v := range before {
			snapshot[k] = v.Clone()
		}
		err := efficientnet.LoadStateDict(m, sd, opts)
		if len(wants) == 0 {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			return
		}
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", name, err, w)
			}
		}
		for k, v := range snapshot {
			if !equal(v, before[k]) {
				t.Errorf("%s: %s changed although loading failed", name, k)
				break
			}
		}
	}

	// A deeper model's checkpoint: extra blocks are unexpected.
	deeper := pytorchStateDict(newModel(t, efficientnet.Config{Width: 0.25, Depth: 0.5, NumClasses: 6}, 1))
	check("deeper", newModel(t, small, 2), deeper, efficientnet.LoadOptions{}, "does not fit", "the model does not have", "blocks.3.1.")
	// A wider model's checkpoint: shapes differ.
	check("wider", newModel(t, small, 2), pytorchStateDict(newModel(t, efficientnet.Config{Width: 0.5, Depth: 0.25, NumClasses: 6}, 1)), efficientnet.LoadOptions{Partial: true}, "shape mismatches", "conv_stem.weight: model [3 3 3 8], checkpoint [3 3 3 16]", "another variant")
	// A different class count: an error that suggests NewHead, …
	ten := newModel(t, efficientnet.Config{Width: 0.25, Depth: 0.25, NumClasses: 10}, 2)
	check("classes", ten, ckpt, efficientnet.LoadOptions{}, "classifier.weight", "NewHead")
	// … and with NewHead the backbone loads and the head stays.
	head := ten.Classifier.Weight.Value.Clone()
	check("new head", ten, ckpt, efficientnet.LoadOptions{NewHead: true})
	if !equal(head, ten.Classifier.Weight.Value) || !equal(ten.Stem.Weight.Value, src.Stem.Weight.Value) {
		t.Error("NewHead: backbone not loaded or head overwritten")
	}
	// A headless model with NewHead takes a classifier checkpoint.
	check("headless", newModel(t, efficientnet.Config{Width: 0.25, Depth: 0.25}, 2), ckpt, efficientnet.LoadOptions{NewHead: true})
	check("headless strict", newModel(t, efficientnet.Config{Width: 0.25, Depth: 0.25}, 2), ckpt, efficientnet.LoadOptions{}, "the model does not have", "classifier.bias")
	// Missing tensors: an error unless Partial.
	partial := map[string]*nn.Tensor{}
	for k, v := range ckpt {
		if !strings.HasPrefix(k, "blocks.1.") {
			partial[k] = v
		}
	}
	check("missing", newModel(t, small, 2), partial, efficientnet.LoadOptions{}, "missing from the checkpoint", "blocks.1.0.bn1.bias")
	check("partial", newModel(t, small, 2), partial, efficientnet.LoadOptions{Partial: true})

	// Files.
	m := newModel(t, small, 2)
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	if err := os.WriteFile(corrupt, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json}      "), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		corrupt:                                "corrupt.safetensors",
		filepath.Join(dir, "none.safetensors"): "none.safetensors",
		filepath.Join(dir, "w.pth"):            "w.pth",
		filepath.Join(dir, "w.h5"):             "unknown weight file type",
	} {
		err := efficientnet.LoadPretrained(m, path, efficientnet.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadPretrained(%s): error %v, want one with %q", filepath.Base(path), err, want)
		}
	}
	good := filepath.Join(dir, "wider.safetensors")
	if err := layers.WriteSafetensors(good, deeper, nil); err != nil {
		t.Fatal(err)
	}
	if err := efficientnet.LoadPretrained(m, good, efficientnet.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "wider.safetensors") {
		t.Errorf("mismatched file: error %v should name the file", err)
	}
}
