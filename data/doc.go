// Package data feeds training: data sets, samplers and a Loader that
// batches examples into NHWC tensors.
//
// # Data sets
//
// A Dataset is an indexable collection whose Example(i, rng) is safe to
// call from several goroutines and draws randomness (augmentation) only
// from rng, so an example depends on its index and seed alone. An Example
// is a normalised HWC image with a class Label (or Unlabeled), an optional
// soft Target, a loss Weight, and for detection its Boxes, BoxLabels and
// Geom, the augmentation's geometry, so predictions map back to the
// original image.
//
//   - ImageFolder reads root/<class>/<image> by torchvision's rules (sorted
//     class folders, image extensions, hidden files skipped, an empty class
//     or unreadable file reported, not skipped); NewUnlabeledFolder reads
//     a pool of images without classes. Images go through an
//     augment.Pipeline and can be cached decoded and resized.
//   - ReadCOCO and DecodeCOCO read COCO detection JSON and validate it
//     (unknown image or category ids, boxes outside the image), dropping
//     and counting degenerate boxes; Detection serves its images with boxes
//     through a box-aware pipeline; CutCrops is detect-waste's crop cutter
//     (square crops around boxes, with zoom, written as an ImageFolder).
//   - Subset, Concat and Tensors compose and wrap data sets;
//     StratifiedSplit makes seeded train/validation/test splits with every
//     class in proportion, so model selection never sees the test set.
//
// # Loading
//
// A Loader runs bounded worker goroutines with prefetch and collates
// examples into a Batch. Each epoch's order comes from its Sampler
// (Sequential, Random, Weighted with or without replacement,
// ClassBalanced as detect-waste's --weighted_sampler, Mixed for labelled and
// pseudo-labelled batches) and the LoaderConfig's Seed; each sample's
// randomness from (seed, epoch, index). Batches are therefore identical
// whatever the worker count, and Epoch / EpochFrom can restart mid-epoch
// when training resumes.
package data
