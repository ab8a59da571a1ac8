package augment

import (
	"math"
	"sync"
)

// This file is cv2.warpAffine for 8-bit images: the forward matrix is
// inverted in float64 as OpenCV does, each destination pixel's source
// position is computed in fixed point (10 fractional bits along a row, then
// 5 bits of sub-pixel position, INTER_TAB_SIZE = 32), and the 2×2 (bilinear)
// or 4×4 (bicubic) taps use OpenCV's integer weight tables (15 fractional
// bits).

const (
	interBits    = 5
	interTabSize = 1 << interBits
	abBits       = 10
	abScale      = 1 << abBits
	remapBits    = 15
	remapScale   = 1 << remapBits
)

var (
	bilinearTabOnce sync.Once
	bilinearTab     [interTabSize * interTabSize][4]int32
	bicubicTabOnce  sync.Once
	bicubicTab      [interTabSize * interTabSize][16]int32
)

func saturateShortF(v float32) int32 {
	return saturateShort(v)
}

// initBilinearTab builds OpenCV's BilinearTab_i. Every weight is an exact
// multiple of 32 except at offset (0, 0), where the weight 1.0 saturates to
// 32767 and OpenCV's sum correction puts the missing 1 on the diagonal tap.
func initBilinearTab() {
	for i := 0; i < interTabSize; i++ {
		for j := 0; j < interTabSize; j++ {
			fy := float32(i) * (1 / float32(interTabSize))
			fx := float32(j) * (1 / float32(interTabSize))
			vy := [2]float32{1 - fy, fy}
			vx := [2]float32{1 - fx, fx}
			var w [4]int32
			sum := int32(0)
			for k1 := 0; k1 < 2; k1++ {
				for k2 := 0; k2 < 2; k2++ {
					w[k1*2+k2] = saturateShortF(float32(vy[k1]*vx[k2]) * remapScale)
					sum += w[k1*2+k2]
				}
			}
			if sum != remapScale {
				// OpenCV's correction loop scans entries 3..6 of a
				// 4-entry block; the ones past it are still zero, so the
				// largest-is-last rule always lands on entry 3.
				w[3] -= sum - remapScale
			}
			bilinearTab[i*interTabSize+j] = w
		}
	}
}

// initBicubicTab builds OpenCV's BicubicTab_i (initInterTab2D, INTER_CUBIC).
func initBicubicTab() {
	var tab1 [interTabSize][4]float32
	for i := range tab1 {
		tab1[i] = interpolateCubic(float32(i) * (1 / float32(interTabSize)))
	}
	for i := 0; i < interTabSize; i++ {
		for j := 0; j < interTabSize; j++ {
			var w [16]int32
			sum := int32(0)
			for k1 := 0; k1 < 4; k1++ {
				vy := tab1[i][k1]
				for k2 := 0; k2 < 4; k2++ {
					v := float32(vy * tab1[j][k2])
					w[k1*4+k2] = saturateShortF(float32(v * remapScale))
					sum += w[k1*4+k2]
				}
			}
			if sum != remapScale {
				diff := sum - remapScale
				Mk1, Mk2, mk1, mk2 := 2, 2, 2, 2
				for k1 := 2; k1 < 4; k1++ {
					for k2 := 2; k2 < 4; k2++ {
						if w[k1*4+k2] < w[mk1*4+mk2] {
							mk1, mk2 = k1, k2
						} else if w[k1*4+k2] > w[Mk1*4+Mk2] {
							Mk1, Mk2 = k1, k2
						}
					}
				}
				if diff < 0 {
					w[Mk1*4+Mk2] -= diff
				} else {
					w[mk1*4+mk2] -= diff
				}
			}
			bicubicTab[i*interTabSize+j] = w
		}
	}
}

// invertAffineCV inverts a forward 2×3 matrix the way cv::warpAffine does
// (a singular matrix becomes all zeros, as in OpenCV).
func invertAffineCV(m Matrix) Matrix {
	d := m[0]*m[4] - m[1]*m[3]
	if d != 0 {
		d = 1 / d
	}
	a11, a22 := m[4]*d, m[0]*d
	var r Matrix
	r[0] = a11
	r[1] = m[1] * -d
	r[3] = m[3] * -d
	r[4] = a22
	r[2] = -r[0]*m[2] - r[1]*m[5]
	r[5] = -r[3]*m[2] - r[4]*m[5]
	return r
}

func cvRound(v float64) int {
	if math.IsNaN(v) {
		return math.MinInt32
	}
	r := math.RoundToEven(v)
	if r > math.MaxInt32 {
		return math.MaxInt32
	}
	if r < math.MinInt32 {
		return math.MinInt32
	}
	return int(r)
}

func satShortInt(v int) int {
	return min(max(v, -32768), 32767)
}

// warpAffine is cv2.warpAffine(src, m, (dst.W, dst.H), flags=interp,
// borderMode=border, borderValue=fill) for a forward matrix m on
// pixel-index coordinates. Area is treated as Bilinear, as OpenCV does.
func warpAffine(dst, src *Image, m Matrix, interp Interpolation, border BorderMode, fill Color, ws *Workspace) {
	inv := invertAffineCV(m)
	dw := dst.W
	deltas := ws.int32s(2 * dw)
	adelta, bdelta := deltas[:dw], deltas[dw:]
	for x := 0; x < dw; x++ {
		adelta[x] = int32(cvRound(inv[0] * float64(x) * abScale))
		bdelta[x] = int32(cvRound(inv[3] * float64(x) * abScale))
	}
	roundDelta := int32(abScale / interTabSize / 2)
	if interp == Nearest {
		roundDelta = abScale / 2
	}
	cval := fill.fill(src.C)
	switch interp {
	case Nearest:
		for y := 0; y < dst.H; y++ {
			X0 := int32(cvRound((inv[1]*float64(y)+inv[2])*abScale)) + roundDelta
			Y0 := int32(cvRound((inv[4]*float64(y)+inv[5])*abScale)) + roundDelta
			warpRowNearest(dst.Row(y), src, X0, Y0, adelta, bdelta, border, cval)
		}
	case Bicubic:
		bicubicTabOnce.Do(initBicubicTab)
		for y := 0; y < dst.H; y++ {
			X0 := int32(cvRound((inv[1]*float64(y)+inv[2])*abScale)) + roundDelta
			Y0 := int32(cvRound((inv[4]*float64(y)+inv[5])*abScale)) + roundDelta
			warpRowCubic(dst.Row(y), src, X0, Y0, adelta, bdelta, border, cval)
		}
	default:
		bilinearTabOnce.Do(initBilinearTab)
		for y := 0; y < dst.H; y++ {
			X0 := int32(cvRound((inv[1]*float64(y)+inv[2])*abScale)) + roundDelta
			Y0 := int32(cvRound((inv[4]*float64(y)+inv[5])*abScale)) + roundDelta
			if src.C == 3 {
				warpRowLinear3(dst.Row(y), src, X0, Y0, adelta, bdelta, border, cval)
			} else {
				warpRowLinear(dst.Row(y), src, X0, Y0, adelta, bdelta, border, cval)
			}
		}
	}
}

func warpRowNearest(d []uint8, src *Image, X0, Y0 int32, adelta, bdelta []int32, border BorderMode, cval [4]uint8) {
	c := src.C
	W, H := src.W, src.H
	for x := range adelta {
		sx := satShortInt(int((X0 + adelta[x]) >> abBits))
		sy := satShortInt(int((Y0 + bdelta[x]) >> abBits))
		o := d[x*c : x*c+c]
		if uint(sx) < uint(W) && uint(sy) < uint(H) {
			copy(o, src.Pix[(sy*W+sx)*c:])
			continue
		}
		switch border {
		case BorderConstant:
			copy(o, cval[:c])
			continue
		case BorderReplicate:
			sx, sy = min(max(sx, 0), W-1), min(max(sy, 0), H-1)
		default:
			sx, sy = borderIndex(sx, W, border), borderIndex(sy, H, border)
		}
		copy(o, src.Pix[(sy*W+sx)*c:])
	}
}

// warpRowLinear3 is the three-channel bilinear row, the hot path of
// ShiftScaleRotate and Matrix.
func warpRowLinear3(d []uint8, src *Image, X0, Y0 int32, adelta, bdelta []int32, border BorderMode, cval [4]uint8) {
	W, H := src.W, src.H
	pix := src.Pix
	stride := W * 3
	d = d[:len(adelta)*3]
	for x := range adelta {
		X := (X0 + adelta[x]) >> (abBits - interBits)
		Y := (Y0 + bdelta[x]) >> (abBits - interBits)
		sx := satShortInt(int(X >> interBits))
		sy := satShortInt(int(Y >> interBits))
		w := &bilinearTab[(Y&(interTabSize-1))*interTabSize+(X&(interTabSize-1))]
		o := d[3*x : 3*x+3 : 3*x+3]
		if uint(sx) < uint(W-1) && uint(sy) < uint(H-1) {
			p := sy*stride + sx*3
			r0 := pix[p : p+6 : p+6]
			r1 := pix[p+stride : p+stride+6 : p+stride+6]
			w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
			o[0] = uint8((int32(r0[0])*w0 + int32(r0[3])*w1 + int32(r1[0])*w2 + int32(r1[3])*w3 + 1<<(remapBits-1)) >> remapBits)
			o[1] = uint8((int32(r0[1])*w0 + int32(r0[4])*w1 + int32(r1[1])*w2 + int32(r1[4])*w3 + 1<<(remapBits-1)) >> remapBits)
			o[2] = uint8((int32(r0[2])*w0 + int32(r0[5])*w1 + int32(r1[2])*w2 + int32(r1[5])*w3 + 1<<(remapBits-1)) >> remapBits)
			continue
		}
		if border == BorderReflect101 || border == BorderReplicate {
			linearBorder3(o, pix, W, H, sx, sy, w, border)
			continue
		}
		linearBorderPixel(o, src, sx, sy, w, border, cval)
	}
}

// fold101 maps p into [0, n) for BorderReflect101 (one reflection covers
// every case but huge overshoots, which take the general path).
func fold101(p, n int) int {
	if p < 0 {
		p = -p
	} else if p >= n {
		p = 2*n - 2 - p
	}
	if uint(p) >= uint(n) {
		return reflect101(p, n)
	}
	return p
}

// linearBorder3 is linearBorderPixel for three channels and the
// reflect-101 and replicate borders, written out for speed.
func linearBorder3(o []uint8, pix []uint8, W, H, sx, sy int, w *[4]int32, border BorderMode) {
	var x0, x1, y0, y1 int
	if border == BorderReplicate {
		x0, x1 = min(max(sx, 0), W-1), min(max(sx+1, 0), W-1)
		y0, y1 = min(max(sy, 0), H-1), min(max(sy+1, 0), H-1)
	} else if W == 1 || H == 1 {
		x0, x1 = reflect101(sx, W), reflect101(sx+1, W)
		y0, y1 = reflect101(sy, H), reflect101(sy+1, H)
	} else {
		x0, x1 = fold101(sx, W), fold101(sx+1, W)
		y0, y1 = fold101(sy, H), fold101(sy+1, H)
	}
	p00 := pix[(y0*W+x0)*3 : (y0*W+x0)*3+3 : (y0*W+x0)*3+3]
	p01 := pix[(y0*W+x1)*3 : (y0*W+x1)*3+3 : (y0*W+x1)*3+3]
	p10 := pix[(y1*W+x0)*3 : (y1*W+x0)*3+3 : (y1*W+x0)*3+3]
	p11 := pix[(y1*W+x1)*3 : (y1*W+x1)*3+3 : (y1*W+x1)*3+3]
	w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
	o[0] = uint8((int32(p00[0])*w0 + int32(p01[0])*w1 + int32(p10[0])*w2 + int32(p11[0])*w3 + 1<<(remapBits-1)) >> remapBits)
	o[1] = uint8((int32(p00[1])*w0 + int32(p01[1])*w1 + int32(p10[1])*w2 + int32(p11[1])*w3 + 1<<(remapBits-1)) >> remapBits)
	o[2] = uint8((int32(p00[2])*w0 + int32(p01[2])*w1 + int32(p10[2])*w2 + int32(p11[2])*w3 + 1<<(remapBits-1)) >> remapBits)
}

func warpRowLinear(d []uint8, src *Image, X0, Y0 int32, adelta, bdelta []int32, border BorderMode, cval [4]uint8) {
	c := src.C
	W, H := src.W, src.H
	for x := range adelta {
		X := (X0 + adelta[x]) >> (abBits - interBits)
		Y := (Y0 + bdelta[x]) >> (abBits - interBits)
		sx := satShortInt(int(X >> interBits))
		sy := satShortInt(int(Y >> interBits))
		w := &bilinearTab[(Y&(interTabSize-1))*interTabSize+(X&(interTabSize-1))]
		o := d[x*c : x*c+c]
		if uint(sx) < uint(W-1) && uint(sy) < uint(H-1) {
			p := (sy*W + sx) * c
			q := p + W*c
			for k := 0; k < c; k++ {
				o[k] = uint8((int32(src.Pix[p+k])*w[0] + int32(src.Pix[p+c+k])*w[1] + int32(src.Pix[q+k])*w[2] + int32(src.Pix[q+c+k])*w[3] + 1<<(remapBits-1)) >> remapBits)
			}
			continue
		}
		linearBorderPixel(o, src, sx, sy, w, border, cval)
	}
}

// linearBorderPixel is the outlier branch of cv::remapBilinear.
func linearBorderPixel(o []uint8, src *Image, sx, sy int, w *[4]int32, border BorderMode, cval [4]uint8) {
	c := src.C
	W, H := src.W, src.H
	if border == BorderConstant && (sx >= W || sx+1 < 0 || sy >= H || sy+1 < 0) {
		copy(o, cval[:c])
		return
	}
	var sx0, sx1, sy0, sy1 int
	switch border {
	case BorderReplicate:
		sx0, sx1 = min(max(sx, 0), W-1), min(max(sx+1, 0), W-1)
		sy0, sy1 = min(max(sy, 0), H-1), min(max(sy+1, 0), H-1)
	case BorderReflect101:
		sx0, sx1 = reflect101(sx, W), reflect101(sx+1, W)
		sy0, sy1 = reflect101(sy, H), reflect101(sy+1, H)
	default:
		sx0, sx1 = borderIndex(sx, W, border), borderIndex(sx+1, W, border)
		sy0, sy1 = borderIndex(sy, H, border), borderIndex(sy+1, H, border)
	}
	// Corners outside (constant border) read the fill colour.
	var p [4][]uint8
	for i, yx := range [4][2]int{{sy0, sx0}, {sy0, sx1}, {sy1, sx0}, {sy1, sx1}} {
		if yx[0] < 0 || yx[1] < 0 {
			p[i] = cval[:c]
		} else {
			q := (yx[0]*W + yx[1]) * c
			p[i] = src.Pix[q : q+c]
		}
	}
	for k := 0; k < c; k++ {
		s := int32(p[0][k])*w[0] + int32(p[1][k])*w[1] + int32(p[2][k])*w[2] + int32(p[3][k])*w[3]
		o[k] = sat8((s + 1<<(remapBits-1)) >> remapBits)
	}
}

// reflect101 is borderIndex for BorderReflect101.
func reflect101(p, n int) int {
	if uint(p) < uint(n) {
		return p
	}
	if n == 1 {
		return 0
	}
	for uint(p) >= uint(n) {
		if p < 0 {
			p = -p
		} else {
			p = 2*n - 2 - p
		}
	}
	return p
}

func warpRowCubic(d []uint8, src *Image, X0, Y0 int32, adelta, bdelta []int32, border BorderMode, cval [4]uint8) {
	c := src.C
	W, H := src.W, src.H
	for x := range adelta {
		X := (X0 + adelta[x]) >> (abBits - interBits)
		Y := (Y0 + bdelta[x]) >> (abBits - interBits)
		sx := satShortInt(int(X>>interBits)) - 1
		sy := satShortInt(int(Y>>interBits)) - 1
		w := &bicubicTab[(Y&(interTabSize-1))*interTabSize+(X&(interTabSize-1))]
		o := d[x*c : x*c+c]
		if uint(sx) < uint(max(W-3, 0)) && uint(sy) < uint(max(H-3, 0)) {
			for k := 0; k < c; k++ {
				sum := int32(0)
				for i := 0; i < 4; i++ {
					p := ((sy+i)*W+sx)*c + k
					sum += int32(src.Pix[p])*w[4*i] + int32(src.Pix[p+c])*w[4*i+1] + int32(src.Pix[p+2*c])*w[4*i+2] + int32(src.Pix[p+3*c])*w[4*i+3]
				}
				o[k] = sat8((sum + 1<<(remapBits-1)) >> remapBits)
			}
			continue
		}
		if border == BorderConstant && (sx >= W || sx+4 <= 0 || sy >= H || sy+4 <= 0) {
			copy(o, cval[:c])
			continue
		}
		var xs, ys [4]int
		for i := 0; i < 4; i++ {
			if border == BorderReplicate {
				xs[i], ys[i] = min(max(sx+i, 0), W-1), min(max(sy+i, 0), H-1)
			} else {
				xs[i], ys[i] = borderIndex(sx+i, W, border), borderIndex(sy+i, H, border)
			}
		}
		for k := 0; k < c; k++ {
			cv := int32(cval[k])
			sum := cv * remapScale
			for i := 0; i < 4; i++ {
				if ys[i] < 0 {
					continue
				}
				for j := 0; j < 4; j++ {
					if xs[j] >= 0 {
						sum += (int32(src.Pix[(ys[i]*W+xs[j])*c+k]) - cv) * w[4*i+j]
					}
				}
			}
			o[k] = sat8((sum + 1<<(remapBits-1)) >> remapBits)
		}
	}
}
