// Package efficientnet will hold EfficientNet B0–B8 (and smaller, freely
// scaled variants): timm-style architecture strings, MBConv blocks, compound
// scaling, a features-only backbone with FeatureInfo, and offline weight
// import from timm/torchvision checkpoints.
//
// Not yet implemented: this package is a placeholder for the EfficientNet
// issue.
package efficientnet
