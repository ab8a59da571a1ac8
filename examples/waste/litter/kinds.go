package litter

import "math/rand/v2"

// The litter kinds of each class. Colours are drawn from shared, heavily
// overlapping palettes (red cans and red wrappers, brown glass and brown
// cardboard and peels, green glass and green leaves, white paper and white
// bags), so a colour histogram cannot tell the classes apart; what differs
// is shape, shading and texture: cylinders with metallic bands, translucent
// bottles that refract the ground, flat fibrous sheets with folds, crinkled
// foil facets, organic outlines, woven cloth.

var (
	cRed    = rgb{0.78, 0.1, 0.1}
	cBlue   = rgb{0.1, 0.25, 0.68}
	cGreen  = rgb{0.12, 0.48, 0.2}
	cYellow = rgb{0.92, 0.8, 0.15}
	cWhite  = rgb{0.92, 0.92, 0.9}
	cSilver = rgb{0.72, 0.73, 0.75}
	cBlack  = rgb{0.09, 0.09, 0.1}
	cOrange = rgb{0.93, 0.5, 0.1}
	cBrown  = rgb{0.45, 0.28, 0.12}
	cPurple = rgb{0.42, 0.15, 0.5}
	cCream  = rgb{0.9, 0.85, 0.7}
	cKraft  = rgb{0.64, 0.49, 0.32}
	cGold   = rgb{0.8, 0.64, 0.25}
	cGrey   = rgb{0.5, 0.5, 0.5}
	cWhiteL = rgb{1, 1, 1}
)

// printPal is the ink of labels, wrappers and cartons.
var printPal = []swatch{
	{cRed, 3}, {cBlue, 3}, {cGreen, 2}, {cYellow, 2}, {cWhite, 2}, {cSilver, 2},
	{cBlack, 1.5}, {cOrange, 1}, {cPurple, 1}, {cGold, 1}, {cBrown, 0.7},
}

// kindSpec is a freshly drawn item with its size in the world.
type kindSpec struct {
	it     item
	size   float32 // world pixels spanned by the local range [-1, 1]
	height float32 // shadow length, local units
	shadow float32 // shadow darkness factor
}

func spread(r *rand.Rand, lo, hi float32) float32 { return lo + (hi-lo)*r.Float32() }

// printMarks returns the ink coverage (0 or 1) of text-like marks laid out
// in rows over (u, v).
func printMarks(u, v float32, seed uint32, rows, cols float32) float32 {
	ry, fy := floor32(v * rows)
	if fy < 0.2 || fy > 0.7 {
		return 0
	}
	rx, _ := floor32(u * cols)
	if hash2(rx, ry, seed)&3 == 0 {
		return 0
	}
	if hash2(int32(u*cols*3+1000), int32(v*rows*4+1000), seed+1)&1 == 1 {
		return 1
	}
	return 0
}

// cylinder shading terms for an across-axis coordinate t.
func cyl(t, lu float32) (nz, diff float32) {
	nz = sqrt32(clamp01(1 - t*t))
	diff = clamp01(0.75*nz + 0.45*t*lu + 0.1)
	return
}

// ===== metals_and_plastic ==================================================

type can struct {
	profile
	body, c2, c3 rgb
	design       int
	b0, b1       float32
	logoT, logoV float32
	metal, phase float32
	crushed      bool
	seed         uint32
}

func newCan(r *rand.Rand) kindSpec {
	c := &can{seed: r.Uint32(), design: r.IntN(4), metal: spread(r, 0.3, 1), phase: spread(r, 0, 6)}
	hw := spread(r, 0.46, 0.56)
	if r.Float32() < 0.3 {
		c.crushed = true
		pts := [][2]float32{{-1, hw * 0.8}, {-0.95, hw}}
		for v := float32(-0.7); v < 0.8; v += 0.25 {
			pts = append(pts, [2]float32{v + 0.08*r.Float32(), hw * spread(r, 0.6, 1.1)})
		}
		pts = append(pts, [2]float32{0.95, hw}, [2]float32{1, hw * 0.8})
		c.profile = newProfile(spread(r, -0.2, 0.2), pts...)
	} else {
		c.profile = newProfile(0, [2]float32{-1, hw * 0.82}, [2]float32{-0.95, hw}, [2]float32{0.93, hw}, [2]float32{0.97, hw * 0.93}, [2]float32{1, hw * 0.82})
	}
	c.body = jitter(r, pick(r, []swatch{
		{cRed, 3}, {cBlue, 2.5}, {cSilver, 2.5}, {cGreen, 1.5}, {cYellow, 1}, {cWhite, 1.5}, {cBlack, 1}, {cGold, 1}, {cOrange, 0.7}, {cPurple, 0.5},
	}), 0.12)
	c.c2 = jitter(r, pick(r, printPal), 0.1)
	c.c3 = jitter(r, pick(r, printPal), 0.1)
	c.b0, c.b1 = spread(r, -0.7, 0.2), spread(r, 0.05, 0.25)
	c.logoT, c.logoV = spread(r, -0.6, 0.6), spread(r, -0.5, 0.5)
	return kindSpec{it: c, size: spread(r, 40, 62), height: 0.35, shadow: 1}
}

func (c *can) shade(f *frag) rgb {
	t, _ := c.across(f.u, f.v)
	_, diff := cyl(t, f.lu)
	v := f.v
	col := c.body
	switch c.design {
	case 0:
		if abs32(v-c.b0) < c.b1*0.5 || abs32(v-c.b0-0.5) < c.b1*0.25 {
			col = c.c2
		}
	case 1:
		if v+0.4*t > c.b0 {
			col = c.c2
		}
	case 2:
		dt, dv := (t-c.logoT)/0.55, (v-c.logoV)/0.3
		if rr := dt*dt + dv*dv; rr < 1 {
			col = c.c2
			if rr < 0.4 {
				col = c.c3
			}
		}
	}
	if printMarks(t, v, c.seed, 9, 5) > 0 && abs32(v-c.logoV) < 0.4 {
		col = c.c3
	}
	env := 1 + c.metal*0.3*sin32(t*4.5+c.phase)
	col = col.mul((0.25 + 0.85*diff) * env)
	if c.crushed {
		n := noise(v*5, t*2.2, c.seed)
		col = col.mul(1 + 0.45*n)
		cr := abs32(noise(v*3.5+7, t*1.3, c.seed+1))
		col = col.mul(0.6 + 0.4*smooth(0, 0.1, cr))
	}
	if abs32(v) > 0.9 {
		col = cSilver.mul((0.35 + 0.75*diff) * (0.8 + 0.2*sin32(v*150)))
	}
	ts := 0.45 * f.lu
	s := 0.95*bump((t-ts)/0.1) + 0.35*c.metal*bump((t+0.55)/0.07)
	if c.crushed {
		s *= 0.6 + 0.8*clamp01(noise(v*6, t*3, c.seed+2)+0.5)
	}
	return lerp(col, cWhiteL, clamp01(s))
}

type pet struct {
	profile
	tint         rgb
	a0           float32
	capCol       rgb
	capV         float32
	label        bool
	l0, l1       float32
	lc1, lc2     rgb
	ribs         float32
	crushed      bool
	seed         uint32
	stripeDesign int
}

func newPET(r *rand.Rand) kindSpec {
	p := &pet{seed: r.Uint32(), ribs: spread(r, 25, 50), stripeDesign: r.IntN(3)}
	hw := spread(r, 0.27, 0.36)
	pts := [][2]float32{{-1, 0.1}, {-0.9, 0.1}, {-0.88, 0.13}, {-0.85, 0.09}, {-0.72, 0.1},
		{-0.45, hw * 0.85}, {-0.3, hw}, {0.15, hw * spread(r, 0.85, 1)}, {0.45, hw}, {0.95, hw}, {1, hw * 0.75}}
	bend := float32(0)
	if r.Float32() < 0.35 {
		p.crushed = true
		for i := 5; i < len(pts)-1; i++ {
			pts[i][1] *= spread(r, 0.6, 1.15)
		}
		bend = spread(r, -0.15, 0.15)
	}
	p.profile = newProfile(bend, pts...)
	p.tint = pick(r, []swatch{{rgb{0.85, 0.9, 0.92}, 5}, {rgb{0.55, 0.75, 0.9}, 2}, {rgb{0.5, 0.8, 0.55}, 1.5}, {rgb{0.6, 0.45, 0.3}, 0.4}})
	p.a0 = spread(r, 0.15, 0.4)
	p.capCol = jitter(r, pick(r, []swatch{{cBlue, 3}, {cWhite, 2}, {cRed, 2}, {cGreen, 1.5}, {cOrange, 1}, {cBlack, 0.5}, {cYellow, 0.5}}), 0.1)
	p.capV = -0.86
	if r.Float32() < 0.15 {
		p.capV = -2 // lost its cap
	}
	p.label = r.Float32() < 0.75
	p.l0 = spread(r, -0.25, 0.1)
	p.l1 = p.l0 + spread(r, 0.25, 0.5)
	p.lc1 = jitter(r, pick(r, printPal), 0.1)
	p.lc2 = jitter(r, pick(r, printPal), 0.1)
	return kindSpec{it: p, size: spread(r, 62, 120), height: 0.25, shadow: 0.6}
}

func (p *pet) shade(f *frag) rgb {
	t, _ := p.across(f.u, f.v)
	nz, diff := cyl(t, f.lu)
	v := f.v
	ts := 0.45 * f.lu
	if v < p.capV {
		c := p.capCol.mul((0.3 + 0.8*diff) * (0.85 + 0.15*sin32(t*18)))
		return lerp(c, cWhiteL, 0.6*bump((t-ts)/0.15))
	}
	if p.label && v > p.l0 && v < p.l1 {
		c := p.lc1
		switch p.stripeDesign {
		case 0:
			if v > (p.l0+p.l1)/2 {
				c = p.lc2
			}
		case 1:
			if abs32(t-0.2) < 0.25 {
				c = p.lc2
			}
		}
		if printMarks(t, v, p.seed, 14, 6) > 0 {
			c = p.lc2.mul(0.6)
		}
		c = c.mul(0.35 + 0.75*diff)
		return lerp(c, cWhiteL, 0.5*bump((t-ts)/0.08))
	}
	a := p.a0 + (1-p.a0)*0.55*t*t*t*t
	trans := f.under.times(p.tint.mul(0.45).addk(0.55))
	c := lerp(trans, p.tint.mul(0.5+0.5*diff), a)
	c = c.addk(0.08 * (1 - nz))
	if v > 0.2 {
		c = c.mul(1 + 0.07*sin32(v*p.ribs))
	}
	s := 0.9*bump((t-ts)/0.07) + 0.5*bump((t+0.8-0.1*f.lu)/0.05)
	if p.crushed {
		n := noise(f.u*7, f.v*5, p.seed)
		s += 0.5 * bump(n/0.12)
		c = c.mul(0.85 + 0.25*n)
	}
	return lerp(c, cWhiteL, clamp01(s))
}

// cup is a tapered cup seen from the side, plastic (glossy, sometimes
// translucent) or paper (matte, fibrous); both classes use it.
type cup struct {
	profile
	col, print rgb
	clear      bool
	paper      bool
	seed       uint32
	band       float32
}

func newCup(r *rand.Rand, paper bool) kindSpec {
	c := &cup{seed: r.Uint32(), paper: paper, band: spread(r, -0.4, 0.4)}
	top, bot := spread(r, 0.55, 0.7), spread(r, 0.36, 0.45)
	c.profile = newProfile(spread(r, -0.05, 0.05), [2]float32{-1, top * 1.04}, [2]float32{-0.95, top * 1.06}, [2]float32{-0.9, top}, [2]float32{1, bot})
	if paper {
		c.col = jitter(r, pick(r, []swatch{{cWhite, 3}, {cCream, 2}, {cKraft, 2}, {cRed, 0.7}, {cBlue, 0.5}}), 0.08)
	} else {
		c.clear = r.Float32() < 0.5
		c.col = jitter(r, pick(r, []swatch{{cWhite, 3}, {rgb{0.85, 0.9, 0.92}, 2}, {cRed, 1}, {cBlue, 1}, {cYellow, 0.5}}), 0.08)
	}
	c.print = jitter(r, pick(r, printPal), 0.1)
	return kindSpec{it: c, size: spread(r, 40, 70), height: 0.3, shadow: 0.8}
}

func (c *cup) shade(f *frag) rgb {
	t, _ := c.across(f.u, f.v)
	_, diff := cyl(t, f.lu)
	col := c.col
	if abs32(f.v-c.band) < 0.2 {
		col = c.print
	}
	if printMarks(t, f.v, c.seed, 10, 5) > 0 && abs32(f.v-c.band) < 0.2 {
		col = cWhite
	}
	if c.paper {
		col = col.mul((0.45 + 0.6*diff) * (1 + 0.06*noise(f.u*40, f.v*6, c.seed)))
		if f.v < -0.9 {
			col = col.mul(1.1)
		}
		return col
	}
	if c.clear {
		col = lerp(f.under.mul(0.85), col, 0.35+0.4*t*t)
	} else {
		col = col.mul(0.4 + 0.65*diff)
	}
	col = col.mul(1 + 0.06*sin32(f.v*30))
	return lerp(col, cWhiteL, 0.85*bump((t-0.45*f.lu)/0.08))
}

// carton is a drink carton or a plastic tub: a box with two visible faces.
type carton struct {
	poly
	c1, c2 rgb
	edge   float32
	seed   uint32
	glossy bool
}

func newCarton(r *rand.Rand) kindSpec {
	c := &carton{seed: r.Uint32(), glossy: r.Float32() < 0.5}
	hx := spread(r, 0.45, 0.65)
	c.poly = randQuad(r, hx, 0.95, 0.05)
	c.edge = spread(r, -0.2, 0.2) * hx
	c.c1 = jitter(r, pick(r, printPal), 0.1)
	c.c2 = jitter(r, pick(r, printPal), 0.1)
	return kindSpec{it: c, size: spread(r, 45, 80), height: 0.3, shadow: 1}
}

func (c *carton) shade(f *frag) rgb {
	col := c.c1
	k := float32(1)
	if f.u > c.edge {
		k = 0.72 + 0.1*f.lu
	} else {
		k = 1 + 0.1*f.lu
	}
	if abs32(f.v-0.1) < 0.3 && f.u < c.edge {
		col = c.c2
	}
	if printMarks(f.u, f.v, c.seed, 12, 8) > 0 {
		col = col.mul(0.4)
	}
	col = col.mul(k * (1 + 0.05*noise(f.u*9, f.v*9, c.seed)))
	e := bump((f.u-c.edge)/0.04) * 0.3
	s := e
	if c.glossy {
		s += 0.4 * bump((f.u-c.edge+0.2*f.lu)/0.1)
	}
	if f.d > -0.04 {
		col = col.mul(0.85)
	}
	return lerp(col, cWhiteL, s)
}

// ===== glass ===============================================================

var (
	glassTints = []swatch{{rgb{0.1, 0.38, 0.12}, 4}, {rgb{0.32, 0.16, 0.04}, 4}, {rgb{0.75, 0.82, 0.8}, 3}, {rgb{0.2, 0.35, 0.45}, 0.5}}
)

// glassTransmit turns a body tint into the tint of light passing through.
func glassTransmit(tint rgb) rgb {
	m := max(tint.r, max(tint.g, tint.b))
	return tint.mul(1 / m).mul(0.85)
}

type glassBottle struct {
	profile
	tint, trans rgb
	a0          float32
	label       bool
	l0, l1      float32
	lc          rgb
	seed        uint32
	foil        bool
}

func newGlassBottle(r *rand.Rand) kindSpec {
	g := &glassBottle{seed: r.Uint32()}
	hw := spread(r, 0.22, 0.3)
	neck := spread(r, 0.065, 0.09)
	sh := spread(r, -0.5, -0.2)
	g.profile = newProfile(spread(r, -0.02, 0.02),
		[2]float32{-1, neck * 1.25}, [2]float32{-0.95, neck * 1.3}, [2]float32{-0.92, neck}, [2]float32{sh - 0.15, neck * 1.15},
		[2]float32{sh + 0.1, hw * 0.9}, [2]float32{sh + 0.25, hw}, [2]float32{0.96, hw}, [2]float32{1, hw * 0.8})
	g.tint = jitter(r, pick(r, glassTints), 0.1)
	g.trans = glassTransmit(g.tint)
	g.a0 = spread(r, 0.45, 0.75)
	if g.tint.lum() > 0.6 {
		g.a0 = spread(r, 0.1, 0.25)
	}
	g.label = r.Float32() < 0.5
	g.l0 = spread(r, sh+0.35, 0.3)
	g.l1 = g.l0 + spread(r, 0.2, 0.45)
	g.lc = jitter(r, pick(r, []swatch{{cCream, 3}, {cWhite, 2}, {cGold, 1}, {cRed, 1}, {cBlack, 0.5}, {cGreen, 0.5}}), 0.08)
	g.foil = r.Float32() < 0.25
	return kindSpec{it: g, size: spread(r, 70, 130), height: 0.25, shadow: 0.75}
}

func (g *glassBottle) shade(f *frag) rgb {
	t, w := g.across(f.u, f.v)
	nz, diff := cyl(t, f.lu)
	ts := 0.45 * f.lu
	v := f.v
	if g.label && v > g.l0 && v < g.l1 {
		c := g.lc.mul(0.4 + 0.7*diff).mul(1 + 0.05*noise(f.u*30, f.v*30, g.seed))
		if printMarks(t, v, g.seed, 10, 5) > 0 {
			c = c.mul(0.45)
		}
		return c
	}
	if g.foil && v < -0.85 {
		return cGold.mul(0.4 + 0.8*diff).mul(1 + 0.3*noise(f.u*20, f.v*20, g.seed))
	}
	dx, dy := f.o.worldVec(-t*w*0.7, 0.05*t)
	gd := f.w.ground.colour(f.wx+dx, f.wy+dy)
	trans := lerp(f.under, gd, 0.7).times(g.trans).mul(0.9 - 0.25*t*t)
	a := g.a0 + (1-g.a0)*0.6*t*t*t*t
	if v > 0.9 {
		a = min(1, a+0.3)
	}
	c := lerp(trans, g.tint.mul(0.45+0.45*nz), a)
	s := 1.1*bump((t-ts)/0.07) + 0.55*bump((t+0.72)/0.045) + 0.3*bump((abs32(t)-0.9)/0.05)
	if v < -0.9 {
		s += 0.3
	}
	return lerp(c, cWhiteL, clamp01(s))
}

// shard is one piece of broken glass.
type shard struct {
	poly
	tint, trans rgb
	a0          float32
	cs, sn, off float32
	seed        uint32
}

func newShards(r *rand.Rand) kindSpec {
	tint := jitter(r, pick(r, glassTints), 0.1)
	a0 := spread(r, 0.4, 0.7)
	if tint.lum() > 0.6 {
		a0 = spread(r, 0.1, 0.25)
	}
	n := 1 + r.IntN(4)
	var parts []part
	for i := 0; i < n; i++ {
		ang := r.Float32() * 6.3
		s := &shard{poly: randShard(r, spread(r, 0.65, 0.95), spread(r, 0.25, 0.5)), tint: tint, trans: glassTransmit(tint), a0: a0,
			cs: cos32(ang), sn: sin32(ang), off: spread(r, -0.3, 0.3), seed: r.Uint32()}
		sc := float32(1)
		if i > 0 {
			sc = spread(r, 0.35, 0.8)
		}
		parts = append(parts, newPart(s, spread(r, -0.5, 0.5)*float32(min(i, 1)), spread(r, -0.5, 0.5)*float32(min(i, 1)), r.Float32()*6.3, sc))
	}
	return kindSpec{it: newGroup(parts...), size: spread(r, 35, 75), height: 0.05, shadow: 0.5}
}

func (s *shard) shade(f *frag) rgb {
	du, dv := 0.25*noise(f.u*2, f.v*2, s.seed), 0.25*noise(f.u*2+9, f.v*2, s.seed)
	dx, dy := f.o.worldVec(du, dv)
	gd := f.w.ground.colour(f.wx+dx, f.wy+dy)
	trans := lerp(f.under, gd, 0.6).times(s.trans).mul(0.9)
	c := lerp(trans, s.tint.mul(0.8), s.a0)
	rim := bump(f.d/0.05 + 1)
	p := f.u*s.cs + f.v*s.sn
	sp := 0.7*bump((p-s.off)/0.15) + 0.35*rim
	return lerp(c, cWhiteL, clamp01(sp))
}

type jar struct {
	profile
	lid, lc rgb
	label   bool
	seed    uint32
}

func newJar(r *rand.Rand) kindSpec {
	j := &jar{seed: r.Uint32(), label: r.Float32() < 0.6}
	hw := spread(r, 0.55, 0.75)
	j.profile = newProfile(0, [2]float32{-1, hw * 0.9}, [2]float32{-0.8, hw * 0.9}, [2]float32{-0.75, hw * 0.85}, [2]float32{-0.65, hw}, [2]float32{0.95, hw}, [2]float32{1, hw * 0.85})
	j.lid = jitter(r, pick(r, []swatch{{cSilver, 2}, {cGold, 2}, {cRed, 1}, {cWhite, 1}, {cGreen, 0.5}, {cBlack, 0.5}}), 0.08)
	j.lc = jitter(r, pick(r, printPal), 0.1)
	return kindSpec{it: j, size: spread(r, 45, 80), height: 0.35, shadow: 0.7}
}

func (j *jar) shade(f *frag) rgb {
	t, w := j.across(f.u, f.v)
	nz, diff := cyl(t, f.lu)
	ts := 0.45 * f.lu
	if f.v < -0.78 {
		c := j.lid.mul((0.3 + 0.8*diff) * (0.85 + 0.15*sin32(t*25)))
		return lerp(c, cWhiteL, 0.7*bump((t-ts)/0.1))
	}
	if j.label && abs32(f.v-0.15) < 0.35 {
		c := j.lc.mul(0.4 + 0.7*diff)
		if printMarks(t, f.v, j.seed, 10, 5) > 0 {
			c = c.mul(0.5)
		}
		return c
	}
	dx, dy := f.o.worldVec(-t*w*0.5, 0)
	gd := f.w.ground.colour(f.wx+dx, f.wy+dy)
	c := lerp(lerp(f.under, gd, 0.6).mul(0.85), rgb{0.8, 0.85, 0.82}.mul(0.5+0.4*nz), 0.15+0.6*t*t*t*t)
	return lerp(c, cWhiteL, clamp01(1.0*bump((t-ts)/0.06)+0.4*bump((t+0.75)/0.05)))
}

// ===== paper ===============================================================

var paperPal = []swatch{{cWhite, 4}, {cCream, 3}, {rgb{0.78, 0.78, 0.76}, 2}, {cKraft, 1}, {rgb{0.95, 0.9, 0.55}, 0.5}, {rgb{0.75, 0.85, 0.92}, 0.5}, {rgb{0.95, 0.78, 0.8}, 0.4}}

type sheet struct {
	poly
	col, ink   rgb
	nf         int
	fnx, fny   [3]float32
	fc, fk     [3]float32
	text       bool
	rows       float32
	block      bool
	bx, by, bs float32
	seed       uint32
}

func newSheet(r *rand.Rand) kindSpec {
	s := &sheet{seed: r.Uint32(), nf: r.IntN(4), text: r.Float32() < 0.55, rows: spread(r, 10, 20), block: r.Float32() < 0.35}
	s.poly = randQuad(r, spread(r, 0.55, 0.8), 0.95, 0.12)
	s.col = jitter(r, pick(r, paperPal), 0.06)
	s.ink = pick(r, []swatch{{rgb{0.2, 0.2, 0.22}, 4}, {cBlue, 1}, {cRed, 1}})
	for i := 0; i < s.nf; i++ {
		a := r.Float32() * 6.3
		s.fnx[i], s.fny[i] = cos32(a), sin32(a)
		s.fc[i] = spread(r, -0.4, 0.4)
		s.fk[i] = spread(r, 0.06, 0.2)
	}
	s.bx, s.by, s.bs = spread(r, -0.3, 0.3), spread(r, -0.5, 0.5), spread(r, 0.15, 0.35)
	s.col = s.col.mul(1)
	var it item = s
	if r.Float32() < 0.6 {
		it = &rough{item: s, amp: spread(r, 0.02, 0.06), freq: spread(r, 5, 12), seed: r.Uint32()}
	}
	return kindSpec{it: it, size: spread(r, 55, 130), height: 0.04, shadow: 0.6}
}

func (s *sheet) shade(f *frag) rgb {
	k := float32(1)
	for i := 0; i < s.nf; i++ {
		p := s.fnx[i]*f.u + s.fny[i]*f.v - s.fc[i]
		if p > 0 {
			k *= 1 + s.fk[i]*(0.5+f.lu*s.fnx[i]+f.lv*s.fny[i])
		} else {
			k *= 1 - s.fk[i]*0.5
		}
		k -= 0.15 * bump(p/0.025)
	}
	c := s.col
	if s.block && abs32(f.u-s.bx) < s.bs && abs32(f.v-s.by) < s.bs*0.7 {
		c = s.ink.mul(1.6)
	}
	if s.text && printMarks(f.u, f.v, s.seed, s.rows, 14) > 0 {
		c = lerp(c, s.ink, 0.7)
	}
	fib := 0.05*noise(f.u*45, f.v*6, s.seed) + 0.035*noise(f.u*90, f.v*90, s.seed+1)
	c = c.mul(k + fib)
	if f.d > -0.03 {
		c = c.mul(0.92)
	}
	return c
}

type crumpled struct {
	blob
	col, ink rgb
	text     bool
	cells    float32
	seed     uint32
}

func newCrumpled(r *rand.Rand) kindSpec {
	c := &crumpled{seed: r.Uint32(), text: r.Float32() < 0.4, cells: spread(r, 2.5, 4.5)}
	c.blob = newBlob(r, spread(r, 0.15, 0.4), 1, spread(r, 0.75, 1))
	c.col = jitter(r, pick(r, paperPal), 0.06)
	c.ink = rgb{0.25, 0.25, 0.27}
	return kindSpec{it: &rough{item: c, amp: 0.05, freq: 7, seed: c.seed + 9}, size: spread(r, 30, 65), height: 0.3, shadow: 0.9}
}

func (c *crumpled) shade(f *frag) rgb {
	rho, _ := c.polar(f.u, f.v)
	wu := f.u*c.cells + 0.35*noise(f.u*2, f.v*2, c.seed+2)
	wv := f.v*c.cells + 0.35*noise(f.u*2+5, f.v*2, c.seed+2)
	cl := cellular(wu, wv, c.seed, 1)
	nx, ny := unit(cl.id)-0.5, unit(cl.id>>9)-0.5
	// facets tilt towards or away from the light; the dome darkens the rim
	k := 0.86 + 0.55*(nx*f.lu+ny*f.lv) - 0.28*rho*rho*rho
	// a crease: a bright ridge on one side, a dark fold on the other
	e := cl.f2 - cl.f1
	k += 0.1*smooth(0.12, 0.03, e) - 0.18*smooth(0.035, 0, e)
	col := c.col
	if c.text && printMarks(f.u+0.2*noise(f.u, f.v, c.seed), f.v, c.seed, 14, 12) > 0 {
		col = lerp(col, c.ink, 0.6)
	}
	return col.mul(k + 0.04*noise(f.u*50, f.v*50, c.seed+1))
}

type cardboard struct {
	poly
	col, ink rgb
	fold     float32
	foldK    float32
	tape     bool
	tv       float32
	printed  bool
	pu, pv   float32
	corrFreq float32
	seed     uint32
}

func newCardboard(r *rand.Rand) kindSpec {
	c := &cardboard{seed: r.Uint32(), tape: r.Float32() < 0.4, printed: r.Float32() < 0.6, corrFreq: spread(r, 40, 70)}
	c.poly = randQuad(r, spread(r, 0.55, 0.95), 0.95, 0.06)
	c.col = jitter(r, pick(r, []swatch{{cKraft, 5}, {rgb{0.72, 0.6, 0.45}, 2}, {rgb{0.55, 0.4, 0.27}, 2}, {cWhite, 0.6}}), 0.07)
	c.ink = pick(r, []swatch{{rgb{0.15, 0.12, 0.1}, 3}, {cRed, 1}, {cBlue, 1}, {cGreen, 0.5}})
	c.fold = spread(r, -0.5, 0.5)
	c.foldK = spread(r, 0, 0.25)
	c.tv = spread(r, -0.6, 0.6)
	c.pu, c.pv = spread(r, -0.3, 0.3), spread(r, -0.5, 0.5)
	var it item = c
	if r.Float32() < 0.5 {
		it = &rough{item: c, amp: 0.04, freq: 6, seed: r.Uint32()}
	}
	return kindSpec{it: it, size: spread(r, 70, 150), height: 0.08, shadow: 1}
}

func (c *cardboard) shade(f *frag) rgb {
	k := float32(1)
	if f.u > c.fold {
		k -= c.foldK * (0.5 - 0.5*f.lu)
	}
	k -= 0.12 * bump((f.u-c.fold)/0.03)
	col := c.col.mul(1 + 0.035*sin32(f.u*c.corrFreq))
	if f.d > -0.05 {
		col = c.col.mul(1.15 + 0.12*sin32(f.v*c.corrFreq*2))
	}
	if c.printed && abs32(f.u-c.pu) < 0.3 && abs32(f.v-c.pv) < 0.25 && printMarks(f.u, f.v, c.seed, 5, 4) > 0 {
		col = lerp(col, c.ink, 0.8)
	}
	st := fbm(f.u*2, f.v*2, c.seed, 2, 0.5)
	col = col.mul(k * (1 - 0.18*smooth(0.2, 0.5, st)) * (1 + 0.05*noise(f.u*35, f.v*35, c.seed+1)))
	if c.tape && abs32(f.v-c.tv) < 0.09 {
		col = lerp(col, rgb{0.78, 0.66, 0.45}, 0.4).mul(1.08)
		col = lerp(col, cWhiteL, 0.3*bump((f.u+0.3*f.lu)/0.2))
	}
	return col
}

// ===== bio =================================================================

type peel struct {
	profile
	col, spot rgb
	brown     float32
	seed      uint32
}

func newBanana(r *rand.Rand) kindSpec {
	n := 1 + r.IntN(3)
	var parts []part
	base := jitter(r, pick(r, []swatch{{rgb{0.9, 0.78, 0.2}, 3}, {rgb{0.75, 0.62, 0.2}, 2}, {rgb{0.45, 0.3, 0.12}, 1.5}}), 0.08)
	brown := spread(r, 0.1, 0.7)
	seed := r.Uint32()
	for i := 0; i < n; i++ {
		w := spread(r, 0.14, 0.2)
		p := &peel{profile: newProfile(spread(r, -0.35, 0.35), [2]float32{-1, 0.03}, [2]float32{-0.85, w * 0.7}, [2]float32{0, w}, [2]float32{0.7, w * 0.8}, [2]float32{1, 0.02}),
			col: base, spot: rgb{0.25, 0.15, 0.06}, brown: brown, seed: seed + uint32(i)}
		a := (float32(i) - float32(n-1)/2) * spread(r, 0.35, 0.6)
		parts = append(parts, newPart(p, sin32(a)*0.3, 0, a, spread(r, 0.8, 1)))
	}
	return kindSpec{it: newGroup(parts...), size: spread(r, 50, 90), height: 0.12, shadow: 0.9}
}

func (p *peel) shade(f *frag) rgb {
	t, _ := p.across(f.u, f.v)
	_, diff := cyl(t, f.lu)
	c := lerp(p.col, p.spot, p.brown*smooth(0.3, 1, abs32(f.v)))
	cl := cellular(f.u*7, f.v*7, p.seed, 1)
	if cl.f1 < 0.12+0.25*p.brown && cl.id&1 == 0 {
		c = lerp(c, p.spot, 0.8)
	}
	c = c.mul((0.4 + 0.7*diff) * (1 + 0.06*noise(f.u*3, f.v*25, p.seed)))
	return c
}

type core struct {
	profile
	skin, flesh rgb
	seed        uint32
}

func newCore(r *rand.Rand) kindSpec {
	c := &core{seed: r.Uint32()}
	wE, wW := spread(r, 0.45, 0.6), spread(r, 0.16, 0.26)
	c.profile = newProfile(spread(r, -0.1, 0.1), [2]float32{-1, 0.03}, [2]float32{-0.92, wE * 0.6}, [2]float32{-0.7, wE}, [2]float32{-0.2, wW},
		[2]float32{0.2, wW}, [2]float32{0.7, wE}, [2]float32{0.92, wE * 0.6}, [2]float32{1, 0.03})
	c.skin = jitter(r, pick(r, []swatch{{rgb{0.7, 0.1, 0.1}, 2}, {rgb{0.5, 0.7, 0.2}, 1.5}, {rgb{0.85, 0.75, 0.3}, 1}}), 0.1)
	c.flesh = jitter(r, pick(r, []swatch{{rgb{0.9, 0.85, 0.62}, 2}, {rgb{0.75, 0.6, 0.35}, 2}, {rgb{0.55, 0.4, 0.2}, 1}}), 0.08)
	return kindSpec{it: c, size: spread(r, 30, 55), height: 0.3, shadow: 1}
}

func (c *core) shade(f *frag) rgb {
	t, _ := c.across(f.u, f.v)
	_, diff := cyl(t, f.lu)
	col := c.flesh.mul(1 - 0.3*smooth(0, 0.8, fbm(f.u*4, f.v*4, c.seed, 2, 0.5)))
	if abs32(f.v) > 0.55 {
		col = lerp(col, c.skin, smooth(0.55, 0.75, abs32(f.v)))
	}
	if abs32(f.v) < 0.2 && abs32(t) < 0.4 && cellular(f.u*9, f.v*9, c.seed, 0.7).f1 < 0.2 {
		col = rgb{0.2, 0.12, 0.06}
	}
	return col.mul(0.4 + 0.7*diff)
}

type organic struct {
	blob
	col, alt rgb
	mode     int // 0 orange peel, 1 bread/food, 2 lettuce/veg leaf
	seed     uint32
}

func newOrganic(r *rand.Rand, mode int) kindSpec {
	o := &organic{seed: r.Uint32(), mode: mode}
	switch mode {
	case 0:
		o.blob = newBlob(r, spread(r, 0.3, 0.6), 1, spread(r, 0.5, 0.8))
		o.col = jitter(r, pick(r, []swatch{{cOrange, 3}, {rgb{0.95, 0.65, 0.15}, 1}, {rgb{0.6, 0.35, 0.1}, 1}}), 0.08)
		o.alt = jitter(r, rgb{0.92, 0.88, 0.75}, 0.05)
	case 1:
		o.blob = newBlob(r, spread(r, 0.2, 0.45), 1, spread(r, 0.55, 0.9))
		o.col = jitter(r, pick(r, []swatch{{rgb{0.85, 0.72, 0.48}, 3}, {rgb{0.75, 0.55, 0.3}, 2}, {rgb{0.9, 0.85, 0.72}, 1}, {rgb{0.7, 0.3, 0.15}, 0.7}}), 0.08)
		o.alt = jitter(r, rgb{0.55, 0.33, 0.14}, 0.1)
	default:
		o.blob = newBlob(r, spread(r, 0.25, 0.5), 1, spread(r, 0.6, 0.95))
		o.col = jitter(r, pick(r, []swatch{{rgb{0.45, 0.62, 0.2}, 3}, {rgb{0.6, 0.7, 0.3}, 2}, {rgb{0.35, 0.45, 0.15}, 1}, {rgb{0.55, 0.5, 0.25}, 1}}), 0.1)
		o.alt = o.col.mul(1.35)
	}
	sz := spread(r, 30, 80)
	return kindSpec{it: &rough{item: o, amp: 0.06, freq: 9, seed: o.seed + 1}, size: sz, height: 0.1, shadow: 0.9}
}

func (o *organic) shade(f *frag) rgb {
	rho, th := o.polar(f.u, f.v)
	switch o.mode {
	case 0:
		c := o.col
		if rho > 0.82 {
			c = lerp(c, o.alt, smooth(0.82, 0.95, rho))
		}
		cl := cellular(f.u*22, f.v*22, o.seed, 1)
		c = c.mul(0.85 + 0.25*cl.f1 + 0.15*(f.lu*(0.5-rho)))
		return c.mul(1 - 0.25*rho*rho)
	case 1:
		c := lerp(o.col, o.alt, smooth(0.65, 0.95, rho))
		cl := cellular(f.u*12, f.v*12, o.seed, 1)
		if cl.f1 < 0.22 {
			c = c.mul(0.7 + 0.3*cl.f1/0.22)
		}
		return c.mul(1.05 - 0.3*rho*rho + 0.06*noise(f.u*30, f.v*30, o.seed))
	default:
		vein := bump(sin32(th*7+3*noise(f.u*2, f.v*2, o.seed)) / 0.15)
		mid := bump(f.v / 0.04)
		c := lerp(o.col, o.alt, clamp01(0.6*vein*rho+mid*0.8))
		return c.mul(0.85 + 0.2*noise(f.u*4, f.v*4, o.seed+2) + 0.1*f.lu*f.u)
	}
}

// ===== non_recyclable ======================================================

type foil struct {
	poly
	c1, c2 rgb
	silver float32
	serr   float32
	cells  float32
	design int
	seed   uint32
	hy     float32
}

func newFoil(r *rand.Rand, candy bool) kindSpec {
	fo := &foil{seed: r.Uint32(), silver: spread(r, 0.2, 0.9), serr: spread(r, 14, 26), cells: spread(r, 5, 9), design: r.IntN(3)}
	fo.hy = 0.95
	fo.poly = randQuad(r, spread(r, 0.5, 0.8), fo.hy, 0.08)
	fo.c1 = jitter(r, pick(r, []swatch{{cRed, 3}, {cBlue, 3}, {cYellow, 2}, {cGreen, 2}, {cPurple, 1.5}, {cOrange, 1.5}, {cSilver, 2}, {cBlack, 1}, {cWhite, 1}}), 0.1)
	fo.c2 = jitter(r, pick(r, printPal), 0.1)
	var it item = fo
	size := spread(r, 40, 90)
	if candy {
		// a twisted sweet wrapper: body plus two fans
		body := &foil{poly: randQuad(r, 0.35, 0.5, 0.05), c1: fo.c1, c2: fo.c2, silver: fo.silver, serr: 40, cells: 5, design: fo.design, seed: fo.seed, hy: 0.5}
		fan := func(sgn float32) part {
			p := newPoly([2]float32{0, 0}, [2]float32{0.45, -0.4}, [2]float32{0.45, 0.4})
			ff := &foil{poly: p, c1: fo.c1, c2: fo.c2, silver: fo.silver, serr: 40, cells: 6, design: 0, seed: fo.seed + 5, hy: 9}
			return newPart(ff, sgn*0.3, 0, 0.5*(1-sgn)*3.1416, 1)
		}
		it = newGroup(newPart(body, 0, 0, 1.5708, 1), fan(1), fan(-1))
		size = spread(r, 25, 45)
	}
	return kindSpec{it: &warp{item: it, amp: 0.06, freq: 3, seed: fo.seed + 3}, size: size, height: 0.08, shadow: 0.8}
}

func (fo *foil) sdf(u, v float32) float32 {
	d := fo.poly.sdf(u, v)
	if fo.hy < 5 {
		// serrated crimped ends
		d = max(d, abs32(v)-fo.hy+0.06*tri(u*fo.serr))
	}
	return d
}

func (fo *foil) shade(f *frag) rgb {
	cl := cellular(f.u*fo.cells, f.v*fo.cells, fo.seed, 1)
	nx, ny := unit(cl.id)-0.5, unit(cl.id>>9)-0.5
	facet := nx*f.lu + ny*f.lv
	c := fo.c1
	switch fo.design {
	case 0:
		if abs32(f.v) < 0.25 {
			c = fo.c2
		}
	case 1:
		if (f.u*0.7+f.v) > 0.1 && (f.u*0.7+f.v) < 0.5 {
			c = fo.c2
		}
	case 2:
		if f.u*f.u+f.v*f.v < 0.12 {
			c = fo.c2
		}
	}
	if printMarks(f.u, f.v, fo.seed, 10, 7) > 0 && abs32(f.v) < 0.4 {
		c = lerp(c, cWhite, 0.7)
	}
	if abs32(f.v) > fo.hy-0.2 {
		c = cSilver // crimped metallised seal
	}
	k := 0.75 + 0.8*facet
	c = lerp(c, cSilver, fo.silver*0.25).mul(clamp(k, 0.3, 1.4))
	s := smooth(0.2, 0.4, facet) * (0.4 + fo.silver*0.6)
	c = c.mul(1 - 0.35*smooth(0.05, 0, cl.f2-cl.f1))
	return lerp(c, cWhiteL, clamp01(s))
}

type bag struct {
	blob
	tint  rgb
	a     float32
	wa    float32
	wcs   float32
	wsn   float32
	seed  uint32
	print bool
	ink   rgb
}

func newBag(r *rand.Rand) kindSpec {
	b := &bag{seed: r.Uint32(), print: r.Float32() < 0.3}
	b.blob = newBlob(r, spread(r, 0.3, 0.7), 1, spread(r, 0.6, 0.95))
	b.tint = jitter(r, pick(r, []swatch{{cWhite, 4}, {rgb{0.15, 0.15, 0.16}, 2}, {rgb{0.3, 0.45, 0.75}, 1.5}, {rgb{0.3, 0.6, 0.35}, 1}, {rgb{0.8, 0.2, 0.2}, 0.7}, {rgb{0.9, 0.85, 0.4}, 0.5}}), 0.08)
	b.a = spread(r, 0.45, 0.9)
	a := r.Float32() * 6.3
	b.wcs, b.wsn = cos32(a), sin32(a)
	b.wa = spread(r, 3, 7)
	b.ink = pick(r, printPal)
	return kindSpec{it: &rough{item: b, amp: 0.04, freq: 8, seed: b.seed + 1}, size: spread(r, 80, 165), height: 0.06, shadow: 0.5}
}

func (b *bag) shade(f *frag) rgb {
	x := f.u*b.wcs + f.v*b.wsn
	y := -f.u*b.wsn + f.v*b.wcs
	wr := noise(x*b.wa, y*b.wa*0.25, b.seed) + 0.5*noise(x*b.wa*2, y*b.wa*0.5, b.seed+1)
	c := lerp(f.under.times(b.tint.mul(0.6).addk(0.4)), b.tint, b.a)
	if b.print && abs32(x) < 0.3 && abs32(y) < 0.25 {
		c = lerp(c, b.ink, 0.7)
	}
	c = c.mul(0.85 + 0.3*wr)
	s := 0.6 * bump((wr-0.55)/0.2)
	return lerp(c, cWhiteL, clamp01(s))
}

type butt struct {
	profile
	paper, filter rgb
	fv            float32
	ash           bool
	seed          uint32
}

func newButts(r *rand.Rand) kindSpec {
	n := 1
	if r.Float32() < 0.35 {
		n = 2 + r.IntN(2)
	}
	var parts []part
	for i := 0; i < n; i++ {
		b := &butt{seed: r.Uint32(), fv: spread(r, -0.2, 0.4), ash: r.Float32() < 0.6}
		w := spread(r, 0.2, 0.26)
		b.profile = newProfile(spread(r, -0.15, 0.15), [2]float32{-1, w * 0.85}, [2]float32{-0.96, w}, [2]float32{0.96, w}, [2]float32{1, w * 0.85})
		b.paper = jitter(r, rgb{0.92, 0.91, 0.88}, 0.05)
		b.filter = jitter(r, pick(r, []swatch{{rgb{0.85, 0.6, 0.3}, 3}, {rgb{0.92, 0.9, 0.85}, 1.5}, {rgb{0.75, 0.55, 0.35}, 1}}), 0.08)
		var tx, ty float32
		if i > 0 {
			tx, ty = spread(r, -0.8, 0.8), spread(r, -0.6, 0.6)
		}
		parts = append(parts, newPart(b, tx, ty, r.Float32()*6.3, spread(r, 0.55, 0.75)))
	}
	return kindSpec{it: newGroup(parts...), size: spread(r, 22, 40), height: 0.2, shadow: 1}
}

func (b *butt) shade(f *frag) rgb {
	t, _ := b.across(f.u, f.v)
	_, diff := cyl(t, f.lu)
	c := b.paper.mul(1 + 0.04*noise(f.u*20, f.v*20, b.seed))
	if f.v > b.fv {
		c = b.filter
		if b.filter.b < 0.5 && noise(f.u*18, f.v*18, b.seed) > 0.3 {
			c = c.mul(0.8)
		}
	} else if b.ash && f.v < -0.8 {
		c = rgb{0.2, 0.19, 0.18}.mul(1 + 0.5*noise(f.u*20, f.v*20, b.seed+1))
	}
	if abs32(f.v-b.fv) < 0.03 {
		c = cGold.mul(0.8)
	}
	return c.mul(0.45 + 0.7*diff)
}

type foam struct {
	blob
	col  rgb
	seed uint32
}

func newFoam(r *rand.Rand) kindSpec {
	fm := &foam{seed: r.Uint32(), col: jitter(r, pick(r, []swatch{{cWhite, 4}, {cCream, 1}, {rgb{0.85, 0.85, 0.8}, 1}}), 0.04)}
	fm.blob = newBlob(r, spread(r, 0.1, 0.3), 1, spread(r, 0.5, 0.9))
	return kindSpec{it: &rough{item: fm, amp: 0.05, freq: 10, seed: fm.seed}, size: spread(r, 30, 70), height: 0.2, shadow: 1}
}

func (fm *foam) shade(f *frag) rgb {
	cl := cellular(f.u*18, f.v*18, fm.seed, 0.9)
	k := 0.95 + 0.12*(1-cl.f1) - 0.25*smooth(0.07, 0, cl.f2-cl.f1)
	rho, _ := fm.polar(f.u, f.v)
	return fm.col.mul(k - 0.2*rho*rho + 0.1*f.lu*f.u)
}

// ===== other ===============================================================

type textile struct {
	geom
	col, col2 rgb
	weave     float32
	pattern   int
	seed      uint32
}

func newTextile(r *rand.Rand) kindSpec {
	t := &textile{seed: r.Uint32(), weave: spread(r, 30, 60), pattern: r.IntN(4)}
	if r.Float32() < 0.5 {
		b := newBlob(r, spread(r, 0.3, 0.6), 1, spread(r, 0.6, 1))
		t.geom = &b
	} else {
		p := randQuad(r, spread(r, 0.5, 0.9), 0.95, 0.15)
		t.geom = &p
	}
	t.col = jitter(r, pick(r, []swatch{{rgb{0.2, 0.3, 0.5}, 3}, {cRed, 1.5}, {cGrey, 2}, {cBlack, 2}, {cGreen, 1}, {cWhite, 1}, {cYellow, 0.5}, {cBrown, 1}, {cPurple, 0.5}}), 0.12)
	t.col2 = jitter(r, pick(r, printPal), 0.1)
	return kindSpec{it: &warp{item: t, amp: 0.08, freq: 2, seed: t.seed + 1}, size: spread(r, 60, 150), height: 0.1, shadow: 1}
}

func (t *textile) shade(f *frag) rgb {
	c := t.col
	switch t.pattern {
	case 1:
		if tri(f.u*3) > 0.6 {
			c = t.col2
		}
	case 2:
		if tri(f.u*2.5) > 0.75 || tri(f.v*2.5) > 0.75 {
			c = lerp(c, t.col2, 0.6)
		}
	}
	w := sin32(f.u*t.weave) * sin32(f.v*t.weave)
	fold := fbm(f.u*1.5, f.v*1.5, t.seed, 3, 0.5)
	k := 0.8 + 0.45*fold + 0.12*w + 0.05*noise(f.u*t.weave, f.v*t.weave*0.3, t.seed+2)
	if f.d > -0.03 {
		k *= 0.8 + 0.4*noise(f.u*60, f.v*60, t.seed+3) // frayed hem
	}
	return c.mul(k)
}

type tyre struct {
	r0, r1, a0, a1 float32
	col            rgb
	tread          float32
	seed           uint32
	cx             float32
}

func newRubber(r *rand.Rand) kindSpec {
	if r.Float32() < 0.45 {
		return newGlove(r)
	}
	t := &tyre{r0: spread(r, 0.55, 0.7), r1: 1, a0: spread(r, -1.6, -0.6), seed: r.Uint32(), tread: spread(r, 14, 26)}
	t.a1 = t.a0 + spread(r, 0.8, 2.2)
	t.cx = 0
	t.col = jitter(r, pick(r, []swatch{{rgb{0.1, 0.1, 0.1}, 4}, {rgb{0.18, 0.18, 0.2}, 2}, {rgb{0.25, 0.22, 0.2}, 1}}), 0.15)
	return kindSpec{it: &rough{item: t, amp: 0.03, freq: 8, seed: t.seed}, size: spread(r, 60, 130), height: 0.15, shadow: 1}
}

func (t *tyre) sdf(u, v float32) float32 {
	rho := sqrt32(u*u + v*v)
	th := atan2(v, u)
	d := max(rho-t.r1, t.r0-rho)
	mid := (t.a0 + t.a1) / 2
	half := (t.a1 - t.a0) / 2
	da := abs32(th-mid) - half
	return max(d, da*rho)
}

func (t *tyre) bounds() rect { return rect{-1, -1, 1, 1} }

func (t *tyre) shade(f *frag) rgb {
	rho := sqrt32(f.u*f.u + f.v*f.v)
	th := atan2(f.v, f.u)
	x := (rho - t.r0) / (t.r1 - t.r0)
	c := t.col
	if x > 0.35 {
		tr := tri(th*t.tread + 2*x)
		if tr > 0.55 {
			c = c.mul(1.6)
		} else {
			c = c.mul(0.7)
		}
	}
	s := 0.15 * bump((x-0.5+0.3*f.lu)/0.3)
	return lerp(c.mul(0.9+0.2*noise(f.u*25, f.v*25, t.seed)), cWhiteL, s)
}

type glove struct {
	col  rgb
	seed uint32
}

func newGlove(r *rand.Rand) kindSpec {
	g := &glove{seed: r.Uint32(), col: jitter(r, pick(r, []swatch{{cYellow, 2}, {rgb{0.3, 0.5, 0.85}, 2}, {cWhite, 1.5}, {cBlack, 1.5}, {cOrange, 1}, {rgb{0.5, 0.7, 0.45}, 0.7}}), 0.08)}
	palm := newBlob(r, 0.1, 0.42, 0.45)
	var parts []part
	parts = append(parts, newPart(&gpart{blob: &palm, g: g}, 0, 0.4, 0, 1))
	fan := spread(r, 0.05, 0.2)
	for i := 0; i < 4; i++ {
		k := float32(i) - 1.5
		fp := newProfile(spread(r, -0.15, 0.15), [2]float32{-1, 0.12}, [2]float32{-0.85, 0.2}, [2]float32{1, 0.22})
		length := spread(r, 0.42, 0.55) * (1 - 0.12*abs32(k))
		parts = append(parts, newPart(&gpart{prof: &fp, g: g}, k*0.21+k*fan*0.5, 0.05-length, k*fan, length))
	}
	th := newProfile(spread(r, -0.2, 0.2), [2]float32{-1, 0.12}, [2]float32{-0.85, 0.22}, [2]float32{1, 0.24})
	parts = append(parts, newPart(&gpart{prof: &th, g: g}, 0.5, 0.25, -0.9-spread(r, 0, 0.5), 0.38))
	return kindSpec{it: &warp{item: newGroup(parts...), amp: 0.05, freq: 2, seed: g.seed}, size: spread(r, 55, 100), height: 0.12, shadow: 1}
}

// gpart is one piece of a glove: a palm blob or a finger profile.
type gpart struct {
	blob *blob
	prof *profile
	g    *glove
}

func (p *gpart) sdf(u, v float32) float32 {
	if p.blob != nil {
		return p.blob.sdf(u, v)
	}
	return p.prof.sdf(u, v)
}

func (p *gpart) bounds() rect {
	if p.blob != nil {
		return p.blob.bounds()
	}
	return p.prof.bounds()
}

func (p *gpart) shade(f *frag) rgb {
	var diff float32
	if p.prof != nil {
		t, _ := p.prof.across(f.u, f.v)
		_, diff = cyl(t, f.lu)
	} else {
		diff = 0.75 + 0.2*(f.u*f.lu+f.v*f.lv) - 0.3*smooth(-0.1, 0, f.d)
	}
	c := p.g.col.mul((0.4 + 0.65*diff) * (1 + 0.1*noise(f.u*5, f.v*5, p.g.seed)))
	return lerp(c, cWhiteL, 0.25*bump((diff-1)/0.2))
}

type wood struct {
	poly
	col   rgb
	grain float32
	seed  uint32
}

func newWood(r *rand.Rand) kindSpec {
	w := &wood{seed: r.Uint32(), grain: spread(r, 8, 20)}
	w.poly = randQuad(r, spread(r, 0.12, 0.3), 0.95, 0.05)
	w.col = jitter(r, pick(r, []swatch{{rgb{0.6, 0.45, 0.28}, 3}, {rgb{0.75, 0.62, 0.42}, 2}, {rgb{0.4, 0.28, 0.18}, 1}, {cGrey, 0.5}}), 0.1)
	return kindSpec{it: &rough{item: w, amp: 0.02, freq: 10, seed: w.seed}, size: spread(r, 60, 140), height: 0.15, shadow: 1}
}

func (w *wood) shade(f *frag) rgb {
	g := sin32(f.u*w.grain*6 + 4*noise(f.u*3, f.v*0.6, w.seed))
	k := 0.85 + 0.12*g + 0.08*noise(f.u*40, f.v*3, w.seed+1)
	if f.d > -0.03 {
		k *= 0.75
	}
	return w.col.mul(k + 0.1*f.lu*sign(f.u))
}

func sign(x float32) float32 {
	if x < 0 {
		return -1
	}
	return 1
}

type sponge struct {
	poly
	col  rgb
	seed uint32
}

func newSponge(r *rand.Rand) kindSpec {
	s := &sponge{seed: r.Uint32(), col: jitter(r, pick(r, []swatch{{cYellow, 2}, {rgb{0.4, 0.65, 0.3}, 1.5}, {rgb{0.9, 0.5, 0.6}, 1}, {cBlue, 0.6}, {cOrange, 0.6}}), 0.08)}
	s.poly = randQuad(r, spread(r, 0.45, 0.7), 0.9, 0.08)
	return kindSpec{it: &rough{item: s, amp: 0.04, freq: 9, seed: s.seed}, size: spread(r, 35, 65), height: 0.3, shadow: 1}
}

func (s *sponge) shade(f *frag) rgb {
	cl := cellular(f.u*16, f.v*16, s.seed, 1)
	k := 1.0 - 0.45*smooth(0.35, 0.15, cl.f1)
	return s.col.mul(k * (0.85 + 0.2*f.lu*f.u))
}

// ===== natural things (debris and stones: never annotated) =================

type stick struct {
	profile
	col  rgb
	seed uint32
}

func newStick(r *rand.Rand, grassBlade bool) kindSpec {
	s := &stick{seed: r.Uint32()}
	if grassBlade {
		w := spread(r, 0.03, 0.06)
		s.profile = newProfile(spread(r, -0.3, 0.3), [2]float32{-1, w}, [2]float32{0.6, w * 0.8}, [2]float32{1, 0.005})
		s.col = jitter(r, pick(r, []swatch{{rgb{0.3, 0.5, 0.16}, 3}, {rgb{0.6, 0.58, 0.3}, 1}}), 0.12)
		return kindSpec{it: s, size: spread(r, 15, 40), height: 0.02, shadow: 0.5}
	}
	w := spread(r, 0.03, 0.07)
	s.profile = newProfile(spread(r, -0.2, 0.2), [2]float32{-1, w * 0.7}, [2]float32{-0.3, w * 1.1}, [2]float32{0.5, w}, [2]float32{1, w * 0.6})
	s.col = jitter(r, pick(r, []swatch{{rgb{0.4, 0.3, 0.2}, 3}, {rgb{0.55, 0.47, 0.38}, 2}, {rgb{0.3, 0.25, 0.2}, 1}}), 0.12)
	return kindSpec{it: s, size: spread(r, 30, 110), height: 0.05, shadow: 1}
}

func (s *stick) shade(f *frag) rgb {
	t, _ := s.across(f.u, f.v)
	_, diff := cyl(t, f.lu)
	return s.col.mul((0.4 + 0.7*diff) * (1 + 0.15*noise(f.u*10, f.v*40, s.seed)))
}

type leaf struct {
	profile
	col  rgb
	seed uint32
}

func newLeaf(r *rand.Rand) kindSpec {
	l := &leaf{seed: r.Uint32()}
	w := spread(r, 0.25, 0.5)
	l.profile = newProfile(spread(r, -0.15, 0.15), [2]float32{-1, 0.01}, [2]float32{-0.5, w * 0.8}, [2]float32{0, w}, [2]float32{0.6, w * 0.7}, [2]float32{1, 0.01})
	l.col = jitter(r, pick(r, []swatch{{rgb{0.72, 0.42, 0.12}, 2}, {rgb{0.55, 0.32, 0.12}, 2}, {rgb{0.78, 0.64, 0.22}, 1}, {rgb{0.3, 0.45, 0.15}, 2}, {rgb{0.5, 0.2, 0.1}, 1}}), 0.12)
	return kindSpec{it: l, size: spread(r, 20, 55), height: 0.03, shadow: 0.6}
}

func (l *leaf) shade(f *frag) rgb {
	t, _ := l.across(f.u, f.v)
	vein := bump(t/0.08) + 0.5*bump(tri(f.v*4+abs32(t)*1.5)/0.12)
	return l.col.mul(0.85 + 0.25*vein + 0.15*t*f.lu + 0.08*noise(f.u*12, f.v*12, l.seed))
}

type stone struct {
	blob
	col  rgb
	seed uint32
}

func newStone(r *rand.Rand) kindSpec {
	s := &stone{seed: r.Uint32(), col: jitter(r, pick(r, []swatch{{rgb{0.5, 0.48, 0.45}, 3}, {rgb{0.6, 0.55, 0.48}, 2}, {rgb{0.35, 0.33, 0.32}, 1}, {rgb{0.7, 0.68, 0.64}, 1}}), 0.1)}
	s.blob = newBlob(r, spread(r, 0.1, 0.3), 1, spread(r, 0.6, 0.95))
	return kindSpec{it: s, size: spread(r, 8, 40), height: 0.3, shadow: 1}
}

func (s *stone) shade(f *frag) rgb {
	rho, _ := s.polar(f.u, f.v)
	k := 0.95 + 0.35*(f.u*f.lu+f.v*f.lv) - 0.35*rho*rho*rho
	return s.col.mul(k * (1 + 0.1*noise(f.u*12, f.v*12, s.seed)))
}
