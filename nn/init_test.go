package nn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
)

func TestFans(t *testing.T) {
	for _, c := range []struct {
		shape       []int
		fanIn, fout int
	}{
		{[]int{128, 10}, 128, 10},              // linear [In, Out]
		{[]int{3, 3, 32}, 9, 288},              // depthwise [KH, KW, C] == PyTorch [32, 1, 3, 3]
		{[]int{5, 5, 1, 7}, 25, 175},           // depthwise as [KH, KW, 1, C]
		{[]int{3, 3, 16, 64}, 144, 576},        // HWIO == PyTorch [64, 16, 3, 3]
		{[]int{1, 1, 8, 24}, 8, 24},            // pointwise; grouped conv: Cin/g = 8
		{[]int{2, 3, 3, 4, 5}, 18 * 4, 18 * 5}, // 3-d kernel
	} {
		fi, fo := nn.Fans(c.shape)
		if fi != c.fanIn || fo != c.fout {
			t.Errorf("Fans(%v) = %d, %d; want %d, %d", c.shape, fi, fo, c.fanIn, c.fout)
		}
	}
	defer func() {
		if msg := fmt.Sprint(recover()); !strings.Contains(msg, "nn.Fans") || !strings.Contains(msg, "[7]") {
			t.Errorf("Fans of a bias: panic %q", msg)
		}
	}()
	nn.Fans([]int{7})
}

func TestGains(t *testing.T) {
	// torch.nn.init.calculate_gain values.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"relu", nn.GainReLU, math.Sqrt(2)},
		{"tanh", nn.GainTanh, 5.0 / 3},
		{"linear", nn.GainLinear, 1},
		{"sigmoid", nn.GainSigmoid, 1},
		{"selu", nn.GainSELU, 0.75},
		{"leaky_relu 0.01", nn.GainLeakyReLU(0.01), math.Sqrt(2 / (1 + 0.01*0.01))},
		{"leaky_relu sqrt5", nn.GainLeakyReLU(math.Sqrt(5)), math.Sqrt(1.0 / 3)},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("gain %s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// moments returns the mean, standard deviation, minimum and maximum.
func moments(d []float32) (mean, std, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range d {
		mean += float64(v)
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	mean /= float64(len(d))
	for _, v := range d {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / float64(len(d))), lo, hi
}

func TestInitializerStatistics(t *testing.T) {
	// Shapes with about 10⁵ elements: the sample mean is within ~0.01 std
	// and the sample std within ~0.5% of the truth; the tolerances below
	// are several times that.
	conv := []int{3, 3, 48, 256} // fanIn 432, fanOut 2304
	lin := []int{320, 300}       // fanIn 320, fanOut 300
	u := func(b float64) float64 { return b / math.Sqrt(3) }
	cases := []struct {
		name    string
		shape   []int
		init    func(t *nn.Tensor, seed uint64)
		mean    float64
		std     float64
		lo, hi  float64 // bounds, where there are any
		bounded bool
	}{
		{"Uniform", lin, func(t *nn.Tensor, s uint64) { nn.Uniform(t, -0.5, 1.5, rng(s)) }, 0.5, u(1), -0.5, 1.5, true},
		{"Normal", lin, func(t *nn.Tensor, s uint64) { nn.Normal(t, 0.3, 2, rng(s)) }, 0.3, 2, 0, 0, false},
		// N(0,1) truncated to [-2, 2] has std 0.8796.
		{"TruncNormal", lin, func(t *nn.Tensor, s uint64) { nn.TruncNormal(t, 0, 1, -2, 2, rng(s)) }, 0, 0.87962566, -2, 2, true},
		{"KaimingUniform fan_in relu", conv, func(t *nn.Tensor, s uint64) { nn.KaimingUniform(t, nn.FanIn, nn.GainReLU, rng(s)) },
			0, math.Sqrt(2.0 / 432), -math.Sqrt(6.0 / 432), math.Sqrt(6.0 / 432), true},
		{"KaimingUniform torch default", lin, func(t *nn.Tensor, s uint64) {
			nn.KaimingUniform(t, nn.FanIn, nn.GainLeakyReLU(math.Sqrt(5)), rng(s))
		}, 0, u(1 / math.Sqrt(320)), -1 / math.Sqrt(320), 1 / math.Sqrt(320), true},
		{"KaimingNormal fan_out relu", conv, func(t *nn.Tensor, s uint64) { nn.KaimingNormal(t, nn.FanOut, nn.GainReLU, rng(s)) },
			0, math.Sqrt(2.0 / 2304), 0, 0, false},
		{"KaimingNormal fan_in linear", lin, func(t *nn.Tensor, s uint64) { nn.KaimingNormal(t, nn.FanIn, nn.GainLinear, rng(s)) },
			0, 1 / math.Sqrt(320), 0, 0, false},
		{"XavierUniform", lin, func(t *nn.Tensor, s uint64) { nn.XavierUniform(t, 1, rng(s)) },
			0, math.Sqrt(2.0 / 620), -math.Sqrt(6.0 / 620), math.Sqrt(6.0 / 620), true},
		{"XavierNormal tanh", conv, func(t *nn.Tensor, s uint64) { nn.XavierNormal(t, nn.GainTanh, rng(s)) },
			0, 5.0 / 3 * math.Sqrt(2.0/(432+2304)), 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := nn.New(c.shape...)
			c.init(w, 1)
			mean, std, lo, hi := moments(w.Data())
			if math.Abs(mean-c.mean) > 0.03*c.std {
				t.Errorf("mean %.5g, want %.5g", mean, c.mean)
			}
			if math.Abs(std/c.std-1) > 0.02 {
				t.Errorf("std %.5g, want %.5g", std, c.std)
			}
			if c.bounded {
				if lo < c.lo || hi >= c.hi && !(c.name == "TruncNormal" && hi == c.hi) {
					t.Errorf("values in [%g, %g], want within [%g, %g)", lo, hi, c.lo, c.hi)
				}
				// The extremes come close to the bounds.
				if lo > c.lo+0.01*(c.hi-c.lo) || hi < c.hi-0.01*(c.hi-c.lo) {
					t.Errorf("values in [%g, %g] do not fill [%g, %g)", lo, hi, c.lo, c.hi)
				}
			}
			// Determinism: the same seed gives the same values, another
			// seed different ones.
			w2, w3 := nn.New(c.shape...), nn.New(c.shape...)
			c.init(w2, 1)
			c.init(w3, 2)
			if fmt.Sprint(w.Data()[:50]) != fmt.Sprint(w2.Data()[:50]) || w.Data()[len(w.Data())-1] != w2.Data()[len(w.Data())-1] {
				t.Error("the same seed gave different values")
			}
			if w.Data()[0] == w3.Data()[0] && w.Data()[1] == w3.Data()[1] {
				t.Error("different seeds gave the same values")
			}
		})
	}
}

func TestUniformStaysBelowHi(t *testing.T) {
	// With a range this narrow, lo + (hi-lo)·u rounds to hi in float32
	// for many u < 1.
	w := nn.New(10000)
	nn.Uniform(w, 1, 1+1e-7, rng(5))
	for _, v := range w.Data() {
		if v < 1 || v >= float32(1+1e-7) {
			t.Fatalf("Uniform(1, 1+1e-7) gave %.9g", v)
		}
	}
}

func TestConstantInits(t *testing.T) {
	w := nn.Full(3, 2, 3)
	nn.Zeros(w)
	if _, _, lo, hi := moments(w.Data()); lo != 0 || hi != 0 {
		t.Errorf("Zeros: %v", w)
	}
	nn.Ones(w)
	if _, _, lo, hi := moments(w.Data()); lo != 1 || hi != 1 {
		t.Errorf("Ones: %v", w)
	}
	nn.Constant(w, -2.5)
	if _, _, lo, hi := moments(w.Data()); lo != -2.5 || hi != -2.5 {
		t.Errorf("Constant: %v", w)
	}
}

func TestInitPanics(t *testing.T) {
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { nn.Uniform(nn.New(2), 1, 0, rng(1)) }, "nn.Uniform"},
		{func() { nn.Normal(nn.New(2), 0, -1, rng(1)) }, "nn.Normal"},
		{func() { nn.TruncNormal(nn.New(2), 0, 1, 10, 11, rng(1)) }, "nn.TruncNormal"},
		{func() { nn.KaimingNormal(nn.New(4), nn.FanIn, 1, rng(1)) }, "nn.Fans"},
		{func() { nn.KaimingUniform(nn.New(3, 3), nn.FanMode(7), 1, rng(1)) }, "FanMode(7)"},
		{func() { nn.XavierNormal(nn.New(0, 0), 1, rng(1)) }, "nn.XavierNormal"},
	} {
		func() {
			defer func() {
				if msg := fmt.Sprint(recover()); !strings.Contains(msg, c.want) {
					t.Errorf("panic %q lacks %q", msg, c.want)
				}
			}()
			c.f()
		}()
	}
}
