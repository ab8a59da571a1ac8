package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("demo", "the whole example on synthetic litter: classifier and detector, baseline vs self-trained (the default)", cmdDemo)
}

func cmdDemo(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "demo", "[demo] [flags]")
	t := addTrainFlags(fs, "runs/demo")
	s := addSelfFlags(fs)
	seeds := fs.Int("seeds", 1, "repeat with this many seeds and report mean ± std")
	doCls := fs.Bool("classifier", true, "run the classifier half: baseline, trained longer and self-trained classifier (the flags above)")
	doDet := fs.Bool("detector", true, "run the detector half: baseline, trained longer and self-trained detector on synthetic scenes (detect-selftrain's defaults)")
	detFlags := fs.String("detector-flags", "", "detect-selftrain flags for the detector half, space-separated (e.g. \"-scenes 200 -student-epochs 3\")")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *seeds < 1 {
		return fmt.Errorf("-seeds %d must be positive", *seeds)
	}
	if !*doCls && !*doDet {
		return fmt.Errorf("-classifier=false and -detector=false leave nothing to run")
	}
	r, err := t.resolve()
	if err != nil {
		return err
	}
	if t.threads > 0 {
		defer nn.SetThreads(nn.SetThreads(t.threads))
	}
	start := time.Now()
	if s.epochs == 0 {
		// Half the recipe's epochs per round: the student starts from the
		// teacher's weights, and a seed of the classifier half stays near
		// 5 minutes.
		s.epochs = max(1, r.Epochs/2)
	}
	fmt.Fprintf(env.Stdout, "sortnet litter demo, %d thread(s), %d seed(s)\n", nn.Threads(), *seeds)
	if err := os.MkdirAll(t.out, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	base := t.seed
	var clsRuns []*selfResult
	var clsCkpt string
	if *doCls {
		if t.data.Dir, err = t.dataDir(ctx, env); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\nclassifier: %s, %d epochs, then %d self-training round(s) of %d epochs\n",
			r.Model.Describe(), r.Epochs, s.rounds, s.epochs)
		for k := 0; k < *seeds; k++ {
			t.seed = base + uint64(k)
			t.data.Seed = t.seed
			fmt.Fprintf(env.Stdout, "\n=== classifier, seed %d ===\n", t.seed)
			dir := filepath.Join(t.out, fmt.Sprintf("seed%d", t.seed))
			res, err := selfTrain(ctx, env, r, t, s, dir)
			if err != nil {
				return err
			}
			clsRuns = append(clsRuns, res)
			clsCkpt = firstExisting(filepath.Join(dir, "student", "best.safetensors"), filepath.Join(dir, "student", "last.safetensors"))
		}
		b.WriteString("## Classifier\n\n")
		printComparison(&b, clsRuns)
		classes := clsRuns[0].Baseline.Confusion.Classes()
		b.WriteString(pseudoTable(clsRuns, classes))
		if err := plotPseudo(t.out, clsRuns[0].Rounds, classes); err != nil {
			return err
		}
	}
	var detRuns []*detResult
	if *doDet {
		extra := strings.Fields(*detFlags)
		if t.threads > 0 {
			extra = append(extra, "-threads", strconv.Itoa(t.threads))
		}
		if t.workers > 0 {
			extra = append(extra, "-workers", strconv.Itoa(t.workers))
		}
		for k := 0; k < *seeds; k++ {
			seed := base + uint64(k)
			fmt.Fprintf(env.Stdout, "\n=== detector, seed %d ===\n", seed)
			res, err := detDemo(ctx, env, seed, filepath.Join(t.out, "detector", fmt.Sprintf("seed%d", seed)), extra...)
			if err != nil {
				return fmt.Errorf("detector: %w", err)
			}
			detRuns = append(detRuns, res)
		}
		b.WriteString("\n## Detector\n\n")
		printDetComparison(&b, detRuns)
		b.WriteString(detRoundTable(detRuns))
	}
	if len(detRuns) > 0 {
		last := detRuns[len(detRuns)-1]
		picture := last.Picture
		if clsCkpt != "" && last.Checkpoint != "" {
			// The whole pipeline on one test scene: the self-trained
			// detector finds the litter, the self-trained classifier sorts it.
			if picture, err = demoSort(ctx, env, last.Checkpoint, clsCkpt, last.Scene, filepath.Join(t.out, "sorted")); err != nil {
				return err
			}
		}
		fmt.Fprintf(&b, "\nannotated test scene: %s\n", picture)
	}
	fmt.Fprintf(&b, "\nwall time %s\n", time.Since(start).Round(time.Second))
	fmt.Fprint(env.Stdout, "\n"+b.String())
	if err := os.WriteFile(filepath.Join(t.out, "results.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return writeJSON(filepath.Join(t.out, "results.json"), map[string]any{"classifier": clsRuns, "detector": detRuns})
}

// demoSort runs the sort pipeline (detect → crop → classify) on one scene
// and returns the annotated picture.
func demoSort(ctx context.Context, env *Env, detCkpt, clsCkpt, scene, out string) (string, error) {
	det, dspec, err := loadDetector(detCkpt, nil)
	if err != nil {
		return "", err
	}
	cls, cspec, err := loadModel(clsCkpt, nil)
	if err != nil {
		return "", err
	}
	sum, err := sortImages(ctx, env, det, dspec, cls, cspec, []string{scene}, out, 0.3, 1.4, 8, true)
	if err != nil {
		return "", err
	}
	if err := writeJSON(filepath.Join(out, "summary.json"), sum); err != nil {
		return "", err
	}
	if len(sum.Images) == 0 || sum.Images[0].Annotated == "" {
		return "", fmt.Errorf("sort produced no picture of %s", scene)
	}
	return sum.Images[0].Annotated, nil
}

// firstExisting returns the first of paths that exists, or "".
func firstExisting(paths ...string) string {
	for _, p := range paths {
		if fileExists(p) {
			return p
		}
	}
	return ""
}

// pseudoTable lists, per round and class, the accepted pseudo-labels and
// their accuracy against the pool's hidden truth, as mean ± std over runs.
func pseudoTable(runs []*selfResult, classes []string) string {
	var b strings.Builder
	cell := finiteCell
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
