package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 5} {
		prev := SetThreads(threads)
		for _, n := range []int{0, 1, 7, 100, 1001} {
			for _, grain := range []int{0, 1, 3, 64, 5000} {
				hits := make([]int32, n)
				For(n, grain, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						atomic.AddInt32(&hits[i], 1)
					}
				})
				for i, h := range hits {
					if h != 1 {
						t.Fatalf("threads %d n %d grain %d: index %d visited %d times", threads, n, grain, i, h)
					}
				}
			}
		}
		SetThreads(prev)
	}
}

func TestChunksDoNotDependOnThreads(t *testing.T) {
	chunks := func(threads int) map[[2]int]bool {
		prev := SetThreads(threads)
		defer SetThreads(prev)
		var got = make(chan [2]int, 1000)
		For(1000, 37, func(lo, hi int) { got <- [2]int{lo, hi} })
		close(got)
		m := map[[2]int]bool{}
		for c := range got {
			m[c] = true
		}
		return m
	}
	a, b := chunks(1), chunks(4)
	if len(a) != len(b) {
		t.Fatalf("%d chunks with 1 thread, %d with 4", len(a), len(b))
	}
	for c := range a {
		if !b[c] {
			t.Fatalf("chunk %v only with 1 thread", c)
		}
	}
}

func TestNestedForDoesNotDeadlock(t *testing.T) {
	prev := SetThreads(3)
	defer SetThreads(prev)
	var total atomic.Int64
	For(16, 1, func(lo, hi int) {
		For(100, 10, func(lo, hi int) { total.Add(int64(hi - lo)) })
	})
	if total.Load() != 1600 {
		t.Fatalf("nested For counted %d, want 1600", total.Load())
	}
}

func TestSetThreads(t *testing.T) {
	prev := SetThreads(3)
	if Threads() != 3 {
		t.Fatalf("Threads() = %d after SetThreads(3)", Threads())
	}
	if got := SetThreads(prev); got != 3 {
		t.Fatalf("SetThreads returned %d, want previous 3", got)
	}
	SetThreads(0)
	if Threads() < 1 {
		t.Fatal("SetThreads(0) left no threads")
	}
	SetThreads(prev)
}

func TestForDoesNotAllocate(t *testing.T) {
	prev := SetThreads(3)
	defer SetThreads(prev)
	var total atomic.Int64
	fn := func(lo, hi int) { total.Add(int64(hi - lo)) }
	For(100, 10, fn) // warm the job pool
	if a := testing.AllocsPerRun(100, func() { For(100, 10, fn) }); a != 0 {
		t.Fatalf("For allocates %v times per call", a)
	}
}

// TestWorkersJoin: with two threads, the two chunks of a call run at the
// same time (each waits for the other to start), in a run of calls back to
// back as ops make them.
func TestWorkersJoin(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	for call := range 200 {
		var started atomic.Int32
		var timedOut atomic.Bool
		For(2, 1, func(lo, hi int) {
			started.Add(1)
			deadline := time.Now().Add(5 * time.Second)
			for started.Load() < 2 {
				if time.Now().After(deadline) {
					timedOut.Store(true)
					return
				}
				runtime.Gosched()
			}
		})
		if timedOut.Load() {
			t.Fatalf("call %d: the worker did not join within 5 s", call)
		}
	}
}
