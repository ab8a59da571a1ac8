package litter

import (
	"fmt"
	"math"
	"sort"
)

// Classes are the eight detect-waste classes in class-index order: sorted by
// name, as torchvision's ImageFolder orders class folders. Index 0,
// background, is ground with no litter; the other seven are the litter
// classes of detect-waste's 7-class detector, whose COCO category id equals
// the class index (1..7).
var Classes = []string{
	"background",
	"bio",
	"glass",
	"metals_and_plastic",
	"non_recyclable",
	"other",
	"paper",
	"unknown",
}

// Class indices, in the order of Classes.
const (
	Background = iota
	Bio
	Glass
	MetalsAndPlastic
	NonRecyclable
	Other
	Paper
	Unknown
	NumClasses
)

// Unlabeled is the given label of a pool sample: the pool is unlabelled and
// its true class is kept apart (Sample.True, pool_truth.csv). It equals
// data.Unlabeled.
const Unlabeled = -1

// DetectWasteCounts are the per-class image counts of the detect-waste
// classification training split (16,880 images), in the order of Classes.
// Labelled splits follow these proportions.
var DetectWasteCounts = []int{710, 122, 1841, 7710, 2234, 390, 1282, 2591}

// PoolWeights are the class proportions of the unlabelled pool, shaped like
// detect-waste's OpenLitterMap crops: no bio and no background, mostly
// metals_and_plastic and unknown. (OpenLitterMap publishes no per-class
// counts for those crops; these proportions are this generator's assumption.)
var PoolWeights = []float64{0, 0, 0.06, 0.50, 0.12, 0.04, 0.06, 0.22}

// Split names a part of the synthetic data set.
type Split int

// The splits. Train, Val and Test are labelled and follow the detect-waste
// class proportions; Pool is the unlabelled pool, drawn with a domain shift
// (other grounds, light and camera) and class proportions PoolWeights.
const (
	Train Split = iota
	Val
	Test
	Pool
)

// Splits lists every split in order.
var Splits = []Split{Train, Val, Test, Pool}

func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Val:
		return "val"
	case Test:
		return "test"
	case Pool:
		return "pool"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

func (s Split) valid() bool { return s >= Train && s <= Pool }

// weights returns the class proportions of the split (a fresh slice).
func (s Split) weights() []float64 {
	if s == Pool {
		return append([]float64(nil), PoolWeights...)
	}
	w := make([]float64, NumClasses)
	for c, n := range DetectWasteCounts {
		w[c] = float64(n)
	}
	return w
}

// ClassCounts returns how many of the n samples of a split belong to each
// class: n·p rounded by largest remainder, so the counts sum to n, and every
// class with a positive proportion gets at least one sample when n allows
// (the sample is taken from the currently largest class).
func ClassCounts(split Split, n int) []int {
	return apportion(split.weights(), n)
}

func apportion(w []float64, n int) []int {
	counts := make([]int, len(w))
	if n <= 0 {
		return counts
	}
	sum := 0.0
	pos := 0
	for _, x := range w {
		sum += x
		if x > 0 {
			pos++
		}
	}
	type rem struct {
		c int
		f float64
	}
	rems := make([]rem, 0, len(w))
	left := n
	for c, x := range w {
		q := float64(n) * x / sum
		fl := math.Floor(q)
		counts[c] = int(fl)
		left -= int(fl)
		if x > 0 {
			rems = append(rems, rem{c, q - fl})
		}
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].f > rems[j].f })
	for i := 0; left > 0; i++ {
		counts[rems[i%len(rems)].c]++
		left--
	}
	if n >= pos {
		for c, x := range w {
			if x > 0 && counts[c] == 0 {
				big := 0
				for k := range counts {
					if counts[k] > counts[big] {
						big = k
					}
				}
				counts[big]--
				counts[c]++
			}
		}
	}
	return counts
}

// labeler assigns classes to the indices of one split: a keyed
// pseudo-random permutation of 0..n-1 (a Feistel network with cycle
// walking) followed by the cumulative class counts, so the class of index i
// costs O(1) and the split holds exactly ClassCounts samples per class.
type labeler struct {
	n    int
	cum  []int // cum[c] = first position of class c
	bits uint  // half width of the Feistel block
	keys [4]uint64
}

func newLabeler(seed uint64, split Split, n int) *labeler {
	counts := ClassCounts(split, n)
	l := &labeler{n: n, cum: make([]int, len(counts)+1)}
	for c, k := range counts {
		l.cum[c+1] = l.cum[c] + k
	}
	b := uint(1)
	for (1 << (2 * b)) < n {
		b++
	}
	l.bits = b
	for r := range l.keys {
		l.keys[r] = mix(seed ^ mix(uint64(split)*0x51ed2701+uint64(r)+0xa1b2c3d4))
	}
	return l
}

func (l *labeler) permute(i int) int {
	mask := uint64(1)<<l.bits - 1
	x := uint64(i)
	for {
		lo, hi := x&mask, x>>l.bits
		for _, k := range l.keys {
			lo, hi = hi^(mix(lo^k)&mask), lo
		}
		x = hi<<l.bits | lo
		if x < uint64(l.n) {
			return int(x)
		}
	}
}

// class returns the true class of index i.
func (l *labeler) class(i int) int {
	p := l.permute(i)
	c := sort.SearchInts(l.cum, p+1) - 1
	return c
}
