package efficientnet_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// A freely scaled EfficientNet far smaller than B0, one training step and
// the feature maps of its backbone.
func Example() {
	model, err := efficientnet.New(efficientnet.Config{
		Width: 0.25, Depth: 0.25, // B0 is 1, 1
		NumClasses: 8,
		Rng:        rand.New(rand.NewPCG(1, 2)),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("parameters:", layers.CountParams(model)) // as torchvision's EfficientNet at 0.25, 0.25

	opt, err := optim.NewAdam(layers.Params(model), optim.AdamConfig{LR: 1e-3})
	if err != nil {
		panic(err)
	}
	x := nn.NewVar(nn.New(4, 64, 64, 3)) // NHWC images
	nn.Normal(x.Value, 0, 1, rand.New(rand.NewPCG(3, 4)))
	logits := model.Forward(x)
	loss := nn.CrossEntropy(logits, []int{0, 3, 5, 7}, nn.CEOpts{})
	opt.ZeroGrad()
	loss.Backward()
	opt.Step()
	loss.Release()
	fmt.Println("logits:", logits.Shape())

	layers.SetTraining(model, false)
	backbone, err := model.Features(1, 2, 3, 4)
	if err != nil {
		panic(err)
	}
	nn.NoGrad(func() {
		for i, f := range backbone.Forward(x) {
			info := backbone.Info()[i]
			fmt.Printf("%s: stride %d, %v\n", info.Module, info.Reduction, f.Shape())
		}
	})
	// Output:
	// parameters: 126180
	// logits: [4 8]
	// blocks.1: stride 4, [4 16 16 8]
	// blocks.2: stride 8, [4 8 8 16]
	// blocks.4: stride 16, [4 4 4 32]
	// blocks.6: stride 32, [4 2 2 80]
}

// The block strings of the architecture decode into typed specs.
func ExampleDecodeBlock() {
	b, err := efficientnet.DecodeBlock("ir_r2_k5_s2_e6_c40_se0.25")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d× kernel %d, stride %d, expand %g, %d channels, SE %g\n", b.Type, b.Repeats, b.Kernel, b.Stride, b.ExpandRatio, b.OutChannels, b.SERatio)
	_, err = efficientnet.DecodeBlock("ir_r2_k5_s2_e6_c40_se0.25_x1")
	fmt.Println(err)
	// Output:
	// ir: 2× kernel 5, stride 2, expand 6, 40 channels, SE 0.25
	// efficientnet: block string "ir_r2_k5_s2_e6_c40_se0.25_x1": token "x1": unknown option "x"
}

// Loading pretrained weights for fine-tuning on a new set of classes.
func ExampleLoadPretrained() {
	model, err := efficientnet.New(efficientnet.Config{Variant: "b0", Flavour: efficientnet.TF, NumClasses: 8})
	if err != nil {
		panic(err)
	}
	// timm's tf_efficientnet_b0 weights (1000 classes), e.g. the
	// model.safetensors of the Hugging Face timm/tf_efficientnet_b0.ns_jft_in1k
	// repository; NewHead keeps the fresh 8-class classifier.
	if err := efficientnet.LoadPretrained(model, "tf_efficientnet_b0.safetensors", efficientnet.LoadOptions{NewHead: true}); err != nil {
		panic(err)
	}
	p := model.Config().Preprocess() // how to prepare images for these weights
	fmt.Println(p.InputSize, p.ResizeSize, p.Interpolation, p.Mean, p.Std)
}
