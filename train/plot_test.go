package train_test

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sortnet/sortnet/train"
)

// pngSize decodes the PNG at path and returns its size.
func pngSize(t *testing.T, path string) image.Point {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img.Bounds().Size()
}

func wasteMatrix(t *testing.T) *train.ConfusionMatrix {
	t.Helper()
	classes := []string{"background", "bio", "glass", "metals_and_plastic", "non_recyclable", "other", "paper", "unknown"}
	m := train.NewConfusionMatrix(classes)
	for tr := range classes {
		for p := range classes {
			n := (tr*7 + p*3) % 5
			if tr == p {
				n = 20 + 3*tr
			}
			for range n {
				m.Add(tr, p)
			}
		}
	}
	return m
}

func outDir(t *testing.T) string {
	if d := os.Getenv("SORTNET_PLOT_DIR"); d != "" {
		return d
	}
	return t.TempDir()
}

func TestPlots(t *testing.T) {
	dir := outDir(t)
	nan := math.NaN()
	hist := []train.EpochMetrics{
		{1, 1.9, 0.30, 1.7, 0.35},
		{2, 1.2, 0.55, nan, nan}, // no validation this epoch
		{3, 0.9, 0.70, 1.0, 0.66},
		{4, math.Inf(1), nan, 0.8, 0.71},
		{5, 0.6, 0.82, 0.75, 0.74},
	}
	m := wasteMatrix(t)
	cases := []struct {
		name string
		draw func(path string) error
		want image.Point
	}{
		{"history", func(p string) error { return train.PlotHistory(p, hist, train.PlotOptions{}) }, image.Pt(1200, 450)},
		{"history_sized", func(p string) error {
			return train.PlotHistory(p, hist, train.PlotOptions{Width: 640, Height: 300, Title: "b0"})
		}, image.Pt(640, 300)},
		{"history_empty", func(p string) error { return train.PlotHistory(p, nil, train.PlotOptions{}) }, image.Pt(1200, 450)},
		{"history_all_nan", func(p string) error {
			return train.PlotHistory(p, []train.EpochMetrics{{1, nan, nan, nan, nan}}, train.PlotOptions{})
		}, image.Pt(1200, 450)},
		{"history_one_epoch", func(p string) error {
			return train.PlotHistory(p, []train.EpochMetrics{{1, 0.5, 0.5, 0.5, 0.5}}, train.PlotOptions{})
		}, image.Pt(1200, 450)},
		{"curves", func(p string) error {
			return train.PlotCurves(p, "balanced accuracy", []train.Series{
				{"run a", []float64{1, 2, 3}, []float64{0.5, 0.6, 0.7}},
				{"run b", []float64{1, 2, 3}, []float64{nan, 0.55, math.Inf(-1)}},
			}, train.PlotOptions{Title: "runs"})
		}, image.Pt(800, 500)},
		{"confusion", func(p string) error { return train.PlotConfusion(p, m, train.PlotOptions{}) }, image.Pt(820, 760)},
		{"confusion_norm", func(p string) error {
			return train.PlotConfusion(p, m, train.PlotOptions{Normalize: true, Width: 700, Height: 650})
		}, image.Pt(700, 650)},
		{"confusion_empty", func(p string) error {
			return train.PlotConfusion(p, train.NewConfusionMatrix([]string{"a", "b"}), train.PlotOptions{Normalize: true})
		}, image.Pt(540, 480)},
		{"perclass", func(p string) error { return train.PlotPerClass(p, m, train.PlotOptions{}) }, image.Pt(1080, 520)},
		{"perclass_small", func(p string) error {
			return train.PlotPerClass(p, train.NewConfusionMatrix([]string{"a", "b"}), train.PlotOptions{})
		}, image.Pt(640, 520)},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name+".png")
		if err := c.draw(path); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := pngSize(t, path); got != c.want {
			t.Errorf("%s: size %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	if err := train.PlotCurves(filepath.Join(dir, "x.png"), "y", []train.Series{{"bad", []float64{1}, nil}}, train.PlotOptions{}); err == nil {
		t.Error("PlotCurves with mismatched series: no error")
	}
	if err := train.PlotHistory(filepath.Join(dir, "missing", "x.png"), nil, train.PlotOptions{}); err == nil {
		t.Error("PlotHistory into a missing directory: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed plots left files: %v", entries)
	}
}

func TestPlotBars(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bars.png")
	err := train.PlotBars(path, "samples", []string{"a", "b", "c"}, []train.Bars{
		{Name: "round 1", Values: []float64{3, 0, math.NaN()}},
		{Name: "round 2", Values: []float64{5, 1, 2}},
	}, train.PlotOptions{Title: "accepted"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	if err := train.PlotBars(path, "%", []string{"a"}, []train.Bars{{Name: "x", Values: []float64{1, 2}}}, train.PlotOptions{}); err == nil {
		t.Fatal("a series with the wrong number of values was accepted")
	}
}
