package nn

import (
	"fmt"
	"slices"
	"sync/atomic"
)

// Var is a node of the autograd graph: a value, its gradient, and — for
// values computed by ops while gradients are recorded — the parents and the
// backward function that propagates the gradient to them.
//
// Leaves are Vars made by NewVar (constants) or Param (trainable). Every op
// returns a new Var; it records its parents only when gradients are enabled
// and at least one input requires a gradient.
type Var struct {
	// Value is the forward value.
	Value *Tensor
	// Grad is the accumulated gradient of the loss with respect to Value,
	// nil until Backward reaches this Var. Gradients of leaves accumulate
	// across Backward calls until ZeroGrad; gradients of intermediate Vars
	// are freed as soon as they have been propagated.
	Grad *Tensor

	requiresGrad bool
	// recorded marks an op output made while gradients were enabled: it
	// holds its parents and Release may recycle its buffers.
	recorded bool
	op       string
	parents  []*Var
	backward func()
}

// NewVar wraps t as a constant leaf that does not require a gradient.
func NewVar(t *Tensor) *Var { return &Var{Value: t} }

// Param wraps t as a trainable leaf that requires a gradient.
func Param(t *Tensor) *Var { return &Var{Value: t, requiresGrad: true} }

// RequiresGrad reports whether gradients flow to v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad switches gradient tracking on or off for a leaf (to freeze
// or unfreeze a parameter). It panics on a Var computed by an op.
func (v *Var) SetRequiresGrad(on bool) {
	if !v.IsLeaf() {
		panic(fmt.Sprintf("nn.Var.SetRequiresGrad: %s output is not a leaf; use Detach", v.op))
	}
	v.requiresGrad = on
}

// IsLeaf reports whether v was not produced by a recorded op.
func (v *Var) IsLeaf() bool { return v.backward == nil }

// Op names the op that produced v ("" for leaves).
func (v *Var) Op() string { return v.op }

// Shape returns v.Value's shape.
func (v *Var) Shape() []int { return v.Value.shape }

// Detach returns a leaf sharing v's value that does not require a gradient.
func (v *Var) Detach() *Var { return &Var{Value: v.Value} }

// ZeroGrad zeroes v's gradient if it has one.
func (v *Var) ZeroGrad() {
	if v.Grad != nil {
		v.Grad.Zero()
	}
}

// String describes v.
func (v *Var) String() string {
	op := v.op
	if op == "" {
		op = "leaf"
	}
	return fmt.Sprintf("Var(%s, grad=%t) %v", op, v.requiresGrad, v.Value)
}

// gradData returns v's gradient buffer, allocating a zeroed one first if
// needed. Leaves get ordinary memory (it outlives the step); intermediate
// Vars get pooled memory, freed after their backward has run.
func (v *Var) gradData() []float32 {
	if v.Grad == nil {
		if v.IsLeaf() {
			v.Grad = New(v.Value.shape...)
		} else {
			v.Grad = newPooledZero(v.Value.shape...)
		}
	}
	return v.Grad.data
}

// gradOut is gradData for an op that can write its contribution instead
// of adding it: it returns v's gradient buffer and whether the buffer is
// fresh, just taken from the pool with unspecified contents, in which case
// the op must write every element (what adding to zeros would give) rather
// than add. Leaves still get zeroed memory. Writing saves clearing the
// buffer and reading it back: for an EfficientNet training step, whose
// activation gradients are most of what it writes, a tenth of its time.
func (v *Var) gradOut() (g []float32, fresh bool) {
	if !v.gradFree() {
		return v.gradData(), false
	}
	v.Grad = newPooled(v.Value.shape...)
	return v.Grad.data, true
}

// gradFree reports whether v has no gradient yet and may take a buffer as
// its gradient (gradOut's fresh one, or one handed over): v is not a leaf,
// whose gradient is the caller's to keep.
func (v *Var) gradFree() bool { return v.Grad == nil && !v.IsLeaf() }

// AccumulateGrad adds g (same number of elements as v) to v's gradient. It
// is the hook for code outside this package that defines its own op with
// Custom.
func (v *Var) AccumulateGrad(g []float32) {
	if len(g) != v.Value.Len() {
		panic(fmt.Sprintf("nn.Var.AccumulateGrad: gradient of %d values for shape %v", len(g), v.Value.shape))
	}
	dst, fresh := v.gradOut()
	forChunks(len(g), func(lo, hi int) {
		if fresh {
			copy(dst[lo:hi], g[lo:hi])
			return
		}
		for i, x := range g[lo:hi] {
			dst[lo+i] += x
		}
	})
}

// AccumulateGradTensor is AccumulateGrad for a gradient that the caller
// hands over: where v has no gradient yet and is not a leaf, g becomes it
// without a copy; otherwise g is added and recycled. g must have v's shape
// and must not be used afterwards. A Custom op whose gradient is computed
// into a tensor of its own (from Empty) saves a copy of it this way.
func (v *Var) AccumulateGradTensor(g *Tensor) {
	if !slices.Equal(g.shape, v.Value.shape) {
		panic(fmt.Sprintf("nn.Var.AccumulateGradTensor: gradient of shape %v for shape %v", g.shape, v.Value.shape))
	}
	if v.gradFree() {
		v.Grad = g
		return
	}
	v.AccumulateGrad(g.data)
	Recycle(g)
}

var noGradDepth atomic.Int32

// GradEnabled reports whether ops record the graph for Backward.
func GradEnabled() bool { return noGradDepth.Load() == 0 }

// NoGrad runs fn with gradient recording switched off: ops inside compute
// values only, which is what inference wants.
//
// The switch is process-wide (Go has no goroutine-local state): do not
// build a training graph in one goroutine while another runs NoGrad, or the
// training graph silently loses the ops recorded meanwhile. To run
// inference concurrently with training, use a model whose parameters do not
// require gradients (a frozen copy, see layers.Freeze): its ops record
// nothing whatever the switch says.
func NoGrad(fn func()) {
	noGradDepth.Add(1)
	defer noGradDepth.Add(-1)
	fn()
}

// result wraps an op's output value. While gradients are enabled the Var
// records its parents (so Release can recycle the graph) and requires a
// gradient if any parent does; the op must then set its backward function.
// The switch is read once, here.
func result(value *Tensor, op string, parents ...*Var) *Var {
	out := &Var{Value: value, op: op}
	if !GradEnabled() {
		return out
	}
	out.recorded = true
	out.parents = parents
	for _, p := range parents {
		if p != nil && p.requiresGrad {
			out.requiresGrad = true
			break
		}
	}
	return out
}

// Custom records an op defined outside this package: value was computed
// from inputs, and backward (called with the output's gradient, same shape
// as value) must add each input's gradient with AccumulateGrad, skipping
// inputs whose RequiresGrad is false. If no gradient is recorded, backward
// is never called.
func Custom(op string, value *Tensor, backward func(grad *Tensor), inputs ...*Var) *Var {
	out := result(value, op, append([]*Var(nil), inputs...)...)
	if out.requiresGrad {
		out.backward = func() { backward(out.Grad) }
	}
	return out
}

// topo returns the Vars that require gradients reachable from v, in an order
// where every Var comes after all of its parents.
func topo(v *Var) []*Var {
	var order []*Var
	seen := map[*Var]bool{v: true}
	type frame struct {
		v *Var
		i int
	}
	stack := []frame{{v, 0}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.i < len(f.v.parents) {
			p := f.v.parents[f.i]
			f.i++
			if p != nil && p.requiresGrad && !seen[p] {
				seen[p] = true
				stack = append(stack, frame{p, 0})
			}
			continue
		}
		order = append(order, f.v)
		stack = stack[:len(stack)-1]
	}
	return order
}

// Backward computes the gradient of v, which must hold a single value, with
// respect to every Var in its graph that requires a gradient, and adds it to
// their Grad. Intermediate gradients are freed as they are consumed; values
// stay until Release.
func (v *Var) Backward() {
	if v.Value.released() {
		panic(fmt.Sprintf("nn.Var.Backward: %s output was released (Release recycles the whole graph; call Backward first)", v.op))
	}
	if v.Value.Len() != 1 {
		panic(fmt.Sprintf("nn.Var.Backward: %s output has shape %v; Backward needs a single value (reduce it with Sum or Mean first)", v.op, v.Value.shape))
	}
	if !v.requiresGrad {
		panic("nn.Var.Backward: nothing in this graph requires a gradient (no trainable parameter reached, or it was computed under NoGrad)")
	}
	order := topo(v)
	v.gradData()[0] += 1
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if n.backward == nil || n.Grad == nil {
			continue
		}
		n.backward()
		Recycle(n.Grad)
		n.Grad = nil
	}
}

// Release returns the buffers of every value in v's recorded graph — v and
// every op output it was computed from while gradients were enabled — to
// the buffer pool, so the next training step reuses them instead of growing
// the heap. Call it once the step is done (after the optimizer step); copy
// out anything you still need first. The released tensors (and Reshape
// views of them) are emptied, so a stray use fails loudly instead of
// reading recycled memory.
//
// Leaves — parameters, inputs — and values computed under NoGrad are never
// touched: Release does nothing for an output made under NoGrad (give its
// tensor to Recycle yourself if you want the memory back).
func (v *Var) Release() {
	if v == nil || !v.recorded {
		return
	}
	seen := map[*Var]bool{v: true}
	stack := []*Var{v}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range n.parents {
			if p != nil && p.recorded && !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
		n.Value.release()
		Recycle(n.Grad)
		n.Grad = nil
		n.parents = nil
		n.backward = nil
	}
}
