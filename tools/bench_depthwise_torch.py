#!/usr/bin/python3
"""PyTorch CPU figures for the depthwise layers of BenchmarkDepthwise.

Prints GFLOP/s for the same shapes, FLOP counting and passes as
nn/kernels' BenchmarkDepthwise and bench's BenchmarkLayers:

    forward FLOPs = 2 * N * OutH * OutW * C * K * K
    fwd+bwd       = 3 x forward (input and weight gradients)

Tensors are channels_last (NHWC in memory, like sortnet), padding is
TensorFlow "SAME" (asymmetric for stride 2, applied with F.pad as timm's
Conv2dSame does), the forward pass runs under torch.no_grad(), and each
figure is measured with 1 and with 2 threads. GFLOP/cpu-s divides by the
CPU time of the process (all threads) instead of wall time: the rate per
core, which on a shared machine is not inflated by waiting for other
processes (BenchmarkDepthwise reports the same metric).

    /usr/bin/python3 tools/bench_depthwise_torch.py [--min-time 1.0] [--go]

With --go it also runs sortnet's BenchmarkDepthwise (go test -bench, with
GOMAXPROCS matching the thread counts) right after, in the same run, and
prints both side by side with the ratio sortnet/PyTorch.

The section function depthwise_section() is what a combined peers script
(tools/bench_peers.py) can call.
"""
import argparse
import math
import os
import re
import subprocess
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

            def conv(inp, wt):
                # Symmetric SAME padding goes to the convolution itself;
                # asymmetric needs an explicit F.pad (timm's Conv2dSame).
                if before == after:
                    return F.conv2d(inp, wt, stride=s, padding=before, groups=c)
                return F.conv2d(F.pad(inp, (before, after, before, after)), wt, stride=s, groups=c)

            def fwd():
                with torch.no_grad():
                    conv(x, w)

            xg = x.clone().requires_grad_(True)
            wg = w.clone().requires_grad_(True)
            up = torch.ones(n, c, o, o).to(memory_format=torch.channels_last)

            def fwdbwd():
                y = conv(xg, wg)
                y.backward(up)
                xg.grad = None
                wg.grad = None

            for pname, fn, mult in (("fwd", fwd, 1), ("fwdbwd", fwdbwd, 3)):
                wall, cpu = timed(fn, min_time)
                g_wall = mult * flops / wall / 1e9
                g_cpu = mult * flops / cpu / 1e9 if cpu > 0 else math.nan
                rows.append((name, pname, t, g_wall, g_cpu))
                out(f"torch1.13/{name}/{pname}/threads={t}\t{wall * 1e3:9.3f} ms\t"
                    f"{g_wall:7.2f} GFLOP/s\t{g_cpu:7.2f} GFLOP/cpu-s")
    return rows


def go_section(threads, min_time, out=print):
    """Runs sortnet's BenchmarkDepthwise (fwd and fwdbwd, the fastest
    implementation) with GOMAXPROCS set to each thread count; returns the
    implementation and {(name, pass, threads): (GFLOP/s, GFLOP/cpu-s)}."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from_go = {}
    def run(impls, t):
        # The worker pool takes its size from GOMAXPROCS when the process
        # starts (go test's -cpu flag does not reach sub-benchmarks).
        cmd = ["go", "test", "-run", "^$", "-bench", f"BenchmarkDepthwise/({impls})/[^/]+/(fwd|fwdbwd)$",
               f"-benchtime={min_time}s", "./nn/kernels/"]
        env = dict(os.environ, GOMAXPROCS=str(t))
        return subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env)

    stdout = ""
    for t in threads:
        res = run("avx512|avx2", t)  # the SIMD implementations this machine runs, fastest first
        if res.returncode == 0 and "BenchmarkDepthwise/" not in res.stdout:
            res = run("generic", t)
        if res.returncode != 0:
            out(res.stdout + res.stderr)
            raise SystemExit("go test failed")
        stdout += res.stdout
    line_re = re.compile(r"^BenchmarkDepthwise/(\w+)/(\w+)/(fwd|fwdbwd)(?:-(\d+))?\s")
    metric_re = re.compile(r"([\d.]+) (GFLOP/s|GFLOP/cpu-s)")
    best_impl = None
    for line in stdout.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        impl, name, pname, t = m.group(1), m.group(2), m.group(3), int(m.group(4) or 1)
        metrics = {unit: float(v) for v, unit in metric_re.findall(line)}
        out(line)
        if best_impl is None:
            best_impl = impl  # Available() lists the fastest first
        if impl == best_impl:
            from_go[(name, pname, t)] = (metrics.get("GFLOP/s", math.nan), metrics.get("GFLOP/cpu-s", math.nan))
    return best_impl, from_go


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per figure")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--go", action="store_true", help="also run sortnet's BenchmarkDepthwise and compare")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.backends.mkldnn.is_available() and 'mkldnn' or 'no mkldnn'}")
    rows = depthwise_section(tuple(args.threads), args.min_time)
    if not args.go:
        return
    impl, ours = go_section(args.threads, args.min_time)
    print(f"\nsortnet {impl} vs PyTorch {torch.__version__}, same run: GFLOP/s per wall second | per CPU second")
    print(f"{'layer':<16} {'pass':<7} {'thr':>3} {'sortnet':>8} {'torch':>8} {'ratio':>6} | "
          f"{'sortnet':>8} {'torch':>8} {'ratio':>6}")
    for name, pname, t, g_wall, g_cpu in rows:
        g = ours.get((name, pname, t))
        if g is None:
            continue
        print(f"{name:<16} {pname:<7} {t:>3} {g[0]:8.2f} {g_wall:8.2f} {g[0] / g_wall:6.2f} | "
              f"{g[1]:8.2f} {g_cpu:8.2f} {g[1] / g_cpu:6.2f}")


if __name__ == "__main__":
    main()
