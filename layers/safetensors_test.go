package layers_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// stTensor is one tensor of a hand-built safetensors file.
type stTensor struct {
	name, dtype string
	shape       []int
	data        []byte
}

// buildST assembles a safetensors file from tensors laid out back to back in
// the given order, with an optional raw __metadata__ JSON value.
func buildST(t *testing.T, meta string, tensors ...stTensor) []byte {
	t.Helper()
	var h bytes.Buffer
	h.WriteByte('{')
	if meta != "" {
		h.WriteString(`"__metadata__":` + meta)
	}
	var buf []byte
	for i, x := range tensors {
		if i > 0 || meta != "" {
			h.WriteByte(',')
		}
		name, _ := json.Marshal(x.name)
		shape, _ := json.Marshal(x.shape)
		if x.shape == nil {
			shape = []byte("[]")
		}
		h.WriteString(string(name) + `:{"dtype":"` + x.dtype + `","shape":` + string(shape) +
			`,"data_offsets":[` + itoa(len(buf)) + `,` + itoa(len(buf)+len(x.data)) + `]}`)
		buf = append(buf, x.data...)
	}
	h.WriteByte('}')
	return rawST(h.String(), buf)
}

// rawST assembles a file from a literal header and buffer.
func rawST(header string, buf []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, buf...)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func le16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func le32f(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func le32u(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func le64(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

// sameBits reports whether two float32 slices are identical bit for bit.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func checkSame(t *testing.T, got, want map[string]*nn.Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("tensor %q missing", name)
		case !nn.SameShape(g.Shape(), w.Shape()) || len(g.Shape()) != len(w.Shape()):
			t.Errorf("tensor %q: shape %v, want %v", name, g.Shape(), w.Shape())
		case !sameBits(g.Data(), w.Data()):
			t.Errorf("tensor %q: data %v, want %v", name, g.Data(), w.Data())
		}
	}
}

func roundTripTensors() map[string]*nn.Tensor {
	nanPayload := math.Float32frombits(0x7fc01234)
	return map[string]*nn.Tensor{
		"conv_stem.weight":   nn.FromData([]float32{1, -2, 3.5, 0, float32(math.Copysign(0, -1)), 1e-45, float32(math.Inf(1)), nanPayload, -1e38, 0.1, 2, 3}, 1, 2, 2, 3),
		"bn1.running_var":    nn.FromData([]float32{0.5, 0.25, 4}, 3),
		"scalar":             nn.FromData([]float32{42}),
		"one":                nn.Scalar(-7),
		"empty":              nn.New(0),
		"empty.inner":        nn.New(2, 0, 3),
		"blocks.1.0.conv_dw": nn.Full(0.125, 3, 3, 5),
		`quote"and\slash/é`:  nn.FromData([]float32{9}, 1),
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		meta map[string]string
	}{
		{"no metadata", nil},
		{"metadata", map[string]string{"epoch": "3", "format": "pt", "": "", "json": `{"a": [1, 2]}`, "unicode": "é→✓", "ctl": "a\nb\tc\x00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "model.safetensors")
			want := roundTripTensors()
			if err := layers.WriteSafetensors(path, want, tc.meta); err != nil {
				t.Fatal(err)
			}
			got, meta, err := layers.ReadSafetensors(path)
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, got, want)
			if meta == nil {
				t.Error("metadata map is nil")
			}
			if len(meta) != len(tc.meta) {
				t.Errorf("metadata %q, want %q", meta, tc.meta)
			}
			for k, v := range tc.meta {
				if meta[k] != v {
					t.Errorf("metadata[%q] = %q, want %q", k, meta[k], v)
				}
			}
			if got["scalar"].Rank() != 0 {
				t.Errorf("0-d tensor came back with shape %v", got["scalar"].Shape())
			}

			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The file is what the encoder writes, the header is padded to 8 bytes
			// and the data is laid out in sorted name order.
			var enc bytes.Buffer
			if err := layers.EncodeSafetensors(&enc, want, tc.meta); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc.Bytes(), b) {
				t.Error("WriteSafetensors and EncodeSafetensors disagree")
			}
			n := binary.LittleEndian.Uint64(b)
			if n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
			var header map[string]json.RawMessage
			if err := json.Unmarshal(b[8:8+n], &header); err != nil {
				t.Fatal(err)
			}
			var names []string
			begins := map[string]int{}
			for name, raw := range header {
				if name == "__metadata__" {
					continue
				}
				var e struct {
					Dtype   string `json:"dtype"`
					Offsets [2]int `json:"data_offsets"`
				}
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatal(err)
				}
				if e.Dtype != "F32" {
					t.Errorf("%s: dtype %s", name, e.Dtype)
				}
				names = append(names, name)
				begins[name] = e.Offsets[0]
			}
			sort.Strings(names)
			for i := 1; i < len(names); i++ {
				if begins[names[i]] < begins[names[i-1]] {
					t.Errorf("%q stored before %q", names[i], names[i-1])
				}
			}
			_, hasMeta := header["__metadata__"]
			if hasMeta != (len(tc.meta) > 0) {
				t.Errorf("__metadata__ present: %v, want %v", hasMeta, len(tc.meta) > 0)
			}

			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries after the write, want 1: %v", len(entries), entries)
			}
		})
	}
}

func TestSafetensorsEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := layers.EncodeSafetensors(&b, nil, nil); err != nil {
		t.Fatal(err)
	}
	tensors, meta, err := layers.ParseSafetensors(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(tensors) != 0 || len(meta) != 0 || tensors == nil || meta == nil {
		t.Errorf("got %v, %v; want two empty maps", tensors, meta)
	}
}

// f16Ref is an independent binary16 decoder in float64 arithmetic.
func f16Ref(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+mant/1024, exp-15)
}

func TestSafetensorsF16Exhaustive(t *testing.T) {
	var bits []uint16
	for h := range 1 << 16 {
		bits = append(bits, uint16(h))
	}
	got, _, err := layers.ParseSafetensors(buildST(t, "", stTensor{"h", "F16", []int{1 << 16}, le16(bits...)}))
	if err != nil {
		t.Fatal(err)
	}
	for h, g := range got["h"].Data() {
		want := f16Ref(uint16(h))
		if math.IsNaN(want) {
			// NaN keeps sign and payload (the top 10 mantissa bits) and is
			// made quiet.
			wb := uint32(h&0x8000)<<16 | 0x7fc00000 | uint32(h&0x3ff)<<13
			if math.Float32bits(g) != wb {
				t.Errorf("F16 %#04x: got bits %#08x, want NaN %#08x", h, math.Float32bits(g), wb)
			}
			continue
		}
		if float64(g) != want || math.Signbit(float64(g)) != math.Signbit(want) {
			t.Errorf("F16 %#04x: got %g, want %g", h, g, want)
		}
	}
}

func TestSafetensorsDtypes(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf, nan := float32(math.Inf(1)), math.Float32frombits(0x7fc00000)
	cases := []struct {
		name string
		x    stTensor
		want []float32
	}{
		{"F16 specials", stTensor{"t", "F16", []int{2, 4}, le16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x0400)},
			[]float32{1, -2, 65504, 0x1p-24, negZero, inf, -inf, 0x1p-14}},
		{"BF16", stTensor{"t", "BF16", []int{6}, le16(0x3f80, 0xc020, 0x0001, 0x8000, 0x7f80, 0x7fc0)},
			[]float32{1, -2.5, math.Float32frombits(0x00010000), negZero, inf, nan}},
		{"F64", stTensor{"t", "F64", []int{7}, le64(math.Float64bits(1.0/3), math.Float64bits(-1e300), math.Float64bits(1e-50),
			math.Float64bits(1+0x1p-24), math.Float64bits(1+3*0x1p-24), math.Float64bits(math.Copysign(0, -1)), math.Float64bits(math.NaN()))},
			[]float32{1.0 / 3, -inf, 0, 1, 1 + 0x1p-22, negZero, nan}},
		{"F32 0-d", stTensor{"t", "F32", []int{}, le32f(2.5)}, []float32{2.5}},
		{"I64", stTensor{"t", "I64", []int{5}, le64(0, 1, uint64(1<<64-1), 1<<24, uint64(1<<64-(1<<62)))},
			[]float32{0, 1, -1, 1 << 24, -(1 << 62)}},
		{"U64", stTensor{"t", "U64", []int{2}, le64(1<<63, 255)}, []float32{1 << 63, 255}},
		{"I32", stTensor{"t", "I32", []int{3}, le32u(1<<31, 1<<24-1, 1<<32-7)}, []float32{-(1 << 31), 1<<24 - 1, -7}},
		{"U32", stTensor{"t", "U32", []int{2}, le32u(1<<31, 77)}, []float32{1 << 31, 77}},
		{"I16", stTensor{"t", "I16", []int{3}, le16(0x8000, 0x7fff, 0xffff)}, []float32{-32768, 32767, -1}},
		{"U16", stTensor{"t", "U16", []int{2}, le16(0xffff, 3)}, []float32{65535, 3}},
		{"I8", stTensor{"t", "I8", []int{3}, []byte{0x80, 0x7f, 0xff}}, []float32{-128, 127, -1}},
		{"U8", stTensor{"t", "U8", []int{3}, []byte{0, 128, 255}}, []float32{0, 128, 255}},
		{"BOOL", stTensor{"t", "BOOL", []int{2, 2}, []byte{1, 0, 0, 1}}, []float32{1, 0, 0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := layers.ParseSafetensors(buildST(t, "", tc.x))
			if err != nil {
				t.Fatal(err)
			}
			g := got["t"]
			if !nn.SameShape(g.Shape(), tc.x.shape) {
				t.Errorf("shape %v, want %v", g.Shape(), tc.x.shape)
			}
			for i, w := range tc.want {
				v := g.Data()[i]
				if math.IsNaN(float64(w)) {
					if !math.IsNaN(float64(v)) {
						t.Errorf("[%d] = %g, want NaN", i, v)
					}
				} else if math.Float32bits(v) != math.Float32bits(w) {
					t.Errorf("[%d] = %g, want %g", i, v, w)
				}
			}
		})
	}
}

// TestSafetensorsTorchFixture reads a file written from PyTorch tensors by
// tools/fixtures_safetensors.py: each tensor "x" of any dtype sits next to
// "x.f32", PyTorch's conversion of it to float32.
func TestSafetensorsTorchFixture(t *testing.T) {
	tensors, meta, err := layers.ReadSafetensors(filepath.Join("testdata", "torch_dtypes.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata %v", meta)
	}
	checked := 0
	for name, x := range tensors {
		if strings.HasSuffix(name, ".f32") {
			continue
		}
		want, ok := tensors[name+".f32"]
		if !ok {
			t.Fatalf("%s: no %s.f32", name, name)
		}
		if !nn.SameShape(x.Shape(), want.Shape()) {
			t.Errorf("%s: shape %v, want %v", name, x.Shape(), want.Shape())
			continue
		}
		for i, v := range x.Data() {
			w := want.Data()[i]
			if math.Float32bits(v) != math.Float32bits(w) { // NaNs too
				t.Errorf("%s[%d] = %g (%#08x), torch says %g (%#08x)", name, i, v, math.Float32bits(v), w, math.Float32bits(w))
			}
		}
		checked++
	}
	if checked != 12 {
		t.Errorf("checked %d tensors, want 12", checked)
	}
	if v := tensors["bn.num_batches_tracked"]; v.Rank() != 0 || v.Item() != 12345 {
		t.Errorf("num_batches_tracked = %v", v)
	}
}

func TestSafetensorsMalformed(t *testing.T) {
	f32 := func(name string, shape []int, n int) stTensor {
		return stTensor{name, "F32", shape, make([]byte, 4*n)}
	}
	hugeLen := binary.LittleEndian.AppendUint64(nil, 200<<20)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "shorter than the 8-byte header length"},
		{"7 bytes", make([]byte, 7), "shorter than the 8-byte"},
		{"absurd header length", append(hugeLen, "{}"...), "larger than the 104857600-byte limit"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "larger than the 2 bytes that follow"},
		{"empty header", rawST("", nil), "not valid JSON"},
		{"not JSON", rawST("{not json}", nil), "not valid JSON"},
		{"truncated JSON", rawST(`{"a":{"dtype":"F32"`, nil), "not valid JSON"},
		{"trailing garbage", rawST(`{} x`, nil), "data after the object"},
		{"two objects", rawST(`{}{}`, nil), "data after the object"},
		{"array header", rawST(`[]`, nil), "is not a JSON object"},
		{"string header", rawST(`"x"`, nil), "is not a JSON object"},
		{"invalid UTF-8", rawST("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"entry not object", rawST(`{"w":[1,2]}`, nil), `tensor "w": [1,2] is not a JSON object`},
		{"missing dtype", rawST(`{"w":{"shape":[],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w": no "dtype"`},
		{"missing shape", rawST(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w": no "shape"`},
		{"missing offsets", rawST(`{"w":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), `tensor "w": no "data_offsets"`},
		{"dtype not string", rawST(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w": dtype 4 is not a string`},
		{"unknown dtype", buildST(t, "", stTensor{"w", "F33", []int{1}, make([]byte, 4)}), `tensor "w": unsupported dtype "F33"`},
		{"unsupported dtype", buildST(t, "", stTensor{"w", "F8_E4M3", []int{1}, make([]byte, 1)}), `tensor "w": unsupported dtype "F8_E4M3"`},
		{"lowercase dtype", buildST(t, "", stTensor{"w", "f32", []int{1}, make([]byte, 4)}), `unsupported dtype "f32"`},
		{"negative dim", buildST(t, "", stTensor{"w", "F32", []int{2, -1}, nil}), `tensor "w": shape [2 -1] has a negative dimension`},
		{"overflowing shape", buildST(t, "", stTensor{"w", "F32", []int{math.MaxInt, 2}, nil}), `tensor "w": shape [` + itoa(math.MaxInt) + ` 2]: element count overflows`},
		{"overflow before zero", buildST(t, "", stTensor{"w", "F32", []int{math.MaxInt, 2, 0}, nil}), "element count overflows"},
		{"overflowing bytes", buildST(t, "", stTensor{"w", "F64", []int{math.MaxInt / 4}, nil}), "byte size overflows"},
		{"dim beyond int64", rawST(`{"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,0]}}`, nil), "is not an integer"},
		{"fractional dim", rawST(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w": shape [1.5]: element 1.5 is not an integer`},
		{"null dim", rawST(`{"w":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}}`, make([]byte, 4)), "element null is not an integer"},
		{"quoted dim", rawST(`{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, make([]byte, 4)), "is not an integer"},
		{"huge dim", rawST(`{"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}`, make([]byte, 4)), "is not an integer"},
		{"shape not list", rawST(`{"w":{"dtype":"F32","shape":3,"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w": shape 3: not a list of integers`},
		{"shape null", rawST(`{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, make([]byte, 4)), "not a list of integers"},
		{"one offset", rawST(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, make([]byte, 4)), `tensor "w": data_offsets [0] is not [begin, end]`},
		{"three offsets", rawST(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 4)), "is not [begin, end]"},
		{"offsets not list", rawST(`{"w":{"dtype":"F32","shape":[1],"data_offsets":{}}}`, make([]byte, 4)), "is not [begin, end]"},
		{"decreasing offsets", rawST(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), `tensor "w": data_offsets [4, 0] are not two increasing non-negative numbers`},
		{"negative offset", rawST(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, make([]byte, 4)), "not two increasing non-negative numbers"},
		{"offset out of range", rawST(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)), `tensor "w": data_offsets [0, 8] are out of range of the 4-byte buffer`},
		{"huge offset", rawST(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,9223372036854775807]}}`, make([]byte, 4)), "out of range"},
		{"offset overflows int64", rawST(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}`, make([]byte, 4)), "is not [begin, end]"},
		{"size mismatch", rawST(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w": data_offsets [0, 4] hold 4 bytes, but F32 [2] needs 8`},
		{"F16 size mismatch", rawST(`{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}`, make([]byte, 4)), "but F16 [3] needs 6"},
		{"overlap", rawST(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
			`tensor "b": data_offsets [4, 8] overlap tensor "a", which ends at 8`},
		{"same offsets", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "overlap tensor"},
		{"hole", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)),
			`tensor "b": data_offsets [8, 12] leave bytes [4, 8) of the buffer unused`},
		{"hole at start", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "leave bytes [0, 4) of the buffer unused"},
		{"trailing bytes", append(buildST(t, "", f32("a", []int{1}, 1)), 0, 0, 0, 0), "4 trailing bytes belong to no tensor"},
		{"data without tensors", rawST(`{}`, []byte{1}), "1 trailing bytes belong to no tensor"},
		{"duplicate tensor", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `duplicate key "a"`},
		{"duplicate field", rawST(`{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "a": duplicate key "dtype"`},
		{"duplicate metadata", rawST(`{"__metadata__":{},"__metadata__":{}}`, nil), `duplicate key "__metadata__"`},
		{"duplicate metadata key", rawST(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `__metadata__: duplicate key "k"`},
		{"metadata not object", rawST(`{"__metadata__":"x"}`, nil), `__metadata__: "x" is not a JSON object`},
		{"metadata null", rawST(`{"__metadata__":null}`, nil), "is not a JSON object"},
		{"metadata number", rawST(`{"__metadata__":{"epoch":3}}`, nil), `__metadata__: value of "epoch" is 3, not a string`},
		{"metadata nested", rawST(`{"__metadata__":{"opt":{"lr":"1"}}}`, nil), `value of "opt" is {"lr":"1"}, not a string`},
		{"metadata null value", rawST(`{"__metadata__":{"k":null}}`, nil), `value of "k" is null, not a string`},
		{"inexact I64", buildST(t, "", stTensor{"n", "I64", []int{2}, le64(3, 1<<24+1)}), `tensor "n": I64 value 16777217 at index 1 cannot be represented exactly as float32`},
		{"inexact I32", buildST(t, "", stTensor{"n", "I32", []int{1}, le32u(1<<31 - 1)}), "I32 value 2147483647 at index 0 cannot be represented exactly"},
		{"inexact U64", buildST(t, "", stTensor{"n", "U64", []int{1}, le64(1<<64 - 1)}), "U64 value 18446744073709551615 at index 0"},
		{"bad BOOL", buildST(t, "", stTensor{"m", "BOOL", []int{3}, []byte{0, 1, 2}}), `tensor "m": BOOL byte 2 at index 2 is not 0 or 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tensors, meta, err := layers.ParseSafetensors(tc.file)
			if err == nil {
				t.Fatalf("no error; got %d tensors, metadata %v", len(tensors), meta)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "layers.ParseSafetensors: ") {
				t.Errorf("error %q does not name the function", err)
			}
			if tensors != nil || meta != nil {
				t.Error("results returned with an error")
			}
		})
	}
}

// TestSafetensorsTolerated lists inputs that are unusual but valid.
func TestSafetensorsTolerated(t *testing.T) {
	cases := []struct {
		name string
		file []byte
		n    int
	}{
		{"empty header object", rawST(`{}`, nil), 0},
		{"padded header", rawST(`{}      `, nil), 0},
		{"whitespace in header", rawST(" {\n\t\"a\" : { \"shape\" : [ 1 ] , \"dtype\":\"F32\", \"data_offsets\" : [0 ,4] } }\r\n", make([]byte, 4)), 1},
		{"unknown entry fields ignored", rawST(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":[1]}}`, make([]byte, 4)), 1},
		{"zero-size tensors share an offset", rawST(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"F16","shape":[0,5],"data_offsets":[4,4]}}`, make([]byte, 4)), 3},
		{"huge zero-size shape", rawST(`{"a":{"dtype":"F32","shape":[0,`+itoa(math.MaxInt)+`],"data_offsets":[0,0]}}`, nil), 1},
		{"out-of-order offsets", rawST(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 8)), 2},
		{"empty name", buildST(t, "", stTensor{"", "F32", []int{1}, make([]byte, 4)}), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tensors, _, err := layers.ParseSafetensors(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(tensors) != tc.n {
				t.Errorf("%d tensors, want %d", len(tensors), tc.n)
			}
		})
	}
}

// TestSafetensorsTruncated cuts a valid file at every length: each prefix
// must give an error, from memory and from disk (the mmap path).
func TestSafetensorsTruncated(t *testing.T) {
	var b bytes.Buffer
	if err := layers.EncodeSafetensors(&b, roundTripTensors(), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	file := b.Bytes()
	if _, _, err := layers.ParseSafetensors(file); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.safetensors")
	for n := range len(file) {
		if _, _, err := layers.ParseSafetensors(file[:n]); err == nil {
			t.Fatalf("%d of %d bytes: no error", n, len(file))
		}
		if err := os.WriteFile(path, file[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := layers.ReadSafetensors(path)
		if err == nil {
			t.Fatalf("%d of %d bytes: ReadSafetensors: no error", n, len(file))
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("error %q does not name the file", err)
		}
	}
}

func TestReadSafetensorsErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.safetensors")
	if _, _, err := layers.ReadSafetensors(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: error %v", err)
	}
	if _, _, err := layers.ReadSafetensors(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: error %v", err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, rawST(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := layers.ReadSafetensors(bad)
	want := "layers.ReadSafetensors " + bad + `: tensor "w": data_offsets [0, 4] hold 4 bytes, but F32 [2] needs 8`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
}

func TestEncodeSafetensorsInvalid(t *testing.T) {
	cases := []struct {
		name    string
		tensors map[string]*nn.Tensor
		meta    map[string]string
		want    string
	}{
		{"nil tensor", map[string]*nn.Tensor{"w": nil}, nil, `tensor "w" is nil`},
		{"reserved name", map[string]*nn.Tensor{"__metadata__": nn.New(1)}, nil, `may not be called "__metadata__"`},
		{"bad name", map[string]*nn.Tensor{"\xff": nn.New(1)}, nil, "not valid UTF-8"},
		{"bad metadata", nil, map[string]string{"k": "\xff"}, `metadata "k": "\xff": not valid UTF-8`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := layers.EncodeSafetensors(&b, tc.tensors, tc.meta)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("%d bytes written before the error", b.Len())
			}
		})
	}
}

func TestWriteSafetensorsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	old := map[string]*nn.Tensor{"w": nn.FromData([]float32{1, 2}, 2)}
	if err := layers.WriteSafetensors(path, old, map[string]string{"epoch": "1"}); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkUnchanged := func(t *testing.T) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, oldBytes) {
			t.Error("old file was changed by a failed write")
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("directory holds %v after a failed write, want only the old file", names)
		}
	}

	t.Run("encoding fails", func(t *testing.T) {
		err := layers.WriteSafetensors(path, map[string]*nn.Tensor{"w": nn.New(3), "x": nil}, nil)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `tensor "x" is nil`) {
			t.Errorf("error %v", err)
		}
		checkUnchanged(t)
	})

	t.Run("unwritable directory", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("directory permissions are not enforced here (Windows or root)")
		}
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o700)
		err := layers.WriteSafetensors(path, map[string]*nn.Tensor{"w": nn.New(3)}, nil)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v", err)
		}
		os.Chmod(dir, 0o700)
		checkUnchanged(t)
	})

	t.Run("parent is a file", func(t *testing.T) {
		err := layers.WriteSafetensors(filepath.Join(path, "inner.safetensors"), old, nil)
		if err == nil {
			t.Error("no error")
		}
		checkUnchanged(t)
	})

	t.Run("replace keeps mode", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no Unix permission bits")
		}
		if err := os.Chmod(path, 0o640); err != nil {
			t.Fatal(err)
		}
		newer := map[string]*nn.Tensor{"w": nn.FromData([]float32{3, 4, 5}, 3)}
		if err := layers.WriteSafetensors(path, newer, map[string]string{"epoch": "2"}); err != nil {
			t.Fatal(err)
		}
		got, meta, err := layers.ReadSafetensors(path)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, got, newer)
		if meta["epoch"] != "2" {
			t.Errorf("metadata %v", meta)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o640 {
			t.Errorf("mode %v after replacing a 0640 file", st.Mode().Perm())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%d directory entries after the write", len(entries))
		}
	})
}

// tiny is a two-level module for the SaveModule/LoadModule tests.
type tiny struct {
	w     *nn.Var
	stats *nn.Tensor
	child *tinyChild
}

type tinyChild struct{ b *nn.Var }

func (m *tiny) Members() layers.Members {
	return layers.Members{
		Params:   []layers.Param{{Name: "weight", Var: m.w}},
		Buffers:  []layers.Buffer{{Name: "running_mean", Tensor: m.stats}},
		Children: []layers.Child{{Name: "head", Module: m.child}},
	}
}

func (m *tinyChild) Members() layers.Members {
	return layers.Members{Params: []layers.Param{{Name: "bias", Var: m.b}}}
}

func newTiny(v float32) *tiny {
	return &tiny{
		w:     nn.Param(nn.Full(v, 2, 3)),
		stats: nn.Full(v+1, 3),
		child: &tinyChild{b: nn.Param(nn.Full(v+2, 3))},
	}
}

func TestSaveLoadModule(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	src := newTiny(1)
	src.w.Value.Set(-5, 1, 2)
	if err := layers.SaveModule(path, src, map[string]string{"arch": "tiny"}); err != nil {
		t.Fatal(err)
	}
	tensors, meta, err := layers.ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "head.bias running_mean weight" || meta["arch"] != "tiny" {
		t.Errorf("file holds %v, metadata %v", names, meta)
	}

	dst := newTiny(0)
	if err := layers.LoadModule(path, dst, true); err != nil {
		t.Fatal(err)
	}
	checkSame(t, layers.StateDict(dst), layers.StateDict(src))

	// A strict load into a module with other names fails, names the file and
	// leaves the module as it was.
	other := &tinyChild{b: nn.Param(nn.Full(9, 3))}
	err = layers.LoadModule(path, other, true)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "unexpected") {
		t.Errorf("strict load into another module: error %v", err)
	}
	if other.b.Value.At(0) != 9 {
		t.Error("failed load changed the module")
	}
	if err := layers.LoadModule(filepath.Join(t.TempDir(), "none"), dst, true); err == nil {
		t.Error("missing file: no error")
	}
}

func BenchmarkReadSafetensors(b *testing.B) {
	tensors := map[string]*nn.Tensor{}
	for i := range 8 {
		tensors["t"+itoa(i)] = nn.Full(float32(i), 256, 1024) // 1 MiB each
	}
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	if err := layers.WriteSafetensors(path, tensors, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(8 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := layers.ReadSafetensors(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteSafetensors(b *testing.B) {
	tensors := map[string]*nn.Tensor{}
	for i := range 8 {
		tensors["t"+itoa(i)] = nn.Full(float32(i), 256, 1024)
	}
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	b.SetBytes(8 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if err := layers.WriteSafetensors(path, tensors, nil); err != nil {
			b.Fatal(err)
		}
	}
}
