package pth

// The two containers torch.save writes.
//
// Zip (torch >= 1.6, the default): a zip archive of uncompressed records
// under one folder, "<name>/data.pkl" (the pickle), "<name>/version" and
// "<name>/data/<key>" (the bytes of storage <key>, little-endian). The
// pickle names a storage with the persistent id
//
//	('storage', torch.FloatStorage, '<key>', '<location>', numel)
//
// Legacy (torch < 1.6, or _use_new_zipfile_serialization=False): five
// things back to back,
//
//	pickle  the magic number 0x1950a86a20f9469cfc6c
//	pickle  the protocol version, 1001
//	pickle  sys_info: {'protocol_version', 'little_endian', 'type_sizes'}
//	pickle  the object, with persistent ids
//	        ('storage', torch.FloatStorage, '<key>', '<location>', numel, None)
//	pickle  the list of storage keys, in the order of the data
//	then, for each key: numel as a little-endian int64 and numel elements.
//
// The even older tar format (PyTorch < 0.1.10) is recognised and refused.

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
)

// checkpoint is a parsed file: the pickled object and the reader of its
// storages.
type checkpoint struct {
	top any
	r   *reader
}

// open parses the container and the pickle; no storage bytes are read yet.
func open(ra io.ReaderAt, size int64) (*checkpoint, error) {
	head := make([]byte, min(size, 512))
	if n, err := ra.ReadAt(head, 0); n < len(head) {
		return nil, readErr(err)
	}
	switch {
	case size == 0:
		return nil, errors.New("empty file")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return openZip(ra, size)
	case head[0] == 0x80:
		return openLegacy(ra, size)
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return nil, errors.New("a tar archive: the tar checkpoint format of PyTorch < 0.1.10 is not supported")
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) < uint64(size):
		return nil, errors.New("not a PyTorch checkpoint (this looks like a safetensors file: read it with layers.ReadSafetensors)")
	}
	return nil, fmt.Errorf("not a PyTorch checkpoint: it starts with % x, neither a zip archive (torch.save since 1.6) nor a pickle (older torch.save)", head[:min(len(head), 8)])
}

// ---- zip ----

// maxDeflateRatio bounds the size a deflated record may claim: deflate
// cannot expand data more than 1032 times, so a larger claim is a lie.
const maxDeflateRatio = 1032

func openZip(ra io.ReaderAt, size int64) (*checkpoint, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("not a valid zip archive (file truncated?): %w", err)
	}
	files := make(map[string]*zip.File, len(zr.File))
	var pkl []string
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			return nil, fmt.Errorf("zip record %q appears twice", f.Name)
		}
		files[f.Name] = f
		if f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl") && strings.Count(f.Name, "/") == 1 {
			pkl = append(pkl, f.Name)
		}
	}
	switch len(pkl) {
	case 0:
		return nil, errors.New("a zip archive without a data.pkl record: not written by torch.save")
	case 1:
	default:
		return nil, fmt.Errorf("a zip archive with %d data.pkl records (%s)", len(pkl), strings.Join(pkl, ", "))
	}
	prefix := strings.TrimSuffix(pkl[0], "data.pkl")
	if files[prefix+"constants.pkl"] != nil {
		return nil, errors.New("a TorchScript archive (torch.jit.save), not a torch.save file: in Python, torch.save(torch.jit.load(path).state_dict(), ...)")
	}
	if f := files[prefix+"byteorder"]; f != nil {
		b, err := readRecord(f, int64(f.UncompressedSize64), size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if string(b) != "little" {
			return nil, fmt.Errorf("%s says %q: only little-endian checkpoints are supported", f.Name, b)
		}
	}

	r := newReader()
	r.load = func(st *storage) ([]byte, error) {
		f := st.rec.(*zip.File)
		b, err := readRecord(f, st.nbytes, size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		return b, nil
	}
	pf := files[pkl[0]]
	b, err := readRecord(pf, int64(pf.UncompressedSize64), size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pf.Name, err)
	}
	u := &unpickler{
		src:    newSource(bytes.NewReader(b), int64(len(b))),
		global: lookupGlobal,
		call:   call,
		persistent: func(pid any) (any, error) {
			dt, key, numel, _, err := storageID(pid, 5)
			if err != nil {
				return nil, err
			}
			st, err := r.addStorage(dt, key, numel)
			if err != nil || st.located {
				return st, err
			}
			name := prefix + "data/" + key
			f := files[name]
			if f == nil {
				return nil, fmt.Errorf("storage %q: the archive has no record %s (file truncated or incomplete?)", key, name)
			}
			if f.UncompressedSize64 != uint64(st.nbytes) {
				return nil, fmt.Errorf("storage %q: record %s holds %d bytes, but %d %s elements need %d",
					key, name, f.UncompressedSize64, numel, dt.name, st.nbytes)
			}
			st.rec, st.located = f, true
			return st, nil
		},
	}
	top, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pf.Name, err)
	}
	return &checkpoint{top: top, r: r}, nil
}

// readRecord reads a zip record that should hold want bytes, checking its
// sizes against the file before allocating and its CRC after reading.
func readRecord(f *zip.File, want, fileSize int64) ([]byte, error) {
	if f.UncompressedSize64 != uint64(want) || want < 0 {
		return nil, fmt.Errorf("record holds %d bytes, want %d", f.UncompressedSize64, want)
	}
	switch f.Method {
	case zip.Store:
		if f.CompressedSize64 != f.UncompressedSize64 {
			return nil, fmt.Errorf("stored record with %d compressed and %d uncompressed bytes (corrupt zip)", f.CompressedSize64, f.UncompressedSize64)
		}
	case zip.Deflate:
		if f.CompressedSize64 > math.MaxInt64/maxDeflateRatio || f.UncompressedSize64 > maxDeflateRatio*f.CompressedSize64+64 {
			return nil, fmt.Errorf("deflated record claims %d bytes from %d (corrupt zip)", f.UncompressedSize64, f.CompressedSize64)
		}
	default:
		return nil, fmt.Errorf("unsupported zip compression method %d", f.Method)
	}
	off, err := f.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("corrupt zip: %w", err)
	}
	if f.CompressedSize64 > uint64(fileSize) || off > fileSize-int64(f.CompressedSize64) {
		return nil, errTruncated
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, want)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, readErr(err)
	}
	// Reading on to the end makes archive/zip check the CRC.
	var one [1]byte
	switch _, err := io.ReadFull(rc, one[:]); err {
	case io.EOF:
		return b, nil
	case nil:
		return nil, errors.New("record longer than its size (corrupt zip)")
	default:
		if errors.Is(err, zip.ErrChecksum) {
			return nil, errors.New("CRC mismatch (file corrupt)")
		}
		return nil, readErr(err)
	}
}

// ---- legacy ----

const legacyProtocol = 1001

var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

func openLegacy(ra io.ReaderAt, size int64) (*checkpoint, error) {
	src := newSource(io.NewSectionReader(ra, 0, size), size)
	plain := func(what string) (any, error) {
		u := &unpickler{src: src, global: lookupGlobal, call: call}
		v, err := u.load()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return v, nil
	}
	magic, err := plain("magic number")
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch checkpoint: a pickle file, but %w", err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, errors.New("not a PyTorch checkpoint: a pickle file without torch.save's magic number (a plain pickle?)")
	}
	proto, err := plain("protocol version")
	if err != nil {
		return nil, err
	}
	if proto != int64(legacyProtocol) {
		return nil, fmt.Errorf("unsupported legacy protocol version %v (want %d)", proto, legacyProtocol)
	}
	info, err := plain("sys_info")
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pyDict); ok {
		if le, ok := d.get("little_endian"); ok && le != true {
			return nil, errors.New("written on a big-endian machine: only little-endian checkpoints are supported")
		}
	} else {
		return nil, fmt.Errorf("sys_info is %s, not a dict", typeName(info))
	}

	r := newReader()
	u := &unpickler{
		src:    src,
		global: lookupGlobal,
		call:   call,
		persistent: func(pid any) (any, error) {
			if t, ok := pid.(*pyTuple); ok && len(t.items) == 2 && t.items[0] == "module" {
				// A pickled nn.Module's source check: torch returns the
				// class; it stays inert here.
				return t.items[1], nil
			}
			dt, key, numel, rest, err := storageID(pid, 6)
			if err != nil {
				return nil, err
			}
			if rest[0] != nil {
				return nil, fmt.Errorf("storage %q: storage views (PyTorch < 0.4) are not supported", key)
			}
			return r.addStorage(dt, key, numel)
		},
	}
	top, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	keysV, err := plain("storage keys")
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*pyList)
	if !ok {
		return nil, fmt.Errorf("storage keys are %s, not a list", typeName(keysV))
	}
	pos := src.pos
	for _, k := range keys.items {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("storage key %s is not a str", typeName(k))
		}
		st := r.storages[key]
		switch {
		case st == nil:
			return nil, fmt.Errorf("data for storage %q, which no tensor uses (corrupt file)", key)
		case st.located:
			return nil, fmt.Errorf("storage %q appears twice in the key list (corrupt file)", key)
		}
		var hdr [8]byte
		if size-pos < 8 {
			return nil, fmt.Errorf("storage %q: %w", key, errTruncated)
		}
		if n, err := ra.ReadAt(hdr[:], pos); n < len(hdr) {
			return nil, fmt.Errorf("storage %q: %w", key, readErr(err))
		}
		if n := binary.LittleEndian.Uint64(hdr[:]); n != uint64(st.numel) {
			return nil, fmt.Errorf("storage %q: the data holds %d elements, the pickle says %d (corrupt file)", key, n, st.numel)
		}
		pos += 8
		if st.nbytes > size-pos {
			return nil, fmt.Errorf("storage %q: %w", key, errTruncated)
		}
		st.rec, st.located = pos, true
		pos += st.nbytes
	}
	for key, st := range r.storages {
		if !st.located {
			return nil, fmt.Errorf("storage %q: no data in the file (file truncated?)", key)
		}
	}
	r.load = func(st *storage) ([]byte, error) {
		b := make([]byte, st.nbytes)
		if n, err := ra.ReadAt(b, st.rec.(int64)); n < len(b) {
			return nil, readErr(err)
		}
		return b, nil
	}
	return &checkpoint{top: top, r: r}, nil
}
