package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sortnet/sortnet/nn"
)

// ConfusionMatrix counts (true class, predicted class) pairs of a K-class
// classifier and derives the usual metrics from the counts. Row t, column p
// holds how many samples of true class t were predicted as p.
//
// # Zero division
//
// A ratio whose denominator is zero is 0, as scikit-learn computes it with
// zero_division=0: the precision of a class that is never predicted, the
// recall of a class with no support, the F1 of a class whose precision and
// recall are both 0, and every metric of an empty matrix. No metric is ever
// NaN. The averages over classes differ in which classes they include:
//
//   - BalancedAccuracy averages recall over the classes present in the
//     truth (support > 0), as sklearn.metrics.balanced_accuracy_score.
//   - MacroF1 and the macro averages of the report average over the classes
//     that occur in the truth or in the predictions, as sklearn's f1_score
//     with average="macro" and its default labels (those seen in y_true or
//     y_pred). A class that occurs in neither has no meaningful scores and
//     is left out; a class that is predicted but never true counts, with
//     recall and F1 0.
//   - The support-weighted averages weigh each class by its support, so
//     classes without support drop out by themselves.
//
// The zero value is not usable; make one with NewConfusionMatrix or
// ConfusionFromLabels. A ConfusionMatrix is not safe for concurrent use;
// merge per-goroutine matrices with Merge.
type ConfusionMatrix struct {
	classes []string
	counts  []int // K×K, row-major: counts[t*K+p]
}

// NewConfusionMatrix returns an empty matrix over the given classes, in
// label order (class i is label i). It panics if there are no classes or a
// name is empty or repeated: class names come from the program, not the
// data.
func NewConfusionMatrix(classes []string) *ConfusionMatrix {
	if err := checkClasses(classes); err != nil {
		panic("train.NewConfusionMatrix: " + err.Error())
	}
	k := len(classes)
	return &ConfusionMatrix{classes: append([]string(nil), classes...), counts: make([]int, k*k)}
}

func checkClasses(classes []string) error {
	if len(classes) == 0 {
		return errors.New("no classes")
	}
	seen := make(map[string]int, len(classes))
	for i, c := range classes {
		if c == "" {
			return fmt.Errorf("class %d has an empty name", i)
		}
		if j, ok := seen[c]; ok {
			return fmt.Errorf("classes %d and %d are both named %q", j, i, c)
		}
		seen[c] = i
	}
	return nil
}

// ConfusionFromLabels builds a matrix from parallel slices of true and
// predicted labels. It returns an error if the slices differ in length or a
// label is outside [0, len(classes)), naming the first bad position.
func ConfusionFromLabels(classes []string, truth, pred []int) (*ConfusionMatrix, error) {
	if err := checkClasses(classes); err != nil {
		return nil, fmt.Errorf("train.ConfusionFromLabels: %w", err)
	}
	if len(truth) != len(pred) {
		return nil, fmt.Errorf("train.ConfusionFromLabels: %d true labels but %d predictions", len(truth), len(pred))
	}
	k := len(classes)
	for i := range truth {
		if truth[i] < 0 || truth[i] >= k {
			return nil, fmt.Errorf("train.ConfusionFromLabels: true label %d at position %d is outside [0, %d)", truth[i], i, k)
		}
		if pred[i] < 0 || pred[i] >= k {
			return nil, fmt.Errorf("train.ConfusionFromLabels: predicted label %d at position %d is outside [0, %d)", pred[i], i, k)
		}
	}
	m := NewConfusionMatrix(classes)
	for i := range truth {
		m.counts[truth[i]*k+pred[i]]++
	}
	return m, nil
}

// K returns the number of classes.
func (m *ConfusionMatrix) K() int { return len(m.classes) }

// Classes returns a copy of the class names, in label order.
func (m *ConfusionMatrix) Classes() []string { return append([]string(nil), m.classes...) }

// Add counts one sample of true class truth predicted as pred. It panics if
// either label is outside [0, K): labels reaching a metric have been
// validated by the data set and come from an argmax over K outputs.
func (m *ConfusionMatrix) Add(truth, pred int) {
	k := len(m.classes)
	if truth < 0 || truth >= k || pred < 0 || pred >= k {
		panic(fmt.Sprintf("train.ConfusionMatrix.Add: labels (true %d, predicted %d) outside [0, %d)", truth, pred, k))
	}
	m.counts[truth*k+pred]++
}

// AddLogits counts a batch: logits is [N, K] (scores, logits or
// probabilities, one row per sample), truth holds the N true labels. The
// prediction of a row is its Argmax. It panics on mismatched shapes or
// labels outside [0, K).
func (m *ConfusionMatrix) AddLogits(logits *nn.Tensor, truth []int) {
	k := len(m.classes)
	if logits.Rank() != 2 || logits.Dim(1) != k || logits.Dim(0) != len(truth) {
		panic(fmt.Sprintf("train.ConfusionMatrix.AddLogits: logits %v, %d labels: want [%d %d]", logits.Shape(), len(truth), len(truth), k))
	}
	d := logits.Data()
	for i, t := range truth {
		m.Add(t, Argmax(d[i*k:(i+1)*k]))
	}
}

// Argmax returns the index of the largest element of row, the first one on
// ties. NaN counts as larger than any number (as numpy.argmax and
// torch.argmax treat it), so a row with a NaN predicts its first NaN. It
// returns -1 for an empty row.
func Argmax(row []float32) int {
	if len(row) == 0 {
		return -1
	}
	best := 0
	for i, v := range row {
		if v != v {
			return i
		}
		if v > row[best] {
			best = i
		}
	}
	return best
}

// Merge adds the counts of o, which must have the same class names in the
// same order.
func (m *ConfusionMatrix) Merge(o *ConfusionMatrix) error {
	if len(o.classes) != len(m.classes) {
		return fmt.Errorf("train.ConfusionMatrix.Merge: %d classes, other matrix has %d", len(m.classes), len(o.classes))
	}
	for i := range m.classes {
		if m.classes[i] != o.classes[i] {
			return fmt.Errorf("train.ConfusionMatrix.Merge: class %d is %q here, %q in the other matrix", i, m.classes[i], o.classes[i])
		}
	}
	for i, c := range o.counts {
		m.counts[i] += c
	}
	return nil
}

// Reset sets every count to zero.
func (m *ConfusionMatrix) Reset() { clear(m.counts) }

// Count returns how many samples of true class truth were predicted as pred.
func (m *ConfusionMatrix) Count(truth, pred int) int { return m.counts[truth*len(m.classes)+pred] }

// Counts returns a copy of the counts as K rows (true class) of K columns
// (predicted class).
func (m *ConfusionMatrix) Counts() [][]int {
	k := len(m.classes)
	out := make([][]int, k)
	for t := range out {
		out[t] = append([]int(nil), m.counts[t*k:(t+1)*k]...)
	}
	return out
}

// Total returns the number of samples counted.
func (m *ConfusionMatrix) Total() int {
	n := 0
	for _, c := range m.counts {
		n += c
	}
	return n
}

// Support returns the number of samples whose true class is c (row sum).
func (m *ConfusionMatrix) Support(c int) int {
	k := len(m.classes)
	n := 0
	for _, v := range m.counts[c*k : (c+1)*k] {
		n += v
	}
	return n
}

// Predicted returns the number of samples predicted as class c (column sum).
func (m *ConfusionMatrix) Predicted(c int) int {
	k := len(m.classes)
	n := 0
	for t := 0; t < k; t++ {
		n += m.counts[t*k+c]
	}
	return n
}

func (m *ConfusionMatrix) correct() int {
	k := len(m.classes)
	n := 0
	for c := 0; c < k; c++ {
		n += m.counts[c*k+c]
	}
	return n
}

// div returns a/b, or 0 when b is 0 (zero_division=0).
func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Accuracy returns the fraction of samples predicted correctly (0 for an
// empty matrix).
func (m *ConfusionMatrix) Accuracy() float64 {
	return div(float64(m.correct()), float64(m.Total()))
}

// WeightedAccuracy returns the class-weighted accuracy: the mean of the
// per-class recalls weighted by each class's support,
//
//	Σ_c recall_c · support_c / N  =  Σ_c correct_c / N
//
// which is exactly the plain Accuracy. It exists because detect-waste
// reports it next to accuracy ("train_acc_weighted", "val_acc_weighted":
// PyTorch Lightning 1.x's accuracy with class_reduction="weighted", the
// same quantity as scikit-learn's recall_score with average="weighted"), so
// its numbers can be compared with ours; it is not a class-balanced metric.
// The metric that gives every class the same weight is BalancedAccuracy.
// (detect-waste logs it per batch and averages the batches, and samples its
// validation set with the class-balanced sampler when --weighted_sampler is
// set, so its logged values can differ from this one computed over a whole
// data set.)
func (m *ConfusionMatrix) WeightedAccuracy() float64 {
	k := len(m.classes)
	n := float64(m.Total())
	var sum float64
	for c := 0; c < k; c++ {
		s := float64(m.Support(c))
		sum += div(float64(m.counts[c*k+c]), s) * div(s, n)
	}
	return sum
}

// BalancedAccuracy returns the mean recall over the classes present in the
// truth (support > 0), as sklearn.metrics.balanced_accuracy_score: classes
// without support are left out rather than counted as 0. It is 0 for an
// empty matrix.
func (m *ConfusionMatrix) BalancedAccuracy() float64 {
	k := len(m.classes)
	var sum float64
	present := 0
	for c := 0; c < k; c++ {
		if s := m.Support(c); s > 0 {
			sum += float64(m.counts[c*k+c]) / float64(s)
			present++
		}
	}
	return div(sum, float64(present))
}

// ClassMetrics are the scores of one class.
type ClassMetrics struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"` // correct / predicted as this class; 0 if never predicted
	Recall    float64 `json:"recall"`    // correct / support; 0 without support
	F1        float64 `json:"f1"`        // harmonic mean of precision and recall; 0 if both are 0
	Support   int     `json:"support"`   // samples of this true class
	Predicted int     `json:"predicted"` // samples predicted as this class
}

// seen reports whether the class occurs in the truth or in the predictions.
func (c ClassMetrics) seen() bool { return c.Support > 0 || c.Predicted > 0 }

// PerClass returns precision, recall, F1 and support of every class, in
// label order.
func (m *ConfusionMatrix) PerClass() []ClassMetrics {
	k := len(m.classes)
	out := make([]ClassMetrics, k)
	for c := range out {
		tp := float64(m.counts[c*k+c])
		s, p := m.Support(c), m.Predicted(c)
		prec, rec := div(tp, float64(p)), div(tp, float64(s))
		out[c] = ClassMetrics{
			Class: m.classes[c], Precision: prec, Recall: rec,
			F1:      div(2*prec*rec, prec+rec),
			Support: s, Predicted: p,
		}
	}
	return out
}

// Averages are precision, recall and F1 averaged over classes.
type Averages struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// MacroAverages returns the unweighted means of precision, recall and F1
// over the classes that occur in the truth or the predictions (see the
// type's documentation); all 0 for an empty matrix.
func (m *ConfusionMatrix) MacroAverages() Averages {
	var a Averages
	n := 0
	for _, c := range m.PerClass() {
		if !c.seen() {
			continue
		}
		a.Precision += c.Precision
		a.Recall += c.Recall
		a.F1 += c.F1
		n++
	}
	return Averages{div(a.Precision, float64(n)), div(a.Recall, float64(n)), div(a.F1, float64(n))}
}

// WeightedAverages returns the means of precision, recall and F1 weighted by
// support, as scikit-learn's average="weighted". Its Recall equals
// Accuracy.
func (m *ConfusionMatrix) WeightedAverages() Averages {
	var a Averages
	n := float64(m.Total())
	for _, c := range m.PerClass() {
		w := div(float64(c.Support), n)
		a.Precision += c.Precision * w
		a.Recall += c.Recall * w
		a.F1 += c.F1 * w
	}
	return a
}

// MacroF1 returns the unweighted mean F1 over the classes that occur in the
// truth or the predictions, as sklearn's f1_score(average="macro").
func (m *ConfusionMatrix) MacroF1() float64 { return m.MacroAverages().F1 }

// Normalized returns the matrix with each row divided by its support, so
// that row t holds the fractions of true class t predicted as each class
// and the diagonal holds the recalls (sklearn's normalize="true"). A row
// without support is all zeros.
func (m *ConfusionMatrix) Normalized() [][]float64 {
	k := len(m.classes)
	out := make([][]float64, k)
	for t := range out {
		out[t] = make([]float64, k)
		s := float64(m.Support(t))
		for p := range out[t] {
			out[t][p] = div(float64(m.counts[t*k+p]), s)
		}
	}
	return out
}

// Report returns a text table in the layout of scikit-learn's
// classification_report: precision, recall, F1 and support per class,
// then accuracy, the macro and the support-weighted averages, and one more
// line with the balanced accuracy. Scores have the given number of digits
// after the point (2 if digits < 1). Every class is listed; the scores of a
// class that occurs neither in the truth nor in the predictions are shown
// as "-" and left out of the macro averages.
func (m *ConfusionMatrix) Report(digits int) string {
	if digits < 1 {
		digits = 2
	}
	const last = "balanced accuracy"
	width := len(last)
	for _, c := range m.classes {
		width = max(width, len([]rune(c)))
	}
	var b strings.Builder
	pad := func(s string) string { return strings.Repeat(" ", max(0, width-len([]rune(s)))) + s }
	num := func(v float64) string { return fmt.Sprintf(" %9.*f", digits, v) }
	blank := fmt.Sprintf(" %9s", "")
	fmt.Fprintf(&b, "%s  %9s %9s %9s %9s\n\n", pad(""), "precision", "recall", "f1-score", "support")
	for _, c := range m.PerClass() {
		if c.seen() {
			fmt.Fprintf(&b, "%s %s%s%s %9d\n", pad(c.Class), num(c.Precision), num(c.Recall), num(c.F1), c.Support)
		} else {
			fmt.Fprintf(&b, "%s  %9s %9s %9s %9d\n", pad(c.Class), "-", "-", "-", c.Support)
		}
	}
	n := m.Total()
	b.WriteString("\n")
	fmt.Fprintf(&b, "%s %s%s%s %9d\n", pad("accuracy"), blank, blank, num(m.Accuracy()), n)
	ma, wa := m.MacroAverages(), m.WeightedAverages()
	fmt.Fprintf(&b, "%s %s%s%s %9d\n", pad("macro avg"), num(ma.Precision), num(ma.Recall), num(ma.F1), n)
	fmt.Fprintf(&b, "%s %s%s%s %9d\n", pad("weighted avg"), num(wa.Precision), num(wa.Recall), num(wa.F1), n)
	fmt.Fprintf(&b, "%s %s%s%s %9d\n", pad(last), blank, blank, num(m.BalancedAccuracy()), n)
	return b.String()
}

// String returns Report(2).
func (m *ConfusionMatrix) String() string { return m.Report(2) }

// confusionJSON is the JSON form of a ConfusionMatrix. Only Classes and
// Counts are read back; the rest is derived and written for readers of the
// file.
type confusionJSON struct {
	Classes          []string       `json:"classes"`
	Counts           [][]int        `json:"counts"`
	Total            int            `json:"total"`
	Accuracy         float64        `json:"accuracy"`
	WeightedAccuracy float64        `json:"weighted_accuracy"`
	BalancedAccuracy float64        `json:"balanced_accuracy"`
	MacroF1          float64        `json:"macro_f1"`
	Macro            Averages       `json:"macro_avg"`
	Weighted         Averages       `json:"weighted_avg"`
	PerClass         []ClassMetrics `json:"per_class"`
	Normalized       [][]float64    `json:"normalized"`
}

// MarshalJSON writes the class names, the counts (rows: true class) and
// every derived metric: accuracy, weighted_accuracy, balanced_accuracy,
// macro_f1, macro_avg, weighted_avg, per_class and the row-normalized
// matrix.
func (m *ConfusionMatrix) MarshalJSON() ([]byte, error) {
	return json.Marshal(confusionJSON{
		Classes:          m.classes,
		Counts:           m.Counts(),
		Total:            m.Total(),
		Accuracy:         m.Accuracy(),
		WeightedAccuracy: m.WeightedAccuracy(),
		BalancedAccuracy: m.BalancedAccuracy(),
		MacroF1:          m.MacroF1(),
		Macro:            m.MacroAverages(),
		Weighted:         m.WeightedAverages(),
		PerClass:         m.PerClass(),
		Normalized:       m.Normalized(),
	})
}

// UnmarshalJSON reads what MarshalJSON writes: the classes and the counts,
// which must form a K×K table of non-negative numbers. The derived fields
// are ignored (they are recomputed).
func (m *ConfusionMatrix) UnmarshalJSON(b []byte) error {
	var j struct {
		Classes []string `json:"classes"`
		Counts  [][]int  `json:"counts"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("train.ConfusionMatrix: %w", err)
	}
	if err := checkClasses(j.Classes); err != nil {
		return fmt.Errorf("train.ConfusionMatrix: %w", err)
	}
	k := len(j.Classes)
	if len(j.Counts) != k {
		return fmt.Errorf("train.ConfusionMatrix: %d classes but %d rows of counts", k, len(j.Counts))
	}
	counts := make([]int, 0, k*k)
	for t, row := range j.Counts {
		if len(row) != k {
			return fmt.Errorf("train.ConfusionMatrix: row %d (%s) has %d counts, want %d", t, j.Classes[t], len(row), k)
		}
		for p, v := range row {
			if v < 0 {
				return fmt.Errorf("train.ConfusionMatrix: negative count %d at row %d, column %d", v, t, p)
			}
		}
		counts = append(counts, row...)
	}
	m.classes, m.counts = j.Classes, counts
	return nil
}

// Metric selects a summary of a confusion matrix, for instance the one by
// which a trainer keeps its best checkpoint. Every Metric is better when
// higher. The zero Metric is invalid ("unset").
type Metric int

// The metrics, named as in JSON and on the command line.
const (
	Accuracy         Metric = iota + 1 // "accuracy"
	WeightedAccuracy                   // "weighted_accuracy" (equal to accuracy; see ConfusionMatrix.WeightedAccuracy)
	BalancedAccuracy                   // "balanced_accuracy"
	MacroF1                            // "macro_f1"
)

var metricNames = [...]string{Accuracy: "accuracy", WeightedAccuracy: "weighted_accuracy", BalancedAccuracy: "balanced_accuracy", MacroF1: "macro_f1"}

// Metrics lists every valid Metric.
func Metrics() []Metric { return []Metric{Accuracy, WeightedAccuracy, BalancedAccuracy, MacroF1} }

// Valid reports whether m is one of the defined metrics.
func (m Metric) Valid() bool { return m >= Accuracy && m <= MacroF1 }

// String returns the metric's name, or "Metric(n)" for an invalid one.
func (m Metric) String() string {
	if !m.Valid() {
		return fmt.Sprintf("Metric(%d)", int(m))
	}
	return metricNames[m]
}

// Of computes the metric from cm. It panics if m is not valid.
func (m Metric) Of(cm *ConfusionMatrix) float64 {
	switch m {
	case Accuracy:
		return cm.Accuracy()
	case WeightedAccuracy:
		return cm.WeightedAccuracy()
	case BalancedAccuracy:
		return cm.BalancedAccuracy()
	case MacroF1:
		return cm.MacroF1()
	}
	panic("train.Metric.Of: invalid " + m.String())
}

// ParseMetric returns the Metric with the given name.
func ParseMetric(s string) (Metric, error) {
	for _, m := range Metrics() {
		if metricNames[m] == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("train: unknown metric %q (want one of accuracy, weighted_accuracy, balanced_accuracy, macro_f1)", s)
}

// MarshalText writes the metric's name; an invalid metric is an error.
func (m Metric) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("train: cannot encode invalid %s", m)
	}
	return []byte(metricNames[m]), nil
}

// UnmarshalText parses a metric's name.
func (m *Metric) UnmarshalText(b []byte) error {
	v, err := ParseMetric(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// isFinite reports whether v is neither NaN nor infinite.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
