// Package data will hold sortnet's data loading: ImageFolder and COCO JSON
// data sets, seeded stratified splits, a Loader with worker goroutines,
// prefetch and deterministic batching into NHWC tensors, and samplers
// (sequential, random, weighted, class-balanced).
//
// Not yet implemented: this package is a placeholder for the data and train
// issue.
package data
