package dense

import (
	"errors"
	"fmt"

	"gorgonia.org/tensor"

	"github.com/sortnet/sortnet/nn"
)

// ToDense returns a float32 *tensor.Dense of t's shape, in row-major order,
// whose backing array is t.Data(): nothing is copied, and writes through
// either tensor are seen by the other (see the package documentation on
// aliasing). The shape is copied. A rank-0 tensor becomes a gorgonia scalar.
// It panics if t is nil.
func ToDense(t *nn.Tensor) *tensor.Dense {
	if t == nil {
		panic("dense.ToDense: nil *nn.Tensor")
	}
	data := t.Data()
	if data == nil {
		// gorgonia treats a nil backing as "allocate one"; an empty slice is
		// the same zero-length tensor without that detour.
		data = []float32{}
	}
	// Cap the slice at its length so gorgonia can never reach past the
	// tensor's own elements into the rest of a larger (pooled) buffer.
	data = data[:len(data):len(data)]
	return tensor.New(tensor.WithShape(t.Shape()...), tensor.WithBacking(data))
}

// FromDense returns an *nn.Tensor that shares d's memory: nothing is copied,
// and writes through either tensor are seen by the other (see the package
// documentation on aliasing). The shape is copied; a gorgonia scalar (shape
// ()) becomes a rank-0 nn.Tensor.
//
// d must hold float32 values laid out contiguously in row-major order. A
// contiguous view (for example a range of leading rows taken with
// d.Slice) is accepted and aliases the memory of the tensor it views. FromDense
// returns an error, and leaves d untouched, for a nil or uninitialised d,
// another dtype, a strided or transposed view (call d.Materialize() for a
// contiguous copy first), a column-major tensor, a masked tensor, and memory
// that Go cannot access.
func FromDense(d *tensor.Dense) (*nn.Tensor, error) {
	if d == nil {
		return nil, errors.New("dense.FromDense: nil *tensor.Dense")
	}
	shape := d.Shape()
	dt := d.Dtype()
	if dt.Type == nil {
		return nil, fmt.Errorf("dense.FromDense: tensor %v has no dtype (uninitialised; make it with tensor.New)", shape)
	}
	if dt != tensor.Float32 {
		return nil, fmt.Errorf("dense.FromDense: tensor %v has dtype %v; nn.Tensor holds float32 only, so convert the values into a float32 tensor first", shape, dt)
	}
	if !d.IsNativelyAccessible() {
		return nil, fmt.Errorf("dense.FromDense: tensor %v lives in memory Go cannot access (engine %T); copy it to host memory first", shape, d.Engine())
	}
	if len(d.Mask()) > 0 {
		return nil, fmt.Errorf("dense.FromDense: tensor %v has a mask, which nn.Tensor cannot carry; drop it (d.SetMask(nil)) or use d.Filled(...) for a copy with the masked values replaced", shape)
	}

	n := 1
	for _, x := range shape {
		n *= x
	}
	if n > 0 && !rowMajor(shape, d.Strides()) {
		return nil, layoutError(d)
	}
	data := d.Float32s()
	if len(data) < n {
		return nil, fmt.Errorf("dense.FromDense: tensor %v holds %d values, its shape needs %d", shape, len(data), n)
	}
	return nn.FromData(data[:n:n], shape...), nil
}

// rowMajor reports whether strides address shape's elements contiguously in
// row-major order. The stride of a dimension of size 1 is never used to
// address an element, so it may be anything.
func rowMajor(shape tensor.Shape, strides []int) bool {
	if len(strides) != len(shape) {
		return false
	}
	want := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && strides[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}

// layoutError explains why d's layout is not a contiguous row-major one and
// what to do about it.
func layoutError(d *tensor.Dense) error {
	shape, strides := d.Shape(), d.Strides()
	switch {
	case d.DataOrder().IsColMajor():
		return fmt.Errorf("dense.FromDense: tensor %v is column-major (Fortran order, strides %v); nn.Tensor is row-major, so copy the values into a row-major tensor first", shape, strides)
	case d.IsView():
		return fmt.Errorf("dense.FromDense: tensor %v is a strided view (strides %v, not contiguous); call d.Materialize() for a contiguous copy first", shape, strides)
	case d.IsMaterializable():
		return fmt.Errorf("dense.FromDense: tensor %v is a transposed view (strides %v); call d.Materialize() for a row-major copy first (or d.Transpose() to rearrange d in place)", shape, strides)
	default:
		return fmt.Errorf("dense.FromDense: tensor %v has strides %v, not the row-major contiguous strides %v; copy the values into a new tensor first", shape, strides, shape.CalcStrides())
	}
}
