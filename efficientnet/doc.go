// Package efficientnet builds EfficientNet B0–B8 and L2 classifiers and
// backbones, and freely scaled ones smaller than B0, following timm's
// design: the architecture is data, the variants are a table, the scaling
// rules are small pure functions, and the backbone reports its FeatureInfo.
//
// # Architecture as data
//
// A model is a list of stages, each a list of timm block strings such as
// "ir_r2_k3_s2_e6_c24_se0.25" (EfficientNetArch gives B0's). DecodeBlock
// turns one into a typed BlockSpec; unlike timm, which skips what it does
// not understand, every unknown, repeated, malformed or out-of-range token
// is an *ArchError naming the token and the string. The ir
// (MBConv), ds and dsa block types are built; timm's er, cn, uir, mha and
// mqa blocks and its mixed-kernel, group-size, CondConv and space-to-depth
// options are rejected as unsupported.
//
// # Compound scaling
//
// Config.Plan resolves a Config into every block's channels, stride,
// squeeze-excite width and drop-path rate before any weight exists (cheap
// even for L2's 480 M parameters; Plan.NumParams counts them). The rules
// are timm's: channels RoundChannels(c, width) — multiples of 8, never
// below 90 % of c·width; each stage's repeats ScaleDepth(r, depth) —
// ceil(r·depth); the stride only on a stage's first block; a residual when
// stride is 1 and the channel counts match (not with noskip); drop-path
// rate DropPathRate·i/n rising with the block index i; the SE bottleneck
// from the block's input channels times the ratio. Variants holds the
// B0–B8/L2 table (width, depth, resolution, dropout); Width, Depth and
// Resolution can also be set freely.
//
// # Flavours
//
// PyTorch (timm's efficientnet_bX, symmetric k/2 padding, batch norm eps
// 1e-5) and TF (timm's tf_efficientnet_bX, ported from Google's TensorFlow
// checkpoints: TensorFlow "SAME" padding, eps 1e-3) build the same
// parameters but compute different functions, so pretrained weights only
// work in the flavour they were trained in. Torchvision is PyTorch with
// torchvision's batch-norm settings for B5–B7 (eps 1e-3, momentum 0.01).
//
// # Blocks
//
// MBConv (timm's InvertedResidual) and DSConv (DepthwiseSeparableConv)
// live here, not in package layers: they are assembled from layers'
// Conv2d, DepthwiseConv2d, BatchNorm2d, SqueezeExcite and DropPath, but
// their child names (conv_pw, conv_dw, se, conv_pwl, bn1…bn3), their
// squeeze-excite sizing and their residual rule are timm's EfficientNet
// conventions, which weight import depends on, rather than general-purpose
// layers.
//
// # Model
//
// New builds a Model with timm's TensorFlow-style initialisation drawn
// from Config.Rng. Forward returns logits, ForwardFeatures the head
// conv's output, PreLogits the pooled embedding; ResetClassifier puts on a
// new head. Features returns a backbone over the same stem and blocks that
// yields the feature maps at strides 2, 4, 8, 16 and 32, described by
// FeatureInfo (channels, reduction, timm's stage and module name), as
// timm's features_only models, for EfficientDet.
//
// # Weights
//
// Parameter names are timm's (conv_stem.weight, bn1.running_var,
// blocks.1.0.conv_dw.weight, blocks.1.0.se.conv_reduce.bias, conv_head.weight,
// bn2.weight, classifier.weight, …) in sortnet's layouts (HWIO, depthwise
// [K, K, C], linear [In, Out]). LoadStateDict and LoadPretrained accept a
// PyTorch state dict with timm names or torchvision names (mapped through
// one table, see ConvertStateDict), converting OIHW, [C, 1, K, K] and
// [Out, In] weights as they load, as well as sortnet's own files
// (layers.SaveModule). Loading is strict unless LoadOptions.Partial;
// LoadOptions.NewHead keeps the model's own classifier for fine-tuning on
// other classes. Architecture mismatches come back as one error listing
// the missing, unexpected and mis-shaped tensors; the model is unchanged.
// PretrainedPreprocess and Config.Preprocess give the input size, crop,
// interpolation and normalisation the pretrained weights expect.
//
// # Tests
//
// The parity tests replay fixtures written by tools/fixtures_efficientnet.py
// with torchvision's EfficientNet and torch (see that script). Building
// full-size models is cheap, running them at full resolution is not: the
// default tests compute B0–B8's feature maps at 32×32 (channels and
// reductions do not depend on the input size); go test -args -long also
// runs every variant at its full resolution.
package efficientnet
