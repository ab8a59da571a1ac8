package efficientnet_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
)

func TestDecodeBlock(t *testing.T) {
	ir, ds, dsa := efficientnet.InvertedResidual, efficientnet.DepthwiseSeparable, efficientnet.DepthwiseSeparableAct
	tests := []struct {
		in   string
		want efficientnet.BlockSpec
	}{
		{"ds_r1_k3_s1_e1_c16_se0.25", efficientnet.BlockSpec{Type: ds, Repeats: 1, Kernel: 3, Stride: 1, ExpandRatio: 1, OutChannels: 16, SERatio: 0.25, ExpKernel: 1, PwKernel: 1}},
		{"ir_r2_k3_s2_e6_c24_se0.25", efficientnet.BlockSpec{Type: ir, Repeats: 2, Kernel: 3, Stride: 2, ExpandRatio: 6, OutChannels: 24, SERatio: 0.25, ExpKernel: 1, PwKernel: 1}},
		// any order, noskip, activation override, expansion/projection kernels
		{"ir_c40_e4.5_s1_k5_r3_noskip_nre_a3_p3", efficientnet.BlockSpec{Type: ir, Repeats: 3, Kernel: 5, Stride: 1, ExpandRatio: 4.5, OutChannels: 40, NoSkip: true, Act: "relu", ExpKernel: 3, PwKernel: 3}},
		{"ir_r1_k3_s1_e1_c16_nhs", efficientnet.BlockSpec{Type: ir, Repeats: 1, Kernel: 3, Stride: 1, ExpandRatio: 1, OutChannels: 16, Act: "hard_swish", ExpKernel: 1, PwKernel: 1}},
		{"ds_r1_k3_s2_c8_nr6_skip", efficientnet.BlockSpec{Type: ds, Repeats: 1, Kernel: 3, Stride: 2, ExpandRatio: 1, OutChannels: 8, Act: "relu6", ExpKernel: 1, PwKernel: 1}},
		{"dsa_r1_k3_s1_c16_nsw", efficientnet.BlockSpec{Type: dsa, Repeats: 1, Kernel: 3, Stride: 1, ExpandRatio: 1, OutChannels: 16, Act: "silu", ExpKernel: 1, PwKernel: 1}},
		{"ir_r1_k7_s2_e6._c320_se0", efficientnet.BlockSpec{Type: ir, Repeats: 1, Kernel: 7, Stride: 2, ExpandRatio: 6, OutChannels: 320, ExpKernel: 1, PwKernel: 1}},
	}
	for _, tc := range tests {
		got, err := efficientnet.DecodeBlock(tc.in)
		if err != nil {
			t.Errorf("DecodeBlock(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("DecodeBlock(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		back, err := efficientnet.DecodeBlock(got.String())
		if err != nil || back != got {
			t.Errorf("DecodeBlock(%q.String() = %q) = %+v, %v; want %+v", tc.in, got.String(), back, err, got)
		}
	}
	spec := efficientnet.BlockSpec{Type: ir, Repeats: 2, Kernel: 3, Stride: 2, ExpandRatio: 6, OutChannels: 24, SERatio: 0.25}
	if got, want := spec.String(), "ir_r2_k3_s2_e6_c24_se0.25"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDecodeBlockErrors(t *testing.T) {
	tests := []struct {
		in, token, msg string
	}{
		{"", "", "empty"},
		{"xx_r1_k3_s1_c16", "xx", "unknown block type"},
		{"er_r1_k3_s1_e4_c24", "er", "not supported"},
		{"cn_r1_k1_s1_c320", "cn", "not supported"},
		{"uir_r1_a3_k5_s2_e4_c48", "uir", "not supported"},
		{"ir_r1_k3_s1_c16", "", "expansion ratio"},
		{"ir_k3_s1_e6_c16", "", `"r"`},
		{"ir_r1_s1_e6_c16", "", `"k"`},
		{"ir_r1_k3_e6_c16", "", `"s"`},
		{"ir_r1_k3_s1_e6", "", `"c"`},
		{"ir_r1_k3_s3_e6_c16", "s3", "stride"},
		{"ir_r1_k4_s1_e6_c16", "k4", "odd"},
		{"ir_r1_k3.5_s1_e6_c16", "k3.5", "mixed kernel"},
		{"ir_r0_k3_s1_e6_c16", "r0", "repeats"},
		{"ir_r1_k3_s1_e0_c16", "e0", "expansion"},
		{"ir_r1_k3_s1_e6_c0", "c0", "channels"},
		{"ir_r1_k3_s1_e6_c16_se0.25_se0.5", "se0.5", "twice"},
		{"ir_r1_k3_s1_e6_c16_se-1", "se-1", "decimal"},
		{"ir_r1_k3_s1_e6_c16_se1e3", "se1e3", "decimal"},
		{"ir_r1_k3_s1_e6_c16_seNaN", "seNaN", "decimal"},
		{"ir_r1_k3_s1_e6_c16_se5", "se5", "ratio"},
		{"ir_r1x_k3_s1_e6_c16", "r1x", "whole number"},
		{"ir_r1_k3_s1_e6_c16_rx", "rx", "unknown option"},
		{"ir_r1_k3_s1_e6_c16_q3", "q3", "unknown option"},
		{"ir_r1_k3_s1_e6_c16_gs8", "gs8", "not supported"},
		{"ir_r1_k3_s1_e6_c16_cc4", "cc4", "not supported"},
		{"ir_r1_k3_s1_e6_c16_d1", "d1", "not supported"},
		{"ir_r1_k3_s1_e6_c16_nmi", "nmi", "mish"},
		{"ir_r1_k3_s1_e6_c16_nxx", "nxx", "activation"},
		{"ir_r1_k3_s1_e6_c16_noskip_skip", "skip", "contradicts"},
		{"ir_r1_k3_s1_e6_c16_", "", "empty token"},
		{"ir__r1_k3_s1_e6_c16", "", "empty token"},
		{"ir_r1_k3_s1_e6_c16_3", "3", "option name"},
		{"ir_r1_k3_s1_e6_c16_r", "r", "twice"},
		{"ir_r1_k3_s1_e6_c16_p", "p", "no value"},
		{"ds_r1_k3_s1_e6_c16", "e6", "no expansion"},
		{"ds_r1_a3_k3_s1_c16", "a3", "only for ir"},
		{"ir_r1_k3_s1_e6_c99999999", "c99999999", "channels"},
		{"ir_r1_k3_s1_e6_c1234567890", "c1234567890", "whole number"},
	}
	for _, tc := range tests {
		_, err := efficientnet.DecodeBlock(tc.in)
		if err == nil {
			t.Errorf("DecodeBlock(%q): no error", tc.in)
			continue
		}
		var ae *efficientnet.ArchError
		if !errors.As(err, &ae) {
			t.Errorf("DecodeBlock(%q): error %T, want *ArchError", tc.in, err)
			continue
		}
		if ae.Block != tc.in || ae.Token != tc.token || !strings.Contains(ae.Msg, tc.msg) {
			t.Errorf("DecodeBlock(%q) = %+v, want token %q and a message with %q", tc.in, *ae, tc.token, tc.msg)
		}
		if !strings.Contains(err.Error(), `"`+tc.in+`"`) || !strings.Contains(err.Error(), `"`+tc.token+`"`) && tc.token != "" {
			t.Errorf("DecodeBlock(%q): message %q should quote the string and the token", tc.in, err)
		}
	}
}

func TestDecodeArch(t *testing.T) {
	arch, err := efficientnet.DecodeArch(efficientnet.EfficientNetArch())
	if err != nil {
		t.Fatal(err)
	}
	var reps, chans, kernels []int
	for _, stage := range arch {
		reps = append(reps, stage[0].Repeats)
		chans = append(chans, stage[0].OutChannels)
		kernels = append(kernels, stage[0].Kernel)
	}
	if want := []int{1, 2, 2, 3, 3, 4, 1}; !reflect.DeepEqual(reps, want) {
		t.Errorf("repeats %v, want %v", reps, want)
	}
	if want := []int{16, 24, 40, 80, 112, 192, 320}; !reflect.DeepEqual(chans, want) {
		t.Errorf("channels %v, want %v", chans, want)
	}
	if want := []int{3, 3, 5, 3, 5, 5, 3}; !reflect.DeepEqual(kernels, want) {
		t.Errorf("kernels %v, want %v", kernels, want)
	}
	for _, bad := range [][][]string{nil, {{}}, {{"ir_r1_k3_s1_e6_c16"}, {"ir_r1_k3_s1_e6_c16_zz"}}} {
		if _, err := efficientnet.DecodeArch(bad); err == nil {
			t.Errorf("DecodeArch(%q): no error", bad)
		}
	}
	_, err = efficientnet.DecodeArch([][]string{{"ir_r1_k3_s1_e6_c16"}, {"ir_r1_k3_s1_e6_c16_zz"}})
	if err == nil || !strings.Contains(err.Error(), "stage 1") || !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf("DecodeArch error %v should name stage 1 and the token", err)
	}
}

// FuzzDecodeBlock checks that DecodeBlock never panics, that every error is
// an *ArchError naming the whole string, and that every decoded spec
// survives String and DecodeBlock unchanged.
func FuzzDecodeBlock(f *testing.F) {
	for _, s := range efficientnet.EfficientNetArch() {
		f.Add(s[0])
	}
	for _, s := range []string{"ir_r1_k3_s1_e6_c16_noskip_nre_a3_p5", "dsa_r1_k3_s2_c8_nhs", "ds_r1_k3_s1_c16_skip", "er_r1_k3_s1_e4_c24_fc24_noskip", "ir_r1_k3.5_s2_e6_c8", "ir_r1_k3_s1_e1.50_c16_se0.0625", "", "_", "ir"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := efficientnet.DecodeBlock(s)
		if err != nil {
			var ae *efficientnet.ArchError
			if !errors.As(err, &ae) || ae.Block != s {
				t.Fatalf("DecodeBlock(%q): error %v does not name the string", s, err)
			}
			return
		}
		back, err := efficientnet.DecodeBlock(spec.String())
		if err != nil {
			t.Fatalf("DecodeBlock(%q) = %+v, but its String %q does not decode: %v", s, spec, spec.String(), err)
		}
		if back != spec {
			t.Fatalf("DecodeBlock(%q) = %+v; round trip through %q gives %+v", s, spec, spec.String(), back)
		}
	})
}
