package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn/internal/parallel"
	"github.com/sortnet/sortnet/nn/kernels"
)

// geom describes a convolution test case; params fills in the output size
// from explicit padding on all four sides.
type geom struct {
	n, h, w, c, oc int
	kh, kw         int
	s, d, g        int
	pt, pb, pl, pr int
}

func (g geom) params() kernels.ConvParams {
	return kernels.ConvParams{
		N: g.n, H: g.h, W: g.w, C: g.c,
		OutH: (g.h+g.pt+g.pb-(g.kh-1)*g.d-1)/g.s + 1,
		OutW: (g.w+g.pl+g.pr-(g.kw-1)*g.d-1)/g.s + 1,
		OutC: g.oc, KH: g.kh, KW: g.kw,
		StrideH: g.s, StrideW: g.s, DilH: g.d, DilW: g.d,
		PadTop: g.pt, PadLeft: g.pl, Groups: g.g,
	}
}

func (g geom) String() string {
	return fmt.Sprintf("n%d_%dx%dx%d_to%d_k%dx%d_s%d_d%d_g%d_pad%d.%d.%d.%d",
		g.n, g.h, g.w, g.c, g.oc, g.kh, g.kw, g.s, g.d, g.g, g.pt, g.pb, g.pl, g.pr)
}

// convGeoms covers the kernel paths (pointwise, depthwise, implicit GEMM, im2col)
// with remainder channel counts, batch 1, odd sizes, stride 2, dilation 2,
// asymmetric padding, groups 1, 2 and C, and shapes big enough for several
// im2col blocks, input-gradient bands and weight-gradient partials.
func convGeoms() []geom {
	var gs []geom
	for c := 1; c <= 9; c++ { // remainders: pointwise, depthwise, general
		gs = append(gs,
			geom{1, 3, 5, c, c + 2, 1, 1, 1, 1, 1, 0, 0, 0, 0},
			geom{2, 5, 4, c, c, 3, 3, 1, 1, c, 1, 1, 1, 1},
			geom{1, 4, 3, c, 10 - c, 3, 3, 1, 1, 1, 1, 1, 1, 1},
		)
	}
	return append(gs,
		geom{2, 7, 5, 6, 4, 1, 1, 1, 1, 2, 0, 0, 0, 0},     // pointwise, groups 2
		geom{2, 7, 5, 6, 4, 1, 1, 2, 1, 1, 0, 0, 0, 0},     // 1×1 stride 2 (implicit GEMM path)
		geom{2, 9, 7, 3, 5, 3, 3, 2, 1, 1, 0, 1, 0, 1},     // stride 2, TF-same-like asymmetric pad
		geom{1, 8, 8, 3, 5, 3, 3, 2, 1, 1, 1, 1, 1, 1},     // stride 2, floor drops a row
		geom{2, 9, 8, 4, 6, 3, 3, 1, 2, 1, 2, 2, 2, 2},     // dilation 2
		geom{1, 11, 10, 4, 6, 3, 3, 2, 2, 1, 1, 2, 2, 1},   // dilation 2, stride 2, asymmetric
		geom{2, 7, 6, 4, 6, 3, 3, 1, 1, 2, 1, 1, 1, 1},     // groups 2
		geom{1, 9, 9, 6, 9, 5, 5, 2, 1, 3, 2, 2, 1, 3},     // groups 3, k5, stride 2
		geom{1, 5, 6, 4, 8, 3, 3, 1, 1, 4, 1, 1, 1, 1},     // depth multiplier 2 (groups C, im2col path)
		geom{2, 7, 6, 5, 5, 5, 5, 1, 1, 1, 2, 2, 2, 2},     // k5
		geom{1, 6, 7, 3, 4, 1, 3, 1, 1, 1, 0, 0, 1, 1},     // 1×3
		geom{1, 3, 3, 2, 3, 5, 5, 1, 1, 1, 3, 3, 3, 3},     // kernel larger than input, pad > k/2
		geom{2, 9, 7, 8, 8, 3, 3, 2, 1, 8, 0, 1, 0, 1},     // depthwise stride 2 TF-same
		geom{1, 10, 9, 5, 5, 3, 3, 1, 2, 5, 2, 2, 2, 2},    // depthwise dilation 2
		geom{2, 9, 9, 7, 7, 5, 5, 2, 1, 7, 1, 2, 2, 1},     // depthwise k5 stride 2 asymmetric
		geom{1, 1, 1, 4, 4, 3, 3, 1, 1, 4, 1, 1, 1, 1},     // depthwise 1×1 image
		geom{1, 40, 40, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // many blocks, bands, partials
		geom{1, 48, 48, 24, 6, 3, 3, 2, 2, 1, 2, 2, 2, 2},  // bands with stride 2, dilation 2
		geom{1, 30, 30, 64, 4, 5, 5, 1, 3, 1, 6, 6, 6, 6},  // band height set by the kernel span
		geom{2, 24, 24, 40, 12, 1, 1, 1, 1, 1, 0, 0, 0, 0}, // pointwise, several partials
		geom{3, 20, 18, 24, 24, 3, 3, 1, 1, 24, 1, 1, 1, 1},
	)
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// guarded returns a slice of n elements starting off elements into a buffer
// with a guard band of sentinels on both sides, and a func that reports
// whether the guards are intact.
func guarded(n, off int, fill float32) ([]float32, func() bool) {
	const guard = 7
	buf := make([]float32, off+n+guard)
	for i := range buf {
		buf[i] = 1234.5
	}
	s := buf[off : off+n]
	for i := range s {
		s[i] = fill
	}
	return s, func() bool {
		for _, v := range buf[:off] {
			if v != 1234.5 {
				return false
			}
		}
		for _, v := range buf[off+n:] {
			if v != 1234.5 {
				return false
			}
		}
		return true
	}
}

// Float64 references: the direct loops of the kernels' doc comments. Each
// returns the result and, per element, the sum of the absolute values of
// its terms (the scale of float32 rounding error).

func refConv(p *kernels.ConvParams, x, w []float32) (y, mag []float64) {
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	y = make([]float64, p.N*p.OutH*p.OutW*p.OutC)
	mag = make([]float64, len(y))
	for n := 0; n < p.N; n++ {
		for oh := 0; oh < p.OutH; oh++ {
			for ow := 0; ow < p.OutW; ow++ {
				for o := 0; o < p.OutC; o++ {
					g := o / og
					var s, a float64
					for kh := 0; kh < p.KH; kh++ {
						for kw := 0; kw < p.KW; kw++ {
							ih := oh*p.StrideH - p.PadTop + kh*p.DilH
							iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
							if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
								continue
							}
							for ci := 0; ci < cg; ci++ {
								t := float64(x[((n*p.H+ih)*p.W+iw)*p.C+g*cg+ci]) * float64(w[((kh*p.KW+kw)*cg+ci)*p.OutC+o])
								s += t
								a += math.Abs(t)
							}
						}
					}
					i := ((n*p.OutH+oh)*p.OutW+ow)*p.OutC + o
					y[i], mag[i] = s, a
				}
			}
		}
	}
	return y, mag
}

// refConvGrads returns the input and weight gradients of the reference
// convolution for upstream gradient dy.
func refConvGrads(p *kernels.ConvParams, x, w, dy []float32) (dx, dxMag, dw, dwMag []float64) {
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	dx = make([]float64, len(x))
	dxMag = make([]float64, len(x))
	dw = make([]float64, len(w))
	dwMag = make([]float64, len(w))
	for n := 0; n < p.N; n++ {
		for oh := 0; oh < p.OutH; oh++ {
			for ow := 0; ow < p.OutW; ow++ {
				for o := 0; o < p.OutC; o++ {
					g := o / og
					gv := float64(dy[((n*p.OutH+oh)*p.OutW+ow)*p.OutC+o])
					for kh := 0; kh < p.KH; kh++ {
						for kw := 0; kw < p.KW; kw++ {
							ih := oh*p.StrideH - p.PadTop + kh*p.DilH
							iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
							if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
								continue
							}
							for ci := 0; ci < cg; ci++ {
								xi := ((n*p.H+ih)*p.W+iw)*p.C + g*cg + ci
								wi := ((kh*p.KW+kw)*cg+ci)*p.OutC + o
								tx := gv * float64(w[wi])
								dx[xi] += tx
								dxMag[xi] += math.Abs(tx)
								tw := gv * float64(x[xi])
								dw[wi] += tw
								dwMag[wi] += math.Abs(tw)
							}
						}
					}
				}
			}
		}
	}
	return
}

// checkClose compares got with base + want elementwise, with a tolerance
// scaled by the magnitude of the summed terms.
func checkClose(t *testing.T, what string, got []float32, base []float32, want, mag []float64) {
	t.Helper()
	bad := 0
	for i := range want {
		w := want[i]
		m := mag[i]
		if base != nil {
			w += float64(base[i])
			m += math.Abs(float64(base[i]))
		}
		if d := math.Abs(float64(got[i]) - w); !(d <= 1e-5*m+1e-6) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %v, want %v (|diff| %.3g, magnitude %.3g)", what, i, got[i], w, d, m)
			}
		}
	}
}

func TestConv2dMatchesReference(t *testing.T) {
	for ci, gm := range convGeoms() {
		t.Run(gm.String(), func(t *testing.T) {
			p := gm.params()
			if err := p.Validate(); err != nil {
				t.Fatalf("test case invalid: %v", err)
			}
			checkConv(t, &p, rand.New(rand.NewPCG(uint64(ci), 3)), ci%4)
		})
	}
}

// checkConv runs the forward pass and both gradients of p under the
// selected implementation against the float64 reference, with random
// inputs from r, outputs in guard bands off elements from an allocation's
// start.
func checkConv(t *testing.T, p *kernels.ConvParams, r *rand.Rand, off int) {
	t.Helper()
	nx, nw, ny := p.N*p.H*p.W*p.C, p.KH*p.KW*(p.C/p.Groups)*p.OutC, p.N*p.OutH*p.OutW*p.OutC
	x, w, dy := randSlice(r, nx), randSlice(r, nw), randSlice(r, ny)

	// Forward overwrites y: NaNs already there must not leak.
	y, yok := guarded(ny, off, float32(math.NaN()))
	kernels.Conv2d(p, x, w, y)
	want, mag := refConv(p, x, w)
	checkClose(t, "y", y, nil, want, mag)
	if !yok() {
		t.Errorf("Conv2d wrote outside y")
	}

	// Backward passes accumulate onto what is there.
	dx0, dw0 := randSlice(r, nx), randSlice(r, nw)
	dx, dxok := guarded(nx, (off+1)%4, 0)
	dw, dwok := guarded(nw, (off+2)%4, 0)
	copy(dx, dx0)
	copy(dw, dw0)
	kernels.Conv2dBackwardInput(p, dy, w, dx)
	kernels.Conv2dBackwardWeight(p, x, dy, dw)
	wdx, dxMag, wdw, dwMag := refConvGrads(p, x, w, dy)
	checkClose(t, "dx", dx, dx0, wdx, dxMag)
	checkClose(t, "dw", dw, dw0, wdw, dwMag)
	if !dxok() || !dwok() {
		t.Errorf("backward wrote outside dx or dw")
	}

	// The Set variant overwrites dx, NaNs there included.
	dxs, dxsok := guarded(nx, (off+3)%4, float32(math.NaN()))
	kernels.Conv2dBackwardInputSet(p, dy, w, dxs)
	checkClose(t, "dx (Set)", dxs, nil, wdx, dxMag)
	if !dxsok() {
		t.Errorf("Conv2dBackwardInputSet wrote outside dx")
	}
}

// FuzzConv2d checks random convolutions (groups, kernel sizes, strides,
// dilations, asymmetric paddings; depthwise has its own fuzz test) under
// the selected implementation against the float64 reference.
func FuzzConv2d(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(3), uint8(1), uint8(5))
	f.Add(uint64(2), uint8(0), uint8(12), uint8(2), uint8(40))
	f.Add(uint64(3), uint8(4), uint8(24), uint8(7), uint8(200))
	f.Fuzz(func(t *testing.T, seed uint64, kh, kw, sd, pad uint8) {
		r := rand.New(rand.NewPCG(seed, 2))
		g := 1 + r.IntN(3)
		gm := geom{
			n: 1 + r.IntN(2), h: 1 + r.IntN(12), w: 1 + r.IntN(12),
			c: g * (1 + r.IntN(6)), oc: g * (1 + r.IntN(6)),
			kh: 1 + int(kh%5), kw: 1 + int(kw%5),
			s: 1 + int(sd%3), d: 1 + int((sd/3)%2), g: g,
			pt: int(pad % 4), pb: int(pad/4) % 4, pl: int(pad/16) % 4, pr: int(pad/64) % 4,
		}
		p := gm.params()
		if p.Validate() != nil || p.OutH < 1 || p.OutW < 1 {
			return
		}
		checkConv(t, &p, r, int(seed%4))
	})
}

func TestConv2dEmptyBatch(t *testing.T) {
	p := geom{0, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1}.params()
	kernels.Conv2d(&p, nil, make([]float32, 3*3*3*4), nil)
	kernels.Conv2dBackwardInput(&p, nil, make([]float32, 3*3*3*4), nil)
	kernels.Conv2dBackwardWeight(&p, nil, nil, make([]float32, 3*3*3*4))
}

// withThreads runs fn with the pool at n threads.
func withThreads(n int, fn func()) {
	prev := parallel.SetThreads(n)
	defer parallel.SetThreads(prev)
	fn()
}

func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestConv2dThreadCountInvariant(t *testing.T) {
	gs := []geom{
		{2, 28, 28, 32, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // implicit GEMM (forward, weight gradient), im2col (input gradient)
		{2, 27, 27, 16, 16, 3, 3, 2, 1, 2, 0, 1, 0, 1},  // im2col, groups 2, stride 2
		{4, 28, 28, 48, 24, 1, 1, 1, 1, 1, 0, 0, 0, 0},  // pointwise
		{2, 28, 28, 64, 64, 5, 5, 2, 1, 64, 1, 2, 1, 2}, // depthwise
	}
	for ci, gm := range gs {
		p := gm.params()
		r := rand.New(rand.NewPCG(uint64(ci), 9))
		nx, nw, ny := p.N*p.H*p.W*p.C, p.KH*p.KW*(p.C/p.Groups)*p.OutC, p.N*p.OutH*p.OutW*p.OutC
		x, w, dy := randSlice(r, nx), randSlice(r, nw), randSlice(r, ny)
		run := func(threads int) (y, dx, dw []float32) {
			y, dx, dw = make([]float32, ny), make([]float32, nx), make([]float32, nw)
			withThreads(threads, func() {
				kernels.Conv2d(&p, x, w, y)
				kernels.Conv2dBackwardInput(&p, dy, w, dx)
				kernels.Conv2dBackwardWeight(&p, x, dy, dw)
			})
			return
		}
		y1, dx1, dw1 := run(1)
		for _, th := range []int{3, 4} {
			y4, dx4, dw4 := run(th)
			for _, c := range []struct {
				name string
				a, b []float32
			}{{"y", y1, y4}, {"dx", dx1, dx4}, {"dw", dw1, dw4}} {
				if i := sameBits(c.a, c.b); i >= 0 {
					t.Errorf("%v: %s[%d] differs between 1 and %d threads: %v vs %v", gm, c.name, i, th, c.a[i], c.b[i])
				}
			}
		}
	}
}

func expectPanic(t *testing.T, want []string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		msg := fmt.Sprint(r)
		if r == nil {
			t.Errorf("no panic, want one mentioning %q", want)
			return
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("panic %q does not mention %q", msg, w)
			}
		}
	}()
	fn()
}

func TestConvParamsValidate(t *testing.T) {
	ok := geom{2, 8, 8, 4, 6, 3, 3, 1, 1, 2, 1, 1, 1, 1}.params()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid params rejected: %v", err)
	}
	for _, c := range []struct {
		name   string
		mutate func(p *kernels.ConvParams)
		want   string
	}{
		{"groups", func(p *kernels.ConvParams) { p.Groups = 3 }, "not divisible by 3 groups"},
		{"zero stride", func(p *kernels.ConvParams) { p.StrideH = 0 }, "stride"},
		{"zero dilation", func(p *kernels.ConvParams) { p.DilW = 0 }, "dilation"},
		{"negative pad", func(p *kernels.ConvParams) { p.PadLeft = -1 }, "padding"},
		{"zero channels", func(p *kernels.ConvParams) { p.C = 0 }, "input"},
		{"OutH too small", func(p *kernels.ConvParams) { p.OutH = 5 }, "OutH 5 leaves 2 input rows unread"},
		{"OutW too small", func(p *kernels.ConvParams) { p.OutW = 6 }, "OutW 6 leaves 1 input columns unread"},
		{"zero kernel", func(p *kernels.ConvParams) { p.KH = 0 }, "kernel"},
	} {
		p := ok
		c.mutate(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	p := ok
	w := make([]float32, 3*3*2*6)
	expectPanic(t, []string{"kernels.Conv2d", "x has 10 elements, needs 512"}, func() {
		kernels.Conv2d(&p, make([]float32, 10), w, make([]float32, 2*8*8*6))
	})
	expectPanic(t, []string{"kernels.Conv2dBackwardWeight", "dw has 3 elements, needs 108"}, func() {
		kernels.Conv2dBackwardWeight(&p, make([]float32, 512), make([]float32, 2*8*8*6), make([]float32, 3))
	})
	p.Groups = 5
	expectPanic(t, []string{"kernels.Conv2dBackwardInput", "groups"}, func() {
		kernels.Conv2dBackwardInput(&p, nil, nil, nil)
	})
}
