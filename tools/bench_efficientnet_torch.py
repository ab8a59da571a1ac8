"""PyTorch side of BenchmarkEfficientNet (bench/efficientnet_test.go): the
same four cases with torchvision's EfficientNets, and by default the Go
benchmark in the same run, side by side with the ratio Go/PyTorch.

    b0_infer_bs1_224   B0 inference, batch 1, 224x224, one thread
    b2_infer_bs8_260   B2 inference, batch 8, 260x260, --threads threads
    b0_train_bs32_96   B0 training step, batch 32, 96x96, --threads threads
    b0_train_bs16_224  B0 training step, batch 16, 224x224, --threads threads
    b2_train_bs16_260  B2 training step, batch 16, 260x260, --threads threads

Inference: eval mode, torch.no_grad(), 1000 classes. Training step:
train mode, forward, cross-entropy, backward, Adam (lr 1e-4), 8 classes.
Models and inputs are channels_last float32 with random values; one
untimed warm-up step, then --steps timed steps (at least --min-seconds).
The Go benchmark runs with -cpu <threads> so that both use as many
threads (its b0_infer_bs1_224 sets one thread itself).

Run:  /usr/bin/python3 tools/bench_efficientnet_torch.py [--threads N] [--torch-only]
"""
import argparse
import os
import re
import subprocess
import time

import torch
import torch.nn.functional as F
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = [
    # name, variant, batch, size, train, threads (None: --threads)
    ("b0_infer_bs1_224", "b0", 1, 224, False, 1),
    ("b2_infer_bs8_260", "b2", 8, 260, False, None),
    ("b0_train_bs32_96", "b0", 32, 96, True, None),
    ("b0_train_bs16_224", "b0", 16, 224, True, None),
    ("b2_train_bs16_260", "b2", 16, 260, True, None),
]


def bench_case(variant, batch, size, train, threads, steps, min_seconds):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    classes = 8 if train else 1000
    model = getattr(torchvision.models, "efficientnet_" + variant)(num_classes=classes)
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, size, size).to(memory_format=torch.channels_last)
    if train:
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        labels = torch.arange(batch) % classes

        def step():
            loss = F.cross_entropy(model(x), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    step()  # warm-up
    n, start = 0, time.perf_counter()
    while n < steps or time.perf_counter() - start < min_seconds:
        step()
        n += 1
    return batch * n / (time.perf_counter() - start)


def go_bench(threads, steps):
    cmd = ["go", "test", "-run", "^$", "-bench", "EfficientNet", "-benchtime", "%dx" % steps,
           "-cpu", str(threads), "./bench/"]
    print("running:", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stdout, out.stderr)
        return {}
    res = {}
    for line in out.stdout.splitlines():
        m = re.match(r"BenchmarkEfficientNet/(\S+?)(-\d+)?\s.*?([\d.]+) img/s", line)
        if m:
            res[m.group(1)] = float(m.group(3))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for the multi-threaded cases (default: all CPUs, as Go's GOMAXPROCS)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per case (default 3)")
    ap.add_argument("--min-seconds", type=float, default=2.0, help="time each case at least this long (default 2)")
    ap.add_argument("--torch-only", action="store_true", help="do not run the Go benchmark")
    args = ap.parse_args()

    print("torch %s, torchvision %s, %d CPUs, threads %d" % (torch.__version__, torchvision.__version__, os.cpu_count(), args.threads))
    torch_res = {}
    for name, variant, batch, size, train, threads in CASES:
        ips = bench_case(variant, batch, size, train, threads or args.threads, args.steps, args.min_seconds)
        torch_res[name] = ips
        print("pytorch  %-18s %9.2f img/s" % (name, ips), flush=True)
    go_res = {} if args.torch_only else go_bench(args.threads, args.steps)
    print()
    print("%-18s %12s %12s %8s" % ("case", "sortnet", "pytorch", "ratio"))
    for name, *_ in CASES:
        g, p = go_res.get(name), torch_res[name]
        gs = "%12.2f" % g if g else "%12s" % "-"
        rs = "%7.2fx" % (g / p) if g else "%8s" % "-"
        print("%-18s %s %12.2f %s" % (name, gs, p, rs))


if __name__ == "__main__":
    main()
