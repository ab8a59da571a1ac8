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
}

// TestSgemmNarrowGeometry checks that AVX2 products 24 columns wide (and
// other multiples of 24 but not of 16) take the 4×24 tile, also when a
// weight gradient runs as (Bᵀ·A)ᵀ with m as the width, and that they
// match the reference loop.
func TestSgemmNarrowGeometry(t *testing.T) {
	if !supported[AVX2] {
		t.Skip("no AVX2")
	}
	prev := Impl()
	defer Use(prev)
	if err := Use(AVX2); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{24, 72, 120} {
		if g := sgemmImpl.pick(n); g.nr != 24 {
			t.Errorf("pick(%d) chose %d×%d, want 4×24", n, g.mr, g.nr)
		}
	}
	for _, n := range []int{8, 16, 40, 48, 96} {
		if g := sgemmImpl.pick(n); g.nr != 16 {
			t.Errorf("pick(%d) chose %d×%d, want 6×16", n, g.mr, g.nr)
		}
	}
	rng := rand.New(rand.NewPCG(24, 4))
	for _, tc := range []sgemmCase{
		{m: 37, n: 24, k: 96, alpha: 1, beta: 0},
		{m: 9, n: 72, k: 5, alpha: 1.5, beta: 0.5, pad: 2, off: 1},
		{transB: true, m: 13, n: 24, k: 40, alpha: 1, beta: 1, pad: 1, off: 3},
		{transA: true, m: 24, n: 8, k: 300, alpha: 1, beta: 0, off: 2}, // swapped: width m = 24
	} {
		tc.run(t, rng, nil)
	}
}
