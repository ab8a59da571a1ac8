package nn

import (
	"fmt"
	"math"
	"strings"
)

// Tensor is a dense float32 array: a shape and a contiguous, row-major data
// slice. Images are NHWC (channels innermost). A Tensor is a plain value
// container; autograd lives in Var.
type Tensor struct {
	shape []int
	data  []float32
	// pooled marks data that came from the buffer pool and belongs to this
	// header; only such tensors are returned to the pool by Var.Release.
	pooled bool
	// view marks a header made by an op over another tensor's data
	// (Reshape); Var.Release empties it along with its base.
	view bool
	// dead marks a tensor emptied by Var.Release.
	dead bool
}

// release recycles t's pooled data, or forgets a view's, and marks t dead.
// Tensors an op did not create (leaves, Custom values) are left alone.
func (t *Tensor) release() {
	switch {
	case t.pooled:
		Recycle(t)
	case t.view:
		t.data = nil
	default:
		return
	}
	t.dead = true
}

// released reports whether Var.Release emptied t.
func (t *Tensor) released() bool { return t.dead }

// New returns a zero-filled tensor of the given shape.
func New(shape ...int) *Tensor {
	n := checkShape("nn.New", shape)
	return &Tensor{shape: cloneInts(shape), data: make([]float32, n)}
}

// FromData wraps data (not copied) as a tensor of the given shape. It panics
// if len(data) does not equal the product of shape.
func FromData(data []float32, shape ...int) *Tensor {
	n := checkShape("nn.FromData", shape)
	if len(data) != n {
		panic(fmt.Sprintf("nn.FromData: %d values for shape %v (needs %d)", len(data), shape, n))
	}
	return &Tensor{shape: cloneInts(shape), data: data}
}

// Full returns a tensor of the given shape with every element set to v.
func Full(v float32, shape ...int) *Tensor {
	t := New(shape...)
	t.Fill(v)
	return t
}

// Empty returns a tensor of the given shape whose data comes from the
// buffer pool, with unspecified contents: the caller writes every element.
// It is what ops use for their outputs; code outside this package that
// defines its own op (Custom) can use it for a gradient it hands over with
// AccumulateGradTensor. Recycle gives it back.
func Empty(shape ...int) *Tensor {
	checkShape("nn.Empty", shape)
	return newPooled(shape...)
}

// Scalar returns a tensor of shape [1] holding v.
func Scalar(v float32) *Tensor { return &Tensor{shape: []int{1}, data: []float32{v}} }

// newPooled returns an uninitialised tensor whose data comes from the buffer
// pool. Ops use it for their outputs; callers must overwrite every element.
func newPooled(shape ...int) *Tensor {
	n := checkShape("nn", shape)
	return &Tensor{shape: cloneInts(shape), data: getBuf(n), pooled: true}
}

// newPooledZero is newPooled with the data zeroed.
func newPooledZero(shape ...int) *Tensor {
	t := newPooled(shape...)
	clear(t.data)
	return t
}

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("%s: negative dimension in shape %v", op, shape))
		}
		if d != 0 && n > math.MaxInt/d {
			panic(fmt.Sprintf("%s: shape %v has too many elements", op, shape))
		}
		n *= d
	}
	return n
}

func cloneInts(s []int) []int { return append(make([]int, 0, len(s)), s...) }

// Shape returns the tensor's shape. The slice belongs to the tensor: do not
// modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Data returns the underlying data slice, shared with the tensor.
func (t *Tensor) Data() []float32 { return t.data }

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.data) }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Reshape returns a tensor that shares t's data with a new shape. One
// dimension may be -1 and is then inferred. It panics if the sizes differ.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	return &Tensor{shape: resolveShape("nn.Reshape", t.shape, len(t.data), shape), data: t.data}
}

func resolveShape(op string, from []int, n int, shape []int) []int {
	out := cloneInts(shape)
	infer, known := -1, 1
	for i, d := range out {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("%s: %v to %v: bad dimension %d", op, from, shape, d))
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			panic(fmt.Sprintf("%s: cannot reshape %v (%d elements) to %v", op, from, n, shape))
		}
		out[infer] = n / known
		known = n
	}
	if known != n {
		panic(fmt.Sprintf("%s: cannot reshape %v (%d elements) to %v", op, from, n, shape))
	}
	return out
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{shape: cloneInts(t.shape), data: append([]float32(nil), t.data...)}
}

// CopyFrom copies src's data into t. The shapes must have the same number of
// elements.
func (t *Tensor) CopyFrom(src *Tensor) {
	if len(src.data) != len(t.data) {
		panic(fmt.Sprintf("nn.Tensor.CopyFrom: destination %v, source %v", t.shape, src.shape))
	}
	copy(t.data, src.data)
}

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.data {
		t.data[i] = v
	}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.data) }

// Offset returns the flat index of the element at idx (one index per
// dimension), panicking if it is out of range.
func (t *Tensor) Offset(idx ...int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("nn.Tensor: %d indices for shape %v", len(idx), t.shape))
	}
	off := 0
	for i, x := range idx {
		if x < 0 || x >= t.shape[i] {
			panic(fmt.Sprintf("nn.Tensor: index %v out of range for shape %v", idx, t.shape))
		}
		off = off*t.shape[i] + x
	}
	return off
}

// At returns the element at idx.
func (t *Tensor) At(idx ...int) float32 { return t.data[t.Offset(idx...)] }

// Set stores v at idx.
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.Offset(idx...)] = v }

// Item returns the single value of a one-element tensor.
func (t *Tensor) Item() float32 {
	if len(t.data) != 1 {
		panic(fmt.Sprintf("nn.Tensor.Item: shape %v has %d elements", t.shape, len(t.data)))
	}
	return t.data[0]
}

// String prints the shape and up to the first 8 values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v[", t.shape)
	for i, v := range t.data {
		if i == 8 {
			fmt.Fprintf(&b, " … (%d more)", len(t.data)-8)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.4g", v)
	}
	b.WriteByte(']')
	return b.String()
}

// SameShape reports whether a and b are equal shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
