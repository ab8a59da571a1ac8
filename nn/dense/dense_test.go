package dense_test

// Importing nn/dense pulls in gorgonia.org/tensor and, through it,
// go4.org/unsafe/assume-no-moving-gc, whose init panics on Go releases it does
// not know unless that module is new enough (see go.mod). This test binary
// importing the package is the check: with a too-old version every test here
// fails before it starts.

import (
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/dense"
)

// seq returns 0, 1, 2, ... as float32.
func seq(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i)
	}
	return s
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// index returns the multi-index of flat row-major offset off in shape.
func index(shape []int, off int) []int {
	idx := make([]int, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		idx[i] = off % shape[i]
		off /= shape[i]
	}
	return idx
}

var shapes = []struct {
	name  string
	shape []int
}{
	{"scalar", []int{}},
	{"one", []int{1}},
	{"vector", []int{7}},
	{"matrix", []int{2, 3}},
	{"row", []int{1, 5}},
	{"column", []int{5, 1}},
	{"nhwc", []int{2, 3, 4, 5}},
	{"batch1", []int{1, 3, 1, 2}},
	{"empty", []int{2, 0, 3}},
}

// checkShared checks that a and d are the same n elements in the same
// memory, in the same row-major order, and that writes through either are
// seen through the other.
func checkShared(t *testing.T, a *nn.Tensor, d *tensor.Dense) {
	t.Helper()
	shape := a.Shape()
	n := prod(shape)
	if a.Len() != n {
		t.Fatalf("nn tensor %v has %d elements, want %d", shape, a.Len(), n)
	}
	if got := d.Float32s(); len(got) < n {
		t.Fatalf("dense %v holds %d values, want at least %d", d.Shape(), len(got), n)
	}
	if n == 0 {
		return
	}
	if &a.Data()[0] != &d.Float32s()[0] {
		t.Fatalf("not shared: &nn.Data()[0] = %p, &dense.Float32s()[0] = %p", &a.Data()[0], &d.Float32s()[0])
	}
	at := func(idx []int) float32 {
		if d.IsScalar() {
			return d.ScalarValue().(float32)
		}
		v, err := d.At(idx...)
		if err != nil {
			t.Fatalf("dense.At(%v): %v", idx, err)
		}
		return v.(float32)
	}
	for i := range n {
		idx := index(shape, i)
		// nn -> dense
		a.Set(float32(1000+i), idx...)
		if got := at(idx); got != float32(1000+i) {
			t.Fatalf("wrote %v at %v through nn, dense reads %v", 1000+i, idx, got)
		}
		// dense -> nn
		if d.IsScalar() {
			d.Float32s()[0] = float32(-i - 1)
		} else if err := d.SetAt(float32(-i-1), idx...); err != nil {
			t.Fatalf("dense.SetAt(%v): %v", idx, err)
		}
		if got := a.At(idx...); got != float32(-i-1) {
			t.Fatalf("wrote %v at %v through dense, nn reads %v", -i-1, idx, got)
		}
	}
}

func TestToDense(t *testing.T) {
	for _, c := range shapes {
		t.Run(c.name, func(t *testing.T) {
			n := prod(c.shape)
			a := nn.FromData(seq(n), c.shape...)
			d := dense.ToDense(a)
			if d.Dtype() != tensor.Float32 {
				t.Fatalf("dtype %v, want float32", d.Dtype())
			}
			if !slices.Equal([]int(d.Shape()), c.shape) {
				t.Fatalf("shape %v, want %v", d.Shape(), c.shape)
			}
			if len(c.shape) == 0 != d.IsScalar() {
				t.Fatalf("shape %v: IsScalar() = %v", d.Shape(), d.IsScalar())
			}
			if !d.DataOrder().IsRowMajor() || !d.DataOrder().IsContiguous() || d.IsMaterializable() ||
				n > 0 && d.RequiresIterator() { // gorgonia reports an empty tensor as masked, hence "requires an iterator"
				t.Fatalf("layout %v (view %v, materializable %v): want contiguous row-major", d.DataOrder(), d.IsView(), d.IsMaterializable())
			}
			if len(c.shape) > 0 && &d.Shape()[0] == &a.Shape()[0] {
				t.Fatal("shape slice shared, want copied")
			}
			if got := d.Float32s(); len(got) != n || !slices.Equal(got, seq(n)) {
				t.Fatalf("values %v, want %v", got, seq(n))
			}
			checkShared(t, a, d)
		})
	}
}

func TestToDenseLargerCapacity(t *testing.T) {
	buf := seq(10)
	a := nn.FromData(buf[:6], 2, 3)
	d := dense.ToDense(a)
	if got := d.Float32s(); len(got) != 6 || cap(got) != 6 {
		t.Fatalf("dense backing has len %d cap %d, want 6 and 6", len(got), cap(got))
	}
	checkShared(t, a, d)
}

func TestToDenseNilData(t *testing.T) {
	d := dense.ToDense(nn.FromData(nil, 0, 4))
	if !slices.Equal([]int(d.Shape()), []int{0, 4}) || len(d.Float32s()) != 0 {
		t.Fatalf("got shape %v with %d values, want (0, 4) with none", d.Shape(), len(d.Float32s()))
	}
}

func TestToDenseNilPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "dense.ToDense") {
			t.Fatalf("recovered %v, want a dense.ToDense panic", r)
		}
	}()
	dense.ToDense(nil)
}

func TestFromDense(t *testing.T) {
	for _, c := range shapes {
		t.Run(c.name, func(t *testing.T) {
			n := prod(c.shape)
			d := tensor.New(tensor.WithShape(c.shape...), tensor.WithBacking(seq(n)))
			a, err := dense.FromDense(d)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shape(), c.shape) {
				t.Fatalf("shape %v, want %v", a.Shape(), c.shape)
			}
			if len(c.shape) > 0 && &d.Shape()[0] == &a.Shape()[0] {
				t.Fatal("shape slice shared, want copied")
			}
			if !slices.Equal(a.Data(), seq(n)) {
				t.Fatalf("values %v, want %v", a.Data(), seq(n))
			}
			checkShared(t, a, d)
		})
	}
}

// TestFromDenseAccepted covers Dense tensors not made from a Go slice, and
// views and transposes whose memory is nevertheless contiguous row-major.
func TestFromDenseAccepted(t *testing.T) {
	cases := []struct {
		name string
		make func() *tensor.Dense
		want []float32 // values in row-major order
	}{
		{"allocated by gorgonia", func() *tensor.Dense {
			d := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2, 3))
			copy(d.Float32s(), seq(6))
			return d
		}, seq(6)},
		{"gorgonia scalar", func() *tensor.Dense { return tensor.New(tensor.FromScalar(float32(3))) }, []float32{3}},
		{"leading rows view", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(seq(12)))
			return mustSlice(t, d, tensor.S(1, 3))
		}, []float32{3, 4, 5, 6, 7, 8}},
		{"one row view", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(seq(12)))
			return mustSlice(t, d, tensor.S(2))
		}, []float32{6, 7, 8}},
		{"transposed in place", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(seq(6)))
			if err := d.T(); err != nil {
				t.Fatal(err)
			}
			if err := d.Transpose(); err != nil {
				t.Fatal(err)
			}
			return d
		}, []float32{0, 3, 1, 4, 2, 5}},
		{"transposed row vector", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(1, 4), tensor.WithBacking(seq(4)))
			if err := d.T(); err != nil {
				t.Fatal(err)
			}
			return d
		}, seq(4)},
		{"materialized view", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(seq(12)))
			return mustSlice(t, d, nil, tensor.S(1)).Materialize().(*tensor.Dense)
		}, []float32{1, 4, 7, 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.make()
			a, err := dense.FromDense(d)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shape(), []int(d.Shape())) {
				t.Fatalf("shape %v, want %v", a.Shape(), d.Shape())
			}
			if !slices.Equal(a.Data(), c.want) {
				t.Fatalf("values %v, want %v", a.Data(), c.want)
			}
			// The values must also be the ones d itself reports.
			for i := range a.Len() {
				if d.IsScalar() {
					break
				}
				idx := index(a.Shape(), i)
				v, err := d.At(idx...)
				if err != nil {
					t.Fatal(err)
				}
				if v.(float32) != a.At(idx...) {
					t.Fatalf("at %v: dense %v, nn %v", idx, v, a.At(idx...))
				}
			}
			checkShared(t, a, d)
		})
	}
}

func mustSlice(t *testing.T, d *tensor.Dense, s ...tensor.Slice) *tensor.Dense {
	t.Helper()
	v, err := d.Slice(s...)
	if err != nil {
		t.Fatal(err)
	}
	return v.(*tensor.Dense)
}

func TestFromDenseErrors(t *testing.T) {
	cases := []struct {
		name string
		make func() *tensor.Dense
		want string // in the error message
	}{
		{"nil", func() *tensor.Dense { return nil }, "nil *tensor.Dense"},
		{"uninitialised", func() *tensor.Dense { return new(tensor.Dense) }, "no dtype"},
		{"float64", func() *tensor.Dense {
			return tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{1, 2, 3, 4}))
		}, "dtype float64"},
		{"int", func() *tensor.Dense { return tensor.New(tensor.WithShape(3), tensor.WithBacking([]int{1, 2, 3})) }, "dtype int"},
		{"float64 scalar", func() *tensor.Dense { return tensor.New(tensor.FromScalar(2.5)) }, "dtype float64"},
		{"transposed view", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(seq(6)))
			if err := d.T(); err != nil {
				t.Fatal(err)
			}
			return d
		}, "transposed view (strides [1 3]); call d.Materialize()"},
		{"column view", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(seq(12)))
			return mustSlice(t, d, nil, tensor.S(1))
		}, "strided view (strides [3], not contiguous); call d.Materialize()"},
		{"stepped rows view", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(seq(12)))
			return mustSlice(t, d, tensor.S(0, 4, 2))
		}, "strided view (strides [6 1]"},
		{"inner columns view", func() *tensor.Dense {
			d := tensor.New(tensor.WithShape(2, 4), tensor.WithBacking(seq(8)))
			return mustSlice(t, d, nil, tensor.S(1, 3))
		}, "strided view (strides [4 1]"},
		{"clone of a column view", func() *tensor.Dense {
			// Clone drops the view flag but keeps the strides.
			d := tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(seq(12)))
			return mustSlice(t, d, nil, tensor.S(1)).Clone().(*tensor.Dense)
		}, "has strides [3], not the row-major contiguous strides [1]"},
		{"column-major", func() *tensor.Dense {
			return tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(seq(6)), tensor.AsFortran(nil))
		}, "column-major"},
		{"masked", func() *tensor.Dense {
			return tensor.New(tensor.WithShape(3), tensor.WithBacking(seq(3), []bool{false, true, false}))
		}, "has a mask"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := dense.FromDense(c.make())
			if err == nil {
				t.Fatalf("no error, got %v", a)
			}
			if a != nil {
				t.Errorf("got tensor %v with the error", a)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "dense.FromDense: ") || !strings.Contains(msg, c.want) {
				t.Fatalf("error %q, want one containing %q", msg, c.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range shapes {
		t.Run(c.name, func(t *testing.T) {
			n := prod(c.shape)

			// nn -> dense -> nn
			a := nn.FromData(seq(n), c.shape...)
			b, err := dense.FromDense(dense.ToDense(a))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b.Shape(), c.shape) || len(b.Data()) != n {
				t.Fatalf("nn round trip: shape %v with %d values, want %v with %d", b.Shape(), len(b.Data()), c.shape, n)
			}
			if n > 0 {
				if &a.Data()[0] != &b.Data()[0] {
					t.Fatal("nn round trip copied the data")
				}
				b.Data()[n-1] = 42
				if a.Data()[n-1] != 42 {
					t.Fatal("write through the round-tripped tensor not seen")
				}
			}

			// dense -> nn -> dense
			d := tensor.New(tensor.WithShape(c.shape...), tensor.WithBacking(seq(n)))
			m, err := dense.FromDense(d)
			if err != nil {
				t.Fatal(err)
			}
			e := dense.ToDense(m)
			if !slices.Equal([]int(e.Shape()), []int(d.Shape())) || e.IsScalar() != d.IsScalar() {
				t.Fatalf("dense round trip: shape %v, want %v", e.Shape(), d.Shape())
			}
			if n > 0 {
				if &d.Float32s()[0] != &e.Float32s()[0] {
					t.Fatal("dense round trip copied the data")
				}
				e.Float32s()[0] = -42
				if d.Float32s()[0] != -42 {
					t.Fatal("write through the round-tripped dense not seen")
				}
			}
		})
	}
}
