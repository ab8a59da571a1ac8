package augment

import (
	"fmt"
	"math"
)

// Box is an axis-aligned bounding box in pixel coordinates, pascal_voc
// style: (X1, Y1) is the top-left and (X2, Y2) the bottom-right corner. The
// coordinates are continuous: the pixel in column x covers [x, x+1), so a box
// around the whole of a W×H image is {0, 0, W, H}.
type Box struct {
	X1, Y1, X2, Y2 float64
}

// BoxFromCOCO converts a COCO box (x, y, width, height) to a Box.
func BoxFromCOCO(x, y, w, h float64) Box { return Box{x, y, x + w, y + h} }

// COCO returns the box as COCO (x, y, width, height).
func (b Box) COCO() (x, y, w, h float64) { return b.X1, b.Y1, b.X2 - b.X1, b.Y2 - b.Y1 }

// Width returns X2 - X1.
func (b Box) Width() float64 { return b.X2 - b.X1 }

// Height returns Y2 - Y1.
func (b Box) Height() float64 { return b.Y2 - b.Y1 }

// Area returns the box area, 0 for an empty or inverted box.
func (b Box) Area() float64 {
	w, h := b.X2-b.X1, b.Y2-b.Y1
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// Clip returns the box clipped to a w×h image.
func (b Box) Clip(w, h int) Box {
	return Box{clampF(b.X1, 0, float64(w)), clampF(b.Y1, 0, float64(h)),
		clampF(b.X2, 0, float64(w)), clampF(b.Y2, 0, float64(h))}
}

func (b Box) valid() bool {
	return !math.IsNaN(b.X1) && !math.IsNaN(b.Y1) && !math.IsNaN(b.X2) && !math.IsNaN(b.Y2) &&
		!math.IsInf(b.X1, 0) && !math.IsInf(b.Y1, 0) && !math.IsInf(b.X2, 0) && !math.IsInf(b.Y2, 0) &&
		b.X2 >= b.X1 && b.Y2 >= b.Y1
}

func clampF(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// Matrix is a 2×3 matrix [A B C; D E F] mapping a point (x, y) to
// (A*x + B*y + C, D*x + E*y + F). In a Sample it maps continuous pixel
// coordinates (Box coordinates) of the original image to those of the
// current one. The zero Matrix stands for the identity.
type Matrix [6]float64

// Identity is the identity map.
var Identity = Matrix{1, 0, 0, 0, 1, 0}

func (a Matrix) orIdentity() Matrix {
	if a == (Matrix{}) {
		return Identity
	}
	return a
}

// Apply maps a point.
func (a Matrix) Apply(x, y float64) (float64, float64) {
	a = a.orIdentity()
	return a[0]*x + a[1]*y + a[2], a[3]*x + a[4]*y + a[5]
}

// Then returns the map that applies a, then b.
func (a Matrix) Then(b Matrix) Matrix {
	a, b = a.orIdentity(), b.orIdentity()
	return Matrix{
		b[0]*a[0] + b[1]*a[3], b[0]*a[1] + b[1]*a[4], b[0]*a[2] + b[1]*a[5] + b[2],
		b[3]*a[0] + b[4]*a[3], b[3]*a[1] + b[4]*a[4], b[3]*a[2] + b[4]*a[5] + b[5],
	}
}

// Invert returns the inverse map, or an error if a is singular.
func (a Matrix) Invert() (Matrix, error) {
	a = a.orIdentity()
	d := a[0]*a[4] - a[1]*a[3]
	if d == 0 || math.IsNaN(d) || math.IsInf(d, 0) {
		return Matrix{}, fmt.Errorf("augment: affine map %v is not invertible", [6]float64(a))
	}
	inv := 1 / d
	A, B, D, E := a[4]*inv, -a[1]*inv, -a[3]*inv, a[0]*inv
	return Matrix{A, B, -A*a[2] - B*a[5], D, E, -D*a[2] - E*a[5]}, nil
}

// MapBox maps a box through a and returns the smallest axis-aligned box that
// holds its four mapped corners (albumentations' "largest_box" rule).
func (a Matrix) MapBox(b Box) Box {
	a = a.orIdentity()
	if a[1] == 0 && a[3] == 0 {
		x1, x2 := a[0]*b.X1+a[2], a[0]*b.X2+a[2]
		y1, y2 := a[4]*b.Y1+a[5], a[4]*b.Y2+a[5]
		return Box{math.Min(x1, x2), math.Min(y1, y2), math.Max(x1, x2), math.Max(y1, y2)}
	}
	xs := [4]float64{b.X1, b.X2, b.X2, b.X1}
	ys := [4]float64{b.Y1, b.Y1, b.Y2, b.Y2}
	out := Box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for i := range xs {
		x, y := a.Apply(xs[i], ys[i])
		out.X1, out.X2 = math.Min(out.X1, x), math.Max(out.X2, x)
		out.Y1, out.Y2 = math.Min(out.Y1, y), math.Max(out.Y2, y)
	}
	return out
}

// fromPixelMatrix converts a matrix m on pixel-index coordinates (pixel
// centres at integers, OpenCV's convention) to the same map on continuous
// coordinates (centres at +0.5): u' = m(u - 0.5) + 0.5.
func fromPixelMatrix(m Matrix) Matrix {
	return Matrix{m[0], m[1], m[2] + 0.5 - 0.5*(m[0]+m[1]), m[3], m[4], m[5] + 0.5 - 0.5*(m[3]+m[4])}
}

// BoxParams says which boxes survive a geometric transform. After every
// transform the boxes are clipped to the image; a box is dropped, with its
// label, when its clipped area is 0, below MinArea (pixels²), its clipped
// width or height below MinWidth or MinHeight (pixels), or when the ratio
// of its clipped to unclipped area is below MinVisibility. These are
// albumentations' BboxParams with check_each_transform=True.
type BoxParams struct {
	MinArea       float64
	MinVisibility float64
	MinWidth      float64
	MinHeight     float64
}

// Validate checks the thresholds.
func (p BoxParams) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"MinArea", p.MinArea}, {"MinVisibility", p.MinVisibility}, {"MinWidth", p.MinWidth}, {"MinHeight", p.MinHeight}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("augment: BoxParams.%s = %v: must be a finite number >= 0", f.name, f.v)
		}
	}
	if p.MinVisibility > 1 {
		return fmt.Errorf("augment: BoxParams.MinVisibility = %v: must be in [0, 1]", p.MinVisibility)
	}
	return nil
}

// filterBoxes clips boxes to w×h and drops (in place, keeping labels aligned)
// those that fail p. It returns the shortened slices.
func filterBoxes(boxes []Box, labels []int, w, h int, p BoxParams) ([]Box, []int) {
	n := 0
	for i, b := range boxes {
		area := b.Area()
		c := b.Clip(w, h)
		ca := c.Area()
		if !b.valid() || ca == 0 || ca < p.MinArea || c.Width() < p.MinWidth || c.Height() < p.MinHeight || ca/area < p.MinVisibility {
			continue
		}
		boxes[n] = c
		if labels != nil {
			labels[n] = labels[i]
		}
		n++
	}
	if labels != nil {
		labels = labels[:n]
	}
	return boxes[:n], labels
}
