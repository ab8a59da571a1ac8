package pth_test

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"

	"github.com/sortnet/sortnet/layers/pth"
)

// FuzzRead checks that no input makes Parse panic, that it returns tensors
// or an error but never both, and that what it accepts is consistent: every
// tensor's data length matches its shape, and all of them together hold no
// more elements than the budget allows (the storage bytes, which a stored
// or deflated record bounds by about 1032 times the input, plus 2^20).
// Seeds: every fixture, the zip fixtures with their CRCs zeroed (so that
// mutations of the pickle get past archive/zip's CRC check) and
// testdata/fuzz/FuzzRead. Run it with
//
//	go test -run='^$' -fuzz=FuzzRead -fuzztime=60s -fuzzminimizetime=2s ./layers/pth/
//
// (-fuzzminimizetime: minimising an interesting multi-kilobyte zip input
// otherwise stalls the run for a minute at a time.)
func FuzzRead(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.pth"))
	if err != nil || len(files) == 0 {
		f.Fatal("no fixtures", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
		if b[0] == 'P' {
			f.Add(rezip(f, b, true, zip.Store), "")
		}
	}
	nested, _ := os.ReadFile(filepath.Join("testdata", "nested.pth"))
	f.Add(rezip(f, nested, true, zip.Store), "state_dict_ema")
	f.Add([]byte{}, "")
	f.Add([]byte("PK\x05\x06"), "")
	f.Add([]byte{0x80, 2, '}', '.'}, "")

	f.Fuzz(func(t *testing.T, file []byte, key string) {
		got, err := pth.Parse(file, pth.ReadOpts{Key: key})
		if err != nil {
			if got != nil {
				t.Fatal("tensors returned with an error")
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("no tensors and no error")
		}
		total := 0
		for name, x := range got {
			n := 1
			for _, d := range x.Shape() {
				n *= d
			}
			if x.Len() != n {
				t.Fatalf("tensor %q: shape %v with %d values", name, x.Shape(), x.Len())
			}
			total += n
		}
		if limit := 1032*len(file) + 1<<20; total > limit {
			t.Fatalf("%d elements from a %d-byte file", total, len(file))
		}
	})
}
