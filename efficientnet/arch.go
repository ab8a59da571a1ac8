package efficientnet

import (
	"fmt"
	"strconv"
	"strings"
)

// BlockType is the kind of block a block string builds.
type BlockType int

const (
	// InvertedResidual is timm's "ir" block, the MBConv of EfficientNet:
	// 1×1 expansion, depthwise k×k, squeeze-excite, 1×1 linear projection.
	InvertedResidual BlockType = iota
	// DepthwiseSeparable is timm's "ds" block: depthwise k×k,
	// squeeze-excite, 1×1 projection (EfficientNet's first stage, where the
	// expansion ratio is 1).
	DepthwiseSeparable
	// DepthwiseSeparableAct is timm's "dsa" block: a DepthwiseSeparable
	// with an activation after the projection and never a residual.
	DepthwiseSeparableAct
)

var blockTypeNames = [...]string{InvertedResidual: "ir", DepthwiseSeparable: "ds", DepthwiseSeparableAct: "dsa"}

// String returns timm's prefix for the block type ("ir", "ds", "dsa").
func (t BlockType) String() string {
	if t >= 0 && int(t) < len(blockTypeNames) {
		return blockTypeNames[t]
	}
	return fmt.Sprintf("BlockType(%d)", int(t))
}

// BlockSpec is one decoded timm block string such as
// "ir_r2_k3_s2_e6_c24_se0.25": a block type and its options. Channel counts
// are the unscaled B0 values; the builder applies the width multiplier.
type BlockSpec struct {
	Type        BlockType
	Repeats     int     // r: how many times the block repeats (before depth scaling)
	Kernel      int     // k: depthwise kernel size (odd)
	Stride      int     // s: stride of the first repeat (1 or 2)
	ExpandRatio float64 // e: expansion ratio of an "ir" block (1 for "ds")
	OutChannels int     // c: output channels before width scaling
	SERatio     float64 // se: squeeze-excite ratio of the block's input channels; 0 = no SE
	NoSkip      bool    // noskip: never add a residual connection
	// Act overrides the model's activation for this block: "relu" (nre),
	// "relu6" (nr6), "hard_swish" (nhs) or "silu" (nsw); "" keeps the
	// model's.
	Act       string
	ExpKernel int // a: kernel of the "ir" expansion conv (default 1)
	PwKernel  int // p: kernel of the projection conv (default 1)
}

// ArchError reports a block string that cannot be decoded.
type ArchError struct {
	Block string // the whole block string
	Token string // the offending token, "" if the problem is the string as a whole
	Msg   string
}

func (e *ArchError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("efficientnet: block string %q: %s", e.Block, e.Msg)
	}
	return fmt.Sprintf("efficientnet: block string %q: token %q: %s", e.Block, e.Token, e.Msg)
}

// Limits on decoded values: generous for every published model, small
// enough that a typo cannot ask for a model that does not fit in memory.
const (
	maxRepeats  = 64
	maxKernel   = 31
	maxChannels = 1 << 16
	maxExpand   = 64
	maxSERatio  = 4
)

// activation tokens (timm's n<act>) and the layers.Activation names they
// select. timm also knows "nmi" (mish), which sortnet has no op for.
var actTokens = map[string]string{"re": "relu", "r6": "relu6", "hs": "hard_swish", "sw": "silu"}

// DecodeBlock decodes one timm block string. The first token is the block
// type (ir, ds, dsa); the others, in any order, are
//
//	r<int>   repeats (required)
//	k<int>   depthwise kernel size, odd (required)
//	s<int>   stride, 1 or 2 (required)
//	e<num>   expansion ratio (required for ir; must be 1 if given for ds/dsa)
//	c<int>   output channels (required)
//	se<num>  squeeze-excite ratio (default 0: none)
//	a<int>   expansion conv kernel, ir only (default 1)
//	p<int>   projection conv kernel (default 1)
//	noskip   no residual connection
//	skip     residual connection where shapes allow (the default)
//	nre, nr6, nhs, nsw  activation override: relu, relu6, hard_swish, silu
//
// Unlike timm, which skips what it does not understand, every unknown,
// repeated, malformed or out-of-range token is an *ArchError naming the
// token and the string. Block types and options timm has but this package
// does not build (er, cn, uir, mha, mqa; mixed kernels "k3.5.7"; group
// size gs, CondConv cc, space-to-depth d, fc; mish nmi) are errors saying
// they are unsupported.
func DecodeBlock(s string) (BlockSpec, error) {
	fail := func(tok, format string, args ...any) (BlockSpec, error) {
		return BlockSpec{}, &ArchError{Block: s, Token: tok, Msg: fmt.Sprintf(format, args...)}
	}
	if s == "" {
		return fail("", "empty")
	}
	toks := strings.Split(s, "_")
	var spec BlockSpec
	switch toks[0] {
	case "ir":
		spec.Type = InvertedResidual
	case "ds":
		spec.Type = DepthwiseSeparable
	case "dsa":
		spec.Type = DepthwiseSeparableAct
	case "er", "cn", "uir", "mha", "mqa":
		return fail(toks[0], "block type %q is not supported (supported: ir, ds, dsa)", toks[0])
	default:
		return fail(toks[0], "unknown block type (want ir, ds or dsa)")
	}
	seen := map[string]bool{}
	var skip, noskip bool
	for _, tok := range toks[1:] {
		if tok == "" {
			return fail("", "empty token (doubled or trailing underscore)")
		}
		var key, val string
		switch {
		case tok == "noskip" || tok == "skip":
			key = tok
		case tok[0] == 'n':
			key = "n"
			val = tok[1:]
		default:
			i := 0
			for i < len(tok) && tok[i] >= 'a' && tok[i] <= 'z' {
				i++
			}
			key, val = tok[:i], tok[i:]
		}
		if seen[key] {
			return fail(tok, "option %q given twice", key)
		}
		seen[key] = true
		switch key {
		case "noskip":
			noskip = true
			continue
		case "skip":
			skip = true
			continue
		case "n":
			act, ok := actTokens[val]
			if !ok {
				if val == "mi" {
					return fail(tok, "mish activation is not supported")
				}
				return fail(tok, "unknown activation (want nre, nr6, nhs or nsw)")
			}
			spec.Act = act
			continue
		case "fc", "d", "cc", "gs", "h", "v":
			return fail(tok, "option %q is not supported", key)
		case "":
			return fail(tok, "token must start with an option name")
		case "r", "c", "s", "k", "a", "p", "e", "se":
		default:
			return fail(tok, "unknown option %q", key)
		}
		if val == "" {
			return fail(tok, "option %q has no value", key)
		}
		switch key {
		case "r", "c", "s", "k", "a", "p":
			if key == "k" && strings.Contains(val, ".") {
				return fail(tok, "mixed kernel sizes are not supported")
			}
			n, ok := parseUint(val)
			if !ok {
				return fail(tok, "want a whole number after %q", key)
			}
			switch key {
			case "r":
				if n < 1 || n > maxRepeats {
					return fail(tok, "repeats %d outside [1, %d]", n, maxRepeats)
				}
				spec.Repeats = n
			case "c":
				if n < 1 || n > maxChannels {
					return fail(tok, "channels %d outside [1, %d]", n, maxChannels)
				}
				spec.OutChannels = n
			case "s":
				if n != 1 && n != 2 {
					return fail(tok, "stride %d: must be 1 or 2", n)
				}
				spec.Stride = n
			default: // kernels
				if n < 1 || n > maxKernel || n%2 == 0 {
					return fail(tok, "kernel %d: must be odd and in [1, %d]", n, maxKernel)
				}
				switch key {
				case "k":
					spec.Kernel = n
				case "a":
					if spec.Type != InvertedResidual {
						return fail(tok, "expansion kernel is only for ir blocks")
					}
					spec.ExpKernel = n
				case "p":
					spec.PwKernel = n
				}
			}
		case "e", "se":
			f, ok := parseDecimal(val)
			if !ok {
				return fail(tok, "want a decimal number after %q", key)
			}
			if key == "e" {
				if !(f > 0 && f <= maxExpand) {
					return fail(tok, "expansion ratio %v outside (0, %d]", f, maxExpand)
				}
				if spec.Type != InvertedResidual && f != 1 {
					return fail(tok, "%s blocks have no expansion: ratio must be 1", spec.Type)
				}
				spec.ExpandRatio = f
			} else {
				if f > maxSERatio {
					return fail(tok, "squeeze-excite ratio %v above %d", f, maxSERatio)
				}
				spec.SERatio = f
			}
		}
	}
	if skip && noskip {
		return fail("skip", "contradicts noskip")
	}
	spec.NoSkip = noskip
	for _, req := range []string{"r", "k", "s", "c"} {
		if !seen[req] {
			return fail("", "missing required option %q", req)
		}
	}
	if spec.Type == InvertedResidual && !seen["e"] {
		return fail("", "ir block needs an expansion ratio e")
	}
	if spec.Type != InvertedResidual {
		spec.ExpandRatio = 1
	}
	if spec.ExpKernel == 0 {
		spec.ExpKernel = 1
	}
	if spec.PwKernel == 0 {
		spec.PwKernel = 1
	}
	return spec, nil
}

// parseUint accepts one or more ASCII digits (at most 9).
func parseUint(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// parseDecimal accepts digits with an optional fraction: "6", "0.25", "1.".
// No signs, exponents, NaN or Inf.
func parseDecimal(s string) (float64, bool) {
	if s == "" || len(s) > 24 || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && !dot:
			dot = true
		case c >= '0' && c <= '9':
		default:
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// String encodes the spec back into a timm block string in a fixed order
// (type, r, k, s, e, c, se, a, p, noskip, n); DecodeBlock(b.String())
// returns b.
func (b BlockSpec) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s_r%d_k%d_s%d_e%s_c%d", b.Type, b.Repeats, b.Kernel, b.Stride, fmtNum(b.ExpandRatio), b.OutChannels)
	if b.SERatio != 0 {
		sb.WriteString("_se" + fmtNum(b.SERatio))
	}
	if b.ExpKernel > 1 {
		fmt.Fprintf(&sb, "_a%d", b.ExpKernel)
	}
	if b.PwKernel > 1 {
		fmt.Fprintf(&sb, "_p%d", b.PwKernel)
	}
	if b.NoSkip {
		sb.WriteString("_noskip")
	}
	if b.Act != "" {
		for tok, act := range actTokens {
			if act == b.Act {
				sb.WriteString("_n" + tok)
			}
		}
	}
	return sb.String()
}

// fmtNum formats a ratio without exponent so that parseDecimal reads it.
func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// DecodeArch decodes an architecture definition: one list of block strings
// per stage. An empty definition or stage is an error.
func DecodeArch(def [][]string) ([][]BlockSpec, error) {
	if len(def) == 0 {
		return nil, fmt.Errorf("efficientnet: architecture has no stages")
	}
	out := make([][]BlockSpec, len(def))
	for i, stage := range def {
		if len(stage) == 0 {
			return nil, fmt.Errorf("efficientnet: architecture stage %d has no blocks", i)
		}
		for _, s := range stage {
			b, err := DecodeBlock(s)
			if err != nil {
				return nil, fmt.Errorf("stage %d: %w", i, err)
			}
			out[i] = append(out[i], b)
		}
	}
	return out, nil
}

// EfficientNetArch returns EfficientNet-B0's architecture definition as
// timm writes it (_gen_efficientnet); every B-variant scales it. The slice
// is a fresh copy.
func EfficientNetArch() [][]string {
	return [][]string{
		{"ds_r1_k3_s1_e1_c16_se0.25"},
		{"ir_r2_k3_s2_e6_c24_se0.25"},
		{"ir_r2_k5_s2_e6_c40_se0.25"},
		{"ir_r3_k3_s2_e6_c80_se0.25"},
		{"ir_r3_k5_s1_e6_c112_se0.25"},
		{"ir_r4_k5_s2_e6_c192_se0.25"},
		{"ir_r1_k3_s1_e6_c320_se0.25"},
	}
}
