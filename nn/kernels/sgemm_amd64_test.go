//go:build amd64 && gc && !noasm

package kernels

import (
	"math/rand/v2"
	"testing"
)

func init() {
	if supported[AVX2] {
		sgemmGeometries = append(sgemmGeometries, struct {
			name string
			arch func() *sgemmArch
		}{"avx2_14x8", func() *sgemmArch { return newSgemmArch(14, 8, sgemmKernel14x8AVX2, nil) }},
			struct {
				name string
				arch func() *sgemmArch
			}{"avx2_4x24", func() *sgemmArch { return newSgemmArch(4, 24, sgemmKernel4x24AVX2, nil) }})
	}
	if supported[AVX512] {
		sgemmGeometries = append(sgemmGeometries, struct {
			name string
			arch func() *sgemmArch
		}{"avx512_14x24", func() *sgemmArch { return newSgemmArch(14, 24, sgemmKernel14x24AVX512, nil) }})
	}
}

// TestSgemmNarrowGeometry checks that products 24 columns wide (and other
// multiples of 24 but not of 16) take the 24-column tile, AVX2's 4×24 and
// AVX-512's 14×24, also when a weight gradient runs as (Bᵀ·A)ᵀ with m as
// the width, and that they match the reference loop. Multiples of 16 stay
// on the main tiles (on AVX-512, 48 is a 14×32 and a 14×16 tile).
func TestSgemmNarrowGeometry(t *testing.T) {
	for _, c := range []struct {
		impl         string
		mr, nr       int // the narrow tile's rows, the main tile's columns
		narrow, wide []int
	}{
		{AVX2, 4, 16, []int{24, 72, 120}, []int{8, 16, 40, 48, 96}},
		{AVX512, 14, 32, []int{24, 72, 120}, []int{8, 16, 40, 48, 96}},
	} {
		t.Run(c.impl, func(t *testing.T) {
			if !supported[c.impl] {
				t.Skip("not supported here")
			}
			prev := Impl()
			defer Use(prev)
			if err := Use(c.impl); err != nil {
				t.Fatal(err)
			}
			for _, n := range c.narrow {
				if g := sgemmImpl.pick(n); g.nr != 24 {
					t.Errorf("pick(%d) chose %d×%d, want %d×24", n, g.mr, g.nr, c.mr)
				}
			}
			for _, n := range c.wide {
				if g := sgemmImpl.pick(n); g.nr != c.nr {
					t.Errorf("pick(%d) chose %d×%d, want %d columns", n, g.mr, g.nr, c.nr)
				}
			}
			rng := rand.New(rand.NewPCG(24, 4))
			for _, tc := range []sgemmCase{
				{m: 37, n: 24, k: 96, alpha: 1, beta: 0},
				{m: 9, n: 72, k: 5, alpha: 1.5, beta: 0.5, pad: 2, off: 1},
				{transB: true, m: 13, n: 24, k: 40, alpha: 1, beta: 1, pad: 1, off: 3},
				{transA: true, m: 24, n: 8, k: 300, alpha: 1, beta: 0, off: 2}, // swapped: width m = 24
				{m: 30, n: 120, k: 33, alpha: -0.5, beta: 2, pad: 3, off: 1},
			} {
				tc.run(t, rng, nil)
			}
		})
	}
}
