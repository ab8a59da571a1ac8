package app

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/sortnet/sortnet/train"
)

// printEvaluation prints the headline scores, per-class recall and the
// classification report.
func printEvaluation(w io.Writer, name string, e *train.Evaluation) {
	fmt.Fprintf(w, "%s: %d images, loss %.4f, accuracy %.4f, balanced accuracy %.4f, macro-F1 %.4f\n",
		name, e.Samples, e.Loss, e.Scores["accuracy"], e.Scores["balanced_accuracy"], e.Scores["macro_f1"])
	fmt.Fprintln(w, e.Confusion.Report(3))
}

// writeEvaluation writes report.json, report.txt and the confusion and
// per-class plots into dir.
func writeEvaluation(dir string, e *train.Evaluation) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{"samples": e.Samples, "loss": e.Loss, "scores": e.Scores, "confusion": e.Confusion}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.txt"), []byte(e.Confusion.Report(3)), 0o644); err != nil {
		return err
	}
	if err := train.PlotConfusion(filepath.Join(dir, "confusion.png"), e.Confusion, train.PlotOptions{Normalize: true}); err != nil {
		return err
	}
	return train.PlotPerClass(filepath.Join(dir, "per_class.png"), e.Confusion, train.PlotOptions{})
}

// recalls returns the per-class recall of an evaluation.
func recalls(e *train.Evaluation) []float64 {
	var out []float64
	for _, c := range e.Confusion.PerClass() {
		out = append(out, c.Recall)
	}
	return out
}

// meanStd returns the mean and sample standard deviation.
func meanStd(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	if len(xs) == 1 {
		return m, 0
	}
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)-1))
}

// table renders rows of cells as a Markdown table.
func table(head []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// scoreCell formats a score over runs: the mean, and ± the standard
// deviation when there are several.
func scoreCell(xs []float64) string {
	m, s := meanStd(xs)
	if len(xs) > 1 {
		return fmt.Sprintf("%.4f ± %.4f", m, s)
	}
	return fmt.Sprintf("%.4f", m)
}

// finiteCell is scoreCell over the runs where the value is defined (not
// NaN) with three significant digits, or "-" if it is defined in none.
func finiteCell(xs []float64) string {
	var ok []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			ok = append(ok, x)
		}
	}
	if len(ok) == 0 {
		return "-"
	}
	m, s := meanStd(ok)
	if len(ok) > 1 {
		return fmt.Sprintf("%.3g ± %.2g", m, s)
	}
	return fmt.Sprintf("%.3g", m)
}
