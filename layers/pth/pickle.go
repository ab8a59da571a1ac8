package pth

// A minimal pickle virtual machine for the subset of the format that
// torch.save writes (protocol 2 by default, up to 5 if asked), after
// CPython's Lib/pickle.py (_Unpickler) and Lib/pickletools.py.
//
// It builds plain Go values and never runs anything: GLOBAL and
// STACK_GLOBAL resolve a (module, name) pair against the allowlist in
// torch.go, and REDUCE, NEWOBJ, INST and OBJ call only allowlisted Go
// functions. A name outside the allowlist becomes an inert *pyClass;
// "calling" it makes an inert *pyObject that keeps nothing but the class
// name, so a checkpoint may carry an argparse.Namespace or a numpy scalar
// next to its tensors without either being looked up or run.
//
// Every length read from the input is checked against the bytes that are
// left before anything is allocated, and every stack, mark and memo access
// is checked, so no input makes the machine panic or allocate much more
// than the size of its input.
//
// Values:
//
//	None              nil
//	bool              bool
//	int               int64, or *big.Int beyond 64 bits
//	float             float64
//	str               string (valid UTF-8; BINSTRING's bytes as they are)
//	bytes, bytearray  pyBytes
//	list              *pyList
//	tuple             *pyTuple
//	dict, OrderedDict *pyDict (insertion-ordered)
//	set, frozenset    *pyList
//	a global          *pyClass (allowlisted or inert)
//	an inert instance *pyObject
//	torch values      *storage, *tensor (torch.go)
//
// Every value type is comparable, so any value can be a dict key without
// a run-time panic (Go maps panic on slices); *pyTuple keys compare by
// identity, which only matters for files torch.save does not write.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

type (
	pyBytes string
	pyList  struct{ items []any }
	pyTuple struct{ items []any }
	// pyDict is an insertion-ordered dict. Setting an existing key
	// replaces its value in place, as in Python.
	pyDict struct {
		keys, vals []any
		index      map[any]int
	}
	// pyClass is a global (class or function) named by the pickle.
	pyClass struct {
		module, name string
		kind         globalKind
		dtype        *dtype // for storage classes
	}
	// pyObject is an inert instance of a class outside the allowlist.
	pyObject struct{ class *pyClass }
)

func newDict() *pyDict { return &pyDict{} }

func (d *pyDict) set(k, v any) {
	if d.index == nil {
		d.index = map[any]int{}
	}
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

func (d *pyDict) get(k any) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

func (c *pyClass) String() string { return c.module + "." + c.name }

// source is the input of the machine: a reader with a known number of
// bytes left, so that lengths can be checked before they are allocated.
type source struct {
	r    *bufio.Reader
	pos  int64 // bytes consumed
	size int64 // total bytes
}

func newSource(r io.Reader, size int64) *source {
	return &source{r: bufio.NewReaderSize(r, 64<<10), size: size}
}

var errTruncated = errors.New("unexpected end of data (file truncated?)")

func (s *source) left() int64 { return s.size - s.pos }

func (s *source) readByte() (byte, error) {
	if s.left() < 1 {
		return 0, errTruncated
	}
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, readErr(err)
	}
	s.pos++
	return b, nil
}

// read returns the next n bytes in a new slice.
func (s *source) read(n int64) ([]byte, error) {
	if n < 0 || n > s.left() {
		return nil, errTruncated
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(s.r, b); err != nil {
		return nil, readErr(err)
	}
	s.pos += n
	return b, nil
}

// maxLine bounds the text arguments (module and class names, decimal
// numbers) of the opcodes that take a line.
const maxLine = 4096

// line returns the next line without its '\n'.
func (s *source) line() (string, error) {
	var b []byte
	for {
		c, err := s.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) == maxLine {
			return "", fmt.Errorf("text argument longer than %d bytes", maxLine)
		}
		b = append(b, c)
	}
}

// readErr maps the ends of input to errTruncated (a short read without an
// error included).
func readErr(err error) error {
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncated
	}
	return err
}

// unpickler runs one pickle. The hooks come from torch.go.
type unpickler struct {
	src   *source
	stack []any
	marks [][]any // the stacks saved by MARK (Python's metastack)
	memo  map[int64]any
	// global resolves GLOBAL and STACK_GLOBAL; it never fails: names
	// outside the allowlist come back inert.
	global func(module, name string) *pyClass
	// call applies an allowlisted global (REDUCE, NEWOBJ, INST, OBJ).
	call func(c *pyClass, args []any) (any, error)
	// persistent resolves BINPERSID and PERSID; nil means the pickle may
	// have none.
	persistent func(pid any) (any, error)
}

// load runs the pickle up to its STOP and returns the value it left. An
// error says at which byte of the pickle it happened.
func (u *unpickler) load() (any, error) {
	u.stack, u.marks, u.memo = nil, nil, map[int64]any{}
	start := u.src.pos
	for {
		at := u.src.pos - start
		op, err := u.src.readByte()
		if err != nil {
			return nil, fmt.Errorf("pickle byte %d: %w", at, err)
		}
		v, done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle byte %d (opcode %s): %w", at, opName(op), err)
		}
		if done {
			return v, nil
		}
	}
}

func opName(op byte) string {
	if op >= 0x21 && op < 0x7f {
		return fmt.Sprintf("%q", rune(op))
	}
	return fmt.Sprintf("0x%02x", op)
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

var errStackEmpty = errors.New("stack underflow (corrupt pickle)")

func (u *unpickler) pop() (any, error) {
	n := len(u.stack)
	if n == 0 {
		return nil, errStackEmpty
	}
	v := u.stack[n-1]
	u.stack = u.stack[:n-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, errStackEmpty
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the items pushed since the last MARK and restores the
// stack from before it.
func (u *unpickler) popMark() ([]any, error) {
	n := len(u.marks)
	if n == 0 {
		return nil, errors.New("no MARK on the stack (corrupt pickle)")
	}
	items := u.stack
	u.stack = u.marks[n-1]
	u.marks = u.marks[:n-1]
	return items, nil
}

func (u *unpickler) popN(n int) ([]any, error) {
	if len(u.stack) < n {
		return nil, errStackEmpty
	}
	items := append([]any(nil), u.stack[len(u.stack)-n:]...)
	u.stack = u.stack[:len(u.stack)-n]
	return items, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.src.read(int64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// length reads an n-byte little-endian length.
func (u *unpickler) length(n int) (int64, error) {
	v, err := u.uint(n)
	if err != nil {
		return 0, err
	}
	if v > uint64(u.src.left()) {
		return 0, errTruncated
	}
	return int64(v), nil
}

// step runs one opcode. done reports STOP, with the pickle's value.
func (u *unpickler) step(op byte) (v any, done bool, err error) {
	switch op {
	case 0x80: // PROTO
		p, err := u.src.readByte()
		if err != nil {
			return nil, false, err
		}
		if p > 5 {
			return nil, false, fmt.Errorf("unsupported pickle protocol %d", p)
		}
	case '.': // STOP
		v, err := u.pop()
		return v, err == nil, err
	case 0x95: // FRAME: frames only group bytes for buffered reading
		if _, err := u.length(8); err != nil {
			return nil, false, err
		}

	case '(': // MARK
		u.marks = append(u.marks, u.stack)
		u.stack = nil
	case '0': // POP
		if len(u.stack) > 0 {
			u.stack = u.stack[:len(u.stack)-1]
		} else if _, err := u.popMark(); err != nil {
			return nil, false, err
		}
	case '1': // POP_MARK
		if _, err := u.popMark(); err != nil {
			return nil, false, err
		}
	case '2': // DUP
		x, err := u.top()
		if err != nil {
			return nil, false, err
		}
		u.push(x)

	case 'N': // NONE
		u.push(nil)
	case 0x88: // NEWTRUE
		u.push(true)
	case 0x89: // NEWFALSE
		u.push(false)
	case 'J': // BININT
		x, err := u.uint(4)
		if err != nil {
			return nil, false, err
		}
		u.push(int64(int32(uint32(x))))
	case 'K': // BININT1
		x, err := u.uint(1)
		if err != nil {
			return nil, false, err
		}
		u.push(int64(x))
	case 'M': // BININT2
		x, err := u.uint(2)
		if err != nil {
			return nil, false, err
		}
		u.push(int64(x))
	case 0x8a, 0x8b: // LONG1, LONG4
		size := 1
		if op == 0x8b {
			size = 4
		}
		n, err := u.length(size)
		if err != nil {
			return nil, false, err
		}
		if op == 0x8b && n > math.MaxInt32 {
			return nil, false, errors.New("negative byte count")
		}
		b, err := u.src.read(n)
		if err != nil {
			return nil, false, err
		}
		u.push(decodeLong(b))
	case 'I', 'L': // INT, LONG (text)
		s, err := u.src.line()
		if err != nil {
			return nil, false, err
		}
		if op == 'I' && (s == "00" || s == "01") {
			u.push(s == "01")
			break
		}
		if op == 'L' {
			s = strings.TrimSuffix(s, "L")
		}
		x, err := parseInt(s)
		if err != nil {
			return nil, false, err
		}
		u.push(x)
	case 'G': // BINFLOAT
		b, err := u.src.read(8)
		if err != nil {
			return nil, false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'F': // FLOAT (text)
		s, err := u.src.line()
		if err != nil {
			return nil, false, err
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, false, fmt.Errorf("bad float %q", s)
		}
		u.push(f)

	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		b, err := u.counted(op)
		if err != nil {
			return nil, false, err
		}
		if !utf8.Valid(b) {
			return nil, false, errors.New("string is not valid UTF-8")
		}
		u.push(string(b))
	case 'T', 'U': // BINSTRING, SHORT_BINSTRING (Python 2 str)
		b, err := u.counted(op)
		if err != nil {
			return nil, false, err
		}
		if op == 'T' && len(b) > math.MaxInt32 {
			return nil, false, errors.New("negative byte count")
		}
		u.push(string(b))
	case 'B', 'C', 0x8e, 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
		b, err := u.counted(op)
		if err != nil {
			return nil, false, err
		}
		u.push(pyBytes(b))

	case ']': // EMPTY_LIST
		u.push(&pyList{})
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		u.push(&pyList{items: items})
	case 'a', 'e': // APPEND, APPENDS
		var items []any
		if op == 'a' {
			x, err := u.pop()
			if err != nil {
				return nil, false, err
			}
			items = []any{x}
		} else if items, err = u.popMark(); err != nil {
			return nil, false, err
		}
		t, err := u.top()
		if err != nil {
			return nil, false, err
		}
		switch t := t.(type) {
		case *pyList:
			t.items = append(t.items, items...)
		case *pyObject: // an inert list subclass: the items go nowhere
		default:
			return nil, false, fmt.Errorf("append to %s", typeName(t))
		}
	case ')': // EMPTY_TUPLE
		u.push(&pyTuple{})
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		u.push(&pyTuple{items: items})
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		items, err := u.popN(int(op-0x85) + 1)
		if err != nil {
			return nil, false, err
		}
		u.push(&pyTuple{items: items})
	case '}': // EMPTY_DICT
		u.push(newDict())
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		d := newDict()
		if err := setItems(d, items); err != nil {
			return nil, false, err
		}
		u.push(d)
	case 's', 'u': // SETITEM, SETITEMS
		var items []any
		if op == 's' {
			if items, err = u.popN(2); err != nil {
				return nil, false, err
			}
		} else if items, err = u.popMark(); err != nil {
			return nil, false, err
		}
		t, err := u.top()
		if err != nil {
			return nil, false, err
		}
		switch t := t.(type) {
		case *pyDict:
			if err := setItems(t, items); err != nil {
				return nil, false, err
			}
		case *pyObject: // an inert dict subclass
		default:
			return nil, false, fmt.Errorf("set item of %s", typeName(t))
		}
	case 0x8f: // EMPTY_SET
		u.push(&pyList{})
	case 0x90: // ADDITEMS
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		t, err := u.top()
		if err != nil {
			return nil, false, err
		}
		l, ok := t.(*pyList)
		if !ok {
			return nil, false, fmt.Errorf("add items to %s", typeName(t))
		}
		l.items = append(l.items, items...)
	case 0x91: // FROZENSET
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		u.push(&pyList{items: items})

	case 'p', 'q', 'r', 0x94: // PUT, BINPUT, LONG_BINPUT, MEMOIZE
		var k int64
		switch op {
		case 'p':
			s, err := u.src.line()
			if err != nil {
				return nil, false, err
			}
			if k, err = strconv.ParseInt(s, 10, 64); err != nil || k < 0 {
				return nil, false, fmt.Errorf("bad memo index %q", s)
			}
		case 'q', 'r':
			x, err := u.uint(argSize(op))
			if err != nil {
				return nil, false, err
			}
			k = int64(x)
		default:
			k = int64(len(u.memo))
		}
		x, err := u.top()
		if err != nil {
			return nil, false, err
		}
		u.memo[k] = x
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		var k int64
		switch op {
		case 'g':
			s, err := u.src.line()
			if err != nil {
				return nil, false, err
			}
			if k, err = strconv.ParseInt(s, 10, 64); err != nil {
				return nil, false, fmt.Errorf("bad memo index %q", s)
			}
		default:
			x, err := u.uint(argSize(op))
			if err != nil {
				return nil, false, err
			}
			k = int64(x)
		}
		x, ok := u.memo[k]
		if !ok {
			return nil, false, fmt.Errorf("memo entry %d was never stored (corrupt pickle)", k)
		}
		u.push(x)

	case 'c': // GLOBAL
		module, err := u.src.line()
		if err != nil {
			return nil, false, err
		}
		name, err := u.src.line()
		if err != nil {
			return nil, false, err
		}
		u.push(u.global(module, name))
	case 0x93: // STACK_GLOBAL
		items, err := u.popN(2)
		if err != nil {
			return nil, false, err
		}
		module, ok1 := items[0].(string)
		name, ok2 := items[1].(string)
		if !ok1 || !ok2 {
			return nil, false, errors.New("module and name are not strings")
		}
		u.push(u.global(module, name))
	case 'R': // REDUCE
		items, err := u.popN(2)
		if err != nil {
			return nil, false, err
		}
		args, ok := items[1].(*pyTuple)
		if !ok {
			return nil, false, fmt.Errorf("arguments are %s, not a tuple", typeName(items[1]))
		}
		if err := u.apply(items[0], args.items); err != nil {
			return nil, false, err
		}
	case 0x81, 0x92: // NEWOBJ, NEWOBJ_EX: cls.__new__(cls, *args)
		n := 2
		if op == 0x92 {
			n = 3 // the keyword arguments are dropped
		}
		items, err := u.popN(n)
		if err != nil {
			return nil, false, err
		}
		args, ok := items[1].(*pyTuple)
		if !ok {
			return nil, false, fmt.Errorf("arguments are %s, not a tuple", typeName(items[1]))
		}
		if err := u.apply(items[0], args.items); err != nil {
			return nil, false, err
		}
	case 'i': // INST
		module, err := u.src.line()
		if err != nil {
			return nil, false, err
		}
		name, err := u.src.line()
		if err != nil {
			return nil, false, err
		}
		args, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		if err := u.apply(u.global(module, name), args); err != nil {
			return nil, false, err
		}
	case 'o': // OBJ
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		if len(items) == 0 {
			return nil, false, errStackEmpty
		}
		if err := u.apply(items[0], items[1:]); err != nil {
			return nil, false, err
		}
	case 'b': // BUILD: __setstate__ / __dict__ update
		if _, err := u.pop(); err != nil {
			return nil, false, err
		}
		t, err := u.top()
		if err != nil {
			return nil, false, err
		}
		switch t.(type) {
		case *pyDict, *pyObject:
			// The state is attributes: OrderedDict's _metadata in a state
			// dict, an inert object's fields. Nothing here needs them.
		default:
			return nil, false, fmt.Errorf("set the state of %s", typeName(t))
		}
	case 'Q', 'P': // BINPERSID, PERSID
		var pid any
		if op == 'Q' {
			if pid, err = u.pop(); err != nil {
				return nil, false, err
			}
		} else if pid, err = u.src.line(); err != nil {
			return nil, false, err
		}
		if u.persistent == nil {
			return nil, false, errors.New("persistent id in a pickle that may have none")
		}
		x, err := u.persistent(pid)
		if err != nil {
			return nil, false, err
		}
		u.push(x)

	case 'S', 'V':
		return nil, false, errors.New("protocol 0 text strings are not supported (torch.save writes protocol 2 or newer)")
	case 0x82, 0x83, 0x84:
		return nil, false, errors.New("the copyreg extension registry is not supported")
	case 0x97, 0x98:
		return nil, false, errors.New("out-of-band buffers are not supported")
	default:
		return nil, false, errors.New("unknown opcode (not a pickle, or a corrupt one)")
	}
	return nil, false, nil
}

// argSize is the size in bytes of the length or index argument of op.
func argSize(op byte) int {
	switch op {
	case 'U', 'C', 0x8c, 'q', 'h':
		return 1
	case 0x8d, 0x8e, 0x96:
		return 8
	}
	return 4 // 'X', 'T', 'B', 'r', 'j'
}

// counted reads op's length argument and then that many bytes.
func (u *unpickler) counted(op byte) ([]byte, error) {
	n, err := u.length(argSize(op))
	if err != nil {
		return nil, err
	}
	return u.src.read(n)
}

func (u *unpickler) apply(fn any, args []any) error {
	c, ok := fn.(*pyClass)
	if !ok {
		return fmt.Errorf("call of %s", typeName(fn))
	}
	v, err := u.call(c, args)
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

func setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return errors.New("odd number of items for a dict")
	}
	for i := 0; i < len(items); i += 2 {
		d.set(items[i], items[i+1])
	}
	return nil
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if shift := 64 - 8*uint(len(b)); shift > 0 {
			return int64(v<<shift) >> shift // sign-extend
		}
		return int64(v)
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	x := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return x
}

func parseInt(s string) (any, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("bad integer %q", s)
	}
	return x, nil
}

// typeName names a value's Python type for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int64, *big.Int:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a str"
	case pyBytes:
		return "bytes"
	case *pyList:
		return "a list"
	case *pyTuple:
		return "a tuple"
	case *pyDict:
		return "a dict"
	case *pyClass:
		return "the global " + v.String()
	case *pyObject:
		return "an instance of " + v.class.String()
	case *storage:
		return "a " + v.dtype.class
	case *tensor:
		return "a tensor"
	}
	return fmt.Sprintf("a %T", v)
}
