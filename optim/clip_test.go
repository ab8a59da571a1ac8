package optim_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// gradParams returns parameters whose gradients are the given slices (nil
// for no gradient).
func gradParams(grads ...[]float32) []layers.Param {
	var ps []layers.Param
	for i, g := range grads {
		n := max(len(g), 1)
		v := nn.Param(nn.New(n))
		if g != nil {
			v.Grad = nn.FromData(append([]float32(nil), g...), n)
		}
		ps = append(ps, layers.Param{Name: string(rune('a' + i)), Var: v})
	}
	return ps
}

func TestClipGradNorm(t *testing.T) {
	// scaled is g multiplied by the float32 clip factor, as ClipGradNorm does.
	scaled := func(g float32, scale float64) float32 { return g * float32(scale) }
	cases := []struct {
		name    string
		grads   [][]float32
		max     float64
		norm    float64
		clipped [][]float32 // gradients afterwards
	}{
		// ‖(3, 4)‖ = 5 ≤ 10: unchanged.
		{"under", [][]float32{{3}, {4}}, 10, 5, [][]float32{{3}, {4}}},
		// scaled by 1/(5+1e-6).
		{"over", [][]float32{{3}, {4}}, 1, 5, [][]float32{{scaled(3, 1/(5+1e-6))}, {scaled(4, 1/(5+1e-6))}}},
		// norm over all parameters, nil gradient skipped: ‖(1,2,2)‖ = 3.
		{"global", [][]float32{{1, 2}, nil, {2}}, 1.5, 3, [][]float32{{scaled(1, 1.5/(3+1e-6)), scaled(2, 1.5/(3+1e-6))}, nil, {scaled(2, 1.5/(3+1e-6))}}},
		// exactly at the limit: scale = 5/(5+1e-6) < 1, clipped a hair.
		{"at limit", [][]float32{{3, 4}}, 5, 5, [][]float32{{scaled(3, 5/(5+1e-6)), scaled(4, 5/(5+1e-6))}}},
		{"no grads", [][]float32{nil}, 1, 0, [][]float32{nil}},
	}
	for _, c := range cases {
		ps := gradParams(c.grads...)
		got := optim.ClipGradNorm(ps, c.max)
		if math.Abs(got-c.norm) > 1e-12 {
			t.Errorf("%s: norm %v, want %v", c.name, got, c.norm)
		}
		for i, p := range ps {
			if c.clipped[i] == nil {
				if p.Var.Grad != nil {
					t.Errorf("%s: %s got a gradient", c.name, p.Name)
				}
				continue
			}
			if g := p.Var.Grad.Data(); !slices.Equal(g, c.clipped[i]) {
				t.Errorf("%s: %s = %v, want %v", c.name, p.Name, g, c.clipped[i])
			}
		}
	}
}

func TestClipGradNormNonFinite(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		ps := gradParams([]float32{1, bad}, []float32{2})
		n := optim.ClipGradNorm(ps, 1)
		if !math.IsNaN(n) && !math.IsInf(n, 0) {
			t.Errorf("grad %v: norm %v, want NaN or Inf", bad, n)
		}
		if g := ps[1].Var.Grad.Data()[0]; g != 2 {
			t.Errorf("grad %v: finite gradient changed to %v", bad, g)
		}
	}
	// Large but finite float32 gradients overflow neither the float64 sum
	// nor the result.
	ps := gradParams([]float32{3e38, 3e38})
	if n := optim.ClipGradNorm(ps, 1); math.Abs(n-3e38*math.Sqrt2)/n > 1e-7 {
		t.Errorf("norm %v, want %v", n, 3e38*math.Sqrt2)
	}
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "optim.ClipGradNorm: maxNorm 0") {
			t.Errorf("panic %q", msg)
		}
	}()
	optim.ClipGradNorm(ps, 0)
}

func TestClipGradValue(t *testing.T) {
	nan := float32(math.NaN())
	ps := gradParams([]float32{-3, -0.5, 0, 0.5, 3, nan}, nil)
	optim.ClipGradValue(ps, 1)
	g := ps[0].Var.Grad.Data()
	want := []float32{-1, -0.5, 0, 0.5, 1}
	if !slices.Equal(g[:5], want) || !math.IsNaN(float64(g[5])) {
		t.Errorf("clipped %v, want %v and NaN", g, want)
	}
}
