package nn

// ReLU returns max(x, 0).
func ReLU(x *Var) *Var {
	y := newPooled(x.Value.shape...)
	xd, yd := x.Value.data, y.data
	forChunks(len(yd), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			yd[i] = max(xd[i], 0)
		}
	})
	out := result(y, "ReLU", x)
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.data, x.gradData()
			forChunks(len(g), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					if xd[i] > 0 {
						gx[i] += g[i]
					}
				}
			})
		}
	}
	return out
}
