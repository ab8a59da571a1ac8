package train

import (
	"bufio"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// EpochMetrics is one epoch's row of a training history, the input of
// PlotHistory. Use NaN for a value that was not measured (no validation
// that epoch, or no accuracy for the task): it is left out of the curve.
type EpochMetrics struct {
	Epoch               int
	TrainLoss, TrainAcc float64 // accuracy as a fraction in [0, 1]
	ValLoss, ValAcc     float64
}

// Series is one named curve of PlotCurves. X and Y have the same length;
// points where either is NaN or infinite are left out and break the line.
type Series struct {
	Name string
	X, Y []float64
}

// PlotOptions sets the size and title of a plot. Zero fields take the
// defaults of each plotting function.
type PlotOptions struct {
	Width, Height int    // pixels
	Title         string // replaces the default title
	// Normalize makes PlotConfusion colour and label each cell by its
	// fraction of the true class's samples (row-normalised, the diagonal
	// being the recalls) instead of by its count.
	Normalize bool
}

// plotDPI is the resolution of the PNGs: 96 dots per inch, so that a
// length of 1/96 inch is one pixel and font sizes in points look as they
// do on a screen.
const plotDPI = 96

// colours of the curves: train and validation, then further series.
var seriesColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
}

// PlotHistory writes a PNG with two panels side by side: the training and
// validation loss per epoch, and the training and validation accuracy per
// epoch (in percent). Missing (NaN) values are skipped. Default size
// 1200×450.
func PlotHistory(path string, h []EpochMetrics, o PlotOptions) error {
	w, ht := sizeOr(o, 1200, 450)
	x := make([]float64, len(h))
	col := func(f func(EpochMetrics) float64, scale float64) []float64 {
		out := make([]float64, len(h))
		for i, e := range h {
			out[i] = f(e) * scale
		}
		return out
	}
	for i, e := range h {
		x[i] = float64(e.Epoch)
	}
	loss, err := linePlot("loss", "epoch", "loss", []Series{
		{"train", x, col(func(e EpochMetrics) float64 { return e.TrainLoss }, 1)},
		{"validation", x, col(func(e EpochMetrics) float64 { return e.ValLoss }, 1)},
	})
	if err != nil {
		return fmt.Errorf("train.PlotHistory: %w", err)
	}
	acc, err := linePlot("accuracy", "epoch", "accuracy (%)", []Series{
		{"train", x, col(func(e EpochMetrics) float64 { return e.TrainAcc }, 100)},
		{"validation", x, col(func(e EpochMetrics) float64 { return e.ValAcc }, 100)},
	})
	if err != nil {
		return fmt.Errorf("train.PlotHistory: %w", err)
	}
	// Loss falls and accuracy rises: keep each legend out of the curves' way.
	acc.Legend.Top = false
	if o.Title != "" {
		loss.Title.Text = o.Title + ": loss"
		acc.Title.Text = o.Title + ": accuracy"
	}
	c := newCanvas(w, ht)
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(20), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10)}
	cells := plot.Align([][]*plot.Plot{{loss, acc}}, tiles, dc)
	loss.Draw(cells[0][0])
	acc.Draw(cells[0][1])
	if err := writePNG(path, c); err != nil {
		return fmt.Errorf("train.PlotHistory: %w", err)
	}
	return nil
}

// PlotCurves writes a PNG line plot of the given series (for example one
// metric per epoch for several runs) with x label "epoch" and the given y
// label. Default size 800×500.
func PlotCurves(path, ylabel string, series []Series, o PlotOptions) error {
	w, h := sizeOr(o, 800, 500)
	for _, s := range series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("train.PlotCurves: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
	}
	p, err := linePlot(o.Title, "epoch", ylabel, series)
	if err != nil {
		return fmt.Errorf("train.PlotCurves: %w", err)
	}
	c := newCanvas(w, h)
	p.Draw(draw.New(c))
	if err := writePNG(path, c); err != nil {
		return fmt.Errorf("train.PlotCurves: %w", err)
	}
	return nil
}

// linePlot draws each series as lines with point markers, broken where a
// value is missing; a series with no finite point appears only in the
// legend.
func linePlot(title, xlabel, ylabel string, series []Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	drew := false
	for i, s := range series {
		clr := seriesColors[i%len(seriesColors)]
		var seg plotter.XYs
		var first *plotter.Line
		flush := func() error {
			if len(seg) == 0 {
				return nil
			}
			l, pts, err := plotter.NewLinePoints(seg)
			if err != nil {
				return err
			}
			l.Color, pts.Color = clr, clr
			l.Width = vg.Points(1.5)
			pts.Shape = draw.CircleGlyph{}
			pts.Radius = vg.Points(2)
			p.Add(l, pts)
			if first == nil {
				first = l
			}
			seg = nil
			drew = true
			return nil
		}
		for j := range s.X {
			x, y := s.X[j], s.Y[j]
			if isFinite(x) && isFinite(y) {
				seg = append(seg, plotter.XY{X: x, Y: y})
				continue
			}
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if err := flush(); err != nil {
			return nil, err
		}
		if first == nil {
			first = &plotter.Line{LineStyle: draw.LineStyle{Color: clr, Width: vg.Points(1.5)}}
		}
		if s.Name != "" {
			p.Legend.Add(s.Name, first)
		}
	}
	if !drew {
		// Nothing to draw: give the axes a range so the plot still renders.
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	}
	return p, nil
}

// confusionGrid is a ConfusionMatrix as a heat-map grid: column c is the
// predicted class, row r the true class counted from the bottom, so that
// true class 0 is the top row as in a printed matrix.
type confusionGrid struct {
	z [][]float64 // [true][pred]
}

func (g confusionGrid) Dims() (c, r int)   { return len(g.z), len(g.z) }
func (g confusionGrid) Z(c, r int) float64 { return g.z[len(g.z)-1-r][c] }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }

// blues is a white-to-dark-blue palette: matplotlib's "Blues" colour map
// (the ColorBrewer sequential scheme), interpolated to 64 steps.
type blues struct{}

var bluesStops = [...][3]float64{
	{0xf7, 0xfb, 0xff}, {0xde, 0xeb, 0xf7}, {0xc6, 0xdb, 0xef}, {0x9e, 0xca, 0xe1}, {0x6b, 0xae, 0xd6},
	{0x42, 0x92, 0xc6}, {0x21, 0x71, 0xb5}, {0x08, 0x51, 0x9c}, {0x08, 0x30, 0x6b},
}

func (blues) Colors() []color.Color {
	const n = 64
	out := make([]color.Color, n)
	for i := range out {
		pos := float64(i) / (n - 1) * float64(len(bluesStops)-1)
		j := min(int(pos), len(bluesStops)-2)
		t := pos - float64(j)
		a, b := bluesStops[j], bluesStops[j+1]
		mix := func(c int) uint8 { return uint8(math.Round(a[c] + t*(b[c]-a[c]))) }
		out[i] = color.RGBA{R: mix(0), G: mix(1), B: mix(2), A: 0xff}
	}
	return out
}

// PlotConfusion writes a PNG heat map of cm: true classes down the left
// (class 0 at the top), predicted classes along the bottom, each cell
// coloured and labelled with its count, or with Normalize its percentage
// of the true class. Default size grows with the number of classes.
func PlotConfusion(path string, cm *ConfusionMatrix, o PlotOptions) error {
	k := cm.K()
	side := max(480, 200+70*k)
	w, h := sizeOr(o, side+60, side)
	z := make([][]float64, k)
	counts := cm.Counts()
	norm := cm.Normalized()
	labels := make([]string, 0, k*k)
	var xys plotter.XYs
	hi := 0.0
	for t := range z {
		z[t] = make([]float64, k)
		for p := range z[t] {
			if o.Normalize {
				z[t][p] = norm[t][p]
			} else {
				z[t][p] = float64(counts[t][p])
			}
			hi = math.Max(hi, z[t][p])
		}
	}
	if hi == 0 {
		hi = 1 // an empty matrix: all cells the lowest colour
	}
	pl := plot.New()
	pl.Title.Text = "confusion matrix"
	if o.Normalize {
		pl.Title.Text = "confusion matrix (% of true class)"
	}
	if o.Title != "" {
		pl.Title.Text = o.Title
	}
	hm := plotter.NewHeatMap(confusionGrid{z}, blues{})
	hm.Min, hm.Max = 0, hi
	hm.NaN = color.White
	pl.Add(hm)
	var styles []text.Style
	for t := range z {
		for p := range z[t] {
			xys = append(xys, plotter.XY{X: float64(p), Y: float64(k - 1 - t)})
			if o.Normalize {
				labels = append(labels, fmt.Sprintf("%.1f%%", 100*z[t][p]))
			} else {
				labels = append(labels, fmt.Sprint(counts[t][p]))
			}
			st := text.Style{Font: plot.DefaultFont, Handler: plot.DefaultTextHandler, XAlign: draw.XCenter, YAlign: draw.YCenter}
			st.Font.Size = vg.Points(max(7, 13-float64(k)/3))
			st.Color = color.Black
			if z[t][p] > 0.55*hi {
				st.Color = color.White
			}
			styles = append(styles, st)
		}
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return fmt.Errorf("train.PlotConfusion: %w", err)
	}
	lab.TextStyle = styles
	pl.Add(lab)
	names := cm.Classes()
	xt := make([]plot.Tick, k)
	yt := make([]plot.Tick, k)
	for i, n := range names {
		xt[i] = plot.Tick{Value: float64(i), Label: n}
		yt[i] = plot.Tick{Value: float64(k - 1 - i), Label: n}
	}
	pl.X.Tick.Marker = plot.ConstantTicks(xt)
	pl.Y.Tick.Marker = plot.ConstantTicks(yt)
	pl.X.Label.Text = "predicted class"
	pl.Y.Label.Text = "true class"
	if k > 4 {
		rotateTicks(&pl.X)
	}
	pl.X.Min, pl.X.Max = -0.5, float64(k)-0.5
	pl.Y.Min, pl.Y.Max = -0.5, float64(k)-0.5
	pl.X.Padding, pl.Y.Padding = 0, 0
	c := newCanvas(w, h)
	pl.Draw(draw.New(c))
	if err := writePNG(path, c); err != nil {
		return fmt.Errorf("train.PlotConfusion: %w", err)
	}
	return nil
}

// PlotPerClass draws precision, recall and F1 of every class as grouped
// bars, with each class's support under its name.
func PlotPerClass(path string, cm *ConfusionMatrix, o PlotOptions) error {
	pc := cm.PerClass()
	names := make([]string, len(pc))
	bars := []Bars{{Name: "precision"}, {Name: "recall"}, {Name: "F1"}}
	for i, c := range pc {
		names[i] = fmt.Sprintf("%s\n(n=%d)", c.Class, c.Support)
		bars[0].Values = append(bars[0].Values, 100*c.Precision)
		bars[1].Values = append(bars[1].Values, 100*c.Recall)
		bars[2].Values = append(bars[2].Values, 100*c.F1)
	}
	if o.Title == "" {
		o.Title = "per-class scores"
	}
	if err := PlotBars(path, "%", names, bars, o); err != nil {
		return fmt.Errorf("train.PlotPerClass: %w", err)
	}
	return nil
}

// Bars is one series of a grouped bar chart: one value per category.
type Bars struct {
	Name   string
	Values []float64
}

// PlotBars draws grouped bars: for every category, one bar of each series.
// A ylabel of "%" fixes the axis at 0–100 (with room for the legend);
// otherwise it starts at 0 and fits the largest value. Non-finite values
// are drawn as 0.
func PlotBars(path, ylabel string, categories []string, series []Bars, o PlotOptions) error {
	k := len(categories)
	if k == 0 || len(series) == 0 {
		return fmt.Errorf("train.PlotBars: %d categories and %d series", k, len(series))
	}
	w, h := sizeOr(o, max(640, 200+(30*len(series)+20)*k), 520)
	p := plot.New()
	p.Title.Text = o.Title
	p.Y.Label.Text = ylabel
	top := 0.0
	for _, b := range series {
		if len(b.Values) != k {
			return fmt.Errorf("train.PlotBars: series %q has %d values for %d categories", b.Name, len(b.Values), k)
		}
		for _, v := range b.Values {
			if isFinite(v) {
				top = max(top, v)
			}
		}
	}
	if ylabel == "%" {
		// Room above 100% for the legend.
		p.Y.Min, p.Y.Max = 0, 118
		p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 20, Label: "20"},
			{Value: 40, Label: "40"}, {Value: 60, Label: "60"}, {Value: 80, Label: "80"}, {Value: 100, Label: "100"}})
	} else {
		p.Y.Min, p.Y.Max = 0, max(1, top)*1.18
	}
	p.Legend.Top = true
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)
	n := len(series)
	barW := vg.Points(float64(max(4, min(22, (w-160)/((n+1)*k)))) * 72 / plotDPI)
	for i, sr := range series {
		v := make(plotter.Values, k)
		for j, x := range sr.Values {
			if isFinite(x) {
				v[j] = x
			}
		}
		b, err := plotter.NewBarChart(v, barW)
		if err != nil {
			return fmt.Errorf("train.PlotBars: %w", err)
		}
		b.Color = seriesColors[i%len(seriesColors)]
		b.LineStyle.Width = 0
		b.Offset = (vg.Length(i) - vg.Length(n-1)/2) * barW
		p.Add(b)
		p.Legend.Add(sr.Name, b)
	}
	p.NominalX(categories...)
	p.X.Min, p.X.Max = -0.6, float64(k)-0.4
	if k > 8 {
		rotateTicks(&p.X)
	}
	c := newCanvas(w, h)
	p.Draw(draw.New(c))
	return writePNG(path, c)
}

func rotateTicks(a *plot.Axis) {
	a.Tick.Label.Rotation = math.Pi / 6
	a.Tick.Label.XAlign = draw.XRight
	a.Tick.Label.YAlign = draw.YTop
}

func sizeOr(o PlotOptions, w, h int) (int, int) {
	if o.Width > 0 {
		w = o.Width
	}
	if o.Height > 0 {
		h = o.Height
	}
	return w, h
}

// newCanvas returns a white canvas of w×h pixels.
func newCanvas(w, h int) *vgimg.Canvas {
	px := vg.Inch / plotDPI
	return vgimg.NewWith(vgimg.UseWH(vg.Length(w)*px, vg.Length(h)*px), vgimg.UseDPI(plotDPI))
}

// writePNG encodes c as PNG to a temporary file next to path and renames
// it over path, so a viewer never sees half an image.
func writePNG(path string, c *vgimg.Canvas) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return errors.Join(err, os.Remove(f.Name()))
	}
	return nil
}
