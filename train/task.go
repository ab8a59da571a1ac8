package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

// Task binds a model to a problem for the Trainer: how to compute the
// training loss of a batch and how to evaluate. Classifier is the task of
// the classification models; detectors bring their own.
type Task interface {
	// Module returns the model being trained.
	Module() layers.Module
	// Loss runs the model (already in training mode) on b and returns the
	// scalar loss and the number of samples it classified correctly
	// (NoAccuracy if the task has no accuracy).
	Loss(b *data.Batch) (loss *nn.Var, correct int, err error)
	// Evaluate runs the model (already in evaluation mode) over every
	// batch of l and scores it; stage, if not nil, is told of each batch.
	Evaluate(ctx context.Context, l *data.Loader, stage *Stage) (*Evaluation, error)
	// DefaultMetric names the score to select checkpoints by when the
	// Trainer's Config does not say.
	DefaultMetric() string
}

// Evaluation is the result of Task.Evaluate.
type Evaluation struct {
	Samples int
	Loss    float64 // mean loss (NaN if the task has none)
	// Scores holds every score the task measures by name (all better when
	// higher), e.g. "accuracy", "balanced_accuracy", "macro_f1" or "ap50".
	Scores map[string]float64
	// Confusion is the confusion matrix of a classification task.
	Confusion *ConfusionMatrix
}

// Score returns the named score, or the negated loss for "loss" (so that
// higher is always better), and whether it exists.
func (e *Evaluation) Score(name string) (float64, bool) {
	if name == "loss" {
		return -e.Loss, !math.IsNaN(e.Loss)
	}
	v, ok := e.Scores[name]
	return v, ok
}

// Score is a metric given by name, for tasks whose scores are not a
// Metric (detection: Score("ap50")). Use it, a Metric or "loss" as the
// Trainer's Config.Metric.
type Score string

// String returns the name.
func (s Score) String() string { return string(s) }

// Classifier is the Task of an image classifier: cross-entropy on hard
// labels, or on soft labels (Batch.Targets) where a batch has them, with
// per-sample weights (Batch.Weights, e.g. pseudo-label confidences).
type Classifier struct {
	Model          layers.Layer
	Classes        []string // class names, one per logit
	LabelSmoothing float32
}

var _ Task = (*Classifier)(nil)

// Module returns the model.
func (c *Classifier) Module() layers.Module { return c.Model }

// DefaultMetric is "accuracy".
func (c *Classifier) DefaultMetric() string { return Accuracy.String() }

// Loss computes the (weighted) cross-entropy of a batch.
func (c *Classifier) Loss(b *data.Batch) (*nn.Var, int, error) {
	logits := c.Model.Forward(nn.NewVar(b.X))
	if k := logits.Value.Dim(-1); k != len(c.Classes) {
		return nil, 0, fmt.Errorf("train.Classifier: model has %d outputs but %d classes are named", k, len(c.Classes))
	}
	opts := nn.CEOpts{LabelSmoothing: c.LabelSmoothing}
	for _, w := range b.Weights {
		if w != 1 {
			opts.Weights = b.Weights
			break
		}
	}
	var loss *nn.Var
	truth := b.Labels
	if b.Targets != nil {
		loss = nn.SoftCrossEntropy(logits, b.Targets, opts)
		truth = make([]int, b.Len())
		k := b.Targets.Dim(1)
		for i := range truth {
			truth[i] = Argmax(b.Targets.Data()[i*k : (i+1)*k])
		}
	} else {
		for i, l := range b.Labels {
			if l < 0 || l >= len(c.Classes) {
				return nil, 0, fmt.Errorf("train.Classifier: sample %d has label %d, outside [0, %d)", b.Indices[i], l, len(c.Classes))
			}
		}
		loss = nn.CrossEntropy(logits, b.Labels, opts)
	}
	return loss, countCorrect(logits.Value, truth), nil
}

func countCorrect(logits *nn.Tensor, truth []int) int {
	k := logits.Dim(-1)
	right := 0
	for i, t := range truth {
		if Argmax(logits.Data()[i*k:(i+1)*k]) == t {
			right++
		}
	}
	return right
}

// Predict returns the class probabilities [N, K] of a batch of images
// [N, H, W, C] (softmax of the logits; temperature 1), computed under
// NoGrad. The caller puts the model in evaluation mode.
func (c *Classifier) Predict(x *nn.Tensor) *nn.Tensor {
	var p *nn.Var
	nn.NoGrad(func() { p = nn.Softmax(c.Model.Forward(nn.NewVar(x))) })
	return p.Value
}

// Evaluate classifies every batch of l and returns the mean cross-entropy,
// the confusion matrix and every Metric as a score.
func (c *Classifier) Evaluate(ctx context.Context, l *data.Loader, stage *Stage) (*Evaluation, error) {
	cm := NewConfusionMatrix(c.Classes)
	var lossSum float64
	n := 0
	for b, err := range l.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		for i, lab := range b.Labels {
			if lab < 0 || lab >= len(c.Classes) {
				return nil, fmt.Errorf("train.Classifier.Evaluate: sample %d has label %d, outside [0, %d)", b.Indices[i], lab, len(c.Classes))
			}
		}
		var logits, loss *nn.Var
		nn.NoGrad(func() {
			logits = c.Model.Forward(nn.NewVar(b.X))
			loss = nn.CrossEntropy(logits, b.Labels, nn.CEOpts{Reduction: nn.ReduceSum})
		})
		cm.AddLogits(logits.Value, b.Labels)
		l := float64(loss.Value.Item())
		lossSum += l
		n += b.Len()
		if stage != nil {
			stage.Add(b.Len(), l/float64(b.Len()), countCorrect(logits.Value, b.Labels))
		}
	}
	if n == 0 {
		return nil, errors.New("train.Classifier.Evaluate: no samples")
	}
	e := &Evaluation{Samples: n, Loss: lossSum / float64(n), Confusion: cm, Scores: map[string]float64{}}
	for _, m := range Metrics() {
		e.Scores[m.String()] = m.Of(cm)
	}
	return e, nil
}
