package augment

import "fmt"

// Interpolation selects a resampling kernel. The names follow OpenCV's
// INTER_* flags and the arithmetic follows cv2 for 8-bit images.
type Interpolation int

const (
	// Bilinear is cv2.INTER_LINEAR, albumentations' default.
	Bilinear Interpolation = iota
	// Nearest is cv2.INTER_NEAREST.
	Nearest
	// Bicubic is cv2.INTER_CUBIC (Keys kernel, a = -0.75).
	Bicubic
	// Area is cv2.INTER_AREA: pixel-area averaging when shrinking, a
	// bilinear variant when enlarging.
	Area
)

func (i Interpolation) String() string {
	switch i {
	case Bilinear:
		return "Bilinear"
	case Nearest:
		return "Nearest"
	case Bicubic:
		return "Bicubic"
	case Area:
		return "Area"
	}
	return fmt.Sprintf("Interpolation(%d)", int(i))
}

func (i Interpolation) valid() bool { return i >= Bilinear && i <= Area }

// BorderMode says how pixels outside the image are made up (cv2.BORDER_*).
type BorderMode int

const (
	// BorderReflect101 mirrors without repeating the edge: gfedcb|abcdefgh|gfedcba
	// (cv2.BORDER_REFLECT_101, albumentations' default).
	BorderReflect101 BorderMode = iota
	// BorderConstant fills with a constant colour: iiiiii|abcdefgh|iiiiiii.
	BorderConstant
	// BorderReplicate repeats the edge pixel: aaaaaa|abcdefgh|hhhhhhh.
	BorderReplicate
	// BorderReflect mirrors repeating the edge: fedcba|abcdefgh|hgfedcb.
	BorderReflect
	// BorderWrap tiles the image: cdefgh|abcdefgh|abcdefg.
	BorderWrap
)

func (b BorderMode) String() string {
	switch b {
	case BorderReflect101:
		return "Reflect101"
	case BorderConstant:
		return "Constant"
	case BorderReplicate:
		return "Replicate"
	case BorderReflect:
		return "Reflect"
	case BorderWrap:
		return "Wrap"
	}
	return fmt.Sprintf("BorderMode(%d)", int(b))
}

func (b BorderMode) valid() bool { return b >= BorderReflect101 && b <= BorderWrap }

// borderIndex maps an out-of-range coordinate p into [0, n) the way
// cv::borderInterpolate does; it returns -1 for BorderConstant.
func borderIndex(p, n int, mode BorderMode) int {
	if uint(p) < uint(n) {
		return p
	}
	switch mode {
	case BorderReplicate:
		if p < 0 {
			return 0
		}
		return n - 1
	case BorderReflect, BorderReflect101:
		if n == 1 {
			return 0
		}
		delta := 0
		if mode == BorderReflect101 {
			delta = 1
		}
		for uint(p) >= uint(n) {
			if p < 0 {
				p = -p - 1 + delta
			} else {
				p = n - 1 - (p - n) - delta
			}
		}
		return p
	case BorderWrap:
		if p < 0 {
			p -= ((p - n + 1) / n) * n
		}
		if p >= n {
			p %= n
		}
		return p
	}
	return -1
}

// padImage writes src into dst (which is (H+top+bottom)×(W+left+right))
// with the given border: cv2.copyMakeBorder.
func padImage(dst, src *Image, top, left int, mode BorderMode, fill Color) {
	c := src.C
	fv := fill.fill(c)
	xmap := make([]int, dst.W)
	for x := range xmap {
		xmap[x] = borderIndex(x-left, src.W, mode)
	}
	for y := 0; y < dst.H; y++ {
		sy := borderIndex(y-top, src.H, mode)
		d := dst.Row(y)
		if sy < 0 {
			for x := 0; x < dst.W; x++ {
				copy(d[x*c:x*c+c], fv[:c])
			}
			continue
		}
		s := src.Row(sy)
		for x, sx := range xmap {
			if x == left {
				copy(d[left*c:(left+src.W)*c], s)
			}
			if x >= left && x < left+src.W {
				continue
			}
			if sx < 0 {
				copy(d[x*c:x*c+c], fv[:c])
			} else {
				copy(d[x*c:x*c+c], s[sx*c:sx*c+c])
			}
		}
	}
}
