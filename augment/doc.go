// Package augment will hold sortnet's image augmentation: an HWC image
// type, decoding (JPEG with EXIF orientation, PNG, GIF, WebP, BMP, TIFF),
// albumentations-style transforms with box-aware variants, Compose/OneOf,
// RandAugment, and the detect-waste and EfficientDet presets. Every random
// choice comes from a seed derived from (run seed, epoch, sample index).
//
// Not yet implemented: this package is a placeholder for the augment issue.
package augment
