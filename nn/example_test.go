package nn_test

import (
	"fmt"

	"github.com/sortnet/sortnet/nn"
)

// A two-parameter model y = w·x + b, its squared error, and the gradients.
func Example() {
	w := nn.Param(nn.FromData([]float32{2}, 1))
	b := nn.Param(nn.FromData([]float32{1}, 1))
	x := nn.NewVar(nn.FromData([]float32{1, 2, 3}, 3))
	target := nn.NewVar(nn.FromData([]float32{3, 5, 8}, 3))

	y := nn.Add(nn.Mul(x, w), b)        // [3 5 7]
	diff := nn.Sub(y, target)           // [0 0 -1]
	loss := nn.Mean(nn.Mul(diff, diff)) // 1/3
	loss.Backward()

	fmt.Printf("loss %.4f\n", loss.Value.Item())
	fmt.Printf("dloss/dw %.4f, dloss/db %.4f\n", w.Grad.Item(), b.Grad.Item())
	loss.Release()
	// Output:
	// loss 0.3333
	// dloss/dw -2.0000, dloss/db -0.6667
}
