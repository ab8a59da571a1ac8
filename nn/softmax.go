package nn

import (
	"fmt"
	"math"
)

// Softmax and LogSoftmax over the last axis. Shape legend: x, out [..., K];
// every row of K values is independent. Rows are spread over the worker
// pool and each row is computed sequentially (max, then a float64 sum of
// exp(x - max)), so the result does not depend on the thread count. Taking
// the row maximum out first keeps exp from overflowing for any finite
// logits.

// Softmax returns exp(x - max) / Σ exp(x - max) over the last axis of x.
func Softmax(x *Var) *Var { return softmax("Softmax", x, false) }

// LogSoftmax returns x - max - log Σ exp(x - max) over the last axis of x,
// the logarithm of Softmax computed without forming it.
func LogSoftmax(x *Var) *Var { return softmax("LogSoftmax", x, true) }

func softmax(name string, x *Var, logOut bool) *Var {
	shape := x.Value.shape
	if len(shape) == 0 || shape[len(shape)-1] == 0 {
		panic(fmt.Sprintf("nn.%s: input %v has no last axis to normalise over", name, shape))
	}
	k := shape[len(shape)-1]
	rows := x.Value.Len() / k
	y := newPooled(shape...)
	xd, yd := x.Value.data, y.data
	forEachRow(rows, k, func(r int) {
		softmaxRow(yd[r*k:(r+1)*k], xd[r*k:(r+1)*k], logOut)
	})
	out := result(y, name, x)
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.data, x.gradData()
			forEachRow(rows, k, func(r int) {
				lo, hi := r*k, (r+1)*k
				if logOut {
					logSoftmaxRowBackward(gx[lo:hi], yd[lo:hi], g[lo:hi])
				} else {
					softmaxRowBackward(gx[lo:hi], yd[lo:hi], g[lo:hi])
				}
			})
		}
	}
	return out
}

// softmaxRow writes softmax(x) (or log-softmax) into y.
func softmaxRow(y, x []float32, logOut bool) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v - m))
	}
	if logOut {
		ls := math.Log(s)
		for i, v := range x {
			y[i] = float32(float64(v-m) - ls)
		}
		return
	}
	inv := 1 / s
	for i, v := range x {
		y[i] = float32(math.Exp(float64(v-m)) * inv)
	}
}

// softmaxRowBackward adds y·(g - Σ g·y) to dx: the Jacobian of softmax,
// diag(y) - y·yᵀ, applied to g.
func softmaxRowBackward(dx, y, g []float32) {
	var dot float64
	for i, v := range y {
		dot += float64(g[i]) * float64(v)
	}
	d := float32(dot)
	for i, v := range y {
		dx[i] += v * (g[i] - d)
	}
}

// logSoftmaxRowBackward adds g - exp(y)·Σ g to dx.
func logSoftmaxRowBackward(dx, y, g []float32) {
	var sum float64
	for _, v := range g {
		sum += float64(v)
	}
	for i, v := range y {
		dx[i] += g[i] - float32(math.Exp(float64(v))*sum)
	}
}
