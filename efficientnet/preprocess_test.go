package efficientnet_test

import (
	"strings"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
)

func TestPretrainedPreprocess(t *testing.T) {
	imagenet := [3]float32{0.485, 0.456, 0.406}
	half := [3]float32{0.5, 0.5, 0.5}
	tests := []struct {
		name         string
		size, resize int
		crop         float64
		interp       string
		mean         [3]float32
	}{
		{"efficientnet_b0", 224, 256, 0.875, "bicubic", imagenet}, // default tag ra_in1k
		{"efficientnet_b0.ra4_e3600_r224_in1k", 224, 248, 0.9, "bicubic", half},
		{"tf_efficientnet_b0", 224, 256, 0.875, "bicubic", imagenet}, // ns_jft_in1k
		{"tf_efficientnet_b1.ns_jft_in1k", 240, 272, 0.882, "bicubic", imagenet},
		{"tf_efficientnet_b2", 260, 292, 0.890, "bicubic", imagenet},
		{"tf_efficientnet_b3.AP_IN1K", 300, 331, 0.904, "bicubic", half},
		{"tf_efficientnet_b7", 600, 632, 0.949, "bicubic", imagenet},
		{"tf_efficientnet_b8", 672, 704, 0.954, "bicubic", half}, // ap_in1k
		{"tf_efficientnet_l2", 475, 507, 0.936, "bicubic", imagenet},
		{"efficientnet_b8", 672, 704, 0.954, "bicubic", imagenet},
		{"torchvision/efficientnet_b0", 224, 256, 0.875, "bicubic", imagenet},
		{"torchvision/efficientnet_b1.imagenet1k_v2", 240, 255, 240.0 / 255, "bilinear", imagenet},
		{"torchvision/efficientnet_b2", 288, 288, 1, "bicubic", imagenet},
	}
	for _, tc := range tests {
		p, err := efficientnet.PretrainedPreprocess(tc.name)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p.InputSize != tc.size || p.ResizeSize != tc.resize || p.CropPct != tc.crop || p.Interpolation != tc.interp || p.Mean != tc.mean {
			t.Errorf("%s: %+v", tc.name, p)
		}
		if tc.mean == half && p.Std != half || tc.mean == imagenet && p.Std != [3]float32{0.229, 0.224, 0.225} {
			t.Errorf("%s: std %v", tc.name, p.Std)
		}
	}
	_, err := efficientnet.PretrainedPreprocess("efficientnet_b9")
	if err == nil || !strings.Contains(err.Error(), "tf_efficientnet_b3.ns_jft_in1k") {
		t.Errorf("unknown name: %v (should list the known ones)", err)
	}
	for _, tc := range []struct {
		cfg  efficientnet.Config
		size int
		crop float64
	}{
		{efficientnet.Config{Variant: "b2", Flavour: efficientnet.TF}, 260, 0.890},
		{efficientnet.Config{Variant: "b3"}, 288, 0.875},
		{efficientnet.Config{Variant: "b3", Resolution: 320}, 320, 0.875},
		{efficientnet.Config{Variant: "b6", Flavour: efficientnet.Torchvision}, 528, 1},
		{efficientnet.Config{Width: 0.5, Depth: 0.5, Resolution: 128}, 128, 0.875},
		{efficientnet.Config{Variant: "l2", Flavour: efficientnet.Torchvision}, 800, 0.875},
	} {
		if p := tc.cfg.Preprocess(); p.InputSize != tc.size || p.CropPct != tc.crop {
			t.Errorf("%+v: %+v", tc.cfg, p)
		}
	}
}
