// Package train will hold sortnet's training loop: a Trainer with one step
// kept apart from the loop and its hooks, metrics, atomic checkpoints that
// resume bit for bit, progress, plots, and the generic SelfTrainer that
// improves a classifier or a detector with pseudo-labels.
//
// Not yet implemented: this package is a placeholder for the data and train
// issue.
package train
