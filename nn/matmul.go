package nn

import (
	"fmt"

	"github.com/sortnet/sortnet/nn/kernels"
)

// MatMul returns a·b for a [M, K] and b [K, N]: out [M, N].
func MatMul(a, b *Var) *Var {
	as, bs := a.Value.shape, b.Value.shape
	if len(as) != 2 || len(bs) != 2 || as[1] != bs[0] {
		panic(fmt.Sprintf("nn.MatMul: a %v, b %v: need [M K] and [K N]", as, bs))
	}
	m, k, n := as[0], as[1], bs[1]
	y := newPooled(m, n)
	kernels.Sgemm(false, false, m, n, k, 1, a.Value.data, k, b.Value.data, n, 0, y.data, n)
	out := result(y, "MatMul", a, b)
	if out.requiresGrad {
		out.backward = func() {
			g := out.Grad.data
			if a.requiresGrad { // da[M,K] += g[M,N]·bᵀ
				kernels.Sgemm(false, true, m, k, n, 1, g, n, b.Value.data, n, 1, a.gradData(), k)
			}
			if b.requiresGrad { // db[K,N] += aᵀ·g
				kernels.Sgemm(true, false, k, n, m, 1, a.Value.data, k, g, n, 1, b.gradData(), n)
			}
		}
	}
	return out
}
