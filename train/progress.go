package train

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// ProgressMode selects how a Progress shows itself.
type ProgressMode int

const (
	// ProgressAuto draws a bar when the output is a terminal and writes
	// log lines otherwise (a file, a pipe, CI, TERM=dumb).
	ProgressAuto ProgressMode = iota
	// ProgressBar always draws a bar (redrawn in place with \r).
	ProgressBar
	// ProgressLines writes a plain log line at most every Interval and
	// one when each task ends.
	ProgressLines
	// ProgressQuiet writes nothing; tasks still add up their summaries.
	ProgressQuiet
)

// ProgressConfig configures a Progress.
type ProgressConfig struct {
	Out  io.Writer    // where to write; nil means os.Stderr
	Mode ProgressMode // zero: ProgressAuto
	// Interval is the least time between two log lines of a task in
	// ProgressLines mode (zero: 10 seconds). The line at the end of a
	// task is always written.
	Interval time.Duration
	// Unit names what Stage.Add counts, for the rate ("img" if empty).
	Unit string
}

// Progress reports the advance of long loops (epochs, evaluation passes)
// with loss, accuracy, throughput and the time left. A nil *Progress is
// valid and quiet.
type Progress struct {
	out      io.Writer
	mode     ProgressMode // resolved: never ProgressAuto
	interval time.Duration
	unit     string
	now      func() time.Time // the clock; tests replace it
	mu       sync.Mutex       // serialises writes to out
}

// NewProgress returns a Progress writing to cfg.Out. In ProgressAuto mode
// the output is a terminal if it is an *os.File for which
// golang.org/x/term.IsTerminal holds and TERM is not "dumb".
func NewProgress(cfg ProgressConfig) *Progress {
	p := &Progress{out: cfg.Out, mode: cfg.Mode, interval: cfg.Interval, unit: cfg.Unit, now: time.Now}
	if p.out == nil {
		p.out = os.Stderr
	}
	if p.interval <= 0 {
		p.interval = 10 * time.Second
	}
	if p.unit == "" {
		p.unit = "img"
	}
	if p.mode == ProgressAuto {
		p.mode = ProgressLines
		if isTerminal(p.out) {
			p.mode = ProgressBar
		}
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
}

// Mode returns the mode in use (ProgressAuto resolved to ProgressBar or
// ProgressLines); ProgressQuiet for a nil Progress.
func (p *Progress) Mode() ProgressMode {
	if p == nil {
		return ProgressQuiet
	}
	return p.mode
}

// Logf writes one line of text (a newline is added), clearing the bar of
// a running task first in ProgressBar mode; the bar is drawn again at the
// task's next Add. It writes nothing in ProgressQuiet mode.
func (p *Progress) Logf(format string, args ...any) {
	if p == nil || p.mode == ProgressQuiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")
	if p.mode == ProgressBar {
		msg = "\r\x1b[K" + msg
	}
	fmt.Fprintln(p.out, msg)
}

// NoAccuracy is passed to Stage.Add by tasks without an accuracy (a
// detector), so that none is shown.
const NoAccuracy = -1

// Stage is one loop being reported: an epoch, an evaluation pass. Its
// methods may be called from several goroutines.
type Stage struct {
	p     *Progress
	name  string
	total int
	start time.Time

	mu         sync.Mutex
	n          int     // samples so far
	lossSum    float64 // Σ loss·n
	correct    int     // Σ correct over batches that counted it
	counted    int     // samples of those batches
	lastLine   time.Time
	done       bool
	bar        *progressbar.ProgressBar
	noteSuffix string
}

// Start begins a task called name (such as "epoch 3/20") over total
// samples; total <= 0 means unknown (no percentage or time left).
func (p *Progress) Start(name string, total int) *Stage {
	t := &Stage{p: p, name: name, total: max(total, 0)}
	if p == nil {
		t.start = time.Now()
		return t
	}
	t.start = p.now()
	t.lastLine = t.start
	if p.mode == ProgressBar {
		t.bar = p.newBar(name, t.total)
	}
	return t
}

func (p *Progress) newBar(name string, total int) *progressbar.ProgressBar {
	limit := int64(total)
	if total == 0 {
		limit = -1 // a spinner
	}
	// The line is the description (name, loss, accuracy: name + ~25
	// columns), the percentage, the bar, the count, the rate and the times
	// (~50 columns): fit it to the terminal so that it never wraps.
	width, count := 30, true
	if f, ok := p.out.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
			width = cols - len(name) - 80
			if width < 10 {
				width, count = width+14, false
			}
			width = min(40, max(5, width))
		}
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.out),
		progressbar.OptionSetDescription(name),
		progressbar.OptionSetWidth(width),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(p.unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		// No spinner goroutine for unknown totals: the bar moves on Add.
		progressbar.OptionSetSpinnerChangeInterval(0),
	}
	if count {
		opts = append(opts, progressbar.OptionShowCount())
	}
	return progressbar.NewOptions64(limit, opts...)
}

// Add records a step over n samples with mean loss loss, of which correct
// were classified correctly (NoAccuracy if the task has no accuracy). It
// updates the bar, or writes a log line if Interval has passed since the
// last one.
func (t *Stage) Add(n int, loss float64, correct int) {
	if n <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n += n
	t.lossSum += loss * float64(n)
	if correct >= 0 {
		t.correct += correct
		t.counted += n
	}
	p := t.p
	if p == nil || t.done {
		return
	}
	switch p.mode {
	case ProgressBar:
		p.mu.Lock()
		_ = t.bar.Add64(int64(n)) // an Add past a wrong total only stops the bar
		t.bar.Describe(t.name + "  " + t.stats() + t.noteSuffix)
		p.mu.Unlock()
	case ProgressLines:
		if now := p.now(); now.Sub(t.lastLine) >= p.interval {
			t.lastLine = now
			t.writeLine(now)
		}
	}
}

// Note sets a short text shown after the statistics until the task ends
// (for instance the learning rate, "lr 3.0e-04"); "" removes it.
func (t *Stage) Note(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.noteSuffix = ""
	if s != "" {
		t.noteSuffix = "  " + s
	}
}

// stats formats the running loss and accuracy.
func (t *Stage) stats() string {
	var parts []string
	if mean := t.lossSum / float64(max(t.n, 1)); !math.IsNaN(mean) {
		parts = append(parts, "loss "+fmtLoss(mean))
	}
	if t.counted > 0 {
		parts = append(parts, fmt.Sprintf("acc %5.1f%%", 100*float64(t.correct)/float64(t.counted)))
	}
	return strings.Join(parts, "  ")
}

func fmtLoss(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%.4f", v)
}

// writeLine writes a progress log line: done so far, statistics, rate and
// time left.
func (t *Stage) writeLine(now time.Time) {
	el := now.Sub(t.start)
	rate := float64(t.n) / el.Seconds()
	var b strings.Builder
	b.WriteString(t.name)
	if t.total > 0 {
		fmt.Fprintf(&b, "  %d/%d %s (%.1f%%)", t.n, t.total, t.p.unit, 100*float64(t.n)/float64(t.total))
	} else {
		fmt.Fprintf(&b, "  %d %s", t.n, t.p.unit)
	}
	if st := t.stats(); st != "" {
		b.WriteString("  " + st)
	}
	fmt.Fprintf(&b, "  %s/s", fmtRate(rate, t.p.unit))
	if t.total > 0 && rate > 0 && t.n < t.total {
		fmt.Fprintf(&b, "  ETA %s", fmtDuration(time.Duration(float64(t.total-t.n)/rate*float64(time.Second))))
	}
	b.WriteString(t.noteSuffix)
	t.p.mu.Lock()
	fmt.Fprintln(t.p.out, b.String())
	t.p.mu.Unlock()
}

func fmtRate(r float64, unit string) string {
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return "- " + unit
	}
	return fmt.Sprintf("%.1f %s", r, unit)
}

// fmtDuration rounds d to what a person wants to read: 0.4s, 12s, 3m05s,
// 2h07m.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}

// Summary is what a task adds up to.
type Summary struct {
	Name     string
	Unit     string // what Samples counts ("img")
	Samples  int
	Loss     float64       // mean loss per sample (weighted by batch size)
	Accuracy float64       // fraction correct; NaN if no batch counted it
	Elapsed  time.Duration // from Start to Done
	Rate     float64       // samples per second
}

// String formats the summary as the line Done writes.
func (s Summary) String() string {
	unit := s.Unit
	if unit == "" {
		unit = "img"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %d %s in %s", s.Name, s.Samples, unit, fmtDuration(s.Elapsed))
	if !math.IsNaN(s.Loss) {
		fmt.Fprintf(&b, "  loss %s", fmtLoss(s.Loss))
	}
	if !math.IsNaN(s.Accuracy) {
		fmt.Fprintf(&b, "  acc %.2f%%", 100*s.Accuracy)
	}
	fmt.Fprintf(&b, "  %s/s", fmtRate(s.Rate, unit))
	return b.String()
}

// Done ends the task: it removes the bar, writes one summary line (except
// in ProgressQuiet mode) and returns the summary. Calling Done again
// returns the summary without writing.
func (t *Stage) Done() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.p != nil {
		now = t.p.now()
	}
	s := Summary{Name: t.name, Unit: "img", Samples: t.n, Loss: t.lossSum / float64(max(t.n, 1)), Accuracy: math.NaN(), Elapsed: now.Sub(t.start)}
	if t.counted > 0 {
		s.Accuracy = float64(t.correct) / float64(t.counted)
	}
	if s.Elapsed > 0 {
		s.Rate = float64(t.n) / s.Elapsed.Seconds()
	}
	if t.n == 0 {
		s.Loss = math.NaN()
	}
	if t.p != nil {
		s.Unit = t.p.unit
	}
	if t.p == nil || t.done {
		t.done = true
		return s
	}
	t.done = true
	p := t.p
	if p.mode == ProgressQuiet {
		return s
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.bar != nil {
		_ = t.bar.Finish()
		_ = t.bar.Clear()
		fmt.Fprint(p.out, "\r\x1b[K")
	}
	fmt.Fprintln(p.out, s.String()+t.noteSuffix)
	return s
}
