package nn_test

import (
	"math"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/nn/nntest"
)

// TestMulSqueezeExciteMatchesBroadcast: Mul of [N, H, W, C] by [N, 1, 1, C]
// (the channel-scale kernel) gives the bits of the general broadcast loops
// (reached here through rank-3 shapes), forward and both gradients, in
// both operand orders.
func TestMulSqueezeExciteMatchesBroadcast(t *testing.T) {
	for _, sh := range [][4]int{{2, 3, 4, 5}, {1, 7, 7, 144}, {3, 1, 9, 17}, {2, 2, 2, 1}} {
		n, h, w, c := sh[0], sh[1], sh[2], sh[3]
		r := rng(uint64(n*1000 + c))
		xt := nntest.Rand(r, -3, 3, n, h, w, c)
		st := nntest.Rand(r, -2, 2, n, 1, 1, c)
		gt := nntest.Rand(r, -1, 1, n, h, w, c)
		for _, swap := range []bool{false, true} {
			run := func(rank3 bool) (y, dx, ds []float32) {
				x, s := nn.Param(xt.Clone()), nn.Param(st.Clone())
				xa, sa := x, s
				if rank3 {
					xa, sa = nn.Reshape(x, n, h*w, c), nn.Reshape(s, n, 1, c)
				}
				var out *nn.Var
				if swap {
					out = nn.Mul(sa, xa)
				} else {
					out = nn.Mul(xa, sa)
				}
				nn.Sum(nn.Mul(out, nn.NewVar(nn.Reshape(nn.NewVar(gt), out.Value.Shape()...).Value))).Backward()
				return out.Value.Data(), x.Grad.Data(), s.Grad.Data()
			}
			y1, dx1, ds1 := run(false)
			y2, dx2, ds2 := run(true)
			for _, o := range []struct {
				name string
				a, b []float32
			}{{"y", y1, y2}, {"dx", dx1, dx2}, {"ds", ds1, ds2}} {
				for i := range o.a {
					if math.Float32bits(o.a[i]) != math.Float32bits(o.b[i]) {
						t.Fatalf("%v swap=%v: %s[%d] = %v, broadcast loops %v", sh, swap, o.name, i, o.a[i], o.b[i])
					}
				}
			}
		}
	}
}

func TestMulSqueezeExciteGrad(t *testing.T) {
	r := rng(21)
	x := nn.Param(nntest.Rand(r, -2, 2, 2, 3, 5, 9))
	s := nn.Param(nntest.Rand(r, -2, 2, 2, 1, 1, 9))
	nntest.CheckGrad(t, func() *nn.Var { return nn.Mul(x, s) }, []*nn.Var{x, s}, nntest.Options{})
	nntest.CheckGrad(t, func() *nn.Var { return nn.Mul(s, x) }, []*nn.Var{x, s}, nntest.Options{})
}
