package nn

// Reshape returns x with a new shape and the same data (no copy). One
// dimension may be -1 and is inferred.
func Reshape(x *Var, shape ...int) *Var {
	y := &Tensor{shape: resolveShape("nn.Reshape", x.Value.shape, x.Value.Len(), shape), data: x.Value.data}
	out := result(y, "Reshape", x)
	if out.requiresGrad {
		out.backward = func() {
			gx, g := x.gradData(), out.Grad.data
			forChunks(len(g), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gx[i] += g[i]
				}
			})
		}
	}
	return out
}

// Flatten reshapes x to [x.Dim(0), rest], keeping the batch axis.
func Flatten(x *Var) *Var {
	if x.Value.Rank() == 0 {
		return Reshape(x, 1, 1)
	}
	return Reshape(x, x.Value.shape[0], -1)
}
