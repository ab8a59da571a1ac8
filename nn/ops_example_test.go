package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/nn"
)

func ExampleConcat() {
	// Two NHWC feature maps joined along channels, then split again.
	a := nn.NewVar(nn.FromData([]float32{1, 2, 3, 4}, 1, 1, 2, 2))
	b := nn.NewVar(nn.FromData([]float32{9, 8}, 1, 1, 2, 1))
	y := nn.Concat(-1, a, b)
	fmt.Println(y.Shape(), y.Value.Data())
	parts := nn.Split(y, -1, 2, 1)
	fmt.Println(parts[0].Value.Data(), parts[1].Value.Data())
	// Output:
	// [1 1 2 3] [1 2 9 3 4 8]
	// [1 2 3 4] [9 8]
}

func ExampleSoftmax() {
	logits := nn.NewVar(nn.FromData([]float32{1, 1, 1, 1, 0, 0, 0, 1000}, 2, 4))
	fmt.Println(nn.Softmax(logits).Value.Data())
	// Output:
	// [0.25 0.25 0.25 0.25 0 0 0 1]
}

func ExampleDropout() {
	x := nn.NewVar(nn.Full(1, 8))
	rng := rand.New(rand.NewPCG(1, 2))
	y := nn.Dropout(x, 0.5, rng)
	// Kept elements are scaled by 1/(1-p) = 2, the others are 0.
	for _, v := range y.Value.Data() {
		if v != 0 && v != 2 {
			fmt.Println("unexpected", v)
		}
	}
	fmt.Println(nn.Dropout(x, 0, rng) == x)
	// Output:
	// true
}

func ExampleKaimingNormal() {
	// A 3×3 convolution from 16 to 64 channels, HWIO, initialised as
	// timm's EfficientNet does: normal, fan-out mode, ReLU gain.
	w := nn.New(3, 3, 16, 64)
	nn.KaimingNormal(w, nn.FanOut, nn.GainReLU, rand.New(rand.NewPCG(1, 2)))
	fanIn, fanOut := nn.Fans(w.Shape())
	fmt.Println(fanIn, fanOut)
	// Output:
	// 144 576
}

func ExampleUpsampleNearest() {
	x := nn.NewVar(nn.FromData([]float32{1, 2, 3, 4}, 1, 2, 2, 1))
	y := nn.UpsampleNearest(x, 2)
	fmt.Println(y.Shape(), y.Value.Data())
	// Output:
	// [1 4 4 1] [1 1 2 2 1 1 2 2 3 3 4 4 3 3 4 4]
}
