package augment

import (
	"errors"
	"fmt"
	"image"
	"image/color"
)

// Image is an 8-bit image stored height-major, channels innermost (HWC):
// the value of channel c at row y, column x is Pix[(y*W+x)*C+c]. Decoded
// images are RGB (C = 3); the transforms accept any C >= 1 unless they say
// otherwise (the colour transforms want 3).
//
// An Image is a plain value container. Transforms never write into an image
// they were given by the caller: a pipeline copies before its first in-place
// write (see Sample).
type Image struct {
	H, W, C int
	Pix     []uint8
}

// NewImage returns a zeroed h×w image with c channels. It panics if a
// dimension is negative or c is zero; use Validate on images that come
// from outside the program.
func NewImage(h, w, c int) *Image {
	if h < 0 || w < 0 || c <= 0 {
		panic(fmt.Sprintf("augment.NewImage: bad size %dx%dx%d", h, w, c))
	}
	return &Image{H: h, W: w, C: c, Pix: make([]uint8, h*w*c)}
}

// Validate reports whether the image is usable by a transform: non-nil, with
// positive height, width and channel count and a pixel slice of exactly
// H*W*C values.
func (m *Image) Validate() error {
	if m == nil {
		return errors.New("augment: nil image")
	}
	if m.H <= 0 || m.W <= 0 || m.C <= 0 {
		return fmt.Errorf("augment: image is %dx%dx%d: height, width and channels must be positive", m.H, m.W, m.C)
	}
	if m.C > 4 {
		return fmt.Errorf("augment: image has %d channels; at most 4 are supported", m.C)
	}
	if len(m.Pix) != m.H*m.W*m.C {
		return fmt.Errorf("augment: image is %dx%dx%d but holds %d values (want %d)", m.H, m.W, m.C, len(m.Pix), m.H*m.W*m.C)
	}
	return nil
}

// Clone returns a deep copy.
func (m *Image) Clone() *Image {
	return &Image{H: m.H, W: m.W, C: m.C, Pix: append([]uint8(nil), m.Pix...)}
}

// At returns channel c of the pixel at row y, column x.
func (m *Image) At(y, x, c int) uint8 { return m.Pix[(y*m.W+x)*m.C+c] }

// Set sets channel c of the pixel at row y, column x.
func (m *Image) Set(y, x, c int, v uint8) { m.Pix[(y*m.W+x)*m.C+c] = v }

// Row returns the pixels of row y (W*C values), shared with the image.
func (m *Image) Row(y int) []uint8 { return m.Pix[y*m.W*m.C : (y+1)*m.W*m.C] }

// Color is a fill value, one entry per channel. A shorter Color repeats its
// last entry over the remaining channels and an empty one means 0, so
// Color{128} is mid-grey for any channel count.
type Color []uint8

func (c Color) at(k int) uint8 {
	if len(c) == 0 {
		return 0
	}
	if k < len(c) {
		return c[k]
	}
	return c[len(c)-1]
}

// fill expands c to n channels.
func (c Color) fill(n int) [4]uint8 {
	var out [4]uint8
	for k := 0; k < n && k < 4; k++ {
		out[k] = c.at(k)
	}
	return out
}

// MeanFill is the ImageNet mean as an 8-bit colour, round(255*mean), the
// fill effdet uses for letterboxing ("fill_color='mean'").
var MeanFill = Color{124, 116, 104}

// FromStd converts a standard library image to an RGB Image (C = 3). Alpha is
// dropped (the colour is un-premultiplied first), as PIL's convert("RGB")
// does; grey images are replicated over the three channels.
func FromStd(src image.Image) *Image {
	b := src.Bounds()
	h, w := b.Dy(), b.Dx()
	dst := &Image{H: h, W: w, C: 3, Pix: make([]uint8, h*w*3)}
	switch s := src.(type) {
	case *image.YCbCr:
		ycbcrToRGB(dst, s)
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := s.Pix[(y)*s.Stride : (y)*s.Stride+w*4]
			d := dst.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				d[3*x], d[3*x+1], d[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+w*4]
			d := dst.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				r, g, bb, a := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				if a != 255 && a != 0 {
					r, g, bb = unpremul(r, a), unpremul(g, a), unpremul(bb, a)
				}
				d[3*x], d[3*x+1], d[3*x+2] = r, g, bb
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+w]
			d := dst.Pix[y*w*3 : (y+1)*w*3]
			for x, v := range row {
				d[3*x], d[3*x+1], d[3*x+2] = v, v, v
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range s.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [3]uint8{n.R, n.G, n.B}
		}
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+w]
			d := dst.Pix[y*w*3 : (y+1)*w*3]
			for x, v := range row {
				p := pal[v]
				d[3*x], d[3*x+1], d[3*x+2] = p[0], p[1], p[2]
			}
		}
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				n := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
				dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2] = n.R, n.G, n.B
				i += 3
			}
		}
	}
	return dst
}

func unpremul(v, a uint8) uint8 {
	x := (uint32(v)*255 + uint32(a)/2) / uint32(a)
	if x > 255 {
		x = 255
	}
	return uint8(x)
}

// ycbcrToRGB converts with the standard library's fixed-point formula
// (color.YCbCrToRGB), without the per-pixel interface calls.
func ycbcrToRGB(dst *Image, s *image.YCbCr) {
	b := s.Rect
	w := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		d := dst.Pix[(y-b.Min.Y)*w*3 : (y-b.Min.Y+1)*w*3]
		yi := s.YOffset(b.Min.X, y)
		ci := s.COffset(b.Min.X, y)
		switch s.SubsampleRatio {
		case image.YCbCrSubsampleRatio444:
			yrow := s.Y[yi : yi+w]
			cb := s.Cb[ci : ci+w]
			cr := s.Cr[ci : ci+w]
			for x := range yrow {
				d[3*x], d[3*x+1], d[3*x+2] = yccToRGB(yrow[x], cb[x], cr[x])
			}
		case image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422:
			yrow := s.Y[yi : yi+w]
			x0 := b.Min.X
			for x := range yrow {
				c := ci + (x0+x)/2 - x0/2
				d[3*x], d[3*x+1], d[3*x+2] = yccToRGB(yrow[x], s.Cb[c], s.Cr[c])
			}
		default:
			for x := 0; x < w; x++ {
				yo := s.YOffset(b.Min.X+x, y)
				co := s.COffset(b.Min.X+x, y)
				d[3*x], d[3*x+1], d[3*x+2] = yccToRGB(s.Y[yo], s.Cb[co], s.Cr[co])
			}
		}
	}
}

// yccToRGB is color.YCbCrToRGB, inlined.
func yccToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy1 := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	r := yy1 + 91881*cr1
	if uint32(r)&0xff000000 == 0 {
		r >>= 16
	} else {
		r = ^(r >> 31)
	}
	g := yy1 - 22554*cb1 - 46802*cr1
	if uint32(g)&0xff000000 == 0 {
		g >>= 16
	} else {
		g = ^(g >> 31)
	}
	b := yy1 + 116130*cb1
	if uint32(b)&0xff000000 == 0 {
		b >>= 16
	} else {
		b = ^(b >> 31)
	}
	return uint8(r), uint8(g), uint8(b)
}

// Std returns the image as a standard library image: *image.Gray for one
// channel, *image.NRGBA otherwise (opaque for one to three channels). The
// pixels are copied.
func (m *Image) Std() image.Image {
	r := image.Rect(0, 0, m.W, m.H)
	if m.C == 1 {
		g := image.NewGray(r)
		copy(g.Pix, m.Pix)
		return g
	}
	out := image.NewNRGBA(r)
	n := m.H * m.W
	for i := 0; i < n; i++ {
		s := m.Pix[i*m.C : i*m.C+m.C]
		d := out.Pix[4*i : 4*i+4]
		switch m.C {
		case 2:
			d[0], d[1], d[2], d[3] = s[0], s[0], s[0], s[1]
		case 3:
			d[0], d[1], d[2], d[3] = s[0], s[1], s[2], 255
		default:
			d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
		}
	}
	return out
}
