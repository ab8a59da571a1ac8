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
	// bnApply is the batch-norm affine map with an optional SiLU
	// (bnApplyRowsGeneric).
	bnApply func(y, x []float32, rows, c int, scale, shift []float32, silu bool)
}

var chanGeneric = &chanKernels{
	moments: chanMomentsGeneric,
	dySums:  chanDySumsGeneric,
	sum:     chanSumGeneric,
	dot:     chanDotGeneric,
	mul:     chanMulGeneric,
	mulAdd:  chanMulAddGeneric,
	add:     chanAddGeneric,
	bnGrad:  chanBNGradGeneric,
	bnApply: bnApplyRowsGeneric,
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
	k := chanK
	units := n * hw
	parallel.For(units, parallel.Grain(units, max(1, (1<<14)/c)), func(lo, hi int) {
		for u := lo; u < hi; {
			i := u / hw
			e := min(hi, (i+1)*hw)
			k.mul(y[u*c:e*c], x[u*c:e*c], e-u, c, c, s[i*c:(i+1)*c])
			u = e
		}
	})
}

// ChannelScaleBackward accumulates the gradients of ChannelScale for the
// upstream gradient dy: dx[i, p, j] += dy[i, p, j]·s[i, j] (skipped if dx is
// nil) and ds[i, j] += Σ_p dy[i, p, j]·x[i, p, j] (skipped if ds is nil),
// each product rounded and added to the running float32 sum in pixel order
// (the order of nn.Mul's broadcast gradient).
func ChannelScaleBackward(n, hw, c int, x, s, dy, dx, ds []float32) {
	checkScale("ChannelScaleBackward", n, hw, c, dy, "dy", s, "s")
	k := chanK
	if dx != nil {
		checkScale("ChannelScaleBackward", n, hw, c, dx, "dx", s, "s")
		units := n * hw
		parallel.For(units, parallel.Grain(units, max(1, (1<<14)/c)), func(lo, hi int) {
			for u := lo; u < hi; {
				i := u / hw
				e := min(hi, (i+1)*hw)
				k.mulAdd(dx[u*c:e*c], dy[u*c:e*c], e-u, c, c, s[i*c:(i+1)*c])
				u = e
			}
		})
	}
	if ds != nil {
		checkScale("ChannelScaleBackward", n, hw, c, x, "x", ds, "ds")
		// Each (image, channel block) owns its ds entries.
		cb := convCeilDiv(c, globalBlock)
		units := n * cb
		parallel.For(units, poolGrain(units, hw*globalBlock), func(lo, hi int) {
			for u := lo; u < hi; u++ {
				i, b := u/cb, u%cb
				c0, c1 := b*globalBlock, min((b+1)*globalBlock, c)
				k.dot(ds[i*c+c0:i*c+c1], dy[i*hw*c+c0:(i+1)*hw*c], x[i*hw*c+c0:(i+1)*hw*c], hw, c, c1-c0)
			}
		})
	}
}
