package optim_test

import (
	"fmt"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// Train a parameter vector to minimise the quadratic ‖x - target‖² with
// Adam, a cosine schedule and gradient clipping.
func Example() {
	x := nn.Param(nn.FromData([]float32{0, 0, 0}, 3))
	target := nn.NewVar(nn.FromData([]float32{1, -2, 0.5}, 3))
	params := []layers.Param{{Name: "x", Var: x}}

	opt, err := optim.NewAdam(params, optim.AdamConfig{LR: 0.1})
	if err != nil {
		panic(err)
	}
	sched := optim.Cosine{Total: 200, Warmup: 10, WarmupStart: 0.1, Min: 0.01}
	for step := range 200 {
		optim.Apply(opt, sched, float64(step))
		d := nn.Sub(x, target)
		loss := nn.Sum(nn.Mul(d, d))
		loss.Backward()
		optim.ClipGradNorm(params, 10)
		opt.Step()
		opt.ZeroGrad()
		if step%50 == 0 {
			fmt.Printf("step %3d  loss %.4f  lr %.4f\n", step, loss.Value.Item(), opt.LR())
		}
		loss.Release()
	}
	fmt.Printf("x = [%.3f %.3f %.3f]\n", x.Value.Data()[0], x.Value.Data()[1], x.Value.Data()[2])
	// Output:
	// step   0  loss 5.2500  lr 0.0100
	// step  50  loss 0.0459  lr 0.0896
	// step 100  loss 0.0001  lr 0.0546
	// step 150  loss 0.0000  lr 0.0170
	// x = [1.000 -2.000 0.500]
}
