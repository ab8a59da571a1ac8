package litter

import (
	"math"
	"math/rand/v2"
)

// object is an item placed in the world.
type object struct {
	it     item
	class  int // litter class; -1 for natural debris (never annotated)
	cx, cy float32
	scale  float32 // world pixels per local unit
	cs, sn float32
	height float32 // how far its shadow falls, in local units
	shadow float32 // shadow darkness multiplier (translucent items cast less)
	loose  rect    // world AABB of the item's bounds
	box    rect    // tight world box at scene resolution (empty if unseen)
	seen   bool
}

func newObject(it item, class int, cx, cy, scale, angle float32) *object {
	o := &object{it: it, class: class, cx: cx, cy: cy, scale: scale, cs: cos32(angle), sn: sin32(angle), height: 0.15, shadow: 1}
	b := it.bounds()
	o.loose = rect{1e9, 1e9, -1e9, -1e9}
	for _, c := range [4][2]float32{{b.x0, b.y0}, {b.x1, b.y0}, {b.x0, b.y1}, {b.x1, b.y1}} {
		x, y := o.toWorld(c[0], c[1])
		o.loose = o.loose.union(rect{x, y, x, y})
	}
	return o
}

func (o *object) local(wx, wy float32) (float32, float32) {
	dx, dy := wx-o.cx, wy-o.cy
	return (dx*o.cs + dy*o.sn) / o.scale, (-dx*o.sn + dy*o.cs) / o.scale
}

func (o *object) toWorld(u, v float32) (float32, float32) {
	return (u*o.cs-v*o.sn)*o.scale + o.cx, (u*o.sn+v*o.cs)*o.scale + o.cy
}

// worldVec turns a local displacement into a world one.
func (o *object) worldVec(du, dv float32) (float32, float32) {
	return (du*o.cs - dv*o.sn) * o.scale, (du*o.sn + dv*o.cs) * o.scale
}

// inside reports whether the world point is covered by more than half.
func (o *object) inside(wx, wy float32) bool {
	u, v := o.local(wx, wy)
	return o.it.sdf(u, v) <= 0
}

// tightBox scans pixel centres of a w×h scene inside the loose box for the
// extent of what is drawn: the box annotators would draw. It reports false
// when no pixel centre of the scene is covered.
func (o *object) tightBox(w, h int) (rect, bool) {
	x0 := max(0, int(math.Floor(float64(o.loose.x0))))
	y0 := max(0, int(math.Floor(float64(o.loose.y0))))
	x1 := min(w, int(math.Ceil(float64(o.loose.x1)))+1)
	y1 := min(h, int(math.Ceil(float64(o.loose.y1)))+1)
	if x0 >= x1 || y0 >= y1 {
		return rect{}, false
	}
	// Far from the outline the distance says how many pixels can be
	// skipped; a third of it is safe for these not-quite-exact distances.
	row := func(y int) bool {
		for x := x0; x < x1; {
			u, v := o.local(float32(x)+0.5, float32(y)+0.5)
			d := o.it.sdf(u, v) * o.scale
			if d <= 0 {
				return true
			}
			x += max(1, int(d*0.3))
		}
		return false
	}
	col := func(x, ya, yb int) bool {
		for y := ya; y < yb; y++ {
			if o.inside(float32(x)+0.5, float32(y)+0.5) {
				return true
			}
		}
		return false
	}
	top := y0
	for top < y1 && !row(top) {
		top++
	}
	if top == y1 {
		return rect{}, false
	}
	bot := y1 - 1
	for bot > top && !row(bot) {
		bot--
	}
	left := x0
	for left < x1 && !col(left, top, bot+1) {
		left++
	}
	right := x1 - 1
	for right > left && !col(right, top, bot+1) {
		right--
	}
	return rect{float32(left), float32(top), float32(right + 1), float32(bot + 1)}, true
}

// lighting is the light of one photo.
type lighting struct {
	dx, dy    float32 // direction towards the sun on the ground plane
	sunK      float32 // shadow darkness (0: overcast)
	shadowLen float32 // world shadow offset per unit of object height·scale
	exposure  float32
	cast      rgb
	dapple    float32 // strength of tree shadows
	dapScale  float32
	seed      uint32
	gx, gy    float32 // linear brightness gradient per world pixel
	vignette  float32
}

func newLighting(r *rand.Rand, shift bool) lighting {
	a := r.Float32() * 6.2832
	l := lighting{dx: cos32(a), dy: sin32(a), seed: r.Uint32()}
	l.sunK = 0.15 + 0.5*r.Float32()
	if r.Float32() < 0.3 {
		l.sunK *= 0.3 // overcast
	}
	l.shadowLen = 0.6 + 1.6*r.Float32()
	l.exposure = 0.82 + 0.33*r.Float32()
	castAmt := float32(0.06)
	if shift {
		l.exposure = 0.7 + 0.55*r.Float32()
		castAmt = 0.14
	}
	l.cast = rgb{1 + castAmt*(2*r.Float32()-1), 1 + castAmt*0.4*(2*r.Float32()-1), 1 + castAmt*(2*r.Float32()-1)}
	if shift && r.Float32() < 0.5 {
		l.cast = l.cast.times(rgb{1.08, 1.0, 0.86}) // warm street light / evening
	}
	if r.Float32() < 0.25 {
		l.dapple = 0.25 + 0.3*r.Float32()
		l.dapScale = 40 + 60*r.Float32()
	}
	g := 0.0006 * r.Float32()
	ga := r.Float32() * 6.2832
	l.gx, l.gy = g*cos32(ga), g*sin32(ga)
	l.vignette = 0.25 * r.Float32()
	return l
}

// camera holds the photo's optical and sensor nuisances.
type camera struct {
	blur    float32 // Gaussian blur, world pixels
	noise   float32 // sensor noise sigma
	chroma  float32
	quality int // JPEG quality of the round trip; 0 for none
}

func newCamera(r *rand.Rand, shift bool) camera {
	c := camera{blur: 0.9 * r.Float32() * r.Float32(), noise: 0.004 + 0.022*r.Float32(), chroma: 0.3 + 0.5*r.Float32()}
	if r.Float32() < 0.6 {
		c.quality = 45 + r.IntN(51)
	}
	if shift {
		c.blur = 0.3 + 1.4*r.Float32()
		c.noise = 0.012 + 0.035*r.Float32()
		c.quality = 28 + r.IntN(50)
	}
	return c
}

// world is one photographed patch of ground with its objects.
type world struct {
	w, h   int // scene size in pixels
	ground *ground
	light  lighting
	cam    camera
	objs   []*object // drawing order: ground debris, litter, occluding debris
}

// render draws the world rectangle (vx, vy, vw, vh) onto an ow×oh canvas,
// lit but before the camera's blur and noise.
func (w *world) render(vx, vy, vw, vh float32, ow, oh int) *canvas {
	c := newCanvas(ow, oh)
	pw, ph := vw/float32(ow), vh/float32(oh)
	view := rect{vx, vy, vx + vw, vy + vh}
	low := newLowGrid(ow, oh, view, pw, ph, w.ground.low)
	// Where the window magnifies the world, the ground varies slowly from
	// pixel to pixel: sample it every other pixel and interpolate.
	step := 1
	if max(pw, ph) < 0.6 && ow >= 32 && oh >= 32 {
		step = 2
	}
	for y := 0; y < oh; y += step {
		wy := vy + (float32(y)+0.5)*ph
		for x := 0; x < ow; x += step {
			wx := vx + (float32(x)+0.5)*pw
			c.set(x, y, w.ground.at(wx, wy, low.at(x, y)))
		}
	}
	if step == 2 {
		fillOdd(c)
	}
	for _, o := range w.objs {
		w.drawShadow(c, o, view, pw, ph)
		w.drawObject(c, o, view, pw, ph)
	}
	w.applyLight(c, view, pw, ph)
	return c
}

// fillOdd fills the pixels between those with even coordinates by linear
// interpolation (the last row and column repeat their neighbours).
func fillOdd(c *canvas) {
	for y := 0; y < c.h; y += 2 {
		for x := 1; x < c.w; x += 2 {
			if x+1 < c.w {
				c.set(x, y, lerp(c.at(x-1, y), c.at(x+1, y), 0.5))
			} else {
				c.set(x, y, c.at(x-1, y))
			}
		}
	}
	for y := 1; y < c.h; y += 2 {
		for x := 0; x < c.w; x++ {
			if y+1 < c.h {
				c.set(x, y, lerp(c.at(x, y-1), c.at(x, y+1), 0.5))
			} else {
				c.set(x, y, c.at(x, y-1))
			}
		}
	}
}

// lowGrid samples a smooth field every step output pixels (about every 8
// world pixels) and interpolates bilinearly in between.
type lowGrid struct {
	gw, step int
	inv      float32
	v        []float32
}

func newLowGrid(ow, oh int, view rect, pw, ph float32, f func(x, y float32) float32) *lowGrid {
	step := int(8 / max(pw, ph))
	step = min(max(step, 1), 16)
	gw, gh := (ow-1)/step+2, (oh-1)/step+2
	g := &lowGrid{gw: gw, step: step, inv: 1 / float32(step), v: make([]float32, gw*gh)}
	for j := 0; j < gh; j++ {
		wy := view.y0 + (float32(j*step)+0.5)*ph
		for i := 0; i < gw; i++ {
			g.v[j*gw+i] = f(view.x0+(float32(i*step)+0.5)*pw, wy)
		}
	}
	return g
}

func (g *lowGrid) at(x, y int) float32 {
	i, j := x/g.step, y/g.step
	fx, fy := float32(x-i*g.step)*g.inv, float32(y-j*g.step)*g.inv
	k := j*g.gw + i
	a := g.v[k] + (g.v[k+1]-g.v[k])*fx
	b := g.v[k+g.gw] + (g.v[k+g.gw+1]-g.v[k+g.gw])*fx
	return a + (b-a)*fy
}

// pixelRange returns the output pixel range covering the world rect b.
func pixelRange(b, view rect, pw, ph float32, ow, oh int) (x0, y0, x1, y1 int) {
	x0 = max(0, int(math.Floor(float64((b.x0-view.x0)/pw))))
	y0 = max(0, int(math.Floor(float64((b.y0-view.y0)/ph))))
	x1 = min(ow, int(math.Ceil(float64((b.x1-view.x0)/pw)))+1)
	y1 = min(oh, int(math.Ceil(float64((b.y1-view.y0)/ph)))+1)
	return
}

// drawShadow darkens the ground under the object's cast shadow: its outline
// shifted away from the sun, with a soft edge. The shadow factor is
// sampled every other pixel and interpolated when its edge is at least two
// pixels soft.
func (w *world) drawShadow(c *canvas, o *object, view rect, pw, ph float32) {
	k := w.light.sunK * o.shadow
	if k < 0.01 {
		return
	}
	off := o.height * o.scale * w.light.shadowLen
	sx, sy := -w.light.dx*off, -w.light.dy*off
	soft := 0.04 + 0.5*o.height
	b := rect{o.loose.x0 + sx, o.loose.y0 + sy, o.loose.x1 + sx, o.loose.y1 + sy}.grow(soft*o.scale + 2)
	x0, y0, x1, y1 := pixelRange(b, view, pw, ph, c.w, c.h)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	m := func(x, y int) float32 {
		wx := view.x0 + (float32(x)+0.5)*pw
		wy := view.y0 + (float32(y)+0.5)*ph
		u, v := o.local(wx-sx, wy-sy)
		return 1 - k*smooth(soft, -soft, o.it.sdf(u, v))
	}
	step := 1
	if soft*o.scale > 2*max(pw, ph) {
		step = 2
	}
	gw, gh := (x1-x0-1)/step+2, (y1-y0-1)/step+2
	g := make([]float32, gw*gh)
	for j := 0; j < gh; j++ {
		for i := 0; i < gw; i++ {
			g[j*gw+i] = m(x0+i*step, y0+j*step)
		}
	}
	inv := 1 / float32(step)
	for y := y0; y < y1; y++ {
		j := (y - y0) / step
		fy := float32(y-y0-j*step) * inv
		for x := x0; x < x1; x++ {
			i := (x - x0) / step
			fx := float32(x-x0-i*step) * inv
			q := j*gw + i
			a := g[q] + (g[q+1]-g[q])*fx
			bb := g[q+gw] + (g[q+gw+1]-g[q+gw])*fx
			if f := a + (bb-a)*fy; f < 1 {
				p := (y*c.w + x) * 3
				c.pix[p] *= f
				c.pix[p+1] *= f
				c.pix[p+2] *= f
			}
		}
	}
}

// aoReach is how far (local units) an object's contact shadow reaches.
const aoReach = 0.12

// drawObject draws the object's pixels with antialiased coverage, and the
// contact shadow (ambient occlusion) just outside its outline.
func (w *world) drawObject(c *canvas, o *object, view rect, pw, ph float32) {
	x0, y0, x1, y1 := pixelRange(o.loose.grow(aoReach*o.scale+1), view, pw, ph, c.w, c.h)
	pix := max(pw, ph) / o.scale
	f := frag{o: o, w: w, pix: pix}
	f.lu = w.light.dx*o.cs + w.light.dy*o.sn
	f.lv = -w.light.dx*o.sn + w.light.dy*o.cs
	ao := 0.3 * o.shadow
	for y := y0; y < y1; y++ {
		wy := view.y0 + (float32(y)+0.5)*ph
		for x := x0; x < x1; x++ {
			wx := view.x0 + (float32(x)+0.5)*pw
			u, v := o.local(wx, wy)
			d := o.it.sdf(u, v)
			i := (y*c.w + x) * 3
			if d > 0 && d < aoReach {
				m := 1 - ao*smooth(aoReach, 0, d)
				c.pix[i] *= m
				c.pix[i+1] *= m
				c.pix[i+2] *= m
			}
			cov := 0.5 - d/pix
			if cov <= 0 {
				continue
			}
			cov = min(cov, 1)
			f.u, f.v, f.d, f.wx, f.wy = u, v, d, wx, wy
			f.under = rgb{c.pix[i], c.pix[i+1], c.pix[i+2]}
			col := o.it.shade(&f)
			c.pix[i] += (col.r - c.pix[i]) * cov
			c.pix[i+1] += (col.g - c.pix[i+1]) * cov
			c.pix[i+2] += (col.b - c.pix[i+2]) * cov
		}
	}
}

func (w *world) applyLight(c *canvas, view rect, pw, ph float32) {
	l := &w.light
	cx, cy := float32(w.w)/2, float32(w.h)/2
	var dap *lowGrid
	if l.dapple > 0 {
		dap = newLowGrid(c.w, c.h, view, pw, ph, func(x, y float32) float32 {
			return fbm(x/l.dapScale, y/l.dapScale, l.seed, 2, 0.5)
		})
	}
	i := 0
	for y := 0; y < c.h; y++ {
		wy := view.y0 + (float32(y)+0.5)*ph
		ny := (float32(y)+0.5)/float32(c.h)*2 - 1
		for x := 0; x < c.w; x++ {
			wx := view.x0 + (float32(x)+0.5)*pw
			nx := (float32(x)+0.5)/float32(c.w)*2 - 1
			k := l.exposure * (1 + l.gx*(wx-cx) + l.gy*(wy-cy)) * (1 - l.vignette*0.5*(nx*nx+ny*ny))
			if dap != nil {
				k *= 1 - l.dapple*smooth(-0.05, 0.1, dap.at(x, y))
			}
			c.pix[i] *= k * l.cast.r
			c.pix[i+1] *= k * l.cast.g
			c.pix[i+2] *= k * l.cast.b
			i += 3
		}
	}
}
