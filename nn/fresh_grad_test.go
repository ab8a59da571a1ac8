package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/kernels"
	"github.com/sortnet/sortnet/nn/nntest"
)

// TestFreshGradients checks the ops that write their input's gradient into
// a fresh buffer (Var.gradOut) rather than add it to a zeroed one: each op
// runs on a leaf x (zeroed gradient, the adding path) and on h = x + 0,
// whose gradient buffer the op then takes fresh from the pool — filled
// with NaN by TestMain, so an element left unwritten shows. x's gradient
// must come out finite and the same, bit for bit, under every kernel
// implementation.
func TestFreshGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	param := func(shape ...int) *nn.Var { return nn.Param(nntest.Rand(rng, -1, 1, shape...)) }
	w1x1, w3x3 := param(1, 1, 6, 10), param(3, 3, 6, 5)
	dw3, dw5 := param(3, 3, 6), param(5, 5, 6)
	gamma, beta := param(6), param(6)
	se := nn.NewVar(nntest.Rand(rng, -1, 1, 2, 1, 1, 6))
	other := nn.NewVar(nntest.Rand(rng, -1, 1, 2, 9, 11, 6))
	fusion := param(2)
	cases := []struct {
		name string
		op   func(h *nn.Var) *nn.Var
	}{
		{"SiLU", nn.SiLU},
		{"Sigmoid", nn.Sigmoid},
		{"pointwise", func(h *nn.Var) *nn.Var { return nn.Conv2d(h, w1x1, nn.Conv2dOpts{}) }},
		{"3x3", func(h *nn.Var) *nn.Var { return nn.Conv2d(h, w3x3, nn.Conv2dOpts{Padding: nn.Pad(1)}) }},
		{"depthwise3x3", func(h *nn.Var) *nn.Var {
			return nn.DepthwiseConv2d(h, dw3, nn.Conv2dOpts{Padding: nn.Pad(1)})
		}},
		{"depthwise5x5s2", func(h *nn.Var) *nn.Var {
			return nn.DepthwiseConv2d(h, dw5, nn.Conv2dOpts{Stride: 2, Padding: nn.SamePadding()})
		}},
		{"BatchNorm", func(h *nn.Var) *nn.Var {
			return nn.BatchNorm(h, gamma, beta, nn.BNOpts{Training: true, Eps: 1e-3})
		}},
		{"ChannelScale", func(h *nn.Var) *nn.Var { return nn.Mul(h, se) }},
		{"Mul", func(h *nn.Var) *nn.Var { return nn.Mul(h, other) }},
		{"Add", func(h *nn.Var) *nn.Var { return nn.Add(other, h) }},
		{"WeightedSum", func(h *nn.Var) *nn.Var { return nn.WeightedSum([]*nn.Var{other, h}, fusion) }},
		{"AccumulateGrad", func(h *nn.Var) *nn.Var { // a Custom op: y = 3h
			y := h.Value.Clone()
			for i := range y.Data() {
				y.Data()[i] *= 3
			}
			return nn.Custom("triple", y, func(g *nn.Tensor) {
				gh := g.Clone()
				for i := range gh.Data() {
					gh.Data()[i] *= 3
				}
				h.AccumulateGrad(gh.Data())
			}, h)
		}},
		{"AccumulateGradTensor", func(h *nn.Var) *nn.Var { // y = 3h, its gradient handed over
			y := h.Value.Clone()
			for i := range y.Data() {
				y.Data()[i] *= 3
			}
			return nn.Custom("triple", y, func(g *nn.Tensor) {
				gh := nn.Empty(g.Shape()...)
				for i, v := range g.Data() {
					gh.Data()[i] = 3 * v
				}
				h.AccumulateGradTensor(gh)
			}, h)
		}},
	}
	prev := kernels.Impl()
	defer kernels.Use(prev)
	for _, impl := range kernels.Available() {
		if err := kernels.Use(impl); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			x := nntest.Rand(rng, -2, 2, 2, 9, 11, 6)
			var grads [2][]float32
			for i := range grads {
				xv := nn.Param(x.Clone())
				h := xv
				if i == 1 {
					h = nn.Add(xv, nn.NewVar(nn.New(1)))
				}
				y := c.op(h)
				r := nn.NewVar(nntest.Rand(rand.New(rand.NewPCG(1, 2)), -1, 1, y.Shape()...))
				loss := nn.Sum(nn.Mul(y, r))
				loss.Backward()
				grads[i] = xv.Grad.Data()
				loss.Release()
			}
			for j, want := range grads[0] {
				if math.IsNaN(float64(want)) || math.IsInf(float64(want), 0) {
					t.Fatalf("%s/%s: x.Grad[%d] = %v adding to a zeroed buffer", impl, c.name, j, want)
				}
				if got := grads[1][j]; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s/%s: x.Grad[%d] = %v through a fresh gradient buffer, %v adding to a zeroed one", impl, c.name, j, got, want)
				}
			}
		}
	}
}

func TestAccumulateGradTensorShape(t *testing.T) {
	x := nn.Param(nn.New(2, 3))
	defer func() {
		msg, _ := recover().(string)
		if msg != "nn.Var.AccumulateGradTensor: gradient of shape [3 2] for shape [2 3]" {
			t.Fatalf("panic %q", msg)
		}
	}()
	x.AccumulateGradTensor(nn.New(3, 2))
}
