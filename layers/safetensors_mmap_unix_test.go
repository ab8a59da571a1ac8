//go:build unix

package layers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWithFileBytesTruncated truncates a mapped file under the reader: the
// SIGBUS this causes must come back as an error, not kill the process.
func TestWithFileBytesTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.safetensors")
	size := 4 * os.Getpagesize()
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	var sum byte
	err := withFileBytes(path, func(b []byte) error {
		if len(b) != size {
			t.Fatalf("mapped %d bytes, want %d", len(b), size)
		}
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		sum += b[len(b)-1] // faults: the page is gone
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("error %v, want one about the file changing (sum %d)", err, sum)
	}
}

// TestWithFileBytesPanics checks that a panic other than a memory fault is
// not swallowed.
func TestWithFileBytesPanics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("12345678"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want boom", r)
		}
	}()
	withFileBytes(path, func([]byte) error { panic("boom") })
	t.Error("withFileBytes returned")
}

// TestWithFileBytesNotRegular checks the fallback for files that are not
// mapped: /dev/null is a device, so it is read the ordinary way.
func TestWithFileBytesNotRegular(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	called := false
	err := withFileBytes("/dev/null", func(b []byte) error {
		called = true
		if len(b) != 0 {
			t.Errorf("%d bytes from /dev/null", len(b))
		}
		return nil
	})
	if err != nil || !called {
		t.Errorf("err %v, called %v", err, called)
	}
}
