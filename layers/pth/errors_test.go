package pth_test

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers/pth"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corruptRecord flips a byte in the middle of the named zip record.
func corruptRecord(t *testing.T, b []byte, name string) []byte {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			off, err := f.DataOffset()
			if err != nil {
				t.Fatal(err)
			}
			c := bytes.Clone(b)
			c[off+int64(f.CompressedSize64)/2] ^= 0x40
			return c
		}
	}
	t.Fatalf("no record %s", name)
	return nil
}

func TestErrors(t *testing.T) {
	f6 := f32bytes(1, 2, 3, 4, 5, 6)
	one := func(class string, numel, off int64, size, stride []int64) []byte {
		return oneTensor("w", class, "0", numel, off, size, stride)
	}
	zipOne := func(pkl []byte, data []byte) []byte {
		return zipCkpt(t, pkl, map[string][]byte{"0": data})
	}
	legacy := readFixture(t, "legacy.pth")
	dtypes := readFixture(t, "dtypes.pth")
	tar := make([]byte, 1024)
	copy(tar[257:], "ustar")
	st := readFixture(t, "exported.safetensors")

	// A whole pickled model: __main__.Net.__new__ + BUILD.
	model := newPK().global("__main__", "Net").op(')', 0x81, '}', 'b').stop()
	// {"w": os.system("echo hi")}: the global is inert, never run.
	osSystem := newPK().op('}').str("w").global("os", "system").str("echo hi").op(0x85, 'R', 's').stop()
	// {"foo": {"w": tensor}}: no automatic key.
	p := newPK().op('}').str("foo").op('}').str("w")
	p.tensor(func(p *pk) { p.storage("FloatStorage", "0", 6) }, 0, []int64{6}, []int64{1})
	noAuto := p.op('s', 's').stop()
	// {1: tensor}
	p = newPK().op('}').int(1)
	p.tensor(func(p *pk) { p.storage("FloatStorage", "0", 6) }, 0, []int64{6}, []int64{1})
	intKey := p.op('s').stop()
	// Two tensors disagreeing on storage "0".
	p = newPK().op('}', '(').str("a")
	p.tensor(func(p *pk) { p.storage("FloatStorage", "0", 6) }, 0, []int64{6}, []int64{1})
	p.str("b").tensor(func(p *pk) { p.storage("HalfStorage", "0", 6) }, 0, []int64{6}, []int64{1})
	twoTypes := p.op('u').stop()
	// Legacy files.
	legacyObj := func(numel int64, view bool) []byte {
		p := newPK().op('}').str("w")
		p.tensor(func(p *pk) {
			p.op('(').str("storage").global("torch", "FloatStorage").str("k").str("cpu").long(numel)
			if view {
				p.str("v").long(0).long(2).op(0x87)
			} else {
				p.op('N')
			}
			p.op('t', 'Q')
		}, 0, []int64{2}, []int64{1})
		return p.op('s').stop()
	}

	for _, tc := range []struct {
		name string
		file []byte
		key  string
		want string // in the error
	}{
		{"empty", nil, "", "empty file"},
		{"text", []byte("hello, world"), "", "not a PyTorch checkpoint: it starts with 68 65"},
		{"safetensors", st, "", "looks like a safetensors file"},
		{"tar", tar, "", "tar checkpoint format"},
		{"plain pickle", newPK().op('}').stop(), "", "without torch.save's magic number"},
		{"truncated zip", dtypes[:len(dtypes)/2], "", "not a valid zip archive"},
		{"truncated legacy data", legacy[:len(legacy)-100], "", "truncated"},
		{"truncated legacy pickle", legacy[:300], "", "object: pickle byte"},
		{"zip without data.pkl", makeZip(t, false, zip.Store, record{"a/b", nil}), "", "without a data.pkl"},
		{"two data.pkl", makeZip(t, false, zip.Store, record{"a/data.pkl", nil}, record{"b/data.pkl", nil}), "", "2 data.pkl records"},
		{"duplicate record", makeZip(t, false, zip.Store, record{"a/data.pkl", nil}, record{"a/data.pkl", nil}), "", "appears twice"},
		{"torchscript", makeZip(t, false, zip.Store, record{"m/data.pkl", nil}, record{"m/constants.pkl", nil}), "", "TorchScript"},
		{"big-endian zip", makeZip(t, false, zip.Store, record{"m/data.pkl", nil}, record{"m/byteorder", []byte("big")}), "", "little-endian"},
		{"bad CRC", corruptRecord(t, dtypes, "dtypes/data/0"), "", "CRC mismatch"},
		{"bad CRC in pickle", corruptRecord(t, dtypes, "dtypes/data.pkl"), "", "dtypes/data.pkl: CRC mismatch"},
		{"unknown opcode", zipOne([]byte{0x80, 2, 0xff}, nil), "", `archive/data.pkl: pickle byte 2 (opcode 0xff): unknown opcode`},
		{"protocol 6", zipOne([]byte{0x80, 6}, nil), "", "unsupported pickle protocol 6"},
		{"extension", zipOne([]byte{0x80, 2, 0x82, 1}, nil), "", "extension registry"},
		{"text string", zipOne([]byte("S'x'\n."), nil), "", "protocol 0 text strings"},
		{"missing memo", zipOne([]byte{0x80, 2, 'h', 5, '.'}, nil), "", "memo entry 5 was never stored"},
		{"stack underflow", zipOne([]byte{0x80, 2, 's'}, nil), "", "stack underflow"},
		{"no mark", zipOne([]byte{0x80, 2, 't'}, nil), "", "no MARK"},
		{"huge length", zipOne([]byte{0x80, 2, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, nil), "", "truncated"},
		{"no STOP", zipOne([]byte{0x80, 2, '}'}, nil), "", "unexpected end of data"},
		{"bad UTF-8", zipOne([]byte{0x80, 2, 0x8c, 1, 0xff, '.'}, nil), "", "not valid UTF-8"},
		{"pickled model", zipOne(model, nil), "", "pickled __main__.Net object"},
		{"top-level list", zipOne(newPK().op(']').stop(), nil), "", "holds a list, not a dict"},
		{"inert global in state dict", zipOne(osSystem, nil), "", `entry "w" holds an instance of os.system, not a tensor`},
		{"no auto key", zipOne(noAuto, f6), "", `choose the state dict with ReadOpts.Key (entries holding dicts: "foo")`},
		{"missing key", zipOne(noAuto, f6), "bar", `no entry "bar" in the checkpoint (entries holding dicts: "foo")`},
		{"key not a dict", readFixture(t, "nested.pth"), "epoch", `entry "epoch" holds an int, not a dict`},
		{"int key", zipOne(intKey, f6), "", "stored under the key 1"},
		{"no tensors", zipOne(newPK().op('}').str("epoch").int(3).op('s').stop(), nil), "", "the state dict holds no tensors"},
		{"missing record", zipCkpt(t, one("FloatStorage", 6, 0, []int64{6}, []int64{1}), nil), "", `storage "0": the archive has no record archive/data/0`},
		{"short record", zipOne(one("FloatStorage", 6, 0, []int64{6}, []int64{1}), f6[:20]), "", "holds 20 bytes, but 6 float32 elements need 24"},
		{"two storage types", zipOne(twoTypes, f6), "", `storage "0" is both 6 float32 and 6 float16 elements`},
		{"unsupported storage", zipOne(one("ComplexFloatStorage", 3, 0, []int64{3}, []int64{1}), f6), "", "unsupported storage type torch.ComplexFloatStorage"},
		{"view beyond storage", zipOne(one("FloatStorage", 6, 0, []int64{2, 4}, []int64{4, 1}), f6), "", `tensor "w": size [2 4], stride [4 1], offset 0 reach beyond the 6-element float32 storage`},
		{"offset beyond storage", zipOne(one("FloatStorage", 6, 6, []int64{1}, []int64{1}), f6), "", "storage offset 6 is outside"},
		{"negative stride", zipOne(one("FloatStorage", 6, 5, []int64{6}, []int64{-1}), f6), "", "stride element 0 is -1"},
		{"rank mismatch", zipOne(one("FloatStorage", 6, 0, []int64{6}, []int64{1, 1}), f6), "", "differ in length"},
		{"huge expanded view", zipOne(one("FloatStorage", 6, 0, []int64{1 << 20, 1 << 20}, []int64{0, 0}), f6), "", "more elements than the file's storages"},
		{"overlapping view", zipOne(one("FloatStorage", 6, 0, []int64{1 << 11, 1 << 11}, []int64{0, 0}), f6), "", "more elements"},
		{"size overflow", zipOne(one("FloatStorage", 6, 0, []int64{1 << 40, 1 << 40}, []int64{0, 0}), f6), "", "element count overflows"},
		{"bool byte", zipOne(one("BoolStorage", 2, 0, []int64{2}, []int64{1}), []byte{1, 2}), "", "bool byte 2 at index 1 is not 0 or 1"},
		{"inexact int64", readFixture(t, "inexact.pth"), "", `tensor "n": int64 value 16777217 at index 1 cannot be represented exactly`},
		{"legacy view", legacyCkpt(legacyObj(2, true), true, []string{"k"}, []int64{2}, [][]byte{f6[:8]}), "", "storage views (PyTorch < 0.4)"},
		{"legacy big-endian", legacyCkpt(legacyObj(2, false), false, []string{"k"}, []int64{2}, [][]byte{f6[:8]}), "", "big-endian"},
		{"legacy numel mismatch", legacyCkpt(legacyObj(2, false), true, []string{"k"}, []int64{3}, [][]byte{f6[:12]}), "", "the data holds 3 elements, the pickle says 2"},
		{"legacy unknown key", legacyCkpt(legacyObj(2, false), true, []string{"x"}, []int64{2}, [][]byte{f6[:8]}), "", `data for storage "x", which no tensor uses`},
		{"legacy missing data", legacyCkpt(legacyObj(2, false), true, nil, nil, nil), "", `storage "k": no data in the file`},
		{"legacy short data", legacyCkpt(legacyObj(2, false), true, []string{"k"}, []int64{2}, [][]byte{f6[:7]}), "", `storage "k": unexpected end of data`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pth.Parse(tc.file, pth.ReadOpts{Key: tc.key})
			if err == nil {
				t.Fatalf("no error; got %d tensors", len(got))
			}
			if got != nil {
				t.Error("tensors returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "pth.Parse: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestReadNamesFile checks that Read's errors name the file.
func TestReadNamesFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pth")
	if err := os.WriteFile(bad, readFixture(t, "legacy.pth")[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.pth")} {
		_, err := pth.Read(path)
		if err == nil || !strings.HasPrefix(err.Error(), "pth.Read "+path+": ") {
			t.Errorf("Read(%s) error %v, want it to start with the path", path, err)
		}
		_, err = pth.StateDicts(path)
		if err == nil || !strings.HasPrefix(err.Error(), "pth.StateDicts "+path+": ") {
			t.Errorf("StateDicts(%s) error %v, want it to start with the path", path, err)
		}
	}
}
