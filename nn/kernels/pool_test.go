package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn/kernels"
)

// pgeom describes a pooling test case with explicit padding on all sides.
type pgeom struct {
	n, h, w, c     int
	k, s           int
	pt, pb, pl, pr int
}

func (g pgeom) params() kernels.PoolParams {
	return kernels.PoolParams{
		N: g.n, H: g.h, W: g.w, C: g.c,
		OutH: (g.h+g.pt+g.pb-g.k)/g.s + 1, OutW: (g.w+g.pl+g.pr-g.k)/g.s + 1,
		KH: g.k, KW: g.k, StrideH: g.s, StrideW: g.s, PadTop: g.pt, PadLeft: g.pl,
	}
}

func (g pgeom) String() string {
	return fmt.Sprintf("n%d_%dx%dx%d_k%d_s%d_pad%d.%d.%d.%d", g.n, g.h, g.w, g.c, g.k, g.s, g.pt, g.pb, g.pl, g.pr)
}

// tfSame returns TensorFlow 'SAME' padding (before, after) for one axis.
func tfSame(in, k, s int) (int, int) {
	out := (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	return total / 2, total - total/2
}

func poolGeoms() []pgeom {
	var gs []pgeom
	for c := 1; c <= 9; c++ {
		gs = append(gs, pgeom{1 + c%2, 5, 4, c, 3, 2, 1, 1, 1, 1})
	}
	for _, hw := range [][2]int{{7, 7}, {8, 8}, {9, 6}, {1, 1}, {2, 3}} { // TF same 3×3/2
		pt, pb := tfSame(hw[0], 3, 2)
		pl, pr := tfSame(hw[1], 3, 2)
		gs = append(gs, pgeom{2, hw[0], hw[1], 5, 3, 2, pt, pb, pl, pr})
	}
	return append(gs,
		pgeom{2, 8, 6, 3, 2, 2, 0, 0, 0, 0},      // 2×2/2
		pgeom{1, 7, 5, 4, 2, 2, 0, 0, 0, 0},      // floor drops the last row and column
		pgeom{1, 6, 7, 4, 3, 1, 1, 1, 1, 1},      // 3×3/1 pad 1
		pgeom{2, 6, 7, 3, 3, 2, 0, 1, 1, 0},      // asymmetric
		pgeom{1, 5, 5, 2, 1, 1, 0, 0, 0, 0},      // 1×1
		pgeom{2, 4, 4, 6, 4, 4, 0, 0, 0, 0},      // window = image
		pgeom{1, 9, 9, 3, 5, 3, 2, 2, 2, 2},      // k5 s3
		pgeom{2, 33, 31, 40, 3, 2, 1, 1, 0, 1},   // bigger: several chunks
		pgeom{3, 20, 20, 70, 3, 1, 1, 1, 1, 1},   // many channels
		pgeom{1, 12, 10, 8, 3, 5, 0, 0, 1, 1},    // stride > window
		pgeom{2, 11, 13, 17, 2, 1, 1, 0, 0, 1},   // even window, stride 1
		pgeom{1, 16, 16, 129, 3, 2, 0, 1, 0, 1},  // channel count past a block of 64
		pgeom{4, 14, 14, 24, 3, 2, 1, 1, 1, 1},   // batch 4
		pgeom{1, 3, 3, 2, 3, 1, 1, 1, 1, 1},      // every window padded
		pgeom{2, 10, 10, 16, 3, 3, 1, 1, 1, 1},   // stride 3
		pgeom{1, 25, 25, 33, 7, 2, 3, 3, 3, 3},   // k7
		pgeom{1, 17, 19, 12, 4, 2, 1, 2, 2, 1},   // even window asymmetric
		pgeom{2, 5, 5, 1, 3, 2, 1, 1, 1, 1},      // one channel
		pgeom{1, 6, 5, 3, 2, 3, 0, 0, 0, 0},      // stride > window, rows skipped
		pgeom{2, 64, 64, 8, 3, 2, 0, 1, 0, 1},    // large image
		pgeom{1, 2, 2, 5, 2, 1, 1, 1, 1, 1},      // tiny padded
		pgeom{1, 13, 13, 3, 3, 2, 1, 1, 1, 1},    // odd
		pgeom{1, 112, 112, 4, 3, 2, 0, 1, 0, 1},  // stem-sized
		pgeom{1, 4, 9, 2, 3, 3, 1, 1, 0, 0},      // rectangular
		pgeom{3, 7, 7, 10, 7, 1, 3, 3, 3, 3},     // large padded windows
		pgeom{1, 31, 1, 3, 3, 2, 1, 1, 1, 1},     // one column
		pgeom{1, 1, 29, 3, 3, 2, 1, 1, 1, 1},     // one row
		pgeom{2, 18, 18, 32, 3, 2, 0, 1, 0, 1},   // TF same even
		pgeom{1, 19, 19, 32, 3, 2, 1, 1, 1, 1},   // TF same odd
		pgeom{1, 10, 10, 1, 10, 10, 0, 0, 0, 0},  // one window
		pgeom{1, 9, 9, 2, 2, 2, 1, 0, 1, 0},      // top/left pad only
		pgeom{1, 9, 9, 2, 2, 2, 0, 1, 0, 1},      // bottom/right pad only
		pgeom{1, 9, 9, 2, 3, 2, 0, 2, 0, 2},      // bottom pad 2
		pgeom{1, 9, 9, 2, 3, 2, 2, 0, 2, 0},      // top pad 2
		pgeom{1, 8, 8, 2, 5, 1, 4, 4, 4, 4},      // pad k-1
		pgeom{2, 9, 10, 6, 3, 1, 0, 0, 0, 0},     // valid, stride 1
		pgeom{1, 21, 21, 65, 3, 2, 1, 1, 1, 1},   // 65 channels
		pgeom{1, 6, 6, 64, 3, 2, 0, 1, 0, 1},     // 64 channels
		pgeom{1, 6, 6, 63, 3, 2, 0, 1, 0, 1},     // 63 channels
		pgeom{5, 3, 3, 7, 3, 1, 1, 1, 1, 1},      // batch 5
		pgeom{1, 1, 1, 9, 1, 1, 0, 0, 0, 0},      // a single pixel
		pgeom{1, 1, 1, 9, 2, 1, 1, 0, 1, 0},      // a single pixel, padded
		pgeom{1, 15, 15, 2, 3, 2, 1, 1, 1, 1},    // odd
		pgeom{1, 16, 16, 2, 3, 2, 1, 1, 1, 1},    // even, symmetric: last column dropped
		pgeom{1, 24, 24, 3, 2, 2, 0, 0, 0, 0},    // 2×2/2 even
		pgeom{1, 25, 25, 3, 2, 2, 0, 0, 0, 0},    // 2×2/2 odd
		pgeom{2, 40, 24, 12, 3, 2, 1, 1, 1, 1},   // more rows
		pgeom{1, 3, 30, 12, 3, 1, 1, 1, 1, 1},    // wide
		pgeom{1, 30, 3, 12, 3, 1, 1, 1, 1, 1},    // tall
		pgeom{1, 11, 11, 11, 11, 11, 5, 5, 5, 5}, // window 11, pad 5
	)
}

// refPool returns the float64 reference max pool (value and flat argmax)
// and average pool (both divisor modes) for x.
func refPool(p *kernels.PoolParams, x []float32) (mx []float64, arg []int, avgIn, avgEx []float64) {
	ny := p.N * p.OutH * p.OutW * p.C
	mx, arg = make([]float64, ny), make([]int, ny)
	avgIn, avgEx = make([]float64, ny), make([]float64, ny)
	for n := 0; n < p.N; n++ {
		for oh := 0; oh < p.OutH; oh++ {
			for ow := 0; ow < p.OutW; ow++ {
				for c := 0; c < p.C; c++ {
					m, a, s, cnt := math.Inf(-1), -1, 0.0, 0
					for kh := 0; kh < p.KH; kh++ {
						for kw := 0; kw < p.KW; kw++ {
							ih, iw := oh*p.StrideH-p.PadTop+kh, ow*p.StrideW-p.PadLeft+kw
							if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
								continue
							}
							i := ((n*p.H+ih)*p.W+iw)*p.C + c
							v := float64(x[i])
							if a < 0 || v > m {
								m, a = v, i
							}
							s += v
							cnt++
						}
					}
					o := ((n*p.OutH+oh)*p.OutW+ow)*p.C + c
					mx[o], arg[o] = m, a
					avgIn[o] = s / float64(p.KH*p.KW)
					avgEx[o] = s / float64(cnt)
				}
			}
		}
	}
	return
}

func TestPoolMatchesReference(t *testing.T) {
	for ci, gm := range poolGeoms() {
		t.Run(gm.String(), func(t *testing.T) {
			p := gm.params()
			if err := p.Validate(); err != nil {
				t.Fatalf("test case invalid: %v", err)
			}
			r := rand.New(rand.NewPCG(uint64(ci), 5))
			nx, ny := p.N*p.H*p.W*p.C, p.N*p.OutH*p.OutW*p.C
			x, dy := randSlice(r, nx), randSlice(r, ny)
			// Negative inputs: a zero-padding bug would win the max.
			for i := range x {
				x[i] = -1 - x[i]*x[i]
			}
			mx, arg, avgIn, avgEx := refPool(&p, x)
			off := ci % 4

			y, yok := guarded(ny, off, float32(math.NaN()))
			argmax := make([]int32, ny)
			kernels.MaxPool2d(&p, x, y, argmax)
			for i := range mx {
				if float64(y[i]) != mx[i] || int(argmax[i]) != arg[i] {
					t.Fatalf("max pool [%d] = %v at %d, want %v at %d", i, y[i], argmax[i], mx[i], arg[i])
				}
			}
			y2 := make([]float32, ny)
			kernels.MaxPool2d(&p, x, y2, nil)
			if i := sameBits(y, y2); i >= 0 {
				t.Fatalf("max pool without argmax differs at %d", i)
			}
			dx0 := randSlice(r, nx)
			dx, dxok := guarded(nx, (off+1)%4, 0)
			copy(dx, dx0)
			kernels.MaxPool2dBackward(&p, dy, argmax, dx)
			want := make([]float64, nx)
			for i, a := range arg {
				want[a] += float64(dy[i])
			}
			checkClose(t, "max dx", dx, dx0, want, absAll(want))

			for _, inc := range []bool{true, false} {
				ref := avgEx
				if inc {
					ref = avgIn
				}
				kernels.AvgPool2d(&p, x, y, inc)
				checkClose(t, fmt.Sprintf("avg(includePad=%t) y", inc), y, nil, ref, absAll(ref))
				copy(dx, dx0)
				kernels.AvgPool2dBackward(&p, dy, dx, inc)
				checkClose(t, fmt.Sprintf("avg(includePad=%t) dx", inc), dx, dx0, refAvgGrad(&p, dy, inc), absAll(refAvgGrad(&p, dy, inc)))
			}
			if !yok() || !dxok() {
				t.Errorf("pooling wrote outside y or dx")
			}
		})
	}
}

func absAll(v []float64) []float64 {
	a := make([]float64, len(v))
	for i, x := range v {
		a[i] = 4 * math.Abs(x) // room for a few roundings
	}
	return a
}

// refAvgGrad scatters dy/cnt over each window's in-bounds cells.
func refAvgGrad(p *kernels.PoolParams, dy []float32, inc bool) []float64 {
	dx := make([]float64, p.N*p.H*p.W*p.C)
	for n := 0; n < p.N; n++ {
		for oh := 0; oh < p.OutH; oh++ {
			for ow := 0; ow < p.OutW; ow++ {
				var cells []int
				for kh := 0; kh < p.KH; kh++ {
					for kw := 0; kw < p.KW; kw++ {
						ih, iw := oh*p.StrideH-p.PadTop+kh, ow*p.StrideW-p.PadLeft+kw
						if ih >= 0 && ih < p.H && iw >= 0 && iw < p.W {
							cells = append(cells, ((n*p.H+ih)*p.W+iw)*p.C)
						}
					}
				}
				cnt := float64(len(cells))
				if inc {
					cnt = float64(p.KH * p.KW)
				}
				for c := 0; c < p.C; c++ {
					g := float64(dy[((n*p.OutH+oh)*p.OutW+ow)*p.C+c]) / cnt
					for _, i := range cells {
						dx[i+c] += g
					}
				}
			}
		}
	}
	return dx
}

func TestMaxPoolSpecialValues(t *testing.T) {
	// 3×3/2 TF same on 4×4: pads 0 top/left, 1 bottom/right.
	p := pgeom{1, 4, 4, 3, 3, 2, 0, 1, 0, 1}.params()
	x := make([]float32, 4*4*3)
	for i := 0; i < 16; i++ {
		x[i*3] = 2                            // ties everywhere: the first cell wins
		x[i*3+1] = float32(math.Inf(-1))      // all -Inf: first in-bounds cell, value -Inf
		x[i*3+2] = float32(-100 - float64(i)) // all negative: padding (zero) must not win
	}
	x[5*3+2] = float32(math.NaN()) // NaN wins in windows containing (1,1)
	y := make([]float32, 2*2*3)
	arg := make([]int32, 2*2*3)
	kernels.MaxPool2d(&p, x, y, arg)
	firsts := []int32{0, 2, 8, 10} // first in-bounds cell of each window, in pixels
	for o := 0; o < 4; o++ {
		if y[o*3] != 2 || arg[o*3] != firsts[o]*3 {
			t.Errorf("ties: window %d = %v at %d, want 2 at %d", o, y[o*3], arg[o*3], firsts[o]*3)
		}
		if !math.IsInf(float64(y[o*3+1]), -1) || arg[o*3+1] != firsts[o]*3+1 {
			t.Errorf("-Inf: window %d = %v at %d, want -Inf at %d", o, y[o*3+1], arg[o*3+1], firsts[o]*3+1)
		}
	}
	if v := y[2]; !math.IsNaN(float64(v)) || arg[2] != 5*3+2 {
		t.Errorf("NaN: window 0 = %v at %d, want NaN at %d", v, arg[2], 5*3+2)
	}
	if v := y[3*3+2]; v != -110 { // window (1,1) covers pixels (2..3, 2..3): max is pixel 10
		t.Errorf("negative inputs: window 3 = %v, want -110", v)
	}
}

func TestGlobalAvgPool(t *testing.T) {
	for _, s := range [][3]int{{1, 1, 1}, {2, 49, 7}, {3, 12544, 3}, {2, 5, 130}, {1, 9, 64}, {4, 1, 65}} {
		n, hw, c := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(uint64(hw), 1))
		x, dy := randSlice(r, n*hw*c), randSlice(r, n*c)
		y, yok := guarded(n*c, 1, float32(math.NaN()))
		kernels.GlobalAvgPool(n, hw, c, x, y)
		want, mag := make([]float64, n*c), make([]float64, n*c)
		for i := 0; i < n; i++ {
			for q := 0; q < hw; q++ {
				for j := 0; j < c; j++ {
					v := float64(x[(i*hw+q)*c+j]) / float64(hw)
					want[i*c+j] += v
					mag[i*c+j] += math.Abs(v)
				}
			}
		}
		checkClose(t, fmt.Sprintf("%v y", s), y, nil, want, mag)
		dx0 := randSlice(r, n*hw*c)
		dx, dxok := guarded(n*hw*c, 3, 0)
		copy(dx, dx0)
		kernels.GlobalAvgPoolBackward(n, hw, c, dy, dx)
		wdx := make([]float64, n*hw*c)
		for i := range wdx {
			wdx[i] = float64(dy[(i/(hw*c))*c+i%c]) / float64(hw)
		}
		checkClose(t, fmt.Sprintf("%v dx", s), dx, dx0, wdx, absAll(wdx))
		if !yok() || !dxok() {
			t.Errorf("%v: wrote outside y or dx", s)
		}
	}
	kernels.GlobalAvgPool(0, 4, 3, nil, nil)
}

func TestPoolThreadCountInvariant(t *testing.T) {
	p := pgeom{4, 37, 35, 40, 3, 2, 1, 1, 0, 1}.params()
	r := rand.New(rand.NewPCG(2, 2))
	nx, ny := p.N*p.H*p.W*p.C, p.N*p.OutH*p.OutW*p.C
	x, dy := randSlice(r, nx), randSlice(r, ny)
	run := func(threads int) [][]float32 {
		out := make([][]float32, 6)
		withThreads(threads, func() {
			y, arg, dx := make([]float32, ny), make([]int32, ny), make([]float32, nx)
			kernels.MaxPool2d(&p, x, y, arg)
			kernels.MaxPool2dBackward(&p, dy, arg, dx)
			ya, dxa := make([]float32, ny), make([]float32, nx)
			kernels.AvgPool2d(&p, x, ya, false)
			kernels.AvgPool2dBackward(&p, dy, dxa, false)
			g, dg := make([]float32, p.N*p.C), make([]float32, nx)
			kernels.GlobalAvgPool(p.N, p.H*p.W, p.C, x, g)
			kernels.GlobalAvgPoolBackward(p.N, p.H*p.W, p.C, g, dg)
			out = [][]float32{y, dx, ya, dxa, g, dg}
		})
		return out
	}
	a := run(1)
	for _, th := range []int{3, 4} {
		b := run(th)
		for k := range a {
			if i := sameBits(a[k], b[k]); i >= 0 {
				t.Errorf("output %d differs at %d between 1 and %d threads", k, i, th)
			}
		}
	}
}

func TestPoolParamsValidate(t *testing.T) {
	ok := pgeom{2, 8, 8, 4, 3, 2, 0, 1, 0, 1}.params()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid params rejected: %v", err)
	}
	for _, c := range []struct {
		name   string
		mutate func(p *kernels.PoolParams)
		want   string
	}{
		{"pad = window", func(p *kernels.PoolParams) { p.PadTop = 3 }, "would hold only padding"},
		{"bottom pad = window", func(p *kernels.PoolParams) { p.OutH = 5 }, "implies padding bottom 3"},
		{"OutW too small", func(p *kernels.PoolParams) { p.OutW = 2 }, "unread"},
		{"zero stride", func(p *kernels.PoolParams) { p.StrideW = 0 }, "stride"},
		{"negative pad", func(p *kernels.PoolParams) { p.PadLeft = -1 }, "padding"},
		{"zero window", func(p *kernels.PoolParams) { p.KW = 0 }, "window"},
	} {
		p := ok
		c.mutate(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	p := ok
	expectPanic(t, []string{"kernels.MaxPool2d", "argmax has 3 elements"}, func() {
		kernels.MaxPool2d(&p, make([]float32, 512), make([]float32, 128), make([]int32, 3))
	})
	expectPanic(t, []string{"kernels.AvgPool2dBackward", "dy has 0 elements, needs 128"}, func() {
		kernels.AvgPool2dBackward(&p, nil, make([]float32, 512), true)
	})
	expectPanic(t, []string{"kernels.GlobalAvgPool", "hw 0"}, func() {
		kernels.GlobalAvgPool(1, 0, 3, nil, nil)
	})
}
