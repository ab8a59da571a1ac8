package augment

import (
	"fmt"
	"math/rand/v2"
)

// Letterbox is how a ResizePad or RandomResizePad placed the original
// image: a point (x, y) of the original maps to (x*Scale - OffsetX,
// y*Scale - OffsetY) on the output. effdet stores 1/Scale as "img_scale".
type Letterbox struct {
	Scale            float64
	OffsetX, OffsetY float64
}

// Matrix returns the letterbox as a point map.
func (l Letterbox) Matrix() Matrix { return Matrix{l.Scale, 0, -l.OffsetX, 0, l.Scale, -l.OffsetY} }

// Forward maps a box of the original image to the output.
func (l Letterbox) Forward(b Box) Box { return l.Matrix().MapBox(b) }

// Inverse maps a box on the output (a prediction) back to the original
// image: (x + OffsetX) / Scale.
func (l Letterbox) Inverse(b Box) Box {
	return Box{(b.X1 + l.OffsetX) / l.Scale, (b.Y1 + l.OffsetY) / l.Scale, (b.X2 + l.OffsetX) / l.Scale, (b.Y2 + l.OffsetY) / l.Scale}
}

// ResizePad is effdet's letterbox (ResizePad): scale the image by
// min(Height/h, Width/w) keeping its aspect ratio (sides truncated to
// integers), paste it at the top-left of a Height×Width canvas of Fill.
// effdet resizes with PIL's antialiased bilinear filter; the default here
// is Area, OpenCV's antialiased counterpart when shrinking (it is bilinear
// when enlarging). Fill defaults to the ImageNet mean (MeanFill). p = 1.
type ResizePad struct {
	Height, Width int
	Interpolation Interpolation
	Fill          Color
	P             float64
}

// NewResizePad returns effdet's eval letterbox for an h×w output.
func NewResizePad(h, w int) *ResizePad {
	return &ResizePad{Height: h, Width: w, Interpolation: Area, Fill: MeanFill, P: 1}
}

func (t *ResizePad) Name() string  { return "ResizePad" }
func (t *ResizePad) Prob() float64 { return t.P }
func (t *ResizePad) Validate() error {
	if err := checkP("ResizePad", t.P); err != nil {
		return err
	}
	if err := checkSize("ResizePad", t.Height, t.Width); err != nil {
		return err
	}
	return checkInterp("ResizePad", t.Interpolation)
}

// Letterbox returns the placement for an h×w input.
func (t *ResizePad) Letterbox(h, w int) Letterbox {
	return Letterbox{Scale: min(float64(t.Height)/float64(h), float64(t.Width)/float64(w))}
}

func (t *ResizePad) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	src := s.Image
	lb := t.Letterbox(src.H, src.W)
	sh := max(int(float64(src.H)*lb.Scale), 1)
	sw := max(int(float64(src.W)*lb.Scale), 1)
	pasteResized(s, sh, sw, 0, 0, t.Height, t.Width, t.Interpolation, t.Fill)
	s.mapBoxes(lb.Matrix())
	return nil
}

// pasteResized resizes the image to sh×sw, takes its window at (oy, ox)
// (at most th×tw) and pastes it at the top-left of a th×tw canvas of fill.
// Only the visible window is computed.
func pasteResized(s *Sample, sh, sw, oy, ox, th, tw int, interp Interpolation, fill Color) {
	src := s.Image
	c := src.C
	vh, vw := min(sh-oy, th), min(sw-ox, tw)
	dst := s.NewImage(th, tw, c)
	if vh == th && vw == tw {
		resizeWindow(dst, src, sh, sw, oy, ox, interp, s.ws)
	} else {
		fillRect(dst, 0, 0, tw, th, fill)
		win := s.NewImage(vh, vw, c)
		resizeWindow(win, src, sh, sw, oy, ox, interp, s.ws)
		for y := 0; y < vh; y++ {
			copy(dst.Row(y)[:vw*c], win.Row(y))
		}
		if s.ws != nil {
			s.ws.put(win)
		}
	}
	s.SetImage(dst)
}

// RandomResizePad is effdet's training transform: draw a factor f from
// Scale (default [0.1, 2]), scale the image by min(f·Height/h, f·Width/w),
// take a random Height×Width window of it when it is larger, and paste that
// at the top-left of a canvas of Fill (default MeanFill). The interpolation
// is drawn from Interpolations (effdet draws PIL bilinear or bicubic; the
// default here is {Area, Bicubic}). p = 1.
type RandomResizePad struct {
	Height, Width  int
	Scale          Range
	Interpolations []Interpolation
	Fill           Color
	P              float64
}

// NewRandomResizePad returns effdet's defaults for an h×w output.
func NewRandomResizePad(h, w int) *RandomResizePad {
	return &RandomResizePad{Height: h, Width: w, Scale: Range{0.1, 2}, Interpolations: []Interpolation{Area, Bicubic}, Fill: MeanFill, P: 1}
}

func (t *RandomResizePad) Name() string  { return "RandomResizePad" }
func (t *RandomResizePad) Prob() float64 { return t.P }
func (t *RandomResizePad) Validate() error {
	const op = "RandomResizePad"
	if err := checkP(op, t.P); err != nil {
		return err
	}
	if err := checkSize(op, t.Height, t.Width); err != nil {
		return err
	}
	if err := t.Scale.within(op, "Scale", 0, 100); err != nil {
		return err
	}
	if !(t.Scale.Min > 0) {
		return fmt.Errorf("augment.%s: Scale = [%v, %v]: must be > 0", op, t.Scale.Min, t.Scale.Max)
	}
	if len(t.Interpolations) == 0 {
		return fmt.Errorf("augment.%s: no interpolation to draw from", op)
	}
	for _, i := range t.Interpolations {
		if err := checkInterp(op, i); err != nil {
			return err
		}
	}
	return nil
}

// Draw draws the placement for an h×w input (effdet's _get_params) and the
// scaled size.
func (t *RandomResizePad) Draw(rng *rand.Rand, h, w int) (lb Letterbox, sh, sw int) {
	f := t.Scale.sample(rng)
	scale := min(f*float64(t.Height)/float64(h), f*float64(t.Width)/float64(w))
	sh = max(int(float64(h)*scale), 1)
	sw = max(int(float64(w)*scale), 1)
	oy := int(float64(max(0, sh-t.Height)) * rng.Float64())
	ox := int(float64(max(0, sw-t.Width)) * rng.Float64())
	return Letterbox{Scale: scale, OffsetX: float64(ox), OffsetY: float64(oy)}, sh, sw
}

func (t *RandomResizePad) Apply(rng *rand.Rand, s *Sample) error {
	if err := t.Validate(); err != nil {
		return err
	}
	src := s.Image
	lb, sh, sw := t.Draw(rng, src.H, src.W)
	if sh > 4*maxSide || sw > 4*maxSide {
		return fmt.Errorf("augment.RandomResizePad: scaled size %dx%d is too large", sw, sh)
	}
	interp := t.Interpolations[rng.IntN(len(t.Interpolations))]
	pasteResized(s, sh, sw, int(lb.OffsetY), int(lb.OffsetX), t.Height, t.Width, interp, t.Fill)
	s.mapBoxes(lb.Matrix())
	return nil
}
