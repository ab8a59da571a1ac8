package nn

import (
	"slices"

	"github.com/sortnet/sortnet/nn/kernels"
)

// Elementwise arithmetic with broadcasting. Shapes broadcast as in NumPy
// (right-aligned, 1 stretches), which covers the cases the models need:
// same shape, a scalar [1], a per-channel vector [C] against NHWC, and a
// per-sample-and-channel [N,1,1,C] (squeeze-excite) or per-sample
// [N,1,1,1] (drop-path) scale.
//
// Shape legend: a, b broadcast to out.

type binop int

const (
	opAdd binop = iota
	opSub
	opMul
	opDiv
)

var binopNames = [...]string{"Add", "Sub", "Mul", "Div"}

// Add returns a + b.
func Add(a, b *Var) *Var { return binary(opAdd, a, b) }

// Sub returns a - b.
func Sub(a, b *Var) *Var { return binary(opSub, a, b) }

// Mul returns a * b elementwise.
func Mul(a, b *Var) *Var { return binary(opMul, a, b) }

// Div returns a / b elementwise.
func Div(a, b *Var) *Var { return binary(opDiv, a, b) }

func binary(op binop, a, b *Var) *Var {
	if op == opMul {
		if out := channelScale(a, b); out != nil { // squeeze-excite (scale.go)
			return out
		}
	}
	name := binopNames[op]
	p := planBroadcast(name, a.Value.shape, b.Value.shape)
	y := newPooled(p.shape...)
	ad, bd, yd := a.Value.data, b.Value.data, y.data
	_, _, sa, sb := p.innerSteps()
	p.forEach(true, func(o, ao, bo, lo, hi int) {
		binaryRun(op, yd[o+lo:o+hi], ad[ao+lo*sa:], sa, bd[bo+lo*sb:], sb)
	})
	out := result(y, name, a, b)
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		g := out.Grad.data
		take := p.takesGrad(op, a, b, out)
		if a.requiresGrad && take != a {
			ga, fresh := p.operandGrad(a, p.sa, sa)
			p.accumulate(ga, p.sa, func(ga []float32, o, ao, bo, lo, hi int) {
				gr, da := g[o+lo:o+hi], ga[ao+lo*sa:]
				if fresh { // sa == 1: write what adding to zeros gives
					switch op {
					case opAdd, opSub:
						copy(da, gr)
					case opMul:
						binaryRun(opMul, da[:hi-lo], gr, 1, bd[bo+lo*sb:], sb)
					case opDiv:
						binaryRun(opDiv, da[:hi-lo], gr, 1, bd[bo+lo*sb:], sb)
					}
					return
				}
				switch op {
				case opAdd, opSub:
					accScaled(da, sa, gr, 1)
				case opMul:
					accMul(da, sa, gr, bd[bo+lo*sb:], sb)
				case opDiv:
					accDiv(da, sa, gr, bd[bo+lo*sb:], sb)
				}
			})
		}
		if b.requiresGrad && take != b {
			gb, fresh := p.operandGrad(b, p.sb, sb)
			p.accumulate(gb, p.sb, func(gb []float32, o, ao, bo, lo, hi int) {
				gr, db := g[o+lo:o+hi], gb[bo+lo*sb:]
				if fresh { // sb == 1
					switch op {
					case opAdd:
						copy(db, gr)
					case opSub:
						setNeg(db, gr)
					case opMul:
						binaryRun(opMul, db[:hi-lo], gr, 1, ad[ao+lo*sa:], sa)
					case opDiv:
						setDivB(db, gr, yd[o+lo:o+hi], bd[bo+lo*sb:])
					}
					return
				}
				switch op {
				case opAdd:
					accScaled(db, sb, gr, 1)
				case opSub:
					accScaled(db, sb, gr, -1)
				case opMul:
					accMul(db, sb, gr, ad[ao+lo*sa:], sa)
				case opDiv:
					// d(a/b)/db = -(a/b)/b
					accDivB(db, sb, gr, yd[o+lo:o+hi], bd[bo+lo*sb:], sb)
				}
			})
		}
		if take != nil { // its gradient is out's: hand the buffer over
			take.Grad, out.Grad = out.Grad, nil
		}
	}
	return out
}

// takesGrad returns the operand of a sum or difference whose gradient is
// the output's gradient itself and can take its buffer instead of a copy
// (Backward recycles out.Grad otherwise): an operand of the output's shape
// that is gradFree, a for Add and Sub, else b for Add; nil where neither
// can, where a and b are the same Var (it gets both contributions), or
// where out.Grad is not the graph's own (a tensor the caller set, which
// must not become an operand's gradient and be added to).
func (p *bplan) takesGrad(op binop, a, b, out *Var) *Var {
	if a == b || !out.Grad.pooled || (op != opAdd && op != opSub) {
		return nil
	}
	can := func(v *Var) bool {
		return v.requiresGrad && v.gradFree() && slices.Equal(v.Value.shape, p.shape)
	}
	switch {
	case can(a):
		return a
	case op == opAdd && can(b):
		return b
	}
	return nil
}

// operandGrad returns the gradient buffer of operand v (strides s,
// innermost step step) and whether it is fresh (see Var.gradOut): only an
// operand as large as the output whose pieces accumulate runs in parallel
// straight into the buffer (each output element adds to its own element,
// once, in the piece that computes it) may take a fresh buffer, which each
// piece then clears just before adding to it.
func (p *bplan) operandGrad(v *Var, s []int, step int) (g []float32, fresh bool) {
	if step != 1 || !p.disjoint(s) || !slices.Equal(v.Value.shape, p.shape) {
		return v.gradData(), false
	}
	return v.gradOut()
}

// innerSteps returns the innermost strides of out, a and b.
func (p *bplan) innerSteps() (so, inner, sa, sb int) {
	k := len(p.dims) - 1
	return p.so[k], p.dims[k], p.sa[k], p.sb[k]
}

// binaryRun computes y[i] = a[i*sa] op b[i*sb], with sa, sb in {0, 1}.
func binaryRun(op binop, y, a []float32, sa int, b []float32, sb int) {
	n := len(y)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		switch op {
		case opAdd:
			kernels.Add(y, a, b)
		case opSub:
			for i := range y {
				y[i] = a[i] - b[i]
			}
		case opMul:
			kernels.Mul(y, a, b)
		case opDiv:
			for i := range y {
				y[i] = a[i] / b[i]
			}
		}
	case sa == 1:
		a, c := a[:n], b[0]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = a[i] + c
			}
		case opSub:
			for i := range y {
				y[i] = a[i] - c
			}
		case opMul:
			for i := range y {
				y[i] = a[i] * c
			}
		case opDiv:
			for i := range y {
				y[i] = a[i] / c
			}
		}
	case sb == 1:
		c, b := a[0], b[:n]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = c + b[i]
			}
		case opSub:
			for i := range y {
				y[i] = c - b[i]
			}
		case opMul:
			for i := range y {
				y[i] = c * b[i]
			}
		case opDiv:
			for i := range y {
				y[i] = c / b[i]
			}
		}
	default:
		var v float32
		switch op {
		case opAdd:
			v = a[0] + b[0]
		case opSub:
			v = a[0] - b[0]
		case opMul:
			v = a[0] * b[0]
		case opDiv:
			v = a[0] / b[0]
		}
		for i := range y {
			y[i] = v
		}
	}
}

// The set functions write, for a fresh gradient buffer (Var.gradOut), what
// the acc functions below add to d with sd = 1: the same values as adding
// to zeros, up to the sign of zero. (Products and quotients with a
// broadcast operand are binaryRun's.)

// setNeg sets d[i] = -g[i].
func setNeg(d, g []float32) {
	d = d[:len(g)]
	for i, x := range g {
		d[i] = -x
	}
}

// setDivB sets d[i] = -(g[i]*y[i]/b[i]), the gradient of a/b with respect
// to b (y = a/b).
func setDivB(d, g, y, b []float32) {
	d, y, b = d[:len(g)], y[:len(g)], b[:len(g)]
	for i, x := range g {
		d[i] = -(x * y[i] / b[i])
	}
}

// accScaled adds s*g[i] to d[i*sd], sd in {0, 1}.
func accScaled(d []float32, sd int, g []float32, s float32) {
	if sd == 1 {
		d = d[:len(g)]
		for i, x := range g {
			d[i] += s * x
		}
		return
	}
	var acc float32
	for _, x := range g {
		acc += x
	}
	d[0] += s * acc
}

// accMul adds g[i]*y[i*sy] to d[i*sd].
func accMul(d []float32, sd int, g, y []float32, sy int) {
	switch {
	case sd == 1 && sy == 1:
		d, y = d[:len(g)], y[:len(g)]
		for i, x := range g {
			d[i] += x * y[i]
		}
	case sd == 1:
		c := y[0]
		d = d[:len(g)]
		for i, x := range g {
			d[i] += x * c
		}
	case sy == 1:
		y = y[:len(g)]
		var acc float32
		for i, x := range g {
			acc += x * y[i]
		}
		d[0] += acc
	default:
		var acc float32
		for _, x := range g {
			acc += x
		}
		d[0] += acc * y[0]
	}
}

// accDiv adds g[i]/b[i*sb] to d[i*sd].
func accDiv(d []float32, sd int, g, b []float32, sb int) {
	switch {
	case sd == 1 && sb == 1:
		d, b = d[:len(g)], b[:len(g)]
		for i, x := range g {
			d[i] += x / b[i]
		}
	case sd == 1:
		c := b[0]
		d = d[:len(g)]
		for i, x := range g {
			d[i] += x / c
		}
	case sb == 1:
		b = b[:len(g)]
		var acc float32
		for i, x := range g {
			acc += x / b[i]
		}
		d[0] += acc
	default:
		var acc float32
		for _, x := range g {
			acc += x
		}
		d[0] += acc / b[0]
	}
}

// accDivB subtracts g[i]*y[i]/b[i*sb] from d[i*sd], the gradient of y = a/b
// with respect to b.
func accDivB(d []float32, sd int, g, y, b []float32, sb int) {
	y = y[:len(g)]
	if sd == 1 {
		d = d[:len(g)]
		for i, x := range g {
			d[i] -= x * y[i] / b[i*sb]
		}
		return
	}
	var acc float32
	for i, x := range g {
		acc += x * y[i] / b[i*sb]
	}
	d[0] -= acc
}

// AddScalar returns x + c.
func AddScalar(x *Var, c float32) *Var {
	return affine("AddScalar", x, 1, c)
}

// MulScalar returns c * x.
func MulScalar(x *Var, c float32) *Var {
	return affine("MulScalar", x, c, 0)
}

// Neg returns -x.
func Neg(x *Var) *Var { return affine("Neg", x, -1, 0) }

// affine returns s*x + c.
func affine(name string, x *Var, s, c float32) *Var {
	y := newPooled(x.Value.shape...)
	xd, yd := x.Value.data, y.data
	forChunks(len(yd), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			yd[i] = s*xd[i] + c
		}
	})
	out := result(y, name, x)
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.data, x.gradData()
			forChunks(len(g), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gx[i] += s * g[i]
				}
			})
		}
	}
	return out
}
