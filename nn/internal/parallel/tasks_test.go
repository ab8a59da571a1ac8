package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
	"weak"
)

type countArgs struct {
	hits []int32
	add  int32
}

func (a *countArgs) run(lo, hi int) {
	for i := lo; i < hi; i++ {
		atomic.AddInt32(&a.hits[i], a.add)
	}
}

var countTasks = NewTasks((*countArgs).run)

func TestTasksCoverEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 5} {
		prev := SetThreads(threads)
		for _, n := range []int{0, 1, 7, 100, 1001} {
			for _, grain := range []int{0, 1, 3, 64, 5000} {
				hits := make([]int32, n)
				countTasks.For(n, grain, countArgs{hits: hits, add: 3})
				for i, h := range hits {
					if h != 3 {
						t.Fatalf("threads %d n %d grain %d: index %d counted %d, want 3 (one visit)", threads, n, grain, i, h)
					}
				}
			}
		}
		SetThreads(prev)
	}
}

// chunkArgs records the chunks of a call.
type chunkArgs struct{ got chan [2]int }

func (a *chunkArgs) run(lo, hi int) { a.got <- [2]int{lo, hi} }

var chunkTasks = NewTasks((*chunkArgs).run)

func TestTasksChunksAreFors(t *testing.T) {
	prev := SetThreads(4)
	defer SetThreads(prev)
	const n, grain = 1000, 37
	want := map[[2]int]bool{}
	got := make(chan [2]int, n)
	For(n, grain, func(lo, hi int) { got <- [2]int{lo, hi} })
	for range len(got) {
		want[<-got] = true
	}
	chunkTasks.For(n, grain, chunkArgs{got: got})
	if len(got) != len(want) {
		t.Fatalf("Tasks.For ran %d chunks, For %d", len(got), len(want))
	}
	for range len(got) {
		if c := <-got; !want[c] {
			t.Fatalf("Tasks.For ran chunk %v, which For does not", c)
		}
	}
}

// nestArgs runs a countTasks loop over its own row of hits per index.
type nestArgs struct {
	rows [][]int32
}

func (a *nestArgs) run(lo, hi int) {
	for i := lo; i < hi; i++ {
		countTasks.For(len(a.rows[i]), 10, countArgs{hits: a.rows[i], add: int32(i + 1)})
		nestTasks.For(0, 1, nestArgs{}) // the same Tasks nested in itself: no chunk
	}
}

var nestTasks *Tasks[nestArgs]

func init() { nestTasks = NewTasks((*nestArgs).run) }

func TestTasksNest(t *testing.T) {
	prev := SetThreads(3)
	defer SetThreads(prev)
	rows := make([][]int32, 16)
	for i := range rows {
		rows[i] = make([]int32, 100+i)
	}
	nestTasks.For(len(rows), 1, nestArgs{rows: rows})
	for i, row := range rows {
		for j, h := range row {
			if h != int32(i+1) {
				t.Fatalf("row %d index %d counted %d, want %d", i, j, h, i+1)
			}
		}
	}
}

func TestTasksDoNotAllocate(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	hits := make([]int32, 100)
	args := countArgs{hits: hits, add: 1}
	countTasks.For(len(hits), 10, args) // warm the pools
	if a := testing.AllocsPerRun(100, func() { countTasks.For(len(hits), 10, args) }); a != 0 {
		t.Fatalf("Tasks.For allocates %v times per call", a)
	}
}

// TestTasksDropArguments: once For returns, the pooled box no longer keeps
// the caller's slices alive.
func TestTasksDropArguments(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	hits := make([]int32, 1<<16)
	w := weak.Make(&hits[0])
	countTasks.For(len(hits), 1<<12, countArgs{hits: hits, add: 1})
	hits = nil
	runtime.GC()
	if w.Value() != nil {
		t.Fatal("the slice passed to Tasks.For is still reachable after the call")
	}
}
