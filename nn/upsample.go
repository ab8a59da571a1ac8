package nn

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/internal/parallel"
)

// UpsampleNearest repeats every pixel of x [N, H, W, C] factor times along
// H and W: out [N, H·f, W·f, C] with out[n, i, j, c] = x[n, i/f, j/f, c]
// (PyTorch's interpolate(mode="nearest", scale_factor=f) for an integer f).
// The backward pass sums the gradient over each f×f block. Output rows
// (forward) and input rows (backward) are spread over the pool; each
// gradient element is summed by one thread in a fixed order.
func UpsampleNearest(x *Var, factor int) *Var {
	s := x.Value.shape
	if len(s) != 4 {
		panic(fmt.Sprintf("nn.UpsampleNearest: input %v, need [N H W C]", s))
	}
	if factor < 1 {
		panic(fmt.Sprintf("nn.UpsampleNearest: input %v: factor %d, need >= 1", s, factor))
	}
	n, h, w, c := s[0], s[1], s[2], s[3]
	f := factor
	oh, ow := h*f, w*f
	y := newPooled(n, oh, ow, c)
	xd, yd := x.Value.data, y.data
	orow, irow := ow*c, w*c // elements per output and input row
	parallel.For(n*oh, parallel.Grain(n*oh, max(1, minChunk/max(1, orow))), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, i := r/oh, r%oh
			src := xd[(b*h+i/f)*irow : (b*h+i/f+1)*irow]
			dst := yd[r*orow : (r+1)*orow]
			for j := 0; j < w; j++ {
				px := src[j*c : (j+1)*c]
				for k := 0; k < f; k++ {
					copy(dst[(j*f+k)*c:(j*f+k+1)*c], px)
				}
			}
		}
	})
	out := result(y, "UpsampleNearest", x)
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.data, x.gradData()
			parallel.For(n*h, parallel.Grain(n*h, max(1, minChunk/max(1, f*orow))), func(lo, hi int) {
				for r := lo; r < hi; r++ { // r = b*h + i, an input row
					dst := gx[r*irow : (r+1)*irow]
					for di := 0; di < f; di++ {
						src := g[(r*f+di)*orow : (r*f+di+1)*orow]
						for j := 0; j < w; j++ {
							d := dst[j*c : (j+1)*c]
							for k := 0; k < f; k++ {
								sp := src[(j*f+k)*c : (j*f+k+1)*c]
								for ch, v := range sp {
									d[ch] += v
								}
							}
						}
					}
				}
			})
		}
	}
	return out
}
