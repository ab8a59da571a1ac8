package efficientdet

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// LoadOptions controls LoadPretrained and LoadStateDict.
type LoadOptions struct {
	// Partial allows the checkpoint to lack some of the model's tensors
	// (they keep their values) and to hold tensors the model does not
	// have (they are ignored). The zero value is strict.
	Partial bool
	// NewHead ignores the checkpoint's class net: the model keeps its own
	// freshly initialised one, whatever its class count, as effdet's
	// reset_head does when a pretrained model is fine-tuned on other
	// classes. The class net is then neither missing nor unexpected.
	NewHead bool
	// BackboneOnly loads an EfficientNet classifier checkpoint (timm or
	// torchvision names, or sortnet's) into the backbone alone: its head
	// conv and classifier are ignored and the BiFPN and heads keep their
	// initialisation.
	BackboneOnly bool
}

// LoadPretrained loads a weight file into m: a .safetensors file or a
// PyTorch .pth/.pt/.bin checkpoint, read as efficientnet.LoadPretrained
// reads them (layers/pth, nested training checkpoints unwrapped). The file
// holds an effdet model's state dict in PyTorch's layouts (what effdet's
// released tf_efficientdet_dX and efficientdet_dX weights are), or
// sortnet's own (layers.SaveModule); with BackboneOnly, an EfficientNet
// classifier's. On any error m is unchanged.
func LoadPretrained(m *Model, path string, opts LoadOptions) error {
	sd, err := efficientnet.ReadWeights(path)
	if err != nil {
		return err
	}
	if err := LoadStateDict(m, sd, opts); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// LoadStateDict copies sd into m. sd holds effdet's names
// (backbone.conv_stem.weight, fpn.cell.0.fnode.0.combine.edge_weights,
// class_net.predict.conv_pw.bias, …) in PyTorch's layouts (conv [O, I, KH,
// KW], depthwise [C, 1, KH, KW]) or sortnet's (HWIO, [KH, KW, C]); a
// "module." or "model." prefix on every name, num_batches_tracked entries
// and effdet's bench buffer anchors.boxes are dropped. With BackboneOnly sd
// is an EfficientNet classifier's state dict (see
// efficientnet.LoadStateDict). Names the model lacks, names sd lacks and
// shape mismatches are reported together; on any error m is unchanged.
func LoadStateDict(m *Model, sd map[string]*nn.Tensor, opts LoadOptions) error {
	if opts.BackboneOnly {
		return loadBackbone(m, sd, opts)
	}
	for _, p := range []string{"module.", "model."} {
		sd = layers.TrimStatePrefix(sd, p)
	}
	if _, ok := sd["anchors.boxes"]; ok {
		cp := make(map[string]*nn.Tensor, len(sd))
		for name, t := range sd {
			if name != "anchors.boxes" {
				cp[name] = t
			}
		}
		sd = cp
	}
	conv, origin, err := efficientnet.ConvertStateDict(sd)
	if err != nil {
		return fmt.Errorf("efficientdet: %w", err)
	}
	own := layers.StateDict(m)
	skip := func(name string) bool { return opts.NewHead && strings.HasPrefix(name, "class_net.") }
	var missing, unexpected, shapes []string
	for _, name := range layers.StateNames(m) {
		if skip(name) {
			continue
		}
		src, ok := conv[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		if t := own[name]; !nn.SameShape(src.Shape(), t.Shape()) {
			from := ""
			if o := origin[name]; o != name {
				from = " (" + o + ")"
			}
			shapes = append(shapes, fmt.Sprintf("%s: model %v, checkpoint %v%s", name, t.Shape(), src.Shape(), from))
		}
	}
	for name := range conv {
		if skip(name) {
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
		hint := " (a checkpoint of another variant, flavour or width?)"
		if allPrefixed(shapes, "class_net.predict.") {
			hint = " (a different number of classes: use LoadOptions.NewHead to keep the model's own class net)"
		}
		errs = append(errs, fmt.Sprintf("%d shape mismatches%s: %s", len(shapes), hint, list(shapes)))
	}
	if !opts.Partial {
		if len(missing) > 0 {
			hint := ""
			if allSuffixed(missing, ".conv_pw.bias", ".conv.conv.bias") {
				hint = flavourHint
			}
			errs = append(errs, fmt.Sprintf("%d tensors missing from the checkpoint%s: %s", len(missing), hint, list(missing)))
		}
		if len(unexpected) > 0 {
			hint := ""
			if allSuffixed(unexpected, ".conv_pw.bias", ".conv.conv.bias") {
				hint = flavourHint
			}
			errs = append(errs, fmt.Sprintf("%d tensors the model does not have%s: %s", len(unexpected), hint, list(unexpected)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("efficientdet: checkpoint does not fit the model (%s): %s", m.describe(), strings.Join(errs, "; "))
	}
	return layers.LoadStateDict(m, conv, false)
}

const flavourHint = " (only conv biases: a tf_efficientdet_dX checkpoint needs Flavour TF, an efficientdet_dX one Flavour PyTorch)"

// loadBackbone loads an EfficientNet classifier's weights into the
// backbone through a scratch classifier of the same architecture.
func loadBackbone(m *Model, sd map[string]*nn.Tensor, opts LoadOptions) error {
	for _, p := range []string{"module.", "model."} {
		sd = layers.TrimStatePrefix(sd, p)
	}
	conv, _, err := efficientnet.ConvertStateDict(sd)
	if err != nil {
		return fmt.Errorf("efficientdet: %w", err)
	}
	bb := map[string]*nn.Tensor{}
	for name, t := range conv {
		if strings.HasPrefix(name, "conv_head.") || strings.HasPrefix(name, "bn2.") || strings.HasPrefix(name, "classifier.") {
			continue
		}
		bb[name] = t
	}
	// Check names and shapes against the backbone alone.
	own := layers.StateDict(m.Backbone)
	var missing, unexpected, shapes []string
	for name, t := range own {
		src, ok := bb[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case !nn.SameShape(src.Shape(), t.Shape()):
			shapes = append(shapes, fmt.Sprintf("%s: model %v, checkpoint %v", name, t.Shape(), src.Shape()))
		}
	}
	for name := range bb {
		if _, ok := own[name]; !ok {
			unexpected = append(unexpected, name)
			delete(bb, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	sort.Strings(shapes)
	var errs []string
	if len(shapes) > 0 {
		errs = append(errs, fmt.Sprintf("%d shape mismatches (a checkpoint of another EfficientNet variant?): %s", len(shapes), list(shapes)))
	}
	if !opts.Partial {
		if len(missing) > 0 {
			errs = append(errs, fmt.Sprintf("%d backbone tensors missing from the checkpoint: %s", len(missing), list(missing)))
		}
		if len(unexpected) > 0 {
			errs = append(errs, fmt.Sprintf("%d tensors the backbone does not have: %s", len(unexpected), list(unexpected)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("efficientdet: backbone checkpoint does not fit (%s): %s", m.describe(), strings.Join(errs, "; "))
	}
	return layers.LoadStateDict(m.Backbone, bb, false)
}

func (m *Model) describe() string {
	c := m.cfg
	v := c.Variant
	if v == "" {
		v = fmt.Sprintf("%d channels, %d cells", c.FPNChannels, c.FPNCells)
	}
	return fmt.Sprintf("%s, %s flavour, %d classes", v, c.Flavour, c.NumClasses)
}

func allPrefixed(names []string, prefix string) bool {
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			return false
		}
	}
	return true
}

func allSuffixed(names []string, suffixes ...string) bool {
	for _, n := range names {
		ok := false
		for _, s := range suffixes {
			ok = ok || strings.HasSuffix(n, s)
		}
		if !ok {
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
