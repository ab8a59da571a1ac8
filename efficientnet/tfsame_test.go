package efficientnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// TestTFSameBlockParity checks TF-flavour MBConv blocks (stride 2, k5 and
// k3, 9×10 input: asymmetric TensorFlow "SAME" padding) against torch with
// explicit F.pad: output, input gradient and depthwise-weight gradient.
// Fixture: tools/fixtures_efficientnet.py.
func TestTFSameBlockParity(t *testing.T) {
	ts, _, err := layers.ReadSafetensors("testdata/tf_block.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{5, 3} {
		t.Run(fmt.Sprintf("k%d", k), func(t *testing.T) {
			p := fmt.Sprintf("k%d.", k)
			spec, err := DecodeBlock(fmt.Sprintf("ir_r1_k%d_s2_e6_c16_se0.25", k))
			if err != nil {
				t.Fatal(err)
			}
			bd := builder{tf: true, bn: layers.BNConfig{Eps: 1e-3}, rng: rand.New(rand.NewPCG(1, 1))}
			plan := BlockPlan{Spec: spec, In: 8, Out: 16, Mid: 48, SE: 2, Stride: 2, Act: "silu"}
			blk, err := bd.block(plan)
			if err != nil {
				t.Fatal(err)
			}
			sd := map[string]*nn.Tensor{}
			for name, v := range ts {
				if len(name) > len(p)+3 && name[:len(p)+3] == p+"sd." {
					sd[name[len(p)+3:]] = v
				}
			}
			conv, _, err := ConvertStateDict(sd)
			if err != nil {
				t.Fatal(err)
			}
			if err := layers.LoadStateDict(blk, conv, true); err != nil {
				t.Fatal(err)
			}
			layers.SetTraining(blk, false)
			x := nn.Param(ts[p+"x"].Clone())
			y := blk.Forward(x)
			closeTo(t, "y", y.Value, ts[p+"y"])
			nn.Sum(nn.Mul(y, nn.NewVar(ts[p+"dy"]))).Backward()
			closeTo(t, "dx", x.Grad, ts[p+"dx"])
			closeTo(t, "d conv_dw.weight", blk.(*MBConv).ConvDw.Weight.Grad, ts[p+"grad.conv_dw.weight"])
		})
	}
}

func closeTo(t *testing.T, what string, got, want *nn.Tensor) {
	t.Helper()
	if !nn.SameShape(got.Shape(), want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
	}
	scale := 0.0
	for _, v := range want.Data() {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if ok, msg := fixture.Close(got.Data(), want.Data(), 1e-4, 1e-4*scale); !ok {
		t.Errorf("%s: %s", what, msg)
	}
}
