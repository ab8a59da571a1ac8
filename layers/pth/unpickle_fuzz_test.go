package pth

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzUnpickle runs the pickle machine and the state-dict code on raw
// pickles, without the zip container around them (whose CRC stops most
// mutations): persistent ids make zip-format storages whose bytes are
// zeros. Nothing may panic. Run it with
//
//	go test -run='^$' -fuzz=FuzzUnpickle -fuzztime=60s -fuzzminimizetime=2s ./layers/pth/
func FuzzUnpickle(f *testing.F) {
	for _, seed := range [][]byte{
		{0x80, 2, '}', '.'},
		// {"w": _rebuild_tensor_v2(("storage", FloatStorage, "0", "cpu", 6), 0, (2, 3), (3, 1), False, OrderedDict())}
		[]byte("\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x06tQK\x00K\x02K\x03\x86K\x03K\x01\x86\x89ccollections\nOrderedDict\n)RtRs."),
		// protocol 4 with FRAME, MEMOIZE and STACK_GLOBAL
		[]byte("\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94."),
		[]byte("\x80\x02]q\x00(K\x01\x8a\x02\xff\x7fG?\xf0\x00\x00\x00\x00\x00\x00\x88\x89NC\x01a\x8c\x01be."),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReader()
		r.load = func(st *storage) ([]byte, error) {
			if st.nbytes > 1<<20 {
				return nil, errors.New("too large for the fuzz test")
			}
			return make([]byte, st.nbytes), nil
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
				if err == nil {
					st.located = true
				}
				return st, err
			},
		}
		top, err := u.load()
		if err != nil {
			return
		}
		for _, key := range []string{"", "state_dict"} {
			sd, err := selectStateDict(top, key)
			if err != nil {
				continue
			}
			c := &checkpoint{top: top, r: r}
			c.tensors(sd)
		}
	})
}
