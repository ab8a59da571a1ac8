package nn

import (
	"math"
	"math/bits"
	"sync"
)

// The buffer pool recycles the float32 slices of op outputs and gradients.
// A training step allocates the same sizes every step, so after the first
// step the Go heap stops growing. Buffers are kept in size classes (powers
// of two split into four steps, so at most 25% is wasted), which lets
// nearby sizes — a smaller last batch, another image size — share buffers;
// the pool holds at most SetPoolLimit bytes and drops what would exceed it.
// Buffers return through Var.Release and Recycle; anything never returned
// is simply garbage collected.
var bufs = struct {
	sync.Mutex
	free  map[int][][]float32 // by class capacity
	held  int64               // float32s in free lists
	limit int64               // most float32s the free lists may hold
}{free: map[int][][]float32{}, limit: 8 << 30 / 4}

// classCap returns the capacity of the size class that holds n floats: n
// rounded up to a multiple of 2^(k-2), where 2^k <= n < 2^(k+1); sizes up to
// 64 are their own class.
func classCap(n int) int {
	if n <= 64 {
		return n
	}
	step := 1 << (bits.Len(uint(n)) - 3)
	return (n + step - 1) / step * step
}

// poisonBufs makes getBuf fill what it hands out with NaN. The package's
// tests set it (TestMain), so that an op that leaves part of a pooled
// output or of a fresh gradient (Var.gradOut) unwritten fails them.
var poisonBufs bool

// getBuf returns a slice of length n with unspecified contents.
func getBuf(n int) []float32 {
	b := getBufRaw(n)
	if poisonBufs {
		for i := range b {
			b[i] = float32(math.NaN())
		}
	}
	return b
}

func getBufRaw(n int) []float32 {
	if n == 0 {
		return []float32{}
	}
	c := classCap(n)
	bufs.Lock()
	l := bufs.free[c]
	if k := len(l); k > 0 {
		b := l[k-1]
		l[k-1] = nil
		bufs.free[c] = l[:k-1]
		bufs.held -= int64(c)
		bufs.Unlock()
		return b[:n]
	}
	bufs.Unlock()
	return make([]float32, n, c)
}

// putBuf offers b's backing array to the pool; arrays whose capacity is not
// a class capacity (not made by getBuf) are left to the garbage collector.
func putBuf(b []float32) {
	c := cap(b)
	if c == 0 || classCap(c) != c {
		return
	}
	bufs.Lock()
	if bufs.held+int64(c) <= bufs.limit {
		bufs.free[c] = append(bufs.free[c], b[:c])
		bufs.held += int64(c)
	}
	bufs.Unlock()
}

// Recycle returns t's data to the buffer pool if t was produced by an op
// and has not been recycled yet; t must not be used afterwards (its data is
// set to nil, so a stray use fails loudly). Views made by Reshape share the
// data but are never recycled themselves.
func Recycle(t *Tensor) {
	if t == nil || !t.pooled {
		return
	}
	putBuf(t.data)
	t.data = nil
	t.pooled = false
}

// PoolBytes reports how many bytes the buffer pool currently holds in its
// free lists.
func PoolBytes() int64 {
	bufs.Lock()
	defer bufs.Unlock()
	return bufs.held * 4
}

// SetPoolLimit sets the most bytes the buffer pool keeps for reuse
// (default 8 GiB) and returns the previous limit. Buffers beyond it are
// dropped when returned. A limit of 0 disables reuse.
func SetPoolLimit(bytes int64) int64 {
	bufs.Lock()
	defer bufs.Unlock()
	prev := bufs.limit * 4
	bufs.limit = max(bytes, 0) / 4
	for bufs.held > bufs.limit {
		for c, l := range bufs.free {
			for len(l) > 0 && bufs.held > bufs.limit {
				l[len(l)-1] = nil
				l = l[:len(l)-1]
				bufs.held -= int64(c)
			}
			bufs.free[c] = l
		}
	}
	return prev
}

// FreePool drops every buffer held by the pool, e.g. after a change of image
// size left buffers of sizes that will not recur.
func FreePool() {
	bufs.Lock()
	clear(bufs.free)
	bufs.held = 0
	bufs.Unlock()
}
