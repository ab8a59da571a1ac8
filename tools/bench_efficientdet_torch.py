"""PyTorch side of BenchmarkEfficientDet (bench/efficientdet_test.go): the
same two cases on an equivalent EfficientDet-D0, and by default the Go
benchmark in the same run, side by side with the ratio Go/PyTorch.

    d0_infer_bs1_512   inference, batch 1, 512x512, with post-processing
    d0_train_bs4_512   training step, batch 4, 512x512

What is compared. effdet and timm are not installed here, so the PyTorch
network is assembled from:
  - torchvision's EfficientNet-B0 (features[0..7], stochastic depth off) as
    the backbone, C3/C4/C5 taken after features[3], [5] and [7] — the same
    architecture, padding and batch norm as sortnet's PyTorch-flavoured B0;
  - the BiFPN (3 cells, 64 channels, fast normalized fusion) and the
    class/box heads (3 separable convs, per-level batch norm, 90 classes,
    9 anchors) of tools/fixtures_efficientdet.py, effdet's modules
    reimplemented with torch.nn parts (PyTorch flavour: max-pool padding
    1, no redundant biases), which the Go tests check against on small
    inputs;
  - torchvision.ops.batched_nms for NMS, and effdet's top-k, box decoding,
    anchor matching and loss (new focal loss + Huber) as reimplemented in
    that script.
So both sides run efficientdet_d0 with 90 classes. Inference: eval mode,
torch.no_grad(), network + top 5000 + decode + clip + batched NMS at 0.5 +
100 detections. Training step: train mode, anchor assignment of 5 random
boxes per image, forward, loss, backward, SGD (lr 0.01, momentum 0.9,
weight decay 4e-5). Model and inputs channels_last float32, random values;
one untimed warm-up step, then --steps timed steps (at least
--min-seconds). The Go benchmark runs with -cpu <threads>.

Run:  /usr/bin/python3 tools/bench_efficientdet_torch.py [--threads N] [--torch-only]
"""
import argparse
import os
import re
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torchvision
from torchvision.ops import batched_nms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures_efficientdet as fx  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = 90

CASES = [
    # name, batch, size, train
    ("d0_infer_bs1_512", 1, 512, False),
    ("d0_train_bs4_512", 4, 512, True),
]


class D0(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.backbone = torchvision.models.efficientnet_b0(stochastic_depth_prob=0.0).features[:8]
        self.fpn = fx.BiFpn([40, 112, 320], (size, size), 64, 3, False, "fastattn")
        self.class_net = fx.HeadNet(64, 3, CLASSES, False)
        self.box_net = fx.HeadNet(64, 3, 4, False)

    def forward(self, x):
        feats = []
        for i, m in enumerate(self.backbone):
            x = m(x)
            if i in (3, 5, 7):
                feats.append(x)
        p = self.fpn(feats)
        return self.class_net(p), self.box_net(p)


def flatten(maps, k):
    n = maps[0].shape[0]
    return torch.cat([m.permute(0, 2, 3, 1).reshape(n, -1, k) for m in maps], 1)


def decode(codes, anchors):
    """effdet decode_box_outputs (anchors y1, x1, y2, x2) -> x1, y1, x2, y2."""
    yca, xca = (anchors[:, 0] + anchors[:, 2]) / 2, (anchors[:, 1] + anchors[:, 3]) / 2
    ha, wa = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ty, tx, th, tw = codes.unbind(1)
    w, h = torch.exp(tw) * wa, torch.exp(th) * ha
    yc, xc = ty * ha + yca, tx * wa + xca
    return torch.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], 1)


def post_process(cls, box, anchors, size):
    cls, box = flatten(cls, CLASSES), flatten(box, 4)
    out = []
    for i in range(cls.shape[0]):
        _, idx = torch.topk(cls[i].reshape(-1), 5000)
        a, c = idx // CLASSES, idx % CLASSES
        scores = cls[i].reshape(-1)[idx].sigmoid()
        boxes = decode(box[i][a], anchors[a]).clamp(0, size)
        keep = batched_nms(boxes, scores, c, 0.5)[:100]
        out.append((boxes[keep], scores[keep], c[keep]))
    return out


def assign(anchors, gt_boxes, gt_labels, sizes):
    """effdet's AnchorLabeler for one image; targets split into levels as
    effdet's loss expects (NHWC)."""
    sim = fx.iou_similarity(gt_boxes, anchors)
    m = fx.argmax_match(sim, 0.5)
    cls = torch.where(m >= 0, gt_labels[m.clamp(min=0)], torch.full_like(m, -1))
    box = torch.zeros(len(anchors), 4)
    pos = m >= 0
    box[pos] = fx.encode(gt_boxes[m[pos]], anchors[pos])
    cls_l, box_l, start = [], [], 0
    for h, w in sizes:
        n = h * w * 9
        cls_l.append(cls[start:start + n].reshape(h, w, 9))
        box_l.append(box[start:start + n].reshape(h, w, 36))
        start += n
    return cls_l, box_l, pos.sum().float()


def bench_case(batch, size, train, threads, steps, min_seconds):
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = D0(size).to(memory_format=torch.channels_last)
    anchors = fx.effdet_anchors((size, size))
    sizes = fx.get_feat_sizes((size, size), 7)[3:8]
    x = torch.randn(batch, 3, size, size, generator=g).to(memory_format=torch.channels_last)
    if train:
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=4e-5)
        gts = []
        for _ in range(batch):
            wh = torch.rand(5, 2, generator=g) * 200 + 32
            xy = torch.rand(5, 2, generator=g) * (size - wh)
            gts.append((torch.cat([xy[:, [1, 0]], xy[:, [1, 0]] + wh[:, [1, 0]]], 1), torch.randint(0, CLASSES, (5,), generator=g)))

        def step():
            per = [assign(anchors, b, l, sizes) for b, l in gts]
            cls_t = [torch.stack([p[0][l] for p in per]) for l in range(5)]
            box_t = [torch.stack([p[1][l] for p in per]) for l in range(5)]
            npos = torch.stack([p[2] for p in per])
            cls, box = model(x)
            cls = [c.permute(0, 2, 3, 1) for c in cls]
            box = [b.permute(0, 2, 3, 1) for b in box]
            loss, _, _ = fx.loss_fn(cls, box, cls_t, box_t, npos, CLASSES)
            opt.zero_grad()
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                cls, box = model(x)
                post_process(cls, box, anchors, size)
    step()  # warm-up
    n, start = 0, time.perf_counter()
    while n < steps or time.perf_counter() - start < min_seconds:
        step()
        n += 1
    return batch * n / (time.perf_counter() - start)


def go_bench(threads, steps):
    cmd = ["go", "test", "-run", "^$", "-bench", "EfficientDet", "-benchtime", "%dx" % steps,
           "-timeout", "60m", "-cpu", str(threads), "./bench/"]
    print("running:", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stdout, out.stderr)
        return {}
    res = {}
    for line in out.stdout.splitlines():
        m = re.match(r"BenchmarkEfficientDet/(\S+?)(-\d+)?\s.*?([\d.]+) img/s", line)
        if m:
            res[m.group(1)] = float(m.group(3))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads (default: all CPUs, as Go's GOMAXPROCS)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per case (default 3)")
    ap.add_argument("--min-seconds", type=float, default=2.0, help="time each case at least this long (default 2)")
    ap.add_argument("--torch-only", action="store_true", help="do not run the Go benchmark")
    args = ap.parse_args()

    print("torch %s, torchvision %s, %d CPUs, threads %d" % (torch.__version__, torchvision.__version__, os.cpu_count(), args.threads))
    torch_res = {}
    for name, batch, size, train in CASES:
        ips = bench_case(batch, size, train, args.threads, args.steps, args.min_seconds)
        torch_res[name] = ips
        print("pytorch  %-18s %9.3f img/s" % (name, ips), flush=True)
    go_res = {} if args.torch_only else go_bench(args.threads, args.steps)
    print()
    print("%-18s %12s %12s %8s" % ("case", "sortnet", "pytorch", "ratio"))
    for name, *_ in CASES:
        g, p = go_res.get(name), torch_res[name]
        gs = "%12.3f" % g if g else "%12s" % "-"
        rs = "%7.3fx" % (g / p) if g else "%8s" % "-"
        print("%-18s %s %12.3f %s" % (name, gs, p, rs))


if __name__ == "__main__":
    main()
