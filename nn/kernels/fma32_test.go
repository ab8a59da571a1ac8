package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestFMA32 checks fma32 against a·b + c computed exactly (math/big) and
// rounded once: two sums that land exactly halfway between two float32
// values in float64, where rounding the float64 sum again goes the wrong
// way, then random operands of every magnitude, subnormals included.
func TestFMA32(t *testing.T) {
	exact := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(300).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetPrec(300).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetPrec(300).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	u := float32(math.Ldexp(1, -18))
	h := float32(math.Ldexp(1, -24))
	one := float32(1)
	odd := math.Nextafter32(1, 2) // 1 + 2^-23
	for _, c := range []struct{ a, b, c, want float32 }{
		// (1+2^-18)(1-2^-18)·2^-24 = 2^-24 - 2^-60: the float64 sum is
		// the midpoint of 1+2^-23 and 1+2^-22; the exact one is below it.
		{1 + u, (1 - u) * h, odd, odd},
		// -(2^-24 - 2^-60) + (1+2^-23): the float64 sum is the midpoint
		// of 1 and 1+2^-23; the exact one is above it.
		{-(1 + u), (1 - u) * h, odd, 1 + 2*h},
		// An exact tie stays with the even neighbour.
		{one, h, one, one},
	} {
		got := fma32(c.a, c.b, c.c)
		if got != c.want || got != exact(c.a, c.b, c.c) {
			t.Errorf("fma32(%v, %v, %v) = %v, want %v (exact %v)", c.a, c.b, c.c, got, c.want, exact(c.a, c.b, c.c))
		}
	}
	if naive := float32(float64(1+u)*float64((1-u)*h) + float64(odd)); naive == odd {
		t.Fatal("the first case does not round twice the wrong way; it tests nothing")
	}
	r := rand.New(rand.NewPCG(31, 32))
	val := func() float32 {
		if r.IntN(10) == 0 {
			return math.Float32frombits(r.Uint32() & 0x807fffff) // subnormal or zero
		}
		return float32(math.Ldexp(r.Float64()*2-1, r.IntN(80)-40))
	}
	for range 200000 {
		a, b, c := val(), val(), val()
		if r.IntN(2) == 0 { // sums that cancel
			c = -float32(float64(a) * float64(b))
		}
		if got, want := fma32(a, b, c), exact(a, b, c); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%v, %v, %v) = %v, want %v", a, b, c, got, want)
		}
	}
}

// TestExpPolyPaths: wherever expPoly is sure of its roundings it gives
// expPolyExact's bits, over a dense sweep of the exponential's range; and
// the sweep reaches the fallback.
func TestExpPolyPaths(t *testing.T) {
	unsure := 0
	for x := float32(-88); x <= 0; x = math.Nextafter32(x, 1) + 3e-4 {
		a := float32(x * expLog2e)
		sr := a + expRound
		nf := sr - expRound
		y, sure := expPoly(x, nf)
		if !sure {
			unsure++
			continue
		}
		if want := expPolyExact(x, nf); math.Float32bits(y) != math.Float32bits(want) {
			t.Fatalf("t=%v: expPoly %v, expPolyExact %v", x, y, want)
		}
	}
	if unsure == 0 {
		t.Error("no step of the sweep took the exact path")
	}
	t.Logf("%d points of the sweep took the exact path", unsure)
}
