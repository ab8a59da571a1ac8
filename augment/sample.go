package augment

import (
	"fmt"
)

// Sample is what flows through a pipeline: an image, its boxes and one
// label per box. Geom records where the current image's pixels came from:
// it maps continuous coordinates of the original image to those of the
// current one (the zero value is the identity), so a prediction on the
// augmented image maps back with Geom.Invert().MapBox.
//
// Transforms replace Image rather than writing into an image they did not
// make: inside Pipeline.Run the caller's image, boxes and labels are never
// modified.
type Sample struct {
	Image  *Image
	Boxes  []Box
	Labels []int
	Geom   Matrix

	ws    *Workspace // scratch buffers of the current run; nil outside one
	owned *Image     // the image this run allocated and may write in place
	bp    BoxParams
}

// ToOriginal maps a box on the current image back to the original image.
func (s *Sample) ToOriginal(b Box) (Box, error) {
	inv, err := s.Geom.Invert()
	if err != nil {
		return Box{}, err
	}
	return inv.MapBox(b), nil
}

// Writable returns the sample's image ready to be modified in place: the
// image itself when this run allocated it, otherwise a copy that replaces
// it. Custom transforms that write pixels in place call it first.
func (s *Sample) Writable() *Image {
	if s.owned == s.Image && s.Image != nil {
		return s.Image
	}
	src := s.Image
	dst := s.NewImage(src.H, src.W, src.C)
	copy(dst.Pix, src.Pix)
	s.SetImage(dst)
	return dst
}

// NewImage returns an h×w×c image with unspecified contents, reusing a
// buffer of the run's Workspace when one is free. Every pixel must be
// written.
func (s *Sample) NewImage(h, w, c int) *Image {
	if s.ws != nil {
		return s.ws.get(h, w, c)
	}
	return &Image{H: h, W: w, C: c, Pix: make([]uint8, h*w*c)}
}

// SetImage makes img (from NewImage) the sample's image; the previous one
// goes back to the Workspace if this run made it.
func (s *Sample) SetImage(img *Image) {
	if s.owned != nil && s.owned == s.Image && s.ws != nil && s.owned != img {
		s.ws.put(s.owned)
	}
	s.Image = img
	s.owned = img
}

// mapBoxes moves every box through the pixel map a (continuous
// coordinates, old image → new image) and records it in Geom. Boxes are
// clipped and filtered by the caller (runTransform).
func (s *Sample) mapBoxes(a Matrix) {
	for i, b := range s.Boxes {
		s.Boxes[i] = a.MapBox(b)
	}
	s.Geom = s.Geom.Then(a)
}

// Workspace holds the scratch images of one worker so a pipeline run
// allocates (almost) nothing. It is not safe for concurrent use: give each
// goroutine its own. The zero value is ready to use.
type Workspace struct {
	free   []*Image
	boxes  []Box
	labels []int
	ints   []int32
	shorts []uint16
}

func (w *Workspace) get(h, wd, c int) *Image {
	n := h * wd * c
	best := -1
	for i, im := range w.free {
		if cap(im.Pix) >= n && (best < 0 || cap(im.Pix) < cap(w.free[best].Pix)) {
			best = i
		}
	}
	if best < 0 {
		return &Image{H: h, W: wd, C: c, Pix: make([]uint8, n)}
	}
	im := w.free[best]
	w.free[best] = w.free[len(w.free)-1]
	w.free = w.free[:len(w.free)-1]
	im.H, im.W, im.C, im.Pix = h, wd, c, im.Pix[:n]
	return im
}

func (w *Workspace) put(im *Image) {
	if len(w.free) < 8 {
		w.free = append(w.free, im)
	}
}

// int32s returns a scratch []int32 of length n (contents unspecified).
func (w *Workspace) int32s(n int) []int32 {
	if w == nil {
		return make([]int32, n)
	}
	if cap(w.ints) < n {
		w.ints = make([]int32, n)
	}
	return w.ints[:n]
}

func (w *Workspace) uint16s(n int) []uint16 {
	if w == nil {
		return make([]uint16, n)
	}
	if cap(w.shorts) < n {
		w.shorts = make([]uint16, n)
	}
	return w.shorts[:n]
}

// validateInput checks a sample handed to a pipeline.
func validateInput(s *Sample) error {
	if err := s.Image.Validate(); err != nil {
		return err
	}
	if s.Labels != nil && len(s.Labels) != len(s.Boxes) {
		return fmt.Errorf("augment: %d boxes but %d labels", len(s.Boxes), len(s.Labels))
	}
	for i, b := range s.Boxes {
		if !b.valid() {
			return fmt.Errorf("augment: box %d %v is not a finite box with X1 <= X2 and Y1 <= Y2", i, b)
		}
	}
	return nil
}
