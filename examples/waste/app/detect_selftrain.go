package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/efficientnet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("detect-selftrain", "improve the detector with pseudo-boxes on unlabelled scenes (baseline vs self-trained AP)", cmdDetectSelftrain)
}

// detSelfFlags are the detector self-training flags.
type detSelfFlags struct {
	teacher, pool, poolTruth string
	threshold, boxScore      float64
	ignoreScore              float64
	rounds, epochs           int
	mu, studentLR, weight    float64
	balance, control         bool
	confirm                  string
	confirmProb              float64
	// cls and cspec are the -confirm classifier, loaded once by validate.
	cls   *efficientnet.Model
	cspec ModelSpec
}

func addDetSelfFlags(fs *flag.FlagSet) *detSelfFlags {
	s := &detSelfFlags{}
	fs.StringVar(&s.teacher, "teacher", "", "detector checkpoint to start from (default: train a supervised baseline first)")
	fs.StringVar(&s.pool, "pool", "", "folder of unlabelled images (default: the images of -pool-truth, or <data>/pool)")
	fs.StringVar(&s.poolTruth, "pool-truth", "", "COCO file of the pool's hidden boxes, to measure pseudo-box precision and recall (default: <data>/pool_truth.json if present)")
	fs.Float64Var(&s.boxScore, "box-score", 0.4, "least score of a teacher detection to become a pseudo-box")
	fs.Float64Var(&s.ignoreScore, "ignore-score", 0, "least score of a teacher detection below -box-score to become an ignore region: anchors on it are left out of the student's class loss rather than taught as background (0: none)")
	fs.Float64Var(&s.threshold, "threshold", 0.4, "least score of an image's best detection for the image to be used (images below teach nothing)")
	fs.IntVar(&s.rounds, "rounds", 2, "teacher→student rounds")
	fs.IntVar(&s.epochs, "student-epochs", 4, "epochs per round (each sees the labelled images once, with -mu times as many pseudo-labelled ones)")
	fs.Float64Var(&s.mu, "mu", 1, "pseudo-labelled images per labelled image in a batch")
	fs.Float64Var(&s.weight, "pseudo-weight", 0.5, "weight of a pseudo-labelled image's loss (litter the teacher missed is background in it: below 1 trusts it less)")
	fs.Float64Var(&s.studentLR, "student-lr", 0, "the student's base learning rate (0: half the recipe's); a cosine per round")
	fs.BoolVar(&s.balance, "balance", true, "balance the images by their dominant pseudo-class (7 classes; no effect with one)")
	fs.StringVar(&s.confirm, "confirm", "", "classifier checkpoint (waste train) that must confirm each pseudo-box: its square crop (zoom 1.4, as sort cuts) is classified and the box kept only if the top class is the box's class with probability at least -confirm-prob (1-class litter: if the probability of litter, 1 − p(background), is at least -confirm-prob); images left without boxes are not used")
	fs.Float64Var(&s.confirmProb, "confirm-prob", 0.5, "least probability of the classifier's top class for -confirm to keep a pseudo-box")
	fs.BoolVar(&s.control, "control", true, "also continue the baseline without pseudo-boxes for as many epochs, so the gain of self-training is not confused with that of training longer")
	return s
}

// validate checks the flags and loads the -confirm classifier (once: a
// later call keeps it), before any work starts.
func (s *detSelfFlags) validate() error {
	switch {
	case s.rounds < 1 || s.epochs < 1:
		return fmt.Errorf("-rounds %d and -student-epochs %d must be at least 1", s.rounds, s.epochs)
	case !(s.boxScore > 0 && s.boxScore < 1) || !(s.threshold >= 0 && s.threshold < 1):
		return fmt.Errorf("-box-score %v must lie in (0, 1) and -threshold %v in [0, 1)", s.boxScore, s.threshold)
	case !(s.ignoreScore >= 0 && s.ignoreScore < s.boxScore):
		return fmt.Errorf("-ignore-score %v must lie in [0, -box-score %v)", s.ignoreScore, s.boxScore)
	case !(s.mu > 0) || s.studentLR < 0 || !(s.weight > 0 && s.weight <= 1):
		return fmt.Errorf("-mu must be positive, -student-lr not negative and -pseudo-weight in (0, 1]")
	case !(s.confirmProb >= 0 && s.confirmProb <= 1):
		return fmt.Errorf("-confirm-prob %v must lie in [0, 1]", s.confirmProb)
	}
	if s.confirm != "" && s.cls == nil { // before scenes are made and detectors trained
		cls, cspec, err := loadModel(s.confirm, nil)
		if err != nil {
			return fmt.Errorf("-confirm: %w", err)
		}
		s.cls, s.cspec = cls, cspec
	}
	return nil
}

// imageSet is an unlabelled detection data set: image files through a
// box-aware pipeline whose geometry travels with each example, so that
// the teacher's boxes map back to the original image and onto the
// student's view.
type imageSet struct {
	files []string
	p     *augment.Pipeline
	size  int
	ws    *sync.Pool
}

func newImageSet(files []string, p *augment.Pipeline, size int) *imageSet {
	return &imageSet{files: files, p: p, size: size, ws: &sync.Pool{New: func() any { return new(augment.Workspace) }}}
}

func (s *imageSet) Len() int { return len(s.files) }

func (s *imageSet) Example(i int, rng *rand.Rand) (data.Example, error) {
	img, err := augment.DecodeFile(s.files[i])
	if err != nil {
		return data.Example{}, err
	}
	ws := s.ws.Get().(*augment.Workspace)
	defer s.ws.Put(ws)
	t := nn.New(s.size, s.size, 3)
	out, err := s.p.Process(rng, augment.Sample{Image: img}, t.Data(), ws)
	if err != nil {
		return data.Example{}, fmt.Errorf("%s: %w", s.files[i], err)
	}
	return data.Example{Image: t, Label: data.Unlabeled, Boxes: []data.Box{}, Geom: out.Geom, Index: i}, nil
}

// detPool is the unlabelled pool: its files and, if known, the hidden
// boxes of each (class indices of the detector).
type detPool struct {
	Files []string
	Truth [][]efficientdet.GroundTruth // nil without truth
	Split *cocoSplit                   // the truth as a COCO split, nil without
}

// openPool finds the pool's images and hidden truth.
func (s *detSelfFlags) openPool(root string, spec DetSpec) (*detPool, error) {
	truth := s.poolTruth
	if truth == "" && root != "" && fileExists(filepath.Join(root, "pool_truth.json")) {
		truth = filepath.Join(root, "pool_truth.json")
	}
	p := &detPool{}
	var ts *cocoSplit
	if truth != "" {
		var err error
		if ts, err = readSplit("pool", truth, ""); err != nil {
			return nil, err
		}
		if err := ts.forClasses(spec.categories()); err != nil {
			return nil, err
		}
	}
	switch {
	case s.pool != "":
		files, err := imageArgs([]string{s.pool})
		if err != nil {
			return nil, fmt.Errorf("pool: %w", err)
		}
		p.Files = files
	case ts != nil:
		for i := range ts.COCO.Images {
			p.Files = append(p.Files, ts.file(i))
		}
	case root != "" && fileExists(filepath.Join(root, "pool")):
		files, err := imageArgs([]string{filepath.Join(root, "pool")})
		if err != nil {
			return nil, fmt.Errorf("pool: %w", err)
		}
		p.Files = files
	default:
		return nil, fmt.Errorf("no unlabelled pool: name a folder of images with -pool")
	}
	if ts == nil {
		return p, nil
	}
	p.Split = ts
	class := map[int]int{}
	for k, id := range spec.CategoryIDs {
		class[id] = k
	}
	byFile := map[string][]efficientdet.GroundTruth{}
	known := map[string]bool{}
	byImage := ts.COCO.ByImage()
	for i, im := range ts.COCO.Images {
		f := filepath.Clean(ts.file(i))
		known[f] = true
		for _, a := range byImage[im.ID] {
			byFile[f] = append(byFile[f], efficientdet.GroundTruth{Box: a.Box(), Class: class[a.CategoryID], Crowd: a.IsCrowd != 0})
		}
	}
	for _, f := range p.Files {
		if !known[filepath.Clean(f)] {
			return nil, fmt.Errorf("%s has no entry for the pool image %s", truth, f)
		}
		p.Truth = append(p.Truth, byFile[filepath.Clean(f)])
	}
	return p, nil
}

// proposalRecorder is the detector task with a memory of every proposal
// the teacher makes, so that each round's pseudo-boxes can be compared
// with the pool's hidden truth. With confirm, only the pseudo-boxes the
// classifier confirms reach the SelfTrainer, and proposals whose boxes
// were all rejected are left out. That suits the offline rounds, which
// only select among the proposals (their log's "accepted n of m" then
// counts m without the left-out ones), not online training, which pairs
// proposals with the batch's samples by position.
type proposalRecorder struct {
	*efficientdet.Detector
	confirm *confirmer
	mu      sync.Mutex
	// props holds one proposal per pool image and round, as the student
	// sees it (with confirm: the kept boxes, Class −1 if none are left),
	// and rejected, with confirm, the boxes the classifier rejected.
	props, rejected []train.Proposal
}

func (r *proposalRecorder) Propose(b *data.Batch, o train.ProposeOpts) ([]train.Proposal, error) {
	p, err := r.Detector.Propose(b, o)
	if err != nil || r.confirm == nil {
		r.record(p, nil)
		return p, err
	}
	kept, rejected, err := r.confirm.confirm(p)
	if err != nil {
		return nil, err
	}
	r.record(kept, rejected)
	return usable(kept, rejected), nil
}

func (r *proposalRecorder) record(props, rejected []train.Proposal) {
	r.mu.Lock()
	r.props = append(r.props, props...)
	r.rejected = append(r.rejected, rejected...)
	r.mu.Unlock()
}

// detRound is one self-training round: how many pool images and boxes the
// teacher's detections gave, and how right they were.
type detRound struct {
	Round    int `json:"round"`
	Pool     int `json:"pool"`
	Accepted int `json:"accepted_images"`
	Boxes    int `json:"pseudo_boxes"`
	// Confirmed says a classifier confirmed the pseudo-boxes (-confirm):
	// Boxes and the scores below are those of the kept boxes, Rejected
	// counts the teacher's boxes the classifier rejected on images it
	// would have used and RejectedTruePositives those of them that match a
	// hidden box (by themselves, as below).
	Confirmed             bool `json:"confirmed"`
	Rejected              int  `json:"rejected"`
	RejectedTruePositives int  `json:"rejected_true_positives"`
	// TruePositives are pseudo-boxes matching a hidden box of their class at
	// IoU ≥ 0.5 (each hidden box matched once); Truth counts the hidden
	// boxes of the whole pool. Precision and Recall are NaN without truth.
	TruePositives int `json:"true_positives"`
	Truth         int `json:"truth_boxes"`
	// Ignore counts the ignore regions (-ignore-score) of the accepted
	// images, MissedIgnored the hidden boxes on them that no pseudo-box
	// matched but an ignore region does (IoU ≥ 0.5): litter kept out of
	// the background.
	Ignore        int     `json:"ignore_regions"`
	MissedIgnored int     `json:"missed_ignored"`
	Precision     float64 `json:"precision"`
	Recall        float64 `json:"recall"`
	ValAPBefore   float64 `json:"val_ap_before"`
	ValAPAfter    float64 `json:"val_ap_after"`
}

// pseudoBoxQuality matches the pseudo-boxes of the accepted images to the
// hidden truth, greedily by score (proposals list boxes highest score
// first), at IoU ≥ 0.5 within a class.
func pseudoBoxQuality(props []train.Proposal, threshold float64, truth [][]efficientdet.GroundTruth) detRound {
	r := detRound{Pool: len(props), Precision: math.NaN(), Recall: math.NaN()}
	for _, p := range props {
		if p.Confidence < threshold || p.Class < 0 {
			continue
		}
		r.Accepted++
		r.Boxes += len(p.Boxes)
		r.Ignore += len(p.Ignore)
		if truth == nil {
			continue
		}
		gts := truth[p.Index]
		taken := make([]bool, len(gts))
		for j, b := range p.Boxes {
			best, bestIoU := -1, 0.5
			for g, gt := range gts {
				if taken[g] || gt.Class != p.BoxLabels[j] {
					continue
				}
				if iou := efficientdet.IoU(b, gt.Box); iou >= bestIoU {
					best, bestIoU = g, iou
				}
			}
			if best >= 0 {
				taken[best] = true
				r.TruePositives++
			}
		}
		for g, gt := range gts {
			if taken[g] || gt.Crowd {
				continue
			}
			for _, b := range p.Ignore {
				if efficientdet.IoU(b, gt.Box) >= 0.5 {
					r.MissedIgnored++
					break
				}
			}
		}
	}
	if truth != nil {
		for _, gts := range truth {
			for _, g := range gts {
				if !g.Crowd {
					r.Truth++
				}
			}
		}
		if r.Boxes > 0 {
			r.Precision = float64(r.TruePositives) / float64(r.Boxes)
		}
		if r.Truth > 0 {
			r.Recall = float64(r.TruePositives) / float64(r.Truth)
		}
	}
	return r
}

// detScores are the COCO scores (AP, AP50, …) of a detector baseline, its
// supervised continuation (the control) and the self-trained detector on
// one set of images.
type detScores struct {
	Baseline map[string]float64 `json:"baseline"`
	Control  map[string]float64 `json:"control,omitempty"`
	Self     map[string]float64 `json:"selftrained"`
}

// detResult is one detector self-training run: the scores on the test
// split and, when its hidden boxes are known, on the unlabelled pool, and
// the pseudo-boxes of every round.
type detResult struct {
	Seed uint64    `json:"seed"`
	Test detScores `json:"test"`
	// Pool scores the detectors on the pool's hidden boxes: the domain
	// the pseudo-boxes come from (transductive: the student has seen
	// these images, unlabelled).
	Pool   *detScores `json:"pool,omitempty"`
	Rounds []detRound `json:"rounds"`
	// Picture is an annotated test scene of the self-trained detector,
	// Scene that scene's file and Checkpoint the self-trained detector.
	Picture    string        `json:"picture,omitempty"`
	Scene      string        `json:"scene,omitempty"`
	Checkpoint string        `json:"checkpoint,omitempty"`
	Wall       time.Duration `json:"wall_ns"`
}

// roundCosine restarts a cosine schedule every Period epochs: each
// self-training round (and the control's matching stretches) warms up and
// decays anew.
type roundCosine struct {
	Period float64
	Cosine optim.Cosine
}

func (s roundCosine) Factor(t float64) float64 {
	return s.Cosine.Factor(t - s.Period*math.Floor(max(t, 0)/s.Period))
}

func (s roundCosine) Validate() error {
	if !(s.Period > 0) {
		return fmt.Errorf("roundCosine: period %v must be positive", s.Period)
	}
	return s.Cosine.Validate()
}

// studentSchedule is the schedule of the student and the control.
func studentSchedule(epochs int) roundCosine {
	e := float64(epochs)
	return roundCosine{Period: e, Cosine: optim.Cosine{Total: e, Warmup: min(0.5, e/4), WarmupStart: 0.1, Min: 0.02}}
}

// noisyPipeline is the student's view of the pool: the recipe's
// box-aware training augmentation with colour and blur noise in front
// (the "noised student"; detect-waste's recipe has them already).
func (r DetRecipe) noisyPipeline() *augment.Pipeline {
	p := r.trainPipeline()
	if r.Augment != "detect-waste" {
		p.Transforms = append([]augment.Transform{augment.NewBlur(), augment.NewHueSaturationValue()}, p.Transforms...)
	}
	return p
}

// detSelfTrain trains (or loads) the baseline, continues it without
// pseudo-boxes (the control) and self-trains it on the pool, and scores
// all three on the test split (val without one).
func detSelfTrain(ctx context.Context, env *Env, r DetRecipe, t *detTrainFlags, s *detSelfFlags, d *detData, out string) (*detResult, error) {
	start := time.Now()
	if err := s.validate(); err != nil {
		return nil, err
	}
	res := &detResult{Seed: t.seed}
	test := d.Test
	if test == nil {
		test = d.Val
	}
	var base *efficientdet.Detector
	var spec DetSpec
	if s.teacher != "" {
		want := r.Model
		want.Classes, want.CategoryIDs = d.classes()
		var err error
		if base, spec, err = loadDetector(s.teacher, &want); err != nil {
			return nil, err
		}
	} else {
		fmt.Fprintln(env.Stdout, "— supervised baseline —")
		tr, err := trainDetector(ctx, env, r, d, t, filepath.Join(out, "baseline"))
		if err != nil {
			return nil, err
		}
		base, spec = tr.Det, tr.Spec
	}
	pool, err := s.openPool(d.Root, spec)
	if err != nil {
		return nil, err
	}
	var conf *confirmer
	if s.cls != nil {
		if conf, err = newConfirmer(ctx, s.cls, s.cspec, pool.Files, spec.Classes, s.confirmProb, s.threshold, 32); err != nil {
			return nil, err
		}
		fmt.Fprintf(env.Stdout, "pseudo-boxes confirmed by the classifier %s (%s) at probability %v\n", s.confirm, s.cspec, s.confirmProb)
	}
	res.Pool = &detScores{} // dropped below without the pool's truth
	// score scores a detector on test and on the pool (nil without its
	// truth).
	score := func(det *efficientdet.Detector, name string) (onTest, onPool map[string]float64, err error) {
		layers.SetTraining(det.Model, false)
		e, err := evalCOCO(ctx, env, det, spec, test, r.Batch)
		if err != nil {
			return nil, nil, err
		}
		onTest = e.Metrics.Scores()
		line := fmt.Sprintf("%s: %s AP %.4f, AP50 %.4f", name, test.Name, e.Metrics.AP, e.Metrics.AP50)
		if pool.Split != nil {
			if e, err = evalCOCO(ctx, env, det, spec, pool.Split, r.Batch); err != nil {
				return nil, nil, err
			}
			onPool = e.Metrics.Scores()
			line += fmt.Sprintf("; pool AP %.4f, AP50 %.4f", e.Metrics.AP, e.Metrics.AP50)
		}
		fmt.Fprintln(env.Stdout, line)
		return onTest, onPool, nil
	}
	if res.Test.Baseline, res.Pool.Baseline, err = score(base, "baseline"); err != nil {
		return nil, err
	}
	student := r
	student.Model, student.LR = spec, s.studentLR
	if student.LR == 0 {
		student.LR = r.LR / 2
	}
	_, valL, err := detLoaders(student, spec, d, t.workers, t.seed)
	if err != nil {
		return nil, err
	}
	labelled := d.Train.dataset(student.trainPipeline())
	lc := data.LoaderConfig{Batch: r.Batch, Workers: t.workers, Seed: t.seed}
	// continued copies the baseline into a fresh detector trained by task
	// (nil: the detector itself) with the students' optimizer and schedule.
	continued := func(dir, name string, wrap func(*efficientdet.Detector) train.Task) (*efficientdet.Detector, *train.Trainer, error) {
		det, _, err := spec.build(t.seed)
		if err != nil {
			return nil, nil, err
		}
		if err := layers.LoadStateDict(det.Model, layers.StateDict(base.Model), true); err != nil {
			return nil, nil, err
		}
		layers.SetTraining(det.Model, true)
		var task train.Task = det
		if wrap != nil {
			task = wrap(det)
		}
		rr := student
		rr.Name, rr.Epochs = name, s.rounds*s.epochs
		tr, err := newDetTrainer(env, rr, task, spec, nil, studentSchedule(s.epochs), dir, t.data.dir)
		return det, tr, err
	}
	// loadBest loads a run's best checkpoint (by validation AP).
	loadBest := func(det *efficientdet.Detector, dir string) error {
		if best := filepath.Join(dir, "best.safetensors"); fileExists(best) {
			if _, err := train.LoadCheckpoint(best, train.State{Model: det.Model}); err != nil {
				return err
			}
		}
		return nil
	}

	if s.control {
		fmt.Fprintln(env.Stdout, "— control: the baseline trained on as many more epochs, without pseudo-boxes —")
		dir := filepath.Join(out, "control")
		det, tr, err := continued(dir, r.Name+"+control", nil)
		if err != nil {
			return nil, err
		}
		trainL, err := data.NewLoader(labelled, data.LoaderConfig{Batch: r.Batch, Workers: t.workers, Seed: t.seed, DropLast: labelled.Len() > r.Batch})
		if err != nil {
			return nil, err
		}
		if _, err := tr.Fit(ctx, trainL, valL); err != nil {
			return nil, err
		}
		if err := loadBest(det, dir); err != nil {
			return nil, err
		}
		if res.Test.Control, res.Pool.Control, err = score(det, "trained longer"); err != nil {
			return nil, err
		}
	}

	fmt.Fprintln(env.Stdout, "— self-training —")
	dir := filepath.Join(out, "student")
	var rec *proposalRecorder
	det, tr, err := continued(dir, r.Name+"+selftrain", func(det *efficientdet.Detector) train.Task {
		det.PseudoScore, det.PseudoIgnoreScore = s.boxScore, s.ignoreScore
		rec = &proposalRecorder{Detector: det, confirm: conf}
		return rec
	})
	if err != nil {
		return nil, err
	}
	st, err := train.NewSelfTrainer(tr, train.SelfTrainConfig{
		Rounds: s.rounds, Epochs: s.epochs, Threshold: s.threshold, Mu: s.mu,
		Balance: s.balance && len(spec.Classes) > 1, Alpha: train.Ramp{Final: s.weight},
	})
	if err != nil {
		return nil, err
	}
	tp := train.Pool{
		Clean: newImageSet(pool.Files, detEvalPipeline(spec), spec.Size),
		Noisy: newImageSet(pool.Files, student.noisyPipeline(), spec.Size),
	}
	reps, err := st.Fit(ctx, labelled, lc, tp, valL)
	for i, rr := range reps {
		n := len(pool.Files)
		if len(rec.props) < (i+1)*n {
			break
		}
		q := pseudoBoxQuality(rec.props[i*n:(i+1)*n], s.threshold, pool.Truth)
		if conf != nil && len(rec.rejected) >= (i+1)*n {
			rq := pseudoBoxQuality(rec.rejected[i*n:(i+1)*n], s.threshold, pool.Truth)
			q.Confirmed, q.Rejected, q.RejectedTruePositives = true, rq.Boxes, rq.TruePositives
		}
		q.Round = rr.Round
		q.ValAPBefore, q.ValAPAfter = apOf(rr.Before), apOf(rr.After)
		res.Rounds = append(res.Rounds, q)
		fmt.Fprintf(env.Stdout, "round %d: %s; val AP %.4f → %.4f\n", q.Round, q.describe(), q.ValAPBefore, q.ValAPAfter)
	}
	if n := len(res.Rounds); err != nil && n > 0 && res.Rounds[n-1].Confirmed && res.Rounds[n-1].Accepted == 0 && res.Rounds[n-1].Rejected > 0 {
		err = fmt.Errorf("%w: the classifier of -confirm rejected all %d pseudo-boxes (lower -confirm-prob %v?)", err, res.Rounds[n-1].Rejected, s.confirmProb)
	}
	if err != nil {
		return res, err
	}
	if err := loadBest(det, dir); err != nil {
		return res, err
	}
	if res.Test.Self, res.Pool.Self, err = score(det, "self-trained"); err != nil {
		return res, err
	}
	if pool.Split == nil {
		res.Pool = nil
	}
	if res.Picture, err = examplePicture(ctx, env, det, spec, test, filepath.Join(out, "detections.png")); err != nil {
		return res, err
	}
	res.Scene = test.file(0)
	for _, name := range []string{"best.safetensors", "last.safetensors"} {
		if p := filepath.Join(dir, name); res.Checkpoint == "" && fileExists(p) {
			res.Checkpoint = p
		}
	}
	res.Wall = time.Since(start)
	return res, nil
}

func apOf(e *train.Evaluation) float64 {
	if e == nil {
		return math.NaN()
	}
	return e.Scores["ap"]
}

func (q detRound) describe() string {
	s := fmt.Sprintf("%d of %d pool images used (%.0f%%), %d pseudo-boxes", q.Accepted, q.Pool, 100*float64(q.Accepted)/float64(max(q.Pool, 1)), q.Boxes)
	if !math.IsNaN(q.Recall) {
		s += fmt.Sprintf(", precision %.3f, recall %.3f (IoU 0.5, %d hidden boxes)", q.Precision, q.Recall, q.Truth)
	}
	if q.Ignore > 0 {
		s += fmt.Sprintf("; %d ignore regions", q.Ignore)
		if !math.IsNaN(q.Recall) {
			s += fmt.Sprintf(" covering %d hidden boxes no pseudo-box found", q.MissedIgnored)
		}
	}
	if q.Confirmed {
		s += fmt.Sprintf("; the classifier rejected %d pseudo-boxes", q.Rejected)
		if !math.IsNaN(q.Recall) {
			s += fmt.Sprintf(" (%d of them matching a hidden box)", q.RejectedTruePositives)
		}
	}
	return s
}

// examplePicture draws the detections scoring at least 0.3 onto the first
// image of a split and writes it to path.
func examplePicture(ctx context.Context, env *Env, det *efficientdet.Detector, spec DetSpec, s *cocoSplit, path string) (string, error) {
	o := det.DetectOptions
	o.ScoreThreshold = 0.3
	res, err := detectFiles(ctx, env, det, spec, []string{s.file(0)}, 1, o, "picture")
	if err != nil {
		return "", err
	}
	if res[0].Err != nil {
		return "", res[0].Err
	}
	img, err := augment.DecodeFile(s.file(0))
	if err != nil {
		return "", err
	}
	var caps []caption
	for _, d := range res[0].Dets {
		caps = append(caps, caption{Box: d.Box, Class: d.Class, Text: fmt.Sprintf("%s %.2f", spec.Classes[d.Class], d.Score)})
	}
	return path, annotate(path, img, caps)
}

// printDetComparison prints baseline, control and self-trained scores on
// the test split and, when known, on the pool's hidden boxes, averaged over
// runs (seeds) with standard deviations; the gain is self-trained minus
// control when there is one (what the pseudo-boxes bring), else minus
// baseline.
func printDetComparison(w io.Writer, runs []*detResult) {
	var test []*detScores
	var pool []*detScores
	for _, r := range runs {
		test = append(test, &r.Test)
		if r.Pool != nil {
			pool = append(pool, r.Pool)
		}
	}
	fmt.Fprintf(w, "\ndetector on the test set, %d run(s):\n", len(runs))
	printScoreTable(w, test)
	if len(pool) == len(runs) {
		fmt.Fprintf(w, "\ndetector on the unlabelled pool's hidden boxes (its domain; the student saw these images without boxes), %d run(s):\n", len(runs))
		printScoreTable(w, pool)
	}
}

func printScoreTable(w io.Writer, runs []*detScores) {
	hasControl := runs[0].Control != nil
	cell := scoreCell
	var rows [][]string
	for _, name := range []string{"ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar100"} {
		var b, c, s, d []float64
		measured := true // COCO says -1 where there is nothing to measure
		for _, r := range runs {
			ref := r.Baseline
			if hasControl {
				ref = r.Control
				c = append(c, r.Control[name])
			}
			b, s, d = append(b, r.Baseline[name]), append(s, r.Self[name]), append(d, r.Self[name]-ref[name])
			measured = measured && r.Baseline[name] >= 0 && r.Self[name] >= 0 && ref[name] >= 0
		}
		if !measured {
			continue
		}
		row := []string{strings.ToUpper(name[:2]) + name[2:], cell(b)}
		if hasControl {
			row = append(row, cell(c))
		}
		rows = append(rows, append(row, cell(s), cell(d)))
	}
	head := []string{"metric", "baseline"}
	gain := "gain over baseline"
	if hasControl {
		head = append(head, "baseline, trained longer")
		gain = "gain over trained longer"
	}
	head = append(head, "self-trained", gain)
	fmt.Fprint(w, table(head, rows))
}

// detRoundTable lists the pseudo-boxes of every round, mean ± std over
// runs.
func detRoundTable(runs []*detResult) string {
	cell := finiteCell
	var rows [][]string
	confirmed, ignoring := false, false
	for _, r := range runs {
		for _, q := range r.Rounds {
			confirmed = confirmed || q.Confirmed
			ignoring = ignoring || q.Ignore > 0
		}
	}
	for i := range runs[0].Rounds {
		var used, boxes, rejected, ignore, missed, prec, rec, before, after []float64
		for _, r := range runs {
			if i >= len(r.Rounds) {
				continue
			}
			q := r.Rounds[i]
			used = append(used, 100*float64(q.Accepted)/float64(max(q.Pool, 1)))
			boxes, rejected = append(boxes, float64(q.Boxes)), append(rejected, float64(q.Rejected))
			ignore, missed = append(ignore, float64(q.Ignore)), append(missed, float64(q.MissedIgnored))
			prec, rec = append(prec, q.Precision), append(rec, q.Recall)
			before, after = append(before, q.ValAPBefore), append(after, q.ValAPAfter)
		}
		row := []string{fmt.Sprint(i + 1), cell(used), cell(boxes)}
		if confirmed {
			row = append(row, cell(rejected))
		}
		if ignoring {
			row = append(row, cell(ignore), cell(missed))
		}
		rows = append(rows, append(row, cell(prec), cell(rec), cell(before), cell(after)))
	}
	head := []string{"round", "pool images used %", "pseudo-boxes"}
	title := "\npseudo-boxes per round (precision and recall at IoU 0.5 against the pool's hidden boxes):\n"
	if confirmed {
		head = append(head, "rejected by the classifier")
		title = "\npseudo-boxes per round, those the classifier confirmed (precision and recall at IoU 0.5 against the pool's hidden boxes):\n"
	}
	if ignoring {
		head = append(head, "ignore regions", "missed hidden boxes ignored")
	}
	return title + table(append(head, "precision", "recall", "val AP before", "val AP after"), rows)
}

func cmdDetectSelftrain(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "detect-selftrain", "detect-selftrain [flags]\n\n"+
		"Self-trains the detector with pseudo-boxes: a supervised baseline (or\n"+
		"-teacher) labels the unlabelled pool; detections scoring at least\n"+
		"-box-score become pseudo-boxes on the images whose best detection scores\n"+
		"at least -threshold; a student, continued from the teacher, trains on\n"+
		"batches of labelled images and pseudo-labelled ones seen through\n"+
		"box-aware augmentation with colour and blur noise; the student labels the\n"+
		"pool for the next round. Every round reports the pseudo-boxes' precision\n"+
		"and recall against the pool's hidden boxes when they are known (the\n"+
		"synthetic pool's pool_truth.json). The control continues the baseline as\n"+
		"long without pseudo-boxes. Baseline, control and self-trained detector\n"+
		"are scored on the test split.\n\n"+
		"With -confirm a classifier checkpoint (waste train) vets the pseudo-boxes:\n"+
		"each is cut from its pool image as a square crop (zoom 1.4, as crops and\n"+
		"sort cut them) and kept only if the classifier's top class is the box's\n"+
		"class with probability at least -confirm-prob (for a 1-class litter\n"+
		"detector: if 1 − p(background) is); an image whose boxes are all\n"+
		"rejected is not used. Every round then reports how many boxes the\n"+
		"classifier rejected, and the precision and recall are those of the\n"+
		"kept boxes.")
	t := addDetTrainFlags(fs, "runs/detect-selftrain")
	s := addDetSelfFlags(fs)
	seeds := fs.Int("seeds", 1, "repeat with this many seeds (-seed, -seed+1, …) and report mean ± std")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *seeds < 1 {
		return fmt.Errorf("-seeds %d must be positive", *seeds)
	}
	if err := s.validate(); err != nil {
		return err
	}
	r, err := t.resolve()
	if err != nil {
		return err
	}
	if t.threads > 0 {
		defer nn.SetThreads(nn.SetThreads(t.threads))
	}
	start := time.Now()
	var runs []*detResult
	base := t.seed
	for k := range *seeds {
		t.seed = base + uint64(k)
		d, err := t.data.open(ctx, env, t.seed)
		if err != nil {
			return err
		}
		dir := t.out
		if *seeds > 1 {
			dir = filepath.Join(t.out, fmt.Sprintf("seed%d", t.seed))
			fmt.Fprintf(env.Stdout, "\n=== seed %d ===\n", t.seed)
		}
		res, err := detSelfTrain(ctx, env, r, t, s, d, dir)
		if err != nil {
			return err
		}
		runs = append(runs, res)
	}
	var b strings.Builder
	printDetComparison(&b, runs)
	b.WriteString(detRoundTable(runs))
	fmt.Fprintf(&b, "\nwall time %s\n", time.Since(start).Round(time.Second))
	fmt.Fprint(env.Stdout, b.String())
	if err := os.MkdirAll(t.out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(t.out, "results.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return writeJSON(filepath.Join(t.out, "results.json"), runs)
}

// detDemo runs detector self-training on the synthetic scenes with the
// detect-selftrain defaults (small recipe, control included) for one
// seed, writing into out; args are further detect-selftrain flags (e.g.
// "-scenes", "200", "-student-epochs", "3"). Summarise several runs with
// printDetComparison and detRoundTable; each result's Picture is an
// annotated test scene.
//
// With the defaults (300 training scenes, a pool of 1,200, 22 baseline
// epochs, a control and 2 rounds of 4 student epochs) one seed took about
// 9.3 minutes on the 2-core development machine (the 3-seed demo's
// detector half: 28 minutes), the scene generation 35 s more once; trim with "-scenes", "-pool-scenes", "-epochs",
// "-student-epochs" or "-control=false" to fit a time budget.
func detDemo(ctx context.Context, env *Env, seed uint64, out string, args ...string) (*detResult, error) {
	fs := flag.NewFlagSet("detect-selftrain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	t := addDetTrainFlags(fs, out)
	s := addDetSelfFlags(fs)
	if err := parse(fs, args, false); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	r, err := t.resolve()
	if err != nil {
		return nil, err
	}
	if t.threads > 0 {
		defer nn.SetThreads(nn.SetThreads(t.threads))
	}
	t.seed = seed
	d, err := t.data.open(ctx, env, seed)
	if err != nil {
		return nil, err
	}
	return detSelfTrain(ctx, env, r, t, s, d, t.out)
}
