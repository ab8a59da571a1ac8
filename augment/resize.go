package augment

import (
	"math"
)

// This file is cv2.resize for 8-bit images, rewritten: the same source
// coordinates (pixel centres aligned: x_src = (x_dst+0.5)*scale - 0.5), the
// same fixed-point coefficients (11 fractional bits per pass for bilinear and
// bicubic), the same rounding in each branch of OpenCV's code (its SIMD path
// and its scalar tail round differently; we reproduce both), INTER_AREA's
// integer-factor fast path and its fractional-coverage tables. The
// committed fixtures (tools/fixtures_augment.py) check the result against
// cv2 itself.

const (
	resizeCoefBits  = 11
	resizeCoefScale = 1 << resizeCoefBits
	// cvLanes8 is the width, in 8-bit lanes, of the SIMD registers OpenCV's
	// baseline (SSE) build uses; it decides where cv2's bicubic resize
	// switches from its vector to its scalar rounding.
	cvLanes8 = 16
)

// resizeImage resizes src to dh×dw into a new image taken from s.
func resizeImage(s *Sample, src *Image, dh, dw int, interp Interpolation) *Image {
	dst := s.NewImage(dh, dw, src.C)
	resizeWindow(dst, src, dh, dw, 0, 0, interp, s.ws)
	return dst
}

// resizeWindow writes into dst (dst.H×dst.W) the window at (oy, ox) of
// src resized to dh×dw. Every output pixel is computed exactly as a full
// resize would compute it, so resizing then cropping and resizing only the
// crop give identical bytes.
func resizeWindow(dst, src *Image, dh, dw, oy, ox int, interp Interpolation, ws *Workspace) {
	if dh == src.H && dw == src.W {
		copyWindow(dst, src, oy, ox)
		return
	}
	invX := float64(dw) / float64(src.W)
	invY := float64(dh) / float64(src.H)
	scaleX, scaleY := 1/invX, 1/invY
	iscaleX, iscaleY := int(math.RoundToEven(scaleX)), int(math.RoundToEven(scaleY))
	areaFast := math.Abs(scaleX-float64(iscaleX)) < 2.220446049250313e-16 &&
		math.Abs(scaleY-float64(iscaleY)) < 2.220446049250313e-16
	switch interp {
	case Nearest:
		resizeNearest(dst, src, invX, invY, oy, ox)
		return
	case Bilinear:
		if areaFast && iscaleX == 2 && iscaleY == 2 {
			resizeAreaFast(dst, src, 2, 2, oy, ox)
			return
		}
		resizeGeneric(dst, src, dh, dw, oy, ox, 2, false, ws)
	case Bicubic:
		resizeGeneric(dst, src, dh, dw, oy, ox, 4, false, ws)
	case Area:
		if scaleX >= 1 && scaleY >= 1 {
			if areaFast {
				resizeAreaFast(dst, src, iscaleX, iscaleY, oy, ox)
			} else {
				resizeAreaFrac(dst, src, dh, dw, oy, ox, scaleX, scaleY)
			}
			return
		}
		resizeGeneric(dst, src, dh, dw, oy, ox, 2, true, ws)
	}
}

func copyWindow(dst, src *Image, oy, ox int) {
	c := src.C
	for y := 0; y < dst.H; y++ {
		s := src.Row(oy + y)
		copy(dst.Row(y), s[ox*c:(ox+dst.W)*c])
	}
}

// resizeNearest is cv2.INTER_NEAREST: sx = floor(dx * (1/inv_scale)).
func resizeNearest(dst, src *Image, invX, invY float64, oy, ox int) {
	c := src.C
	ifx, ify := 1/invX, 1/invY
	xofs := make([]int, dst.W)
	for x := range xofs {
		sx := int(math.Floor(float64(x+ox) * ifx))
		xofs[x] = min(sx, src.W-1) * c
	}
	for y := 0; y < dst.H; y++ {
		sy := min(int(math.Floor(float64(y+oy)*ify)), src.H-1)
		s := src.Row(sy)
		d := dst.Row(y)
		if c == 3 {
			for x, o := range xofs {
				d[3*x], d[3*x+1], d[3*x+2] = s[o], s[o+1], s[o+2]
			}
			continue
		}
		for x, o := range xofs {
			copy(d[x*c:x*c+c], s[o:o+c])
		}
	}
}

// interpolateCubic is OpenCV's cubic convolution weights (A = -0.75) in
// float32, each product rounded before the next operation as the C code
// is (explicit conversions stop Go from fusing multiply-adds).
func interpolateCubic(x float32) [4]float32 {
	const A = float32(-0.75)
	var c [4]float32
	x1 := x + 1
	c[0] = float32(float32(float32(float32(float32(A*x1)-5*A)*x1)+8*A)*x1) - 4*A
	c[1] = float32(float32(float32(float32((A+2)*x)-(A+3))*x)*x) + 1
	y := 1 - x
	c[2] = float32(float32(float32(float32((A+2)*y)-(A+3))*y)*y) + 1
	c[3] = 1 - c[0] - c[1] - c[2]
	return c
}

func saturateShort(v float32) int32 {
	r := int32(math.RoundToEven(float64(v)))
	if r > 32767 {
		return 32767
	}
	if r < -32768 {
		return -32768
	}
	return r
}

// resizeCoeffs computes, for output positions o..o+n-1 of a resize from
// ssize to dsize, the first source tap of each and its ksize fixed-point
// weights (cv::resizeGeneric's xofs/ialpha and yofs/ibeta; areaMode is
// INTER_AREA when enlarging). For bilinear columns (clamp) cv2 moves taps
// that fall off the image onto the edge pixel with weight 1; for rows it
// keeps the weights and clamps the row index instead, which rounds
// differently, so rows pass clamp = false.
func resizeCoeffs(ssize, dsize, o, n, ksize int, areaMode, clamp bool, ofs []int, alpha []int32) {
	inv := float64(dsize) / float64(ssize)
	scale := 1 / inv
	for i := 0; i < n; i++ {
		d := o + i
		var sx int
		var f float32
		if !areaMode {
			f = float32((float64(d)+0.5)*scale - 0.5)
			sx = int(math.Floor(float64(f)))
			f -= float32(sx)
		} else {
			sx = int(math.Floor(float64(d) * scale))
			f = float32(float64(d+1) - float64(sx+1)*inv)
			if f <= 0 {
				f = 0
			} else {
				f -= float32(math.Floor(float64(f)))
			}
		}
		if ksize == 2 {
			if clamp && sx < 0 {
				f, sx = 0, 0
			}
			if clamp && sx >= ssize-1 {
				f, sx = 0, ssize-1
			}
			ofs[i] = sx
			alpha[2*i] = saturateShort((1 - f) * resizeCoefScale)
			alpha[2*i+1] = saturateShort(f * resizeCoefScale)
		} else {
			ofs[i] = sx
			cb := interpolateCubic(f)
			for k := 0; k < 4; k++ {
				alpha[4*i+k] = saturateShort(cb[k] * resizeCoefScale)
			}
		}
	}
}

// resizeGeneric is cv::resizeGeneric_ for uchar with ksize 2 (bilinear,
// area-enlarging) or 4 (bicubic): a horizontal pass into int32 rows (11
// fractional bits) and a vertical pass with OpenCV's rounding.
func resizeGeneric(dst, src *Image, dh, dw, oy, ox, ksize int, areaMode bool, ws *Workspace) {
	c := src.C
	sw, sh := src.W, src.H
	wOut, hOut := dst.W, dst.H
	xofs := make([]int, wOut)
	alpha := make([]int32, wOut*ksize)
	resizeCoeffs(sw, dw, ox, wOut, ksize, areaMode, true, xofs, alpha)
	yofs := make([]int, hOut)
	beta := make([]int32, hOut*ksize)
	resizeCoeffs(sh, dh, oy, hOut, ksize, areaMode, false, yofs, beta)

	// Cubic taps: clamp each of the four source columns (cv2's border loop).
	var xtaps []int
	var ltaps []linTap
	if ksize == 4 {
		xtaps = make([]int, wOut*4)
		for i, sx := range xofs {
			for k := 0; k < 4; k++ {
				xtaps[4*i+k] = min(max(sx-1+k, 0), sw-1) * c
			}
		}
	} else {
		for i := range xofs {
			xofs[i] *= c
		}
		ltaps = makeLinTaps(xofs, alpha, c, sw)
	}

	rowLen := wOut * c
	// Row cache: slot j holds source row tags[j] after the horizontal pass.
	// Bilinear rows are kept as uint16 (the pass's result shifted right by
	// 4, all cv2's vertical step uses); bicubic rows as int32.
	var rows32 [4][]int32
	var rows16 [2][]uint16
	if ksize == 2 {
		buf := ws.uint16s(rowLen * 2)
		rows16[0], rows16[1] = buf[:rowLen], buf[rowLen:]
	} else {
		buf := ws.int32s(rowLen * 4)
		for k := range rows32 {
			rows32[k] = buf[k*rowLen : (k+1)*rowLen]
		}
	}
	tags := [4]int{-1, -1, -1, -1}
	// The element index where cv2's cubic vector loop (8 lanes) ends, in
	// the full row. (Its bilinear loop covers the whole row in the builds we
	// compared against: every element uses the vector arithmetic.)
	fullElems := dw * c
	vecEnd := fullElems / (cvLanes8 / 2) * (cvLanes8 / 2)
	vecEnd -= ox * c // in window coordinates
	var need, slot [4]int
	for y := 0; y < hOut; y++ {
		for k := 0; k < ksize; k++ {
			need[k] = min(max(yofs[y]-ksize/2+1+k, 0), sh-1)
			slot[k] = -1
		}
		// Reuse computed rows; compute the missing ones into free slots.
		var used [4]bool
		for k := 0; k < ksize; k++ {
			for j := 0; j < ksize; j++ {
				if tags[j] == need[k] {
					slot[k] = j
					used[j] = true
					break
				}
			}
		}
		for k := 0; k < ksize; k++ {
			if slot[k] >= 0 {
				continue
			}
			j := 0
			for used[j] {
				j++
			}
			used[j] = true
			tags[j] = need[k]
			for k2 := k; k2 < ksize; k2++ {
				if need[k2] == need[k] && slot[k2] < 0 {
					slot[k2] = j
				}
			}
			s := src.Row(need[k])
			if ksize == 2 {
				hresizeLinear(rows16[j], s, ltaps, c)
			} else {
				hresizeCubic(rows32[j], s, xtaps, alpha, c)
			}
		}
		d := dst.Row(y)
		if ksize == 2 {
			vresizeLinear(d, rows16[slot[0]], rows16[slot[1]], beta[2*y], beta[2*y+1])
		} else {
			vresizeCubic(d, [][]int32{rows32[slot[0]], rows32[slot[1]], rows32[slot[2]], rows32[slot[3]]}, beta[4*y:4*y+4], vecEnd)
		}
	}
}

// linTap is one output column of a bilinear row pass: source offsets of
// the two taps (the second equals the first at the right edge, where cv2
// uses the edge pixel alone) and their weights.
type linTap struct {
	o0, o1 int
	a0, a1 int32
}

func makeLinTaps(xofs []int, alpha []int32, c, sw int) []linTap {
	last := (sw - 1) * c
	taps := make([]linTap, len(xofs))
	for i, o := range xofs {
		if o >= last {
			taps[i] = linTap{o, o, resizeCoefScale, 0}
		} else {
			taps[i] = linTap{o, o + c, alpha[2*i], alpha[2*i+1]}
		}
	}
	return taps
}

// hresizeLinear is cv2's bilinear row pass (11-bit weights), stored
// shifted right by 4 as cv2's vertical SIMD step uses it (at most 32640).
func hresizeLinear(d []uint16, s []uint8, taps []linTap, c int) {
	if c == 3 {
		d = d[:3*len(taps)]
		for i, t := range taps {
			dd := d[3*i : 3*i+3 : 3*i+3]
			p := s[t.o0 : t.o0+3 : t.o0+3]
			q := s[t.o1 : t.o1+3 : t.o1+3]
			dd[0] = uint16((int32(p[0])*t.a0 + int32(q[0])*t.a1) >> 4)
			dd[1] = uint16((int32(p[1])*t.a0 + int32(q[1])*t.a1) >> 4)
			dd[2] = uint16((int32(p[2])*t.a0 + int32(q[2])*t.a1) >> 4)
		}
		return
	}
	for i, t := range taps {
		for k := 0; k < c; k++ {
			d[i*c+k] = uint16((int32(s[t.o0+k])*t.a0 + int32(s[t.o1+k])*t.a1) >> 4)
		}
	}
}

func hresizeCubic(d []int32, s []uint8, xtaps []int, alpha []int32, c int) {
	for i := 0; i < len(xtaps)/4; i++ {
		t := xtaps[4*i : 4*i+4 : 4*i+4]
		a := alpha[4*i : 4*i+4 : 4*i+4]
		for k := 0; k < c; k++ {
			d[i*c+k] = int32(s[t[0]+k])*a[0] + int32(s[t[1]+k])*a[1] + int32(s[t[2]+k])*a[2] + int32(s[t[3]+k])*a[3]
		}
	}
}

func sat8(v int32) uint8 {
	if uint32(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// vresizeLinear combines two horizontally resized rows with the arithmetic
// of cv2's SIMD loop (VResizeLinearVec_32s8u): each row shifted right by 4,
// multiplied by its 16-bit weight keeping the high half, summed, then a
// rounding shift by 2.
func vresizeLinear(d []uint8, s0, s1 []uint16, b0, b1 int32) {
	n := len(d)
	s0, s1 = s0[:n], s1[:n]
	// With non-negative weights summing to 2048±1 the result lies in
	// [0, 255]: no saturation needed.
	for i := range d {
		d[i] = uint8((((b0 * int32(s0[i])) >> 16) + ((b1 * int32(s1[i])) >> 16) + 2) >> 2)
	}
}

// vresizeCubic: SIMD part in float32 (cv2's VResizeCubicVec_32s8u), tail
// in fixed point.
func vresizeCubic(d []uint8, s [][]int32, b []int32, vecEnd int) {
	n := len(d)
	const scale = float32(1.0 / (resizeCoefScale * resizeCoefScale))
	f0, f1, f2, f3 := float32(b[0])*scale, float32(b[1])*scale, float32(b[2])*scale, float32(b[3])*scale
	s0, s1, s2, s3 := s[0][:n], s[1][:n], s[2][:n], s[3][:n]
	v := min(max(vecEnd, 0), n)
	for i := 0; i < v; i++ {
		t := float32(float32(s3[i]) * f3)
		t = float32(float32(s2[i])*f2) + t
		t = float32(float32(s1[i])*f1) + t
		t = float32(float32(s0[i])*f0) + t
		r := math.RoundToEven(float64(t))
		if r > 32767 {
			r = 32767
		} else if r < -32768 {
			r = -32768
		}
		d[i] = sat8(int32(r))
	}
	for i := v; i < n; i++ {
		acc := int64(b[0])*int64(s0[i]) + int64(b[1])*int64(s1[i]) + int64(b[2])*int64(s2[i]) + int64(b[3])*int64(s3[i])
		d[i] = sat8(int32((acc + 1<<21) >> 22))
	}
}

// resizeAreaFast is cv2's INTER_AREA for integer factors: the mean of each
// sx×sy block. For 2×2 blocks cv2 rounds half up ((sum+2)>>2, its SIMD
// path); otherwise it multiplies by 1/area in float32 and rounds half to
// even.
func resizeAreaFast(dst, src *Image, sx, sy, oy, ox int) {
	c := src.C
	area := sx * sy
	scale := float32(1) / float32(area)
	for y := 0; y < dst.H; y++ {
		y0 := (y + oy) * sy
		d := dst.Row(y)
		for x := 0; x < dst.W; x++ {
			x0 := (x + ox) * sx
			for k := 0; k < c; k++ {
				sum := int32(0)
				for j := 0; j < sy; j++ {
					r := src.Pix[((y0+j)*src.W+x0)*c+k:]
					for i := 0; i < sx; i++ {
						sum += int32(r[i*c])
					}
				}
				if area == 4 {
					d[x*c+k] = uint8((sum + 2) >> 2)
				} else {
					d[x*c+k] = sat8(int32(math.RoundToEven(float64(float32(float32(sum) * scale)))))
				}
			}
		}
	}
}

type decimateAlpha struct {
	di, si int
	alpha  float32
}

// computeResizeAreaTab is cv::computeResizeAreaTab: the source pixels
// covering each destination pixel with their coverage fractions.
func computeResizeAreaTab(ssize, dsize int, scale float64) []decimateAlpha {
	tab := make([]decimateAlpha, 0, 2*ssize+2)
	for dx := 0; dx < dsize; dx++ {
		fsx1 := float64(dx) * scale
		fsx2 := fsx1 + scale
		cellWidth := math.Min(scale, float64(ssize)-fsx1)
		sx1, sx2 := int(math.Ceil(fsx1)), int(math.Floor(fsx2))
		sx2 = min(sx2, ssize-1)
		sx1 = min(sx1, sx2)
		if float64(sx1)-fsx1 > 1e-3 {
			tab = append(tab, decimateAlpha{dx, sx1 - 1, float32((float64(sx1) - fsx1) / cellWidth)})
		}
		for sx := sx1; sx < sx2; sx++ {
			tab = append(tab, decimateAlpha{dx, sx, float32(1.0 / cellWidth)})
		}
		if fsx2-float64(sx2) > 1e-3 {
			tab = append(tab, decimateAlpha{dx, sx2, float32(math.Min(math.Min(fsx2-float64(sx2), 1), cellWidth) / cellWidth)})
		}
	}
	return tab
}

// resizeAreaFrac is cv2's INTER_AREA for non-integer shrink factors: float32
// coverage-weighted sums, rounded half to even.
func resizeAreaFrac(dst, src *Image, dh, dw, oy, ox int, scaleX, scaleY float64) {
	c := src.C
	xtab := computeResizeAreaTab(src.W, dw, scaleX)
	ytab := computeResizeAreaTab(src.H, dh, scaleY)
	// Keep only the window's columns.
	xt := xtab[:0:0]
	for _, t := range xtab {
		if t.di >= ox && t.di < ox+dst.W {
			xt = append(xt, t)
		}
	}
	buf := make([]float32, dst.W*c)
	sum := make([]float32, dst.W*c)
	prev := -1
	flush := func(dy int) {
		if dy-oy >= 0 && dy-oy < dst.H {
			d := dst.Row(dy - oy)
			for i, v := range sum {
				d[i] = sat8(int32(math.RoundToEven(float64(v))))
			}
		}
	}
	for _, yt := range ytab {
		if yt.di < oy || yt.di >= oy+dst.H {
			continue
		}
		s := src.Row(yt.si)
		clear(buf)
		if c == 3 {
			for _, t := range xt {
				dxn := (t.di - ox) * 3
				sxn := t.si * 3
				b := buf[dxn : dxn+3 : dxn+3]
				p := s[sxn : sxn+3 : sxn+3]
				b[0] = b[0] + float32(float32(p[0])*t.alpha)
				b[1] = b[1] + float32(float32(p[1])*t.alpha)
				b[2] = b[2] + float32(float32(p[2])*t.alpha)
			}
		} else {
			for _, t := range xt {
				dxn := (t.di - ox) * c
				sxn := t.si * c
				for k := 0; k < c; k++ {
					buf[dxn+k] = buf[dxn+k] + float32(float32(s[sxn+k])*t.alpha)
				}
			}
		}
		if yt.di != prev {
			if prev >= 0 {
				flush(prev)
			}
			for i, v := range buf {
				sum[i] = float32(yt.alpha * v)
			}
			prev = yt.di
		} else {
			for i, v := range buf {
				sum[i] = sum[i] + float32(yt.alpha*v)
			}
		}
	}
	if prev >= 0 {
		flush(prev)
	}
}
