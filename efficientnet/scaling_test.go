package efficientnet_test

import (
	"reflect"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
)

// Expected values computed with timm's make_divisible and
// _scale_stage_depth (copied into Python) and torchvision's
// _efficientnet_conf.

func TestRoundChannels(t *testing.T) {
	tests := []struct {
		ch    int
		width float64
		want  int
	}{
		{32, 1.0, 32}, {32, 1.1, 32}, {24, 1.1, 24}, {40, 1.1, 48}, {112, 1.1, 120},
		{1280, 1.1, 1408}, {16, 0.1, 8}, {112, 0.1, 16}, {192, 0.1, 24}, {320, 0.1, 32},
		{40, 0.25, 16}, {112, 1.2, 136}, {192, 1.4, 272}, {320, 4.3, 1376}, {1280, 4.3, 5504},
		{16, 2.2, 32}, {24, 0.35, 8}, {80, 0.35, 32}, {40, 0.6, 24}, {24, 3.3, 80}, {112, 0.3, 32},
		{77, 0, 77}, // a zero multiplier leaves channels alone
	}
	for _, tc := range tests {
		if got := efficientnet.RoundChannels(tc.ch, tc.width); got != tc.want {
			t.Errorf("RoundChannels(%d, %v) = %d, want %d", tc.ch, tc.width, got, tc.want)
		}
	}
	// Never below 90 % of the unrounded value, always a multiple of 8.
	for ch := 1; ch <= 400; ch += 7 {
		for _, w := range []float64{0.05, 0.1, 0.33, 0.5, 0.77, 1, 1.1, 1.7, 3.9} {
			got, v := efficientnet.RoundChannels(ch, w), float64(ch)*w
			if got%8 != 0 || float64(got) < 0.9*v || got < 8 {
				t.Errorf("RoundChannels(%d, %v) = %d for %v", ch, w, got, v)
			}
		}
	}
}

func TestScaleDepth(t *testing.T) {
	tests := []struct {
		reps  []int
		depth float64
		want  []int
	}{
		{[]int{1}, 1.1, []int{2}},
		{[]int{2}, 1.2, []int{3}},
		{[]int{3}, 1.4, []int{5}},
		{[]int{4}, 3.6, []int{15}},
		{[]int{1, 2}, 1.5, []int{2, 3}},
		{[]int{2, 1, 3}, 0.5, []int{1, 1, 2}},
		{[]int{1, 1}, 0.1, []int{1, 1}},
		{[]int{3, 3}, 2.5, []int{7, 8}},
		{[]int{1, 4, 2}, 1.3, []int{1, 6, 3}},
		{[]int{5}, 0.3, []int{2}},
		{[]int{2, 2}, 1.25, []int{3, 2}}, // round half to even: 2.5 -> 2
	}
	for _, tc := range tests {
		if got := efficientnet.ScaleDepth(tc.reps, tc.depth); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ScaleDepth(%v, %v) = %v, want %v", tc.reps, tc.depth, got, tc.want)
		}
	}
}

// TestVariantStages checks every variant's stem width, stage repeats and
// stage widths against torchvision's MBConvConfig for the same multipliers.
func TestVariantStages(t *testing.T) {
	want := map[string]struct {
		stem        int
		reps, chans []int
	}{
		"b0": {32, []int{1, 2, 2, 3, 3, 4, 1}, []int{16, 24, 40, 80, 112, 192, 320}},
		"b1": {32, []int{2, 3, 3, 4, 4, 5, 2}, []int{16, 24, 40, 80, 112, 192, 320}},
		"b2": {32, []int{2, 3, 3, 4, 4, 5, 2}, []int{16, 24, 48, 88, 120, 208, 352}},
		"b3": {40, []int{2, 3, 3, 5, 5, 6, 2}, []int{24, 32, 48, 96, 136, 232, 384}},
		"b4": {48, []int{2, 4, 4, 6, 6, 8, 2}, []int{24, 32, 56, 112, 160, 272, 448}},
		"b5": {48, []int{3, 5, 5, 7, 7, 9, 3}, []int{24, 40, 64, 128, 176, 304, 512}},
		"b6": {56, []int{3, 6, 6, 8, 8, 11, 3}, []int{32, 40, 72, 144, 200, 344, 576}},
		"b7": {64, []int{4, 7, 7, 10, 10, 13, 4}, []int{32, 48, 80, 160, 224, 384, 640}},
		"b8": {72, []int{4, 8, 8, 11, 11, 15, 4}, []int{32, 56, 88, 176, 248, 424, 704}},
		"l2": {136, []int{6, 11, 11, 16, 16, 22, 6}, []int{72, 104, 176, 344, 480, 824, 1376}},
	}
	if len(efficientnet.Variants()) != len(want) {
		t.Fatalf("%d variants, want %d", len(efficientnet.Variants()), len(want))
	}
	for _, v := range efficientnet.Variants() {
		p, err := efficientnet.Config{Variant: v.Name}.Plan()
		if err != nil {
			t.Fatal(err)
		}
		w := want[v.Name]
		var reps, chans []int
		for _, stage := range p.Blocks {
			reps = append(reps, len(stage))
			chans = append(chans, stage[0].Out)
		}
		if p.Stem != w.stem || !reflect.DeepEqual(reps, w.reps) || !reflect.DeepEqual(chans, w.chans) {
			t.Errorf("%s: stem %d, repeats %v, channels %v; want %d, %v, %v", v.Name, p.Stem, reps, chans, w.stem, w.reps, w.chans)
		}
		if p.Head != 4*chans[6] {
			t.Errorf("%s: head %d, want %d", v.Name, p.Head, 4*chans[6])
		}
	}
}

func TestPlanRules(t *testing.T) {
	p, err := efficientnet.Config{Variant: "b0", DropPathRate: 0.2}.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if p.NumBlocks() != 16 {
		t.Fatalf("%d blocks, want 16", p.NumBlocks())
	}
	idx := 0
	in := p.Stem
	for s, stage := range p.Blocks {
		for i, b := range stage {
			if b.Stage != s || b.Index != i || b.In != in {
				t.Errorf("blocks.%d.%d: position %d.%d, in %d (want %d)", s, i, b.Stage, b.Index, b.In, in)
			}
			wantStride := 1
			if i == 0 {
				wantStride = b.Spec.Stride
			}
			if b.Stride != wantStride {
				t.Errorf("blocks.%d.%d: stride %d, want %d", s, i, b.Stride, wantStride)
			}
			if want := b.Stride == 1 && b.In == b.Out; b.Residual != want {
				t.Errorf("blocks.%d.%d: residual %v, want %v", s, i, b.Residual, want)
			}
			if want := 0.2 * float64(idx) / 16; b.DropPath != want {
				t.Errorf("blocks.%d.%d: drop path %v, want %v", s, i, b.DropPath, want)
			}
			// SE width from the block's input channels.
			if want := max(1, b.In/4); b.SE != want {
				t.Errorf("blocks.%d.%d: SE %d, want %d (in %d)", s, i, b.SE, want, b.In)
			}
			wantMid := b.In * 6
			if s == 0 {
				wantMid = b.In
			}
			if b.Mid != wantMid {
				t.Errorf("blocks.%d.%d: mid %d, want %d", s, i, b.Mid, wantMid)
			}
			in = b.Out
			idx++
		}
	}
	// noskip and dsa never have a residual; activation overrides stick.
	p, err = efficientnet.Config{Width: 1, Depth: 1, Arch: [][]string{
		{"ds_r1_k3_s1_c32_noskip", "dsa_r1_k3_s1_c32"},
		{"ir_r2_k3_s1_e4_c32_nre_noskip", "ir_r1_k3_s1_e4_c32"},
	}}.Plan()
	if err != nil {
		t.Fatal(err)
	}
	for _, stage := range p.Blocks {
		for _, b := range stage {
			want := b.Spec.Type == efficientnet.InvertedResidual && !b.Spec.NoSkip
			if b.Residual != want {
				t.Errorf("%s: residual %v, want %v", b.Spec, b.Residual, want)
			}
		}
	}
	if p.Blocks[1][0].Act != "relu" || p.Blocks[1][2].Act != "silu" {
		t.Errorf("activations %q, %q; want relu, silu", p.Blocks[1][0].Act, p.Blocks[1][2].Act)
	}
}
