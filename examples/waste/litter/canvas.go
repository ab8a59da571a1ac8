package litter

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// rgb is a colour with channels in [0, 1] (sRGB-encoded, like the files).
type rgb struct{ r, g, b float32 }

func (c rgb) mul(k float32) rgb  { return rgb{c.r * k, c.g * k, c.b * k} }
func (c rgb) add(d rgb) rgb      { return rgb{c.r + d.r, c.g + d.g, c.b + d.b} }
func (c rgb) addk(k float32) rgb { return rgb{c.r + k, c.g + k, c.b + k} }
func (c rgb) times(d rgb) rgb    { return rgb{c.r * d.r, c.g * d.g, c.b * d.b} }
func (c rgb) lum() float32       { return 0.299*c.r + 0.587*c.g + 0.114*c.b }
func lerp(a, b rgb, t float32) rgb {
	return rgb{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t}
}

// sat scales the colour's saturation around its luminance.
func (c rgb) sat(k float32) rgb {
	l := c.lum()
	return rgb{l + (c.r-l)*k, l + (c.g-l)*k, l + (c.b-l)*k}
}

// jitter returns c with brightness and hue-ish perturbations of size amt.
func jitter(r *rand.Rand, c rgb, amt float32) rgb {
	k := 1 + amt*(2*r.Float32()-1)
	return rgb{
		clamp01(c.r * k * (1 + 0.5*amt*(2*r.Float32()-1))),
		clamp01(c.g * k * (1 + 0.5*amt*(2*r.Float32()-1))),
		clamp01(c.b * k * (1 + 0.5*amt*(2*r.Float32()-1))),
	}
}

// swatch is one colour of a palette with its weight.
type swatch struct {
	c rgb
	w float32
}

func pick(r *rand.Rand, p []swatch) rgb {
	var sum float32
	for _, s := range p {
		sum += s.w
	}
	x := r.Float32() * sum
	for _, s := range p {
		x -= s.w
		if x < 0 {
			return s.c
		}
	}
	return p[len(p)-1].c
}

// canvas is a float RGB raster, 3 values per pixel, row-major.
type canvas struct {
	w, h int
	pix  []float32
}

func newCanvas(w, h int) *canvas { return &canvas{w: w, h: h, pix: make([]float32, w*h*3)} }

func (c *canvas) at(x, y int) rgb {
	i := (y*c.w + x) * 3
	return rgb{c.pix[i], c.pix[i+1], c.pix[i+2]}
}

func (c *canvas) set(x, y int, v rgb) {
	i := (y*c.w + x) * 3
	c.pix[i], c.pix[i+1], c.pix[i+2] = v.r, v.g, v.b
}

// blur applies a Gaussian blur of standard deviation sigma pixels (edges
// clamp): an exact separable kernel for small sigma, three box blurs (the
// usual approximation, O(1) per pixel) for large.
func (c *canvas) blur(sigma float32) {
	if sigma < 0.25 {
		return
	}
	tmp := make([]float32, len(c.pix))
	if sigma > 2 {
		for _, b := range boxesForGauss(sigma) {
			boxPass(tmp, c.pix, c.w, c.h, b, true)
			boxPass(c.pix, tmp, c.w, c.h, b, false)
		}
		return
	}
	rad := int(math.Ceil(float64(sigma) * 2.5))
	k := make([]float32, 2*rad+1)
	var sum float32
	for i := range k {
		x := float32(i - rad)
		k[i] = float32(math.Exp(float64(-x * x / (2 * sigma * sigma))))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	blurPass(tmp, c.pix, c.w, c.h, k, rad, true)
	blurPass(c.pix, tmp, c.w, c.h, k, rad, false)
}

func blurPass(dst, src []float32, w, h int, k []float32, rad int, horiz bool) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var r, g, b float32
			for t := -rad; t <= rad; t++ {
				sx, sy := x, y
				if horiz {
					sx = min(max(x+t, 0), w-1)
				} else {
					sy = min(max(y+t, 0), h-1)
				}
				i := (sy*w + sx) * 3
				kt := k[t+rad]
				r += src[i] * kt
				g += src[i+1] * kt
				b += src[i+2] * kt
			}
			o := (y*w + x) * 3
			dst[o], dst[o+1], dst[o+2] = r, g, b
		}
	}
}

// boxesForGauss returns the radii of three box blurs whose sequence
// approximates a Gaussian of standard deviation sigma.
func boxesForGauss(sigma float32) [3]int {
	s := float64(sigma)
	wIdeal := math.Sqrt(12*s*s/3 + 1)
	wl := int(math.Floor(wIdeal))
	if wl%2 == 0 {
		wl--
	}
	wu := wl + 2
	mIdeal := (12*s*s - 3*float64(wl*wl) - 12*float64(wl) - 9) / (-4*float64(wl) - 4)
	m := int(math.Round(mIdeal))
	var r [3]int
	for i := range r {
		if i < m {
			r[i] = (wl - 1) / 2
		} else {
			r[i] = (wu - 1) / 2
		}
	}
	return r
}

// boxPass is a running-sum box blur of radius rad along rows or columns.
func boxPass(dst, src []float32, w, h, rad int, horiz bool) {
	n, lines, step, lstep := w, h, 3, w*3
	if !horiz {
		n, lines, step, lstep = h, w, w*3, 3
	}
	inv := 1 / float32(2*rad+1)
	for l := 0; l < lines; l++ {
		base := l * lstep
		at := func(i int) int { return base + min(max(i, 0), n-1)*step }
		var r, g, b float32
		for t := -rad; t <= rad; t++ {
			i := at(t)
			r, g, b = r+src[i], g+src[i+1], b+src[i+2]
		}
		for x := 0; x < n; x++ {
			o := base + x*step
			dst[o], dst[o+1], dst[o+2] = r*inv, g*inv, b*inv
			a, d := at(x+rad+1), at(x-rad)
			r += src[a] - src[d]
			g += src[a+1] - src[d+1]
			b += src[a+2] - src[d+2]
		}
	}
}

// gaussTable holds standard normal quantiles at 4096 evenly spaced
// probabilities: sensor noise looks up 12 random bits instead of drawing a
// normal variate per channel.
var gaussTable = func() (t [4096]float32) {
	for i := range t {
		p := (float64(i) + 0.5) / 4096
		t[i] = float32(math.Sqrt2 * math.Erfinv(2*p-1))
	}
	return
}()

// sensorNoise adds Gaussian noise: luminance noise of sigma and chroma noise
// of sigma·chroma per pixel.
func (c *canvas) sensorNoise(r *rand.Rand, sigma, chroma float32) {
	if sigma <= 0 {
		return
	}
	sc := sigma * chroma
	for i := 0; i < len(c.pix); i += 3 {
		u := r.Uint64()
		l := gaussTable[u&4095] * sigma
		c.pix[i] += l + gaussTable[u>>12&4095]*sc
		c.pix[i+1] += l + gaussTable[u>>24&4095]*sc
		c.pix[i+2] += l + gaussTable[u>>36&4095]*sc
	}
}

// rgba converts the canvas to an image, clamping and rounding.
func (c *canvas) rgba() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
	for p, i := 0, 0; i < len(c.pix); p, i = p+4, i+3 {
		img.Pix[p] = to8(c.pix[i])
		img.Pix[p+1] = to8(c.pix[i+1])
		img.Pix[p+2] = to8(c.pix[i+2])
		img.Pix[p+3] = 255
	}
	return img
}

func to8(v float32) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(v*255 + 0.5)
}

// jpegRoundTrip encodes img as JPEG at quality q and decodes it again, to
// give the image the block and ringing artefacts of a compressed photo. It
// returns the decoded image and the JPEG file.
func jpegRoundTrip(img *image.RGBA, q int) (*image.RGBA, []byte) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return img, nil // cannot happen for an in-memory RGBA image
	}
	b := buf.Bytes()
	dec, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return img, nil
	}
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), dec, dec.Bounds().Min, draw.Src)
	return out, b
}
