package pth

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/sortnet/sortnet/nn"
)

// autoKeys are the checkpoint entries Read looks in, in this order, when
// the file's top-level dict holds no tensors itself and ReadOpts.Key is
// empty: timm and effdet training checkpoints keep the weights under
// "state_dict" and their EMA under "state_dict_ema"; others use "model"
// and "model_ema".
var autoKeys = []string{"state_dict", "model", "state_dict_ema", "model_ema"}

// ReadOpts chooses the state dict Read returns.
type ReadOpts struct {
	// Key is the top-level entry of a checkpoint dict that holds the
	// state dict, e.g. "state_dict_ema" for timm's EMA weights. Empty
	// means automatic: the top-level dict itself if it holds tensors;
	// else the first of "state_dict", "model", "state_dict_ema" and
	// "model_ema" that holds a dict; else, if no entry holds a dict, the
	// top-level dict again (and the error says what it holds). Any other
	// checkpoint needs Key; StateDicts lists the choices.
	Key string
}

// Read reads the state dict of the PyTorch checkpoint at path, a file
// written by torch.save (.pth, .pt, .bin), and returns its tensors under
// their own names (e.g. "blocks.1.0.conv_dw.weight"). It is
// ReadWith(path, ReadOpts{}); see ReadWith for the details.
func Read(path string) (map[string]*nn.Tensor, error) {
	return ReadWith(path, ReadOpts{})
}

// ReadWith reads the state dict that opts selects from the PyTorch
// checkpoint at path. Both of torch.save's formats are read: the zip
// archive of torch 1.6 and newer, and the older (legacy) pickle format.
//
// Tensors keep PyTorch's shapes and layouts (conv weights [out, in, kh,
// kw], linear weights [out, in]): model loaders convert them. Each one is
// a new contiguous float32 copy, whatever its strides and storage offset
// in the file (channels_last weights, slices, transposes, views that share
// one storage). Storage types are converted as by layers.ReadSafetensors:
// float32 as is; float16, bfloat16 exactly; float64 rounded to nearest;
// int64, int32, int16, int8, uint8 and bool by value (BatchNorm's
// num_batches_tracked is int64), where an integer that float32 cannot
// hold exactly is an error rather than a rounding. Only the storages of
// the returned tensors are read.
//
// Entries of the state dict that are plain data (an epoch number, a
// string, a nested dict or list) are skipped. An entry that is some other
// pickled object (a quantized or sparse tensor, a numpy array) is an
// error naming it, so that no weight is dropped silently. A file that
// pickles a whole model (torch.save(model)) is an error: save
// model.state_dict() instead.
//
// The file is never executed: see the package documentation. Every
// problem is an error naming the file and, where there is one, the
// tensor.
func ReadWith(path string, opts ReadOpts) (map[string]*nn.Tensor, error) {
	var out map[string]*nn.Tensor
	err := withFile(path, func(ra io.ReaderAt, size int64) error {
		var err error
		out, err = parse(ra, size, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pth.Read %s: %w", path, err)
	}
	return out, nil
}

// Parse is ReadWith for a checkpoint held in memory. The returned tensors
// do not share memory with b.
func Parse(b []byte, opts ReadOpts) (map[string]*nn.Tensor, error) {
	out, err := parse(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		return nil, fmt.Errorf("pth.Parse: %w", err)
	}
	return out, nil
}

// StateDicts lists the state dicts the checkpoint at path holds, as the
// values ReadOpts.Key can take: "" if the top-level dict holds tensors
// itself, then every top-level key whose value is a dict holding tensors,
// in the file's order. A timm training checkpoint gives ["state_dict",
// "state_dict_ema"]. No storage is read.
func StateDicts(path string) ([]string, error) {
	var out []string
	err := withFile(path, func(ra io.ReaderAt, size int64) error {
		c, err := open(ra, size)
		if err != nil {
			return err
		}
		top, err := topDict(c.top)
		if err != nil {
			return err
		}
		out = []string{}
		if hasTensors(top) {
			out = append(out, "")
		}
		for i, k := range top.keys {
			if s, ok := k.(string); ok {
				if d, ok := top.vals[i].(*pyDict); ok && hasTensors(d) {
					out = append(out, s)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pth.StateDicts %s: %w", path, err)
	}
	return out, nil
}

// withFile calls fn with the file at path. Regular files are read in place
// (only the pickle and the storages that are needed); anything else is
// read into memory first.
func withFile(path string, fn func(ra io.ReaderAt, size int64) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Mode().IsRegular() {
		return fn(f, st.Size())
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	return fn(bytes.NewReader(b), int64(len(b)))
}

func parse(ra io.ReaderAt, size int64, opts ReadOpts) (map[string]*nn.Tensor, error) {
	c, err := open(ra, size)
	if err != nil {
		return nil, err
	}
	sd, err := selectStateDict(c.top, opts.Key)
	if err != nil {
		return nil, err
	}
	return c.tensors(sd)
}

// topDict checks that the pickled object is a dict.
func topDict(top any) (*pyDict, error) {
	switch v := top.(type) {
	case *pyDict:
		return v, nil
	case *pyObject:
		return nil, fmt.Errorf("the file holds a pickled %s object, not a dict of tensors (torch.save(model)?): in Python, torch.save(model.state_dict(), path)", v.class)
	}
	return nil, fmt.Errorf("the file holds %s, not a dict of tensors", typeName(top))
}

func selectStateDict(top any, key string) (*pyDict, error) {
	d, err := topDict(top)
	if err != nil {
		return nil, err
	}
	if key != "" {
		v, ok := d.get(key)
		if !ok {
			return nil, fmt.Errorf("no entry %q in the checkpoint (%s)", key, describeEntries(d))
		}
		sd, ok := v.(*pyDict)
		if !ok {
			return nil, fmt.Errorf("entry %q holds %s, not a dict of tensors", key, typeName(v))
		}
		return sd, nil
	}
	if hasTensors(d) {
		return d, nil
	}
	for _, k := range autoKeys {
		v, _ := d.get(k)
		if sd, ok := v.(*pyDict); ok {
			return sd, nil
		}
	}
	if !slices.ContainsFunc(d.vals, func(v any) bool { _, ok := v.(*pyDict); return ok }) {
		return d, nil // nothing else to choose: errors will say what it holds
	}
	return nil, fmt.Errorf("no tensors at the top level and no dict under %s: choose the state dict with ReadOpts.Key (%s)",
		strings.Join(quoteAll(autoKeys), ", "), describeEntries(d))
}

func hasTensors(d *pyDict) bool {
	for _, v := range d.vals {
		if _, ok := v.(*tensor); ok {
			return true
		}
	}
	return false
}

// describeEntries lists a dict's keys for an error message, the ones that
// hold dicts first.
func describeEntries(d *pyDict) string {
	var dicts, others []string
	for i, k := range d.keys {
		s := keyString(k)
		if _, ok := d.vals[i].(*pyDict); ok {
			dicts = append(dicts, s)
		} else {
			others = append(others, s)
		}
	}
	const max = 20
	list := func(s []string) string {
		if len(s) > max {
			return strings.Join(s[:max], ", ") + fmt.Sprintf(" and %d more", len(s)-max)
		}
		return strings.Join(s, ", ")
	}
	switch {
	case len(d.keys) == 0:
		return "the dict is empty"
	case len(dicts) == 0:
		return "entries: " + list(others) + "; none holds a dict"
	case len(others) == 0:
		return "entries holding dicts: " + list(dicts)
	}
	return "entries holding dicts: " + list(dicts) + "; other entries: " + list(others)
}

// keyString shows a dict key in a message.
func keyString(k any) string {
	switch k := k.(type) {
	case string:
		if len(k) > 80 {
			k = k[:80] + "…"
		}
		return fmt.Sprintf("%q", k)
	case int64, bool, float64, nil:
		return fmt.Sprint(k)
	}
	return typeName(k)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// tensors materialises the tensors of a state dict.
// A storage's bytes are dropped once its last tensor is copied, so that
// memory holds little more than the converted tensors.
func (c *checkpoint) tensors(sd *pyDict) (map[string]*nn.Tensor, error) {
	for _, v := range sd.vals {
		if t, ok := v.(*tensor); ok {
			t.st.uses++
		}
	}
	out := map[string]*nn.Tensor{}
	for i, k := range sd.keys {
		switch v := sd.vals[i].(type) {
		case *tensor:
			name, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("a tensor is stored under the key %s, not under a name", keyString(k))
			}
			t, err := c.r.materialise(v)
			if err != nil {
				return nil, fmt.Errorf("tensor %q: %w", name, err)
			}
			if v.st.uses--; v.st.uses == 0 {
				v.st.data = nil
			}
			out[name] = t
		case *pyObject, *storage:
			return nil, fmt.Errorf("entry %s holds %s, not a tensor (an unsupported kind of tensor?)", keyString(k), typeName(v))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the state dict holds no tensors (%s)", describeEntries(sd))
	}
	return out, nil
}
