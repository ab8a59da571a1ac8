// Package parallel is sortnet's single process-wide worker pool.
//
// The pool holds Threads()-1 long-lived worker goroutines; the goroutine that
// calls For always takes part in the work itself. A worker joins a call only
// when it is idle, so nested calls (For inside For) never deadlock: the caller
// can always finish every chunk on its own. Idle workers spin briefly before
// they sleep, so that they join the next of a run of calls at once, and a
// caller whose chunks are done spins briefly for the workers still on
// theirs before it sleeps.
//
// Results never depend on the thread count: For hands out chunks whose
// boundaries depend only on n and grain, and code that reduces across chunks
// must keep one partial result per chunk and combine them in chunk order.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

type job struct {
	fn     func(lo, hi int)
	n      int
	grain  int
	chunks int
	next   atomic.Int64
	takers sync.WaitGroup // the workers that joined
	busy   atomic.Int32   // the workers that joined and are not done
}

// run processes chunks until none are left.
func (j *job) run() {
	for {
		c := int(j.next.Add(1)) - 1
		if c >= j.chunks {
			return
		}
		lo := c * j.grain
		hi := min(lo+j.grain, j.n)
		j.fn(lo, hi)
	}
}

// spin is how long an idle worker keeps looking for work before it sleeps.
// Ops run back to back, each a For call of tens of microseconds to a few
// milliseconds; a worker that went to sleep between two of them takes a
// wake-up of the OS thread (tens of microseconds on a virtual machine) to
// join the next, during which the caller works alone. OpenMP runtimes spin
// for the same reason (GNU libgomp for far longer).
const spin = 50 * time.Microsecond

var (
	mu      sync.Mutex
	threads = 0    // set by SetThreads; 0 means not started
	gen     = 0    // SetThreads' generation: workers of an older one exit
	queue   []*job // calls open to workers (some may have no chunks left)
	wake    = sync.NewCond(&mu)
	pending atomic.Int32 // len(queue), for spinning workers
)

func init() {
	SetThreads(runtime.GOMAXPROCS(0))
}

// SetThreads sets the number of threads (the caller plus n-1 workers) used by
// For. n < 1 means runtime.GOMAXPROCS(0). It returns the previous value.
func SetThreads(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	mu.Lock()
	defer mu.Unlock()
	prev := threads
	if n == threads {
		return prev
	}
	threads = n
	gen++
	wake.Broadcast()
	for i := 0; i < n-1; i++ {
		go worker(gen)
	}
	return prev
}

// Threads returns the number of threads For uses.
func Threads() int {
	mu.Lock()
	defer mu.Unlock()
	return threads
}

func worker(g int) {
	for {
		j := take(g)
		if j == nil {
			return
		}
		j.run()
		j.busy.Add(-1) // before Done: j is not touched after it
		j.takers.Done()
	}
}

// take returns an open call with chunks left, registered as joined, or nil
// once SetThreads has started a new generation of workers. It spins for
// spin after the last work before it sleeps.
func take(g int) *job {
	var j *job
	if spinFor(func() bool {
		if pending.Load() == 0 {
			return false
		}
		var stop bool
		j, stop = open(g)
		return stop || j != nil
	}) {
		return j
	}
	mu.Lock()
	defer mu.Unlock()
	for {
		if j, stop := openLocked(g); stop || j != nil {
			return j
		}
		wake.Wait()
	}
}

// spinFor calls done until it returns true, for at most spin, and
// reports whether it did; it yields the processor every 64 calls, so
// that other goroutines (data loaders) run.
func spinFor(done func() bool) bool {
	start := time.Now()
	for i := 1; !done(); i++ {
		if i%64 == 0 {
			if time.Since(start) > spin {
				return false
			}
			runtime.Gosched()
		}
	}
	return true
}

func open(g int) (*job, bool) {
	mu.Lock()
	defer mu.Unlock()
	return openLocked(g)
}

// openLocked finds an open call with chunks left and registers the worker
// with it (under mu, so that the caller, which closes its call under mu,
// waits for every worker that joined); stop says the worker's generation
// has ended.
func openLocked(g int) (j *job, stop bool) {
	if gen != g {
		return nil, true
	}
	for _, j := range queue {
		if j.next.Load() < int64(j.chunks) {
			j.takers.Add(1)
			j.busy.Add(1)
			return j, false
		}
	}
	return nil, false
}

// For calls fn(lo, hi) for consecutive chunks [lo, hi) covering [0, n), each
// of grain elements except possibly the last, spread over the pool. grain < 1
// means 1. Chunk boundaries depend only on n and grain, never on the thread
// count. fn must be safe to call concurrently for disjoint chunks.
//
// The caller works on its own call; idle workers join it (those busy with
// other calls do not), and the caller waits only for the workers that
// joined, so calls nest without deadlock.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	if chunks == 1 {
		fn(0, n)
		return
	}
	mu.Lock()
	t := threads
	if t <= 1 {
		mu.Unlock()
		for lo := 0; lo < n; lo += grain {
			fn(lo, min(lo+grain, n))
		}
		return
	}
	j, _ := jobPool.Get().(*job)
	if j == nil {
		j = new(job)
	}
	j.fn, j.n, j.grain, j.chunks = fn, n, grain, chunks
	j.next.Store(0)
	queue = append(queue, j)
	pending.Store(int32(len(queue)))
	for range min(t-1, chunks-1) {
		wake.Signal()
	}
	mu.Unlock()
	j.run()
	mu.Lock()
	for i, q := range queue {
		if q == j {
			queue = append(queue[:i], queue[i+1:]...)
			queue[len(queue):cap(queue)][0] = nil // no stale reference to j
			break
		}
	}
	pending.Store(int32(len(queue)))
	mu.Unlock()
	// A worker still on its last chunk finishes soon: wait for it
	// spinning, not parked, which would take a wake-up of this OS thread.
	spinFor(func() bool { return j.busy.Load() == 0 })
	j.takers.Wait()
	// Every worker that joined j has returned from it: reuse it.
	j.fn = nil
	jobPool.Put(j)
}

// jobPool recycles jobs, so For allocates nothing in steady state.
var jobPool sync.Pool

// Grain returns a chunk size that splits n items into about 4 chunks per
// thread but no chunk smaller than minGrain. Use it only where the result
// does not depend on chunk boundaries (no cross-chunk reductions).
func Grain(n, minGrain int) int {
	t := Threads()
	g := (n + 4*t - 1) / (4 * t)
	return max(g, minGrain, 1)
}
