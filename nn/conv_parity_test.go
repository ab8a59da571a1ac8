package nn_test

import (
	"testing"

	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/nn"
)

// Parity with PyTorch (float64 reference) from nn/testdata/conv_parity.json,
// written by tools/fixtures_conv.py.

func loadConvParity(t *testing.T) *fixture.File {
	t.Helper()
	f, err := fixture.Load("testdata/conv_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConv2dParityPyTorch(t *testing.T) {
	f := loadConvParity(t)
	for _, c := range []struct {
		name      string
		depthwise bool
		opts      nn.Conv2dOpts
	}{
		{"grouped", false, nn.Conv2dOpts{Groups: 2, Padding: nn.Pad(1)}},
		{"strided", false, nn.Conv2dOpts{Stride: 2, Padding: nn.Pad(1)}},
		{"depthwise", true, nn.Conv2dOpts{Stride: 2, Padding: nn.SamePadding()}},
		{"dilated", false, nn.Conv2dOpts{Dilation: 2, Padding: nn.Pad(2)}},
		{"stem_same", false, nn.Conv2dOpts{Stride: 2, Padding: nn.SamePadding()}},
		{"grouped_same", false, nn.Conv2dOpts{Stride: 2, Groups: 2, Padding: nn.SamePadding()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := nn.Param(f.T(c.name + ".x").Clone())
			w := nn.Param(f.T(c.name + ".w").Clone())
			var y *nn.Var
			if c.depthwise {
				y = nn.DepthwiseConv2d(x, w, c.opts)
			} else {
				y = nn.Conv2d(x, w, c.opts)
			}
			closeTo(t, "y", y.Value, f.T(c.name+".y"))
			backwardWith(y, f.T(c.name+".dy"))
			closeTo(t, "dx", x.Grad, f.T(c.name+".dx"))
			closeTo(t, "dw", w.Grad, f.T(c.name+".dw"))
		})
	}
}

func TestPoolParityPyTorch(t *testing.T) {
	f := loadConvParity(t)
	t.Run("maxpool_same", func(t *testing.T) {
		x := nn.Param(f.T("maxpool.x").Clone())
		y := nn.MaxPool2d(x, 3, 2, nn.SamePadding())
		closeTo(t, "y", y.Value, f.T("maxpool.y"))
		backwardWith(y, f.T("maxpool.dy"))
		closeTo(t, "dx", x.Grad, f.T("maxpool.dx"))
	})
	for _, c := range []struct {
		tag, dy string
		pad     nn.Padding
		inc     bool
	}{
		{"inc", "dy", nn.Pad(1), true},
		{"exc", "dy", nn.Pad(1), false},
		{"same", "dy_same", nn.SamePadding(), false},
	} {
		t.Run("avgpool_"+c.tag, func(t *testing.T) {
			x := nn.Param(f.T("avgpool.x").Clone())
			y := nn.AvgPool2d(x, 3, 2, c.pad, c.inc)
			closeTo(t, "y", y.Value, f.T("avgpool.y_"+c.tag))
			backwardWith(y, f.T("avgpool."+c.dy))
			closeTo(t, "dx", x.Grad, f.T("avgpool.dx_"+c.tag))
		})
	}
}
