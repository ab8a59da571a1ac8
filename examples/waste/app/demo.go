package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("demo", "the whole example on synthetic litter: baseline vs self-trained classifier (the default)", cmdDemo)
}

func cmdDemo(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "demo", "[demo] [flags]")
	t := addTrainFlags(fs, "runs/demo")
	s := addSelfFlags(fs)
	seeds := fs.Int("seeds", 1, "repeat with this many seeds and report mean ± std")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *seeds < 1 {
		return fmt.Errorf("-seeds %d must be positive", *seeds)
	}
	r, err := t.resolve()
	if err != nil {
		return err
	}
	if t.threads > 0 {
		defer nn.SetThreads(nn.SetThreads(t.threads))
	}
	start := time.Now()
	if t.data.Dir, err = t.dataDir(ctx, env); err != nil {
		return err
	}
	if s.epochs == 0 {
		// Half the recipe's epochs per round: the student starts from the
		// teacher's weights, and a seed of the demo stays near 5 minutes.
		s.epochs = max(1, r.Epochs/2)
	}
	studentEpochs := s.epochs
	fmt.Fprintf(env.Stdout, "sortnet litter demo: %s, %d epochs, then %d self-training round(s) of %d epochs; %d thread(s)\n",
		r.Model.Describe(), r.Epochs, s.rounds, studentEpochs, nn.Threads())
	var runs []*selfResult
	base := t.seed
	for k := 0; k < *seeds; k++ {
		t.seed = base + uint64(k)
		t.data.Seed = t.seed
		fmt.Fprintf(env.Stdout, "\n=== seed %d ===\n", t.seed)
		res, err := selfTrain(ctx, env, r, t, s, filepath.Join(t.out, fmt.Sprintf("seed%d", t.seed)))
		if err != nil {
			return err
		}
		runs = append(runs, res)
	}
	var b strings.Builder
	printComparison(&b, runs)
	classes := runs[0].Baseline.Confusion.Classes()
	b.WriteString(pseudoTable(runs, classes))
	if err := os.MkdirAll(t.out, 0o755); err != nil {
		return err
	}
	if err := plotPseudo(t.out, runs[0].Rounds, classes); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nwall time %s\n", time.Since(start).Round(time.Second))
	fmt.Fprint(env.Stdout, b.String())
	if err := os.WriteFile(filepath.Join(t.out, "results.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(runs, "", "  ")
	return os.WriteFile(filepath.Join(t.out, "results.json"), js, 0o644)
}

// pseudoTable lists, per round and class, the accepted pseudo-labels and
// their accuracy against the pool's hidden truth, as mean ± std over runs.
func pseudoTable(runs []*selfResult, classes []string) string {
	var b strings.Builder
	cell := func(xs []float64) string {
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
	for r := range runs[0].Rounds {
		var rows [][]string
		for c, name := range classes {
			var acc, used, right []float64
			for _, run := range runs {
				if r >= len(run.Rounds) {
					continue
				}
				rr := run.Rounds[r]
				acc = append(acc, float64(rr.Accepted[c]))
				used = append(used, float64(rr.Used[c]))
				right = append(right, rr.ClassAccuracy[c])
			}
			rows = append(rows, []string{name, cell(acc), cell(used), cell(right)})
		}
		var total, frac []float64
		for _, run := range runs {
			if r < len(run.Rounds) {
				total = append(total, run.Rounds[r].Accuracy)
				frac = append(frac, 100*run.Rounds[r].AcceptedFraction)
			}
		}
		fmt.Fprintf(&b, "\nround %d pseudo-labels: %s%% of the pool accepted, accuracy %s\n", r+1, cell(frac), cell(total))
		b.WriteString(table([]string{"class", "accepted", "trained on (balanced)", "accuracy"}, rows))
	}
	return b.String()
}

// plotPseudo draws the accepted pseudo-labels and their accuracy per class
// and round.
func plotPseudo(dir string, rounds []train.RoundReport, classes []string) error {
	var counts, accs []train.Bars
	for _, rr := range rounds {
		name := fmt.Sprintf("round %d", rr.Round)
		c := train.Bars{Name: name}
		a := train.Bars{Name: name}
		for k := range classes {
			c.Values = append(c.Values, float64(rr.Accepted[k]))
			a.Values = append(a.Values, 100*rr.ClassAccuracy[k])
		}
		counts, accs = append(counts, c), append(accs, a)
	}
	if len(rounds) == 0 {
		return nil
	}
	if err := train.PlotBars(filepath.Join(dir, "pseudo_accepted.png"), "accepted pseudo-labels", classes, counts, train.PlotOptions{Title: "pseudo-labels accepted per class"}); err != nil {
		return err
	}
	return train.PlotBars(filepath.Join(dir, "pseudo_accuracy.png"), "%", classes, accs, train.PlotOptions{Title: "pseudo-label accuracy per class (hidden truth)"})
}
