package layers_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

func ExampleWriteSafetensors() {
	dir, err := os.MkdirTemp("", "sortnet-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "weights.safetensors")

	tensors := map[string]*nn.Tensor{
		"fc.weight": nn.FromData([]float32{1, 2, 3, 4, 5, 6}, 3, 2),
		"fc.bias":   nn.FromData([]float32{0.5, -0.5}, 2),
	}
	if err := layers.WriteSafetensors(path, tensors, map[string]string{"epoch": "12"}); err != nil {
		log.Fatal(err)
	}

	got, meta, err := layers.ReadSafetensors(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got["fc.weight"].Shape(), got["fc.weight"].At(2, 1))
	fmt.Println(got["fc.bias"].Data())
	fmt.Println("epoch", meta["epoch"])
	// Output:
	// [3 2] 6
	// [0.5 -0.5]
	// epoch 12
}

// affine is a small Module for the example: y = x*w + b.
type affine struct{ w, b *nn.Var }

func (m *affine) Members() layers.Members {
	return layers.Members{Params: []layers.Param{{Name: "weight", Var: m.w}, {Name: "bias", Var: m.b}}}
}

func ExampleLoadModule() {
	dir, err := os.MkdirTemp("", "sortnet-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "affine.safetensors")

	trained := &affine{w: nn.Param(nn.Full(2, 4, 3)), b: nn.Param(nn.Full(1, 3))}
	if err := layers.SaveModule(path, trained, nil); err != nil {
		log.Fatal(err)
	}

	fresh := &affine{w: nn.Param(nn.New(4, 3)), b: nn.Param(nn.New(3))}
	if err := layers.LoadModule(path, fresh, true); err != nil {
		log.Fatal(err)
	}
	fmt.Println(fresh.w.Value.At(3, 2), fresh.b.Value.Data())

	// A model with a different shape is refused, and left unchanged.
	wider := &affine{w: nn.Param(nn.New(4, 5)), b: nn.Param(nn.New(5))}
	fmt.Println(layers.LoadModule(path, wider, true) != nil)
	// Output:
	// 2 [1 1 1]
	// true
}
