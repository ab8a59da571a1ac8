// Package efficientdet will hold EfficientDet D0–D7: BiFPN, shared box and
// class heads, anchors, focal and Huber losses, NMS and COCO-style
// evaluation, on the efficientnet feature backbone.
//
// Not yet implemented: this package is a placeholder for the EfficientDet
// issue.
package efficientdet
