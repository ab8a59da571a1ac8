package layers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sortnet/sortnet/nn"
)

// Module is anything that owns parameters, buffers or child modules: a
// layer, a block or a whole model. Members lists them under their local
// names, always in the same order; Params, Buffers and StateDict walk the
// tree and join the names with dots (timm's "blocks.1.0.conv_dw.weight").
type Module interface {
	Members() Members
}

// Layer is a Module with a single input and a single output.
type Layer interface {
	Module
	Forward(x *nn.Var) *nn.Var
}

// Members is what a Module owns directly.
type Members struct {
	Params   []Param  // trainable parameters
	Buffers  []Buffer // persistent state that is not trained (BN running statistics)
	Children []Child  // sub-modules
}

// Param is a trainable parameter under its (local or dotted) name.
type Param struct {
	Name string
	Var  *nn.Var
}

// Buffer is a persistent, non-trainable tensor under its name.
type Buffer struct {
	Name   string
	Tensor *nn.Tensor
}

// Child is a sub-module under its local name.
type Child struct {
	Name   string
	Module Module
}

// TrainingSwitch is implemented by modules whose forward pass differs
// between training and evaluation (batch norm, dropout, drop-path).
type TrainingSwitch interface {
	SetTraining(on bool)
}

// Walk calls fn for m and every module below it, depth first, with each
// module's dotted path ("" for m itself).
func Walk(m Module, fn func(path string, m Module)) {
	walk("", m, fn)
}

func walk(path string, m Module, fn func(string, Module)) {
	fn(path, m)
	for _, c := range m.Members().Children {
		if c.Module == nil {
			continue
		}
		walk(join(path, c.Name), c.Module, fn)
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Params returns every trainable parameter of m and its children with its
// dotted name, in a stable order. A parameter shared by several modules
// (the same Var under two paths) is listed once, under its first path.
func Params(m Module) []Param {
	var out []Param
	seen := map[*nn.Var]bool{}
	Walk(m, func(path string, m Module) {
		for _, p := range m.Members().Params {
			if !seen[p.Var] {
				seen[p.Var] = true
				out = append(out, Param{join(path, p.Name), p.Var})
			}
		}
	})
	return out
}

// Buffers returns every buffer of m and its children with its dotted name,
// each shared tensor once, under its first path.
func Buffers(m Module) []Buffer {
	var out []Buffer
	seen := map[*nn.Tensor]bool{}
	Walk(m, func(path string, m Module) {
		for _, b := range m.Members().Buffers {
			if !seen[b.Tensor] {
				seen[b.Tensor] = true
				out = append(out, Buffer{join(path, b.Name), b.Tensor})
			}
		}
	})
	return out
}

// Freeze stops (on) or restarts (off) gradient tracking for every
// parameter of m. A frozen model records no graph even while gradients are
// enabled, so it can run inference concurrently with training elsewhere,
// and optimizers leave its parameters alone.
func Freeze(m Module, on bool) {
	for _, p := range Params(m) {
		p.Var.SetRequiresGrad(!on)
	}
}

// SetTraining switches m and all its children to training (on) or
// evaluation mode.
func SetTraining(m Module, on bool) {
	Walk(m, func(_ string, m Module) {
		if s, ok := m.(TrainingSwitch); ok {
			s.SetTraining(on)
		}
	})
}

// ZeroGrad zeroes the gradients of all of m's parameters.
func ZeroGrad(m Module) {
	for _, p := range Params(m) {
		p.Var.ZeroGrad()
	}
}

// CountParams returns the number of trainable scalars in m.
func CountParams(m Module) int {
	n := 0
	for _, p := range Params(m) {
		n += p.Var.Value.Len()
	}
	return n
}

// StateDict returns m's parameters and buffers by dotted name. The tensors
// are shared with the model, not copied.
func StateDict(m Module) map[string]*nn.Tensor {
	sd := map[string]*nn.Tensor{}
	for _, p := range Params(m) {
		sd[p.Name] = p.Var.Value
	}
	for _, b := range Buffers(m) {
		sd[b.Name] = b.Tensor
	}
	return sd
}

// StateNames returns the names of StateDict(m) in module order: depth
// first, each module's parameters before its buffers (the order of
// PyTorch's state_dict), so that reports about a checkpoint read like the
// model.
func StateNames(m Module) []string {
	var names []string
	seenV := map[*nn.Var]bool{}
	seenT := map[*nn.Tensor]bool{}
	Walk(m, func(path string, m Module) {
		mem := m.Members()
		for _, p := range mem.Params {
			if !seenV[p.Var] {
				seenV[p.Var] = true
				names = append(names, join(path, p.Name))
			}
		}
		for _, b := range mem.Buffers {
			if !seenT[b.Tensor] {
				seenT[b.Tensor] = true
				names = append(names, join(path, b.Name))
			}
		}
	})
	return names
}

// TrimStatePrefix returns sd with prefix removed from every name when
// every name has it (a checkpoint saved from a wrapper such as
// DataParallel's "module."), else sd itself. sd is not changed; the
// tensors are shared.
func TrimStatePrefix(sd map[string]*nn.Tensor, prefix string) map[string]*nn.Tensor {
	if len(sd) == 0 {
		return sd
	}
	for name := range sd {
		if !strings.HasPrefix(name, prefix) {
			return sd
		}
	}
	out := make(map[string]*nn.Tensor, len(sd))
	for name, t := range sd {
		out[strings.TrimPrefix(name, prefix)] = t
	}
	return out
}

// LoadStateDict copies the tensors of sd into m's parameters and buffers.
// Shapes must match exactly. With strict, names of m missing from sd and
// names in sd that m does not have are errors; without strict they are
// skipped (the way to load a backbone into a model with a new head). On any
// error nothing is copied.
func LoadStateDict(m Module, sd map[string]*nn.Tensor, strict bool) error {
	own := StateDict(m)
	var missing, unexpected, mismatched []string
	for name, t := range own {
		src, ok := sd[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		if !nn.SameShape(src.Shape(), t.Shape()) {
			mismatched = append(mismatched, fmt.Sprintf("%s: model has %v, state dict has %v", name, t.Shape(), src.Shape()))
		}
	}
	for name := range sd {
		if _, ok := own[name]; !ok {
			unexpected = append(unexpected, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	sort.Strings(mismatched)
	var errs []string
	if len(mismatched) > 0 {
		errs = append(errs, "shape mismatch: "+strings.Join(mismatched, "; "))
	}
	if strict && len(missing) > 0 {
		errs = append(errs, "missing: "+strings.Join(missing, ", "))
	}
	if strict && len(unexpected) > 0 {
		errs = append(errs, "unexpected: "+strings.Join(unexpected, ", "))
	}
	if len(errs) > 0 {
		return fmt.Errorf("layers.LoadStateDict: %s", strings.Join(errs, "; "))
	}
	for name, t := range own {
		if src, ok := sd[name]; ok {
			t.CopyFrom(src)
		}
	}
	return nil
}
