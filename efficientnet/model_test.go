package efficientnet_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

var long = flag.Bool("long", false, "also check feature shapes at every variant's full resolution (slow: seconds to minutes)")

// Parameter counts of the 1000-class models. B0–B7 and B8/L2 computed once
// with torchvision 0.14's EfficientNet class (sum of p.numel() over
// parameters(); width/depth 2.2/3.6 and 4.3/5.3 for B8 and L2); they
// match torchvision's published num_params (B0–B7) and timm's published
// 87.41 M (B8) and 480.31 M (L2). tf_ variants have the same counts.
var wantParams = map[string]int{
	"b0": 5288548, "b1": 7794184, "b2": 9109994, "b3": 12233232, "b4": 19341616,
	"b5": 30389784, "b6": 43040704, "b7": 66347960, "b8": 87413142, "l2": 480309308,
}

func TestParamCounts(t *testing.T) {
	for _, v := range efficientnet.Variants() {
		for _, fl := range []efficientnet.Flavour{efficientnet.PyTorch, efficientnet.TF, efficientnet.Torchvision} {
			p, err := efficientnet.Config{Variant: v.Name, Flavour: fl, NumClasses: 1000}.Plan()
			if err != nil {
				t.Fatal(err)
			}
			if got := p.NumParams(); got != wantParams[v.Name] {
				t.Errorf("%s %s: plan has %d parameters, want %d", v.Name, fl, got, wantParams[v.Name])
			}
		}
	}
}

// TestVariants builds every variant B0–B8 (zero weights; L2's 1.9 GB are
// only counted, in TestParamCounts), counts the parameters that were
// built, and checks that the backbone's maps have the declared channels
// and reductions. Channels and reductions do not depend on the input size,
// so by default the maps are computed at 32×32 (and for B0 also at 50×50,
// where sizes round up at every stride, and 64×64, in both flavours); with
// -long every variant also runs at its full resolution in both flavours.
func TestVariants(t *testing.T) {
	wantRed := []int{2, 4, 8, 16, 32}
	for _, v := range efficientnet.Variants() {
		if v.Name == "l2" {
			continue
		}
		for _, fl := range []efficientnet.Flavour{efficientnet.PyTorch, efficientnet.TF} {
			if fl == efficientnet.TF && v.Name != "b0" && !*long {
				continue
			}
			m, err := efficientnet.NewUninitialised(efficientnet.Config{Variant: v.Name, Flavour: fl, NumClasses: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if got := layers.CountParams(m); got != wantParams[v.Name] {
				t.Errorf("%s %s: model has %d parameters, want %d", v.Name, fl, got, wantParams[v.Name])
			}
			layers.SetTraining(m, false)
			info := m.FeatureInfo()
			if len(info) != 5 {
				t.Fatalf("%s: %d feature maps, want 5", v.Name, len(info))
			}
			for i, fi := range info {
				if fi.Reduction != wantRed[i] {
					t.Errorf("%s: feature %d reduction %d, want %d", v.Name, i, fi.Reduction, wantRed[i])
				}
			}
			if info[4].Channels != m.Plan().Blocks[6][0].Out {
				t.Errorf("%s: last feature has %d channels, last stage %d", v.Name, info[4].Channels, m.Plan().Blocks[6][0].Out)
			}
			sizes := []int{32}
			if v.Name == "b0" {
				sizes = append(sizes, 50, 64)
			}
			if *long {
				sizes = append(sizes, v.Resolution)
			}
			for _, hw := range sizes {
				checkFeatureShapes(t, fmt.Sprintf("%s/%s/%d", v.Name, fl, hw), m, hw)
			}
		}
	}
}

func checkFeatureShapes(t *testing.T, name string, m *efficientnet.Model, hw int) {
	t.Helper()
	f, err := m.Features()
	if err != nil {
		t.Fatal(err)
	}
	var ys []*nn.Var
	nn.NoGrad(func() { ys = f.Forward(nn.NewVar(nn.New(1, hw, hw, 3))) })
	for i, fi := range f.Info() {
		s := ceilDiv(hw, fi.Reduction) // every stride-2 conv maps n to ceil(n/2)
		if want := []int{1, s, s, fi.Channels}; !nn.SameShape(ys[i].Shape(), want) {
			t.Errorf("%s: %s is %v, declared %v", name, fi.Module, ys[i].Shape(), want)
		}
	}
}

func ceilDiv(n, d int) int {
	for ; d > 1; d /= 2 {
		n = (n + 1) / 2
	}
	return n
}

func TestFeaturesSubset(t *testing.T) {
	m, err := efficientnet.New(efficientnet.Config{Width: 0.25, Depth: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	layers.SetTraining(m, false)
	f, err := m.Features(2, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	info := f.Info()
	if len(info) != 3 || info[0].Reduction != 8 || info[2].Reduction != 32 || info[1].Module != "blocks.4" || info[1].Stage != 5 {
		t.Errorf("info %+v", info)
	}
	x := nn.NewVar(randTensor(rand.New(rand.NewPCG(1, 2)), 2, 64, 64, 3))
	all, _ := m.Features()
	var ys, full []*nn.Var
	nn.NoGrad(func() { ys, full = f.Forward(x), all.Forward(x) })
	for i := range ys {
		if !equal(ys[i].Value, full[i+2].Value) {
			t.Errorf("map %d differs from the full backbone's", i)
		}
	}
	// The backbone's parameters are the model's stem and blocks, no head.
	for _, p := range layers.Params(f) {
		if strings.HasPrefix(p.Name, "conv_head") || strings.HasPrefix(p.Name, "classifier") || strings.HasPrefix(p.Name, "bn2") {
			t.Errorf("backbone has head parameter %s", p.Name)
		}
	}
	if got := len(layers.Params(m)) - len(layers.Params(f)); got != 3 { // conv_head.weight, bn2.weight, bn2.bias
		t.Errorf("model has %d parameters more than the backbone, want 3", got)
	}
	for _, bad := range [][]int{{5}, {-1}, {2, 2}, {3, 1}} {
		if _, err := m.Features(bad...); err == nil {
			t.Errorf("Features(%v): no error", bad)
		}
	}
}

// TestParamNames checks names and shapes of B0 against timm's state dict
// layout (in sortnet's layouts).
func TestParamNames(t *testing.T) {
	m, err := efficientnet.NewUninitialised(efficientnet.Config{Variant: "b0", NumClasses: 1000})
	if err != nil {
		t.Fatal(err)
	}
	sd := layers.StateDict(m)
	want := map[string][]int{
		"conv_stem.weight":                 {3, 3, 3, 32},
		"bn1.weight":                       {32},
		"bn1.running_var":                  {32},
		"blocks.0.0.conv_dw.weight":        {3, 3, 32},
		"blocks.0.0.bn1.running_mean":      {32},
		"blocks.0.0.se.conv_reduce.weight": {1, 1, 32, 8},
		"blocks.0.0.se.conv_reduce.bias":   {8},
		"blocks.0.0.se.conv_expand.weight": {1, 1, 8, 32},
		"blocks.0.0.conv_pw.weight":        {1, 1, 32, 16},
		"blocks.0.0.bn2.bias":              {16},
		"blocks.1.0.conv_pw.weight":        {1, 1, 16, 96},
		"blocks.1.0.bn1.weight":            {96},
		"blocks.1.0.conv_dw.weight":        {3, 3, 96},
		"blocks.1.0.bn2.running_var":       {96},
		"blocks.1.0.se.conv_reduce.weight": {1, 1, 96, 4},
		"blocks.1.0.se.conv_expand.bias":   {96},
		"blocks.1.0.conv_pwl.weight":       {1, 1, 96, 24},
		"blocks.1.0.bn3.weight":            {24},
		"blocks.2.1.conv_dw.weight":        {5, 5, 240},
		"blocks.5.3.conv_pwl.weight":       {1, 1, 1152, 192},
		"blocks.6.0.se.conv_reduce.weight": {1, 1, 1152, 48},
		"conv_head.weight":                 {1, 1, 320, 1280},
		"bn2.running_mean":                 {1280},
		"classifier.weight":                {1280, 1000},
		"classifier.bias":                  {1000},
		"blocks.6.0.bn3.running_var":       {320},
		"blocks.4.2.se.conv_expand.weight": {1, 1, 28, 672},
		"blocks.3.0.se.conv_reduce.bias":   {10},
		"blocks.0.0.se.conv_expand.bias":   {32},
		"blocks.1.1.conv_pw.weight":        {1, 1, 24, 144},
		"blocks.5.0.conv_dw.weight":        {5, 5, 672},
		"blocks.2.0.conv_dw.weight":        {5, 5, 144},
		"blocks.6.0.conv_dw.weight":        {3, 3, 1152},
		"blocks.3.2.bn3.bias":              {80},
		"blocks.4.0.conv_pw.weight":        {1, 1, 80, 480},
		"blocks.4.0.se.conv_reduce.weight": {1, 1, 480, 20},
		"blocks.6.0.se.conv_expand.weight": {1, 1, 48, 1152},
		"blocks.5.3.se.conv_reduce.weight": {1, 1, 1152, 48},
		"blocks.2.1.se.conv_reduce.weight": {1, 1, 240, 10},
		"blocks.0.0.bn1.weight":            {32},
		"blocks.0.0.bn2.running_var":       {16},
		"blocks.1.0.bn3.running_mean":      {24},
		"blocks.3.1.conv_pwl.weight":       {1, 1, 480, 80},
		"blocks.4.1.conv_dw.weight":        {5, 5, 672},
		"blocks.5.1.conv_pw.weight":        {1, 1, 192, 1152},
		"blocks.2.0.se.conv_reduce.weight": {1, 1, 144, 6},
		"blocks.2.0.conv_pwl.weight":       {1, 1, 144, 40},
		"blocks.3.0.conv_dw.weight":        {3, 3, 240},
		"blocks.3.0.conv_pwl.weight":       {1, 1, 240, 80},
		"blocks.4.0.conv_pwl.weight":       {1, 1, 480, 112},
		"blocks.5.0.conv_pwl.weight":       {1, 1, 672, 192},
	}
	for name, shape := range want {
		got, ok := sd[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		if !nn.SameShape(got.Shape(), shape) {
			t.Errorf("%s: shape %v, want %v", name, got.Shape(), shape)
		}
	}
	// timm's and torchvision's efficientnet_b0 state dicts have 311
	// entries besides the 49 num_batches_tracked.
	if len(sd) != 311 {
		t.Errorf("state dict has %d entries, want 311", len(sd))
	}
	for name := range sd {
		if strings.Contains(name, "drop") {
			t.Errorf("state dict entry %s", name)
		}
	}
}

func TestInitGoog(t *testing.T) {
	cfg := efficientnet.Config{Variant: "b0", NumClasses: 1000, Rng: rand.New(rand.NewPCG(3, 4))}
	m, err := efficientnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sd := layers.StateDict(m)
	std := func(x []float32) (mean, sd float64) {
		for _, v := range x {
			mean += float64(v)
		}
		mean /= float64(len(x))
		for _, v := range x {
			sd += (float64(v) - mean) * (float64(v) - mean)
		}
		return mean, math.Sqrt(sd / float64(len(x)))
	}
	for _, tc := range []struct {
		name string
		want float64
	}{
		{"conv_head.weight", math.Sqrt(2.0 / 1280)},                 // fan_out = 1·1·1280
		{"blocks.6.0.conv_dw.weight", math.Sqrt(2.0 / 9)},           // depthwise: fan_out = 3·3·1152/1152
		{"blocks.5.1.conv_pw.weight", math.Sqrt(2.0 / 1152)},        // 1×1, 1152 out
		{"conv_stem.weight", math.Sqrt(2.0 / (9 * 32))},             // 3×3, 32 out
		{"blocks.5.1.se.conv_expand.weight", math.Sqrt(2.0 / 1152)}, // SE expand
	} {
		mean, s := std(sd[tc.name].Data())
		n := float64(sd[tc.name].Len())
		if math.Abs(mean) > 5*tc.want/math.Sqrt(n) || math.Abs(s/tc.want-1) > 6/math.Sqrt(2*n) {
			t.Errorf("%s: mean %g std %g, want N(0, %g²)", tc.name, mean, s, tc.want)
		}
	}
	// Classifier U(±1/√1000): range and spread.
	r := 1 / math.Sqrt(1000)
	lo, hi := 0.0, 0.0
	for _, v := range sd["classifier.weight"].Data() {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	if lo < -r || hi > r || lo > -0.99*r || hi < 0.99*r {
		t.Errorf("classifier weights in [%g, %g], want U(±%g)", lo, hi, r)
	}
	for name, v := range sd {
		parts := strings.Split(name, ".")
		module, kind := parts[len(parts)-2], parts[len(parts)-1]
		want := float32(-1) // random
		switch {
		case kind == "bias" || kind == "running_mean":
			want = 0
		case kind == "running_var" || strings.HasPrefix(module, "bn") && kind == "weight":
			want = 1
		}
		for _, x := range v.Data() {
			if want >= 0 && x != want {
				t.Errorf("%s: value %g, want %g", name, x, want)
				break
			}
		}
	}
	// Same seed, same weights; another seed, other weights.
	m2, _ := efficientnet.New(efficientnet.Config{Variant: "b0", NumClasses: 1000, Rng: rand.New(rand.NewPCG(3, 4))})
	m3, _ := efficientnet.New(efficientnet.Config{Variant: "b0", NumClasses: 1000, Rng: rand.New(rand.NewPCG(5, 6))})
	w := sd["blocks.3.1.conv_pw.weight"]
	if !equal(w, layers.StateDict(m2)["blocks.3.1.conv_pw.weight"]) || equal(w, layers.StateDict(m3)["blocks.3.1.conv_pw.weight"]) {
		t.Error("initialisation is not determined by the seed")
	}
}

func TestConfigValidate(t *testing.T) {
	good := []efficientnet.Config{
		{Variant: "b0"},
		{Variant: "l2", Flavour: efficientnet.TF, NumClasses: 10},
		{Width: 0.1, Depth: 0.1},
		{Variant: "b3", Width: 0.5, Act: "relu", DropRate: 0.3, DropPathRate: 0.2, BNEps: 1e-3, BNMomentum: 0.01, InChannels: 1},
		{Width: 1, Depth: 1, Arch: [][]string{{"ir_r1_k3_s2_e6_c16"}}},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []struct {
		cfg  efficientnet.Config
		want string
	}{
		{efficientnet.Config{Variant: "b9"}, `unknown variant "b9"`},
		{efficientnet.Config{}, "needs Width and Depth"},
		{efficientnet.Config{Width: 1}, "needs Width and Depth"},
		{efficientnet.Config{Variant: "b0", Width: -1}, "Width -1"},
		{efficientnet.Config{Variant: "b0", Depth: math.NaN()}, "Depth NaN"},
		{efficientnet.Config{Variant: "b0", Width: 100}, "Width 100"},
		{efficientnet.Config{Variant: "b0", Flavour: 7}, "flavour"},
		{efficientnet.Config{Variant: "b0", NumClasses: -2}, "NumClasses -2"},
		{efficientnet.Config{Variant: "b0", Resolution: -1}, "Resolution"},
		{efficientnet.Config{Variant: "b0", DropRate: 1}, "DropRate"},
		{efficientnet.Config{Variant: "b0", DropPathRate: -0.1}, "DropPathRate"},
		{efficientnet.Config{Variant: "b0", Act: "mish"}, "Act"},
		{efficientnet.Config{Variant: "b0", InChannels: -3}, "InChannels"},
		{efficientnet.Config{Variant: "b0", BNEps: float32(math.Inf(1))}, "BNEps"},
		{efficientnet.Config{Variant: "b0", BNMomentum: 2}, "BNMomentum"},
		{efficientnet.Config{Variant: "b0", Arch: [][]string{{"ir_r1_k3_s2_e6_c16_zz"}}}, `"zz"`},
	}
	for _, tc := range bad {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one with %q", tc.cfg, err, tc.want)
		}
		if _, err := efficientnet.New(tc.cfg); err == nil {
			t.Errorf("New(%+v): no error", tc.cfg)
		}
	}
	// Every problem is reported.
	err := efficientnet.Config{Variant: "b9", NumClasses: -1, DropRate: 2}.Validate()
	for _, want := range []string{"b9", "NumClasses", "DropRate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v should mention %s", err, want)
		}
	}
}

func TestResolvedConfig(t *testing.T) {
	tests := []struct {
		cfg          efficientnet.Config
		eps, mom     float32
		width, depth float64
		res          int
	}{
		{efficientnet.Config{Variant: "b2"}, 1e-5, 0.1, 1.1, 1.2, 260},
		{efficientnet.Config{Variant: "b2", Flavour: efficientnet.TF}, 1e-3, 0.1, 1.1, 1.2, 260},
		{efficientnet.Config{Variant: "b5", Flavour: efficientnet.Torchvision}, 1e-3, 0.01, 1.6, 2.2, 456},
		{efficientnet.Config{Variant: "b4", Flavour: efficientnet.Torchvision}, 1e-5, 0.1, 1.4, 1.8, 380},
		{efficientnet.Config{Variant: "b0", Width: 0.5, BNEps: 1e-4}, 1e-4, 0.1, 0.5, 1, 224},
		{efficientnet.Config{Width: 0.3, Depth: 0.2, Resolution: 96}, 1e-5, 0.1, 0.3, 0.2, 96},
	}
	for _, tc := range tests {
		m, err := efficientnet.NewUninitialised(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := m.Config()
		if c.BNEps != tc.eps || c.BNMomentum != tc.mom || c.Width != tc.width || c.Depth != tc.depth || c.Resolution != tc.res || c.Act != "silu" || c.InChannels != 3 || c.Rng == nil {
			t.Errorf("%+v resolved to %+v", tc.cfg, c)
		}
		if m.BN1.Eps != tc.eps || m.BN1.Momentum != tc.mom {
			t.Errorf("%+v: bn1 eps %g momentum %g", tc.cfg, m.BN1.Eps, m.BN1.Momentum)
		}
		wantSame := tc.cfg.Flavour == efficientnet.TF
		if m.Stem.Opts.Padding.Same != wantSame || !wantSame && m.Stem.Opts.Padding != nn.Pad(1) {
			t.Errorf("%+v: stem padding %v", tc.cfg, m.Stem.Opts.Padding)
		}
	}
}

// TestSmallerThanB0 trains a freely scaled model a few steps: forward,
// backward with drop-path and dropout on, every parameter gets a
// gradient, the loss goes down, and a seed fixes the run.
func TestSmallerThanB0(t *testing.T) {
	run := func() []float32 {
		cfg := efficientnet.Config{Width: 0.25, Depth: 0.25, NumClasses: 3, DropRate: 0.2, DropPathRate: 0.2, Rng: rand.New(rand.NewPCG(7, 7))}
		m, err := efficientnet.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if n := layers.CountParams(m); n > 200000 {
			t.Fatalf("%d parameters, want a small model", n)
		}
		rng := rand.New(rand.NewPCG(8, 8))
		x := nn.NewVar(randTensor(rng, 4, 32, 32, 3))
		labels := []int{0, 1, 2, 1}
		var losses []float32
		for step := range 10 {
			layers.ZeroGrad(m)
			logits := m.Forward(x)
			if !nn.SameShape(logits.Shape(), []int{4, 3}) {
				t.Fatalf("logits %v", logits.Shape())
			}
			loss := nn.CrossEntropy(logits, labels, nn.CEOpts{})
			loss.Backward()
			losses = append(losses, loss.Value.Item())
			for _, p := range layers.Params(m) {
				if p.Var.Grad == nil {
					t.Fatalf("step %d: %s has no gradient", step, p.Name)
				}
				g, v := p.Var.Grad.Data(), p.Var.Value.Data()
				for i := range v {
					v[i] -= 0.01 * g[i]
				}
			}
			loss.Release()
		}
		return losses
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("runs differ: %v vs %v", a, b)
	}
	// Dropout and drop-path make single steps noisy: compare the means of
	// the first and last three.
	if mean3(a[len(a)-3:]) >= mean3(a[:3]) {
		t.Errorf("loss did not fall: %v", a)
	}
}

func TestResetClassifier(t *testing.T) {
	m, err := efficientnet.New(efficientnet.Config{Width: 0.25, Depth: 0.25, NumClasses: 10})
	if err != nil {
		t.Fatal(err)
	}
	layers.SetTraining(m, false)
	x := nn.NewVar(randTensor(rand.New(rand.NewPCG(1, 1)), 2, 32, 32, 3))
	var pre, before *nn.Var
	nn.NoGrad(func() { pre, before = m.PreLogits(x), m.Forward(x) })
	if !nn.SameShape(pre.Shape(), []int{2, m.NumFeatures()}) || !nn.SameShape(before.Shape(), []int{2, 10}) {
		t.Fatalf("pre-logits %v, logits %v", pre.Shape(), before.Shape())
	}
	if err := m.ResetClassifier(4, rand.New(rand.NewPCG(2, 2))); err != nil {
		t.Fatal(err)
	}
	var after, pre2 *nn.Var
	nn.NoGrad(func() { after, pre2 = m.Forward(x), m.PreLogits(x) })
	if !nn.SameShape(after.Shape(), []int{2, 4}) || m.NumClasses() != 4 || !equal(pre.Value, pre2.Value) {
		t.Errorf("after reset: logits %v, %d classes", after.Shape(), m.NumClasses())
	}
	if b := m.Classifier.Bias.Value.Data(); b[0] != 0 || b[3] != 0 {
		t.Errorf("new classifier bias %v, want zeros", b)
	}
	if err := m.ResetClassifier(0, nil); err != nil || m.Classifier != nil {
		t.Fatal("ResetClassifier(0) should remove the classifier", err)
	}
	var emb *nn.Var
	nn.NoGrad(func() { emb = m.Forward(x) })
	if !equal(emb.Value, pre.Value) {
		t.Error("without classifier Forward should return the pre-logits")
	}
	if err := m.ResetClassifier(-1, nil); err == nil {
		t.Error("ResetClassifier(-1): no error")
	}
}

func randTensor(rng *rand.Rand, shape ...int) *nn.Tensor {
	t := nn.New(shape...)
	nn.Normal(t, 0, 1, rng)
	return t
}

func equal(a, b *nn.Tensor) bool {
	if !nn.SameShape(a.Shape(), b.Shape()) {
		return false
	}
	for i, v := range a.Data() {
		if b.Data()[i] != v {
			return false
		}
	}
	return true
}

func mean3(x []float32) float32 { return (x[0] + x[1] + x[2]) / 3 }
