package pth

// The torch side of a checkpoint: the allowlisted globals, the storages
// named by persistent ids, the tensors rebuilt on them, and the copy of a
// tensor (any strides and storage offset) into a contiguous float32
// nn.Tensor.

import (
	"fmt"
	"math"

	"github.com/sortnet/sortnet/nn"
)

type globalKind int

const (
	kindInert                 globalKind = iota // outside the allowlist: never called
	kindDict                                    // collections.OrderedDict, builtins.dict
	kindSize                                    // torch.Size
	kindStorage                                 // torch.FloatStorage, torch.HalfStorage, …
	kindTensorType                              // torch.Tensor, torch.nn.parameter.Parameter
	kindRebuildTensorV2                         // torch._utils._rebuild_tensor_v2
	kindRebuildTensor                           // torch._utils._rebuild_tensor (torch < 0.4)
	kindRebuildParameter                        // torch._utils._rebuild_parameter
	kindRebuildParameterState                   // torch._utils._rebuild_parameter_with_state
	kindRebuildFromType                         // torch._tensor._rebuild_from_type(_v2)
)

// allowlist holds every global a checkpoint may use to build its tensors
// and state dicts. Storage classes are added from dtypes.
var allowlist = map[string]globalKind{
	"collections.OrderedDict":                    kindDict,
	"builtins.dict":                              kindDict,
	"__builtin__.dict":                           kindDict,
	"torch.Size":                                 kindSize,
	"torch.Tensor":                               kindTensorType,
	"torch._tensor.Tensor":                       kindTensorType,
	"torch.nn.parameter.Parameter":               kindTensorType,
	"torch._utils._rebuild_tensor_v2":            kindRebuildTensorV2,
	"torch._utils._rebuild_tensor":               kindRebuildTensor,
	"torch._utils._rebuild_parameter":            kindRebuildParameter,
	"torch._utils._rebuild_parameter_with_state": kindRebuildParameterState,
	"torch._tensor._rebuild_from_type_v2":        kindRebuildFromType,
	"torch._tensor._rebuild_from_type":           kindRebuildFromType,
}

// lookupGlobal resolves a GLOBAL. It never imports or runs anything.
func lookupGlobal(module, name string) *pyClass {
	c := &pyClass{module: module, name: name, kind: allowlist[module+"."+name]}
	if module == "torch" {
		if dt, ok := dtypes[name]; ok {
			c.kind, c.dtype = kindStorage, dt
		}
	}
	return c
}

// storage is one torch storage: numel elements of dtype. Its bytes are read
// only when a tensor that is returned needs them.
type storage struct {
	dtype  *dtype
	key    string
	numel  int64
	nbytes int64

	located bool // the container found the bytes (zip record / legacy offset)
	rec     any  // the container's handle on the bytes
	data    []byte
	counted bool // nbytes is in the reader's budget
	uses    int  // returned tensors still to be copied out of data
}

// tensor is a view of a storage, as _rebuild_tensor_v2 describes it.
type tensor struct {
	st     *storage
	offset int64
	size   []int64
	stride []int64
}

// maxRank bounds the number of dimensions of a tensor.
const maxRank = 64

// call applies an allowlisted global to args. Anything not in the
// allowlist becomes an inert object.
func call(c *pyClass, args []any) (any, error) {
	switch c.kind {
	case kindInert:
		return &pyObject{class: c}, nil
	case kindDict:
		// torch.save pickles OrderedDict() and then SETITEMS. Items as
		// arguments are refused: a memoised list of pairs passed again and
		// again would let a small pickle build huge dicts.
		if len(args) != 0 {
			return nil, fmt.Errorf("%s with %d arguments (torch.save passes none)", c, len(args))
		}
		return newDict(), nil
	case kindSize:
		if len(args) == 1 {
			if items, ok := sequence(args[0]); ok {
				return &pyTuple{items: items}, nil
			}
		}
		return nil, fmt.Errorf("%s: arguments are not one tuple", c)
	case kindRebuildTensorV2:
		// (storage, storage_offset, size, stride, requires_grad,
		// backward_hooks[, metadata])
		if len(args) != 6 && len(args) != 7 {
			return nil, fmt.Errorf("%s with %d arguments, want 6 or 7", c, len(args))
		}
		return rebuildTensor(c, args[:4])
	case kindRebuildTensor: // (storage, storage_offset, size, stride)
		if len(args) != 4 {
			return nil, fmt.Errorf("%s with %d arguments, want 4", c, len(args))
		}
		return rebuildTensor(c, args)
	case kindRebuildParameter, kindRebuildParameterState:
		// (data, requires_grad, backward_hooks[, state])
		want := 3
		if c.kind == kindRebuildParameterState {
			want = 4
		}
		if len(args) != want {
			return nil, fmt.Errorf("%s with %d arguments, want %d", c, len(args), want)
		}
		t, ok := args[0].(*tensor)
		if !ok {
			return nil, fmt.Errorf("%s: data is %s, not a tensor", c, typeName(args[0]))
		}
		return t, nil
	case kindRebuildFromType:
		// (func, new_type, args, state): a tensor subclass or a tensor
		// with attributes; only plain tensors and parameters are read.
		if len(args) != 4 {
			return nil, fmt.Errorf("%s with %d arguments, want 4", c, len(args))
		}
		fn, ok := args[0].(*pyClass)
		if !ok || (fn.kind != kindRebuildTensorV2 && fn.kind != kindRebuildTensor &&
			fn.kind != kindRebuildParameter && fn.kind != kindRebuildParameterState) {
			return nil, fmt.Errorf("%s: rebuild function is %s", c, typeName(args[0]))
		}
		if typ, ok := args[1].(*pyClass); !ok || typ.kind != kindTensorType {
			return nil, fmt.Errorf("%s: unsupported tensor type %s", c, typeName(args[1]))
		}
		inner, ok := args[2].(*pyTuple)
		if !ok {
			return nil, fmt.Errorf("%s: arguments are %s, not a tuple", c, typeName(args[2]))
		}
		return call(fn, inner.items)
	}
	return nil, fmt.Errorf("%s cannot be called (torch.save never does this)", c)
}

func sequence(v any) ([]any, bool) {
	switch v := v.(type) {
	case *pyTuple:
		return v.items, true
	case *pyList:
		return v.items, true
	}
	return nil, false
}

func rebuildTensor(c *pyClass, args []any) (*tensor, error) {
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("%s: storage is %s", c, typeName(args[0]))
	}
	off, ok := args[1].(int64)
	if !ok || off < 0 {
		return nil, fmt.Errorf("%s: storage offset is %v", c, args[1])
	}
	size, err := dims(args[2])
	if err != nil {
		return nil, fmt.Errorf("%s: size %w", c, err)
	}
	stride, err := dims(args[3])
	if err != nil {
		return nil, fmt.Errorf("%s: stride %w", c, err)
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("%s: size %v and stride %v differ in length", c, size, stride)
	}
	return &tensor{st: st, offset: off, size: size, stride: stride}, nil
}

// dims decodes a tuple of non-negative ints.
func dims(v any) ([]int64, error) {
	items, ok := sequence(v)
	if !ok {
		return nil, fmt.Errorf("is %s, not a tuple", typeName(v))
	}
	if len(items) > maxRank {
		return nil, fmt.Errorf("has %d dimensions, more than %d", len(items), maxRank)
	}
	out := make([]int64, len(items))
	for i, x := range items {
		d, ok := x.(int64)
		if !ok || d < 0 {
			return nil, fmt.Errorf("element %d is %v, not a non-negative int", i, x)
		}
		out[i] = d
	}
	return out, nil
}

// storageID checks a persistent id's common part, ('storage', storage
// type, key, location, numel, ...), and returns its fields.
func storageID(pid any, n int) (dt *dtype, key string, numel int64, rest []any, err error) {
	t, ok := pid.(*pyTuple)
	if !ok || len(t.items) == 0 {
		return nil, "", 0, nil, fmt.Errorf("persistent id is %s, not a tuple", typeName(pid))
	}
	if kind, _ := t.items[0].(string); kind != "storage" {
		return nil, "", 0, nil, fmt.Errorf("persistent id of kind %v, want \"storage\"", t.items[0])
	}
	if len(t.items) != n {
		return nil, "", 0, nil, fmt.Errorf("storage persistent id has %d fields, want %d", len(t.items), n)
	}
	c, ok := t.items[1].(*pyClass)
	if !ok {
		return nil, "", 0, nil, fmt.Errorf("storage type is %s", typeName(t.items[1]))
	}
	if c.kind != kindStorage {
		return nil, "", 0, nil, fmt.Errorf("unsupported storage type %s (supported: %s)", c, supportedStorages)
	}
	if key, ok = t.items[2].(string); !ok {
		return nil, "", 0, nil, fmt.Errorf("storage key is %s", typeName(t.items[2]))
	}
	if _, ok := t.items[3].(string); !ok {
		return nil, "", 0, nil, fmt.Errorf("storage %q: location is %s", key, typeName(t.items[3]))
	}
	numel, ok = t.items[4].(int64)
	if !ok || numel < 0 || numel > math.MaxInt64/c.dtype.size {
		return nil, "", 0, nil, fmt.Errorf("storage %q: bad element count %v", key, t.items[4])
	}
	return c.dtype, key, numel, t.items[5:], nil
}

// reader turns the tensors of one checkpoint into nn.Tensors.
type reader struct {
	storages map[string]*storage
	// load returns a located storage's nbytes bytes.
	load func(st *storage) ([]byte, error)
	// budget bounds the elements all returned tensors may hold together:
	// the bytes of the storages they use plus budgetSlack. Ordinary state
	// dicts (views that do not overlap) stay far below it; it stops a
	// small file from asking for a huge expanded or self-overlapping view.
	budget, used int64
}

const budgetSlack = 1 << 20

func newReader() *reader {
	return &reader{storages: map[string]*storage{}, budget: budgetSlack}
}

// addStorage registers a storage named by a persistent id. A key seen
// before must name the same storage.
func (r *reader) addStorage(dt *dtype, key string, numel int64) (*storage, error) {
	if st, ok := r.storages[key]; ok {
		if st.dtype != dt || st.numel != numel {
			return nil, fmt.Errorf("storage %q is both %d %s and %d %s elements", key, st.numel, st.dtype.name, numel, dt.name)
		}
		return st, nil
	}
	st := &storage{dtype: dt, key: key, numel: numel, nbytes: numel * dt.size}
	r.storages[key] = st
	return st, nil
}

// materialise copies t into a new contiguous float32 tensor of the same
// shape.
func (r *reader) materialise(t *tensor) (*nn.Tensor, error) {
	st, es := t.st, t.st.dtype.size
	shape := make([]int, len(t.size))
	n := int64(1)
	for i, d := range t.size {
		if d > math.MaxInt {
			return nil, fmt.Errorf("size %v is too large for this platform", t.size)
		}
		shape[i] = int(d)
		if d == 0 {
			n = 0
		}
	}
	for _, d := range t.size {
		if n == 0 {
			break
		}
		if d > math.MaxInt64/n {
			return nil, fmt.Errorf("size %v: element count overflows", t.size)
		}
		n *= d
	}
	if n == 0 {
		return nn.New(shape...), nil
	}
	// The last element the view touches must lie inside the storage.
	room := st.numel - 1 - t.offset
	if room < 0 {
		return nil, fmt.Errorf("storage offset %d is outside its %d-element %s storage", t.offset, st.numel, st.dtype.name)
	}
	for i, d := range t.size {
		s := t.stride[i]
		if s != 0 && d-1 > room/s {
			return nil, fmt.Errorf("size %v, stride %v, offset %d reach beyond the %d-element %s storage",
				t.size, t.stride, t.offset, st.numel, st.dtype.name)
		}
		room -= (d - 1) * s
	}
	if !st.counted {
		st.counted = true
		r.budget += st.nbytes
	}
	if n > r.budget-r.used {
		return nil, fmt.Errorf("size %v, stride %v: the tensors would hold more elements than the file's storages (%d bytes) allow; expanded or overlapping views this large are not supported",
			t.size, t.stride, r.budget-budgetSlack)
	}
	r.used += n

	if st.data == nil {
		if !st.located {
			return nil, fmt.Errorf("no data for storage %q", st.key)
		}
		b, err := r.load(st)
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", st.key, err)
		}
		if int64(len(b)) != st.nbytes {
			return nil, fmt.Errorf("storage %q: %d bytes, want %d", st.key, len(b), st.nbytes)
		}
		st.data = b
	}

	var src []byte
	if contiguous(t.size, t.stride) {
		src = st.data[t.offset*es : (t.offset+n)*es]
	} else {
		src = gather(st.data, es, t.offset, t.size, t.stride, n)
	}
	out := nn.New(shape...)
	if err := st.dtype.decode(out.Data(), src); err != nil {
		return nil, fmt.Errorf("%s %w", st.dtype.name, err)
	}
	return out, nil
}

// contiguous reports whether strides are row-major for size (dimensions of
// size 1 may have any stride).
func contiguous(size, stride []int64) bool {
	want := int64(1)
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}

// gather copies the n elements of es bytes of a strided view of data into
// a new slice in row-major order. The caller has checked the bounds.
func gather(data []byte, es, offset int64, size, stride []int64, n int64) []byte {
	out := make([]byte, n*es)
	rank := len(size)
	idx := make([]int64, rank)
	pos := offset
	for i := int64(0); i < n; i++ {
		copy(out[i*es:(i+1)*es], data[pos*es:(pos+1)*es])
		for d := rank - 1; d >= 0; d-- {
			idx[d]++
			pos += stride[d]
			if idx[d] < size[d] {
				break
			}
			pos -= stride[d] * size[d]
			idx[d] = 0
		}
	}
	return out
}
