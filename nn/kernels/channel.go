package kernels

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

//go:generate sh -c "cd _gen && go run ./channel -out ../channel_amd64.s -stubs ../channel_stubs_amd64.go -pkg kernels"

// Per-channel kernels on [rows, c] matrices whose rows lie stride elements
// apart (an NHWC activation, pixels as rows): the inner loops of the batch
// norm (batchnorm.go), global average pooling (pool.go) and channel
// scaling (ChannelScale). Their drivers split rows into fixed blocks and
// spread blocks over threads; these loops run one block.
//
// Every implementation runs the float32 and float64 operations of the
// generic loops (channel_generic.go) in the same order, rounding after each
// (no FMA), so results are bit-identical across implementations; a
// reduction sums each channel over the rows in row order.

// chanKernels is one implementation's set of per-channel loops; the
// generic versions in channel_generic.go document each.
type chanKernels struct {
	moments func(x []float32, rows, stride, c int, shift []float32, s1, s2 []float64)
	dySums  func(dy, x []float32, rows, stride, c int, mean []float32, s1, s2 []float64)
	sum     func(out, x []float32, rows, stride, c int)
	dot     func(out, a, b []float32, rows, stride, c int)
	mul     func(y, x []float32, rows, stride, c int, s []float32)
	mulAdd  func(dx, dy []float32, rows, stride, c int, s []float32)
	add     func(dx []float32, rows, stride, c int, t []float32)
	bnGrad  func(dx, dy, x []float32, rows, stride, c int, mean, a, b, d []float32)
	// bnGradSet is bnGrad writing dx instead of adding to it.
	bnGradSet func(dx, dy, x []float32, rows, stride, c int, mean, a, b, d []float32)
	// bnApply is the batch-norm affine map with an optional SiLU, whose
	// input it saves in z if z is not nil (bnApplyRowsGeneric).
	bnApply func(y, z, x []float32, rows, c int, scale, shift []float32, silu bool)
}

var chanGeneric = &chanKernels{
	moments:   chanMomentsGeneric,
	dySums:    chanDySumsGeneric,
	sum:       chanSumGeneric,
	dot:       chanDotGeneric,
	mul:       chanMulGeneric,
	mulAdd:    chanMulAddGeneric,
	add:       chanAddGeneric,
	bnGrad:    chanBNGradGeneric,
	bnGradSet: chanBNGradSetGeneric,
	bnApply:   bnApplyRowsGeneric,
}

// chanK is the selected implementation's set.
var chanK = chanGeneric

var _ = onImpl(Generic, func() { chanK = chanGeneric })

func checkScale(op string, n, hw, c int, big []float32, bn string, s []float32, sn string) {
	if n < 0 || hw < 1 || c < 1 {
		panic(fmt.Sprintf("kernels.%s: n %d, hw %d, c %d: sizes must be positive (n may be 0)", op, n, hw, c))
	}
	if len(big) < n*hw*c {
		panic(fmt.Sprintf("kernels.%s: %s has %d elements, needs %d (n %d, hw %d, c %d)", op, bn, len(big), n*hw*c, n, hw, c))
	}
	if len(s) < n*c {
		panic(fmt.Sprintf("kernels.%s: %s has %d elements, needs %d (n %d, c %d)", op, sn, len(s), n*c, n, c))
	}
}

// ChannelScale sets y[i, p, j] = x[i, p, j]·s[i, j] for images i < n, pixels
// p < hw and channels j < c: the channel scaling of a squeeze-excite block
// (x, y are [n, hw, c], s is [n, c]). y may alias x.
func ChannelScale(n, hw, c int, x, s, y []float32) {
	checkScale("ChannelScale", n, hw, c, x, "x", s, "s")
	checkScale("ChannelScale", n, hw, c, y, "y", s, "s")
	units := n * hw
	chanMulTasks.For(units, parallel.Grain(units, max(1, (1<<14)/c)),
		chanPixelArgs{k: chanK, hw: hw, c: c, dst: y, src: x, s: s})
}

// ChannelScaleBackward accumulates the gradients of ChannelScale for the
// upstream gradient dy: dx[i, p, j] += dy[i, p, j]·s[i, j] (skipped if dx is
// nil) and ds[i, j] += Σ_p dy[i, p, j]·x[i, p, j] (skipped if ds is nil),
// each product rounded and added to the running float32 sum in pixel order
// (the order of nn.Mul's broadcast gradient).
func ChannelScaleBackward(n, hw, c int, x, s, dy, dx, ds []float32) {
	checkScale("ChannelScaleBackward", n, hw, c, dy, "dy", s, "s")
	if dx != nil {
		checkScale("ChannelScaleBackward", n, hw, c, dx, "dx", s, "s")
		units := n * hw
		chanMulAddTasks.For(units, parallel.Grain(units, max(1, (1<<14)/c)),
			chanPixelArgs{k: chanK, hw: hw, c: c, dst: dx, src: dy, s: s})
	}
	if ds != nil {
		checkScale("ChannelScaleBackward", n, hw, c, x, "x", ds, "ds")
		// Each (image, channel block) owns its ds entries.
		cb := convCeilDiv(c, globalBlock)
		units := n * cb
		chanDotTasks.For(units, poolGrain(units, hw*globalBlock),
			chanBlockArgs{k: chanK, hw: hw, c: c, cb: cb, out: ds, a: dy, b: x})
	}
}

// chanPixelArgs is a map over the pixels [lo, hi) (flat over n images of
// hw pixels) of [n, hw, c] images: dst from src and the row of s, [n, c],
// of each pixel's image.
type chanPixelArgs struct {
	k        *chanKernels
	hw, c    int
	dst, src []float32
	s        []float32
}

// images calls f(u, e, i) for each part [u, e) of the pixels [lo, hi)
// that lies in one image, i.
func (a *chanPixelArgs) images(lo, hi int, f func(u, e, i int)) {
	for u := lo; u < hi; {
		i := u / a.hw
		e := min(hi, (i+1)*a.hw) // the rest of image i in this chunk
		f(u, e, i)
		u = e
	}
}

// mul sets dst = src·s (ChannelScale).
func (a *chanPixelArgs) mul(lo, hi int) {
	c := a.c
	a.images(lo, hi, func(u, e, i int) { a.k.mul(a.dst[u*c:e*c], a.src[u*c:e*c], e-u, c, c, a.s[i*c:(i+1)*c]) })
}

// mulAdd adds src·s to dst (ChannelScaleBackward's dx).
func (a *chanPixelArgs) mulAdd(lo, hi int) {
	c := a.c
	a.images(lo, hi, func(u, e, i int) { a.k.mulAdd(a.dst[u*c:e*c], a.src[u*c:e*c], e-u, c, c, a.s[i*c:(i+1)*c]) })
}

// add adds s to dst (GlobalAvgPoolBackward; src is unused).
func (a *chanPixelArgs) add(lo, hi int) {
	c := a.c
	a.images(lo, hi, func(u, e, i int) { a.k.add(a.dst[u*c:e*c], e-u, c, c, a.s[i*c:(i+1)*c]) })
}

// chanBlockArgs is a reduction over the pixels of [n, hw, c] images into
// out, [n, c], split into units (image i, block b of globalBlock channels)
// each owning its out entries.
type chanBlockArgs struct {
	k         *chanKernels
	hw, c, cb int // cb: channel blocks per image
	out, a, b []float32
	scale     float32
}

// block returns unit u's image and channels [c0, c1).
func (a *chanBlockArgs) block(u int) (i, c0, c1 int) {
	i, b := u/a.cb, u%a.cb
	return i, b * globalBlock, min((b+1)*globalBlock, a.c)
}

// dot adds Σ_p a·b to out (ChannelScaleBackward's ds).
func (a *chanBlockArgs) dot(lo, hi int) {
	hw, c := a.hw, a.c
	for u := lo; u < hi; u++ {
		i, c0, c1 := a.block(u)
		a.k.dot(a.out[i*c+c0:i*c+c1], a.a[i*hw*c+c0:(i+1)*hw*c], a.b[i*hw*c+c0:(i+1)*hw*c], hw, c, c1-c0)
	}
}

// mean sets out to Σ_p a times scale (GlobalAvgPool).
func (a *chanBlockArgs) mean(lo, hi int) {
	hw, c := a.hw, a.c
	for u := lo; u < hi; u++ {
		i, c0, c1 := a.block(u)
		acc := a.out[i*c+c0 : i*c+c1]
		a.k.sum(acc, a.a[i*hw*c+c0:(i+1)*hw*c], hw, c, c1-c0)
		for j := range acc {
			acc[j] *= a.scale
		}
	}
}

var (
	chanMulTasks    = parallel.NewTasks((*chanPixelArgs).mul)
	chanMulAddTasks = parallel.NewTasks((*chanPixelArgs).mulAdd)
	chanAddTasks    = parallel.NewTasks((*chanPixelArgs).add)
	chanDotTasks    = parallel.NewTasks((*chanBlockArgs).dot)
	chanMeanTasks   = parallel.NewTasks((*chanBlockArgs).mean)
)
