package train

// A checkpoint is one safetensors file:
//
//	tensors   "model.<name>"  the model's parameters and buffers (layers.StateDict)
//	          "optim.<key>"   the optimizer's StateDict, if saved
//	          "ema.<key>"     the EMA's StateDict, if saved
//	metadata  "sortnet.format" = "checkpoint", "sortnet.version" = "1"
//	          "epoch", "step", "best_metric" (strconv 'g', exact), "metric"
//	          "config"        the run's configuration, JSON
//	          "optimizer"     the optimizer's Go type ("*optim.Adam"), if saved
//	          "ema"           "true" if EMA state is saved
//	          "rng.<name>"    base64 of each RNG's MarshalBinary
//	          "extra.<key>"   the caller's own strings

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// RNG is a random source whose state can be saved and restored: *rand.PCG
// and *rand.ChaCha8 from math/rand/v2. A *rand.Rand keeps no state of its
// own beyond its source, so restoring the source restores the Rand built
// on it.
type RNG interface {
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// State is the live training state that SaveCheckpoint saves and
// LoadCheckpoint restores. Only Model is required.
type State struct {
	// Model's parameters and buffers are saved under their dotted names
	// and restored strictly: the checkpoint must hold exactly the model's
	// names with the same shapes.
	Model layers.Module
	// Optimizer, if set, has its StateDict saved; on load the checkpoint
	// must hold the state of an optimizer of the same type.
	Optimizer optim.Optimizer
	// EMA, if set, has its averages and update count saved.
	EMA *optim.EMA
	// RNGs are the named random sources of the run ("data", "dropout",
	// "augment"); each is saved, and each must be in the checkpoint on load.
	RNGs map[string]RNG
}

// Meta is the bookkeeping stored with a checkpoint.
type Meta struct {
	// Epoch and Step are the caller's counters, stored as given
	// (conventionally completed epochs and optimizer steps).
	Epoch, Step int
	// BestMetric is the best validation score so far and Metric the name
	// of what it measures ("balanced_accuracy"); both are optional. The
	// value round-trips exactly, NaN and infinities included.
	BestMetric float64
	Metric     string
	// Config is the run's configuration as JSON, so that a checkpoint
	// says how it was made. It must be valid JSON if set.
	Config json.RawMessage
	// Extra holds any other strings the caller wants to keep.
	Extra map[string]string
}

const (
	ckptFormatKey  = "sortnet.format"
	ckptFormat     = "checkpoint"
	ckptVersionKey = "sortnet.version"
	ckptVersion    = "1"

	prefixModel = "model."
	prefixOptim = "optim."
	prefixEMA   = "ema."
	prefixRNG   = "rng."
	prefixExtra = "extra."
)

// NonFiniteError reports a NaN or infinite value in a tensor that was
// about to be saved. Tensor is the tensor's name in the checkpoint
// ("model.fc.weight", "optim.exp_avg.fc.weight", "ema.fc.weight").
type NonFiniteError struct {
	Tensor string
	Index  int     // flat index of the first bad element
	Value  float32 // NaN, +Inf or -Inf
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("tensor %s holds %v at element %d", e.Tensor, e.Value, e.Index)
}

// SaveCheckpoint writes s and meta to path as one safetensors file (see
// layers.WriteSafetensors: written under a temporary name, synced and
// renamed, so path holds the old file or the complete new one, never a
// partial one).
//
// It refuses to write a checkpoint holding a NaN or an infinity in the
// model, optimizer or EMA tensors: the error wraps a *NonFiniteError naming
// the first bad tensor (model first, then optimizer, then EMA, each in name
// order), and path is left as it was.
func SaveCheckpoint(path string, s State, meta Meta) error {
	tensors, md, err := encodeCheckpoint(s, meta)
	if err != nil {
		return fmt.Errorf("train.SaveCheckpoint %s: %w", path, err)
	}
	if err := layers.WriteSafetensors(path, tensors, md); err != nil {
		return fmt.Errorf("train.SaveCheckpoint: %w", err)
	}
	return nil
}

func encodeCheckpoint(s State, meta Meta) (map[string]*nn.Tensor, map[string]string, error) {
	if s.Model == nil {
		return nil, nil, errors.New("State.Model is nil")
	}
	tensors := map[string]*nn.Tensor{}
	add := func(prefix string, sd map[string]*nn.Tensor) error {
		for _, name := range slices.Sorted(maps.Keys(sd)) {
			t := sd[name]
			if t == nil {
				return fmt.Errorf("tensor %s%s is nil", prefix, name)
			}
			for i, v := range t.Data() {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("refusing to save non-finite values: %w", &NonFiniteError{Tensor: prefix + name, Index: i, Value: v})
				}
			}
			tensors[prefix+name] = t
		}
		return nil
	}
	md := map[string]string{
		ckptFormatKey:  ckptFormat,
		ckptVersionKey: ckptVersion,
		"epoch":        strconv.Itoa(meta.Epoch),
		"step":         strconv.Itoa(meta.Step),
		"best_metric":  strconv.FormatFloat(meta.BestMetric, 'g', -1, 64),
	}
	if err := add(prefixModel, layers.StateDict(s.Model)); err != nil {
		return nil, nil, err
	}
	if s.Optimizer != nil {
		if err := add(prefixOptim, s.Optimizer.StateDict()); err != nil {
			return nil, nil, err
		}
		md["optimizer"] = fmt.Sprintf("%T", s.Optimizer)
	}
	if s.EMA != nil {
		if err := add(prefixEMA, s.EMA.StateDict()); err != nil {
			return nil, nil, err
		}
		md["ema"] = "true"
	}
	if meta.Metric != "" {
		md["metric"] = meta.Metric
	}
	if len(meta.Config) > 0 {
		if !json.Valid(meta.Config) {
			return nil, nil, errors.New("Meta.Config is not valid JSON")
		}
		md["config"] = string(meta.Config)
	}
	for _, name := range slices.Sorted(maps.Keys(s.RNGs)) {
		r := s.RNGs[name]
		if name == "" || r == nil {
			return nil, nil, fmt.Errorf("RNG %q: empty name or nil source", name)
		}
		b, err := r.MarshalBinary()
		if err != nil {
			return nil, nil, fmt.Errorf("RNG %q: %w", name, err)
		}
		md[prefixRNG+name] = base64.StdEncoding.EncodeToString(b)
	}
	for k, v := range meta.Extra {
		if k == "" {
			return nil, nil, errors.New("Meta.Extra has an empty key")
		}
		md[prefixExtra+k] = v
	}
	return tensors, md, nil
}

// LoadCheckpoint reads the checkpoint at path into s and returns its Meta.
//
// The model is loaded strictly: a checkpoint of another architecture is an
// error listing the missing, unexpected and mis-shaped tensors. If s has an
// Optimizer, the checkpoint must hold the state of an optimizer of the same
// type over the same parameters; if s has an EMA, its state; every RNG in
// s must be in the checkpoint. Parts of the checkpoint that s does not ask
// for (the optimizer state when loading a model for evaluation, other RNGs)
// are ignored.
//
// Loading is all or nothing: on any error, the model, optimizer, EMA and
// RNGs of s are left exactly as they were. A file that is not a sortnet
// checkpoint (plain weights from layers.SaveModule, a corrupt or truncated
// file) is an error that says so.
func LoadCheckpoint(path string, s State) (Meta, error) {
	meta, err := loadCheckpoint(path, s)
	if err != nil {
		return Meta{}, fmt.Errorf("train.LoadCheckpoint %s: %w", path, err)
	}
	return meta, nil
}

func loadCheckpoint(path string, s State) (Meta, error) {
	if s.Model == nil {
		return Meta{}, errors.New("State.Model is nil")
	}
	tensors, md, err := layers.ReadSafetensors(path)
	if err != nil {
		return Meta{}, err
	}
	meta, err := decodeMeta(md)
	if err != nil {
		return Meta{}, err
	}
	parts := map[string]map[string]*nn.Tensor{prefixModel: {}, prefixOptim: {}, prefixEMA: {}}
	for name, t := range tensors {
		prefix, _, _ := strings.Cut(name, ".")
		part, ok := parts[prefix+"."]
		if !ok {
			return Meta{}, fmt.Errorf("tensor %q belongs to no part of a checkpoint (model., optim., ema.)", name)
		}
		part[strings.TrimPrefix(name, prefix+".")] = t
	}
	rngs := map[string][]byte{}
	for name := range s.RNGs {
		if s.RNGs[name] == nil {
			return Meta{}, fmt.Errorf("RNG %q is nil", name)
		}
		enc, ok := md[prefixRNG+name]
		if !ok {
			return Meta{}, fmt.Errorf("checkpoint holds no RNG %q (it has %s)", name, listWithPrefix(md, prefixRNG))
		}
		b, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return Meta{}, fmt.Errorf("RNG %q: corrupt state: %w", name, err)
		}
		rngs[name] = b
	}
	if s.Optimizer != nil {
		saved, ok := md["optimizer"]
		want := fmt.Sprintf("%T", s.Optimizer)
		switch {
		case !ok:
			return Meta{}, errors.New("checkpoint holds no optimizer state")
		case saved != want:
			return Meta{}, fmt.Errorf("checkpoint holds the state of a %s, the optimizer is a %s", saved, want)
		}
	}
	if s.EMA != nil && md["ema"] != "true" {
		return Meta{}, errors.New("checkpoint holds no EMA state")
	}

	// Apply the parts one by one; on failure undo those already applied.
	var undo []func()
	rollback := func(err error) (Meta, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return Meta{}, err
	}
	modelBefore := cloneAll(layers.StateDict(s.Model))
	if err := layers.LoadStateDict(s.Model, parts[prefixModel], true); err != nil {
		return Meta{}, fmt.Errorf("model does not match the checkpoint: %w", err)
	}
	undo = append(undo, func() { _ = layers.LoadStateDict(s.Model, modelBefore, true) })
	if s.Optimizer != nil {
		before := s.Optimizer.StateDict()
		if err := s.Optimizer.LoadStateDict(parts[prefixOptim]); err != nil {
			return rollback(fmt.Errorf("optimizer state: %w", err))
		}
		undo = append(undo, func() { _ = s.Optimizer.LoadStateDict(before) })
	}
	if s.EMA != nil {
		before := s.EMA.StateDict()
		if err := s.EMA.LoadStateDict(parts[prefixEMA]); err != nil {
			return rollback(fmt.Errorf("EMA state: %w", err))
		}
		undo = append(undo, func() { _ = s.EMA.LoadStateDict(before) })
	}
	for _, name := range slices.Sorted(maps.Keys(rngs)) {
		r := s.RNGs[name]
		before, err := r.MarshalBinary()
		if err != nil {
			return rollback(fmt.Errorf("RNG %q: %w", name, err))
		}
		if err := r.UnmarshalBinary(rngs[name]); err != nil {
			_ = r.UnmarshalBinary(before)
			return rollback(fmt.Errorf("RNG %q: corrupt state: %w", name, err))
		}
		undo = append(undo, func() { _ = r.UnmarshalBinary(before) })
	}
	return meta, nil
}

func cloneAll(sd map[string]*nn.Tensor) map[string]*nn.Tensor {
	out := make(map[string]*nn.Tensor, len(sd))
	for k, t := range sd {
		out[k] = t.Clone()
	}
	return out
}

func listWithPrefix(md map[string]string, prefix string) string {
	var names []string
	for k := range md {
		if n, ok := strings.CutPrefix(k, prefix); ok {
			names = append(names, strconv.Quote(n))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func decodeMeta(md map[string]string) (Meta, error) {
	if md[ckptFormatKey] != ckptFormat {
		return Meta{}, errors.New("not a sortnet checkpoint (no sortnet.format metadata); plain weights load with layers.LoadModule")
	}
	if v := md[ckptVersionKey]; v != ckptVersion {
		return Meta{}, fmt.Errorf("checkpoint format version %q, this sortnet reads version %s", v, ckptVersion)
	}
	var m Meta
	var err error
	if m.Epoch, err = strconv.Atoi(md["epoch"]); err != nil {
		return Meta{}, fmt.Errorf("corrupt epoch metadata: %w", err)
	}
	if m.Step, err = strconv.Atoi(md["step"]); err != nil {
		return Meta{}, fmt.Errorf("corrupt step metadata: %w", err)
	}
	if m.BestMetric, err = strconv.ParseFloat(md["best_metric"], 64); err != nil {
		return Meta{}, fmt.Errorf("corrupt best_metric metadata: %w", err)
	}
	m.Metric = md["metric"]
	if c, ok := md["config"]; ok {
		if !json.Valid([]byte(c)) {
			return Meta{}, errors.New("corrupt config metadata: not valid JSON")
		}
		m.Config = json.RawMessage(c)
	}
	for k, v := range md {
		if name, ok := strings.CutPrefix(k, prefixExtra); ok {
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[name] = v
		}
	}
	return m, nil
}

// ReadCheckpointMeta returns the Meta of the checkpoint at path, reading
// only the file's header (not its tensors): a cheap way to look at the
// epoch, step and best metric of many checkpoints.
func ReadCheckpointMeta(path string) (Meta, error) {
	md, err := readSafetensorsMetadata(path)
	if err == nil {
		var m Meta
		if m, err = decodeMeta(md); err == nil {
			return m, nil
		}
	}
	return Meta{}, fmt.Errorf("train.ReadCheckpointMeta %s: %w", path, err)
}

// maxHeader is the largest safetensors header read (layers' own limit).
const maxHeader = 100 << 20

// readSafetensorsMetadata reads the "__metadata__" member of a safetensors
// header. The tensors are not checked: LoadCheckpoint does that.
func readSafetensorsMetadata(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("not a safetensors file: reading the header length: %w", err)
	}
	if n > maxHeader {
		return nil, fmt.Errorf("not a safetensors file: header length %d exceeds %d", n, maxHeader)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, fmt.Errorf("not a safetensors file: header of %d bytes: %w", n, err)
	}
	var h struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(hdr, &h); err != nil {
		return nil, fmt.Errorf("corrupt safetensors header: %w", err)
	}
	if h.Meta == nil {
		h.Meta = map[string]string{}
	}
	return h.Meta, nil
}
