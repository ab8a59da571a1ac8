package efficientdet

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// fpnHeads is the BiFPN and both heads without a backbone, named as in
// an effdet model.
type fpnHeads struct {
	fpn      *BiFPN
	cls, box *Head
	maxLevel int
}

func (f *fpnHeads) Members() layers.Members {
	return layers.Members{Children: []layers.Child{{Name: "fpn", Module: f.fpn}, {Name: "class_net", Module: f.cls}, {Name: "box_net", Module: f.box}}}
}

// buildFPNHeads builds the BiFPN and heads of cfg over backbone maps with
// the given channels at strides 8, 16 and 32.
func buildFPNHeads(t testing.TB, cfg Config, chans [3]int) *fpnHeads {
	t.Helper()
	cfg.Backbone = efficientnet.Config{Width: 0.25, Depth: 0.25}
	if cfg.Height == 0 {
		cfg.Height, cfg.Width = 128, 128
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r := cfg.resolved()
	bp := efficientnet.Plan{Features: []efficientnet.FeatureInfo{
		{Channels: 1, Reduction: 2}, {Channels: chans[0], Reduction: 8}, {Channels: chans[1], Reduction: 16}, {Channels: chans[2], Reduction: 32},
	}}
	fp, err := r.fpnPlan(bp)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := newBuilder(r)
	if err != nil {
		t.Fatal(err)
	}
	f := &fpnHeads{fpn: bd.bifpn(fp), cls: bd.head(r.NumClasses), box: bd.head(4), maxLevel: r.MaxLevel}
	initFPN(f.fpn, r.Rng)
	initHead(f.cls, true, r.Rng)
	initHead(f.box, false, r.Rng)
	return f
}

// TestFPNHeadParity replays tools/fixtures_efficientdet.py's effdet BiFPN
// and heads (reimplemented in torch with effdet's module names) on a 40×56
// input: the state dict must load strictly by name through the PyTorch
// layout conversion, and the outputs must match, in three settings.
func TestFPNHeadParity(t *testing.T) {
	sd, _, err := layers.ReadSafetensors("testdata/fpn_head.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		flavour     efficientnet.Flavour
		fusion      Fusion
		cells, reps int
	}{
		{"tf_fastattn", efficientnet.TF, FastAttn, 2, 2},
		{"pt_attn", efficientnet.PyTorch, Attn, 1, 1},
		{"tf_sum", efficientnet.TF, Sum, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := buildFPNHeads(t, Config{Flavour: c.flavour, Fusion: c.fusion, FPNChannels: 8, FPNCells: c.cells, HeadRepeats: c.reps, NumClasses: 2}, [3]int{8, 16, 24})
			prefix := c.name + ".sd."
			mine := map[string]*nn.Tensor{}
			for k, v := range sd {
				if strings.HasPrefix(k, prefix) {
					mine[strings.TrimPrefix(k, prefix)] = v
				}
			}
			conv, _, err := efficientnet.ConvertStateDict(mine)
			if err != nil {
				t.Fatal(err)
			}
			if err := layers.LoadStateDict(f, conv, true); err != nil {
				t.Fatalf("effdet names do not load strictly: %v", err)
			}
			layers.SetTraining(f, false)
			feats := []*nn.Var{nn.NewVar(sd[c.name+".c3"]), nn.NewVar(sd[c.name+".c4"]), nn.NewVar(sd[c.name+".c5"])}
			sizes := LevelSizes(40, 56, 7)
			p := f.fpn.Forward(feats, sizes)
			cls, box := f.cls.Forward(p), f.box.Forward(p)
			for l := range 5 {
				for _, o := range []struct {
					what string
					got  *nn.Var
				}{{"class", cls[l]}, {"box", box[l]}} {
					want := sd[fmt.Sprintf("%s.%s.%d", c.name, o.what, l)]
					if !nn.SameShape(o.got.Shape(), want.Shape()) {
						t.Fatalf("%s level %d: shape %v, want %v", o.what, l, o.got.Shape(), want.Shape())
					}
					if ok, msg := fixture.Close(o.got.Value.Data(), want.Data(), 1e-4, 1e-4); !ok {
						t.Errorf("%s level %d: %s", o.what, l, msg)
					}
				}
			}
		})
	}
}

// TestFPNCellAndHeadGradients checks the gradients of one BiFPN cell (the
// first, with channel-changing resampling, on odd level sizes) and of one
// head, with each fusion, by finite differences.
func TestFPNCellAndHeadGradients(t *testing.T) {
	for _, fusion := range []Fusion{FastAttn, Attn, Sum} {
		for _, fl := range []efficientnet.Flavour{efficientnet.TF, efficientnet.PyTorch} {
			t.Run(fmt.Sprintf("%s_%s", fusion, fl), func(t *testing.T) {
				f := buildFPNHeads(t, Config{Flavour: fl, Fusion: fusion, FPNChannels: 3, FPNCells: 1, HeadRepeats: 1, NumClasses: 2}, [3]int{2, 4, 5})
				layers.SetTraining(f, false)
				rng := rand.New(rand.NewPCG(7, uint64(fusion)))
				for _, b := range layers.Buffers(f) {
					if strings.HasSuffix(b.Name, "running_var") {
						nn.Uniform(b.Tensor, 0.5, 1.5, rng)
					} else {
						nn.Normal(b.Tensor, 0, 0.2, rng)
					}
				}
				for _, p := range layers.Params(f) {
					if strings.HasSuffix(p.Name, "edge_weights") {
						p.Var.Value.CopyFrom(nntest.RandAwayFrom(rng, -0.5, 1.5, 0.1, []float32{0}, p.Var.Value.Len()))
					}
				}
				sizes := LevelSizes(40, 56, 7)
				var in []*nn.Var
				for l, ch := range []int{2, 4, 5, 3, 3} {
					sz := sizes[MinLevel+l]
					in = append(in, nn.Param(nntest.Rand(rng, -2, 2, 2, sz[0], sz[1], ch)))
				}
				cell := f.fpn.Cells[0]
				wrt := append([]*nn.Var(nil), in...)
				for _, p := range layers.Params(cell) {
					wrt = append(wrt, p.Var)
				}
				// All outputs as one vector: CheckGrad weighs and sums them in
				// float64.
				sum := func(vs []*nn.Var) *nn.Var {
					flat := make([]*nn.Var, len(vs))
					for i, v := range vs {
						flat[i] = nn.Reshape(v, -1)
					}
					return nn.Concat(0, flat...)
				}
				// Max-pools make the cell piecewise smooth: a step can move a
				// window's maximum (a kink), and float32 rounding rules out
				// small steps for the long paths through it. Hence a 1e-2
				// step with 10 % relative and 1 % (of the largest gradient)
				// absolute tolerance; a missing or wrong path is off by far
				// more. (The head below has no kinks and uses the defaults.)
				nntest.CheckGrad(t, func() *nn.Var { return sum(cell.Forward(in, sizes)) }, wrt, nntest.Options{RTol: 0.1, ATol: 1e-2})

				hin := make([]*nn.Var, 5)
				for l := range hin {
					sz := sizes[MinLevel+l]
					hin[l] = nn.Param(nntest.Rand(rng, -2, 2, 2, sz[0], sz[1], 3))
				}
				wrt = append([]*nn.Var(nil), hin...)
				for _, p := range layers.Params(f.cls) {
					wrt = append(wrt, p.Var)
				}
				nntest.CheckGrad(t, func() *nn.Var { return sum(f.cls.Forward(hin)) }, wrt, nntest.Options{})
			})
		}
	}
}
