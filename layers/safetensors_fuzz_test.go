package layers_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// FuzzParseSafetensors checks that no input makes the parser panic and that
// whatever it accepts survives a write and a second read unchanged (shape,
// every bit of the float32 data, metadata). Seeds: files written by the
// encoder, the PyTorch fixture, testdata/fuzz/FuzzParseSafetensors and a few
// broken headers. Run it with
//
//	go test -run='^$' -fuzz=FuzzParseSafetensors -fuzztime=60s ./layers/
func FuzzParseSafetensors(f *testing.F) {
	for _, tc := range []struct {
		tensors map[string]*nn.Tensor
		meta    map[string]string
	}{
		{nil, nil},
		{roundTripTensors(), map[string]string{"epoch": "7", "k": `"quoted"`}},
		{map[string]*nn.Tensor{"a": nn.FromData([]float32{1, 2, 3, 4}, 2, 2), "b": nn.New()}, nil},
	} {
		var b bytes.Buffer
		if err := layers.EncodeSafetensors(&b, tc.tensors, tc.meta); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "torch_dtypes.safetensors")); err == nil {
		f.Add(b)
	}
	for _, h := range []string{
		``, `{}`, `{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`,
		`{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F64","shape":[],"data_offsets":[2,10]}}`,
		`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`,
		`{"__metadata__":{"k":3}}`, `{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`,
		`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`,
	} {
		f.Add(rawST(h, make([]byte, 10)))
	}
	f.Add([]byte{1, 2, 3})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'})

	f.Fuzz(func(t *testing.T, file []byte) {
		tensors, meta, err := layers.ParseSafetensors(file)
		if err != nil {
			if tensors != nil || meta != nil {
				t.Fatal("results returned with an error")
			}
			return
		}
		if tensors == nil || meta == nil {
			t.Fatal("nil map without an error")
		}
		var b bytes.Buffer
		if err := layers.EncodeSafetensors(&b, tensors, meta); err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		again, meta2, err := layers.ParseSafetensors(b.Bytes())
		if err != nil {
			t.Fatalf("re-reading an accepted file: %v", err)
		}
		if len(again) != len(tensors) || len(meta2) != len(meta) {
			t.Fatalf("round trip: %d tensors, %d metadata; want %d, %d", len(again), len(meta2), len(tensors), len(meta))
		}
		for k, v := range meta {
			if meta2[k] != v {
				t.Fatalf("metadata %q: %q became %q", k, v, meta2[k])
			}
		}
		for name, x := range tensors {
			y := again[name]
			if y == nil || len(x.Shape()) != len(y.Shape()) || !nn.SameShape(x.Shape(), y.Shape()) {
				t.Fatalf("tensor %q: shape %v became %v", name, x.Shape(), y)
			}
			for i, v := range x.Data() {
				if math.Float32bits(v) != math.Float32bits(y.Data()[i]) {
					t.Fatalf("tensor %q[%d]: %g became %g", name, i, v, y.Data()[i])
				}
			}
		}
	})
}
