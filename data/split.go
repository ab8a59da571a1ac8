package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// StratifiedSplit divides the indices of labels into len(fractions) parts
// (fractions must be positive and sum to 1) so that every class is spread
// over the parts in the same proportions, shuffled with a seeded rng. Use it
// to carve a validation set out of the training data, so that model
// selection never looks at the test set.
//
// Within a class of n samples, part k gets round(n·(f_0+…+f_k)) −
// round(n·(f_0+…+f_{k-1})) samples, so tiny classes still land somewhere.
// Unlabeled samples are split as a class of their own. Each part's indices
// are sorted.
func StratifiedSplit(labels []int, fractions []float64, seed uint64) ([][]int, error) {
	if len(fractions) < 2 {
		return nil, fmt.Errorf("data.StratifiedSplit: %d fractions; need at least 2", len(fractions))
	}
	sum := 0.0
	for _, f := range fractions {
		if !(f > 0 && f < 1) {
			return nil, fmt.Errorf("data.StratifiedSplit: fraction %v must lie in (0, 1)", f)
		}
		sum += f
	}
	if math.Abs(sum-1) > 1e-9 {
		return nil, fmt.Errorf("data.StratifiedSplit: fractions %v sum to %v, not 1", fractions, sum)
	}
	byClass := map[int][]int{}
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	classes := make([]int, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Ints(classes)
	rng := rand.New(rand.NewPCG(seed, 0x5b117))
	parts := make([][]int, len(fractions))
	for _, c := range classes {
		idx := byClass[c]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		n, acc, start := float64(len(idx)), 0.0, 0
		for k, f := range fractions {
			acc += f
			end := int(math.Round(n * acc))
			if k == len(fractions)-1 {
				end = len(idx)
			}
			parts[k] = append(parts[k], idx[start:end]...)
			start = end
		}
	}
	for _, p := range parts {
		sort.Ints(p)
	}
	return parts, nil
}

// ClassCounts returns how many samples each class has, indexed by class
// (k classes; labels outside [0, k) are ignored).
func ClassCounts(labels []int, k int) []int {
	counts := make([]int, k)
	for _, l := range labels {
		if l >= 0 && l < k {
			counts[l]++
		}
	}
	return counts
}
