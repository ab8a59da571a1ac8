package layers_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// Build a small classifier, train it for a few steps and list its
// parameters — the loop the README shows.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	model := layers.NewSequential(
		layers.NewConv2d(3, 16, 3, layers.ConvConfig{Stride: 2, Padding: nn.Pad(1)}, rng),
		layers.NewBatchNorm2d(16, layers.BNConfig{}),
		layers.SiLU{},
		layers.GlobalAvgPool{},
		layers.NewLinear(16, 2, rng),
	)
	opt, err := optim.NewAdam(layers.Params(model), optim.AdamConfig{LR: 1e-2})
	if err != nil {
		panic(err)
	}
	x := nn.New(4, 8, 8, 3) // two dark and two bright images
	for i := range x.Data() {
		if i >= x.Len()/2 {
			x.Data()[i] = 1
		}
	}
	labels := []int{0, 0, 1, 1}
	var first, last float32
	for step := 0; step < 20; step++ {
		loss := nn.CrossEntropy(model.Forward(nn.NewVar(x)), labels, nn.CEOpts{})
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		if step == 0 {
			first = loss.Value.Item()
		}
		last = loss.Value.Item()
		loss.Release() // recycle this step's buffers
	}
	fmt.Println("loss went down:", last < first/2)
	for _, p := range layers.Params(model) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	// Output:
	// loss went down: true
	// 0.weight [3 3 3 16]
	// 1.weight [16]
	// 1.bias [16]
	// 4.weight [16 2]
	// 4.bias [2]
}
