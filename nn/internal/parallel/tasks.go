package parallel

import "sync"

// Tasks is a parallel loop body that reads its arguments from a struct of
// type A instead of capturing them. Handing For a closure that captures
// its call's slices allocates the closure on every call, since the workers
// may run it; Tasks binds the body once to pooled argument boxes, so that
// a call of its For allocates nothing in steady state.
//
// Declare one Tasks per loop, as a package-level variable, with the body
// written as a method of the argument struct:
//
//	type scaleArgs struct {
//		x []float32
//		s float32
//	}
//
//	func (a *scaleArgs) run(lo, hi int) {
//		for i := lo; i < hi; i++ {
//			a.x[i] *= a.s
//		}
//	}
//
//	var scaleTasks = parallel.NewTasks((*scaleArgs).run)
//
//	scaleTasks.For(len(x), 1024, scaleArgs{x: x, s: s})
//
// A call allocates nothing but takes a little longer than For with a
// fresh closure: a pool Get and Put, and a copy of the arguments into
// memory that the workers read last time (some 50–100 ns in all on two
// threads), little next to the chunks of a kernel.
type Tasks[A any] struct {
	fn    func(a *A, lo, hi int)
	boxes sync.Pool // *taskBox[A]
}

// taskBox holds one call's arguments; run is box.call, bound once.
type taskBox[A any] struct {
	args A
	fn   func(a *A, lo, hi int)
	run  func(lo, hi int)
}

func (b *taskBox[A]) call(lo, hi int) { b.fn(&b.args, lo, hi) }

// NewTasks returns the loop whose chunks [lo, hi) run fn(args, lo, hi).
func NewTasks[A any](fn func(a *A, lo, hi int)) *Tasks[A] {
	if fn == nil {
		panic("parallel.NewTasks: nil fn")
	}
	return &Tasks[A]{fn: fn}
}

// For runs the body over [0, n) in chunks of grain exactly as the package's
// For does (same chunks, same contract), each chunk with a pointer to one
// copy of args. Chunks share that copy and run concurrently: the body
// reads it and writes only through the slices it holds. The copy is
// zeroed before For returns, so the pool keeps no reference to the
// caller's data. Calls may nest and run concurrently.
func (t *Tasks[A]) For(n, grain int, args A) {
	b, _ := t.boxes.Get().(*taskBox[A])
	if b == nil {
		b = &taskBox[A]{fn: t.fn}
		b.run = b.call
	}
	b.args = args
	For(n, grain, b.run)
	var zero A
	b.args = zero
	t.boxes.Put(b)
}
