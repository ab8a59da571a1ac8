//go:build !unix

package layers

import "os"

// withFileBytes calls fn with the contents of the file at path. Without
// x/sys/unix's mmap the file is simply read into memory.
func withFileBytes(path string, fn func(b []byte) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return fn(b)
}

// syncDir does nothing: outside Unix there is no portable way to open and
// sync a directory (on Windows, os.Rename's MoveFileEx replaces the file in
// one step, which is what the atomic write relies on).
func syncDir(dir string) error { return nil }
