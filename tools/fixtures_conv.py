"""Parity fixtures for nn.Conv2d, nn.DepthwiseConv2d, nn.MaxPool2d and
nn.AvgPool2d: nn/testdata/conv_parity.json.

Each case stores, in sortnet's layouts (NHWC activations, HWIO conv weights,
[KH, KW, C] depthwise weights): the input x, the weight w, the output y, a
fixed random upstream gradient dy, and the gradients dx, dw of sum(y*dy).
TensorFlow "SAME" padding is done in torch as F.pad with the asymmetric pads
(-inf for max pooling), then an unpadded op. Computed in float64.

Regenerate with:  /usr/bin/python3 tools/fixtures_conv.py
"""
import torch
import torch.nn.functional as F

from fixturelib import hwio, nhwc, write

torch.manual_seed(0)
DT = torch.float64


def same_pads(n, k, s, d=1):
    """TensorFlow 'SAME' (before, after) padding for one axis."""
    out = (n + s - 1) // s
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def rand(*shape):
    return (torch.rand(*shape, dtype=DT) * 2 - 1).requires_grad_()


tensors = {}
meta = {}


def conv_case(name, desc, x_shape, w_shape, depthwise=False, tf_same=False, **kw):
    x, w = rand(*x_shape), rand(*w_shape)
    xin = x
    if tf_same:
        k, s = w_shape[2], kw["stride"]
        t, b = same_pads(x_shape[2], k, s)
        l, r = same_pads(x_shape[3], k, s)
        xin = F.pad(x, (l, r, t, b))
    y = F.conv2d(xin, w, **kw)
    dy = torch.rand(*y.shape, dtype=DT) * 2 - 1
    (y * dy).sum().backward()
    wt = hwio(w)
    dwt = hwio(w.grad)
    if depthwise:  # [KH, KW, 1, C] -> [KH, KW, C]
        wt, dwt = wt[:, :, 0, :], dwt[:, :, 0, :]
    tensors.update({
        name + ".x": nhwc(x), name + ".w": wt, name + ".y": nhwc(y),
        name + ".dy": nhwc(dy), name + ".dx": nhwc(x.grad), name + ".dw": dwt,
    })
    meta[name] = desc


conv_case("grouped", "3x3, padding 1, groups 2", (2, 4, 5, 6), (6, 2, 3, 3), padding=1, groups=2)
conv_case("strided", "3x3, stride 2, padding 1", (1, 3, 9, 8), (4, 3, 3, 3), stride=2, padding=1)
conv_case("depthwise", "depthwise 3x3, stride 2, TF same", (2, 4, 7, 8), (4, 1, 3, 3),
          depthwise=True, tf_same=True, stride=2, groups=4)
conv_case("dilated", "3x3, dilation 2, padding 2", (1, 3, 8, 7), (4, 3, 3, 3), dilation=2, padding=2)
conv_case("stem_same", "stem 3x3, stride 2, TF same on even sizes", (2, 3, 8, 10), (8, 3, 3, 3),
          tf_same=True, stride=2)
conv_case("grouped_same", "3x3, stride 2, groups 2, TF same on odd sizes", (1, 4, 7, 9), (6, 2, 3, 3),
          tf_same=True, stride=2, groups=2)

# Max pool 3x3/2, TF same: padding is -inf, so it never wins.
x = rand(2, 3, 7, 8)
t, b = same_pads(7, 3, 2)
l, r = same_pads(8, 3, 2)
y = F.max_pool2d(F.pad(x, (l, r, t, b), value=float("-inf")), 3, 2)
dy = torch.rand(*y.shape, dtype=DT) * 2 - 1
(y * dy).sum().backward()
tensors.update({"maxpool.x": nhwc(x), "maxpool.y": nhwc(y), "maxpool.dy": nhwc(dy), "maxpool.dx": nhwc(x.grad)})
meta["maxpool"] = "max pool 3x3/2, TF same"

# Average pool 3x3/2: explicit padding 1 with and without the padding in the
# count, and TF same (count of in-bounds cells only).
x = rand(1, 3, 7, 6)
dy = torch.rand(1, 3, 4, 3, dtype=DT) * 2 - 1
tensors.update({"avgpool.x": nhwc(x), "avgpool.dy": nhwc(dy)})
for tag, inc in (("inc", True), ("exc", False)):
    x.grad = None
    y = F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=inc)
    (y * dy).sum().backward()
    tensors.update({"avgpool.y_" + tag: nhwc(y), "avgpool.dx_" + tag: nhwc(x.grad)})
x.grad = None
t, b = same_pads(7, 3, 2)
l, r = same_pads(6, 3, 2)
pads = (l, r, t, b)
sums = F.avg_pool2d(F.pad(x, pads), 3, 2) * 9
counts = F.avg_pool2d(F.pad(torch.ones_like(x), pads), 3, 2) * 9
y = sums / counts
dy_same = torch.rand(*y.shape, dtype=DT) * 2 - 1
(y * dy_same).sum().backward()
tensors.update({"avgpool.dy_same": nhwc(dy_same), "avgpool.y_same": nhwc(y), "avgpool.dx_same": nhwc(x.grad)})
meta["avgpool"] = "avg pool 3x3/2: padding 1 including (inc) and excluding (exc) it, and TF same"

write("nn/testdata/conv_parity.json", meta, tensors)
