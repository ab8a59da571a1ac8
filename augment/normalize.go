package augment

import (
	"fmt"
	"math"

	"github.com/sortnet/sortnet/nn"
)

// ImageNet channel statistics (RGB), as fractions of the maximum pixel
// value.
var (
	ImageNetMean = []float64{0.485, 0.456, 0.406}
	ImageNetStd  = []float64{0.229, 0.224, 0.225}
)

// Normalize is albumentations' Normalize, the step from 8-bit pixels to
// float32: out = (v - Mean*MaxPixelValue) / (Std*MaxPixelValue), computed in
// float32 with the same roundings (mean and std scaled in float32, the
// reciprocal of the scaled std multiplied in). It is not a Transform: it
// ends a pipeline and writes floats (Pipeline.Process, ToTensor).
type Normalize struct {
	Mean          []float64 // one value, or one per channel
	Std           []float64 // likewise; all > 0
	MaxPixelValue float64   // > 0; 255 for 8-bit images
}

// NewNormalize returns albumentations' defaults: ImageNet mean and std,
// MaxPixelValue 255.
func NewNormalize() *Normalize {
	return &Normalize{Mean: ImageNetMean, Std: ImageNetStd, MaxPixelValue: 255}
}

var scaleOnly = &Normalize{Mean: []float64{0}, Std: []float64{1}, MaxPixelValue: 255}

// Validate checks the statistics.
func (n *Normalize) Validate() error {
	if len(n.Mean) == 0 || len(n.Std) == 0 {
		return fmt.Errorf("augment.Normalize: Mean and Std need at least one value (got %d and %d)", len(n.Mean), len(n.Std))
	}
	if len(n.Mean) > 4 || len(n.Std) > 4 {
		return fmt.Errorf("augment.Normalize: at most 4 channels (Mean has %d, Std %d values)", len(n.Mean), len(n.Std))
	}
	for i, m := range n.Mean {
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("augment.Normalize: Mean[%d] = %v is not finite", i, m)
		}
	}
	for i, s := range n.Std {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("augment.Normalize: Std[%d] = %v: must be finite and > 0", i, s)
		}
	}
	if !(n.MaxPixelValue > 0) || math.IsInf(n.MaxPixelValue, 0) {
		return fmt.Errorf("augment.Normalize: MaxPixelValue = %v: must be finite and > 0", n.MaxPixelValue)
	}
	return nil
}

func pickStat(v []float64, c int) float64 {
	if c < len(v) {
		return v[c]
	}
	return v[len(v)-1]
}

// LUT returns the float32 value of every 8-bit level for each of c
// channels: lut[ch*256+v].
func (n *Normalize) LUT(c int) []float32 {
	lut := make([]float32, 256*c)
	n.fillLUT(lut, c)
	return lut
}

func (n *Normalize) fillLUT(lut []float32, c int) {
	maxv := float32(n.MaxPixelValue)
	for ch := 0; ch < c; ch++ {
		m := float32(float32(pickStat(n.Mean, ch)) * maxv)
		d := 1 / float32(float32(pickStat(n.Std, ch))*maxv)
		for v := 0; v < 256; v++ {
			lut[ch*256+v] = float32(float32(float32(v)-m) * d)
		}
	}
}

// Into writes img, normalised, to dst (len H*W*C, HWC order).
func (n *Normalize) Into(dst []float32, img *Image) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if err := img.Validate(); err != nil {
		return err
	}
	if len(dst) != len(img.Pix) {
		return fmt.Errorf("augment.Normalize: image %dx%dx%d needs %d values, dst holds %d", img.W, img.H, img.C, len(img.Pix), len(dst))
	}
	var lutBuf [256 * 4]float32
	lut := lutBuf[:256*img.C]
	n.fillLUT(lut, img.C)
	normalizeLUT(dst, img.Pix, lut, img.C)
	return nil
}

func normalizeLUT(dst []float32, src []uint8, lut []float32, c int) {
	if c == 3 {
		l0, l1, l2 := lut[0:256:256], lut[256:512:512], lut[512:768:768]
		n := len(src) / 3
		src = src[:3*n]
		dst = dst[:3*n]
		for i := 0; i < n; i++ {
			s := src[3*i : 3*i+3 : 3*i+3]
			d := dst[3*i : 3*i+3 : 3*i+3]
			d[0] = l0[s[0]]
			d[1] = l1[s[1]]
			d[2] = l2[s[2]]
		}
		return
	}
	for i, v := range src {
		dst[i] = lut[(i%c)*256+int(v)]
	}
}

// ToTensor stacks images of one size into an NHWC float32 tensor
// [N, H, W, C], normalised by n (nil: scaled to [0, 1]).
func ToTensor(imgs []*Image, n *Normalize) (*nn.Tensor, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("augment.ToTensor: no images")
	}
	if n == nil {
		n = scaleOnly
	}
	if err := imgs[0].Validate(); err != nil {
		return nil, fmt.Errorf("augment.ToTensor: image 0: %w", err)
	}
	h, w, c := imgs[0].H, imgs[0].W, imgs[0].C
	t := nn.New(len(imgs), h, w, c)
	data := t.Data()
	per := h * w * c
	for i, im := range imgs {
		if err := im.Validate(); err != nil {
			return nil, fmt.Errorf("augment.ToTensor: image %d: %w", i, err)
		}
		if im.H != h || im.W != w || im.C != c {
			return nil, fmt.Errorf("augment.ToTensor: image %d is %dx%dx%d, image 0 is %dx%dx%d", i, im.W, im.H, im.C, w, h, c)
		}
		if err := n.Into(data[i*per:(i+1)*per], im); err != nil {
			return nil, err
		}
	}
	return t, nil
}
