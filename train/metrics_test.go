package train_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/train"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// handMatrix is a five-class case worked out by hand:
//
//	truth: a a a b b c c c c
//	pred:  a a b b a c c c e
//
// Class d occurs nowhere; class e is predicted once and never true.
//
//	      pred a  b  c  d  e   support
//	true a     2  1  0  0  0   3
//	     b     1  1  0  0  0   2
//	     c     0  0  3  0  1   4
//	     d     0  0  0  0  0   0
//	     e     0  0  0  0  0   0
//	predicted  3  2  3  0  1   N = 9, correct = 6
//
// scikit-learn 1.2.1 (classification_report, balanced_accuracy_score,
// f1_score(average="macro"), confusion_matrix(normalize="true"), all with
// zero_division=0) gives the same numbers.
func handMatrix(t *testing.T) *train.ConfusionMatrix {
	t.Helper()
	m, err := train.ConfusionFromLabels([]string{"a", "b", "c", "d", "e"},
		[]int{0, 0, 0, 1, 1, 2, 2, 2, 2},
		[]int{0, 0, 1, 1, 0, 2, 2, 2, 4})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfusionMatrixHandComputed(t *testing.T) {
	m := handMatrix(t)
	want := [][]int{{2, 1, 0, 0, 0}, {1, 1, 0, 0, 0}, {0, 0, 3, 0, 1}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}
	got := m.Counts()
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("Counts row %d = %v, want %v", i, got[i], want[i])
		}
	}
	scalars := []struct {
		name      string
		got, want float64
	}{
		{"Accuracy", m.Accuracy(), 6.0 / 9},
		{"WeightedAccuracy", m.WeightedAccuracy(), 6.0 / 9},
		// mean recall over a, b, c (d and e have no support)
		{"BalancedAccuracy", m.BalancedAccuracy(), (2.0/3 + 1.0/2 + 3.0/4) / 3},
		// mean F1 over a, b, c, e (d is neither true nor predicted)
		{"MacroF1", m.MacroF1(), (2.0/3 + 1.0/2 + 6.0/7 + 0) / 4},
		{"macro precision", m.MacroAverages().Precision, (2.0/3 + 1.0/2 + 1 + 0) / 4},
		{"macro recall", m.MacroAverages().Recall, (2.0/3 + 1.0/2 + 3.0/4 + 0) / 4},
		{"weighted precision", m.WeightedAverages().Precision, (3*2.0/3 + 2*1.0/2 + 4*1.0) / 9},
		{"weighted recall", m.WeightedAverages().Recall, 6.0 / 9},
		{"weighted F1", m.WeightedAverages().F1, (3*2.0/3 + 2*1.0/2 + 4*6.0/7) / 9},
		{"Metric BalancedAccuracy", train.BalancedAccuracy.Of(m), (2.0/3 + 1.0/2 + 3.0/4) / 3},
	}
	for _, s := range scalars {
		if !near(s.got, s.want) {
			t.Errorf("%s = %.15g, want %.15g", s.name, s.got, s.want)
		}
	}
	wantPC := []train.ClassMetrics{
		{"a", 2.0 / 3, 2.0 / 3, 2.0 / 3, 3, 3},
		{"b", 0.5, 0.5, 0.5, 2, 2},
		{"c", 1, 0.75, 6.0 / 7, 4, 3},
		{"d", 0, 0, 0, 0, 0}, // 0/0 everywhere: zero_division=0
		{"e", 0, 0, 0, 0, 1}, // predicted, never true: precision 0/1, recall 0/0
	}
	for i, c := range m.PerClass() {
		w := wantPC[i]
		if c.Class != w.Class || !near(c.Precision, w.Precision) || !near(c.Recall, w.Recall) ||
			!near(c.F1, w.F1) || c.Support != w.Support || c.Predicted != w.Predicted {
			t.Errorf("PerClass[%d] = %+v, want %+v", i, c, w)
		}
	}
	wantN := [][]float64{{2.0 / 3, 1.0 / 3, 0, 0, 0}, {0.5, 0.5, 0, 0, 0}, {0, 0, 0.75, 0, 0.25}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}
	for i, row := range m.Normalized() {
		for j := range row {
			if !near(row[j], wantN[i][j]) {
				t.Errorf("Normalized[%d][%d] = %g, want %g", i, j, row[j], wantN[i][j])
			}
		}
	}
}

func TestConfusionMatrixEmptyAndDegenerate(t *testing.T) {
	m := train.NewConfusionMatrix([]string{"x", "y"})
	for _, metric := range train.Metrics() {
		if v := metric.Of(m); v != 0 {
			t.Errorf("%s of an empty matrix = %g, want 0", metric, v)
		}
	}
	// One class only, always right.
	m.Add(1, 1)
	m.Add(1, 1)
	if m.Accuracy() != 1 || m.BalancedAccuracy() != 1 || m.MacroF1() != 1 {
		t.Errorf("perfect single-class: acc %g bal %g f1 %g, want 1", m.Accuracy(), m.BalancedAccuracy(), m.MacroF1())
	}
	// Always wrong: every metric 0, none NaN.
	m.Reset()
	m.Add(0, 1)
	m.Add(1, 0)
	for _, metric := range train.Metrics() {
		if v := metric.Of(m); v != 0 {
			t.Errorf("%s of an all-wrong matrix = %g, want 0", metric, v)
		}
	}
	b, err := json.Marshal(m)
	if err != nil || strings.Contains(string(b), "NaN") {
		t.Errorf("json: %s, %v", b, err)
	}
}

func TestConfusionReport(t *testing.T) {
	m := handMatrix(t)
	// Layout of sklearn.metrics.classification_report (width is that of the
	// longest row label, here "balanced accuracy"); d has no support and no
	// predictions, so its scores are "-".
	want := `                   precision    recall  f1-score   support

                a       0.67      0.67      0.67         3
                b       0.50      0.50      0.50         2
                c       1.00      0.75      0.86         4
                d          -         -         -         0
                e       0.00      0.00      0.00         0

         accuracy                           0.67         9
        macro avg       0.54      0.48      0.51         9
     weighted avg       0.78      0.67      0.71         9
balanced accuracy                           0.64         9
`
	if got := m.Report(2); got != want {
		t.Errorf("Report(2) =\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(m.Report(4), "0.6389") {
		t.Errorf("Report(4) lacks the balanced accuracy 0.6389:\n%s", m.Report(4))
	}
}

func TestConfusionJSONRoundTrip(t *testing.T) {
	m := handMatrix(t)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"classes", "counts", "accuracy", "weighted_accuracy", "balanced_accuracy", "macro_f1", "macro_avg", "weighted_avg", "per_class", "normalized"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	var back train.ConfusionMatrix
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Report(4) != m.Report(4) || !slices.Equal(back.Classes(), m.Classes()) {
		t.Errorf("round trip changed the matrix:\n%s\nwant\n%s", back.Report(4), m.Report(4))
	}
	bad := []struct{ name, json, want string }{
		{"not square", `{"classes":["a","b"],"counts":[[1,2],[3]]}`, "row 1"},
		{"rows", `{"classes":["a","b"],"counts":[[1,2]]}`, "1 rows"},
		{"negative", `{"classes":["a"],"counts":[[-1]]}`, "negative"},
		{"no classes", `{"classes":[],"counts":[]}`, "no classes"},
		{"duplicate", `{"classes":["a","a"],"counts":[[0,0],[0,0]]}`, "both named"},
		{"syntax", `{"classes":`, "unexpected end"},
	}
	for _, c := range bad {
		var m train.ConfusionMatrix
		err := json.Unmarshal([]byte(c.json), &m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestConfusionFromLabelsErrors(t *testing.T) {
	cls := []string{"a", "b"}
	cases := []struct {
		name        string
		classes     []string
		truth, pred []int
		want        string
	}{
		{"lengths", cls, []int{0}, []int{0, 1}, "1 true labels but 2 predictions"},
		{"truth range", cls, []int{0, 2}, []int{0, 1}, "true label 2 at position 1"},
		{"pred range", cls, []int{0, 1}, []int{-1, 1}, "predicted label -1 at position 0"},
		{"empty name", []string{"a", ""}, nil, nil, "empty name"},
	}
	for _, c := range cases {
		_, err := train.ConfusionFromLabels(c.classes, c.truth, c.pred)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestConfusionAddLogitsAndMerge(t *testing.T) {
	nan := float32(math.NaN())
	logits := nn.FromData([]float32{
		0.1, 0.9, 0.0, // -> 1
		2, 2, 1, // tie -> 0
		-1, nan, 5, // NaN wins -> 1
	}, 3, 3)
	m := train.NewConfusionMatrix([]string{"x", "y", "z"})
	m.AddLogits(logits, []int{1, 0, 2})
	if m.Count(1, 1) != 1 || m.Count(0, 0) != 1 || m.Count(2, 1) != 1 || m.Total() != 3 {
		t.Fatalf("AddLogits counts %v", m.Counts())
	}
	o := train.NewConfusionMatrix([]string{"x", "y", "z"})
	o.Add(2, 2)
	if err := m.Merge(o); err != nil {
		t.Fatal(err)
	}
	if m.Total() != 4 || m.Count(2, 2) != 1 {
		t.Errorf("Merge counts %v", m.Counts())
	}
	if err := m.Merge(train.NewConfusionMatrix([]string{"x", "y", "w"})); err == nil {
		t.Error("Merge of different classes: no error")
	}
	if train.Argmax(nil) != -1 {
		t.Error("Argmax(nil) != -1")
	}
	mustPanic(t, "Add out of range", func() { m.Add(3, 0) })
	mustPanic(t, "AddLogits shape", func() { m.AddLogits(nn.New(2, 4), []int{0, 1}) })
	mustPanic(t, "NewConfusionMatrix duplicate", func() { train.NewConfusionMatrix([]string{"a", "a"}) })
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestMetricNames(t *testing.T) {
	for _, m := range train.Metrics() {
		b, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back train.Metric
		if err := back.UnmarshalText(b); err != nil || back != m {
			t.Errorf("%s: round trip gave %v, %v", m, back, err)
		}
	}
	if _, err := train.ParseMetric("f1"); err == nil {
		t.Error("ParseMetric(f1): no error")
	}
	var zero train.Metric
	if zero.Valid() {
		t.Error("zero Metric is valid")
	}
	if _, err := zero.MarshalText(); err == nil {
		t.Error("MarshalText of the zero Metric: no error")
	}
	// JSON through a config struct.
	var cfg struct{ Metric train.Metric }
	if err := json.Unmarshal([]byte(`{"Metric":"macro_f1"}`), &cfg); err != nil || cfg.Metric != train.MacroF1 {
		t.Errorf("config JSON: %v %v", cfg.Metric, err)
	}
}
