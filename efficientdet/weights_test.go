package efficientdet_test

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// fixtureBackbone has maps of 8, 16 and 24 channels at strides 8, 16 and
// 32, the backbone the fpn_head fixtures assume.
var fixtureBackbone = efficientnet.Config{Width: 1, Depth: 1, Arch: [][]string{
	{"ds_r1_k3_s1_c8"}, {"ir_r1_k3_s2_e1_c8"}, {"ir_r1_k3_s2_e1_c8"}, {"ir_r1_k3_s2_e1_c16"}, {"ir_r1_k3_s2_e1_c24"},
}}

func fixtureModel(t *testing.T, classes int) *efficientdet.Model {
	t.Helper()
	m, err := efficientdet.New(efficientdet.Config{Backbone: fixtureBackbone, Flavour: efficientnet.TF, FPNChannels: 8, FPNCells: 2, HeadRepeats: 2, Height: 40, Width: 56, NumClasses: classes})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLoadPretrainedPth loads a torch.save'd effdet state dict (the BiFPN
// and heads of tools/fixtures_efficientdet.py, float16, nested under
// "state_dict") and checks the loaded model against PyTorch's outputs.
func TestLoadPretrainedPth(t *testing.T) {
	const path = "testdata/fpn_head_tf.pth"
	m := fixtureModel(t, 2)
	// Strict: the backbone is missing, and the error says so.
	err := efficientdet.LoadPretrained(m, path, efficientdet.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "missing from the checkpoint: backbone.conv_stem.weight") {
		t.Fatalf("strict load without backbone: %v", err)
	}
	if err := efficientdet.LoadPretrained(m, path, efficientdet.LoadOptions{Partial: true}); err != nil {
		t.Fatal(err)
	}
	sd, _, err := layers.ReadSafetensors("testdata/fpn_head.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	layers.SetTraining(m, false)
	feats := []*nn.Var{nn.NewVar(sd["tf_fastattn.c3"]), nn.NewVar(sd["tf_fastattn.c4"]), nn.NewVar(sd["tf_fastattn.c5"])}
	p := m.FPN.Forward(feats, efficientdet.LevelSizes(40, 56, 7))
	cls := m.ClassNet.Forward(p)
	for l := range 5 {
		want := sd["tf_fastattn.class."+string(rune('0'+l))]
		if ok, msg := fixture.Close(cls[l].Value.Data(), want.Data(), 1e-4, 1e-4); !ok {
			t.Errorf("class level %d: %s", l, msg)
		}
	}

	// Another class count: a shape error that points at NewHead; with
	// NewHead the class net keeps its own weights.
	m3 := fixtureModel(t, 3)
	err = efficientdet.LoadPretrained(m3, path, efficientdet.LoadOptions{Partial: true})
	if err == nil || !strings.Contains(err.Error(), "NewHead") {
		t.Fatalf("3-class model: %v", err)
	}
	before := layers.StateDict(m3)["class_net.predict.conv_pw.bias"].Clone()
	if err := efficientdet.LoadPretrained(m3, path, efficientdet.LoadOptions{Partial: true, NewHead: true}); err != nil {
		t.Fatal(err)
	}
	after := layers.StateDict(m3)
	if ok, _ := fixture.Close(after["class_net.predict.conv_pw.bias"].Data(), before.Data(), 0, 0); !ok {
		t.Error("NewHead: the class net changed")
	}
	if ok, _ := fixture.Close(after["box_net.predict.conv_pw.bias"].Data(), layers.StateDict(m)["box_net.predict.conv_pw.bias"].Data(), 0, 0); !ok {
		t.Error("NewHead: the box net was not loaded")
	}

	// The PyTorch flavour lacks the redundant biases: the error says
	// which flavour the checkpoint needs.
	pt, err := efficientdet.New(efficientdet.Config{Backbone: fixtureBackbone, FPNChannels: 8, FPNCells: 2, HeadRepeats: 2, Height: 40, Width: 56, NumClasses: 2})
	if err != nil {
		t.Fatal(err)
	}
	err = efficientdet.LoadPretrained(pt, path, efficientdet.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "tensors the model does not have (only conv biases: a tf_efficientdet_dX checkpoint needs Flavour TF") {
		t.Fatalf("PyTorch flavour: %v", err)
	}
}

// toPyTorch converts a sortnet state dict to PyTorch's layouts (conv
// OIHW, depthwise [C, 1, K, K]), as effdet's checkpoints hold them.
func toPyTorch(sd map[string]*nn.Tensor) map[string]*nn.Tensor {
	out := map[string]*nn.Tensor{}
	for name, t := range sd {
		s := t.Shape()
		switch {
		case strings.HasSuffix(name, "conv_dw.weight"): // [K, K, C]
			o := nn.New(s[2], 1, s[0], s[1])
			for i := range s[0] {
				for j := range s[1] {
					for c := range s[2] {
						o.Set(t.At(i, j, c), c, 0, i, j)
					}
				}
			}
			out[name] = o
		case len(s) == 4: // [KH, KW, I, O]
			o := nn.New(s[3], s[2], s[0], s[1])
			for i := range s[0] {
				for j := range s[1] {
					for c := range s[2] {
						for k := range s[3] {
							o.Set(t.At(i, j, c, k), k, c, i, j)
						}
					}
				}
			}
			out[name] = o
		default:
			out[name] = t.Clone()
		}
	}
	return out
}

// TestStateDictRoundTrip: a whole model written with effdet's names in
// PyTorch's layouts (plus what effdet checkpoints carry besides:
// num_batches_tracked, the "module." prefix) loads strictly into another
// model, which then computes the same outputs.
func TestStateDictRoundTrip(t *testing.T) {
	cfg := efficientdet.Config{Backbone: efficientnet.Config{Width: 0.25, Depth: 0.25}, Flavour: efficientnet.TF, FPNChannels: 8, FPNCells: 1, HeadRepeats: 1, Height: 64, Width: 64, NumClasses: 2}
	cfg.Rng = rand.New(rand.NewPCG(1, 1))
	a, err := efficientdet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rng = rand.New(rand.NewPCG(2, 2))
	b, err := efficientdet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sd := map[string]*nn.Tensor{}
	for k, v := range toPyTorch(layers.StateDict(a)) {
		sd["module."+k] = v
	}
	sd["module.fpn.cell.0.fnode.0.after_combine.conv.bn.num_batches_tracked"] = nn.Scalar(3)
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := layers.WriteSafetensors(path, sd, nil); err != nil {
		t.Fatal(err)
	}
	if err := efficientdet.LoadPretrained(b, path, efficientdet.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	layers.SetTraining(a, false)
	layers.SetTraining(b, false)
	x := nn.New(1, 64, 64, 3)
	nn.Normal(x, 0, 1, rand.New(rand.NewPCG(3, 3)))
	da, err := a.Predict(x, nil, efficientdet.DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Predict(x, nil, efficientdet.DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(da[0]) == 0 || len(da[0]) != len(db[0]) || da[0][0] != db[0][0] {
		t.Errorf("loaded model detects differently: %v vs %v", da[0][:1], db[0][:1])
	}
	// A sortnet file (layers.SaveModule) loads as well.
	if err := layers.SaveModule(path, a, nil); err != nil {
		t.Fatal(err)
	}
	if err := efficientdet.LoadPretrained(b, path, efficientdet.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := efficientdet.LoadPretrained(b, "w.onnx", efficientdet.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "unknown weight file type") {
		t.Errorf("onnx: %v", err)
	}
}

// TestLoadBackboneOnly loads an EfficientNet classifier's weights (timm
// names, with head and classifier) into the detector's backbone.
func TestLoadBackboneOnly(t *testing.T) {
	bb := efficientnet.Config{Width: 0.25, Depth: 0.25, Flavour: efficientnet.TF, NumClasses: 10, Rng: rand.New(rand.NewPCG(4, 4))}
	cls, err := efficientnet.New(bb)
	if err != nil {
		t.Fatal(err)
	}
	m, err := efficientdet.New(efficientdet.Config{Backbone: efficientnet.Config{Width: 0.25, Depth: 0.25}, Flavour: efficientnet.TF, FPNChannels: 8, FPNCells: 1, HeadRepeats: 1, Height: 64, Width: 64, NumClasses: 2})
	if err != nil {
		t.Fatal(err)
	}
	fpnBefore := layers.StateDict(m)["fpn.cell.0.fnode.0.after_combine.conv.conv_pw.weight"].Clone()
	if err := efficientdet.LoadStateDict(m, toPyTorch(layers.StateDict(cls)), efficientdet.LoadOptions{BackboneOnly: true}); err != nil {
		t.Fatal(err)
	}
	got, want := layers.StateDict(m)["backbone.blocks.3.0.conv_dw.weight"], layers.StateDict(cls)["blocks.3.0.conv_dw.weight"]
	if ok, msg := fixture.Close(got.Data(), want.Data(), 0, 0); !ok {
		t.Errorf("backbone not loaded: %s", msg)
	}
	if ok, _ := fixture.Close(layers.StateDict(m)["fpn.cell.0.fnode.0.after_combine.conv.conv_pw.weight"].Data(), fpnBefore.Data(), 0, 0); !ok {
		t.Error("BackboneOnly changed the BiFPN")
	}
	other, _ := efficientnet.New(efficientnet.Config{Width: 0.5, Depth: 0.25, NumClasses: 10})
	if err := efficientdet.LoadStateDict(m, layers.StateDict(other), efficientdet.LoadOptions{BackboneOnly: true}); err == nil || !strings.Contains(err.Error(), "shape mismatches") {
		t.Errorf("wider backbone: %v", err)
	}
}
