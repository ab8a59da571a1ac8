// Package parallel is sortnet's single process-wide worker pool.
//
// The pool holds Threads()-1 long-lived worker goroutines; the goroutine that
// calls For always takes part in the work itself. A worker joins a call only
// when it is idle, so nested calls (For inside For) never deadlock: the caller
// can always finish every chunk on its own.
//
// Results never depend on the thread count: For hands out chunks whose
// boundaries depend only on n and grain, and code that reduces across chunks
// must keep one partial result per chunk and combine them in chunk order.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

type job struct {
	fn     func(lo, hi int)
	n      int
	grain  int
	chunks int
	next   atomic.Int64
	wg     sync.WaitGroup
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

var (
	mu      sync.Mutex
	threads = 0 // set by SetThreads; 0 means not started
	jobs    chan *job
	quit    chan struct{}
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
	if quit != nil {
		close(quit)
	}
	threads = n
	jobs = make(chan *job)
	quit = make(chan struct{})
	for i := 0; i < n-1; i++ {
		go worker(jobs, quit)
	}
	return prev
}

// Threads returns the number of threads For uses.
func Threads() int {
	mu.Lock()
	defer mu.Unlock()
	return threads
}

func worker(jobs <-chan *job, quit <-chan struct{}) {
	for {
		select {
		case j := <-jobs:
			j.run()
			j.wg.Done()
		case <-quit:
			return
		}
	}
}

// For calls fn(lo, hi) for consecutive chunks [lo, hi) covering [0, n), each
// of grain elements except possibly the last, spread over the pool. grain < 1
// means 1. Chunk boundaries depend only on n and grain, never on the thread
// count. fn must be safe to call concurrently for disjoint chunks.
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
	ch, t := jobs, threads
	mu.Unlock()
	if t <= 1 {
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
	// Offer the job to idle workers only; busy ones are skipped, so a call
	// from inside a worker cannot wait on itself.
	for i := 0; i < min(t-1, chunks-1); i++ {
		j.wg.Add(1)
		select {
		case ch <- j:
		default:
			j.wg.Done()
		}
	}
	j.run()
	j.wg.Wait()
	// Every worker that took j has returned from it: reuse it.
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
