//go:build unix

package layers

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// withFileBytes calls fn with the contents of the file at path.
//
// A regular file is memory-mapped read-only instead of read into a Go
// []byte: a model file of several hundred megabytes then costs no heap
// allocation and no copy beyond the one that converts it into float32
// tensors, and the pages are the kernel's page cache, shared and dropped as
// soon as the mapping goes away. The tensors must outlive the call, so fn
// copies everything it keeps out of b (parseSafetensors always does: every
// dtype is converted into a fresh nn.Tensor), and the file is unmapped
// before withFileBytes returns. Keeping the mapping alive instead would tie
// every tensor's lifetime to a mapping nobody could safely unmap, make the
// tensors read-only, and leave them subject to other processes writing the
// file.
//
// If another process truncates the file while it is mapped, touching the
// lost pages raises SIGBUS. debug.SetPanicOnFault turns that into a panic on
// this goroutine, which is recovered and returned as an error rather than
// crashing the program. Files that cannot be mapped (pipes, devices, file
// systems without mmap) are read the ordinary way.
func withFileBytes(path string, fn func(b []byte) error) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size == 0 {
		return readAll(f, fn)
	}
	if size > math.MaxInt {
		return fmt.Errorf("file is %d bytes, too large for this platform", size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return readAll(f, fn)
	}
	defer unix.Munmap(b)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			err = errors.New("file changed (truncated?) while it was being read")
		}
	}()
	return fn(b)
}

func readAll(f *os.File, fn func([]byte) error) error {
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	return fn(b)
}

// syncDir flushes a directory entry (a rename) to stable storage. File
// systems that cannot sync a directory (EINVAL, ENOTSUP) are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTSUP) {
		return err
	}
	return nil
}
