package kernels

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestArithBitIdentical runs Add and Mul under every implementation on
// hostile values for every length to 70 (pairs of ZMM and YMM vectors,
// single vectors, tails) and longer ones, the slices offset by 0–3
// elements between guard bands, out of place and in place: y must equal
// the generic loop's bit for bit (NaN for NaN) and nothing around it may
// change.
func TestArithBitIdentical(t *testing.T) {
	ops := []struct {
		name        string
		fn, generic func(y, a, b []float32)
	}{{"Add", Add, addGeneric}, {"Mul", Mul, mulGeneric}}
	lens := []int{}
	for n := 0; n <= 70; n++ {
		lens = append(lens, n)
	}
	lens = append(lens, 127, 128, 1000, 1029)
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 11))
		for _, op := range ops {
			for _, n := range lens {
				for _, inPlace := range []bool{false, true} {
					const guard = 7
					off := n % 4
					a, b, y := hostile(r, n+off+2*guard, true), hostile(r, n+off+2*guard, true), hostile(r, n+off+2*guard, true)
					sl := func(s []float32) []float32 { return s[guard+off : guard+off+n] }
					want := append([]float32(nil), y...)
					op.generic(sl(want), sl(a), sl(b))
					if inPlace {
						copy(y, a)
						op.fn(sl(y), sl(y), sl(b))
					} else {
						op.fn(sl(y), sl(a), sl(b))
					}
					for i := range y {
						if inPlace && (i < guard+off || i >= guard+off+n) {
							continue // the guard bands of a, copied into y
						}
						if !sameFloat32(y[i], want[i]) {
							t.Fatalf("%s n=%d off=%d in place %v: y[%d] = %v, want %v (guard bands %d)", op.name, n, off, inPlace, i-guard-off, y[i], want[i], guard)
						}
					}
				}
			}
		}
	})
}

func TestArithRejectsLengths(t *testing.T) {
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "kernels.Mul: y, a and b have 3, 3 and 2 elements") {
			t.Fatalf("panic %q", msg)
		}
	}()
	Mul(make([]float32, 3), make([]float32, 3), make([]float32, 2))
}
