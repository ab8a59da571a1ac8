package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sortnet/sortnet/nn"
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
	studentEpochs := s.epochs
	if studentEpochs == 0 {
		studentEpochs = r.Epochs
	}
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
	b.WriteString("\npseudo-labels per round (first seed):\n")
	for _, rr := range runs[0].Rounds {
		fmt.Fprintf(&b, "round %d: accepted %.1f%% of %d, pseudo-label accuracy %.3f\n", rr.Round, 100*rr.AcceptedFraction, rr.Pool, rr.Accuracy)
	}
	fmt.Fprintf(&b, "\nwall time %s\n", time.Since(start).Round(time.Second))
	fmt.Fprint(env.Stdout, b.String())
	if err := os.MkdirAll(t.out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(t.out, "results.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(runs, "", "  ")
	return os.WriteFile(filepath.Join(t.out, "results.json"), js, 0o644)
}
