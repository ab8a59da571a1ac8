package litter

import "math/rand/v2"

// Grounds, drawn from procedural noise in world coordinates (scene pixels,
// about 2.5 mm each), so a crop and its scene show the same ground.
type groundKind int

const (
	grass groundKind = iota
	asphalt
	sand
	soil
	leaves
	pavement
	numGrounds
)

var groundNames = [numGrounds]string{"grass", "asphalt", "sand", "soil", "leaves", "pavement"}

// Ground mixes: the labelled splits are mostly park and beach photos, the
// pool (OpenLitterMap-like street photos) mostly pavement and asphalt.
var (
	groundMixLabelled = [numGrounds]float32{0.26, 0.12, 0.16, 0.18, 0.14, 0.14}
	groundMixPool     = [numGrounds]float32{0.12, 0.30, 0.05, 0.06, 0.09, 0.38}
)

type ground struct {
	kind       groundKind
	seed       uint32
	base, alt  rgb
	dark       rgb
	cs, sn     float32 // texture orientation
	scale      float32
	tw, th     float32 // pavement tile size
	brick      bool
	grout      rgb
	lineOn     bool
	lineN      [2]float32
	lineC      float32
	lineW      float32
	lineCol    rgb
	leafPal    []rgb
	crackScale float32
}

func newGround(r *rand.Rand, shift bool) *ground {
	mix := groundMixLabelled
	if shift {
		mix = groundMixPool
	}
	x := r.Float32()
	k := groundKind(0)
	for ; k < numGrounds-1; k++ {
		x -= mix[k]
		if x < 0 {
			break
		}
	}
	return makeGround(r, k)
}

func makeGround(r *rand.Rand, k groundKind) *ground {
	g := &ground{kind: k, seed: r.Uint32()}
	a := r.Float32() * 6.2832
	g.cs, g.sn = cos32(a), sin32(a)
	g.scale = 0.8 + 0.4*r.Float32()
	switch k {
	case grass:
		g.base = jitter(r, pick(r, []swatch{
			{rgb{0.25, 0.42, 0.13}, 3}, {rgb{0.33, 0.47, 0.16}, 2}, {rgb{0.2, 0.34, 0.12}, 2}, {rgb{0.42, 0.48, 0.2}, 1},
		}), 0.12)
		g.alt = jitter(r, rgb{0.56, 0.52, 0.3}, 0.12) // dry patches
		g.dark = jitter(r, rgb{0.2, 0.16, 0.1}, 0.1)
	case asphalt:
		v := 0.2 + 0.15*r.Float32()
		g.base = jitter(r, rgb{v, v * 1.01, v * 1.04}, 0.06)
		g.alt = g.base.mul(1.6).addk(0.05)
		g.dark = g.base.mul(0.45)
		g.crackScale = 30 + 30*r.Float32()
		if r.Float32() < 0.3 {
			g.lineOn = true
			la := r.Float32() * 6.2832
			g.lineN = [2]float32{cos32(la), sin32(la)}
			g.lineC = (r.Float32()*2 - 1) * 250
			g.lineW = 6 + 8*r.Float32()
			if r.Float32() < 0.5 {
				g.lineCol = rgb{0.85, 0.84, 0.8}
			} else {
				g.lineCol = rgb{0.85, 0.7, 0.15}
			}
		}
	case sand:
		g.base = jitter(r, pick(r, []swatch{
			{rgb{0.78, 0.7, 0.52}, 3}, {rgb{0.7, 0.62, 0.46}, 2}, {rgb{0.84, 0.78, 0.64}, 1}, {rgb{0.62, 0.55, 0.44}, 1},
		}), 0.08)
		g.alt = g.base.mul(0.82) // wet patches
		g.dark = jitter(r, rgb{0.45, 0.42, 0.38}, 0.15)
	case soil:
		g.base = jitter(r, pick(r, []swatch{
			{rgb{0.36, 0.26, 0.17}, 3}, {rgb{0.3, 0.23, 0.16}, 2}, {rgb{0.45, 0.35, 0.24}, 2}, {rgb{0.28, 0.25, 0.22}, 1},
		}), 0.12)
		g.alt = g.base.mul(0.7)
		g.dark = jitter(r, rgb{0.6, 0.55, 0.35}, 0.1) // dry grass bits
	case leaves:
		g.base = jitter(r, rgb{0.22, 0.16, 0.1}, 0.15) // gaps
		pal := []swatch{
			{rgb{0.72, 0.4, 0.12}, 3}, {rgb{0.55, 0.3, 0.12}, 3}, {rgb{0.78, 0.62, 0.2}, 2},
			{rgb{0.5, 0.18, 0.1}, 1}, {rgb{0.4, 0.45, 0.18}, 1}, {rgb{0.42, 0.32, 0.2}, 3},
		}
		for i := 0; i < 8; i++ {
			g.leafPal = append(g.leafPal, jitter(r, pick(r, pal), 0.15))
		}
		g.scale = 0.75 + 0.5*r.Float32()
	case pavement:
		g.base = jitter(r, pick(r, []swatch{
			{rgb{0.55, 0.54, 0.52}, 3}, {rgb{0.62, 0.6, 0.56}, 2}, {rgb{0.58, 0.4, 0.34}, 1}, {rgb{0.45, 0.45, 0.46}, 2}, {rgb{0.7, 0.66, 0.55}, 1},
		}), 0.1)
		g.tw = 35 + 60*r.Float32()
		g.th = g.tw * (0.5 + 0.5*r.Float32())
		if r.Float32() < 0.4 {
			g.th = g.tw
		}
		g.brick = r.Float32() < 0.5
		g.grout = g.base.mul(0.45 + 0.2*r.Float32())
		if r.Float32() < 0.35 {
			g.grout = jitter(r, rgb{0.22, 0.3, 0.12}, 0.2) // moss
		}
		g.alt = g.base.mul(0.8)
	}
	return g
}

// low returns the ground's low-frequency field at world point (x, y):
// dry patches, stains, wet or moist areas. It varies over tens of pixels,
// so the renderer samples it on a coarse grid and interpolates.
func (g *ground) low(x, y float32) float32 {
	s := g.seed
	x, y = x*g.scale, y*g.scale
	switch g.kind {
	case grass:
		return fbm(x/110, y/110, s, 2, 0.5)
	case asphalt:
		return fbm(x/70, y/70, s, 2, 0.5)
	case sand:
		return fbm(x/120, y/120, s, 2, 0.5)
	case soil:
		return fbm(x/80, y/80, s, 2, 0.5)
	case pavement:
		return fbm(x/60, y/60, s+3, 2, 0.5)
	}
	return 0
}

// colour returns the ground colour at world point (x, y).
func (g *ground) colour(x, y float32) rgb { return g.at(x, y, g.low(x, y)) }

// dirCos and dirSin tabulate 64 directions.
var dirCos, dirSin = func() (c, s [64]float32) {
	for i := range c {
		c[i], s[i] = cos32(float32(i)*6.2831855/64), sin32(float32(i)*6.2831855/64)
	}
	return
}()

// at returns the ground colour at world point (x, y), given low(x, y).
func (g *ground) at(x, y, low float32) rgb {
	s := g.seed
	x, y = x*g.scale, y*g.scale
	lx, ly := x*g.cs+y*g.sn, -x*g.sn+y*g.cs
	switch g.kind {
	case grass:
		c := lerp(g.base, g.alt, smooth(0.1, 0.7, low))
		b1 := noise(lx*0.45, ly*0.06, s+1)
		b2 := noise((lx*0.8+ly*0.6)*0.4, (-lx*0.6+ly*0.8)*0.07, s+2)
		blade := 0.6*b1 + 0.5*b2
		fine := noise(x*1.1, y*1.1, s+3)
		c = c.mul(0.78 + 0.32*blade + 0.08*fine)
		if blade < -0.5 {
			c = lerp(c, g.dark, smooth(-0.5, -0.8, blade))
		}
		return c.add(rgb{0.04 * blade, 0.05 * blade, 0})
	case asphalt:
		c := g.base.mul(1 + 0.18*low)
		agg := noise(x*0.7, y*0.7, s+1)
		fine := noise(x*1.6, y*1.6, s+2)
		c = c.mul(0.9 + 0.12*fine)
		if agg > 0.35 {
			c = lerp(c, g.alt, smooth(0.35, 0.6, agg)*0.7)
		} else if agg < -0.5 {
			c = c.mul(0.75)
		}
		if low > 0.15 { // cracks in the worn patches only
			cr := abs32(noise(x/g.crackScale, y/g.crackScale, s+5) + 0.3*noise(x/g.crackScale*3, y/g.crackScale*3, s+6))
			if w := 0.035 * smooth(0.15, 0.45, low); cr < w {
				c = lerp(c, g.dark, 1-cr/w)
			}
		}
		if g.lineOn {
			d := abs32(g.lineN[0]*x+g.lineN[1]*y-g.lineC) - g.lineW
			if d < 1 {
				wear := smooth(0.1, 0.5, noise(x*0.15, y*0.15, s+6)+0.3*fine)
				c = lerp(c, g.lineCol.mul(0.9+0.1*fine), clamp01(1-d)*(1-wear*0.8))
			}
		}
		return c
	case sand:
		c := lerp(g.base, g.alt, smooth(0.2, 0.6, low))
		rip := sin32(lx*0.12 + 6*noise(x/60, y/60, s+1))
		grain := noise(x*1.3, y*1.3, s+2)*0.06 + noise(x*2.7, y*2.7, s+3)*0.04
		c = c.mul(1 + 0.05*rip + grain)
		if r, _, dy, id, ok := spot(x/9, y/9, s+4, 0.14); ok && r < 1 {
			pc := g.dark.mul(0.8 + 0.5*unit(id*0x9e3779b1))
			pc = pc.mul(1.05 - 0.35*dy - 0.15*r)
			c = lerp(c, pc, smooth(1, 0.75, r))
		}
		return c
	case soil:
		c := lerp(g.base, g.alt, smooth(0, 0.6, low))
		// clods: bright lumps parted by dark ridged-noise crevices
		lump := noise(x/5, y/5, s+1)
		crev := abs32(noise(x/7+9.1, y/7, s+7))
		c = c.mul(0.9 + 0.16*lump - 0.22*smooth(0.12, 0, crev))
		c = c.mul(1 + 0.1*noise(x*0.9, y*0.9, s+2) + 0.05*noise(x*2.1, y*2.1, s+4))
		if r, _, dy, _, ok := spot(x/11, y/11, s+5, 0.08); ok && r < 1 {
			c = lerp(c, rgb{0.5, 0.48, 0.44}.mul(0.95-0.3*dy), smooth(1, 0.75, r))
		}
		if st := noise(lx*0.4, ly*0.06, s+3); st > 0.62 {
			c = lerp(c, g.dark, smooth(0.62, 0.8, st)*0.7)
		}
		return c
	case leaves:
		// a mat of older leaves, and whole leaves lying on top of it
		sx := float32(1) / 16
		m := noise(lx*sx*1.3, ly*sx*2.2, s)
		k := int(clamp((m+1)*0.5*float32(len(g.leafPal)), 0, float32(len(g.leafPal)-1)))
		c := g.leafPal[k].mul(0.6 + 0.15*noise(x*0.8, y*0.8, s+1))
		c = lerp(g.base, c, smooth(0.02, 0.2, abs32(noise(lx*sx*2.5, ly*sx*4, s+3))))
		t := cellular(x*sx*0.8+3.1, y*sx*0.8-7.7, s+9, 0.9)
		ax, ay := dirCos[t.id>>4&63], dirSin[t.id>>4&63]
		along := (t.dx*ax + t.dy*ay) / (0.5 + 0.25*unit(t.id>>12))
		side := (-t.dx*ay + t.dy*ax) / 0.25
		if r := along*along + side*side*(1+along*along); r < 1 {
			top := g.leafPal[(t.id>>20)%uint32(len(g.leafPal))]
			vein := bump(side/0.08) + 0.4*bump(tri(along*3+abs32(side)*0.6)/0.1)
			top = top.mul(0.85 + 0.2*vein + 0.15*along*ax + 0.06*noise(x*1.2, y*1.2, s+2))
			c = lerp(c, top, smooth(1, 0.85, r))
		}
		return c
	case pavement:
		tx := lx / g.tw
		ty := ly / g.th
		ti, fy := floor32(ty)
		if g.brick && ti&1 == 1 {
			tx += 0.5
		}
		tj, fx := floor32(tx)
		h := hash2(tj, ti, s)
		c := g.base.mul(0.9 + 0.18*unit(h))
		c = c.mul(1 + 0.07*noise(x*0.6, y*0.6, s+1) + 0.05*noise(x*1.7, y*1.7, s+2))
		c = c.mul(1 + 0.12*low)
		ex := min(fx, 1-fx) * g.tw
		ey := min(fy, 1-fy) * g.th
		e := min(ex, ey) + 0.8*noise(x*0.3, y*0.3, s+4)
		if e < 4 {
			c = c.mul(0.85 + 0.15*smooth(1.5, 4, e))
		}
		if e < 1.6 {
			c = lerp(c, g.grout.mul(0.9+0.2*noise(x*0.9, y*0.9, s+5)), smooth(1.6, 0.6, e))
		}
		return c
	}
	return g.base
}
