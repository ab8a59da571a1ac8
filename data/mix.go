package data

import (
	"fmt"
	"math/rand/v2"
)

// Concat is the data sets one after another: indices [0, A.Len()) are A's,
// the rest B's.
type Concat struct{ A, B Dataset }

// Len returns A.Len() + B.Len().
func (c *Concat) Len() int { return c.A.Len() + c.B.Len() }

// Example returns A's or B's example.
func (c *Concat) Example(i int, rng *rand.Rand) (Example, error) {
	if i < c.A.Len() {
		return c.A.Example(i, rng)
	}
	return c.B.Example(i-c.A.Len(), rng)
}

// Mixed samples a Concat so that every batch holds exactly PerBatchA
// samples of the first data set and PerBatchB of the second, in that
// order. An epoch is one pass over a random permutation of the first set;
// the second is visited in a random order too, cycling (a new permutation
// each cycle) when it is smaller than the epoch needs. Give the Loader a
// Batch of PerBatchA+PerBatchB.
type Mixed struct {
	LenA, PerBatchA, PerBatchB int
}

// Indices returns the epoch's indices into the Concat of n = LenA + LenB.
func (m Mixed) Indices(n int, rng *rand.Rand) []int {
	lenB := n - m.LenA
	if m.LenA <= 0 || m.PerBatchA <= 0 || m.PerBatchB < 0 || lenB < 0 || (m.PerBatchB > 0 && lenB == 0) {
		panic(fmt.Sprintf("data.Mixed: %d + %d samples, %d + %d per batch", m.LenA, lenB, m.PerBatchA, m.PerBatchB))
	}
	a := rng.Perm(m.LenA)
	var b []int
	out := make([]int, 0, n)
	for lo := 0; lo < len(a); lo += m.PerBatchA {
		out = append(out, a[lo:min(lo+m.PerBatchA, len(a))]...)
		for k := 0; k < m.PerBatchB; k++ {
			if len(b) == 0 {
				b = rng.Perm(lenB)
			}
			out = append(out, m.LenA+b[0])
			b = b[1:]
		}
	}
	return out
}
