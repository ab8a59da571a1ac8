package litter

import "math"

// Procedural noise on float32 world or object coordinates. Every function
// is pure: the same (x, y, seed) always gives the same value, which is what
// lets a crop and a whole scene show the same ground.

// hash2 mixes an integer lattice point and a seed into 32 random bits.
func hash2(x, y int32, seed uint32) uint32 {
	return fmix(uint32(x)*0x8da6b343 ^ uint32(y)*0xd8163841 ^ seed*0xcb1ab31f)
}

// fmix is hash2's finaliser.
func fmix(h uint32) uint32 {
	h ^= h >> 15
	h *= 0x2c1b3c6d
	h ^= h >> 13
	h *= 0x297a2d39
	h ^= h >> 16
	return h
}

// unit maps 32 random bits to [0, 1).
func unit(h uint32) float32 { return float32(h>>8) * (1.0 / (1 << 24)) }

func floor32(x float32) (int32, float32) {
	i := int32(x)
	if x < float32(i) {
		i--
	}
	return i, x - float32(i)
}

// gradient directions of Perlin-style noise: 8 unit vectors.
var gradX = [8]float32{1, 0.7071, 0, -0.7071, -1, -0.7071, 0, 0.7071}
var gradY = [8]float32{0, 0.7071, 1, 0.7071, 0, -0.7071, -1, -0.7071}

// noise is 2-D gradient (Perlin-style) noise with a quintic fade, in about
// [-1, 1], with features about one unit apart.
func noise(x, y float32, seed uint32) float32 {
	xi, fx := floor32(x)
	yi, fy := floor32(y)
	seed *= 0xcb1ab31f
	hx0, hx1 := uint32(xi)*0x8da6b343, uint32(xi+1)*0x8da6b343
	hy0, hy1 := uint32(yi)*0xd8163841^seed, uint32(yi+1)*0xd8163841^seed
	h00 := fmix(hx0^hy0) & 7
	h10 := fmix(hx1^hy0) & 7
	h01 := fmix(hx0^hy1) & 7
	h11 := fmix(hx1^hy1) & 7
	n00 := gradX[h00]*fx + gradY[h00]*fy
	n10 := gradX[h10]*(fx-1) + gradY[h10]*fy
	n01 := gradX[h01]*fx + gradY[h01]*(fy-1)
	n11 := gradX[h11]*(fx-1) + gradY[h11]*(fy-1)
	u := fx * fx * fx * (fx*(fx*6-15) + 10)
	v := fy * fy * fy * (fy*(fy*6-15) + 10)
	a := n00 + (n10-n00)*u
	b := n01 + (n11-n01)*u
	return (a + (b-a)*v) * 1.41
}

// fbm sums octaves of noise, each twice the frequency and gain times the
// amplitude of the one before; the result is normalised to about [-1, 1].
func fbm(x, y float32, seed uint32, octaves int, gain float32) float32 {
	var sum, norm float32
	amp := float32(1)
	for o := 0; o < octaves; o++ {
		sum += amp * noise(x, y, seed+uint32(o)*0x9e37)
		norm += amp
		amp *= gain
		x, y = x*2.03+17.1, y*2.03-9.7
	}
	return sum / norm
}

// cell is the result of cellular (Worley) noise: the distances to the
// nearest and second nearest feature points and the nearest one's id.
type cell struct {
	f1, f2 float32
	id     uint32
	dx, dy float32 // offset from the nearest feature point to the query point
}

// cellular evaluates Worley noise with one jittered feature point per unit
// cell. jitter in [0, 1] controls how irregular the cells are.
func cellular(x, y float32, seed uint32, jitter float32) cell {
	xi, fx := floor32(x)
	yi, fy := floor32(y)
	seed *= 0xcb1ab31f
	hx := [3]uint32{uint32(xi-1) * 0x8da6b343, uint32(xi) * 0x8da6b343, uint32(xi+1) * 0x8da6b343}
	const k = 1.0 / 65536
	c := cell{f1: 9, f2: 9}
	for j := int32(-1); j <= 1; j++ {
		hy := uint32(yi+j)*0xd8163841 ^ seed
		oy := fy - float32(j) - 0.5
		for i := int32(-1); i <= 1; i++ {
			h := fmix(hx[i+1] ^ hy)
			dx := fx - float32(i) - 0.5 - jitter*(float32(h&0xffff)*k-0.5)
			dy := oy - jitter*(float32(h>>16)*k-0.5)
			d := dx*dx + dy*dy
			if d < c.f1 {
				c.f2 = c.f1
				c.f1 = d
				c.id = h
				c.dx, c.dy = dx, dy
			} else if d < c.f2 {
				c.f2 = d
			}
		}
	}
	c.f1 = sqrt32(c.f1)
	c.f2 = sqrt32(c.f2)
	return c
}

// spot finds the one round spot (a pebble, a stone) that unit cell may
// hold: with probability prob a cell has a spot of radius at most 0.25 whose
// centre lies in the middle of the cell, so only the cell itself needs
// looking at. It returns the distance to the spot's centre over its radius
// (< 1 inside), the offset from the centre in radii, and the spot's random
// bits; ok is false where the cell has no spot.
func spot(x, y float32, seed uint32, prob float32) (r, dx, dy float32, id uint32, ok bool) {
	xi, fx := floor32(x)
	yi, fy := floor32(y)
	h := hash2(xi, yi, seed)
	if unit(h) >= prob {
		return 0, 0, 0, 0, false
	}
	rad := 0.12 + 0.13*float32(h&0xff)/255
	cx := 0.25 + 0.5*float32(h>>8&0xff)/255
	cy := 0.25 + 0.5*float32(h>>16&0xff)/255
	dx, dy = (fx-cx)/rad, (fy-cy)/rad
	return sqrt32(dx*dx + dy*dy), dx, dy, h, true
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func clamp01(x float32) float32 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

func clamp(x, lo, hi float32) float32 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// smooth is smoothstep from e0 to e1.
func smooth(e0, e1, x float32) float32 {
	t := clamp01((x - e0) / (e1 - e0))
	return t * t * (3 - 2*t)
}

// bump is a cheap bell: 1 at 0, falling to 0 at |x| = 1.
func bump(x float32) float32 {
	x = 1 - x*x
	if x <= 0 {
		return 0
	}
	return x * x
}

// atan2 is a fast float32 arctangent (max error about 0.0015 rad).
func atan2(y, x float32) float32 {
	ax, ay := abs32(x), abs32(y)
	mx := ax
	if ay > mx {
		mx = ay
	}
	if mx == 0 {
		return 0
	}
	mn := ax
	if ay < mn {
		mn = ay
	}
	a := mn / mx
	s := a * a
	r := ((-0.0464964749*s+0.15931422)*s-0.327622764)*s*a + a
	if ay > ax {
		r = 1.57079637 - r
	}
	if x < 0 {
		r = 3.14159274 - r
	}
	if y < 0 {
		r = -r
	}
	return r
}

// sin32 is a fast float32 sine (absolute error below 1e-5 for the
// arguments used here, |x| < 1e6): range reduction to [-π/2, π/2] and a
// Taylor polynomial of degree 9.
func sin32(x float32) float32 {
	const twoPi, pi, halfPi = 6.2831855, 3.1415927, 1.5707964
	k, _ := floor32(x*(1/twoPi) + 0.5)
	x -= float32(k) * twoPi
	if x > halfPi {
		x = pi - x
	} else if x < -halfPi {
		x = -pi - x
	}
	x2 := x * x
	return x * (1 + x2*(-1.0/6+x2*(1.0/120+x2*(-1.0/5040+x2*(1.0/362880)))))
}

func cos32(x float32) float32 { return sin32(x + 1.5707964) }

// tri is a triangle wave of period 1 in [0, 1].
func tri(x float32) float32 {
	_, f := floor32(x)
	return abs32(2*f - 1)
}
