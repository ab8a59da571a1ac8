package train_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sortnet/sortnet/train"
)

// fakeClock advances only when told to.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	p := train.NewProgress(train.ProgressConfig{Out: &out, Interval: 10 * time.Second})
	if p.Mode() != train.ProgressLines {
		t.Fatalf("a bytes.Buffer is not a terminal: mode %v, want ProgressLines", p.Mode())
	}
	clk := &fakeClock{t: time.Unix(1000, 0)}
	train.SetProgressClock(p, clk.now)

	task := p.Start("epoch 1/3", 100)
	clk.advance(4 * time.Second)
	task.Add(20, 2.0, 5) // 4 s: no line yet
	if out.Len() != 0 {
		t.Fatalf("line before the interval: %q", out.String())
	}
	clk.advance(6 * time.Second)
	task.Add(20, 1.0, 15) // 10 s, 40 img: a line
	task.Note("lr 1.0e-03")
	clk.advance(1 * time.Second)
	task.Add(20, 1.0, 10) // 11 s: too soon
	clk.advance(9 * time.Second)
	task.Add(40, 0.5, 30) // 20 s, 100 img: a line
	clk.advance(5 * time.Second)
	s := task.Done()

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{
		"epoch 1/3  40/100 img (40.0%)  loss 1.5000  acc  50.0%  4.0 img/s  ETA 15s",
		"epoch 1/3  100/100 img (100.0%)  loss 1.0000  acc  60.0%  5.0 img/s  lr 1.0e-03",
		"epoch 1/3  100 img in 25s  loss 1.0000  acc 60.00%  4.0 img/s  lr 1.0e-03",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s\nwant %d", len(lines), out.String(), len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, lines[i], want[i])
		}
	}
	wantS := train.Summary{Name: "epoch 1/3", Unit: "img", Samples: 100, Loss: 1, Accuracy: 0.6, Elapsed: 25 * time.Second, Rate: 4}
	if s != wantS {
		t.Errorf("Summary = %+v, want %+v", s, wantS)
	}
	// Done twice writes nothing more.
	n := out.Len()
	task.Done()
	if out.Len() != n {
		t.Error("second Done wrote again")
	}
	// Logf writes a plain line.
	p.Logf("saved %s\n", "best.safetensors")
	if !strings.HasSuffix(out.String(), "\nsaved best.safetensors\n") {
		t.Errorf("Logf: %q", out.String())
	}
}

func TestProgressNoAccuracyUnknownTotal(t *testing.T) {
	var out bytes.Buffer
	p := train.NewProgress(train.ProgressConfig{Out: &out, Mode: train.ProgressLines, Interval: time.Second, Unit: "batch"})
	clk := &fakeClock{t: time.Unix(0, 0)}
	train.SetProgressClock(p, clk.now)
	task := p.Start("eval", 0)
	clk.advance(2 * time.Second)
	task.Add(4, math.NaN(), train.NoAccuracy)
	s := task.Done()
	// A NaN loss means "no loss": it is left out, like a missing accuracy.
	want := "eval  4 batch  2.0 batch/s\neval  4 batch in 2.0s  2.0 batch/s\n"
	if out.String() != want {
		t.Errorf("output\n%q\nwant\n%q", out.String(), want)
	}
	if !math.IsNaN(s.Accuracy) || !math.IsNaN(s.Loss) {
		t.Errorf("summary %+v: want NaN accuracy and loss", s)
	}
}

func TestProgressQuietAndNil(t *testing.T) {
	var out bytes.Buffer
	p := train.NewProgress(train.ProgressConfig{Out: &out, Mode: train.ProgressQuiet})
	var nilP *train.Progress
	for _, q := range []*train.Progress{p, nilP} {
		task := q.Start("epoch 1", 10)
		task.Add(10, 0.25, 5)
		q.Logf("hello")
		s := task.Done()
		if s.Samples != 10 || s.Loss != 0.25 || s.Accuracy != 0.5 {
			t.Errorf("quiet summary %+v", s)
		}
	}
	if out.Len() != 0 {
		t.Errorf("quiet progress wrote %q", out.String())
	}
	if nilP.Mode() != train.ProgressQuiet {
		t.Error("nil Progress is not quiet")
	}
}

func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	p := train.NewProgress(train.ProgressConfig{Out: &out, Mode: train.ProgressBar})
	task := p.Start("epoch 2/5", 64)
	var wg sync.WaitGroup
	for range 4 { // concurrent adds are safe
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				task.Add(4, 0.5, 3)
			}
		}()
	}
	wg.Wait()
	p.Logf("a message")
	s := task.Done()
	got := out.String()
	for _, w := range []string{"\r", "epoch 2/5", "img/s", "a message\n", "epoch 2/5  64 img in", "acc 75.00%"} {
		if !strings.Contains(got, w) {
			t.Errorf("bar output lacks %q:\n%q", w, got)
		}
	}
	if s.Samples != 64 || s.Accuracy != 0.75 {
		t.Errorf("summary %+v", s)
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("bar output does not end with the summary line: %q", got)
	}
}

func TestProgressBarUnknownTotal(t *testing.T) {
	var out bytes.Buffer
	p := train.NewProgress(train.ProgressConfig{Out: &out, Mode: train.ProgressBar, Unit: "batch"})
	task := p.Start("pool", 0)
	for range 5 {
		task.Add(1, 0.1, train.NoAccuracy)
	}
	s := task.Done()
	if s.Samples != 5 || !strings.Contains(out.String(), "pool  5 batch in") || strings.Contains(out.String(), "acc") {
		t.Errorf("summary %+v, output %q", s, out.String())
	}
}

func TestProgressAutoOnFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m := train.NewProgress(train.ProgressConfig{Out: f}).Mode(); m != train.ProgressLines {
		t.Errorf("a regular file: mode %v, want ProgressLines", m)
	}
}

func TestMetricsLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	l, err := train.OpenMetricsLog(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 5, 1, 12, 0, 0, 123e6, time.UTC)
	recs := []train.Record{
		{Time: at, Kind: "step", Epoch: 1, Step: 10, Values: map[string]float64{"loss": 0.5, "lr": 1e-3}},
		{Time: at, Kind: "epoch", Epoch: 1, Step: 20, Values: map[string]float64{"val_acc": 0.875, "loss": math.NaN(), "grad_norm": math.Inf(1)}},
		{Kind: "note"},
	}
	for _, r := range recs {
		if err := l.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	// Records are on disk before Sync or Close.
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("file has %d lines before Close:\n%s", len(lines), b)
	}
	if want := `{"time":"2025-05-01T12:00:00.123Z","kind":"step","epoch":1,"step":10,"loss":0.5,"lr":0.001}`; lines[0] != want {
		t.Errorf("line 1 = %s\nwant     %s", lines[0], want)
	}
	if want := `{"time":"2025-05-01T12:00:00.123Z","kind":"epoch","epoch":1,"step":20,"grad_norm":null,"loss":null,"val_acc":0.875}`; lines[1] != want {
		t.Errorf("line 2 = %s\nwant     %s", lines[1], want)
	}
	for _, bad := range []train.Record{{}, {Kind: "x", Values: map[string]float64{"step": 1}}, {Kind: "x", Values: map[string]float64{"": 1}}} {
		if err := l.Write(bad); err == nil {
			t.Errorf("Write(%+v): no error", bad)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(recs[0]); err == nil {
		t.Error("Write after Close: no error")
	}

	// A torn last line: ReadMetricsLog skips it, OpenMetricsLog removes it.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2025-05-01T12:00:01Z","kind":"st`)
	f.Close()
	got, err := train.ReadMetricsLog(path)
	if err != nil || len(got) != 3 {
		t.Fatalf("ReadMetricsLog: %d records, %v", len(got), err)
	}
	if got[0].Kind != "step" || got[0].Step != 10 || got[0].Values["lr"] != 1e-3 || !got[0].Time.Equal(at) {
		t.Errorf("record 1 = %+v", got[0])
	}
	if !math.IsNaN(got[1].Values["loss"]) || !math.IsNaN(got[1].Values["grad_norm"]) || got[1].Values["val_acc"] != 0.875 {
		t.Errorf("record 2 = %+v", got[1])
	}
	if got[2].Time.IsZero() || got[2].Values != nil {
		t.Errorf("record 3 = %+v: want a filled-in time and no values", got[2])
	}
	l, err = train.OpenMetricsLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(train.Record{Kind: "epoch", Epoch: 2}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	got, err = train.ReadMetricsLog(path)
	if err != nil || len(got) != 4 || got[3].Epoch != 2 {
		t.Fatalf("after reopening: %d records, %v", len(got), err)
	}

	// A corrupt line in the middle is an error naming it.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(lines[0]+"\n{\"kind\":\"x\"}\n"+lines[0]+"\n"), 0o644)
	if _, err := train.ReadMetricsLog(bad); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Errorf("corrupt line: error %v, want one naming bad.jsonl:2", err)
	}
	os.WriteFile(bad, []byte(`{"time":"2025-05-01T12:00:00Z","kind":"x","epoch":0,"step":0,"v":"str"}`+"\n"), 0o644)
	if _, err := train.ReadMetricsLog(bad); err == nil || !strings.Contains(err.Error(), `value "v"`) {
		t.Errorf("string value: error %v", err)
	}
	// A file that is all torn line opens empty.
	torn := filepath.Join(t.TempDir(), "torn.jsonl")
	os.WriteFile(torn, []byte(`{"time":`), 0o644)
	l, err = train.OpenMetricsLog(torn)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if b, _ := os.ReadFile(torn); len(b) != 0 {
		t.Errorf("torn-only file not emptied: %q", b)
	}
}
