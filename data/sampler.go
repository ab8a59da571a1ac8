package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// A Sampler chooses the order (and, with replacement, the multiset) of the
// sample indices of one epoch. rng is seeded from the loader seed and the
// epoch, so an epoch's order is reproducible.
type Sampler interface {
	Indices(n int, rng *rand.Rand) []int
}

// Sequential visits 0, 1, …, n-1.
type Sequential struct{}

// Indices returns 0..n-1.
func (Sequential) Indices(n int, _ *rand.Rand) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Random visits every index once in a random order.
type Random struct{}

// Indices returns a random permutation of 0..n-1.
func (Random) Indices(n int, rng *rand.Rand) []int { return rng.Perm(n) }

// Weighted draws NumSamples indices with probability proportional to
// Weights, as PyTorch's WeightedRandomSampler: with replacement by default,
// or without (then NumSamples <= the number of positive weights).
type Weighted struct {
	Weights    []float64
	NumSamples int // 0 means len(Weights)
	NoReplace  bool
	cum        []float64
}

// NewWeighted validates weights (finite, non-negative, not all zero) and
// returns a sampler drawing numSamples indices (0: as many as weights).
func NewWeighted(weights []float64, numSamples int, replacement bool) (*Weighted, error) {
	if len(weights) == 0 {
		return nil, fmt.Errorf("data.NewWeighted: no weights")
	}
	positive := 0
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return nil, fmt.Errorf("data.NewWeighted: weight %d is %v; weights must be finite and non-negative", i, w)
		}
		if w > 0 {
			positive++
		}
	}
	if positive == 0 {
		return nil, fmt.Errorf("data.NewWeighted: all %d weights are zero", len(weights))
	}
	if numSamples < 0 {
		return nil, fmt.Errorf("data.NewWeighted: numSamples %d is negative", numSamples)
	}
	if numSamples == 0 {
		numSamples = len(weights)
	}
	if !replacement && numSamples > positive {
		return nil, fmt.Errorf("data.NewWeighted: %d samples without replacement, but only %d weights are positive", numSamples, positive)
	}
	w := &Weighted{Weights: weights, NumSamples: numSamples, NoReplace: !replacement}
	w.cum = make([]float64, len(weights))
	s := 0.0
	for i, x := range weights {
		s += x
		w.cum[i] = s
	}
	return w, nil
}

// Indices draws the epoch's indices. n must equal len(Weights).
func (w *Weighted) Indices(n int, rng *rand.Rand) []int {
	if n != len(w.Weights) {
		panic(fmt.Sprintf("data.Weighted: %d weights for a data set of %d samples", len(w.Weights), n))
	}
	out := make([]int, w.NumSamples)
	if !w.NoReplace {
		total := w.cum[len(w.cum)-1]
		for k := range out {
			u := rng.Float64() * total
			i := sort.SearchFloat64s(w.cum, u)
			// SearchFloat64s finds the first cum >= u; skip zero-weight
			// entries that share that cumulative value.
			for i < len(w.cum)-1 && (w.cum[i] <= u || w.Weights[i] == 0) {
				i++
			}
			out[k] = i
		}
		return out
	}
	// Without replacement: exponential-race keys (Efraimidis–Spirakis).
	type key struct {
		k float64
		i int
	}
	keys := make([]key, 0, len(w.Weights))
	for i, x := range w.Weights {
		if x > 0 {
			keys = append(keys, key{math.Log(1-rng.Float64()) / x, i})
		}
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a].k > keys[b].k || keys[a].k == keys[b].k && keys[a].i < keys[b].i })
	for k := range out {
		out[k] = keys[k].i
	}
	return out
}

// ClassBalanced returns a with-replacement sampler that draws every class
// equally often: each sample weighs N/count(class), as detect-waste's
// --weighted_sampler. Unlabeled samples get weight 0. numSamples 0 means
// len(labels).
func ClassBalanced(labels []int, numSamples int) (*Weighted, error) {
	counts := map[int]int{}
	for _, l := range labels {
		if l != Unlabeled {
			counts[l]++
		}
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("data.ClassBalanced: no labelled samples")
	}
	w := make([]float64, len(labels))
	for i, l := range labels {
		if l != Unlabeled {
			w[i] = float64(len(labels)) / float64(counts[l])
		}
	}
	return NewWeighted(w, numSamples, true)
}
