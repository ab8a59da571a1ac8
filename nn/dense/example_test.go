package dense_test

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/dense"
)

func ExampleToDense() {
	x := nn.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	d := dense.ToDense(x)

	// The Dense and the Tensor share memory: a write through one is seen by
	// the other.
	if err := d.SetAt(float32(60), 1, 2); err != nil {
		panic(err)
	}
	fmt.Println(d.Shape(), d.Dtype())
	fmt.Println(x.At(1, 2))
	// Output:
	// (2, 3) float32
	// 60
}

func ExampleFromDense() {
	d := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))
	x, err := dense.FromDense(d)
	if err != nil {
		panic(err)
	}
	x.Set(40, 1, 1)
	fmt.Println(x.Shape(), d.Float32s())

	// A transposed view is not row-major memory: FromDense refuses it and
	// says how to get a copy that is.
	if err := d.T(); err != nil {
		panic(err)
	}
	_, err = dense.FromDense(d)
	fmt.Println(err)
	x2, err := dense.FromDense(d.Materialize().(*tensor.Dense))
	if err != nil {
		panic(err)
	}
	fmt.Println(x2.Data())
	// Output:
	// [2 2] [1 2 3 40]
	// dense.FromDense: tensor (2, 2) is a transposed view (strides [1 2]); call d.Materialize() for a row-major copy first (or d.Transpose() to rearrange d in place)
	// [1 3 2 40]
}
