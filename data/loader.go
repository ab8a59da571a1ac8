package data

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/nn"
)

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	Batch    int    // samples per batch (required, > 0)
	Workers  int    // goroutines loading samples; 0 means GOMAXPROCS
	Prefetch int    // batches prepared ahead of the consumer; 0 means 2
	Seed     uint64 // seeds the sampler and every sample's rng
	// Sampler chooses each epoch's indices; nil means Random (shuffled).
	// Use Sequential{} for evaluation.
	Sampler  Sampler
	DropLast bool // drop a last, smaller batch
}

// Validate reports invalid settings.
func (c LoaderConfig) Validate() error {
	switch {
	case c.Batch <= 0:
		return fmt.Errorf("data.LoaderConfig: Batch %d must be positive", c.Batch)
	case c.Workers < 0:
		return fmt.Errorf("data.LoaderConfig: Workers %d is negative", c.Workers)
	case c.Prefetch < 0:
		return fmt.Errorf("data.LoaderConfig: Prefetch %d is negative", c.Prefetch)
	}
	return nil
}

// Batch is a collated group of examples.
type Batch struct {
	// X holds the images, [N, H, W, C].
	X *nn.Tensor
	// Labels holds each sample's class (Unlabeled if none).
	Labels []int
	// Targets holds soft labels [N, K] if any sample had a Target (samples
	// without one get a one-hot row of their Label), else nil.
	Targets *nn.Tensor
	// Weights holds each sample's loss weight (1 where the example said 0).
	Weights []float32
	// Boxes, BoxLabels, Ignore and Geoms hold each sample's objects,
	// ignore regions and geometry (detection).
	Boxes     [][]Box
	BoxLabels [][]int
	Ignore    [][]Box
	Geoms     []augment.Matrix
	// Indices holds each sample's index in the data set.
	Indices []int
}

// Len returns the number of samples in the batch.
func (b *Batch) Len() int { return len(b.Indices) }

// Loader turns a Dataset into batches: it draws each epoch's indices from
// the sampler, loads samples on worker goroutines, and yields batches in
// order. The batches of an epoch depend only on the data set, the seed and
// the epoch — never on the number of workers or on timing — because every
// sample's rng is augment.SampleRNG(seed, epoch, position in the epoch).
type Loader struct {
	ds  Dataset
	cfg LoaderConfig
}

// NewLoader validates cfg and returns a loader over ds.
func NewLoader(ds Dataset, cfg LoaderConfig) (*Loader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ds == nil || ds.Len() == 0 {
		return nil, errors.New("data.NewLoader: empty data set")
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = 2
	}
	if cfg.Sampler == nil {
		cfg.Sampler = Random{}
	}
	return &Loader{ds: ds, cfg: cfg}, nil
}

// Dataset returns the loader's data set.
func (l *Loader) Dataset() Dataset { return l.ds }

// Config returns the loader's configuration with defaults filled in.
func (l *Loader) Config() LoaderConfig { return l.cfg }

// order returns the sample indices of an epoch, grouped into batches.
func (l *Loader) order(epoch int) [][]int {
	s1, s2 := augment.SampleSeeds(l.cfg.Seed, uint64(epoch), math.MaxUint64) // no sample has this index
	rng := rand.New(rand.NewPCG(s1, s2))
	idx := l.cfg.Sampler.Indices(l.ds.Len(), rng)
	var batches [][]int
	for lo := 0; lo < len(idx); lo += l.cfg.Batch {
		hi := min(lo+l.cfg.Batch, len(idx))
		if hi-lo < l.cfg.Batch && l.cfg.DropLast {
			break
		}
		batches = append(batches, idx[lo:hi])
	}
	return batches
}

// Batches returns the number of batches in an epoch.
func (l *Loader) Batches() int { return len(l.order(0)) }

// Len returns the number of samples in an epoch (after DropLast).
func (l *Loader) Len() int {
	n := 0
	for _, b := range l.order(0) {
		n += len(b)
	}
	return n
}

type pending struct {
	examples []Example
	left     int
	err      error
	done     chan struct{}
	mu       sync.Mutex
}

// Epoch yields the batches of one epoch in order. It stops at the first
// error (a failing sample names its index) or when ctx is cancelled;
// breaking out of the loop early stops the workers.
func (l *Loader) Epoch(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return l.EpochFrom(ctx, epoch, 0)
}

// EpochFrom is Epoch starting at batch start (0-based): the batches it
// yields are exactly those Epoch yields from there on, so a run stopped in
// the middle of an epoch can resume bit for bit.
func (l *Loader) EpochFrom(ctx context.Context, epoch, start int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		batches := l.order(epoch)
		first := 0 // position in the epoch of the first sample yielded
		for _, b := range batches[:min(max(start, 0), len(batches))] {
			first += len(b)
		}
		batches = batches[min(max(start, 0), len(batches)):]
		ctx, cancel := context.WithCancel(ctx)

		type job struct {
			p        *pending
			slot     int
			pos, idx int
		}
		jobs := make(chan job)
		var wg sync.WaitGroup
		for w := 0; w < l.cfg.Workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					ex, err := l.ds.Example(j.idx, augment.SampleRNG(l.cfg.Seed, uint64(epoch), uint64(j.pos)))
					if err != nil {
						err = fmt.Errorf("data: sample %d: %w", j.idx, err)
					}
					ex.Index = j.idx
					j.p.mu.Lock()
					j.p.examples[j.slot] = ex
					if err != nil && j.p.err == nil {
						j.p.err = err
					}
					j.p.left--
					if j.p.left == 0 {
						close(j.p.done)
					}
					j.p.mu.Unlock()
				}
			}()
		}
		// Stop the producer first, then wait for the workers it fed.
		defer func() {
			cancel()
			wg.Wait()
		}()

		// The producer feeds at most Prefetch batches ahead of the consumer.
		ready := make(chan *pending, l.cfg.Prefetch)
		go func() {
			defer close(jobs)
			defer close(ready)
			pos := first
			for _, b := range batches {
				p := &pending{examples: make([]Example, len(b)), left: len(b), done: make(chan struct{})}
				select {
				case ready <- p:
				case <-ctx.Done():
					return
				}
				for slot, idx := range b {
					select {
					case jobs <- job{p, slot, pos, idx}:
					case <-ctx.Done():
						return
					}
					pos++
				}
			}
		}()

		for p := range ready {
			select {
			case <-p.done:
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			}
			if p.err != nil {
				yield(nil, p.err)
				return
			}
			b, err := Collate(p.examples)
			if !yield(b, err) || err != nil {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// Collate stacks examples into a Batch. All images must have the same
// shape; soft targets, where present, must have the same length.
func Collate(examples []Example) (*Batch, error) {
	if len(examples) == 0 {
		return nil, errors.New("data.Collate: no examples")
	}
	shape := examples[0].Image.Shape()
	per := examples[0].Image.Len()
	b := &Batch{
		X:       nn.New(append([]int{len(examples)}, shape...)...),
		Labels:  make([]int, len(examples)),
		Weights: make([]float32, len(examples)),
		Indices: make([]int, len(examples)),
	}
	k := 0
	detection := false
	for i, ex := range examples {
		if !nn.SameShape(ex.Image.Shape(), shape) {
			return nil, fmt.Errorf("data.Collate: sample %d has shape %v, sample %d has %v; resize images to one size",
				examples[0].Index, shape, ex.Index, ex.Image.Shape())
		}
		copy(b.X.Data()[i*per:(i+1)*per], ex.Image.Data())
		b.Labels[i], b.Indices[i] = ex.Label, ex.Index
		b.Weights[i] = ex.Weight
		if ex.Weight == 0 {
			b.Weights[i] = 1
		}
		if ex.Target != nil {
			if k != 0 && len(ex.Target) != k {
				return nil, fmt.Errorf("data.Collate: sample %d has %d soft-label classes, another has %d", ex.Index, len(ex.Target), k)
			}
			k = len(ex.Target)
		}
		detection = detection || ex.Boxes != nil
	}
	if k > 0 {
		b.Targets = nn.New(len(examples), k)
		for i, ex := range examples {
			row := b.Targets.Data()[i*k : (i+1)*k]
			switch {
			case ex.Target != nil:
				copy(row, ex.Target)
			case ex.Label >= 0 && ex.Label < k:
				row[ex.Label] = 1
			default:
				return nil, fmt.Errorf("data.Collate: sample %d has neither a soft label nor a class in [0, %d)", ex.Index, k)
			}
		}
	}
	if detection {
		b.Boxes = make([][]Box, len(examples))
		b.BoxLabels = make([][]int, len(examples))
		b.Ignore = make([][]Box, len(examples))
		b.Geoms = make([]augment.Matrix, len(examples))
		for i, ex := range examples {
			b.Boxes[i], b.BoxLabels[i], b.Ignore[i], b.Geoms[i] = ex.Boxes, ex.BoxLabels, ex.Ignore, ex.Geom
		}
	}
	return b, nil
}
