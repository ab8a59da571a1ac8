package train

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"sort"
	"sync/atomic"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// Proposal is a teacher's pseudo-label for one unlabelled sample.
type Proposal struct {
	Index      int     // the sample's index in the pool
	Class      int     // the predicted class, used by thresholds and balancing
	Confidence float64 // the teacher's confidence in Class, in [0, 1]
	// Target is the soft label (class probabilities) of a classifier.
	Target []float32
	// Boxes and BoxLabels are the objects a detector found; Ignore holds
	// the regions it was unsure of (see data.Example.Ignore).
	Boxes     []data.Box
	BoxLabels []int
	Ignore    []data.Box
}

// PseudoLabeler is a Task whose model can label unlabelled samples: the
// interface through which SelfTrainer works for classifiers and detectors
// alike.
type PseudoLabeler interface {
	Task
	// Propose predicts a pseudo-label for every sample of b, with the model
	// already in evaluation mode, under NoGrad.
	Propose(b *data.Batch, o ProposeOpts) ([]Proposal, error)
	// Apply turns an accepted proposal into the training target of an
	// example (hard or soft label, boxes).
	Apply(ex *data.Example, p Proposal, soft bool)
}

// ProposeOpts tunes Propose.
type ProposeOpts struct {
	// Temperature divides the logits before the softmax (0 means 1):
	// above 1 softens the soft labels, below sharpens them.
	Temperature float64
	// FlipTTA averages the predictions for the image and its horizontal
	// mirror.
	FlipTTA bool
}

var _ PseudoLabeler = (*Classifier)(nil)

// Propose returns the softmax probabilities of each sample as its soft
// label, and their argmax and maximum as Class and Confidence.
func (c *Classifier) Propose(b *data.Batch, o ProposeOpts) ([]Proposal, error) {
	temp := o.Temperature
	if temp == 0 {
		temp = 1
	}
	if !(temp > 0) || math.IsInf(temp, 0) {
		return nil, fmt.Errorf("train.Classifier.Propose: temperature %v must be positive", o.Temperature)
	}
	probs := func(x *nn.Tensor) *nn.Tensor {
		var p *nn.Var
		nn.NoGrad(func() { p = nn.Softmax(nn.MulScalar(c.Model.Forward(nn.NewVar(x)), float32(1/temp))) })
		return p.Value
	}
	p := probs(b.X)
	if o.FlipTTA {
		q := probs(flipW(b.X))
		for i := range p.Data() {
			p.Data()[i] = (p.Data()[i] + q.Data()[i]) / 2
		}
	}
	k := p.Dim(1)
	out := make([]Proposal, b.Len())
	for i := range out {
		row := append([]float32(nil), p.Data()[i*k:(i+1)*k]...)
		cls := Argmax(row)
		out[i] = Proposal{Index: b.Indices[i], Class: cls, Confidence: float64(row[cls]), Target: row}
	}
	return out, nil
}

// Apply sets the example's label (hard) or soft target.
func (c *Classifier) Apply(ex *data.Example, p Proposal, soft bool) {
	ex.Label = p.Class
	if soft {
		ex.Target = p.Target
	}
}

// flipW mirrors NHWC images left to right.
func flipW(x *nn.Tensor) *nn.Tensor {
	s := x.Shape()
	n, h, w, c := s[0], s[1], s[2], s[3]
	y := nn.New(s...)
	xd, yd := x.Data(), y.Data()
	for r := 0; r < n*h; r++ {
		for j := 0; j < w; j++ {
			copy(yd[(r*w+j)*c:(r*w+j+1)*c], xd[(r*w+w-1-j)*c:(r*w+w-j)*c])
		}
	}
	return y
}

// Ramp is Lee's (2013) weight of the pseudo-label loss over training:
// 0 until epoch T1, rising linearly to Final at epoch T2, Final after. The
// zero Ramp (Final 0) means a constant weight of 1.
type Ramp struct {
	T1, T2 float64
	Final  float64
}

// At returns the weight at (1-based) epoch t.
func (r Ramp) At(t float64) float64 {
	switch {
	case r.Final == 0 && r.T1 == 0 && r.T2 == 0:
		return 1
	case t < r.T1:
		return 0
	case t >= r.T2:
		return r.Final
	}
	return r.Final * (t - r.T1) / (r.T2 - r.T1)
}

// Teacher says which weights label the pool.
type Teacher int

const (
	// ModelTeacher labels with the model as it is when a round starts
	// (the previous round's student): a frozen teacher for the round.
	ModelTeacher Teacher = iota
	// EMATeacher labels with the Trainer's exponential moving average of
	// the weights (Config.EMA must be set).
	EMATeacher
)

// SelfTrainConfig configures a SelfTrainer.
type SelfTrainConfig struct {
	// Rounds of teacher → student (offline mode; 0 means 1). Each round
	// labels the pool with the teacher, then trains the student for
	// Epochs epochs on the labelled data plus the accepted pseudo-labels;
	// the student is the next round's teacher.
	Rounds int
	Epochs int // student epochs per round (required)
	// Online switches to FixMatch-style training: every labelled batch is
	// paired with a pool batch whose weak view the current model labels
	// and whose strong view it trains on. Rounds is then ignored.
	Online  bool
	Teacher Teacher
	// Threshold is the confidence a proposal needs to be accepted
	// (FixMatch uses 0.95, Noisy Student 0.3); ClassThresholds, if set,
	// overrides it per predicted class.
	Threshold       float64
	ClassThresholds []float64
	// Soft trains on the teacher's probabilities instead of its argmax;
	// Temperature (0 means 1) sharpens or softens them. FlipTTA averages
	// the teacher's prediction with that of the mirrored image.
	Soft        bool
	Temperature float64
	FlipTTA     bool
	// Balance keeps at most PerClass accepted samples of each class (the
	// most confident) and duplicates the samples of smaller classes up to
	// it, as Noisy Student does; PerClass 0 means the median of the
	// accepted counts of the classes that have any.
	Balance  bool
	PerClass int
	// Alpha weighs the pseudo-label loss by epoch of the round (Lee's
	// α(t)); the zero Ramp weighs it 1.
	Alpha Ramp
	// Mu is the number of pool samples per labelled sample in a batch
	// (0 means 1).
	Mu float64
	// FreshStudent starts each round from a new model made by NewStudent
	// instead of continuing the teacher's weights.
	FreshStudent bool
	NewStudent   func() (PseudoLabeler, optim.Optimizer, error)
}

// Validate reports invalid settings.
func (c SelfTrainConfig) Validate() error {
	switch {
	case c.Rounds < 0:
		return fmt.Errorf("train.SelfTrainConfig: Rounds %d is negative", c.Rounds)
	case c.Epochs < 1:
		return fmt.Errorf("train.SelfTrainConfig: Epochs %d must be at least 1", c.Epochs)
	case !(c.Threshold >= 0 && c.Threshold <= 1):
		return fmt.Errorf("train.SelfTrainConfig: Threshold %v must lie in [0, 1]", c.Threshold)
	case c.Temperature < 0 || math.IsNaN(c.Temperature) || math.IsInf(c.Temperature, 0):
		return fmt.Errorf("train.SelfTrainConfig: Temperature %v must be positive (or 0 for 1)", c.Temperature)
	case c.PerClass < 0:
		return fmt.Errorf("train.SelfTrainConfig: PerClass %d is negative", c.PerClass)
	case c.Mu < 0 || math.IsNaN(c.Mu) || math.IsInf(c.Mu, 0):
		return fmt.Errorf("train.SelfTrainConfig: Mu %v must be positive (or 0 for 1)", c.Mu)
	case c.Alpha.Final < 0 || math.IsNaN(c.Alpha.Final) || c.Alpha.T2 < c.Alpha.T1:
		return fmt.Errorf("train.SelfTrainConfig: Alpha %+v needs Final >= 0 and T2 >= T1", c.Alpha)
	case c.FreshStudent && c.NewStudent == nil:
		return errors.New("train.SelfTrainConfig: FreshStudent needs NewStudent")
	case c.Teacher != ModelTeacher && c.Teacher != EMATeacher:
		return fmt.Errorf("train.SelfTrainConfig: unknown Teacher %d", c.Teacher)
	}
	for k, th := range c.ClassThresholds {
		if !(th >= 0 && th <= 1) {
			return fmt.Errorf("train.SelfTrainConfig: ClassThresholds[%d] = %v must lie in [0, 1]", k, th)
		}
	}
	return nil
}

// Pool is the unlabelled data: the same samples seen two ways.
type Pool struct {
	// Clean is the teacher's view: no random augmentation.
	Clean data.Dataset
	// Noisy is the student's view, with the training augmentation
	// (RandAugment, flips, ...): the "noised student". It must hold the
	// same samples in the same order as Clean.
	Noisy data.Dataset
	// Truth optionally holds the hidden true class of every sample
	// (synthetic data), to measure how right the pseudo-labels are.
	Truth []int
}

// RoundReport describes one self-training round.
type RoundReport struct {
	Round    int
	Pool     int   // samples labelled
	Accepted []int // accepted proposals per class (before balancing)
	Used     []int // pseudo-labelled samples per class trained on (after balancing)
	// AcceptedFraction is the accepted share of the pool.
	AcceptedFraction float64
	// Accuracy is the share of accepted proposals whose class is the true
	// one, and ClassAccuracy the same per predicted class (NaN without
	// Pool.Truth or without accepted samples).
	Accuracy      float64
	ClassAccuracy []float64
	Before, After *Evaluation // validation before and after the round
	Fit           *Report
}

// SelfTrainer improves a model with pseudo-labels: offline rounds (label
// the pool, train a student, repeat) or online FixMatch-style training. It
// works through the PseudoLabeler interface, so any task that can propose
// labels — classifier or detector — can use it.
type SelfTrainer struct {
	t   *Trainer
	cfg SelfTrainConfig
	// pseudo holds the last round's accepted proposals (after balancing).
	pseudo []Proposal
}

// NewSelfTrainer returns a SelfTrainer on top of a Trainer, whose task
// must be a PseudoLabeler and whose Config (schedule, EMA, checkpoints,
// progress) drives each round's training; its Epochs is replaced by cfg's.
func NewSelfTrainer(t *Trainer, cfg SelfTrainConfig) (*SelfTrainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, ok := t.task.(PseudoLabeler); !ok {
		return nil, fmt.Errorf("train.NewSelfTrainer: task %T cannot propose pseudo-labels", t.task)
	}
	if cfg.Teacher == EMATeacher && t.ema == nil {
		return nil, errors.New("train.NewSelfTrainer: an EMA teacher needs the Trainer's Config.EMA")
	}
	if cfg.Rounds == 0 {
		cfg.Rounds = 1
	}
	if cfg.Mu == 0 {
		cfg.Mu = 1
	}
	return &SelfTrainer{t: t, cfg: cfg}, nil
}

// Trainer returns the current trainer (a new one each round with
// FreshStudent).
func (s *SelfTrainer) Trainer() *Trainer { return s.t }

// Pseudo returns the pseudo-labels of the last offline round.
func (s *SelfTrainer) Pseudo() []Proposal { return s.pseudo }

// Fit self-trains. labelled is the labelled training data set and lc the
// loader settings for it (its Batch is the number of labelled samples per
// batch; each batch gets Mu times as many pool samples); val, if not nil,
// is evaluated before and after every round.
func (s *SelfTrainer) Fit(ctx context.Context, labelled data.Dataset, lc data.LoaderConfig, pool Pool, val *data.Loader) ([]RoundReport, error) {
	if pool.Clean == nil || pool.Noisy == nil || pool.Clean.Len() == 0 {
		return nil, errors.New("train.SelfTrainer: the pool needs Clean and Noisy views with samples")
	}
	if pool.Clean.Len() != pool.Noisy.Len() {
		return nil, fmt.Errorf("train.SelfTrainer: pool views differ in size: %d clean, %d noisy", pool.Clean.Len(), pool.Noisy.Len())
	}
	if pool.Truth != nil && len(pool.Truth) != pool.Clean.Len() {
		return nil, fmt.Errorf("train.SelfTrainer: %d true labels for a pool of %d", len(pool.Truth), pool.Clean.Len())
	}
	if s.cfg.Online {
		r, err := s.online(ctx, labelled, lc, pool, val)
		return []RoundReport{r}, err
	}
	var reports []RoundReport
	for round := 1; round <= s.cfg.Rounds; round++ {
		r, err := s.round(ctx, round, labelled, lc, pool, val)
		reports = append(reports, r)
		if err != nil {
			return reports, err
		}
	}
	return reports, nil
}

func (s *SelfTrainer) evaluate(ctx context.Context, val *data.Loader) (*Evaluation, error) {
	if val == nil {
		return nil, nil
	}
	return s.t.Evaluate(ctx, val)
}

func (s *SelfTrainer) round(ctx context.Context, round int, labelled data.Dataset, lc data.LoaderConfig, pool Pool, val *data.Loader) (RoundReport, error) {
	rep := RoundReport{Round: round, Pool: pool.Clean.Len()}
	var err error
	if rep.Before, err = s.evaluate(ctx, val); err != nil {
		return rep, err
	}
	props, err := s.Label(ctx, pool.Clean, lc.Batch, lc.Workers)
	if err != nil {
		return rep, err
	}
	k := s.numClasses(props)
	accepted, used := s.Select(props, lc.Seed+uint64(round))
	rep.Accepted = countClasses(accepted, k)
	rep.AcceptedFraction = float64(len(accepted)) / float64(len(props))
	rep.Accuracy, rep.ClassAccuracy = pseudoAccuracy(accepted, pool.Truth, k)
	rep.Used = countClasses(used, k)
	s.pseudo = used
	s.t.cfg.Progress.Logf("round %d: accepted %d of %d pool samples (%.1f%%), training on %d; per class %v",
		round, len(accepted), len(props), 100*rep.AcceptedFraction, len(used), rep.Used)
	if len(used) == 0 {
		return rep, fmt.Errorf("train.SelfTrainer: round %d accepted no pseudo-labels (threshold %v too high?)", round, s.cfg.Threshold)
	}

	if s.cfg.FreshStudent {
		task, opt, err := s.cfg.NewStudent()
		if err != nil {
			return rep, fmt.Errorf("train.SelfTrainer: new student: %w", err)
		}
		cfg := s.t.cfg
		cfg.RNGs = nil
		if s.t, err = New(task, opt, cfg); err != nil {
			return rep, err
		}
	}
	ps := &pseudoSet{base: pool.Noisy, items: used, task: s.t.task.(PseudoLabeler), soft: s.cfg.Soft}
	loader, err := s.mixedLoader(labelled, ps, lc)
	if err != nil {
		return rep, err
	}
	t := s.t
	saved := t.cfg
	t.cfg.Epochs = t.epoch + s.cfg.Epochs
	first := t.epoch
	t.cfg.OnEpoch = func(epoch int) {
		ps.setAlpha(s.cfg.Alpha.At(float64(epoch - first)))
		if saved.OnEpoch != nil {
			saved.OnEpoch(epoch)
		}
	}
	rep.Fit, err = t.Fit(ctx, loader, val)
	t.cfg = saved
	if err != nil {
		return rep, err
	}
	rep.After = rep.Fit.Last
	if rep.After == nil {
		rep.After, err = s.evaluate(ctx, val)
	}
	return rep, err
}

// Label runs the teacher (the model, or its EMA with EMATeacher) over the
// clean view of a pool, batch samples at a time on workers loading
// goroutines (0: GOMAXPROCS), and returns one proposal per sample.
func (s *SelfTrainer) Label(ctx context.Context, clean data.Dataset, batch, workers int) ([]Proposal, error) {
	t := s.t
	model := t.task.Module()
	layers.SetTraining(model, false)
	defer layers.SetTraining(model, true)
	if s.cfg.Teacher == EMATeacher {
		t.ema.Swap()
		defer t.ema.Swap()
	}
	l, err := data.NewLoader(clean, data.LoaderConfig{Batch: batch, Workers: workers, Sampler: data.Sequential{}})
	if err != nil {
		return nil, err
	}
	pl := t.task.(PseudoLabeler)
	stage := t.cfg.Progress.Start("pseudo-label", clean.Len())
	defer stage.Done()
	var out []Proposal
	for b, err := range l.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		p, err := pl.Propose(b, ProposeOpts{Temperature: s.cfg.Temperature, FlipTTA: s.cfg.FlipTTA})
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
		stage.Add(b.Len(), math.NaN(), NoAccuracy)
	}
	return out, nil
}

func (s *SelfTrainer) numClasses(props []Proposal) int {
	k := len(s.cfg.ClassThresholds)
	if c, ok := s.t.task.(*Classifier); ok {
		k = max(k, len(c.Classes))
	}
	for _, p := range props {
		k = max(k, p.Class+1)
	}
	return k
}

func (s *SelfTrainer) threshold(class int) float64 {
	if class >= 0 && class < len(s.cfg.ClassThresholds) {
		return s.cfg.ClassThresholds[class]
	}
	return s.cfg.Threshold
}

// Select applies the confidence thresholds to proposals (accepted) and,
// with Balance, balances the classes (used, what a student trains on;
// seed drives the repetition of short classes). Without Balance used is
// accepted.
func (s *SelfTrainer) Select(props []Proposal, seed uint64) (accepted, used []Proposal) {
	accepted = s.accept(props)
	used = accepted
	if s.cfg.Balance {
		used = balance(accepted, s.numClasses(props), s.cfg.PerClass, rand.New(rand.NewPCG(seed, 0xba1)))
	}
	return accepted, used
}

// PseudoAccuracy returns the share of proposals whose class matches truth
// (indexed by Proposal.Index), overall and per predicted class (NaN where
// there are none).
func PseudoAccuracy(props []Proposal, truth []int, k int) (float64, []float64) {
	return pseudoAccuracy(props, truth, k)
}

func (s *SelfTrainer) accept(props []Proposal) []Proposal {
	var out []Proposal
	for _, p := range props {
		if p.Confidence >= s.threshold(p.Class) {
			out = append(out, p)
		}
	}
	return out
}

// balance keeps at most perClass proposals of each class (the most
// confident) and repeats those of smaller classes up to perClass.
func balance(props []Proposal, k, perClass int, rng *rand.Rand) []Proposal {
	byClass := make([][]Proposal, k)
	for _, p := range props {
		if p.Class >= 0 && p.Class < k {
			byClass[p.Class] = append(byClass[p.Class], p)
		}
	}
	if perClass == 0 {
		var counts []int
		for _, c := range byClass {
			if len(c) > 0 {
				counts = append(counts, len(c))
			}
		}
		if len(counts) == 0 {
			return nil
		}
		sort.Ints(counts)
		perClass = counts[len(counts)/2]
	}
	var out []Proposal
	for _, c := range byClass {
		if len(c) == 0 {
			continue
		}
		sort.SliceStable(c, func(i, j int) bool { return c[i].Confidence > c[j].Confidence })
		if len(c) >= perClass {
			out = append(out, c[:perClass]...)
			continue
		}
		out = append(out, c...)
		for extra := perClass - len(c); extra > 0; extra-- {
			out = append(out, c[rng.IntN(len(c))])
		}
	}
	return out
}

func countClasses(props []Proposal, k int) []int {
	n := make([]int, k)
	for _, p := range props {
		if p.Class >= 0 && p.Class < k {
			n[p.Class]++
		}
	}
	return n
}

func pseudoAccuracy(props []Proposal, truth []int, k int) (float64, []float64) {
	perClass := make([]float64, k)
	for i := range perClass {
		perClass[i] = math.NaN()
	}
	if truth == nil || len(props) == 0 {
		return math.NaN(), perClass
	}
	right, seen := make([]int, k), make([]int, k)
	total := 0
	for _, p := range props {
		if p.Class < 0 || p.Class >= k {
			continue
		}
		seen[p.Class]++
		if truth[p.Index] == p.Class {
			right[p.Class]++
			total++
		}
	}
	for c := range perClass {
		if seen[c] > 0 {
			perClass[c] = float64(right[c]) / float64(seen[c])
		}
	}
	return float64(total) / float64(len(props)), perClass
}

// mixedLoader builds the student's loader: batches of lc.Batch labelled
// samples and Mu times as many pseudo-labelled ones.
func (s *SelfTrainer) mixedLoader(labelled data.Dataset, ps data.Dataset, lc data.LoaderConfig) (*data.Loader, error) {
	perB := max(1, int(math.Round(s.cfg.Mu*float64(lc.Batch))))
	cfg := lc
	cfg.Batch = lc.Batch + perB
	cfg.DropLast = false
	cfg.Sampler = data.Mixed{LenA: labelled.Len(), PerBatchA: lc.Batch, PerBatchB: perB}
	return data.NewLoader(&data.Concat{A: labelled, B: ps}, cfg)
}

// pseudoSet serves the student's view of accepted pool samples with their
// pseudo-labels, weighted by the current α.
type pseudoSet struct {
	base  data.Dataset
	items []Proposal
	task  PseudoLabeler
	soft  bool
	alpha atomic.Uint64 // float64 bits
}

func (p *pseudoSet) setAlpha(a float64) { p.alpha.Store(math.Float64bits(a)) }

func (p *pseudoSet) Len() int { return len(p.items) }

func (p *pseudoSet) Example(i int, rng *rand.Rand) (data.Example, error) {
	it := p.items[i]
	ex, err := p.base.Example(it.Index, rng)
	if err != nil {
		return ex, fmt.Errorf("pool sample %d: %w", it.Index, err)
	}
	p.task.Apply(&ex, it, p.soft)
	// Weight 0 would mean 1 to Collate; a tiny weight stands for α = 0.
	ex.Weight = float32(max(math.Float64frombits(p.alpha.Load()), 1e-12))
	return ex, nil
}

// online trains FixMatch-style: each labelled batch is paired with a pool
// batch; the model (evaluation mode, no gradient) labels its clean view
// and the loss adds the cross-entropy of the noisy view on the accepted
// labels, weighted by α.
func (s *SelfTrainer) online(ctx context.Context, labelled data.Dataset, lc data.LoaderConfig, pool Pool, val *data.Loader) (RoundReport, error) {
	rep := RoundReport{Round: 1, Pool: pool.Clean.Len()}
	var err error
	if rep.Before, err = s.evaluate(ctx, val); err != nil {
		return rep, err
	}
	t := s.t
	lab, err := data.NewLoader(labelled, lc)
	if err != nil {
		return rep, err
	}
	perB := max(1, int(math.Round(s.cfg.Mu*float64(lc.Batch))))
	pc := lc
	pc.Batch, pc.Sampler, pc.DropLast = perB, data.Random{}, true
	clean, err := data.NewLoader(pool.Clean, pc)
	if err != nil {
		return rep, err
	}
	noisy, err := data.NewLoader(pool.Noisy, pc)
	if err != nil {
		return rep, err
	}
	fm := &fixMatch{PseudoLabeler: t.task.(PseudoLabeler), s: s, clean: clean, noisy: noisy, ctx: ctx, truth: pool.Truth}
	defer fm.stop()
	saved := t.cfg
	first := t.epoch
	t.task = fm
	t.cfg.Epochs = t.epoch + s.cfg.Epochs
	t.cfg.OnEpoch = func(epoch int) {
		fm.alpha = s.cfg.Alpha.At(float64(epoch - first))
		if saved.OnEpoch != nil {
			saved.OnEpoch(epoch)
		}
	}
	rep.Fit, err = t.Fit(ctx, lab, val)
	t.task, t.cfg = fm.PseudoLabeler, saved
	if err != nil {
		return rep, err
	}
	k := s.numClasses(fm.accepted)
	rep.Accepted = countClasses(fm.accepted, k)
	rep.Used = rep.Accepted
	rep.AcceptedFraction = float64(len(fm.accepted)) / float64(max(fm.seen, 1))
	rep.Accuracy, rep.ClassAccuracy = pseudoAccuracy(fm.accepted, pool.Truth, k)
	rep.After = rep.Fit.Last
	return rep, nil
}

// fixMatch wraps the task so that every training loss includes the
// pseudo-label loss of a pool batch.
type fixMatch struct {
	PseudoLabeler
	s            *SelfTrainer
	clean, noisy *data.Loader
	ctx          context.Context
	truth        []int
	alpha        float64
	epoch        int
	next         func() (pair [2]*data.Batch, err error, ok bool)
	stopIter     func()
	accepted     []Proposal
	seen         int
}

func (f *fixMatch) stop() {
	if f.stopIter != nil {
		f.stopIter()
	}
}

// pair returns the next clean and noisy pool batches (the same samples),
// starting a new pool epoch when one runs out.
func (f *fixMatch) pair() (*data.Batch, *data.Batch, error) {
	for tries := 0; tries < 2; tries++ {
		if f.next == nil {
			f.epoch++
			seq := zip(f.clean.Epoch(f.ctx, f.epoch), f.noisy.Epoch(f.ctx, f.epoch))
			next, stop := iter.Pull2(seq)
			f.next = func() ([2]*data.Batch, error, bool) { return next() }
			f.stopIter = stop
		}
		p, err, ok := f.next()
		if ok {
			return p[0], p[1], err
		}
		f.stopIter()
		f.next, f.stopIter = nil, nil
	}
	return nil, nil, errors.New("train: the pool yields no batches")
}

// zip walks two batch sequences in step.
func zip(a, b iter.Seq2[*data.Batch, error]) iter.Seq2[[2]*data.Batch, error] {
	return func(yield func([2]*data.Batch, error) bool) {
		nb, stop := iter.Pull2(b)
		defer stop()
		for x, err := range a {
			y, errB, ok := nb()
			if err == nil {
				err = errB
			}
			if !ok && err == nil {
				err = errors.New("train: pool views yield different numbers of batches")
			}
			if !yield([2]*data.Batch{x, y}, err) || err != nil {
				return
			}
		}
	}
}

func (f *fixMatch) Loss(b *data.Batch) (*nn.Var, int, error) {
	loss, correct, err := f.PseudoLabeler.Loss(b)
	if err != nil || f.alpha == 0 {
		return loss, correct, err
	}
	clean, noisy, err := f.pair()
	if err != nil {
		return nil, 0, err
	}
	model := f.Module()
	layers.SetTraining(model, false)
	props, err := f.Propose(clean, ProposeOpts{Temperature: f.s.cfg.Temperature, FlipTTA: f.s.cfg.FlipTTA})
	layers.SetTraining(model, true)
	if err != nil {
		return nil, 0, err
	}
	// The noisy batch trains on the accepted labels; rejected samples
	// weigh (almost) nothing but keep the batch shape.
	exs := make([]data.Example, noisy.Len())
	any := false
	for i := range exs {
		exs[i] = data.Example{Image: sampleOf(noisy.X, i), Index: noisy.Indices[i], Label: props[i].Class}
		f.PseudoLabeler.Apply(&exs[i], props[i], f.s.cfg.Soft)
		if props[i].Confidence >= f.s.threshold(props[i].Class) {
			exs[i].Weight = float32(f.alpha)
			f.accepted = append(f.accepted, props[i])
			any = true
		} else {
			exs[i].Weight = 1e-12
		}
	}
	f.seen += len(exs)
	if !any {
		return loss, correct, nil
	}
	nb, err := data.Collate(exs)
	if err != nil {
		return nil, 0, err
	}
	pl, _, err := f.PseudoLabeler.Loss(nb)
	if err != nil {
		return nil, 0, err
	}
	return nn.Add(loss, pl), correct, nil
}

// sampleOf returns sample i of an [N, ...] batch tensor as its own tensor
// (sharing data).
func sampleOf(x *nn.Tensor, i int) *nn.Tensor {
	per := x.Len() / x.Dim(0)
	return nn.FromData(x.Data()[i*per:(i+1)*per], x.Shape()[1:]...)
}
