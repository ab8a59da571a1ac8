// Package efficientdet builds EfficientDet D0–D7 and D7x object detectors
// on the efficientnet feature backbone, and everything around them:
// anchors, target assignment, the focal and Huber losses, post-processing
// with NMS, COCO-style evaluation and a task for package train. It follows
// effdet (Ross Wightman's PyTorch port of Google's automl EfficientDet) so
// that effdet's checkpoints load and its numbers carry over.
//
// # Model
//
// New builds a Model from a Config: the variant table (Variants: image
// size, BiFPN width and cells, head repeats, backbone, anchor scale, fusion)
// or a free configuration (any backbone width and depth, any size, any
// class count) small enough to train on a CPU. The Model is
//
//	backbone   efficientnet.Features: C3, C4, C5 at strides 8, 16, 32
//	fpn        P6 = max-pool(1×1 conv + BN(C5)), P7 = max-pool(P6), then the
//	           BiFPN cells: a top-down path P6'…P3' and a bottom-up path
//	           P4''…P7'', each node resampling its inputs (1×1 conv + BN
//	           where channels differ, nearest ×2 upsampling, 3×3/2 max-pool),
//	           fusing them (FastAttn: Σ ReLU(wᵢ)xᵢ/(Σ ReLU(w) + 1e-4), or
//	           Attn, Sum), then swish, a separable 3×3 conv and BN (eps 1e-3,
//	           momentum 0.01)
//	class_net  separable convs shared by all levels with per-level BN and
//	box_net    swish, then a prediction conv: A·classes and A·4 channels
//
// Model.Forward returns the raw Output of every level; Detect, or
// Model.Predict, turns it into Detections. Parameter names are effdet's
// (fpn.cell.0.fnode.3.combine.edge_weights, class_net.bn_rep.1.4.bn.weight,
// …), and LoadPretrained reads effdet's .pth files (tf_efficientdet_dX
// with Flavour TF, efficientdet_dX with Flavour PyTorch) through the loader
// EfficientNet uses, converting PyTorch's layouts; LoadOptions.NewHead
// keeps a fresh class net for other classes and BackboneOnly loads an
// EfficientNet classifier's weights into the backbone. The flavours differ
// where effdet's models do: TensorFlow "SAME" padding and redundant conv
// biases before batch norm for TF, symmetric padding and no such biases
// for PyTorch. Config.NumParams counts parameters from the plan alone:
// D0 3.88 M … D7x 77.1 M, effdet's published figures.
//
// # Anchors and targets
//
// NewAnchors places NumScales × len(AspectRatios) anchors (9) at every
// position of levels 3–7, AnchorScale strides wide (effdet's Anchors, for
// any input size, square or not: levels are ⌈size/2ˡ⌉). Assign matches an
// image's boxes to them as effdet's AnchorLabeler does: an anchor is a
// positive of the box it overlaps most if the IoU is at least 0.5, every box
// claims its best anchor whatever the IoU, and positives get Faster R-CNN
// box codes (Encode, Decode). It clips boxes to the image, drops those left
// without area, and is an error for non-finite boxes and unknown labels.
//
// # Loss
//
// Loss is effdet's: the sigmoid focal loss (α 0.25, γ 1.5, optional label
// smoothing) over every class of every anchor plus 50 × the Huber loss
// (δ 0.1) over the positives' box codes, both divided by the batch's
// positives + 1. The class loss is one fused op over all levels that
// never builds the one-hot targets (it equals nn.SigmoidFocalLoss on them,
// and torchvision's sigmoid_focal_loss); the box loss is nn.Huber.
//
// # Post-processing
//
// Detect takes the 5000 best (anchor, class) logits, decodes and clips
// their boxes, runs class-aware NMS at IoU 0.5 (or Gaussian soft-NMS), keeps
// at most 100 and maps them back to the original image through a
// Letterbox, the scale and offset of augment.Letterbox (the two types
// convert into each other). NMS, BatchedNMS, SoftNMS and IoU are exported
// and agree with torchvision.ops.
//
// # Evaluation
//
// Evaluator computes COCO's detection metrics as pycocotools' COCOeval
// does: AP over IoU .50:.05:.95 with 101-point interpolated precision, AP50,
// AP75, AP and AR by object size, AR at 1, 10 and 100 detections, AP per
// class, crowd regions, and -1 where there is nothing to measure.
//
// # Training
//
// Detector implements train.Task (Loss, Evaluate with "ap", "ap50", …
// scores, DefaultMetric "ap") and train.PseudoLabeler (Propose turns
// confident detections into pseudo-boxes, Apply puts them on an example),
// so train.Trainer and train.SelfTrainer train and self-train detectors
// unchanged. effdet trains with SGD (momentum 0.9, weight decay 4e-5),
// cosine decay with warm-up, EMA 0.9998 and gradient clipping at 10; all
// are train and optim settings.
//
// # Where it departs from effdet
//
//   - The box loss covers the positives' four codes; effdet masks each
//     code that is exactly 0, which also drops the code of a positive anchor
//     centred on its box.
//   - With MatchOptions.UnmatchedThreshold below MatchThreshold the anchors
//     in between are left out of the class loss (TensorFlow's intent);
//     effdet turns them into background. With the default thresholds there
//     are none.
//   - Detect always clips to the input (effdet only when given the image
//     size), drops boxes that are empty or not finite, and ranks candidates
//     by logit with ties in anchor order.
//   - Upsampling in the BiFPN is nearest ×2 cropped to the target size,
//     which for ⌈size/2⌉ levels equals effdet's interpolation to the
//     target size.
//
// # Tests
//
// Parity fixtures from tools/fixtures_efficientdet.py cover torchvision's
// box_iou, nms, batched_nms and sigmoid_focal_loss, torch's Huber loss,
// and effdet's anchors, anchor labeler, loss and BiFPN with heads (the
// effdet parts reimplemented in torch from effdet's source, since effdet
// is not installed there). go test -args -long trains the overfitting test
// longer.
package efficientdet
