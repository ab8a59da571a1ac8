package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs one CLI command quietly and returns its standard output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), &Env{Stdout: &out, Stderr: &errOut, Quiet: true}, args)
	return out.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("waste %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// The -short smoke test: synth → train → selftrain → eval → predict →
// pseudolabel on a tiny synthetic set.
func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	synth := filepath.Join(dir, "synth")
	mustRun(t, "synth", "-out", synth, "-train", "96", "-val", "32", "-test", "40", "-pool", "48", "-size", "32")
	model := []string{"-width", "0.1", "-depth", "0.1", "-size", "32", "-batch", "16", "-threads", "2", "-workers", "2"}
	trainOut := filepath.Join(dir, "train")
	out := mustRun(t, append([]string{"train", "-data", synth, "-out", trainOut, "-epochs", "1"}, model...)...)
	if !strings.Contains(out, "balanced accuracy") {
		t.Fatalf("train printed no evaluation:\n%s", out)
	}
	best := filepath.Join(trainOut, "best.safetensors")
	out = mustRun(t, append([]string{"selftrain", "-data", synth, "-out", filepath.Join(dir, "self"), "-teacher", best,
		"-rounds", "1", "-student-epochs", "1", "-threshold", "0"}, model...)...)
	if !strings.Contains(out, "self-trained") || !strings.Contains(out, "pseudo-label accuracy") {
		t.Fatalf("selftrain output:\n%s", out)
	}
	out = mustRun(t, "eval", "-checkpoint", best, "-data", synth, "-out", filepath.Join(dir, "eval"))
	if !strings.Contains(out, "test: 40 images") {
		t.Fatalf("eval output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "eval", "confusion.png")); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "predict", "-checkpoint", best, "-json", filepath.Join(synth, "test", "glass"))
	var preds []Prediction
	if err := json.Unmarshal([]byte(out), &preds); err != nil || len(preds) == 0 || preds[0].Class == "" {
		t.Fatalf("predict -json: %v\n%s", err, out)
	}
	out = mustRun(t, append([]string{"pseudolabel", "-checkpoint", best, "-data", synth, "-out", filepath.Join(dir, "pl"), "-threshold", "0.2"}, model...)...)
	if !strings.Contains(out, "accepted") {
		t.Fatalf("pseudolabel output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "pl", "pseudolabels.csv")); err != nil {
		t.Fatal(err)
	}

	// The classifier half only: TestDemoSmoke runs both.
	out = mustRun(t, append([]string{"demo", "-detector=false", "-data", synth, "-out", filepath.Join(dir, "demo"), "-epochs", "1",
		"-rounds", "1", "-student-epochs", "1", "-threshold", "0"}, model...)...)
	for _, want := range []string{"trained longer", "round 1 pseudo-labels", "wall time"} {
		if !strings.Contains(out, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"results.md", "results.json", "pseudo_accepted.png", "pseudo_accuracy.png"} {
		if _, err := os.Stat(filepath.Join(dir, "demo", f)); err != nil {
			t.Fatal(err)
		}
	}

	// Errors that name what to fix.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "-data", filepath.Join(dir, "missing")}, "data folder"},
		{[]string{"train", "-data", synth, "-recipe", "huge"}, "unknown recipe"},
		{[]string{"train", "-data", synth, "-bad-images", "maybe"}, "-bad-images"},
		{[]string{"selftrain", "-data", synth, "-teacher", best, "-model", "b0", "-size", "32"}, "checkpoint does not match"},
		{[]string{"eval", "-checkpoint", filepath.Join(dir, "nothing.safetensors")}, "checkpoint"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"train", "extra"}, "unexpected argument"},
	} {
		_, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("waste %s: error %v, want one mentioning %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

func TestClassFoldersMustMatch(t *testing.T) {
	dir := t.TempDir()
	synth := filepath.Join(dir, "synth")
	mustRun(t, "synth", "-out", synth, "-train", "40", "-val", "16", "-test", "16", "-pool", "8", "-size", "32")
	if err := os.RemoveAll(filepath.Join(synth, "test", "bio")); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "train", "-data", synth, "-epochs", "1", "-width", "0.1", "-depth", "0.1", "-size", "32", "-out", filepath.Join(dir, "t"))
	if err == nil || !strings.Contains(err.Error(), "class folders must be the same") {
		t.Fatalf("mismatched splits: %v", err)
	}
}

func TestHelp(t *testing.T) {
	out := mustRun(t, "help")
	for _, c := range []string{"demo", "train", "selftrain", "predict", "pseudolabel", "eval", "synth", "preview"} {
		if !strings.Contains(out, c) {
			t.Fatalf("help does not list %s:\n%s", c, out)
		}
	}
	out, err := run(t, "train", "-h")
	if err == nil || !strings.Contains(out, "-recipe") {
		t.Fatalf("train -h: %v\n%s", err, out)
	}
}
