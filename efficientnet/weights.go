package efficientnet

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/layers/pth"
	"github.com/sortnet/sortnet/nn"
)

// LoadOptions controls LoadPretrained and LoadStateDict.
type LoadOptions struct {
	// Partial allows the checkpoint to lack some of the model's tensors
	// (they keep their values) and to hold tensors the model does not have
	// (they are ignored). The zero value is strict: both are errors.
	Partial bool
	// NewHead ignores the checkpoint's classifier: the model keeps its own
	// freshly initialised one, whatever its class count (fine-tuning on a
	// new set of classes). The classifier is then neither missing nor
	// unexpected, even when strict.
	NewHead bool
}

// LoadPretrained loads a weight file into m: a .safetensors file
// (layers.ReadSafetensors) or a PyTorch .pth/.pt/.bin checkpoint. The file
// may hold timm or torchvision names in PyTorch's layouts (what
// torch.save(model.state_dict()) and the Hugging Face timm files contain) or
// sortnet's own names and layouts (layers.SaveModule); see LoadStateDict.
// On any error m is unchanged.
func LoadPretrained(m *Model, path string, opts LoadOptions) error {
	sd, err := ReadWeights(path)
	if err != nil {
		return err
	}
	if err := LoadStateDict(m, sd, opts); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadWeights reads a weight file by its extension, as LoadPretrained
// does: .safetensors with layers.ReadSafetensors, .pth, .pt, .bin, .ckpt
// and .tar with layers/pth (nested training checkpoints unwrapped). The
// tensors keep the file's names and layouts. efficientdet reads its
// checkpoints with it too.
func ReadWeights(path string) (map[string]*nn.Tensor, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors":
		sd, _, err := layers.ReadSafetensors(path)
		return sd, err
	case ".pth", ".pt", ".bin", ".ckpt", ".tar":
		return pth.Read(path) // unwraps state_dict/model/state_dict_ema nesting
	}
	return nil, fmt.Errorf("efficientnet: %s: unknown weight file type (want .safetensors, .pth, .pt or .bin)", path)
}

// LoadStateDict copies sd into m. sd may be
//
//   - a PyTorch state dict with timm names (conv_stem.weight,
//     blocks.1.0.conv_dw.weight, …) or torchvision names
//     (features.0.0.weight, features.2.0.block.1.0.weight, classifier.1.weight,
//     …), with PyTorch's layouts (conv [O, I, KH, KW], depthwise
//     [C, 1, KH, KW], linear [Out, In]); or
//   - a sortnet state dict (layers.StateDict: timm names, HWIO, [KH, KW, C],
//     [In, Out]).
//
// The layout is told by the depthwise weights (rank 4 in PyTorch's, rank 3
// in sortnet's). num_batches_tracked entries are skipped, and a "module."
// prefix on every name (nn.DataParallel) is removed. Names the model lacks,
// names sd lacks and shape mismatches are reported together; on any error
// m is unchanged.
func LoadStateDict(m *Model, sd map[string]*nn.Tensor, opts LoadOptions) error {
	conv, origin, err := ConvertStateDict(sd)
	if err != nil {
		return err
	}
	own := layers.StateDict(m)
	isHead := func(name string) bool { return strings.HasPrefix(name, "classifier.") }
	var missing, unexpected, shapes []string
	for _, name := range layers.StateNames(m) {
		t := own[name]
		if opts.NewHead && isHead(name) {
			continue
		}
		src, ok := conv[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		if !nn.SameShape(src.Shape(), t.Shape()) {
			from := ""
			if o := origin[name]; o != name {
				from = " (" + o + ")"
			}
			shapes = append(shapes, fmt.Sprintf("%s: model %v, checkpoint %v%s", name, t.Shape(), src.Shape(), from))
		}
	}
	for name := range conv {
		if opts.NewHead && isHead(name) {
			delete(conv, name)
			continue
		}
		if _, ok := own[name]; !ok {
			unexpected = append(unexpected, name)
			delete(conv, name)
		}
	}
	sort.Strings(unexpected)
	var errs []string
	if len(shapes) > 0 {
		hint := " (a checkpoint of another variant, width or architecture?)"
		if allHead(shapes) {
			hint = " (a different number of classes: use LoadOptions.NewHead to keep the model's own classifier)"
		}
		errs = append(errs, fmt.Sprintf("%d shape mismatches%s: %s", len(shapes), hint, list(shapes)))
	}
	if !opts.Partial {
		if len(missing) > 0 {
			errs = append(errs, fmt.Sprintf("%d tensors missing from the checkpoint: %s", len(missing), list(missing)))
		}
		if len(unexpected) > 0 {
			errs = append(errs, fmt.Sprintf("%d tensors the model does not have: %s", len(unexpected), list(unexpected)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("efficientnet: checkpoint does not fit the model (%s): %s", describe(m.cfg), strings.Join(errs, "; "))
	}
	return layers.LoadStateDict(m, conv, false)
}

func allHead(shapes []string) bool {
	for _, s := range shapes {
		if !strings.HasPrefix(s, "classifier.") {
			return false
		}
	}
	return true
}

// list shows at most 8 names.
func list(names []string) string {
	if len(names) > 8 {
		return strings.Join(names[:8], ", ") + fmt.Sprintf(", … (%d more)", len(names)-8)
	}
	return strings.Join(names, ", ")
}

func describe(c Config) string {
	v := c.Variant
	if v == "" {
		v = fmt.Sprintf("width %v depth %v", c.Width, c.Depth)
	}
	return fmt.Sprintf("%s, %s flavour, %d classes", v, c.Flavour, c.NumClasses)
}

// ConvertStateDict turns a PyTorch-layout state dict with timm or
// torchvision names into sortnet's layouts under timm's names (a sortnet
// state dict is returned as is). origin maps each returned name to the
// name it came from. num_batches_tracked entries are dropped, a "module."
// prefix on every name is removed. Converted tensors are new, the others
// are shared with sd; sd itself is not changed.
func ConvertStateDict(sd map[string]*nn.Tensor) (out map[string]*nn.Tensor, origin map[string]string, err error) {
	sd = layers.TrimStatePrefix(sd, "module.")
	torchvision := false
	pytorch := false
	for name, t := range sd {
		if strings.HasPrefix(name, "features.") || strings.HasPrefix(name, "classifier.1.") {
			torchvision = true
			pytorch = true
		}
		if strings.HasSuffix(name, "conv_dw.weight") && t.Rank() == 4 {
			pytorch = true
		}
	}
	var rename func(string) (string, error)
	if torchvision {
		rename, err = torchvisionRenamer(sd)
		if err != nil {
			return nil, nil, err
		}
	}
	out = make(map[string]*nn.Tensor, len(sd))
	origin = make(map[string]string, len(sd))
	for name, t := range sd {
		if strings.HasSuffix(name, "num_batches_tracked") {
			continue
		}
		to := name
		if rename != nil {
			if to, err = rename(name); err != nil {
				return nil, nil, err
			}
		}
		if prev, dup := origin[to]; dup {
			return nil, nil, fmt.Errorf("efficientnet: checkpoint names %q and %q both map to %q", prev, name, to)
		}
		if pytorch {
			if t, err = fromPyTorch(to, t); err != nil {
				return nil, nil, fmt.Errorf("efficientnet: %s: %w", name, err)
			}
		}
		out[to] = t
		origin[to] = name
	}
	return out, origin, nil
}

// fromPyTorch converts one tensor from PyTorch's layout to sortnet's, by
// its (timm) name and rank: depthwise [C, 1, KH, KW] → [KH, KW, C], other
// conv [O, I, KH, KW] → [KH, KW, I, O], linear [Out, In] → [In, Out],
// vectors as they are.
func fromPyTorch(name string, t *nn.Tensor) (*nn.Tensor, error) {
	s := t.Shape()
	switch {
	case strings.HasSuffix(name, "conv_dw.weight"):
		if len(s) != 4 || s[1] != 1 {
			return nil, fmt.Errorf("depthwise weight %v: want [C 1 KH KW]", s)
		}
		return permute(t, []int{s[0], s[2], s[3]}, []int{1, 2, 0}), nil
	case len(s) == 4:
		return permute(t, s, []int{2, 3, 1, 0}), nil
	case len(s) == 2:
		return permute(t, s, []int{1, 0}), nil
	case len(s) == 1:
		return t.Clone(), nil
	}
	return nil, fmt.Errorf("tensor of shape %v has no place in an EfficientNet", s)
}

// permute returns a tensor of t's data read as shape src with its axes
// reordered: output axis a is source axis perm[a].
func permute(t *nn.Tensor, src []int, perm []int) *nn.Tensor {
	strides := make([]int, len(src))
	st := 1
	for i := len(src) - 1; i >= 0; i-- {
		strides[i] = st
		st *= src[i]
	}
	dims := make([]int, len(perm))
	for a, p := range perm {
		dims[a] = src[p]
	}
	out := nn.New(dims...)
	od, sd := out.Data(), t.Data()
	idx := make([]int, len(dims))
	for o := range od {
		off := 0
		for a, p := range perm {
			off += idx[a] * strides[p]
		}
		od[o] = sd[off]
		for a := len(idx) - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < dims[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out
}

// torchvisionRenamer returns the mapping from torchvision's EfficientNet
// names to timm's for the stages in sd:
//
//	features.0.0.weight               conv_stem.weight
//	features.0.1.*                    bn1.*
//	features.<s>.<b>.block.<i>.0.weight   (ir) i=0 conv_pw, 1 conv_dw, 3 conv_pwl
//	features.<s>.<b>.block.<i>.1.*        (ir) i=0 bn1, 1 bn2, 3 bn3
//	features.<s>.<b>.block.2.fc1.*        (ir) se.conv_reduce.*; fc2 → se.conv_expand.*
//	features.<s>.<b>.block.<i>.…          (no expansion) i=0 conv_dw/bn1, 1 se, 2 conv_pw/bn2
//	features.<H>.0.weight / .1.*      conv_head.weight / bn2.* (H the last index)
//	classifier.1.*                    classifier.*
//
// with blocks.<s-1>.<b> for the block. A block has an expansion conv when
// sd has its block.3.
func torchvisionRenamer(sd map[string]*nn.Tensor) (func(string) (string, error), error) {
	head := -1
	for name := range sd {
		p := strings.Split(name, ".")
		if len(p) == 4 && p[0] == "features" && p[2] == "0" && p[3] == "weight" {
			if s, err := strconv.Atoi(p[1]); err == nil && s > head {
				head = s
			}
		}
	}
	if head < 1 {
		return nil, fmt.Errorf("efficientnet: torchvision state dict without a head conv (features.<n>.0.weight)")
	}
	expanded := map[string]bool{}
	for name := range sd {
		p := strings.Split(name, ".")
		if len(p) > 5 && p[0] == "features" && p[3] == "block" && p[4] == "3" {
			expanded[p[1]+"."+p[2]] = true
		}
	}
	irNames := []string{"conv_pw/bn1", "conv_dw/bn2", "se", "conv_pwl/bn3"}
	dsNames := []string{"conv_dw/bn1", "se", "conv_pw/bn2"}
	return func(name string) (string, error) {
		bad := func() (string, error) {
			return "", fmt.Errorf("efficientnet: %q is not a torchvision EfficientNet name", name)
		}
		p := strings.Split(name, ".")
		switch {
		case len(p) == 3 && p[0] == "classifier" && p[1] == "1":
			return "classifier." + p[2], nil
		case len(p) < 4 || p[0] != "features":
			return bad()
		}
		s, err := strconv.Atoi(p[1])
		if err != nil || s < 0 || s > head {
			return bad()
		}
		if s == 0 || s == head {
			conv, bn := "conv_stem", "bn1"
			if s == head {
				conv, bn = "conv_head", "bn2"
			}
			switch {
			case len(p) == 4 && p[2] == "0" && p[3] == "weight":
				return conv + ".weight", nil
			case len(p) == 4 && p[2] == "1":
				return bn + "." + p[3], nil
			}
			return bad()
		}
		// features.<s>.<b>.block.<i>.<rest…>
		if len(p) < 7 || p[3] != "block" {
			return bad()
		}
		b, err1 := strconv.Atoi(p[2])
		i, err2 := strconv.Atoi(p[4])
		if err1 != nil || err2 != nil || b < 0 {
			return bad()
		}
		names := dsNames
		if expanded[p[1]+"."+p[2]] {
			names = irNames
		}
		if i < 0 || i >= len(names) {
			return bad()
		}
		prefix := fmt.Sprintf("blocks.%d.%d.", s-1, b)
		part := names[i]
		if part == "se" {
			if len(p) != 7 {
				return bad()
			}
			switch p[5] {
			case "fc1":
				return prefix + "se.conv_reduce." + p[6], nil
			case "fc2":
				return prefix + "se.conv_expand." + p[6], nil
			}
			return bad()
		}
		conv, bn, _ := strings.Cut(part, "/")
		switch {
		case len(p) == 7 && p[5] == "0" && p[6] == "weight":
			return prefix + conv + ".weight", nil
		case len(p) == 7 && p[5] == "1":
			return prefix + bn + "." + p[6], nil
		}
		return bad()
	}, nil
}
