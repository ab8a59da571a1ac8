package nn

import "sync"

// The buffer pool recycles the float32 slices of op outputs and gradients.
// A training step allocates the same sizes every step, so free lists keyed by
// exact length reach a steady state after the first step and the Go heap
// stops growing. Buffers return to the pool through Var.Release (and
// Recycle); anything never returned is simply garbage collected.
var bufs = struct {
	sync.Mutex
	free map[int][][]float32
	held int64 // float32s currently in free lists
}{free: map[int][][]float32{}}

// getBuf returns a slice of length n with unspecified contents.
func getBuf(n int) []float32 {
	if n == 0 {
		return []float32{}
	}
	bufs.Lock()
	l := bufs.free[n]
	if k := len(l); k > 0 {
		b := l[k-1]
		l[k-1] = nil
		bufs.free[n] = l[:k-1]
		bufs.held -= int64(n)
		bufs.Unlock()
		return b
	}
	bufs.Unlock()
	return make([]float32, n)
}

func putBuf(b []float32) {
	if len(b) == 0 {
		return
	}
	b = b[:len(b):len(b)]
	bufs.Lock()
	bufs.free[len(b)] = append(bufs.free[len(b)], b)
	bufs.held += int64(len(b))
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

// FreePool drops every buffer held by the pool, e.g. after a change of image
// size left buffers of sizes that will not recur.
func FreePool() {
	bufs.Lock()
	clear(bufs.free)
	bufs.held = 0
	bufs.Unlock()
}
