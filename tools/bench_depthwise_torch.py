#!/usr/bin/python3
"""PyTorch CPU figures for the depthwise layers of BenchmarkDepthwise.

Prints GFLOP/s for the same shapes, FLOP counting and passes as
nn/kernels' BenchmarkDepthwise and bench's BenchmarkLayers:

    forward FLOPs = 2 * N * OutH * OutW * C * K * K
    fwd+bwd       = 3 x forward (input and weight gradients)

Tensors are channels_last (NHWC in memory, like sortnet), padding is
TensorFlow "SAME" (asymmetric for stride 2, applied with F.pad as timm's
Conv2dSame does), the forward pass runs under torch.no_grad(), and each
figure is measured with 1 and with 2 threads. CPU time of the process is
reported next to wall time: on a shared machine it shows what the core
delivered while it ran.

    /usr/bin/python3 tools/bench_depthwise_torch.py [--min-time 1.0]

The section function depthwise_section() is what a combined peers script
(tools/bench_peers.py) can call.
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F

# name, batch, size, channels, kernel, stride: the cases of BenchmarkDepthwise.
CASES = [
    ("dw3x3_144_56", 8, 56, 144, 3, 1),
    ("dw5x5_240_28", 8, 28, 240, 5, 1),
    ("dw3x3s2_144_56", 8, 56, 144, 3, 2),
    ("dw5x5s2_240_28", 8, 28, 240, 5, 2),
]


def same_pad(size, k, s):
    out = (size + s - 1) // s
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def timed(fn, min_time):
    """Runs fn until min_time seconds have passed; returns seconds per call
    (wall) and CPU seconds per call."""
    fn()
    fn()
    n, wall, cpu = 0, 0.0, 0.0
    while wall < min_time:
        reps = max(1, n)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            fn()
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        n += reps
    return wall / n, cpu / n


def depthwise_section(threads=(1, 2), min_time=1.0, out=print):
    """Measures every case under each thread count and prints one line per
    figure; returns a list of (name, pass, threads, GFLOP/s wall, GFLOP/s
    per CPU-second)."""
    rows = []
    for t in threads:
        torch.set_num_threads(t)
        for name, n, size, c, k, s in CASES:
            o, before, after = same_pad(size, k, s)
            flops = 2.0 * n * o * o * c * k * k
            x = torch.randn(n, c, size, size).to(memory_format=torch.channels_last)
            w = torch.randn(c, 1, k, k)
            pad = (before, after, before, after)

            def fwd():
                with torch.no_grad():
                    F.conv2d(F.pad(x, pad), w, stride=s, groups=c)

            xg = x.clone().requires_grad_(True)
            wg = w.clone().requires_grad_(True)

            def fwdbwd():
                y = F.conv2d(F.pad(xg, pad), wg, stride=s, groups=c)
                y.backward(torch.ones_like(y))
                xg.grad = None
                wg.grad = None

            for pname, fn, mult in (("fwd", fwd, 1), ("fwdbwd", fwdbwd, 3)):
                wall, cpu = timed(fn, min_time)
                g_wall = mult * flops / wall / 1e9
                g_cpu = mult * flops / (cpu / t) / 1e9 if cpu > 0 else math.nan
                rows.append((name, pname, t, g_wall, g_cpu))
                out(f"torch1.13/{name}/{pname}/threads={t}\t{wall * 1e3:9.3f} ms\t"
                    f"{g_wall:7.2f} GFLOP/s\t({g_cpu:.2f} per CPU-second and thread)")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per figure")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.backends.mkldnn.is_available() and 'mkldnn' or 'no mkldnn'}")
    depthwise_section(tuple(args.threads), args.min_time)


if __name__ == "__main__":
    main()
