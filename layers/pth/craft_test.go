package pth_test

// Builders for hand-made checkpoints: pickles opcode by opcode, zip
// archives and legacy files around them, so that tests can make every
// kind of broken file.

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// pk writes a pickle.
type pk struct{ bytes.Buffer }

func newPK() *pk {
	p := &pk{}
	p.Write([]byte{0x80, 2})
	return p
}

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }

func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}

func (p *pk) int(v int64) *pk {
	p.WriteByte('J')
	binary.Write(&p.Buffer, binary.LittleEndian, int32(v))
	return p
}

// long writes v as LONG1 (any int64).
func (p *pk) long(v int64) *pk {
	p.op(0x8a, 8)
	binary.Write(&p.Buffer, binary.LittleEndian, v)
	return p
}

func (p *pk) global(module, name string) *pk {
	p.WriteByte('c')
	p.WriteString(module + "\n" + name + "\n")
	return p
}

func (p *pk) ints(v []int64) *pk {
	p.op('(')
	for _, x := range v {
		p.long(x)
	}
	return p.op('t')
}

// storage writes a zip-format persistent id and BINPERSID.
func (p *pk) storage(class, key string, numel int64) *pk {
	p.op('(').str("storage").global("torch", class).str(key).str("cpu").long(numel).op('t', 'Q')
	return p
}

// legacyStorage writes a legacy persistent id (with view metadata None).
func (p *pk) legacyStorage(class, key string, numel int64) *pk {
	p.op('(').str("storage").global("torch", class).str(key).str("cpu").long(numel).op('N', 't', 'Q')
	return p
}

// tensor writes _rebuild_tensor_v2(storage, offset, size, stride, False,
// OrderedDict()); storage is written by the callback.
func (p *pk) tensor(storage func(*pk), offset int64, size, stride []int64) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	storage(p)
	p.long(offset).ints(size).ints(stride).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

func (p *pk) stop() []byte { p.WriteByte('.'); return p.Bytes() }

// oneTensor is the pickle of {name: tensor} on a zip storage.
func oneTensor(name, class, key string, numel, offset int64, size, stride []int64) []byte {
	p := newPK().op('}').str(name)
	p.tensor(func(p *pk) { p.storage(class, key, numel) }, offset, size, stride)
	return p.op('s').stop()
}

type record struct {
	name string
	data []byte
}

// makeZip writes records as torch does (stored); crc0 leaves the CRCs 0
// (as torch may, and so that archive/zip does not check them).
func makeZip(t testing.TB, crc0 bool, method uint16, recs ...record) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, r := range recs {
		if crc0 && method == zip.Store {
			h := &zip.FileHeader{Name: r.name, Method: zip.Store,
				CompressedSize64: uint64(len(r.data)), UncompressedSize64: uint64(len(r.data))}
			f, err := w.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(r.data)
			continue
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: r.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(r.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zipCkpt is a zip checkpoint "archive/..." with the pickle and storage
// records data/<key>.
func zipCkpt(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	recs := []record{{"archive/data.pkl", pkl}}
	for k, v := range storages {
		recs = append(recs, record{"archive/data/" + k, v})
	}
	recs = append(recs, record{"archive/version", []byte("3\n")})
	return makeZip(t, false, zip.Store, recs...)
}

// rezip copies a zip archive record by record, as stored records with CRC
// 0 (crc0) or with the given method.
func rezip(t testing.TB, b []byte, crc0 bool, method uint16) []byte {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, record{f.Name, data})
	}
	return makeZip(t, crc0, method, recs...)
}

// legacyCkpt is a legacy-format checkpoint: magic, protocol, sys_info, the
// object pickle, the key list and the storages (numel, bytes).
func legacyCkpt(obj []byte, littleEndian bool, keys []string, numels []int64, data [][]byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'})
	b.Write(newPK().op('M', 0xe9, 0x03).stop())
	le := byte(0x88)
	if !littleEndian {
		le = 0x89
	}
	info := newPK().op('}', '(').str("protocol_version").op('M', 0xe9, 0x03).str("little_endian").op(le, 'u')
	b.Write(info.stop())
	b.Write(obj)
	kl := newPK().op(']', '(')
	for _, k := range keys {
		kl.str(k)
	}
	b.Write(kl.op('e').stop())
	for i := range keys {
		binary.Write(&b, binary.LittleEndian, numels[i])
		b.Write(data[i])
	}
	return b.Bytes()
}

func f32bytes(v ...float32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}
