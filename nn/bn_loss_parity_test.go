package nn_test

import (
	"testing"

	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/nn"
)

// Parity with PyTorch 1.13 from nn/testdata/bn_loss_parity.json, made by
// tools/fixtures_bn_loss.py. Both sides compute in float32 (this package
// with float64 statistics and loss sums), so rel 1e-4 / abs 1e-5 leaves
// ample room for differences in summation order.
func loadBNLossFixture(t *testing.T) *fixture.File {
	t.Helper()
	f, err := fixture.Load("testdata/bn_loss_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBatchNormParity(t *testing.T) {
	f := loadBNLossFixture(t)
	for _, name := range []string{"pt", "tf", "pt_b1", "tf_1d"} {
		t.Run(name, func(t *testing.T) {
			p := "bn/" + name + "/"
			eps, mom := float32(f.Float(p+"eps")), float32(f.Float(p+"momentum"))
			w := nn.Param(f.T(p + "weight").Clone())
			b := nn.Param(f.T(p + "bias").Clone())
			rm, rv := f.T(p+"rm0").Clone(), f.T(p+"rv0").Clone()

			nn.NoGrad(func() {
				nn.BatchNorm(nn.NewVar(f.T(p+"x1")), w, b, nn.BNOpts{RunningMean: rm, RunningVar: rv, Training: true, Momentum: mom, Eps: eps})
			})
			x2 := nn.Param(f.T(p + "x2").Clone())
			y := nn.BatchNorm(x2, w, b, nn.BNOpts{RunningMean: rm, RunningVar: rv, Training: true, Momentum: mom, Eps: eps})
			closeTo(t, "train y", y.Value, f.T(p+"train_y"))
			backwardWith(y, f.T(p+"g"))
			closeTo(t, "train dx", x2.Grad, f.T(p+"train_dx"))
			closeTo(t, "train dweight", w.Grad, f.T(p+"train_dw"))
			closeTo(t, "train dbias", b.Grad, f.T(p+"train_db"))
			closeTo(t, "running_mean", rm, f.T(p+"rm"))
			closeTo(t, "running_var", rv, f.T(p+"rv"))

			w.ZeroGrad()
			b.ZeroGrad()
			x3 := nn.Param(f.T(p + "x3").Clone())
			y = nn.BatchNorm(x3, w, b, nn.BNOpts{RunningMean: rm, RunningVar: rv, Momentum: mom, Eps: eps})
			closeTo(t, "eval y", y.Value, f.T(p+"eval_y"))
			backwardWith(y, f.T(p+"g3"))
			closeTo(t, "eval dx", x3.Grad, f.T(p+"eval_dx"))
			closeTo(t, "eval dweight", w.Grad, f.T(p+"eval_dw"))
			closeTo(t, "eval dbias", b.Grad, f.T(p+"eval_db"))
		})
	}
}

func TestLossParity(t *testing.T) {
	f := loadBNLossFixture(t)
	var labels []int
	for _, v := range f.T("ce/labels").Data() {
		labels = append(labels, int(v))
	}
	cw, sw, soft := f.T("ce/cw").Data(), f.T("ce/sw").Data(), f.T("ce/soft")
	bt, rt := f.T("bce/t"), f.T("reg/t")
	cases := []struct {
		name string
		fn   func(x *nn.Var, r nn.Reduction) *nn.Var
	}{
		{"ce_plain", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.CrossEntropy(x, labels, nn.CEOpts{Reduction: r})
		}},
		{"ce_ls", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.CrossEntropy(x, labels, nn.CEOpts{LabelSmoothing: 0.1, Reduction: r})
		}},
		{"ce_cw", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.CrossEntropy(x, labels, nn.CEOpts{ClassWeights: cw, Reduction: r})
		}},
		{"ce_cw_ls", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.CrossEntropy(x, labels, nn.CEOpts{ClassWeights: cw, LabelSmoothing: 0.1, Reduction: r})
		}},
		{"ce_sw", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.CrossEntropy(x, labels, nn.CEOpts{Weights: sw, LabelSmoothing: 0.1, Reduction: r})
		}},
		{"ce_sw_cw", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.CrossEntropy(x, labels, nn.CEOpts{Weights: sw, ClassWeights: cw, Reduction: r})
		}},
		{"ce_soft", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.SoftCrossEntropy(x, soft, nn.CEOpts{Reduction: r})
		}},
		{"ce_soft_ls_cw", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.SoftCrossEntropy(x, soft, nn.CEOpts{ClassWeights: cw, LabelSmoothing: 0.1, Reduction: r})
		}},
		{"ce_soft_sw", func(x *nn.Var, r nn.Reduction) *nn.Var {
			return nn.SoftCrossEntropy(x, soft, nn.CEOpts{Weights: sw, Reduction: r})
		}},
		{"bce", func(x *nn.Var, r nn.Reduction) *nn.Var { return nn.BCEWithLogits(x, bt, r) }},
		{"focal_a25_g15", func(x *nn.Var, r nn.Reduction) *nn.Var { return nn.SigmoidFocalLoss(x, bt, 0.25, 1.5, r) }},
		{"focal_a25_g2", func(x *nn.Var, r nn.Reduction) *nn.Var { return nn.SigmoidFocalLoss(x, bt, 0.25, 2, r) }},
		{"focal_noalpha_g2", func(x *nn.Var, r nn.Reduction) *nn.Var { return nn.SigmoidFocalLoss(x, bt, -1, 2, r) }},
		{"huber_d01", func(x *nn.Var, r nn.Reduction) *nn.Var { return nn.Huber(x, rt, 0.1, r) }},
		{"huber_d1", func(x *nn.Var, r nn.Reduction) *nn.Var { return nn.Huber(x, rt, 1, r) }},
		{"l1", func(x *nn.Var, r nn.Reduction) *nn.Var { return nn.L1(x, rt, r) }},
		{"mse", func(x *nn.Var, r nn.Reduction) *nn.Var { return nn.MSE(x, rt, r) }},
	}
	reds := []struct {
		name string
		r    nn.Reduction
	}{{"mean", nn.ReduceMean}, {"sum", nn.ReduceSum}, {"none", nn.ReduceNone}}
	for _, c := range cases {
		p := "loss/" + c.name + "/"
		for _, red := range reds {
			t.Run(c.name+"/"+red.name, func(t *testing.T) {
				x := nn.Param(f.T(p + "x").Clone())
				y := c.fn(x, red.r)
				closeTo(t, "value", y.Value, f.T(p+"value_"+red.name))
				var up *nn.Tensor
				if red.r == nn.ReduceNone {
					up = f.T(p + "up")
				}
				backwardWith(y, up)
				closeTo(t, "grad", x.Grad, f.T(p+"grad_"+red.name))
			})
		}
	}
}
