package augment

import (
	"fmt"
	"math"
)

// The functions in this file are the deterministic image operations under
// the transforms, for callers who want one operation with explicit
// parameters. Each returns a new image and an error for bad input.

// ResizeImage is cv2.resize(src, (w, h), interpolation=interp).
func ResizeImage(src *Image, h, w int, interp Interpolation) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if err := checkSize("ResizeImage", h, w); err != nil {
		return nil, err
	}
	if err := checkInterp("ResizeImage", interp); err != nil {
		return nil, err
	}
	dst := NewImage(h, w, src.C)
	resizeWindow(dst, src, h, w, 0, 0, interp, nil)
	return dst, nil
}

// WarpAffine is cv2.warpAffine(src, m, (w, h), flags=interp,
// borderMode=border, borderValue=fill) for a forward 2×3 matrix m on
// pixel-index coordinates (pixel centres at integers). Area falls back to
// Bilinear, as in OpenCV.
func WarpAffine(src *Image, m Matrix, h, w int, interp Interpolation, border BorderMode, fill Color) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if err := checkSize("WarpAffine", h, w); err != nil {
		return nil, err
	}
	if err := checkInterp("WarpAffine", interp); err != nil {
		return nil, err
	}
	if err := checkBorder("WarpAffine", border); err != nil {
		return nil, err
	}
	for i, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("augment.WarpAffine: matrix entry %d is %v", i, v)
		}
	}
	dst := NewImage(h, w, src.C)
	warpAffine(dst, src, m, interp, border, fill, nil)
	return dst, nil
}

// ShiftScaleRotateMatrix returns albumentations' ShiftScaleRotate matrix for
// an h×w image: cv2.getRotationMatrix2D((w/2 - 0.5, h/2 - 0.5), angle,
// scale) with dx·w and dy·h added to the translation.
func ShiftScaleRotateMatrix(h, w int, angle, scale, dx, dy float64) Matrix {
	return (&ShiftScaleRotate{}).Matrix(h, w, angle, scale, dx, dy)
}

// Pad is cv2.copyMakeBorder(src, top, bottom, left, right, border, fill).
func Pad(src *Image, top, bottom, left, right int, border BorderMode, fill Color) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if top < 0 || bottom < 0 || left < 0 || right < 0 {
		return nil, fmt.Errorf("augment.Pad: negative padding %d, %d, %d, %d", top, bottom, left, right)
	}
	if err := checkBorder("Pad", border); err != nil {
		return nil, err
	}
	if err := checkSize("Pad", src.H+top+bottom, src.W+left+right); err != nil {
		return nil, err
	}
	dst := NewImage(src.H+top+bottom, src.W+left+right, src.C)
	padImage(dst, src, top, left, border, fill)
	return dst, nil
}

// FlipHorizontal returns the mirror image (cv2.flip(src, 1)).
func FlipHorizontal(src *Image) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	dst := NewImage(src.H, src.W, src.C)
	hflip(dst, src)
	return dst, nil
}

// FlipVertical returns the image upside down (cv2.flip(src, 0)).
func FlipVertical(src *Image) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	dst := NewImage(src.H, src.W, src.C)
	for y := 0; y < src.H; y++ {
		copy(dst.Row(y), src.Row(src.H-1-y))
	}
	return dst, nil
}

// BoxBlurImage is cv2.blur(src, (k, k)) for an odd k >= 1 (reflect-101
// border).
func BoxBlurImage(src *Image, k int) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if k < 1 || k%2 != 1 || k > 255 {
		return nil, fmt.Errorf("augment.BoxBlurImage: kernel size %d: must be odd, in [1, 255]", k)
	}
	dst := NewImage(src.H, src.W, src.C)
	boxBlur(dst, src, k)
	return dst, nil
}

// GaussianBlurImage is cv2.GaussianBlur(src, (k, k), sigma) for 8-bit images
// (OpenCV's bit-exact fixed-point path, reflect-101 border). k = 0 derives
// the size from sigma; sigma = 0 derives sigma from the size.
func GaussianBlurImage(src *Image, k int, sigma float64) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if k < 0 || (k != 0 && k%2 != 1) || k > 255 {
		return nil, fmt.Errorf("augment.GaussianBlurImage: kernel size %d: must be 0 or odd, at most 255", k)
	}
	if math.IsNaN(sigma) || sigma < 0 || sigma > 100 {
		return nil, fmt.Errorf("augment.GaussianBlurImage: sigma %v: must be in [0, 100]", sigma)
	}
	if k == 0 && sigma == 0 {
		return nil, fmt.Errorf("augment.GaussianBlurImage: kernel size and sigma cannot both be 0")
	}
	dst := NewImage(src.H, src.W, src.C)
	gaussianBlur(dst, src, k, sigma)
	return dst, nil
}

// BrightnessContrastImage is albumentations' brightness_contrast_adjust for
// 8-bit images (see RandomBrightnessContrast).
func BrightnessContrastImage(src *Image, alpha, beta float64, byMax bool) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if math.IsNaN(alpha) || math.IsInf(alpha, 0) || math.IsNaN(beta) || math.IsInf(beta, 0) {
		return nil, fmt.Errorf("augment.BrightnessContrastImage: alpha %v, beta %v must be finite", alpha, beta)
	}
	dst := src.Clone()
	var lut [256]uint8
	BrightnessContrastLUT(&lut, alpha, beta, byMax, src)
	applyLUT(dst, &lut)
	return dst, nil
}

// ShiftHSVImage is albumentations' shift_hsv for 8-bit images: hue
// (OpenCV's 0..179 scale, wrapping), saturation and value shifts.
func ShiftHSVImage(src *Image, hue, sat, val float64) (*Image, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if src.C != 1 && src.C != 3 {
		return nil, fmt.Errorf("augment.ShiftHSVImage: needs 1 or 3 channels, image has %d", src.C)
	}
	for _, v := range []float64{hue, sat, val} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("augment.ShiftHSVImage: shifts %v, %v, %v must be finite", hue, sat, val)
		}
	}
	s := &Sample{Image: src}
	shiftHSVSample(s, hue, sat, val)
	if s.Image == src {
		return src.Clone(), nil
	}
	return s.Image, nil
}
