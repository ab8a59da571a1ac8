package litter

import (
	"image"
	"math"
	"math/rand/v2"
)

// makeLitter draws an item of a litter class, with the everyday dirt and
// half-burial that every class shows now and then.
func makeLitter(r *rand.Rand, class int, g *ground) kindSpec {
	if class == Unknown {
		return makeUnknown(r, g)
	}
	ks := makePlain(r, class)
	soil := soilColour(r, g)
	if r.Float32() < 0.35 {
		ks.it = &dirty{item: ks.it, amount: spread(r, 0.05, 0.3), seed: r.Uint32(), soil: soil, scale: spread(r, 1.5, 4)}
	}
	if r.Float32() < 0.1 {
		a := r.Float32() * 6.3
		ks.it = &buried{item: ks.it, dx: cos32(a), dy: sin32(a), thr: spread(r, 0.5, 0.9), seed: r.Uint32(), soil: soil}
	}
	return ks
}

func soilColour(r *rand.Rand, g *ground) rgb {
	return jitter(r, lerp(g.base, rgb{0.33, 0.26, 0.18}, 0.5), 0.1)
}

// makePlain draws a clean item of a litter class (not unknown).
func makePlain(r *rand.Rand, class int) kindSpec {
	x := r.Float32()
	switch class {
	case MetalsAndPlastic:
		switch {
		case x < 0.38:
			return newCan(r)
		case x < 0.72:
			return newPET(r)
		case x < 0.85:
			return newCup(r, false)
		default:
			return newCarton(r)
		}
	case Glass:
		switch {
		case x < 0.45:
			return newGlassBottle(r)
		case x < 0.62:
			ks := newGlassBottle(r)
			a := spread(r, -0.5, 0.5)
			ks.it = &cut{item: ks.it, nx: sin32(a), ny: -cos32(a), c: spread(r, -0.1, 0.5), amp: 0.1, seed: r.Uint32(), edge: cWhiteL, edgeK: 0.6}
			return ks
		case x < 0.9:
			return newShards(r)
		default:
			return newJar(r)
		}
	case Paper:
		switch {
		case x < 0.3:
			return newSheet(r)
		case x < 0.58:
			return newCrumpled(r)
		case x < 0.88:
			return newCardboard(r)
		default:
			return newCup(r, true)
		}
	case Bio:
		switch {
		case x < 0.25:
			return newBanana(r)
		case x < 0.45:
			return newCore(r)
		case x < 0.65:
			return newOrganic(r, 0)
		case x < 0.85:
			return newOrganic(r, 1)
		default:
			return newOrganic(r, 2)
		}
	case NonRecyclable:
		switch {
		case x < 0.35:
			return newFoil(r, false)
		case x < 0.6:
			return newBag(r)
		case x < 0.8:
			return newButts(r)
		case x < 0.9:
			return newFoam(r)
		default:
			return newFoil(r, true)
		}
	case Other:
		switch {
		case x < 0.45:
			return newTextile(r)
		case x < 0.75:
			return newRubber(r)
		case x < 0.9:
			return newWood(r)
		default:
			return newSponge(r)
		}
	}
	panic("litter: no plain kind for class " + Classes[class])
}

// unknownBase are the classes an unknown item is made from.
var unknownBase = []float64{0, 0.1, 0.1, 0.3, 0.22, 0.13, 0.15, 0}

func drawClass(r *rand.Rand, w []float64) int {
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	x := r.Float64() * sum
	for c, p := range w {
		x -= p
		if x < 0 && p > 0 {
			return c
		}
	}
	for c := len(w) - 1; c >= 0; c-- {
		if w[c] > 0 {
			return c
		}
	}
	return 0
}

// makeUnknown draws an ambiguous item: another class's item that is dirty,
// half buried, torn to a fragment, tangled with a second item, or an
// indeterminate lump.
func makeUnknown(r *rand.Rand, g *ground) kindSpec {
	soil := soilColour(r, g)
	mode := r.Float32()
	if mode >= 0.82 {
		l := &lump{seed: r.Uint32(), c1: jitter(r, pick(r, printPal), 0.15).sat(0.5), c2: soil}
		l.blob = newBlob(r, spread(r, 0.3, 0.6), 1, spread(r, 0.5, 0.9))
		return kindSpec{it: &dirty{item: &rough{item: l, amp: 0.07, freq: 7, seed: l.seed}, amount: spread(r, 0.2, 0.5), seed: r.Uint32(), soil: soil, scale: 3},
			size: spread(r, 35, 100), height: 0.1, shadow: 0.9}
	}
	ks := makePlain(r, drawClass(r, unknownBase))
	dirt := spread(r, 0.35, 0.8)
	switch {
	case mode < 0.35:
		a := r.Float32() * 6.3
		ks.it = &buried{item: ks.it, dx: cos32(a), dy: sin32(a), thr: spread(r, -0.35, 0.3), seed: r.Uint32(), soil: soil}
	case mode < 0.6:
		a := r.Float32() * 6.3
		ks.it = &cut{item: ks.it, nx: cos32(a), ny: sin32(a), c: spread(r, -0.35, 0.25), amp: 0.12, seed: r.Uint32(), edge: soil, edgeK: 0.5}
		dirt = spread(r, 0.3, 0.7)
	default:
		other := makePlain(r, drawClass(r, unknownBase))
		s := other.size / ks.size
		s = clamp(s, 0.5, 1.2)
		a := r.Float32() * 6.3
		ks.it = newGroup(newPart(ks.it, 0, 0, 0, 1), newPart(other.it, cos32(a)*0.5, sin32(a)*0.5, r.Float32()*6.3, s))
		ks.size *= 0.9
		dirt = spread(r, 0.2, 0.55)
	}
	ks.it = &dirty{item: ks.it, amount: dirt, seed: r.Uint32(), soil: soil, scale: spread(r, 1.5, 4)}
	return ks
}

// lump is an indeterminate mass: film, fabric and dirt.
type lump struct {
	blob
	c1, c2 rgb
	seed   uint32
}

func (l *lump) shade(f *frag) rgb {
	n := fbm(f.u*3, f.v*3, l.seed, 3, 0.5)
	c := lerp(l.c1, l.c2, smooth(-0.3, 0.4, n))
	wr := noise(f.u*9, f.v*3, l.seed+1)
	rho, _ := l.polar(f.u, f.v)
	return c.mul(0.85 + 0.25*wr - 0.25*rho*rho + 0.1*f.lu*f.u)
}

// makeDebris draws a natural thing that suits the ground.
func makeDebris(r *rand.Rand, g groundKind) kindSpec {
	x := r.Float32()
	switch g {
	case grass:
		if x < 0.6 {
			return newStick(r, true)
		} else if x < 0.85 {
			return newLeaf(r)
		}
		return newStick(r, false)
	case leaves:
		if x < 0.75 {
			return newLeaf(r)
		}
		return newStick(r, false)
	case soil, sand:
		if x < 0.45 {
			return newStone(r)
		} else if x < 0.75 {
			return newStick(r, false)
		} else if x < 0.9 {
			return newLeaf(r)
		}
		return newStick(r, true)
	default:
		if x < 0.4 {
			return newStone(r)
		} else if x < 0.8 {
			return newLeaf(r)
		}
		return newStick(r, false)
	}
}

// newWorld draws the ground, light and camera of one photo. zoom is the
// camera distance: object and texture scale.
func newWorld(r *rand.Rand, w, h int, shift bool) (*world, float32) {
	wd := &world{w: w, h: h}
	wd.ground = newGround(r, shift)
	wd.light = newLighting(r, shift)
	wd.cam = newCamera(r, shift)
	zoom := spread(r, 0.75, 1.3)
	if shift {
		zoom = spread(r, 0.9, 1.6)
	}
	// the scene's pixel scale follows its size: objects keep their size
	// relative to a 512-pixel-wide photo
	zoom *= float32(min(w, h)) / 384
	wd.ground.scale /= zoom
	return wd, zoom
}

// scatter places n natural debris items anywhere in the world.
func (wd *world) scatter(r *rand.Rand, n int, zoom float32) {
	for i := 0; i < n; i++ {
		ks := makeDebris(r, wd.ground.kind)
		o := newObject(ks.it, -1, spread(r, -20, float32(wd.w)+20), spread(r, -20, float32(wd.h)+20), ks.size/2*zoom, r.Float32()*6.2832)
		o.height, o.shadow = ks.height, ks.shadow
		wd.objs = append(wd.objs, o)
	}
}

// occlude lays a natural item over part of o.
func (wd *world) occlude(r *rand.Rand, o *object, zoom float32) {
	ks := makeDebris(r, wd.ground.kind)
	b := o.box
	d := newObject(ks.it, -1, spread(r, b.x0, b.x1), spread(r, b.y0, b.y1), ks.size/2*zoom*spread(r, 0.7, 1.2), r.Float32()*6.2832)
	d.height, d.shadow = ks.height, ks.shadow
	wd.objs = append(wd.objs, d)
}

func area(b rect) float32 { return max(0, b.x1-b.x0) * max(0, b.y1-b.y0) }

func inter(a, b rect) float32 {
	return area(rect{max(a.x0, b.x0), max(a.y0, b.y0), min(a.x1, b.x1), min(a.y1, b.y1)})
}

// place puts a litter item into the world at a random position and angle
// where it overlaps the annotated objects little and at least half of it
// lies inside the scene; it returns nil if no position was found.
func (wd *world) place(r *rand.Rand, ks kindSpec, class int, others []*object, zoom float32, inner bool) *object {
	W, H := float32(wd.w), float32(wd.h)
	scale := ks.size / 2 * zoom
	for try := 0; try < 24; try++ {
		m := scale * 0.4
		if inner {
			m = scale * 1.1
		}
		cx, cy := spread(r, m, W-m), spread(r, m, H-m)
		if W-2*m < 1 {
			cx = W / 2
		}
		if H-2*m < 1 {
			cy = H / 2
		}
		o := newObject(ks.it, class, cx, cy, scale, r.Float32()*6.2832)
		o.height, o.shadow = ks.height, ks.shadow
		box, ok := o.tightBox(wd.w, wd.h)
		if !ok || area(box) < 16 {
			continue
		}
		if inner && (box.x0 <= 0 || box.y0 <= 0 || box.x1 >= W || box.y1 >= H) {
			continue
		}
		clash := false
		for _, p := range others {
			if inter(box, p.box) > 0.2*min(area(box), area(p.box)) {
				clash = true
				break
			}
		}
		if clash {
			continue
		}
		o.box, o.seen = box, true
		return o
	}
	return nil
}

// cropWorld builds the world that crop i of a split is cut from: the
// target item (none for background) with neighbours and debris, and the
// crop window in world pixels. The class is the sample's true class.
func cropWorld(cfg *Config, split Split, i, class int, stream int) (*world, *object, rect) {
	r := sampleRNG(cfg.Seed, stream, split, i)
	shift := split == Pool
	wd, zoom := newWorld(r, cfg.SceneW, cfg.SceneH, shift)
	wd.scatter(r, 4+r.IntN(14), zoom)
	var annotated []*object
	var target *object
	if class != Background {
		for target == nil {
			ks := makeLitter(r, class, wd.ground)
			target = wd.place(r, ks, class, nil, zoom, true)
			if target != nil && max(target.box.x1-target.box.x0, target.box.y1-target.box.y0) < 14 {
				target = nil // too small to be worth a crop
			}
		}
		annotated = append(annotated, target)
	}
	litter := split.weights()
	litter[Background] = 0
	for n := r.IntN(4); n > 0; n-- {
		c := drawClass(r, litter)
		if o := wd.place(r, makeLitter(r, c, wd.ground), c, annotated, zoom, false); o != nil {
			annotated = append(annotated, o)
		}
	}
	wd.objs = append(wd.objs, annotated...)
	if target != nil && r.Float32() < 0.35 {
		wd.occlude(r, target, zoom)
	}
	for n := r.IntN(3); n > 0; n-- {
		ks := makeDebris(r, wd.ground.kind)
		o := newObject(ks.it, -1, spread(r, 0, float32(wd.w)), spread(r, 0, float32(wd.h)), ks.size/2*zoom, r.Float32()*6.2832)
		o.height, o.shadow = ks.height, ks.shadow
		wd.objs = append(wd.objs, o)
	}

	// the crop window: a square around the box with some context
	var view rect
	zlo, zhi := float32(1.15), float32(1.75)
	if shift {
		zlo, zhi = 1.05, 1.5
	}
	if target != nil {
		b := target.box
		side := max(b.x1-b.x0, b.y1-b.y0) * spread(r, zlo, zhi)
		side = max(side, 20)
		cx, cy := (b.x0+b.x1)/2+spread(r, -0.1, 0.1)*side, (b.y0+b.y1)/2+spread(r, -0.1, 0.1)*side
		if r.Float32() < 0.12 { // a partial crop: the box cut the object short
			a := r.Float32() * 6.2832
			k := spread(r, 0.25, 0.4) * side
			cx, cy = cx+cos32(a)*k, cy+sin32(a)*k
		}
		view = rect{cx - side/2, cy - side/2, cx + side/2, cy + side/2}
	} else {
		side := spread(r, 40, 120) * zoom * spread(r, zlo, zhi)
		side = min(side, float32(min(wd.w, wd.h)))
		// the clearest of a few windows: litter must not stray into
		// background crops
		best := float32(-1)
		for try := 0; try < 30; try++ {
			cx := spread(r, side/2, float32(wd.w)-side/2)
			cy := spread(r, side/2, float32(wd.h)-side/2)
			v := rect{cx - side/2, cy - side/2, cx + side/2, cy + side/2}
			var ov float32
			for _, o := range annotated {
				ov += inter(v.grow(side*0.05), o.box)
			}
			if best < 0 || ov < best {
				best, view = ov, v
			}
			if ov == 0 {
				break
			}
		}
		if best > 0 { // no clear window: the neighbours in it go
			keep := wd.objs[:0]
			for _, o := range wd.objs {
				if o.class < 0 || inter(view.grow(side*0.05), o.box) == 0 {
					keep = append(keep, o)
				}
			}
			wd.objs = keep
		}
	}
	return wd, target, view
}

// sceneWorld builds detector scene i of a split.
func sceneWorld(cfg *Config, split Split, i int) (*world, []*object) {
	r := sampleRNG(cfg.Seed, streamScene, split, i)
	shift := split == Pool
	wd, zoom := newWorld(r, cfg.SceneW, cfg.SceneH, shift)
	wd.scatter(r, 6+r.IntN(20), zoom)
	litter := split.weights()
	litter[Background] = 0
	var annotated []*object
	n := 1
	if cfg.MaxObjects > 1 {
		n = 2 + r.IntN(cfg.MaxObjects-1)
	}
	for ; n > 0; n-- {
		c := drawClass(r, litter)
		if o := wd.place(r, makeLitter(r, c, wd.ground), c, annotated, zoom, false); o != nil {
			annotated = append(annotated, o)
		}
	}
	wd.objs = append(wd.objs, annotated...)
	for _, o := range annotated {
		if r.Float32() < 0.3 {
			wd.occlude(r, o, zoom)
		}
	}
	return wd, annotated
}

// photo is a finished image and, when the camera compressed it, its JPEG
// file (which decodes to exactly the image).
type photo struct {
	img     *image.RGBA
	jpeg    []byte
	quality int
}

// finish applies the camera to a rendered canvas: blur of sigma output
// pixels, sensor noise and the JPEG round trip.
func finish(c *canvas, cam camera, sigma float32, r *rand.Rand) photo {
	c.blur(sigma)
	c.sensorNoise(r, cam.noise, cam.chroma)
	p := photo{img: c.rgba()}
	if cam.quality > 0 {
		p.img, p.jpeg = jpegRoundTrip(p.img, cam.quality)
		p.quality = cam.quality
	}
	return p
}

// cropBlur is the blur of a crop in output pixels: the photo's blur and the
// softness of its pixels, magnified with the crop.
//
// Crops are cut from the full-resolution photo, taken to be twice the
// scene's resolution, so the scene's blur halves before it is magnified.
func cropBlur(cam camera, mag float32, size int) float32 {
	b := cam.blur / 2
	s := float32(math.Sqrt(float64(b*b+0.04))) * mag
	return min(s, float32(size)/24)
}
