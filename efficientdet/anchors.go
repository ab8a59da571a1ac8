package efficientdet

import (
	"fmt"
	"math"
)

// AnchorConfig describes the anchor grid (effdet's Anchors): levels
// MinLevel…MaxLevel, NumScales sizes per octave and one anchor per aspect
// ratio at each size, the base size AnchorScale strides.
type AnchorConfig struct {
	MinLevel, MaxLevel int
	NumScales          int
	AspectRatios       []AspectRatio
	AnchorScale        float64
}

// AnchorConfig returns the model's anchor configuration.
func (c Config) AnchorConfig() AnchorConfig {
	r := c.resolved()
	return AnchorConfig{MinLevel: MinLevel, MaxLevel: r.MaxLevel, NumScales: r.NumScales, AspectRatios: r.AspectRatios, AnchorScale: r.AnchorScale}
}

// PerLocation returns the number of anchors at each position of a level.
func (a AnchorConfig) PerLocation() int { return a.NumScales * len(a.AspectRatios) }

// Level describes one pyramid level's block of anchors.
type Level struct {
	Level int // pyramid level (3 for P3)
	H, W  int // feature-map size
	Start int // index of the level's first anchor
	Count int // H·W·PerLocation anchors
}

// Anchors are the anchor boxes of every level for one input size, in the
// order the model's outputs list them: level by level (finest first),
// position by position (row-major), and at each position scale by scale
// (2^(i/NumScales)), aspect ratio by aspect ratio.
type Anchors struct {
	Height, Width int
	// Boxes holds every anchor as (x1, y1, x2, y2) in input pixels.
	Boxes       [][4]float32
	Levels      []Level
	PerLocation int
}

// Len returns the number of anchors.
func (a *Anchors) Len() int { return len(a.Boxes) }

// NewAnchors generates the anchors of an h×w input. Level l has
// ⌈h/2ˡ⌉×⌈w/2ˡ⌉ positions (LevelSizes) with stride s = (h/H_l, w/W_l) —
// 2ˡ when the size divides — and centres at s/2 + i·s; an anchor of
// octave scale o and aspect (ax, ay) there is AnchorScale·s·2^o·ax wide and
// AnchorScale·s·2^o·ay high. This is effdet's Anchors (TensorFlow's
// RetinaNet anchors), computed in float64 and stored in float32 as effdet
// stores them, for any size, square or not.
func NewAnchors(h, w int, c AnchorConfig) (*Anchors, error) {
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("efficientdet: anchors for a %d×%d image", h, w)
	}
	if c.MinLevel < 1 || c.MaxLevel < c.MinLevel || c.MaxLevel > 16 {
		return nil, fmt.Errorf("efficientdet: anchor levels %d…%d", c.MinLevel, c.MaxLevel)
	}
	if c.NumScales < 1 || len(c.AspectRatios) == 0 || !(c.AnchorScale > 0) || math.IsInf(c.AnchorScale, 0) {
		return nil, fmt.Errorf("efficientdet: anchor config %+v: need scales, aspect ratios and a positive scale", c)
	}
	for _, r := range c.AspectRatios {
		if !(r.X > 0 && r.Y > 0) || math.IsInf(r.X, 0) || math.IsInf(r.Y, 0) {
			return nil, fmt.Errorf("efficientdet: aspect ratio %v: both sides must be positive and finite", r)
		}
	}
	sizes := LevelSizes(h, w, c.MaxLevel)
	a := &Anchors{Height: h, Width: w, PerLocation: c.PerLocation()}
	total := 0
	for l := c.MinLevel; l <= c.MaxLevel; l++ {
		n := sizes[l][0] * sizes[l][1] * a.PerLocation
		a.Levels = append(a.Levels, Level{Level: l, H: sizes[l][0], W: sizes[l][1], Start: total, Count: n})
		total += n
	}
	a.Boxes = make([][4]float32, total)
	for _, lv := range a.Levels {
		sy := float64(h) / float64(lv.H)
		sx := float64(w) / float64(lv.W)
		// Half sizes of the anchors at one position, in effdet's order.
		half := make([][2]float64, 0, a.PerLocation)
		for o := range c.NumScales {
			oct := math.Pow(2, float64(o)/float64(c.NumScales))
			for _, r := range c.AspectRatios {
				half = append(half, [2]float64{
					c.AnchorScale * sx * oct * r.X / 2,
					c.AnchorScale * sy * oct * r.Y / 2,
				})
			}
		}
		i := lv.Start
		for y := range lv.H {
			cy := sy/2 + float64(y)*sy
			for x := range lv.W {
				cx := sx/2 + float64(x)*sx
				for _, hs := range half {
					a.Boxes[i] = [4]float32{float32(cx - hs[0]), float32(cy - hs[1]), float32(cx + hs[0]), float32(cy + hs[1])}
					i++
				}
			}
		}
	}
	return a, nil
}

// Anchors returns the anchors of an h×w input for this model, generated
// once per size and shared (do not modify them).
func (m *Model) Anchors(h, w int) (*Anchors, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := [2]int{h, w}
	if a, ok := m.anchors[key]; ok {
		return a, nil
	}
	a, err := NewAnchors(h, w, m.cfg.AnchorConfig())
	if err != nil {
		return nil, err
	}
	if len(m.anchors) >= 8 { // sizes vary (multi-scale training): keep a few
		clear(m.anchors)
	}
	m.anchors[key] = a
	return a, nil
}
