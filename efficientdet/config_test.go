package efficientdet_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
)

// TestPublishedParamCounts: effdet's README lists the parameters of its
// tf_efficientdet_dX models (COCO, 90 classes) in millions; the plan must
// give them to the digits shown.
func TestPublishedParamCounts(t *testing.T) {
	published := map[string]float64{
		"d0": 3.88, "d1": 6.63, "d2": 8.10, "d3": 12.0, "d4": 20.7,
		"d5": 33.7, "d6": 51.9, "d7": 51.9, "d7x": 77.1,
	}
	for _, v := range efficientdet.Variants() {
		n, err := efficientdet.Config{Variant: v.Name, Flavour: efficientnet.TF, NumClasses: 90}.NumParams()
		if err != nil {
			t.Fatal(err)
		}
		p := published[v.Name]
		digits := 100.0 // 3.88, 6.63, 8.10
		if p >= 10 {
			digits = 10 // 12.0, 20.7, …
		}
		if got := math.Round(float64(n)/1e6*digits) / digits; got != p {
			t.Errorf("%s: %d parameters (%.4g M), effdet publishes %v M", v.Name, n, float64(n)/1e6, p)
		}
	}
}

// TestNumParamsMatchesModel: the plan's count is what New allocates, for
// several shapes of model (flavours, fusions, channel-changing
// resampling, extra levels).
func TestNumParamsMatchesModel(t *testing.T) {
	tiny := efficientnet.Config{Width: 0.25, Depth: 0.25}
	cases := []efficientdet.Config{
		{Variant: "d0", Flavour: efficientnet.TF, NumClasses: 90},
		{Variant: "d0", NumClasses: 7},
		{Backbone: tiny, FPNChannels: 16, FPNCells: 2, HeadRepeats: 2, Height: 128, Width: 128, NumClasses: 3, Fusion: efficientdet.Attn},
		{Backbone: tiny, Flavour: efficientnet.TF, FPNChannels: 8, FPNCells: 1, HeadRepeats: 1, Height: 256, Width: 128, NumClasses: 1, Fusion: efficientdet.Sum, MaxLevel: 8},
		{Backbone: tiny, FPNChannels: 80, FPNCells: 1, HeadRepeats: 1, Height: 64, Width: 64, NumClasses: 2, NumScales: 2, AspectRatios: []efficientdet.AspectRatio{{1, 1}}},
	}
	for i, cfg := range cases {
		n, err := cfg.NumParams()
		if err != nil {
			t.Fatal(err)
		}
		m, err := efficientdet.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := layers.CountParams(m); got != n {
			t.Errorf("case %d: model has %d parameters, plan says %d", i, got, n)
		}
	}
}

func TestVariantTable(t *testing.T) {
	d7, _ := efficientdet.LookupVariant("d7")
	d7x, _ := efficientdet.LookupVariant("d7x")
	if d7.AnchorScale != 5 || d7.Fusion != efficientdet.Sum || d7x.MaxLevel != 8 || d7x.Backbone != "b7" {
		t.Errorf("d7 %+v, d7x %+v", d7, d7x)
	}
	m, err := efficientdet.New(efficientdet.Config{Variant: "d2", Flavour: efficientnet.TF, NumClasses: 7})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config()
	if c.Height != 768 || c.FPNChannels != 112 || c.FPNCells != 5 || c.HeadRepeats != 3 || c.AnchorScale != 4 ||
		c.Fusion != efficientdet.FastAttn || c.Backbone.Variant != "b2" || c.BNEps != 1e-3 || c.BNMomentum != 0.01 {
		t.Errorf("resolved d2 config %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  efficientdet.Config
		want string
	}{
		{efficientdet.Config{Variant: "d9", NumClasses: 1}, `unknown variant "d9"`},
		{efficientdet.Config{Variant: "d0"}, "at least one class"},
		{efficientdet.Config{NumClasses: 1}, "needs a Backbone"},
		{efficientdet.Config{NumClasses: 1, Backbone: efficientnet.Config{Variant: "b0"}}, "needs FPNChannels"},
		{efficientdet.Config{Variant: "d0", NumClasses: 1, Fusion: 9}, "unknown fusion"},
		{efficientdet.Config{Variant: "d0", NumClasses: 1, MaxLevel: 5}, "MaxLevel 5"},
		{efficientdet.Config{Variant: "d0", NumClasses: 1, AspectRatios: []efficientdet.AspectRatio{{0, 1}}}, "aspect ratio"},
		{efficientdet.Config{Variant: "d0", NumClasses: 1, Act: "nope"}, "Act"},
		{efficientdet.Config{Variant: "d0", NumClasses: 1, Backbone: efficientnet.Config{Variant: "b0", Arch: [][]string{{"ir_r1_k3_s1_e1_c16"}}}}, "stride 8"},
	}
	for _, c := range cases {
		_, err := efficientdet.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestParamNames spot-checks effdet's parameter names and layouts on D0.
func TestParamNames(t *testing.T) {
	m, err := efficientdet.New(efficientdet.Config{Variant: "d0", Flavour: efficientnet.TF, NumClasses: 90})
	if err != nil {
		t.Fatal(err)
	}
	sd := layers.StateDict(m)
	for name, shape := range map[string][]int{
		"backbone.conv_stem.weight":                              {3, 3, 3, 32},
		"backbone.blocks.6.0.bn3.running_var":                    {320},
		"fpn.resample.3.conv.conv.weight":                        {1, 1, 320, 64},
		"fpn.resample.3.conv.conv.bias":                          {64},
		"fpn.resample.3.conv.bn.running_mean":                    {64},
		"fpn.cell.0.fnode.1.combine.resample.2.conv.conv.weight": {1, 1, 320, 64},
		"fpn.cell.0.fnode.4.combine.resample.1.conv.bn.weight":   {64},
		"fpn.cell.0.fnode.4.combine.edge_weights":                {3},
		"fpn.cell.2.fnode.7.combine.edge_weights":                {2},
		"fpn.cell.1.fnode.0.after_combine.conv.conv_dw.weight":   {3, 3, 64},
		"fpn.cell.1.fnode.0.after_combine.conv.conv_pw.bias":     {64},
		"fpn.cell.1.fnode.0.after_combine.conv.bn.running_var":   {64},
		"class_net.conv_rep.2.conv_pw.weight":                    {1, 1, 64, 64},
		"class_net.bn_rep.2.4.bn.weight":                         {64},
		"class_net.predict.conv_pw.weight":                       {1, 1, 64, 810},
		"class_net.predict.conv_pw.bias":                         {810},
		"box_net.predict.conv_pw.bias":                           {36},
	} {
		got, ok := sd[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		if s := got.Shape(); len(s) != len(shape) || !equal(s, shape) {
			t.Errorf("%s: shape %v, want %v", name, s, shape)
		}
	}
	for name := range sd {
		if strings.HasPrefix(name, "fpn.cell.1.") && strings.Contains(name, "combine.resample") {
			t.Errorf("%s: only the first cell resamples channels", name)
		}
		if strings.HasPrefix(name, "backbone.conv_head") || strings.HasPrefix(name, "backbone.bn2") {
			t.Errorf("%s: the backbone has no head", name)
		}
	}
	// The class prediction bias starts at the 0.01 prior.
	b := sd["class_net.predict.conv_pw.bias"].Data()[0]
	if want := -math.Log(99); math.Abs(float64(b)-want) > 1e-6 {
		t.Errorf("class bias %v, want %v", b, want)
	}
	// The PyTorch flavour has no redundant biases.
	pt, err := efficientdet.New(efficientdet.Config{Variant: "d0", NumClasses: 90})
	if err != nil {
		t.Fatal(err)
	}
	sd = layers.StateDict(pt)
	for _, name := range []string{"fpn.resample.3.conv.conv.bias", "fpn.cell.0.fnode.0.after_combine.conv.conv_pw.bias", "class_net.conv_rep.0.conv_pw.bias"} {
		if _, ok := sd[name]; ok {
			t.Errorf("PyTorch flavour has %s", name)
		}
	}
}

func equal(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
