package nn

// Reshape returns x with a new shape and the same data (no copy). One
// dimension may be -1 and is inferred.
func Reshape(x *Var, shape ...int) *Var {
	y := &Tensor{shape: resolveShape("nn.Reshape", x.Value.shape, x.Value.Len(), shape), data: x.Value.data, view: true}
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

// Flatten reshapes x to [x.Dim(0), rest], keeping the batch axis (which may
// be empty).
func Flatten(x *Var) *Var {
	if x.Value.Rank() == 0 {
		return Reshape(x, 1, 1)
	}
	rest := 1
	for _, d := range x.Value.shape[1:] {
		rest *= d
	}
	return Reshape(x, x.Value.shape[0], rest)
}
