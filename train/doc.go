// Package train trains sortnet models: a Trainer for supervised training and
// a SelfTrainer that improves a model with pseudo-labels, both generic over
// the task, and the pieces they are made of.
//
// # Tasks and the Trainer
//
// A Task binds a model to a problem: the loss of a batch, and an
// evaluation. Classifier is the task of image classifiers (cross-entropy
// with hard or soft labels and per-sample weights); detectors bring their
// own. Trainer.Step is one training step — forward, loss, backward,
// clipping, optimizer step, EMA — kept apart from the loop so that a user
// can write their own. Trainer.Fit is the loop: learning-rate schedule per
// epoch or per step, validation after every epoch, last and best
// checkpoints, early stopping, a JSONL metrics log, plots and progress. A
// NaN or infinite loss stops it with an error that names the step and the
// last good checkpoint (or skips the batch, with SkipNonFinite). Cancelling
// the context (on SIGINT, say) writes an "interrupted" checkpoint, and
// Resume continues from any checkpoint bit for bit, even mid-epoch.
//
// # Self-training
//
// SelfTrainer works through PseudoLabeler, the part of a task that
// proposes labels for unlabelled samples, so classifiers and detectors use
// the same code. Offline, each round labels the pool with a teacher (the
// model as the round starts, or its EMA), keeps the proposals above a
// confidence threshold (global or per class), optionally balances the
// classes (most confident first, short classes repeated), and trains the
// student — the same model continued, or a fresh one — on batches that mix
// labelled samples with μ times as many pseudo-labelled ones, seen through
// the pool's noisy view (augmentation) and weighted by Lee's α(t) ramp. The
// student is the next round's teacher. Online, FixMatch-style, every
// labelled batch is paired with a pool batch whose clean view the current
// model labels and whose noisy view it trains on. Each round reports the
// accepted counts per class and, when the pool's true labels are known (as
// with synthetic data), the pseudo-labels' accuracy. WritePseudoCSV and
// ReadPseudoCSV keep pseudo-labels on disk for inspection and reuse.
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
