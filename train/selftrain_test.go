package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
)

// twoClusters is a problem built so that pseudo-labels must help: two
// equally likely, well separated clusters in 2-D (as 1×1×2 images), gap at
// x = 0. The few labelled samples sit off-centre (class a near the gap,
// class b far right), so a model fitted on them alone puts its boundary
// through cluster b. The pool, pseudo-labelled and balanced (the classes are
// equally frequent), pulls the boundary back into the gap.
func twoClusters(n int, rng *rand.Rand, labelled bool) (*data.Tensors, []int) {
	ds := &data.Tensors{Names: []string{"a", "b"}}
	for i := 0; i < n; i++ {
		c := i % 2
		x := 2*float64(c) - 1 + rng.NormFloat64()*0.35
		if labelled {
			x = -0.1 + rng.NormFloat64()*0.05
			if c == 1 {
				x = 1.9 + rng.NormFloat64()*0.05
			}
		}
		y := rng.NormFloat64()
		ds.Images = append(ds.Images, nn.FromData([]float32{float32(x), float32(y)}, 1, 1, 2))
		ds.Y = append(ds.Y, c)
	}
	return ds, append([]int(nil), ds.Y...)
}

func linearTask(seed uint64, dims int) (*Classifier, optim.Optimizer) {
	m := layers.NewSequential(layers.Flatten{}, layers.NewLinear(dims, 2, rand.New(rand.NewPCG(seed, 1))))
	opt, _ := optim.NewAdam(layers.Params(m), optim.AdamConfig{LR: 0.05})
	return &Classifier{Model: m, Classes: []string{"a", "b"}}, opt
}

func TestSelfTrainingBeatsSupervisedBaseline(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const dims = 2
	lab, _ := twoClusters(8, rng, true)
	pool, truth := twoClusters(1000, rng, false)
	pool.Y = nil // the pool's labels are hidden
	test, _ := twoClusters(400, rng, false)
	val, _ := data.NewLoader(test, data.LoaderConfig{Batch: 100, Sampler: data.Sequential{}})
	lc := data.LoaderConfig{Batch: 8, Seed: 3, Workers: 1}

	// Supervised baseline.
	task, opt := linearTask(1, dims)
	tn, _ := New(task, opt, Config{Epochs: 60})
	trainLoader, _ := data.NewLoader(lab, lc)
	base, err := tn.Fit(context.Background(), trainLoader, val)
	if err != nil {
		t.Fatal(err)
	}
	baseAcc := base.Last.Scores["accuracy"]

	// Self-training continues from the baseline.
	before := weights(task.Model)
	st, err := NewSelfTrainer(tn, SelfTrainConfig{Rounds: 3, Epochs: 10, Threshold: 0.7, Balance: true, Mu: 4})
	if err != nil {
		t.Fatal(err)
	}
	reps, err := st.Fit(context.Background(), lab, lc, Pool{Clean: pool, Noisy: pool, Truth: truth}, val)
	if err != nil {
		t.Fatal(err)
	}
	after := reps[len(reps)-1].After.Scores["accuracy"]
	t.Logf("baseline %.3f, after self-training %.3f; rounds: %+v", baseAcc, after, summarize(reps))
	if after < baseAcc+0.03 {
		t.Fatalf("self-training accuracy %.3f does not beat the baseline %.3f", after, baseAcc)
	}
	changed := false
	for i, w := range weights(task.Model) {
		changed = changed || w != before[i]
	}
	if !changed {
		t.Fatal("the pseudo-label loss did not change the weights")
	}
	if r := reps[0]; r.Accuracy < 0.5 || r.AcceptedFraction == 0 || r.Used[0] != r.Used[1] {
		t.Fatalf("round 1: pseudo-label accuracy %.3f, accepted %.3f, used %v (balanced classes expected)", r.Accuracy, r.AcceptedFraction, r.Used)
	}
}

func summarize(reps []RoundReport) []string {
	var out []string
	for _, r := range reps {
		out = append(out, fmt.Sprintf("acc %.3f pseudo %.3f accepted %.3f used %v", r.After.Scores["accuracy"], r.Accuracy, r.AcceptedFraction, r.Used))
	}
	return out
}

func TestOnlineSelfTraining(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	lab, _ := twoClusters(8, rng, true)
	pool, truth := twoClusters(1000, rng, false)
	pool.Y = nil
	test, _ := twoClusters(400, rng, false)
	val, _ := data.NewLoader(test, data.LoaderConfig{Batch: 100, Sampler: data.Sequential{}})
	lc := data.LoaderConfig{Batch: 8, Seed: 3, Workers: 1}
	task, opt := linearTask(1, 2)
	tn, _ := New(task, opt, Config{Epochs: 60})
	trainLoader, _ := data.NewLoader(lab, lc)
	base, err := tn.Fit(context.Background(), trainLoader, val)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewSelfTrainer(tn, SelfTrainConfig{Online: true, Epochs: 40, Threshold: 0.9, Mu: 7, Soft: true, Alpha: Ramp{T1: 0, T2: 10, Final: 1}})
	if err != nil {
		t.Fatal(err)
	}
	reps, err := st.Fit(context.Background(), lab, lc, Pool{Clean: pool, Noisy: pool, Truth: truth}, val)
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	t.Logf("baseline %.3f; online: %s", base.Last.Scores["accuracy"], summarize(reps))
	if r.AcceptedFraction == 0 || r.Accuracy < 0.5 || r.After == nil {
		t.Fatalf("online round: %+v", r)
	}
	if _, ok := tn.task.(*Classifier); !ok {
		t.Fatal("the trainer's task was not restored after online training")
	}
}

func TestRamp(t *testing.T) {
	r := Ramp{T1: 2, T2: 6, Final: 3}
	for _, c := range []struct{ t, want float64 }{{1, 0}, {2, 0}, {4, 1.5}, {6, 3}, {9, 3}} {
		if got := r.At(c.t); math.Abs(got-c.want) > 1e-12 {
			t.Fatalf("Ramp.At(%v) = %v, want %v", c.t, got, c.want)
		}
	}
	if (Ramp{}).At(0) != 1 {
		t.Fatal("the zero Ramp must weigh 1")
	}
}

func TestBalance(t *testing.T) {
	var props []Proposal
	for i, c := range []int{0, 0, 0, 0, 1, 1, 2} {
		props = append(props, Proposal{Index: i, Class: c, Confidence: float64(i) / 10})
	}
	got := countClasses(balance(props, 3, 0, rand.New(rand.NewPCG(1, 1))), 3)
	if got[0] != 2 || got[1] != 2 || got[2] != 2 {
		t.Fatalf("balanced to the median: %v, want [2 2 2]", got)
	}
	kept := balance(props, 3, 1, rand.New(rand.NewPCG(1, 1)))
	if len(kept) != 3 || kept[0].Index != 3 {
		t.Fatalf("PerClass 1 kept %+v; want the most confident of each class", kept)
	}
}

func TestSelfTrainConfigValidate(t *testing.T) {
	for _, c := range []SelfTrainConfig{{}, {Epochs: 1, Threshold: 2}, {Epochs: 1, Mu: -1}, {Epochs: 1, FreshStudent: true},
		{Epochs: 1, Alpha: Ramp{T1: 5, T2: 1, Final: 1}}, {Epochs: 1, ClassThresholds: []float64{math.NaN()}}} {
		if err := c.Validate(); err == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
}

func TestPseudoCSVRoundTrip(t *testing.T) {
	classes := []string{"glass", "paper"}
	props := []Proposal{{Index: 3, Class: 1, Confidence: 0.75, Target: []float32{0.25, 0.75}}, {Index: 9, Class: 0, Confidence: 0.5, Target: []float32{0.5, 0.5}}}
	path := t.TempDir() + "/pseudo.csv"
	if err := WritePseudoCSV(path, props, classes, func(i int) string { return fmt.Sprint("img", i, ".jpg") }); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPseudoCSV(path, classes)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 3 || got[0].Class != 1 || got[1].Target[0] != 0.5 || got[0].Confidence != 0.75 {
		t.Fatalf("read back %+v", got)
	}
	for _, bad := range []string{
		"nonsense\n",
		"index,name,class,confidence\nx,a,glass,0.5\n",
		"index,name,class,confidence\n1,a,metal,0.5\n",
		"index,name,class,confidence\n1,a,glass,1.5\n",
		"index,name,class,confidence,p_glass\n1,a,glass,0.5,0.5\n",
	} {
		if _, err := readPseudoCSV(strings.NewReader(bad), "p.csv", classes); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
}

// The reference project's pseudo-labelling trained under a no-gradient
// switch, on labels written where the dataset never read them, so it
// changed nothing. Here a batch made only of pseudo-labelled pool samples
// must carry the pseudo-labels (the loss depends on them), must produce a
// gradient, and must scale it by α.
func TestPseudoLossReachesTheWeights(t *testing.T) {
	pool, _ := twoClusters(8, rand.New(rand.NewPCG(5, 6)), false)
	task, _ := linearTask(7, 2)
	grads := func(alpha float64, class int) ([]float32, float64) {
		ps := &pseudoSet{base: pool, task: task}
		for i := range pool.Len() {
			ps.items = append(ps.items, Proposal{Index: i, Class: class, Confidence: 1})
		}
		ps.setAlpha(alpha)
		l, err := data.NewLoader(ps, data.LoaderConfig{Batch: pool.Len(), Sampler: data.Sequential{}, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		var g []float32
		var loss float64
		for b, err := range l.Epoch(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			layers.ZeroGrad(task.Model)
			v, _, err := task.Loss(b)
			if err != nil {
				t.Fatal(err)
			}
			loss = float64(v.Value.Data()[0])
			v.Backward()
			for _, p := range layers.Params(task.Model) {
				g = append(g, p.Var.Grad.Data()...)
			}
			v.Release()
		}
		return g, loss
	}
	norm := func(g []float32) (s float64) {
		for _, v := range g {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s)
	}
	g1, lossA := grads(1, 0)
	gHalf, _ := grads(0.5, 0)
	_, lossB := grads(1, 1)
	if n := norm(g1); !(n > 1e-4) {
		t.Fatalf("pseudo-labelled batch gives gradient norm %g", n)
	}
	if lossA == lossB {
		t.Fatalf("the loss %g does not depend on the pseudo-labels", lossA)
	}
	if r := norm(gHalf) / norm(g1); math.Abs(r-0.5) > 1e-3 {
		t.Fatalf("α 0.5 scales the gradient by %.4f, want 0.5", r)
	}
}
