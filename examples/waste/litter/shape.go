package litter

import "math/rand/v2"

// Objects are drawn as implicit shapes: every item has a signed distance
// function in its own local frame (x across, y along, about [-1, 1]; negative
// inside) and a shading function. The renderer maps each output pixel into
// the frame, turns the distance into antialiased coverage and asks the item
// for a colour. Shadows, ambient occlusion and tight boxes come from the same
// distance function, so boxes always match what is drawn.

// rect is an axis-aligned rectangle in local or world units.
type rect struct{ x0, y0, x1, y1 float32 }

func (r rect) grow(d float32) rect { return rect{r.x0 - d, r.y0 - d, r.x1 + d, r.y1 + d} }

func (r rect) union(s rect) rect {
	return rect{min(r.x0, s.x0), min(r.y0, s.y0), max(r.x1, s.x1), max(r.y1, s.y1)}
}

// frag is one pixel handed to an item's shade function.
type frag struct {
	u, v, d float32 // local coordinates and the distance there
	wx, wy  float32 // world coordinates
	lu, lv  float32 // direction towards the light, local frame (unit)
	pix     float32 // local units per output pixel
	under   rgb     // what lies below: the canvas colour so far
	o       *object
	w       *world
}

// geom is a bare outline: a signed distance and its bounds.
type geom interface {
	sdf(u, v float32) float32
	bounds() rect
}

// item is a drawable thing in its local frame.
type item interface {
	sdf(u, v float32) float32
	bounds() rect // contains every point with sdf <= 0
	shade(f *frag) rgb
}

// --- primitive shapes -----------------------------------------------------

const profSeg = 64

// profile is a shape symmetric about the v axis: |u| <= w(v) for v in
// [-1, 1], optionally bent (the axis follows u = bend·(v²-1/3)). Cans,
// bottles, cigarette butts, peels and leaves are profiles.
type profile struct {
	hw   [profSeg + 1]float32
	norm [profSeg]float32
	maxW float32
	bend float32
}

// newProfile interpolates the control points (v, w), v increasing from -1 to
// 1, and smooths the result a little.
func newProfile(bend float32, pts ...[2]float32) profile {
	var p profile
	p.bend = bend
	k := 0
	for i := 0; i <= profSeg; i++ {
		v := -1 + 2*float32(i)/profSeg
		for k+1 < len(pts)-1 && pts[k+1][0] < v {
			k++
		}
		a, b := pts[k], pts[k+1]
		t := clamp01((v - a[0]) / (b[0] - a[0]))
		p.hw[i] = a[1] + (b[1]-a[1])*t
	}
	for pass := 0; pass < 2; pass++ {
		prev := p.hw[0]
		for i := 1; i < profSeg; i++ {
			cur := p.hw[i]
			p.hw[i] = 0.25*prev + 0.5*cur + 0.25*p.hw[i+1]
			prev = cur
		}
	}
	for i := 0; i <= profSeg; i++ {
		p.maxW = max(p.maxW, p.hw[i])
	}
	for i := 0; i < profSeg; i++ {
		dw := (p.hw[i+1] - p.hw[i]) * profSeg / 2
		p.norm[i] = 1 / sqrt32(1+dw*dw)
	}
	return p
}

// width returns w(v) and the segment index.
func (p *profile) width(v float32) (float32, int) {
	f := (clamp(v, -1, 1) + 1) * (profSeg / 2)
	k := int(f)
	if k >= profSeg {
		k = profSeg - 1
	}
	fr := f - float32(k)
	return p.hw[k] + (p.hw[k+1]-p.hw[k])*fr, k
}

func (p *profile) straighten(u, v float32) float32 { return u - p.bend*(v*v-0.333) }

func (p *profile) sdf(u, v float32) float32 {
	u = p.straighten(u, v)
	w, k := p.width(v)
	d := (abs32(u) - w) * p.norm[k]
	return max(d, abs32(v)-1)
}

// across returns the normalised across-axis coordinate t in [-1, 1] and the
// half width at v.
func (p *profile) across(u, v float32) (float32, float32) {
	u = p.straighten(u, v)
	w, _ := p.width(v)
	if w < 1e-4 {
		return 0, w
	}
	return clamp(u/w, -1, 1), w
}

func (p *profile) bounds() rect {
	e := p.maxW + abs32(p.bend)*0.67
	return rect{-e, -1, e, 1}
}

const blobSeg = 64

// blob is a star-shaped outline: radius r(θ) around the origin, scaled by
// (ax, ay). Peels, crumpled paper, bags and stones are blobs.
type blob struct {
	r      [blobSeg + 1]float32
	ax, ay float32
}

// newBlob draws a random outline: harmonics 2..6 with amplitudes falling
// off from lumpy, normalised to a maximum radius of 1.
func newBlob(r *rand.Rand, lumpy, ax, ay float32) blob {
	var b blob
	b.ax, b.ay = ax, ay
	var amp [8]float32
	var ph [8]float32
	for k := 2; k < 8; k++ {
		amp[k] = lumpy * r.Float32() / float32(k-1)
		ph[k] = r.Float32() * 6.2832
	}
	mx := float32(0)
	for i := 0; i <= blobSeg; i++ {
		th := float32(i) / blobSeg * 6.2832
		v := float32(1)
		for k := 2; k < 8; k++ {
			v += amp[k] * cos32(float32(k)*th+ph[k])
		}
		v = max(v, 0.25)
		b.r[i] = v
		mx = max(mx, v)
	}
	for i := range b.r {
		b.r[i] /= mx
	}
	b.r[blobSeg] = b.r[0]
	return b
}

// polar returns the normalised radius ρ/r(θ) (1 on the outline) and θ.
func (b *blob) polar(u, v float32) (float32, float32) {
	x, y := u/b.ax, v/b.ay
	rho := sqrt32(x*x + y*y)
	th := atan2(y, x)
	f := (th + 3.14159274) * (blobSeg / 6.2831855)
	k := int(f)
	if k >= blobSeg {
		k = blobSeg - 1
	}
	if k < 0 {
		k = 0
	}
	fr := f - float32(k)
	rr := b.r[k] + (b.r[k+1]-b.r[k])*fr
	return rho / rr, th
}

func (b *blob) sdf(u, v float32) float32 {
	x, y := u/b.ax, v/b.ay
	rho := sqrt32(x*x + y*y)
	th := atan2(y, x)
	f := (th + 3.14159274) * (blobSeg / 6.2831855)
	k := int(f)
	if k >= blobSeg {
		k = blobSeg - 1
	}
	if k < 0 {
		k = 0
	}
	fr := f - float32(k)
	rr := b.r[k] + (b.r[k+1]-b.r[k])*fr
	return (rho - rr) * min(b.ax, b.ay) * 0.9
}

func (b *blob) bounds() rect { return rect{-b.ax, -b.ay, b.ax, b.ay} }

// poly is a convex polygon given by its edges' outward normals.
type poly struct {
	n         int
	nx, ny, c [8]float32
	b         rect
}

// newPoly builds a convex polygon from up to 8 vertices in counter-clockwise
// order (y down: clockwise on screen).
func newPoly(pts ...[2]float32) poly {
	var p poly
	p.n = len(pts)
	p.b = rect{pts[0][0], pts[0][1], pts[0][0], pts[0][1]}
	// orientation: signed area
	var area float32
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		area += a[0]*b[1] - b[0]*a[1]
		p.b = p.b.union(rect{a[0], a[1], a[0], a[1]})
	}
	sgn := float32(1)
	if area < 0 {
		sgn = -1
	}
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		ex, ey := b[0]-a[0], b[1]-a[1]
		l := sqrt32(ex*ex + ey*ey)
		nx, ny := ey/l*sgn, -ex/l*sgn
		p.nx[i], p.ny[i] = nx, ny
		p.c[i] = nx*a[0] + ny*a[1]
	}
	return p
}

func (p *poly) sdf(u, v float32) float32 {
	d := float32(-1e9)
	for i := 0; i < p.n; i++ {
		d = max(d, p.nx[i]*u+p.ny[i]*v-p.c[i])
	}
	return d
}

func (p *poly) bounds() rect { return p.b }

// randQuad returns a jittered rectangle of half sizes (hx, hy), convex.
func randQuad(r *rand.Rand, hx, hy, jit float32) poly {
	j := func() float32 { return (2*r.Float32() - 1) * jit }
	return newPoly(
		[2]float32{-hx + j()*hx, -hy + j()*hy},
		[2]float32{hx + j()*hx, -hy + j()*hy},
		[2]float32{hx + j()*hx, hy + j()*hy},
		[2]float32{-hx + j()*hx, hy + j()*hy},
	)
}

// randShard returns an irregular convex polygon of 3-6 vertices inside the
// ellipse (hx, hy): a glass shard or a stone facet.
func randShard(r *rand.Rand, hx, hy float32) poly {
	n := 3 + r.IntN(4)
	var pts [][2]float32
	a0 := r.Float32() * 6.2832
	for i := 0; i < n; i++ {
		a := a0 + (float32(i)+0.3+0.4*r.Float32())*6.2832/float32(n)
		rr := 0.6 + 0.4*r.Float32()
		pts = append(pts, [2]float32{cos32(a) * hx * rr, sin32(a) * hy * rr})
	}
	return newPoly(pts...)
}

// --- composition ----------------------------------------------------------

// part places a child item inside a group: translation, rotation, scale.
type part struct {
	it             item
	tx, ty, cs, sn float32
	s              float32
}

func newPart(it item, tx, ty, angle, s float32) part {
	return part{it: it, tx: tx, ty: ty, cs: cos32(angle), sn: sin32(angle), s: s}
}

func (p *part) local(u, v float32) (float32, float32) {
	dx, dy := u-p.tx, v-p.ty
	return (dx*p.cs + dy*p.sn) / p.s, (-dx*p.sn + dy*p.cs) / p.s
}

func (p *part) bounds() rect {
	b := p.it.bounds()
	out := rect{1e9, 1e9, -1e9, -1e9}
	for _, c := range [4][2]float32{{b.x0, b.y0}, {b.x1, b.y0}, {b.x0, b.y1}, {b.x1, b.y1}} {
		x := (c[0]*p.cs-c[1]*p.sn)*p.s + p.tx
		y := (c[0]*p.sn+c[1]*p.cs)*p.s + p.ty
		out = out.union(rect{x, y, x, y})
	}
	return out
}

// group is the union of several parts; a pixel takes the shading of the
// part it lies deepest in.
type group struct {
	parts []part
	b     rect
}

func newGroup(parts ...part) *group {
	g := &group{parts: parts, b: rect{1e9, 1e9, -1e9, -1e9}}
	for i := range parts {
		g.b = g.b.union(parts[i].bounds())
	}
	return g
}

func (g *group) sdf(u, v float32) float32 {
	d := float32(1e9)
	for i := range g.parts {
		p := &g.parts[i]
		x, y := p.local(u, v)
		d = min(d, p.it.sdf(x, y)*p.s)
	}
	return d
}

func (g *group) bounds() rect { return g.b }

func (g *group) shade(f *frag) rgb {
	best, bd := 0, float32(1e9)
	var bx, by float32
	for i := range g.parts {
		p := &g.parts[i]
		x, y := p.local(f.u, f.v)
		d := p.it.sdf(x, y) * p.s
		if d < bd {
			best, bd, bx, by = i, d, x, y
		}
	}
	p := &g.parts[best]
	sub := *f
	sub.u, sub.v, sub.d = bx, by, bd/p.s
	sub.pix = f.pix / p.s
	sub.lu, sub.lv = f.lu*p.cs+f.lv*p.sn, -f.lu*p.sn+f.lv*p.cs
	return p.it.shade(&sub)
}

// --- wrappers -------------------------------------------------------------

// rough perturbs an item's outline with noise (torn paper, organic edges).
type rough struct {
	item
	amp, freq float32
	seed      uint32
}

func (w *rough) sdf(u, v float32) float32 {
	return w.item.sdf(u, v) + w.amp*noise(u*w.freq, v*w.freq, w.seed)
}

func (w *rough) bounds() rect { return w.item.bounds().grow(w.amp * 1.5) }

// warp displaces an item's frame with smooth noise (crumpling, bending).
type warp struct {
	item
	amp, freq float32
	seed      uint32
}

func (w *warp) at(u, v float32) (float32, float32) {
	return u + w.amp*noise(u*w.freq, v*w.freq, w.seed), v + w.amp*noise(u*w.freq+31.7, v*w.freq-11.3, w.seed)
}

func (w *warp) sdf(u, v float32) float32 {
	x, y := w.at(u, v)
	return w.item.sdf(x, y)
}

func (w *warp) bounds() rect { return w.item.bounds().grow(w.amp * 1.5) }

func (w *warp) shade(f *frag) rgb {
	sub := *f
	sub.u, sub.v = w.at(f.u, f.v)
	return w.item.shade(&sub)
}

// cut tears an item along a rough line: what lies beyond n·p > c is gone
// (broken bottles, torn fragments).
type cut struct {
	item
	nx, ny, c, amp float32
	seed           uint32
	edge           rgb // colour of the torn edge
	edgeK          float32
}

func (w *cut) line(u, v float32) float32 {
	return w.nx*u + w.ny*v - w.c + w.amp*noise(u*6, v*6, w.seed)
}

func (w *cut) sdf(u, v float32) float32 { return max(w.item.sdf(u, v), w.line(u, v)) }

func (w *cut) shade(f *frag) rgb {
	c := w.item.shade(f)
	if w.edgeK > 0 {
		e := bump(w.line(f.u, f.v)/0.06 + 1)
		c = lerp(c, w.edge, e*w.edgeK)
	}
	return c
}

// buried hides part of an item under the ground: a noisy front sweeps over
// it from one side, with a dark soil rim.
type buried struct {
	item
	dx, dy, thr float32
	seed        uint32
	soil        rgb
}

func (w *buried) field(u, v float32) float32 {
	return w.dx*u + w.dy*v - w.thr + 0.35*fbm(u*2.2, v*2.2, w.seed, 2, 0.5)
}

func (w *buried) sdf(u, v float32) float32 { return max(w.item.sdf(u, v), w.field(u, v)) }

func (w *buried) shade(f *frag) rgb {
	c := w.item.shade(f)
	e := smooth(-0.25, 0, w.field(f.u, f.v))
	return lerp(c, w.soil.mul(0.8+0.3*noise(f.u*14, f.v*14, w.seed+3)), e*0.7)
}

// dirty smears soil over an item and washes out its colours.
type dirty struct {
	item
	amount float32
	seed   uint32
	soil   rgb
	scale  float32
}

func (w *dirty) shade(f *frag) rgb {
	c := w.item.shade(f)
	n := fbm(f.u*w.scale, f.v*w.scale, w.seed, 2, 0.55)
	m := smooth(0.35-w.amount, 0.85-w.amount, n) * w.amount * 1.4
	c = c.sat(1 - 0.6*w.amount)
	d := w.soil.mul(0.75 + 0.5*noise(f.u*18, f.v*18, w.seed+7))
	return lerp(c, d, clamp01(m))
}
