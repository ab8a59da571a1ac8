"""Parity fixtures for package efficientdet.

effdet (github.com/rwightman/efficientdet-pytorch) and timm are not
installed here, so where a fixture needs effdet's own definitions (anchors,
the anchor labeler, the detection loss, the BiFPN and heads) this script
reimplements them in numpy/torch from effdet's source (effdet/anchors.py,
object_detection/{argmax_matcher,box_coder,region_similarity_calculator,
target_assigner}.py, loss.py, efficientdet.py), operation for operation,
with effdet's module and parameter names. The box ops come from
torchvision.ops itself.

efficientdet/testdata/ops.json
    iou.a, iou.b, iou.out         torchvision.ops.box_iou
    nms.boxes, nms.scores, nms.keep50, nms.keep30
                                  torchvision.ops.nms at IoU 0.5 and 0.3
    nms.classes, nms.batched50    torchvision.ops.batched_nms at 0.5
    focal.logits [N, H, W, A*C], focal.classes [N, H*W*A] (-1 background,
    -2 ignored), focal.sum, focal.grad
                                  torchvision.ops.sigmoid_focal_loss
                                  (alpha 0.25, gamma 1.5, sum over the
                                  non-ignored anchors) and its gradient
    smooth.sum, smooth.grad       effdet's new_focal_loss with label
                                  smoothing 0.1 on the same inputs
    huber.pred, huber.target, huber.sum, huber.grad
                                  torch.nn.functional.huber_loss, delta 0.1

efficientdet/testdata/loss.json
    effdet's loss_fn (new focal loss, Huber on box targets != 0,
    normaliser positives + 1, total = class + 50 * box) over three levels
    of a 40x56 input (levels 3-5, 2 anchors per location, 3 classes,
    batch 2): inputs cls.<l>, box.<l> (NHWC), targets classes [2, anchors],
    boxes [2, anchors, 4], positives [2]; outputs total, class, box for
    label smoothing 0 and 0.1 (suffix _ls) and the gradients of the total
    with respect to every map (dcls.<l>, dbox.<l>, smoothing 0).

efficientdet/testdata/anchors.json
    effdet's Anchors (_generate_boxes, reimplemented in numpy) for a 40x72
    input, levels 3-7, 3 scales, effdet's aspect ratios, anchor scale 4:
    boxes [anchors, 4] as (y1, x1, y2, x2), effdet's order.

efficientdet/testdata/assign.json
    effdet's AnchorLabeler.label_anchors (IoU similarity, ArgMaxMatcher
    with threshold 0.5 and force_match_for_each_row, FasterRcnnBoxCoder),
    reimplemented in torch, on the anchors of a 64x96 input: gt boxes
    (y1, x1, y2, x2) and labels (0-based), outputs classes [anchors]
    (-1 background), boxes [anchors, 4], positives.

efficientdet/testdata/fpn_head.safetensors
    A BiFPN and class/box heads reimplemented with effdet's module tree and
    names (BiFpn, BiFpnLayer, Fnode, FpnCombine, ResampleFeatureMap,
    SeparableConv2d, ConvBnAct2d, HeadNet) over backbone maps of 8, 16 and
    24 channels at strides 8/16/32 of a 40x56 input (odd level sizes),
    8 BiFPN channels, 2 classes, 9 anchors, eval mode, random weights and
    batch-norm statistics (rounded to float16), for three settings:
      tf_fastattn  TF flavour (max-pool with TensorFlow "SAME" padding,
                   redundant conv biases), fast normalized fusion, 2 cells,
                   2 head repeats
      pt_attn      PyTorch flavour (max-pool padding 1, no redundant
                   biases), softmax fusion, 1 cell, 1 head repeat
      tf_sum       TF flavour, sum fusion, 1 cell, 1 head repeat
    Per setting <s>: <s>.sd.<effdet name> (PyTorch layouts), <s>.c3/c4/c5
    (NHWC inputs), <s>.class.<l>, <s>.box.<l> (NHWC outputs, levels 0-4).

efficientdet/testdata/fpn_head_tf.pth
    torch.save({"state_dict": ...}) of tf_fastattn's state dict in float16
    (a training checkpoint's nesting), for LoadPretrained.

Run: /usr/bin/python3 tools/fixtures_efficientdet.py
"""
import math
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import batched_nms, box_iou, nms, sigmoid_focal_loss

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixturelib import write  # noqa: E402
from fixtures_efficientnet import write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASPECTS = [(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)]


def rand_boxes(g, n, size=100.0):
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size * 0.4 + 1
    return torch.cat([xy, xy + wh], 1)


def ops():
    g = torch.Generator().manual_seed(1)
    t = {}
    a = rand_boxes(g, 7)
    b = rand_boxes(g, 5)
    b[0] = a[0]  # identical pair
    b[1] = torch.tensor([500.0, 500.0, 510.0, 520.0])  # disjoint from all
    t["iou.a"], t["iou.b"], t["iou.out"] = a, b, box_iou(a, b)

    centres = torch.rand(6, 2, generator=g) * 80
    idx = torch.randint(0, 6, (60,), generator=g)
    xy = centres[idx] + torch.randn(60, 2, generator=g) * 4
    wh = torch.rand(60, 2, generator=g) * 10 + 15
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.randperm(60, generator=g).float() / 60 + 0.001  # distinct
    classes = torch.randint(0, 3, (60,), generator=g)
    t["nms.boxes"], t["nms.scores"], t["nms.classes"] = boxes, scores, classes.float()
    t["nms.keep50"] = nms(boxes, scores, 0.5).float()
    t["nms.keep30"] = nms(boxes, scores, 0.3).float()
    t["nms.batched50"] = batched_nms(boxes, scores, classes, 0.5).float()

    n, h, w, a_, c = 2, 3, 4, 2, 3
    logits = (torch.randn(n, h, w, a_ * c, generator=g) * 3).double()
    logits[0, 0, 0, 0] = 30.0  # saturated
    logits[0, 0, 0, 1] = -30.0
    cls = torch.randint(-1, c, (n, h * w * a_), generator=g)
    cls[0, 5] = -2
    cls[1, 7] = -2
    onehot = F.one_hot(cls.clamp(min=0), c).double() * (cls >= 0).unsqueeze(-1)
    keep = (cls != -2).unsqueeze(-1).double()
    x = logits.reshape(n, h * w * a_, c).clone().requires_grad_(True)
    loss = (sigmoid_focal_loss(x, onehot, alpha=0.25, gamma=1.5, reduction="none") * keep).sum()
    loss.backward()
    t["focal.logits"], t["focal.classes"] = logits, cls.double()
    t["focal.sum"], t["focal.grad"] = loss.reshape(1), x.grad.reshape(n, h, w, a_ * c)

    x = logits.reshape(n, h * w * a_, c).clone().requires_grad_(True)
    loss = (new_focal_loss(x, onehot, 0.25, 1.5, 1.0, 0.1) * keep).sum()
    loss.backward()
    t["smooth.sum"], t["smooth.grad"] = loss.reshape(1), x.grad.reshape(n, h, w, a_ * c)

    pred = (torch.randn(20, generator=g) * 0.2).double()
    target = (torch.randn(20, generator=g) * 0.2).double()
    target[0] = pred[0] + 0.1  # at delta
    target[1] = pred[1] - 0.0999
    pred = pred.requires_grad_(True)
    loss = F.huber_loss(pred, target, reduction="sum", delta=0.1)
    loss.backward()
    t["huber.pred"], t["huber.target"] = pred, target
    t["huber.sum"], t["huber.grad"] = loss.reshape(1), pred.grad
    write("efficientdet/testdata/ops.json", {"alpha": 0.25, "gamma": 1.5, "smoothing": 0.1, "delta": 0.1}, t)


# --- effdet loss.py, reimplemented ---------------------------------------

def new_focal_loss(logits, targets, alpha, gamma, normalizer, label_smoothing):
    pred_prob = logits.sigmoid()
    onem_targets = 1.0 - targets
    p_t = (targets * pred_prob) + (onem_targets * (1.0 - pred_prob))
    alpha_factor = targets * alpha + onem_targets * (1.0 - alpha)
    modulating_factor = (1.0 - p_t) ** gamma
    if label_smoothing > 0.0:
        targets = targets * (1.0 - label_smoothing) + 0.5 * label_smoothing
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (1 / normalizer) * alpha_factor * modulating_factor * ce


def huber_loss(inp, target, delta, weights):
    err = inp - target
    abs_err = err.abs()
    quadratic = torch.clamp(abs_err, max=delta)
    linear = abs_err - quadratic
    return (0.5 * quadratic.pow(2) + delta * linear).mul(weights).sum()


def loss_fn(cls_outputs, box_outputs, cls_targets, box_targets, num_positives, num_classes,
            alpha=0.25, gamma=1.5, delta=0.1, box_loss_weight=50.0, label_smoothing=0.0):
    """effdet loss_fn with NHWC outputs (effdet permutes its NCHW maps to
    NHWC first); cls_targets[l] [N, H, W, A], box_targets[l] [N, H, W, A*4]."""
    num_positives_sum = num_positives.sum() + 1.0
    cls_losses, box_losses = [], []
    for l in range(len(cls_outputs)):
        ct = cls_targets[l]
        x_non_neg = (ct >= 0).unsqueeze(-1)
        oh = torch.zeros(ct.shape + (num_classes,), dtype=cls_outputs[l].dtype)
        oh = oh.scatter(-1, ct.unsqueeze(-1) * x_non_neg, 1) * x_non_neg
        bs, height, width, _, _ = oh.shape
        oh = oh.view(bs, height, width, -1)
        cl = new_focal_loss(cls_outputs[l], oh, alpha, gamma, num_positives_sum, label_smoothing)
        cl = cl.view(bs, height, width, -1, num_classes) * (ct != -2).unsqueeze(-1)
        cls_losses.append(cl.sum())
        bt = box_targets[l]
        box_losses.append(huber_loss(box_outputs[l], bt, delta, bt != 0.0) / (num_positives_sum * 4.0))
    cls_loss = torch.stack(cls_losses).sum()
    box_loss = torch.stack(box_losses).sum()
    return cls_loss + box_loss_weight * box_loss, cls_loss, box_loss


def loss_fixture():
    g = torch.Generator().manual_seed(2)
    n, c, a = 2, 3, 2
    sizes = [(5, 7), (3, 4), (2, 2)]  # levels 3-5 of 40x56
    t = {}
    cls_out, box_out, cls_t, box_t = [], [], [], []
    all_cls, all_box = [[] for _ in range(n)], [[] for _ in range(n)]
    for l, (h, w) in enumerate(sizes):
        co = (torch.randn(n, h, w, a * c, generator=g) * 2 - 2).double().requires_grad_(True)
        bo = (torch.randn(n, h, w, a * 4, generator=g) * 0.3).double().requires_grad_(True)
        ct = torch.full((n, h, w, a), -1, dtype=torch.long)
        pos = torch.rand(n, h, w, a, generator=g) < 0.15
        ct[pos] = torch.randint(0, c, (int(pos.sum()),), generator=g)
        ign = (torch.rand(n, h, w, a, generator=g) < 0.05) & ~pos
        ct[ign] = -2
        bt = torch.zeros(n, h, w, a, 4, dtype=torch.float64)
        bt[pos] = (torch.randn(int(pos.sum()), 4, generator=g) * 0.3).double()
        bt = bt.reshape(n, h, w, a * 4)
        cls_out.append(co)
        box_out.append(bo)
        cls_t.append(ct)
        box_t.append(bt)
        t[f"cls.{l}"], t[f"box.{l}"] = co, bo
        for i in range(n):
            all_cls[i].append(ct[i].reshape(-1))
            all_box[i].append(bt[i].reshape(-1, 4))
    classes = torch.stack([torch.cat(x) for x in all_cls])
    boxes = torch.stack([torch.cat(x) for x in all_box])
    positives = (classes >= 0).sum(1).double()
    t["classes"], t["boxes"], t["positives"] = classes.double(), boxes, positives
    total, cl, bl = loss_fn(cls_out, box_out, cls_t, box_t, positives, c)
    total.backward()
    t["total"], t["class"], t["box"] = total.reshape(1), cl.reshape(1), bl.reshape(1)
    for l in range(len(sizes)):
        t[f"dcls.{l}"], t[f"dbox.{l}"] = cls_out[l].grad, box_out[l].grad
    total, cl, bl = loss_fn(cls_out, box_out, cls_t, box_t, positives, c, label_smoothing=0.1)
    t["total_ls"], t["class_ls"], t["box_ls"] = total.reshape(1), cl.reshape(1), bl.reshape(1)
    write("efficientdet/testdata/loss.json", {"classes": c, "height": 40, "width": 56}, t)


# --- effdet anchors.py, reimplemented ------------------------------------

def get_feat_sizes(image_size, max_level):
    feat_size = image_size
    feat_sizes = [feat_size]
    for _ in range(1, max_level + 1):
        feat_size = ((feat_size[0] - 1) // 2 + 1, (feat_size[1] - 1) // 2 + 1)
        feat_sizes.append(feat_size)
    return feat_sizes


def effdet_anchors(image_size, min_level=3, max_level=7, num_scales=3, aspect_ratios=ASPECTS, anchor_scale=4.0):
    """effdet Anchors._generate_configs + _generate_boxes: (y1, x1, y2, x2)."""
    feat_sizes = get_feat_sizes(image_size, max_level)
    boxes_all = []
    for level in range(min_level, max_level + 1):
        boxes_level = []
        for scale_octave in range(num_scales):
            for aspect in aspect_ratios:
                stride = (feat_sizes[0][0] / float(feat_sizes[level][0]), feat_sizes[0][1] / float(feat_sizes[level][1]))
                octave_scale = scale_octave / float(num_scales)
                base_anchor_size_x = anchor_scale * stride[1] * 2 ** octave_scale
                base_anchor_size_y = anchor_scale * stride[0] * 2 ** octave_scale
                aspect_x, aspect_y = aspect
                anchor_size_x_2 = base_anchor_size_x * aspect_x / 2.0
                anchor_size_y_2 = base_anchor_size_y * aspect_y / 2.0
                x = np.arange(stride[1] / 2, image_size[1], stride[1])
                y = np.arange(stride[0] / 2, image_size[0], stride[0])
                xv, yv = np.meshgrid(x, y)
                xv = xv.reshape(-1)
                yv = yv.reshape(-1)
                boxes = np.vstack((yv - anchor_size_y_2, xv - anchor_size_x_2, yv + anchor_size_y_2, xv + anchor_size_x_2))
                boxes = np.swapaxes(boxes, 0, 1)
                boxes_level.append(np.expand_dims(boxes, axis=1))
        boxes_level = np.concatenate(boxes_level, axis=1)
        boxes_all.append(boxes_level.reshape([-1, 4]))
    return torch.from_numpy(np.vstack(boxes_all)).float()


def anchors_fixture():
    boxes = effdet_anchors((40, 72))
    assert len(effdet_anchors((512, 512))) == 49104
    assert len(effdet_anchors((768, 768))) == 110484
    write("efficientdet/testdata/anchors.json", {"height": 40, "width": 72}, {"boxes": boxes})


# --- effdet object_detection, reimplemented ------------------------------

def iou_similarity(b1, b2):
    """region_similarity_calculator.iou on (y1, x1, y2, x2) boxes."""
    y_min1, x_min1, y_max1, x_max1 = b1.chunk(4, dim=1)
    y_min2, x_min2, y_max2, x_max2 = b2.chunk(4, dim=1)
    ih = torch.clamp(torch.min(y_max1, y_max2.t()) - torch.max(y_min1, y_min2.t()), min=0)
    iw = torch.clamp(torch.min(x_max1, x_max2.t()) - torch.max(x_min1, x_min2.t()), min=0)
    inter = ih * iw
    a1 = (y_max1 - y_min1).squeeze(1) * (x_max1 - x_min1).squeeze(1)
    a2 = (y_max2 - y_min2).squeeze(1) * (x_max2 - x_min2).squeeze(1)
    unions = a1.unsqueeze(1) + a2.unsqueeze(0) - inter
    return torch.where(inter == 0.0, torch.zeros_like(inter), inter / unions)


def argmax_match(sim, thr):
    """ArgMaxMatcher(thr, unmatched=thr, negatives_lower_than_unmatched,
    force_match_for_each_row) on sim [gt, anchors]."""
    matched_vals, matches = torch.max(sim, 0)
    below = thr > matched_vals
    matches = torch.where(below, torch.full_like(matches, -1), matches)
    force_ids = torch.argmax(sim, 1)
    ind = F.one_hot(force_ids, sim.shape[1]).bool()
    mask, row_ids = torch.max(ind, 0)
    return torch.where(mask, row_ids, matches)


def encode(boxes, anchors, eps=1e-7):
    """FasterRcnnBoxCoder.encode without scale factors: [ty, tx, th, tw]."""
    def centre(b):
        ymin, xmin, ymax, xmax = b.t()
        return (ymin + ymax) / 2.0, (xmin + xmax) / 2.0, ymax - ymin, xmax - xmin
    ya, xa, ha, wa = centre(anchors)
    y, x, h, w = centre(boxes)
    ha, wa, h, w = ha + eps, wa + eps, h + eps, w + eps
    return torch.stack([(y - ya) / ha, (x - xa) / wa, torch.log(h / ha), torch.log(w / wa)]).t()


def assign_fixture():
    anchors = effdet_anchors((64, 96))
    gt = torch.tensor([
        [10.0, 12.0, 40.0, 50.0],   # (y1, x1, y2, x2)
        [14.0, 16.0, 44.0, 52.0],   # overlaps the first
        [30.0, 60.0, 33.0, 63.0],   # tiny: only a forced match
        [0.0, 70.0, 64.0, 96.0],    # touches the image border
        [5.0, 5.0, 60.0, 90.0],     # large
    ])
    labels = torch.tensor([0, 1, 2, 1, 0])
    sim = iou_similarity(gt, anchors)
    m = argmax_match(sim, 0.5)
    classes = torch.where(m >= 0, labels[m.clamp(min=0)], torch.full_like(m, -1))
    boxes = torch.zeros(len(anchors), 4)
    pos = m >= 0
    boxes[pos] = encode(gt[m[pos]], anchors[pos])
    write("efficientdet/testdata/assign.json", {"height": 64, "width": 96},
          {"gt": gt, "labels": labels.float(), "classes": classes.float(), "boxes": boxes,
           "positives": pos.sum().float().reshape(1)})


# --- effdet efficientdet.py, reimplemented (BiFPN and heads) -------------

def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class MaxPool2dSame(nn.Module):
    """timm's MaxPool2dSame: TensorFlow "SAME" padding with -inf."""
    def forward(self, x):
        t, b = same_pads(x.shape[2], 3, 2)
        l, r = same_pads(x.shape[3], 3, 2)
        x = F.pad(x, (l, r, t, b), value=-float("inf"))
        return F.max_pool2d(x, 3, 2)


class Interpolate2d(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.size = size

    def forward(self, x):
        return F.interpolate(x, size=self.size, mode="nearest")


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class ConvBnAct2d(nn.Module):
    def __init__(self, cin, cout, bias):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=bias)
        self.bn = bn(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class SeparableConv2d(nn.Module):
    def __init__(self, cin, cout, bias, norm):
        super().__init__()
        self.conv_dw = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)  # SAME == 1 for stride 1
        self.conv_pw = nn.Conv2d(cin, cout, 1, bias=bias)
        self.bn = bn(cout) if norm else None

    def forward(self, x):
        x = self.conv_pw(self.conv_dw(x))
        return self.bn(x) if self.bn is not None else x


class ResampleFeatureMap(nn.Sequential):
    def __init__(self, cin, cout, in_size, out_size, tf):
        super().__init__()
        if cin != cout:
            self.add_module("conv", ConvBnAct2d(cin, cout, bias=tf))  # not apply_bn or redundant_bias
        if in_size[0] > out_size[0] and in_size[1] > out_size[1]:
            self.add_module("downsample", MaxPool2dSame() if tf else nn.MaxPool2d(3, 2, padding=1))
        elif in_size[0] < out_size[0] or in_size[1] < out_size[1]:
            self.add_module("upsample", Interpolate2d(out_size))


def bifpn_config(min_level, max_level):
    num_levels = max_level - min_level + 1
    node_ids = {min_level + i: [i] for i in range(num_levels)}
    nodes, cnt = [], num_levels
    for i in range(max_level - 1, min_level - 1, -1):
        nodes.append({"feat_level": i, "inputs_offsets": [node_ids[i][-1], node_ids[i + 1][-1]]})
        node_ids[i].append(cnt)
        cnt += 1
    for i in range(min_level + 1, max_level + 1):
        nodes.append({"feat_level": i, "inputs_offsets": node_ids[i] + [node_ids[i - 1][-1]]})
        node_ids[i].append(cnt)
        cnt += 1
    return nodes


class FpnCombine(nn.Module):
    def __init__(self, feature_info, fpn_channels, offsets, output_size, tf, method):
        super().__init__()
        self.offsets, self.method = offsets, method
        self.resample = nn.ModuleDict()
        for o in offsets:
            self.resample[str(o)] = ResampleFeatureMap(feature_info[o]["num_chs"], fpn_channels, feature_info[o]["size"], output_size, tf)
        self.edge_weights = nn.Parameter(torch.ones(len(offsets))) if method != "sum" else None

    def forward(self, x):
        nodes = [r(x[o]) for o, r in zip(self.offsets, self.resample.values())]
        if self.method == "attn":
            out = torch.stack(nodes, dim=-1) * torch.softmax(self.edge_weights, dim=0)
        elif self.method == "fastattn":
            w = F.relu(self.edge_weights)
            s = torch.sum(w)
            out = torch.stack([(nodes[i] * w[i]) / (s + 0.0001) for i in range(len(nodes))], dim=-1)
        else:
            out = torch.stack(nodes, dim=-1)
        return torch.sum(out, dim=-1)


class Fnode(nn.Module):
    def __init__(self, combine, after_combine):
        super().__init__()
        self.combine, self.after_combine = combine, after_combine

    def forward(self, x):
        return self.after_combine(self.combine(x))


class BiFpnLayer(nn.Module):
    def __init__(self, feature_info, feat_sizes, ch, tf, method, num_levels=5):
        super().__init__()
        self.num_levels = num_levels
        cfg = bifpn_config(3, 7)
        info = feature_info + [dict(num_chs=ch, size=feat_sizes[n["feat_level"]]) for n in cfg]
        self.fnode = nn.ModuleList()
        for n in cfg:
            combine = FpnCombine(info, ch, tuple(n["inputs_offsets"]), feat_sizes[n["feat_level"]], tf, method)
            after = nn.Sequential()
            after.add_module("act", nn.SiLU())
            after.add_module("conv", SeparableConv2d(ch, ch, bias=tf, norm=True))
            self.fnode.append(Fnode(combine, after))
        self.feature_info = info[-num_levels:]

    def forward(self, x):
        x = list(x)
        for fn in self.fnode:
            x.append(fn(x))
        return x[-self.num_levels:]


class BiFpn(nn.Module):
    def __init__(self, feat_chs, image_size, ch, cells, tf, method):
        super().__init__()
        feat_sizes = get_feat_sizes(image_size, 7)
        feature_info = [dict(num_chs=c, size=feat_sizes[3 + i]) for i, c in enumerate(feat_chs)]
        self.resample = nn.ModuleDict()
        in_chs = feat_chs[-1]
        for level in range(3, 5):
            self.resample[str(level)] = ResampleFeatureMap(in_chs, ch, feat_sizes[level + 2], feat_sizes[level + 3], tf)
            in_chs = ch
            feature_info.append(dict(num_chs=ch, size=feat_sizes[level + 3]))
        self.cell = nn.Sequential()
        for rep in range(cells):
            layer = BiFpnLayer(feature_info, feat_sizes, ch, tf, method)
            self.cell.add_module(str(rep), layer)
            feature_info = layer.feature_info

    def forward(self, x):
        x = list(x)
        for r in self.resample.values():
            x.append(r(x[-1]))
        for c in self.cell:
            x = c(x)
        return x


class HeadNet(nn.Module):
    def __init__(self, ch, repeats, num_outputs, tf, num_levels=5, num_anchors=9):
        super().__init__()
        self.conv_rep = nn.ModuleList([SeparableConv2d(ch, ch, bias=tf, norm=False) for _ in range(repeats)])
        self.bn_rep = nn.ModuleList([
            nn.ModuleList([nn.Sequential(OrderedDict([("bn", bn(ch))])) for _ in range(num_levels)])
            for _ in range(repeats)])
        self.act = nn.SiLU()
        self.predict = SeparableConv2d(ch, num_outputs * num_anchors, bias=True, norm=False)

    def forward(self, x):
        out = []
        for level in range(len(x)):
            y = x[level]
            for conv, b in zip(self.conv_rep, self.bn_rep):
                y = self.act(b[level](conv(y)))
            out.append(self.predict(y))
        return out


class FpnHeads(nn.Module):
    def __init__(self, feat_chs, image_size, ch, cells, repeats, classes, tf, method):
        super().__init__()
        self.fpn = BiFpn(feat_chs, image_size, ch, cells, tf, method)
        self.class_net = HeadNet(ch, repeats, classes, tf)
        self.box_net = HeadNet(ch, repeats, 4, tf)

    def forward(self, feats):
        p = self.fpn(feats)
        return self.class_net(p), self.box_net(p)


def randomise(model, g):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("edge_weights"):
                p.copy_(torch.rand(p.shape, generator=g) * 1.5 - 0.3)  # some negative: ReLU
            elif p.dim() == 4:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / fan_in) ** 0.5)
            elif name.endswith("bn.weight"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
            p.copy_(p.half().float())
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_((torch.randn(m.num_features, generator=g) * 0.2).half().float())
                m.running_var.copy_((torch.rand(m.num_features, generator=g) + 0.5).half().float())


def fpn_fixture():
    g = torch.Generator().manual_seed(3)
    image_size = (40, 56)
    sizes = get_feat_sizes(image_size, 7)
    feat_chs = [8, 16, 24]
    out = {}
    for name, tf, method, cells, reps in [("tf_fastattn", True, "fastattn", 2, 2), ("pt_attn", False, "attn", 1, 1), ("tf_sum", True, "sum", 1, 1)]:
        model = FpnHeads(feat_chs, image_size, 8, cells, reps, 2, tf, method)
        randomise(model, g)
        model.eval()
        feats = [torch.randn(1, c, *sizes[3 + i], generator=g) for i, c in enumerate(feat_chs)]
        with torch.no_grad():
            cls, box = model(feats)
        for k, v in model.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[f"{name}.sd.{k}"] = v.half().contiguous()  # exact: rounded to float16
        if name == "tf_fastattn":
            path = os.path.join(ROOT, "efficientdet/testdata/fpn_head_tf.pth")
            torch.save({"state_dict": OrderedDict((k, v.half()) for k, v in model.state_dict().items())}, path)
            print("wrote efficientdet/testdata/fpn_head_tf.pth", os.path.getsize(path), "bytes")
        for i, f in enumerate(feats):
            out[f"{name}.c{3 + i}"] = f.permute(0, 2, 3, 1).contiguous()
        for l in range(5):
            out[f"{name}.class.{l}"] = cls[l].permute(0, 2, 3, 1).contiguous()
            out[f"{name}.box.{l}"] = box[l].permute(0, 2, 3, 1).contiguous()
    write_safetensors("efficientdet/testdata/fpn_head.safetensors", out, {"image_size": "40x56"})


if __name__ == "__main__":
    torch.set_default_dtype(torch.float32)
    ops()
    loss_fixture()
    anchors_fixture()
    assign_fixture()
    fpn_fixture()
