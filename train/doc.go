// Package train trains sortnet models. What exists so far are the pieces a
// training loop is made of; the Trainer (one step kept apart from the loop
// and its hooks) and the SelfTrainer (pseudo-labels, generic over the task)
// will be built on them.
//
// # Metrics
//
// A ConfusionMatrix counts (true, predicted) label pairs over named classes
// (Add, AddLogits, ConfusionFromLabels, Merge) and derives the metrics:
// Accuracy; WeightedAccuracy, the support-weighted mean of per-class recall,
// which equals accuracy and is what detect-waste logs as "weighted
// accuracy"; BalancedAccuracy, the mean recall over the classes present in
// the truth (sklearn's balanced_accuracy_score); MacroF1; PerClass
// precision, recall, F1 and support; the row-normalised matrix; a
// classification Report laid out as scikit-learn's; and JSON. Ratios with a
// zero denominator are 0 (scikit-learn's zero_division=0), so no metric is
// ever NaN. A Metric names one of the scalar metrics, for choosing the best
// checkpoint.
//
// # Checkpoints
//
// SaveCheckpoint writes a State — the model's parameters and buffers, the
// optimizer's state, the EMA's averages and any number of named random
// sources (*rand.PCG, *rand.ChaCha8) — with a Meta (epoch, step, best
// metric, the run's config as JSON) to one safetensors file, atomically,
// and refuses to write NaN or Inf weights (NonFiniteError).
// LoadCheckpoint restores it all or nothing, strictly, so that a resumed run
// continues bit for bit as if it had never stopped. ReadCheckpointMeta reads
// only the metadata.
//
// # Progress and logs
//
// A Progress reports long loops: a bar with loss, accuracy, throughput and
// time left on a terminal (github.com/schollz/progressbar/v3), plain log
// lines at an interval otherwise, or nothing (ProgressQuiet, or a nil
// *Progress). Each Stage adds up a Summary (mean loss, accuracy, rate).
// MetricsLog appends one JSON object per line per step or epoch, written in
// one piece so a crash cannot corrupt more than the last line;
// ReadMetricsLog reads it back.
//
// # Plots
//
// PlotHistory (loss and accuracy per epoch, train and validation),
// PlotCurves (any series), PlotConfusion (a heat map with class names and
// counts or percentages) and PlotPerClass (precision, recall and F1 per
// class) write PNG files with gonum.org/v1/plot. Missing values (NaN) are
// left out of the curves.
package train
