package pth_test

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/internal/fixture"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/layers/pth"
	"github.com/sortnet/sortnet/nn"
)

// The fixtures are made by tools/fixtures_pth.py with torch 1.13.

func loadExpected(t *testing.T) *fixture.File {
	t.Helper()
	f, err := fixture.Load(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func metaStrings(t *testing.T, f *fixture.File, key string) []string {
	t.Helper()
	raw, ok := f.Meta[key].([]any)
	if !ok {
		t.Fatalf("meta %q missing", key)
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i] = v.(string)
	}
	return out
}

func names(m map[string]*nn.Tensor) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sameBits checks shape and every bit of the data (NaN payloads and the
// sign of zero included).
func sameBits(t *testing.T, what string, got, want *nn.Tensor) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: missing", what)
		return
	}
	if !slices.Equal(got.Shape(), want.Shape()) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
		return
	}
	for i, w := range want.Data() {
		if g := got.Data()[i]; math.Float32bits(g) != math.Float32bits(w) {
			t.Errorf("%s[%d] = %g (%#08x), want %g (%#08x)", what, i, g, math.Float32bits(g), w, math.Float32bits(w))
			return
		}
	}
}

// TestDtypesAndViews reads the same dict saved three ways (zip, legacy,
// zip with pickle protocol 4) and compares every tensor, bit for bit, with
// torch's own float32 conversion: all storage types, a 0-d scalar, an
// empty tensor, transposed/sliced/permuted/expanded/channels_last views
// and four views of one shared storage.
func TestDtypesAndViews(t *testing.T) {
	exp := loadExpected(t)
	wantNames := metaStrings(t, exp, "dtypes_keys")
	sort.Strings(wantNames)
	for _, file := range []string{"dtypes.pth", "legacy.pth", "proto4.pth"} {
		t.Run(file, func(t *testing.T) {
			got, err := pth.Read(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names(got), wantNames) {
				t.Fatalf("names %v, want %v", names(got), wantNames)
			}
			for _, name := range wantNames {
				if strings.HasPrefix(name, "special.") {
					continue
				}
				sameBits(t, name, got[name], exp.T("dtypes/"+name))
			}
			// ±Inf and NaN (payloads included) against torch's conversion
			// stored in the same file.
			for _, name := range []string{"special.f16", "special.bf16", "special.f64"} {
				sameBits(t, name, got[name], got[name+".f32"])
			}
			if s := got["scalar"]; s.Rank() != 0 || s.Data()[0] != 2.5 {
				t.Errorf("scalar: %v, want a 0-d 2.5", s)
			}
			// Shared storages come back as separate copies.
			got["shared.full"].Data()[0] = 42
			if got["shared.head"].Data()[0] == 42 {
				t.Error("views of one storage share memory")
			}
		})
	}
}

func TestNestedCheckpoint(t *testing.T) {
	exp := loadExpected(t)
	path := filepath.Join("testdata", "nested.pth")
	keys, err := pth.StateDicts(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := metaStrings(t, exp, "nested_state_dicts"); !slices.Equal(keys, want) {
		t.Errorf("StateDicts = %q, want %q", keys, want)
	}
	wantNames := metaStrings(t, exp, "nested_keys")
	sort.Strings(wantNames)
	for _, tc := range []struct{ key, want string }{
		{"", "state_dict"}, // automatic
		{"state_dict", "state_dict"},
		{"state_dict_ema", "state_dict_ema"},
	} {
		got, err := pth.ReadWith(path, pth.ReadOpts{Key: tc.key})
		if err != nil {
			t.Fatalf("Key %q: %v", tc.key, err)
		}
		if !slices.Equal(names(got), wantNames) {
			t.Fatalf("Key %q: names %v, want %v", tc.key, names(got), wantNames)
		}
		for _, name := range wantNames {
			sameBits(t, tc.key+":"+name, got[name], exp.T("nested/"+tc.want+"/"+name))
		}
	}
}

func TestParameters(t *testing.T) {
	exp := loadExpected(t)
	got, err := pth.Read(filepath.Join("testdata", "params.pth"))
	if err != nil {
		t.Fatal(err)
	}
	want := metaStrings(t, exp, "nested_keys")
	sort.Strings(want)
	if !slices.Equal(names(got), want) {
		t.Fatalf("names %v, want %v", names(got), want)
	}
	for _, name := range want {
		sameBits(t, name, got[name], exp.T("params/"+name))
	}
}

// TestExportedSafetensors checks that tools/export_weights.py writes what
// layers.ReadSafetensors reads, with the checkpoint's names and values.
func TestExportedSafetensors(t *testing.T) {
	st, meta, err := layers.ReadSafetensors(filepath.Join("testdata", "exported.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := pth.ReadWith(filepath.Join("testdata", "nested.pth"), pth.ReadOpts{Key: "state_dict_ema"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(st), names(want)) {
		t.Fatalf("names %v, want %v", names(st), names(want))
	}
	for name, w := range want {
		sameBits(t, name, st[name], w)
	}
	if meta["key"] != "state_dict_ema" || meta["source"] != "nested.pth" || meta["format"] != "pt" {
		t.Errorf("metadata %v", meta)
	}
}

// TestContainers reads a fixture re-packed as torch may also write it:
// with CRCs left 0, and with deflated records.
func TestContainers(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "dtypes.pth"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := pth.Parse(orig, pth.ReadOpts{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		crc0   bool
		method uint16
	}{{"crc0", true, zip.Store}, {"deflate", false, zip.Deflate}} {
		got, err := pth.Parse(rezip(t, orig, tc.crc0, tc.method), pth.ReadOpts{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for name, w := range want {
			sameBits(t, tc.name+":"+name, got[name], w)
		}
	}
}

// TestCrafted reads hand-made files that torch.save writes rarely or that
// older versions wrote.
func TestCrafted(t *testing.T) {
	stor := func(p *pk) { p.storage("FloatStorage", "0", 6) }
	data := map[string][]byte{"0": f32bytes(1, 2, 3, 4, 5, 6)}

	// A Parameter with attributes: _rebuild_from_type_v2(_rebuild_parameter,
	// Parameter, (tensor, True, OrderedDict()), {}), and torch.Size.
	p := newPK().op('}').str("w")
	p.global("torch._tensor", "_rebuild_from_type_v2").op('(')
	p.global("torch._utils", "_rebuild_parameter").global("torch.nn.parameter", "Parameter").op('(')
	p.global("torch._utils", "_rebuild_tensor").op('(')
	stor(p)
	p.long(1).global("torch", "Size").ints([]int64{2, 2}).op(0x85, 'R').ints([]int64{1, 2}).op('t', 'R')
	p.op(0x88).global("collections", "OrderedDict").op(')', 'R', 't')
	p.op('}', 't', 'R', 's')
	got, err := pth.Parse(zipCkpt(t, p.stop(), data), pth.ReadOpts{})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "w", got["w"], nn.FromData([]float32{2, 4, 3, 5}, 2, 2))

	// A legacy file with an int64 storage shared by two tensors.
	p = newPK().op('}', '(').str("a")
	p.tensor(func(p *pk) { p.legacyStorage("LongStorage", "k", 3) }, 0, []int64{3}, []int64{1})
	p.str("b").tensor(func(p *pk) { p.legacyStorage("LongStorage", "k", 3) }, 2, []int64{1, 1}, []int64{5, 7})
	p.str("epoch").int(3).op('u')
	var i64 bytes.Buffer
	for _, v := range []int64{-5, 1 << 20, 7} {
		i64.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24), byte(v >> 32), byte(v >> 40), byte(v >> 48), byte(v >> 56)})
	}
	got, err = pth.Parse(legacyCkpt(p.stop(), true, []string{"k"}, []int64{3}, [][]byte{i64.Bytes()}), pth.ReadOpts{})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "a", got["a"], nn.FromData([]float32{-5, 1 << 20, 7}, 3))
	sameBits(t, "b", got["b"], nn.FromData([]float32{7}, 1, 1))
	if len(got) != 2 {
		t.Errorf("got %v, want a and b only", names(got))
	}
}
