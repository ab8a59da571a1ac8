"""Parity fixtures for package efficientnet.

efficientnet/testdata/torchvision_tiny.safetensors
    A scaled-down EfficientNet built with torchvision's own EfficientNet
    class (width 0.1, depth 0.5, 5 classes, no dropout, no stochastic
    depth), random weights with random batch-norm statistics, and:
      sd.<torchvision name>   its state dict in PyTorch layout, weights and
                              statistics rounded to float16 (the model runs
                              with exactly these values), num_batches_tracked
                              as int64 — the file a user would have;
      x                       input, NHWC [2, 40, 40, 3];
      eval.logits             eval-mode logits;
      eval.feat.<i>           eval-mode outputs of features[1], [2], [3],
                              [5], [7] (the stride 2, 4, 8, 16, 32 maps,
                              timm's blocks.0/1/2/4/6) and eval.head, the
                              output of the head conv (features[8]), NHWC;
      train.labels, train.logits, train.loss
                              one training step: train-mode forward,
                              cross-entropy (mean), backward;
      train.grad.<timm name>  gradients of a few parameters, sortnet layout;
      train.bn1.running_mean, train.bn1.running_var
                              the stem batch norm's statistics after the
                              train-mode forward (momentum 0.1).

efficientnet/testdata/tf_block.safetensors
    Two TensorFlow-padded MBConv blocks (timm's InvertedResidual with
    pad_type 'same', bn eps 1e-3) written out in torch with explicit
    asymmetric F.pad before the depthwise conv: k5 and k3, stride 2, in 8,
    expansion 6, SE 0.25 of the input (2 channels), out 16, on a 9x10 input
    (asymmetric padding along W). For each block <k>: k<k>.sd.<timm name>
    (PyTorch layout), k<k>.x, k<k>.y (eval mode), k<k>.dy and the gradients
    k<k>.dx and k<k>.grad.conv_dw.weight of sum(y*dy) (sortnet layouts).

efficientnet/testdata/torchvision_names.txt
    Every state-dict entry of torchvision's efficientnet_b0 and
    efficientnet_b1 (1000 classes; B1 has two ds blocks in stage 0) as "<variant> <name> <dim>…", to check
    the name mapping and layouts over full-size models without storing
    their weights.

Everything is computed in float64 and stored as float32 (the weights as
float16). torch 1.13 has no safetensors module, so the files are written by
hand as the format specifies.

Run: /usr/bin/python3 tools/fixtures_efficientnet.py
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import efficientnet as tv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}


def write_safetensors(rel, tensors, meta):
    header, chunks, off = {"__metadata__": meta}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in chunks:
            f.write(b)
    print("wrote", rel, os.path.getsize(path), "bytes")


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().float()


def to_sortnet(w):
    """PyTorch layout -> sortnet layout (conv HWIO, depthwise [KH,KW,C], linear [In,Out])."""
    w = w.detach()
    if w.dim() == 4 and w.shape[1] == 1 and w.shape[2] > 1:  # depthwise (no 1-input-channel convs here)
        return w[:, 0].permute(1, 2, 0).contiguous().float()
    if w.dim() == 4:
        return w.permute(2, 3, 1, 0).contiguous().float()
    if w.dim() == 2:
        return w.t().contiguous().float()
    return w.contiguous().float()


def randomise(model, g):
    """Random weights (kaiming-like scale) and BN statistics, rounded to
    float16 so that the stored file holds exactly the values used."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        for t in list(model.parameters()) + [b for n, b in model.named_buffers() if "num_batches" not in n]:
            t.copy_(t.half().double())


def torchvision_tiny():
    g = torch.Generator().manual_seed(1)
    setting, last = tv._efficientnet_conf("efficientnet_b0", width_mult=0.1, depth_mult=0.5)
    model = tv.EfficientNet(setting, dropout=0.0, stochastic_depth_prob=0.0, num_classes=5, last_channel=last)
    model = model.double()
    randomise(model, g)
    out = {}
    for name, t in model.state_dict().items():
        out["sd." + name] = t if t.dtype == torch.int64 else t.half()

    x = torch.randn(2, 3, 40, 40, generator=g, dtype=torch.float64)
    out["x"] = nhwc(x)

    model.eval()
    with torch.no_grad():
        h = x
        feats = []
        for i, f in enumerate(model.features):
            h = f(h)
            if i in (1, 2, 3, 5, 7):
                feats.append(h)
        out["eval.head"] = nhwc(h)
        logits = model.classifier(torch.flatten(model.avgpool(h), 1))
        assert torch.allclose(logits, model(x))
    for i, f in enumerate(feats):
        out["eval.feat.%d" % i] = nhwc(f)
    out["eval.logits"] = logits.float()

    model.train()
    labels = torch.tensor([3, 1])
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out["train.labels"] = labels.float()
    out["train.logits"] = logits.detach().float()
    out["train.loss"] = loss.detach().reshape(1).float()
    grads = {
        "conv_stem.weight": "features.0.0.weight",
        "bn1.weight": "features.0.1.weight",
        "blocks.0.0.conv_dw.weight": "features.1.0.block.0.0.weight",
        "blocks.0.0.se.conv_reduce.weight": "features.1.0.block.1.fc1.weight",
        "blocks.0.0.se.conv_expand.bias": "features.1.0.block.1.fc2.bias",
        "blocks.3.1.conv_pw.weight": "features.4.1.block.0.0.weight",
        "blocks.3.1.bn2.weight": "features.4.1.block.1.1.weight",
        "blocks.3.1.conv_pwl.weight": "features.4.1.block.3.0.weight",
        "blocks.5.0.conv_dw.weight": "features.6.0.block.1.0.weight",
        "bn2.bias": "features.8.1.bias",
        "conv_head.weight": "features.8.0.weight",
        "classifier.weight": "classifier.1.weight",
        "classifier.bias": "classifier.1.bias",
    }
    params = dict(model.named_parameters())
    for timm, name in grads.items():
        out["train.grad." + timm] = to_sortnet(params[name].grad)
    bn = model.features[0][1]
    out["train.bn1.running_mean"] = bn.running_mean.float()
    out["train.bn1.running_var"] = bn.running_var.float()
    for k, v in out.items():
        if v.dtype == torch.float64:
            out[k] = v.float()
    write_safetensors("efficientnet/testdata/torchvision_tiny.safetensors", out,
                      {"width": "0.1", "depth": "0.5", "num_classes": "5", "torchvision": "0.14"})
    # The same weights as a training checkpoint written by torch.save, for
    # the .pth loading path (state dict nested under "state_dict", float16).
    sd = {k[3:]: v for k, v in out.items() if k.startswith("sd.")}
    torch.save({"epoch": 3, "state_dict": sd}, os.path.join(ROOT, "efficientnet/testdata/torchvision_tiny.pth"))
    print("wrote efficientnet/testdata/torchvision_tiny.pth")


def same_pads(n, k, s):
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class TFBlock(nn.Module):
    """timm InvertedResidual with TF 'same' padding, written out."""

    def __init__(self, cin, cout, k, stride, exp, se):
        super().__init__()
        mid = cin * exp
        rd = round(cin * se)
        self.k, self.stride = k, stride
        self.conv_pw = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid, eps=1e-3)
        self.conv_dw = nn.Conv2d(mid, mid, k, stride, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid, eps=1e-3)
        self.se = nn.Module()
        self.se.conv_reduce = nn.Conv2d(mid, rd, 1)
        self.se.conv_expand = nn.Conv2d(rd, mid, 1)
        self.conv_pwl = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x):
        x = F.silu(self.bn1(self.conv_pw(x)))
        t, b = same_pads(x.shape[2], self.k, self.stride)
        l, r = same_pads(x.shape[3], self.k, self.stride)
        x = F.pad(x, (l, r, t, b))
        x = F.silu(self.bn2(self.conv_dw(x)))
        s = x.mean((2, 3), keepdim=True)
        s = self.se.conv_expand(F.silu(self.se.conv_reduce(s)))
        x = x * torch.sigmoid(s)
        return self.bn3(self.conv_pwl(x))


def tf_block():
    g = torch.Generator().manual_seed(2)
    out = {}
    for k in (5, 3):
        blk = TFBlock(8, 16, k, 2, 6, 0.25).double()
        randomise(blk, g)
        blk.eval()
        p = "k%d." % k
        for name, t in blk.state_dict().items():
            if "num_batches" not in name:
                out[p + "sd." + name] = t.float()
        x = torch.randn(2, 8, 9, 10, generator=g, dtype=torch.float64, requires_grad=True)
        y = blk(x)
        dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
        (y * dy).sum().backward()
        out[p + "x"] = nhwc(x)
        out[p + "y"] = nhwc(y)
        out[p + "dy"] = nhwc(dy)
        out[p + "dx"] = nhwc(x.grad)
        out[p + "grad.conv_dw.weight"] = to_sortnet(blk.conv_dw.weight.grad)
    write_safetensors("efficientnet/testdata/tf_block.safetensors", out, {"pad": "tf-same"})


def torchvision_names():
    import torchvision
    lines = []
    for v in ("b0", "b1"):
        model = getattr(torchvision.models, "efficientnet_" + v)()
        for name, t in model.state_dict().items():
            lines.append(" ".join([v, name] + [str(d) for d in t.shape]))
    rel = "efficientnet/testdata/torchvision_names.txt"
    with open(os.path.join(ROOT, rel), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", rel, len(lines), "entries")


if __name__ == "__main__":
    assert sys.byteorder == "little"
    torchvision_tiny()
    tf_block()
    torchvision_names()
