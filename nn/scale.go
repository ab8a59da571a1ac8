package nn

import "github.com/sortnet/sortnet/nn/kernels"

// channelScale is Mul for the squeeze-excite pattern, x [N, H, W, C] times
// s [N, 1, 1, C] in either order, on kernels.ChannelScale: SIMD, and
// parallel in the gradient of s (which the general broadcast loops sum on
// one thread). It gives the general loops' results bit for bit: the same
// products, and the gradient of s summed over pixels in the same order. It
// returns nil for other shapes.
func channelScale(a, b *Var) *Var {
	x, s := a, b
	if !seShapes(x.Value.shape, s.Value.shape) {
		x, s = b, a
		if !seShapes(x.Value.shape, s.Value.shape) {
			return nil
		}
	}
	xs := x.Value.shape
	n, hw, c := xs[0], xs[1]*xs[2], xs[3]
	y := newPooled(xs...)
	kernels.ChannelScale(n, hw, c, x.Value.data, s.Value.data, y.data)
	out := result(y, "Mul", a, b)
	if out.requiresGrad {
		out.backward = func() {
			var dx, ds []float32
			if x.requiresGrad {
				var fresh bool
				if dx, fresh = x.gradOut(); fresh {
					// dx = dy·s, the products ChannelScaleBackward adds.
					kernels.ChannelScale(n, hw, c, out.Grad.data, s.Value.data, dx)
					dx = nil
				}
			}
			if s.requiresGrad {
				ds = s.gradData()
			}
			kernels.ChannelScaleBackward(n, hw, c, x.Value.data, s.Value.data, out.Grad.data, dx, ds)
		}
	}
	return out
}

// seShapes reports whether x is [N, H, W, C] and s is [N, 1, 1, C] with
// H·W > 1 and C > 0.
func seShapes(x, s []int) bool {
	return len(x) == 4 && len(s) == 4 && s[0] == x[0] && s[1] == 1 && s[2] == 1 && s[3] == x[3] &&
		x[1]*x[2] > 1 && x[3] > 0
}
