package efficientdet

import (
	"fmt"
	"strconv"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// group is a parameter-free container that names its children, like
// PyTorch's ModuleList and ModuleDict (children "0", "1", … or keyed).
type group []layers.Child

func (g group) Members() layers.Members { return layers.Members{Children: g} }

// indexed returns a group naming each module by its index.
func indexed[M layers.Module](ms []M) group {
	g := make(group, len(ms))
	for i, m := range ms {
		g[i] = layers.Child{Name: strconv.Itoa(i), Module: m}
	}
	return g
}

// SeparableConv is effdet's SeparableConv2d without activation: a
// depthwise 3×3 convolution (no bias), a pointwise 1×1 convolution (bias
// optional) and, in the BiFPN, batch norm.
//
// Children: conv_dw, conv_pw, bn (effdet's names).
type SeparableConv struct {
	ConvDw *layers.DepthwiseConv2d
	ConvPw *layers.Conv2d
	BN     *layers.BatchNorm2d // nil in the heads (their norms are per level)
}

// Forward runs the convolutions and the norm on x [N, H, W, Cin].
func (s *SeparableConv) Forward(x *nn.Var) *nn.Var {
	y := s.ConvDw.Forward(x)
	y = then(y, func(v *nn.Var) *nn.Var { return conv(s.ConvPw, v) })
	if s.BN != nil {
		y = then(y, s.BN.Forward)
	}
	return y
}

// Members lists conv_dw, conv_pw and bn.
func (s *SeparableConv) Members() layers.Members {
	ch := []layers.Child{{Name: "conv_dw", Module: s.ConvDw}, {Name: "conv_pw", Module: s.ConvPw}}
	if s.BN != nil {
		ch = append(ch, layers.Child{Name: "bn", Module: s.BN})
	}
	return layers.Members{Children: ch}
}

// ConvBN is effdet's ConvBnAct2d as the resampling uses it: a 1×1
// convolution and batch norm, no activation. Children: conv, bn.
type ConvBN struct {
	Conv *layers.Conv2d
	BN   *layers.BatchNorm2d
}

// Forward runs the convolution and the norm.
func (c *ConvBN) Forward(x *nn.Var) *nn.Var { return then(conv(c.Conv, x), c.BN.Forward) }

// conv is c.Forward(x) that, under nn.NoGrad, recycles the convolution's
// output before the bias is added (layers.Conv2d keeps it).
func conv(c *layers.Conv2d, x *nn.Var) *nn.Var {
	y := nn.Conv2d(x, c.Weight, c.Opts)
	if c.Bias == nil {
		return y
	}
	return then(y, func(v *nn.Var) *nn.Var { return nn.Add(v, c.Bias) })
}

// Members lists conv and bn.
func (c *ConvBN) Members() layers.Members {
	return layers.Members{Children: []layers.Child{{Name: "conv", Module: c.Conv}, {Name: "bn", Module: c.BN}}}
}

// Resample is effdet's ResampleFeatureMap: it brings a feature map of one
// pyramid level to another level's width and size. A 1×1 convolution with
// batch norm changes the channels when they differ (Conv; nil otherwise);
// then a finer map is max-pooled 3×3 with stride 2 (TensorFlow "SAME"
// padding in the TF flavour, 1 on each side otherwise) and a coarser one
// upsampled ×2 by nearest neighbour and cropped to the target size (what
// effdet's interpolation to the target size does when the finer size is
// odd). Child: conv.
type Resample struct {
	Conv              *ConvBN
	InLevel, OutLevel int
	tf                bool
}

// Forward resamples x to the level OutLevel of size h×w.
func (r *Resample) Forward(x *nn.Var, h, w int) *nn.Var {
	y := x
	if r.Conv != nil {
		y = r.Conv.Forward(y)
	}
	switch {
	case r.InLevel < r.OutLevel:
		pad := nn.Pad(1)
		if r.tf {
			pad = nn.SamePadding()
		}
		for range r.OutLevel - r.InLevel {
			z := nn.MaxPool2d(y, 3, 2, pad)
			if y != x {
				release(y, z)
			}
			y = z
		}
	case r.InLevel > r.OutLevel:
		f := 1 << (r.InLevel - r.OutLevel)
		z := nn.UpsampleNearest(y, f)
		if y != x {
			release(y, z)
		}
		y = crop(z, h, w)
	}
	if y.Value.Dim(1) != h || y.Value.Dim(2) != w {
		panic(fmt.Sprintf("efficientdet: resampling level %d to %d gave %v, want %d×%d", r.InLevel, r.OutLevel, y.Shape(), h, w))
	}
	return y
}

// Members lists conv if there is one.
func (r *Resample) Members() layers.Members {
	if r.Conv == nil {
		return layers.Members{}
	}
	return layers.Members{Children: []layers.Child{{Name: "conv", Module: r.Conv}}}
}

// crop keeps the top-left h×w of x [N, H, W, C] (H ≥ h, W ≥ w).
func crop(x *nn.Var, h, w int) *nn.Var {
	s := x.Shape()
	if s[1] > h {
		y := nn.Split(x, 1, h, s[1]-h)
		release(y[1], nil)
		release(x, y[0])
		x = y[0]
	}
	if s[2] > w {
		y := nn.Split(x, 2, w, s[2]-w)
		release(y[1], nil)
		release(x, y[0])
		x = y[0]
	}
	return x
}

// Combine is effdet's FpnCombine: it resamples a node's inputs to its level
// and fuses them (see Fusion). Parameter: edge_weights [inputs] (not for
// Sum); children: resample.<input offset>.
type Combine struct {
	Inputs      []int // offsets of the inputs among the cell's nodes
	Resample    []*Resample
	EdgeWeights *nn.Var // nil for Sum
	Fusion      Fusion
}

// fuse combines xs, which all have the same shape.
func (c *Combine) fuse(xs []*nn.Var) *nn.Var {
	if c.Fusion == Sum {
		out := xs[0]
		for _, x := range xs[1:] {
			y := nn.Add(out, x)
			if out != xs[0] {
				release(out, y)
			}
			out = y
		}
		return out
	}
	var w *nn.Var
	if c.Fusion == Attn {
		w = nn.Softmax(c.EdgeWeights)
	} else {
		r := nn.ReLU(c.EdgeWeights)
		s := nn.Sum(r)
		d := nn.AddScalar(s, 1e-4)
		w = nn.Div(r, d)
		release(r, w)
		release(s, w)
		release(d, w)
	}
	out := nn.WeightedSum(xs, w)
	release(w, out)
	return out
}

// Members lists edge_weights and resample.
func (c *Combine) Members() layers.Members {
	m := layers.Members{}
	if c.EdgeWeights != nil {
		m.Params = []layers.Param{{Name: "edge_weights", Var: c.EdgeWeights}}
	}
	g := make(group, len(c.Resample))
	for i, r := range c.Resample {
		g[i] = layers.Child{Name: strconv.Itoa(c.Inputs[i]), Module: r}
	}
	m.Children = []layers.Child{{Name: "resample", Module: g}}
	return m
}

// Fnode is one BiFPN node (effdet's Fnode): combine, then after_combine —
// the activation and a separable convolution with batch norm.
// Children: combine, after_combine.conv.
type Fnode struct {
	Level   int
	Combine *Combine
	Act     layers.Layer
	Conv    *SeparableConv
}

// Members lists combine and after_combine.
func (f *Fnode) Members() layers.Members {
	return layers.Members{Children: []layers.Child{
		{Name: "combine", Module: f.Combine},
		{Name: "after_combine", Module: group{{Name: "conv", Module: f.Conv}}},
	}}
}

// Cell is one BiFPN layer (effdet's BiFpnLayer). Children: fnode.<i>.
type Cell struct {
	Nodes  []*Fnode
	levels int
}

// Forward runs the cell on the levels xs (finest first; sizes[l] is level
// l's size) and returns the new levels. Under nn.NoGrad it releases the
// inputs and every intermediate node once they have been used.
func (c *Cell) Forward(xs []*nn.Var, sizes [][2]int) []*nn.Var {
	nodes := append([]*nn.Var(nil), xs...)
	lastUse := make([]int, len(xs)+len(c.Nodes))
	for i, n := range c.Nodes {
		for _, o := range n.Combine.Inputs {
			lastUse[o] = i
		}
	}
	outStart := len(nodes) + len(c.Nodes) - c.levels
	for i, n := range c.Nodes {
		sz := sizes[n.Level]
		in := make([]*nn.Var, len(n.Combine.Inputs))
		for j, o := range n.Combine.Inputs {
			in[j] = n.Combine.Resample[j].Forward(nodes[o], sz[0], sz[1])
		}
		y := n.Combine.fuse(in)
		for j, o := range n.Combine.Inputs {
			if in[j] != nodes[o] {
				release(in[j], y)
			}
		}
		for _, o := range n.Combine.Inputs {
			if lastUse[o] == i && o < outStart && nodes[o] != nil {
				release(nodes[o], y)
				nodes[o] = nil
			}
		}
		y = then(y, n.Act.Forward)
		nodes = append(nodes, then(y, n.Conv.Forward))
	}
	return nodes[outStart:]
}

// Members lists fnode.
func (c *Cell) Members() layers.Members {
	return layers.Members{Children: []layers.Child{{Name: "fnode", Module: indexed(c.Nodes)}}}
}

// BiFPN is effdet's BiFpn: it adds the coarse levels P6… by resampling the
// backbone's last map (children resample.<level index>, 3 for P6) and
// runs the cells (cell.<i>).
type BiFPN struct {
	Extra []*Resample
	Cells []*Cell
}

// Forward returns the pyramid P3…Pmax from the backbone's C3–C5 for an
// input whose level sizes are sizes.
func (b *BiFPN) Forward(feats []*nn.Var, sizes [][2]int) []*nn.Var {
	xs := append([]*nn.Var(nil), feats...)
	for _, r := range b.Extra {
		sz := sizes[r.OutLevel]
		xs = append(xs, r.Forward(xs[len(xs)-1], sz[0], sz[1]))
	}
	for _, c := range b.Cells {
		xs = c.Forward(xs, sizes)
	}
	return xs
}

// Members lists resample and cell.
func (b *BiFPN) Members() layers.Members {
	g := make(group, len(b.Extra))
	for i, r := range b.Extra {
		g[i] = layers.Child{Name: strconv.Itoa(r.OutLevel - MinLevel), Module: r}
	}
	return layers.Members{Children: []layers.Child{{Name: "resample", Module: g}, {Name: "cell", Module: indexed(b.Cells)}}}
}

// then applies f to v and, under nn.NoGrad, recycles v's buffer (v must be
// an intermediate value nothing else refers to).
func then(v *nn.Var, f func(*nn.Var) *nn.Var) *nn.Var {
	y := f(v)
	release(v, y)
	return y
}

// release recycles old's buffer under nn.NoGrad unless it is new itself.
func release(old, new *nn.Var) {
	if old != nil && old != new && !nn.GradEnabled() {
		nn.Recycle(old.Value)
	}
}
