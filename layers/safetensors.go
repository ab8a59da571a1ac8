package layers

// Safetensors files (https://huggingface.co/docs/safetensors).
//
// Layout of a file:
//
//	[0, 8)       N, the header length, little-endian uint64
//	[8, 8+N)     the header: a UTF-8 JSON object, possibly padded with spaces
//	[8+N, end)   the byte buffer holding every tensor's data, little-endian
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets":
// [begin, end]}, offsets relative to the start of the buffer; the optional
// "__metadata__" member maps strings to strings. The tensors must cover the
// buffer exactly: no overlaps and no holes.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/sortnet/sortnet/nn"

	"github.com/sortnet/sortnet/internal/dtype"
)

// maxSafetensorsHeader is the largest header accepted (the reference
// implementation's limit): a bigger length field means a corrupt file, not a
// model.
const maxSafetensorsHeader = 100 << 20

// metadataKey is the reserved header member that holds the string metadata.
const metadataKey = "__metadata__"

// ReadSafetensors reads a safetensors file. Every tensor is converted to
// float32:
//
//   - F32 as is, bit for bit.
//   - F16 and BF16 exactly: subnormals, ±0, ±Inf and NaN payloads included
//     (an F16 NaN becomes a quiet NaN, as with x86 F16C and PyTorch).
//   - F64 rounded to nearest even; values beyond float32's range become ±Inf.
//   - I8, I16, I32, I64, U8, U16, U32, U64 and BOOL by value, so that files
//     exported from PyTorch load whole (BatchNorm's num_batches_tracked is
//     I64). An integer that float32 cannot hold exactly (more than 24
//     significant bits) is an error, never a silent rounding, and so is a
//     BOOL byte other than 0 or 1.
//
// Other dtypes (F8_*, complex) are an error naming the tensor and the dtype.
// WriteSafetensors writes F32 only, so a file read and written back stores
// every tensor as F32.
//
// The whole file is validated before anything is returned, and every
// problem is an error naming the file and, where there is one, the tensor.
// On Unix the file is memory-mapped while it is decoded, so a large file
// costs no heap copy of its bytes; the tensors are copies and do not share
// memory with the file. The metadata map is never nil.
func ReadSafetensors(path string) (tensors map[string]*nn.Tensor, meta map[string]string, err error) {
	err = withFileBytes(path, func(b []byte) error {
		var perr error
		tensors, meta, perr = parseSafetensors(b)
		return perr
	})
	if err != nil {
		return nil, nil, fmt.Errorf("layers.ReadSafetensors %s: %w", path, err)
	}
	return tensors, meta, nil
}

// ParseSafetensors decodes a safetensors file held in memory, with the same
// conversions and checks as ReadSafetensors. The returned tensors do not
// share memory with b.
func ParseSafetensors(b []byte) (tensors map[string]*nn.Tensor, meta map[string]string, err error) {
	tensors, meta, err = parseSafetensors(b)
	if err != nil {
		return nil, nil, fmt.Errorf("layers.ParseSafetensors: %w", err)
	}
	return tensors, meta, nil
}

// WriteSafetensors writes tensors and metadata to path as a safetensors
// file (see EncodeSafetensors). The file is written under a temporary name
// in the same directory, synced and then renamed over path, so path holds
// either its old contents or the complete new file, never a partial one. A
// new file is created with mode 0644 (less the umask, as by os.Create); an
// existing file keeps its permission bits.
func WriteSafetensors(path string, tensors map[string]*nn.Tensor, meta map[string]string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("layers.WriteSafetensors %s: %w", path, err)
		}
	}()
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	perm, keep := os.FileMode(0o644), false
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm, keep = st.Mode().Perm(), true
	}
	f, err := createTemp(dir, base, perm)
	if err != nil {
		return err
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()
	if keep {
		// The umask may have masked bits the old file had. Some file
		// systems refuse chmod; the data is what matters, so a failure here
		// is not an error.
		_ = f.Chmod(perm)
	}
	if err := encodeSafetensors(f, tensors, meta); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	closed = true
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// EncodeSafetensors writes tensors and metadata to w in the safetensors
// format. Every tensor is stored as F32, in sorted name order, each one
// right after the previous one. The header is padded with spaces so that the
// buffer starts at a multiple of 8 bytes; __metadata__ is written only when
// meta is not empty. Names and metadata must be valid UTF-8, no tensor may
// be nil and no tensor may be called "__metadata__"; these are checked
// before anything is written.
func EncodeSafetensors(w io.Writer, tensors map[string]*nn.Tensor, meta map[string]string) error {
	if err := encodeSafetensors(w, tensors, meta); err != nil {
		return fmt.Errorf("layers.EncodeSafetensors: %w", err)
	}
	return nil
}

// SaveModule writes m's state dict (parameters and buffers under their
// dotted names) with meta to path; see WriteSafetensors.
func SaveModule(path string, m Module, meta map[string]string) error {
	return WriteSafetensors(path, StateDict(m), meta)
}

// LoadModule reads path and copies its tensors into m's parameters and
// buffers; strict has LoadStateDict's meaning. On any error m is unchanged.
func LoadModule(path string, m Module, strict bool) error {
	sd, _, err := ReadSafetensors(path)
	if err != nil {
		return err
	}
	if err := LoadStateDict(m, sd, strict); err != nil {
		return fmt.Errorf("layers.LoadModule %s: %w", path, err)
	}
	return nil
}

// ---- writing ----

var tempSeq atomic.Uint64

// createTemp creates a new file next to the destination, named
// ".<base>.<pid>-<n>.tmp" so that it is hidden and recognisable. Unlike
// os.CreateTemp (always 0600) it creates the file with perm, so the umask
// applies as for any new file.
func createTemp(dir, base string, perm os.FileMode) (*os.File, error) {
	for range 1000 {
		name := filepath.Join(dir, fmt.Sprintf(".%s.%d-%d.tmp", base, os.Getpid(), tempSeq.Add(1)))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("cannot find an unused temporary file name")
}

func encodeSafetensors(w io.Writer, tensors map[string]*nn.Tensor, meta map[string]string) error {
	header, names, err := safetensorsHeader(tensors, meta)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	bw.Write(n[:])
	bw.Write(header)
	var chunk [4096]byte
	for _, name := range names {
		data := tensors[name].Data()
		for len(data) > 0 {
			k := min(len(data), len(chunk)/4)
			for i, v := range data[:k] {
				binary.LittleEndian.PutUint32(chunk[4*i:], math.Float32bits(v))
			}
			if _, err := bw.Write(chunk[:4*k]); err != nil {
				return err
			}
			data = data[k:]
		}
	}
	return bw.Flush()
}

// safetensorsHeader builds the padded JSON header and returns it with the
// tensor names in storage order.
func safetensorsHeader(tensors map[string]*nn.Tensor, meta map[string]string) ([]byte, []string, error) {
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		switch {
		case t == nil:
			return nil, nil, fmt.Errorf("tensor %q is nil", name)
		case name == metadataKey:
			return nil, nil, fmt.Errorf("a tensor may not be called %q", metadataKey)
		case !utf8.ValidString(name):
			return nil, nil, fmt.Errorf("tensor name %q is not valid UTF-8", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	keys := make([]string, 0, len(meta))
	for k, v := range meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, nil, fmt.Errorf("metadata %q: %q: not valid UTF-8", k, v)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var h bytes.Buffer
	h.WriteByte('{')
	if len(keys) > 0 {
		writeJSONString(&h, metadataKey)
		h.WriteString(":{")
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, meta[k])
		}
		h.WriteByte('}')
	}
	var off int64
	for i, name := range names {
		if i > 0 || len(keys) > 0 {
			h.WriteByte(',')
		}
		t := tensors[name]
		writeJSONString(&h, name)
		h.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape() {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := off + 4*int64(t.Len())
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > maxSafetensorsHeader {
		return nil, nil, fmt.Errorf("header is %d bytes, more than the %d a reader accepts", h.Len(), maxSafetensorsHeader)
	}
	return h.Bytes(), names, nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // cannot fail for a string
	b.Write(q)
}

// ---- reading ----

// stEntry is one tensor of the header, checked against the buffer.
type stEntry struct {
	name       string
	dtype      stDtype
	shape      []int
	begin, end int
}

// stDtype is a supported dtype: its size in bytes and its conversion of
// len(dst) elements from src (exactly len(dst)*size bytes) to float32.
type stDtype struct {
	name   string
	size   int
	decode func(dst []float32, src []byte) error
}

var stDtypes = map[string]stDtype{
	"F64":  {"F64", 8, dtype.DecodeF64},
	"F32":  {"F32", 4, dtype.DecodeF32},
	"F16":  {"F16", 2, dtype.DecodeF16},
	"BF16": {"BF16", 2, dtype.DecodeBF16},
	"I64":  {"I64", 8, dtype.DecodeI64},
	"I32":  {"I32", 4, dtype.DecodeI32},
	"I16":  {"I16", 2, dtype.DecodeI16},
	"I8":   {"I8", 1, dtype.DecodeI8},
	"U64":  {"U64", 8, dtype.DecodeU64},
	"U32":  {"U32", 4, dtype.DecodeU32},
	"U16":  {"U16", 2, dtype.DecodeU16},
	"U8":   {"U8", 1, dtype.DecodeU8},
	"BOOL": {"BOOL", 1, dtype.DecodeBool},
}

const stSupported = "F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL"

func parseSafetensors(b []byte) (map[string]*nn.Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length", len(b))
	}
	hlen := binary.LittleEndian.Uint64(b)
	if hlen > maxSafetensorsHeader {
		return nil, nil, fmt.Errorf("header length %d is larger than the %d-byte limit (not a safetensors file?)", hlen, maxSafetensorsHeader)
	}
	if hlen > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("header length %d is larger than the %d bytes that follow it (file truncated?)", hlen, len(b)-8)
	}
	header, buf := b[8:8+hlen], b[8+hlen:]
	entries, meta, err := parseSafetensorsHeader(header, len(buf))
	if err != nil {
		return nil, nil, err
	}
	if err := checkCoverage(entries, len(buf)); err != nil {
		return nil, nil, err
	}
	tensors := make(map[string]*nn.Tensor, len(entries))
	for _, e := range entries {
		t := nn.New(e.shape...)
		if err := e.dtype.decode(t.Data(), buf[e.begin:e.end]); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %s %w", e.name, e.dtype.name, err)
		}
		tensors[e.name] = t
	}
	return tensors, meta, nil
}

// parseSafetensorsHeader decodes and checks the header JSON; each entry's
// offsets are checked against the buffer length bufLen.
func parseSafetensorsHeader(header []byte, bufLen int) ([]stEntry, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	members, err := jsonObject(header)
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	meta := map[string]string{}
	entries := make([]stEntry, 0, len(members))
	for _, m := range members {
		if m.key == metadataKey {
			if meta, err = parseMetadata(m.value); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := parseEntry(m.key, m.value, bufLen)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", m.key, err)
		}
		entries = append(entries, e)
	}
	return entries, meta, nil
}

func parseMetadata(raw []byte) (map[string]string, error) {
	members, err := jsonObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", metadataKey, err)
	}
	meta := make(map[string]string, len(members))
	for _, m := range members {
		s, ok := jsonString(m.value)
		if !ok {
			return nil, fmt.Errorf("%s: value of %q is %s, not a string", metadataKey, m.key, abbrev(m.value))
		}
		meta[m.key] = s
	}
	return meta, nil
}

func parseEntry(name string, raw []byte, bufLen int) (stEntry, error) {
	e := stEntry{name: name}
	members, err := jsonObject(raw)
	if err != nil {
		return e, err
	}
	var dtype, shape, offsets []byte
	for _, m := range members {
		// Other members are ignored, as by the reference implementation.
		switch m.key {
		case "dtype":
			dtype = m.value
		case "shape":
			shape = m.value
		case "data_offsets":
			offsets = m.value
		}
	}
	for _, f := range []struct {
		key string
		raw []byte
	}{{"dtype", dtype}, {"shape", shape}, {"data_offsets", offsets}} {
		if f.raw == nil {
			return e, fmt.Errorf("no %q", f.key)
		}
	}

	ds, ok := jsonString(dtype)
	if !ok {
		return e, fmt.Errorf("dtype %s is not a string", abbrev(dtype))
	}
	if e.dtype, ok = stDtypes[ds]; !ok {
		return e, fmt.Errorf("unsupported dtype %q (supported: %s)", ds, stSupported)
	}

	dims, err := jsonInts(shape)
	if err != nil {
		return e, fmt.Errorf("shape %s: %w", abbrev(shape), err)
	}
	n := 1
	e.shape = make([]int, len(dims))
	for i, d := range dims {
		if d < 0 {
			return e, fmt.Errorf("shape %v has a negative dimension", dims)
		}
		if d > math.MaxInt {
			return e, fmt.Errorf("shape %v: dimension too large", dims)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return e, fmt.Errorf("shape %v: element count overflows", dims)
		}
		n = int(lo)
		e.shape[i] = int(d)
	}
	if n > math.MaxInt/e.dtype.size {
		return e, fmt.Errorf("shape %v: byte size overflows", dims)
	}
	size := n * e.dtype.size

	offs, err := jsonInts(offsets)
	if err != nil || len(offs) != 2 {
		return e, fmt.Errorf("data_offsets %s is not [begin, end]", abbrev(offsets))
	}
	begin, end := offs[0], offs[1]
	switch {
	case begin < 0 || end < begin:
		return e, fmt.Errorf("data_offsets [%d, %d] are not two increasing non-negative numbers", begin, end)
	case end > int64(bufLen):
		return e, fmt.Errorf("data_offsets [%d, %d] are out of range of the %d-byte buffer", begin, end, bufLen)
	case end-begin != int64(size):
		return e, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, but %s %v needs %d", begin, end, end-begin, ds, dims, size)
	}
	e.begin, e.end = int(begin), int(end)
	return e, nil
}

// checkCoverage enforces the format's rule that the tensors tile the buffer
// exactly: sorted by offset, each one starts where the previous one ended
// and the last one ends at the end of the buffer.
func checkCoverage(entries []stEntry, bufLen int) error {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		ea, eb := &entries[order[a]], &entries[order[b]]
		if ea.begin != eb.begin {
			return ea.begin < eb.begin
		}
		if ea.end != eb.end {
			return ea.end < eb.end
		}
		return ea.name < eb.name
	})
	pos, prev := 0, ""
	for _, i := range order {
		e := &entries[i]
		switch {
		case e.begin < pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", e.name, e.begin, e.end, prev, pos)
		case e.begin > pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave bytes [%d, %d) of the buffer unused", e.name, e.begin, e.end, pos, e.begin)
		}
		if e.end > pos {
			pos, prev = e.end, e.name
		}
	}
	if pos != bufLen {
		return fmt.Errorf("the tensors end at byte %d of the %d-byte buffer: %d trailing bytes belong to no tensor", pos, bufLen, bufLen-pos)
	}
	return nil
}

// ---- JSON helpers ----

type jsonMember struct {
	key   string
	value json.RawMessage
}

// jsonObject decodes a JSON object into its members in order. Unlike
// json.Unmarshal into a map it rejects duplicate keys, which would otherwise
// silently hide a tensor or a metadata entry.
func jsonObject(data []byte) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s is not a JSON object", abbrev(data))
	}
	seen := map[string]bool{}
	var out []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not valid JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("not valid JSON: object key %v is not a string", tok)
		}
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("not valid JSON: %v", err)
		}
		out = append(out, jsonMember{key, bytes.TrimSpace(v)})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not valid JSON: data after the object")
	}
	return out, nil
}

// jsonString decodes raw if it is a JSON string.
func jsonString(raw []byte) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonInts decodes a JSON array of integers (no fractions, exponents,
// nulls or quoted numbers).
func jsonInts(raw []byte) ([]int64, error) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, errors.New("not a list of integers")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, errors.New("not a list of integers")
	}
	out := make([]int64, len(elems))
	for i, el := range elems {
		v, err := strconv.ParseInt(string(bytes.TrimSpace(el)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("element %s is not an integer", abbrev(el))
		}
		out[i] = v
	}
	return out, nil
}

// abbrev shortens raw JSON for an error message.
func abbrev(raw []byte) string {
	const max = 40
	if len(raw) <= max {
		return string(raw)
	}
	return strings.ToValidUTF8(string(raw[:max]), "") + "…"
}
