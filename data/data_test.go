package data

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sortnet/sortnet/nn"
)

// toy is a data set whose images record their index and one random draw,
// so batches show both the order and the per-sample rng.
type toy struct {
	n, failAt int
	labels    []int
}

func (d *toy) Len() int { return d.n }

func (d *toy) Example(i int, rng *rand.Rand) (Example, error) {
	if i == d.failAt {
		return Example{}, errors.New("unreadable image")
	}
	label := i % 3
	if d.labels != nil {
		label = d.labels[i]
	}
	return Example{Image: nn.FromData([]float32{float32(i), rng.Float32()}, 1, 1, 2), Label: label}, nil
}

func collect(t *testing.T, l *Loader, epoch int) []*Batch {
	t.Helper()
	var out []*Batch
	for b, err := range l.Epoch(context.Background(), epoch) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestLoaderDeterministicAcrossWorkers(t *testing.T) {
	ds := &toy{n: 103, failAt: -1}
	var ref []*Batch
	for _, workers := range []int{1, 2, 8} {
		l, err := NewLoader(ds, LoaderConfig{Batch: 10, Workers: workers, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		got := collect(t, l, 3)
		if len(got) != 11 || got[10].Len() != 3 {
			t.Fatalf("%d workers: %d batches, last of %d; want 11 and 3", workers, len(got), got[len(got)-1].Len())
		}
		if ref == nil {
			ref = got
			continue
		}
		for i := range got {
			if !reflect.DeepEqual(got[i].X.Data(), ref[i].X.Data()) || !reflect.DeepEqual(got[i].Labels, ref[i].Labels) {
				t.Fatalf("%d workers: batch %d differs from 1 worker", workers, i)
			}
		}
	}
	// A shuffled epoch visits every sample once; another epoch differs.
	seen := map[int]bool{}
	for _, b := range ref {
		for k, i := range b.Indices {
			seen[i] = true
			if b.X.Data()[2*k] != float32(i) || b.Labels[k] != i%3 {
				t.Fatalf("sample %d collated wrongly", i)
			}
		}
	}
	if len(seen) != 103 {
		t.Fatalf("epoch visited %d distinct samples, want 103", len(seen))
	}
	l, _ := NewLoader(ds, LoaderConfig{Batch: 10, Seed: 42})
	if reflect.DeepEqual(collect(t, l, 4)[0].Indices, ref[0].Indices) {
		t.Fatal("epochs 3 and 4 have the same order")
	}
}

func TestLoaderDropLastAndSequential(t *testing.T) {
	l, err := NewLoader(&toy{n: 25, failAt: -1}, LoaderConfig{Batch: 10, Sampler: Sequential{}, DropLast: true})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, l, 0)
	if len(got) != 2 || l.Batches() != 2 || got[1].Indices[0] != 10 {
		t.Fatalf("got %d batches (Batches() %d)", len(got), l.Batches())
	}
}

func TestLoaderErrorNamesSample(t *testing.T) {
	l, _ := NewLoader(&toy{n: 40, failAt: 17}, LoaderConfig{Batch: 8, Workers: 3, Sampler: Sequential{}})
	n := 0
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			if !strings.Contains(err.Error(), "sample 17") || !strings.Contains(err.Error(), "unreadable") {
				t.Fatalf("error %q does not name sample 17 and the cause", err)
			}
			if n != 2 {
				t.Fatalf("error after %d good batches, want 2", n)
			}
			return
		}
		_ = b
		n++
	}
	t.Fatal("no error for an unreadable sample")
}

func TestLoaderEarlyBreakAndCancelStopWorkers(t *testing.T) {
	before := runtime.NumGoroutine()
	l, _ := NewLoader(&toy{n: 1000, failAt: -1}, LoaderConfig{Batch: 4, Workers: 4})
	for range l.Epoch(context.Background(), 0) {
		break
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last error
	k := 0
	for _, err := range l.Epoch(ctx, 1) {
		if k++; k == 3 {
			cancel()
		}
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("after cancel the last error is %v, want context.Canceled", last)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines left running (had %d)", g, before)
	}
}

func TestLoaderConfigErrors(t *testing.T) {
	if _, err := NewLoader(&toy{n: 3}, LoaderConfig{}); err == nil || !strings.Contains(err.Error(), "Batch") {
		t.Fatalf("zero batch: %v", err)
	}
	if _, err := NewLoader(&toy{n: 0}, LoaderConfig{Batch: 2}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty data set: %v", err)
	}
}

func TestCollate(t *testing.T) {
	img := func(v float32) *nn.Tensor { return nn.Full(v, 2, 2, 1) }
	b, err := Collate([]Example{
		{Image: img(1), Label: 2, Index: 5},
		{Image: img(2), Label: 0, Target: []float32{0.5, 0.25, 0.25}, Weight: 0.5, Index: 9},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !nn.SameShape(b.X.Shape(), []int{2, 2, 2, 1}) || b.X.Data()[4] != 2 {
		t.Fatalf("X = %v", b.X)
	}
	if want := []float32{0, 0, 1, 0.5, 0.25, 0.25}; !reflect.DeepEqual(b.Targets.Data(), want) {
		t.Fatalf("targets %v, want %v (one-hot for the hard label)", b.Targets.Data(), want)
	}
	if !reflect.DeepEqual(b.Weights, []float32{1, 0.5}) || !reflect.DeepEqual(b.Indices, []int{5, 9}) {
		t.Fatalf("weights %v indices %v", b.Weights, b.Indices)
	}
	if b.Boxes != nil || b.Ignore != nil {
		t.Fatalf("classification batch with boxes %v, ignore regions %v", b.Boxes, b.Ignore)
	}
	// Detection samples: boxes, labels, ignore regions and geometry per sample.
	box, region := Box{X1: 0, Y1: 0, X2: 1, Y2: 1}, Box{X1: 1, Y1: 1, X2: 2, Y2: 2}
	b, err = Collate([]Example{
		{Image: img(1), Boxes: []Box{box}, BoxLabels: []int{3}, Ignore: []Box{region}, Index: 0},
		{Image: img(2), Boxes: []Box{}, Index: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Boxes, [][]Box{{box}, {}}) || !reflect.DeepEqual(b.BoxLabels, [][]int{{3}, nil}) || !reflect.DeepEqual(b.Ignore, [][]Box{{region}, nil}) || len(b.Geoms) != 2 {
		t.Fatalf("detection batch: boxes %v labels %v ignore %v geoms %v", b.Boxes, b.BoxLabels, b.Ignore, b.Geoms)
	}
	_, err = Collate([]Example{{Image: img(1), Index: 1}, {Image: nn.New(3, 2, 1), Index: 4}})
	if err == nil || !strings.Contains(err.Error(), "sample 4") {
		t.Fatalf("shape mismatch: %v", err)
	}
}

func TestWeightedSamplerFrequencies(t *testing.T) {
	w := []float64{1, 0, 3, 6}
	s, err := NewWeighted(w, 100000, true)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]float64, 4)
	for _, i := range s.Indices(4, rand.New(rand.NewPCG(1, 2))) {
		counts[i]++
	}
	for i, c := range counts {
		want := w[i] / 10
		if got := c / 100000; math.Abs(got-want) > 0.01 {
			t.Fatalf("index %d drawn %.3f of the time, want %.3f", i, got, want)
		}
	}
	// Without replacement: distinct indices, zero weights never drawn.
	s, _ = NewWeighted(w, 3, false)
	got := s.Indices(4, rand.New(rand.NewPCG(3, 4)))
	seen := map[int]bool{}
	for _, i := range got {
		if seen[i] || i == 1 {
			t.Fatalf("without replacement drew %v", got)
		}
		seen[i] = true
	}
	for _, bad := range [][]float64{{}, {0, 0}, {1, math.NaN()}, {-1, 2}} {
		if _, err := NewWeighted(bad, 0, true); err == nil {
			t.Fatalf("weights %v accepted", bad)
		}
	}
	if _, err := NewWeighted([]float64{1, 0}, 2, false); err == nil {
		t.Fatal("2 draws without replacement from 1 positive weight accepted")
	}
}

func TestClassBalancedEqualisesClasses(t *testing.T) {
	labels := make([]int, 0, 1000)
	for c, n := range []int{700, 200, 90, 10} {
		for i := 0; i < n; i++ {
			labels = append(labels, c)
		}
	}
	labels = append(labels, Unlabeled)
	s, err := ClassBalanced(labels, 40000)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]float64, 4)
	for _, i := range s.Indices(len(labels), rand.New(rand.NewPCG(5, 6))) {
		if labels[i] == Unlabeled {
			t.Fatal("drew an unlabelled sample")
		}
		counts[labels[i]]++
	}
	for c, n := range counts {
		if f := n / 40000; math.Abs(f-0.25) > 0.01 {
			t.Fatalf("class %d drawn %.3f of the time, want 0.25", c, f)
		}
	}
}

func TestStratifiedSplit(t *testing.T) {
	var labels []int
	for c, n := range []int{50, 30, 7, 1} {
		for i := 0; i < n; i++ {
			labels = append(labels, c)
		}
	}
	parts, err := StratifiedSplit(labels, []float64{0.8, 0.2}, 9)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts[0])+len(parts[1]) != len(labels) {
		t.Fatal("split lost or duplicated samples")
	}
	seen := map[int]bool{}
	for _, p := range parts {
		for _, i := range p {
			if seen[i] {
				t.Fatalf("index %d in two parts", i)
			}
			seen[i] = true
		}
	}
	if got := ClassCounts(pick(labels, parts[1]), 4); !reflect.DeepEqual(got, []int{10, 6, 1, 0}) {
		t.Fatalf("validation class counts %v, want [10 6 1 0]", got)
	}
	again, _ := StratifiedSplit(labels, []float64{0.8, 0.2}, 9)
	if !reflect.DeepEqual(again, parts) {
		t.Fatal("same seed, different split")
	}
	for _, bad := range [][]float64{{1}, {0.5, 0.6}, {0, 1}, {math.NaN(), 0.5}} {
		if _, err := StratifiedSplit(labels, bad, 1); err == nil {
			t.Fatalf("fractions %v accepted", bad)
		}
	}
}

func pick(labels, idx []int) []int {
	out := make([]int, len(idx))
	for k, i := range idx {
		out[k] = labels[i]
	}
	return out
}

func TestSubset(t *testing.T) {
	base := &Tensors{Images: []*nn.Tensor{nn.Full(0, 1, 1, 1), nn.Full(1, 1, 1, 1), nn.Full(2, 1, 1, 1)}, Y: []int{0, 1, 0}, Names: []string{"a", "b"}}
	s, err := NewSubset(base, []int{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := s.Example(0, nil)
	if ex.Image.Data()[0] != 2 || !reflect.DeepEqual(s.Labels(), []int{0, 1}) || s.Classes()[1] != "b" {
		t.Fatalf("subset example %v labels %v", ex.Image, s.Labels())
	}
	if _, err := NewSubset(base, []int{3}); err == nil {
		t.Fatal("out-of-range index accepted")
	}
}

func TestEpochFromResumesExactly(t *testing.T) {
	l, _ := NewLoader(&toy{n: 50, failAt: -1}, LoaderConfig{Batch: 8, Seed: 3})
	all := collect(t, l, 2)
	var tail []*Batch
	for b, err := range l.EpochFrom(context.Background(), 2, 4) {
		if err != nil {
			t.Fatal(err)
		}
		tail = append(tail, b)
	}
	if len(tail) != len(all)-4 {
		t.Fatalf("EpochFrom(4) gave %d batches, want %d", len(tail), len(all)-4)
	}
	for i, b := range tail {
		if !reflect.DeepEqual(b.X.Data(), all[i+4].X.Data()) {
			t.Fatalf("batch %d differs when resumed", i+4)
		}
	}
}

func TestMixedBatchesHaveExactComposition(t *testing.T) {
	a, b := &toy{n: 10, failAt: -1}, &toy{n: 3, failAt: -1}
	l, err := NewLoader(&Concat{a, b}, LoaderConfig{Batch: 4, Seed: 1, Sampler: Mixed{LenA: 10, PerBatchA: 2, PerBatchB: 2}})
	if err != nil {
		t.Fatal(err)
	}
	batches := collect(t, l, 0)
	if len(batches) != 5 {
		t.Fatalf("%d batches, want 5", len(batches))
	}
	seenA := map[int]bool{}
	countB := map[int]int{}
	for _, bt := range batches {
		for k, i := range bt.Indices {
			if (k < 2) != (i < 10) {
				t.Fatalf("batch indices %v: want 2 from A then 2 from B", bt.Indices)
			}
			if i < 10 {
				seenA[i] = true
			} else {
				countB[i]++
			}
		}
	}
	if len(seenA) != 10 {
		t.Fatalf("A visited %d of 10", len(seenA))
	}
	for i := 10; i < 13; i++ {
		if countB[i] < 3 || countB[i] > 4 {
			t.Fatalf("B sample %d drawn %d times of 10, want cycling 3-4", i, countB[i])
		}
	}
}
