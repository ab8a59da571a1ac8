package efficientnet

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Preprocess is how the images a set of pretrained weights was evaluated
// with were prepared, as timm's pretrained configs and torchvision's
// weight transforms state it: resize the shorter side to ResizeSize with
// Interpolation, centre-crop InputSize×InputSize, scale to [0, 1], then
// subtract Mean and divide by Std per RGB channel.
type Preprocess struct {
	InputSize     int        // square crop, pixels
	ResizeSize    int        // shorter side before the crop
	CropPct       float64    // InputSize / ResizeSize
	Interpolation string     // "bicubic" or "bilinear"
	Mean, Std     [3]float32 // RGB
}

var (
	imagenetMean  = [3]float32{0.485, 0.456, 0.406}
	imagenetStd   = [3]float32{0.229, 0.224, 0.225}
	inceptionMean = [3]float32{0.5, 0.5, 0.5}
	inceptionStd  = [3]float32{0.5, 0.5, 0.5}
)

// timmCfg is a timm pretrained config: ResizeSize = floor(size/cropPct).
func timmCfg(size int, cropPct float64, inception bool) Preprocess {
	p := Preprocess{InputSize: size, CropPct: cropPct, Interpolation: "bicubic", Mean: imagenetMean, Std: imagenetStd}
	p.ResizeSize = int(math.Floor(float64(size) / cropPct))
	if inception {
		p.Mean, p.Std = inceptionMean, inceptionStd
	}
	return p
}

// tvCfg is a torchvision ImageClassification transform.
func tvCfg(crop, resize int, interp string) Preprocess {
	return Preprocess{InputSize: crop, ResizeSize: resize, CropPct: float64(crop) / float64(resize), Interpolation: interp, Mean: imagenetMean, Std: imagenetStd}
}

// pretrained lists the configs by "<arch>.<tag>"; the first entry of an
// arch is its default (timm's default tag: the first with weights).
var pretrained = []struct {
	name string
	p    Preprocess
}{
	{"efficientnet_b0.ra_in1k", timmCfg(224, 0.875, false)},
	{"efficientnet_b0.ra4_e3600_r224_in1k", timmCfg(224, 0.9, true)},
	{"efficientnet_b1.ra4_e3600_r240_in1k", timmCfg(240, 0.9, true)},
	{"efficientnet_b1.ft_in1k", timmCfg(224, 0.875, false)},
	{"efficientnet_b2.ra_in1k", timmCfg(256, 0.875, false)},
	{"efficientnet_b3.ra2_in1k", timmCfg(288, 0.875, false)},
	{"efficientnet_b4.ra2_in1k", timmCfg(320, 0.875, false)},
	{"efficientnet_b5.sw_in12k_ft_in1k", timmCfg(448, 1.0, false)},
	{"efficientnet_b6.untrained", timmCfg(528, 0.942, false)},
	{"efficientnet_b7.untrained", timmCfg(600, 0.949, false)},
	{"efficientnet_b8.untrained", timmCfg(672, 0.954, false)},
	{"efficientnet_l2.untrained", timmCfg(800, 0.961, false)},

	{"tf_efficientnet_b0.ns_jft_in1k", timmCfg(224, 0.875, false)},
	{"tf_efficientnet_b1.ns_jft_in1k", timmCfg(240, 0.882, false)},
	{"tf_efficientnet_b2.ns_jft_in1k", timmCfg(260, 0.890, false)},
	{"tf_efficientnet_b3.ns_jft_in1k", timmCfg(300, 0.904, false)},
	{"tf_efficientnet_b4.ns_jft_in1k", timmCfg(380, 0.922, false)},
	{"tf_efficientnet_b5.ns_jft_in1k", timmCfg(456, 0.934, false)},
	{"tf_efficientnet_b6.ns_jft_in1k", timmCfg(528, 0.942, false)},
	{"tf_efficientnet_b7.ns_jft_in1k", timmCfg(600, 0.949, false)},
	{"tf_efficientnet_l2.ns_jft_in1k_475", timmCfg(475, 0.936, false)},
	{"tf_efficientnet_l2.ns_jft_in1k", timmCfg(800, 0.96, false)},
	{"tf_efficientnet_b0.ap_in1k", timmCfg(224, 0.875, true)},
	{"tf_efficientnet_b1.ap_in1k", timmCfg(240, 0.882, true)},
	{"tf_efficientnet_b2.ap_in1k", timmCfg(260, 0.890, true)},
	{"tf_efficientnet_b3.ap_in1k", timmCfg(300, 0.904, true)},
	{"tf_efficientnet_b4.ap_in1k", timmCfg(380, 0.922, true)},
	{"tf_efficientnet_b5.ap_in1k", timmCfg(456, 0.934, true)},
	{"tf_efficientnet_b6.ap_in1k", timmCfg(528, 0.942, true)},
	{"tf_efficientnet_b7.ap_in1k", timmCfg(600, 0.949, true)},
	{"tf_efficientnet_b8.ap_in1k", timmCfg(672, 0.954, true)},
	{"tf_efficientnet_b5.ra_in1k", timmCfg(456, 0.934, false)},
	{"tf_efficientnet_b7.ra_in1k", timmCfg(600, 0.949, false)},
	{"tf_efficientnet_b8.ra_in1k", timmCfg(672, 0.954, false)},
	{"tf_efficientnet_b0.aa_in1k", timmCfg(224, 0.875, false)},
	{"tf_efficientnet_b1.aa_in1k", timmCfg(240, 0.882, false)},
	{"tf_efficientnet_b2.aa_in1k", timmCfg(260, 0.890, false)},
	{"tf_efficientnet_b3.aa_in1k", timmCfg(300, 0.904, false)},
	{"tf_efficientnet_b4.aa_in1k", timmCfg(380, 0.922, false)},
	{"tf_efficientnet_b5.aa_in1k", timmCfg(456, 0.934, false)},
	{"tf_efficientnet_b6.aa_in1k", timmCfg(528, 0.942, false)},
	{"tf_efficientnet_b7.aa_in1k", timmCfg(600, 0.949, false)},
	{"tf_efficientnet_b0.in1k", timmCfg(224, 0.875, false)},
	{"tf_efficientnet_b1.in1k", timmCfg(240, 0.882, false)},
	{"tf_efficientnet_b2.in1k", timmCfg(260, 0.890, false)},
	{"tf_efficientnet_b3.in1k", timmCfg(300, 0.904, false)},
	{"tf_efficientnet_b4.in1k", timmCfg(380, 0.922, false)},
	{"tf_efficientnet_b5.in1k", timmCfg(456, 0.934, false)},

	// torchvision's EfficientNet_BX_Weights (IMAGENET1K_V1 first: the
	// weights ported from timm and lukemelas).
	{"torchvision/efficientnet_b0.imagenet1k_v1", tvCfg(224, 256, "bicubic")},
	{"torchvision/efficientnet_b1.imagenet1k_v1", tvCfg(240, 256, "bicubic")},
	{"torchvision/efficientnet_b1.imagenet1k_v2", tvCfg(240, 255, "bilinear")},
	{"torchvision/efficientnet_b2.imagenet1k_v1", tvCfg(288, 288, "bicubic")},
	{"torchvision/efficientnet_b3.imagenet1k_v1", tvCfg(300, 320, "bicubic")},
	{"torchvision/efficientnet_b4.imagenet1k_v1", tvCfg(380, 384, "bicubic")},
	{"torchvision/efficientnet_b5.imagenet1k_v1", tvCfg(456, 456, "bicubic")},
	{"torchvision/efficientnet_b6.imagenet1k_v1", tvCfg(528, 528, "bicubic")},
	{"torchvision/efficientnet_b7.imagenet1k_v1", tvCfg(600, 600, "bicubic")},
}

// PretrainedPreprocess returns the preprocessing of a set of pretrained
// weights by timm's name, "<arch>.<tag>" (tf_efficientnet_b3.ns_jft_in1k),
// or by arch alone for its default tag (tf_efficientnet_b3); torchvision's
// weights are "torchvision/efficientnet_b3" or
// "torchvision/efficientnet_b3.imagenet1k_v1". An unknown name is an error
// listing the known ones.
func PretrainedPreprocess(name string) (Preprocess, error) {
	key := strings.ToLower(name)
	for _, e := range pretrained {
		if e.name == key {
			return e.p, nil
		}
		if arch, _, _ := strings.Cut(e.name, "."); arch == key {
			return e.p, nil // the first entry of an arch is its default
		}
	}
	return Preprocess{}, fmt.Errorf("efficientnet: no pretrained config %q (known: %s)", name, strings.Join(PretrainedNames(), ", "))
}

// PretrainedNames lists the names PretrainedPreprocess knows, sorted.
func PretrainedNames() []string {
	names := make([]string, len(pretrained))
	for i, e := range pretrained {
		names[i] = e.name
	}
	sort.Strings(names)
	return names
}

// Preprocess returns the default preprocessing for this configuration:
// that of the default pretrained weights of the variant in its flavour
// (efficientnet_bX, tf_efficientnet_bX or torchvision's). A variant
// without pretrained config or a freely scaled model gets timm's defaults
// (crop 0.875, bicubic, ImageNet mean and std) at its resolution. An
// explicit Resolution replaces the input size (the resize keeps the crop
// percentage).
func (c Config) Preprocess() Preprocess {
	arch := "efficientnet_" + c.Variant
	switch c.Flavour {
	case TF:
		arch = "tf_" + arch
	case Torchvision:
		arch = "torchvision/" + arch
	}
	p, err := PretrainedPreprocess(arch)
	if c.Variant == "" || err != nil {
		p = timmCfg(c.resolved().Resolution, 0.875, false)
	}
	if c.Resolution > 0 && p.InputSize != c.Resolution {
		p.InputSize = c.Resolution
		p.ResizeSize = int(math.Floor(float64(c.Resolution) / p.CropPct))
	}
	return p
}
