#!/usr/bin/env python3
"""Print sortnet's benchmark figures next to its peers', measured in one run.

    /usr/bin/python3 tools/bench_peers.py                  # every section
    /usr/bin/python3 tools/bench_peers.py --sections sgemm --rounds 5

Each section runs sortnet's Go benchmarks (go test -bench) and the same work
in a peer library, on 1 and 2 threads, and prints Go-style benchmark lines
for the peers, then a table of ratios. The machines this runs on are shared
and noisy, so the Go and Python measurements are interleaved over --rounds
rounds of --windows measurements each (a measurement is the mean over a
window of --benchtime or --budget, as go test -bench reports it), and the
best measurement of each benchmark is kept.

Sections:
  sgemm   numpy on OpenBLAS (the SGEMM peer) for the shapes of
          BenchmarkSgemm, beside BenchmarkSgemm/<impl>/<shape> and
          BenchmarkPeers/{gonum,sortnet}_sgemm/1024.
  layers  PyTorch (CPU, channels_last) for the six layers of
          BenchmarkLayers (./bench/), forward and forward+backward, beside
          sortnet's; then the Go peers: gorgonia's Conv2d beside nn.Conv2d
          (BenchmarkPeers in the bench/peers module) and gonum's SGEMM
          beside kernels.Sgemm (BenchmarkPeers in ./bench/).

    /usr/bin/python3 tools/bench_peers.py --sections layers

The layers section runs go test -bench BenchmarkLayers ./bench/ (and the
peers) once per thread count with GOMAXPROCS set, and PyTorch in a child
process per thread count with torch.set_num_threads (and OMP/MKL thread
variables) set to the same count. Both sides count FLOPs the same way:
forward 2·N·OutH·OutW·Cout·K·K·Cin/groups, forward+backward 3× that (input
and weight gradients), 2× for the stem, whose input (the image) needs no
gradient. PyTorch's forward runs under torch.no_grad(); its backward
starts from a given output gradient (y.backward(dy)) and writes a fresh
input gradient (x.grad = None before each step), as BenchmarkLayers does;
its stem pads symmetrically (torchvision's EfficientNet: same
output size and FLOPs as TF "SAME", without a padding copy), its
depthwise layers are symmetric under TF "SAME" anyway.

Adding a section: write a function section_<name>(args) that returns a list
of Row and register it in SECTIONS.

Requires python3-numpy linked to OpenBLAS (Debian: libopenblas0-pthread)
and, for the layers section, python3-torch;
the script says which BLAS numpy loaded. OPENBLAS_CORETYPE is set from the
CPU (SkylakeX with AVX-512, else Zen on AMD and Haswell on Intel) unless it
is set already.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A result: name as in Go benchmark output (without the -N thread suffix),
# thread count, GFLOP/s.
Row = collections.namedtuple("Row", "name threads gflops")

# The shapes of BenchmarkSgemm (nn/kernels/sgemm_test.go):
# name, transA, transB, m, n, k.
SGEMM_SHAPES = [
    ("1024", False, False, 1024, 1024, 1024),
    ("pw_96to24_56", False, False, 25088, 24, 96),
    ("pw_24to144_56", False, False, 25088, 144, 24),
    ("pw_240to40_28", False, False, 6272, 40, 240),
    ("pw_96to24_56_dX", False, True, 25088, 96, 24),
    ("pw_96to24_56_dW", True, False, 96, 24, 25088),
    ("pw_24to144_56_dW", True, False, 24, 144, 25088),
]


def cpu_flags():
    vendor, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id") and not vendor:
                    vendor = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return vendor, flags


# The best peak figures measured so far in this run, by thread count (and
# "avx2" for the AVX2 one-thread figure).
_peak_best = {}


def core_peak_gflops(threads):
    """Float32 peak GFLOP/s per thread count, measured: BenchmarkPeak runs
    independent FMAs on registers on every thread, so it delivers FMA units ×
    lanes × 2 flops × the clock under load (boost included), which
    /proc/cpuinfo's "cpu MHz" (the base clock here) understates. The widest
    implementation's figure counts, and the best of every section's
    measurement in this run: a peak measured while another process holds a
    core understates it (one section here read 88.7 GFLOP/s on one thread
    where the one before read 101.9, and printed 104 % of peak).
    Returns ({threads: GFLOP/s}, how).
    """
    got = run_go_bench("^BenchmarkPeak$", ["./nn/kernels/"], threads, "20x", 3)
    how = []
    for t in threads:
        best = max((v for (name, tt), v in got.items() if tt == t), default=None)
        if best:
            _peak_best[t] = max(best, _peak_best.get(t, 0))
    if ("BenchmarkPeak/avx2", 1) in got:
        _peak_best["avx2"] = max(got[("BenchmarkPeak/avx2", 1)], _peak_best.get("avx2", 0))
    peaks = {t: _peak_best[t] for t in threads if t in _peak_best}
    avx2 = _peak_best.get("avx2")
    if avx2:
        how.append("AVX2 on one thread: %.1f GFLOP/s = 2 FMA units × 8 lanes × 2 flops × %.0f MHz" % (avx2, avx2 / 32 * 1000))
    mhz = cpuinfo_mhz()
    if mhz:
        how.append("/proc/cpuinfo says %.0f MHz" % mhz)
    return peaks, "; ".join(how)


def cpuinfo_mhz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":", 1)[1])
    except OSError:
        pass
    return 0.0


def print_peaks(peaks, how):
    if not peaks:
        return
    print("# measured peak (BenchmarkPeak): %s; %s; %%peak = GFLOP/s / the peak of as many threads" % (
        ", ".join("%d thread%s %.1f GFLOP/s" % (t, "" if t == 1 else "s", v) for t, v in sorted(peaks.items())), how))


def openblas_coretype():
    """OpenBLAS core type for this CPU: SkylakeX kernels need AVX-512F."""
    vendor, flags = cpu_flags()
    if "avx512f" in flags:
        return "SkylakeX"
    if vendor == "AuthenticAMD":
        return "Zen"
    return "Haswell"


def peer_env(threads):
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env.setdefault("OPENBLAS_CORETYPE", openblas_coretype())
    return env


# Runs in a child process, so that the thread count is fixed before numpy
# loads its BLAS. Prints one JSON object.
NUMPY_SGEMM = r"""
import json, sys, time
import numpy as np
shapes = json.loads(sys.argv[1])
budget, windows = float(sys.argv[2]), int(sys.argv[3])
blas = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower() and "/" in l})
rng = np.random.default_rng(1)
out = {"blas": blas, "results": {}}
for name, ta, tb, m, n, k in shapes:
    a = rng.random((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.random((n, k) if tb else (k, n), dtype=np.float32)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(opa, opb, out=c)
    # Like go test -bench: the mean over a window of about budget seconds;
    # the fastest of windows windows.
    best = None
    for w in range(windows):
        reps, t0 = 0, time.perf_counter()
        while True:
            np.matmul(opa, opb, out=c)
            reps += 1
            dt = time.perf_counter() - t0
            if dt >= budget:
                break
        if best is None or dt / reps < best[1]:
            best = [reps, dt / reps]
    out["results"][name] = best
print(json.dumps(out))
"""


def run_numpy_sgemm(threads, budget, windows):
    shapes = json.dumps(SGEMM_SHAPES)
    res = subprocess.run(
        [sys.executable, "-c", NUMPY_SGEMM, shapes, str(budget), str(windows)],
        env=peer_env(threads), capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


BENCH_LINE = re.compile(r"^(Benchmark\S+?)(?:-(\d+))?\s+(\d+)\s+([\d.]+) ns/op(.*)$")


def run_go_bench(pattern, packages, threads, benchtime, count, cwd=ROOT, unit="GFLOP/s"):
    """Runs go test -bench and returns {(name, threads): best figure in unit}.

    The thread count goes in GOMAXPROCS, one go test per count, rather than
    in -cpu: go test runs a b.Loop benchmark's first measurement before it
    applies -cpu's GOMAXPROCS (golang/go#49980), so with -cpu 1,2 the first "1
    thread" figure really uses the previous setting.
    """
    out = {}
    for t in threads:
        cmd = ["go", "test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime,
               "-count", str(count)] + packages
        env = dict(os.environ, GOMAXPROCS=str(t))
        res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit("bench_peers: (in %s) GOMAXPROCS=%d %s failed:\n%s%s" % (
                os.path.relpath(cwd, ROOT), t, " ".join(cmd), res.stdout, res.stderr))
        parse_go_bench(res.stdout, out, unit)
    return out


def parse_go_bench(stdout, out, unit="GFLOP/s"):
    for line in stdout.splitlines():
        m = BENCH_LINE.match(line.strip())
        if not m:
            continue
        name, procs, rest = m.group(1), int(m.group(2) or 1), m.group(5)
        g = re.search(r"([\d.]+) %s(\s|$)" % re.escape(unit), rest)
        if g:
            keep_best(out, (name, procs), float(g.group(1)))


def go_line(name, threads, reps, seconds, flops):
    suffix = "" if threads == 1 else "-%d" % threads
    return "%s%s\t%8d\t%12.0f ns/op\t%10.2f GFLOP/s" % (
        name, suffix, reps, seconds * 1e9, flops / seconds / 1e9)


def keep_best(best, key, value):
    if value > best.get(key, 0.0):
        best[key] = value


def section_sgemm(args):
    """numpy/OpenBLAS next to BenchmarkSgemm and BenchmarkPeers' SGEMM."""
    threads = args.threads
    go_best, np_best, np_lines, blas = {}, {}, {}, None
    shape_re = "|".join(re.escape(s[0]) for s in SGEMM_SHAPES)
    for r in range(args.rounds):
        got = run_go_bench("^BenchmarkSgemm$/.*/^(%s)$" % shape_re, ["./nn/kernels/"], threads, args.benchtime, args.windows)
        got.update(run_go_bench("^BenchmarkPeers$/(gonum|sortnet)_sgemm/1024$", ["./bench/"], threads, args.benchtime, 1))
        for key, v in got.items():
            keep_best(go_best, key, v)
        for t in threads:
            res = run_numpy_sgemm(t, args.budget, args.windows)
            blas = res["blas"]
            for name, ta, tb, m, n, k in SGEMM_SHAPES:
                reps, sec = res["results"][name]
                flops = 2.0 * m * n * k
                key = ("BenchmarkPeers/numpy_sgemm/" + name, t)
                if flops / sec / 1e9 > np_best.get(key, 0.0):
                    np_best[key] = flops / sec / 1e9
                    np_lines[key] = go_line(key[0], t, reps, sec, flops)
        print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)

    print("# numpy %s, BLAS: %s, OPENBLAS_CORETYPE=%s" % (
        numpy_version(), ", ".join(blas or ["?"]), peer_env(1)["OPENBLAS_CORETYPE"]))
    if not any("openblas" in b.lower() for b in blas or []):
        print("# warning: numpy is not using OpenBLAS; install libopenblas0-pthread")
    for key in sorted(np_lines, key=lambda k: (k[0], k[1])):
        print(np_lines[key])
    for (name, t), v in sorted(go_best.items()):
        print("%s%s\t%10.2f GFLOP/s (best of %d×%d)" % (name, "" if t == 1 else "-%d" % t, v, args.rounds, args.windows))

    rows = [Row(name, t, v) for (name, t), v in go_best.items()]
    rows += [Row(name, t, v) for (name, t), v in np_best.items()]
    peak, how = core_peak_gflops(threads)
    print()
    print_peaks(peak, how)
    print("%-26s %3s %8s %6s %8s %6s %7s %7s %7s" % (
        "GFLOP/s", "thr", "sortnet", "%peak", "OpenBLAS", "%peak", "ratio", "gonum", "ratio"))
    impl = best_impl(go_best)
    for name, *_ in SGEMM_SHAPES:
        for t in threads:
            ours = go_best.get(("BenchmarkSgemm/%s/%s" % (impl, name), t))
            peer = np_best.get(("BenchmarkPeers/numpy_sgemm/" + name, t))
            gonum = go_best.get(("BenchmarkPeers/gonum_sgemm/" + name, t)) if name == "1024" else None
            print("%-26s %3d %8s %6s %8s %6s %7s %7s %7s" % (
                "%s (%s)" % (name, impl), t, fmt(ours), pct(ours, peak, t), fmt(peer), pct(peer, peak, t),
                ratio(ours, peer), fmt(gonum), ratio(ours, gonum)))
    return rows


# The layers of BenchmarkLayers (bench/layers_test.go): name, batch, input
# size, in and out channels, kernel, stride, depthwise, stem (no input
# gradient).
LAYERS = [
    ("stem_3x3s2_3to32_224", 8, 224, 3, 32, 3, 2, False, True),
    ("pw_96to24_56", 8, 56, 96, 24, 1, 1, False, False),
    ("pw_144to24_56", 8, 56, 144, 24, 1, 1, False, False),
    ("pw_24to144_56", 8, 56, 24, 144, 1, 1, False, False),
    ("dw3x3_144_56", 8, 56, 144, 144, 3, 1, True, False),
    ("dw5x5_240_28", 8, 28, 240, 240, 5, 1, True, False),
]

# Targets of issue 3: sortnet / PyTorch in the same run.
LAYER_TARGETS = {"stem": 1.0, "pw": 1.0, "dw": 1.5}


def layer_flops(n, size, cin, cout, k, s, dw):
    out = (size + s - 1) // s  # TF "SAME"
    return 2.0 * n * out * out * cout * k * k * (1 if dw else cin)


def layer_bytes(n, size, cin, cout, k, s, dw):
    """Bytes a forward pass must at least move: input, output and weights
    once each (float32)."""
    out = (size + s - 1) // s
    return 4.0 * (n * size * size * cin + n * out * out * cout + k * k * cout * (1 if dw else cin))


# Runs in a child process with the thread count fixed before torch starts
# its pools. Prints one JSON object: version and, per "layer/pass", the
# best [reps, seconds per call] over windows of budget seconds.
TORCH_LAYERS = r"""
import json, sys, time
import torch
import torch.nn.functional as F
layers, threads = json.loads(sys.argv[1]), int(sys.argv[2])
budget, windows = float(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(1)
cl = torch.channels_last
out = {"version": torch.__version__, "threads": torch.get_num_threads(), "results": {}}
for name, n, size, cin, cout, k, s, dw, stem in layers:
    groups = cin if dw else 1
    pad = (k - 1) // 2  # symmetric; the same output size as TF "SAME" here
    o = (size + s - 1) // s
    x = torch.randn(n, cin, size, size).to(memory_format=cl)
    w = torch.randn(cout, cin // groups, k, k).to(memory_format=cl)
    dy = torch.randn(n, cout, o, o).to(memory_format=cl)
    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, stride=s, padding=pad, groups=groups)
    xg = x.clone().requires_grad_(not stem)
    wg = w.clone().requires_grad_(True)
    def fwdbwd():
        F.conv2d(xg, wg, stride=s, padding=pad, groups=groups).backward(dy)
        xg.grad = None
        wg.grad = None
    for pname, fn in (("fwd", fwd), ("fwdbwd", fwdbwd)):
        fn()
        fn()
        best = None
        for _ in range(windows):
            reps, t0 = 0, time.perf_counter()
            while True:
                fn()
                reps += 1
                dt = time.perf_counter() - t0
                if dt >= budget:
                    break
            if best is None or dt / reps < best[1]:
                best = [reps, dt / reps]
        out["results"][name + "/" + pname] = best
print(json.dumps(out))
"""


def run_torch_layers(threads, budget, windows):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    res = subprocess.run(
        [sys.executable, "-c", TORCH_LAYERS, json.dumps(LAYERS), str(threads), str(budget), str(windows)],
        env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit("bench_peers: PyTorch layers (%d threads) failed:\n%s" % (threads, res.stderr))
    return json.loads(res.stdout)


def section_layers(args):
    """PyTorch next to BenchmarkLayers; gorgonia and gonum next to
    BenchmarkPeers."""
    threads = args.threads
    go_best, torch_best, torch_lines, version = {}, {}, {}, "?"
    peers_dir = os.path.join(ROOT, "bench", "peers")
    for r in range(args.rounds):
        got = run_go_bench("^(BenchmarkLayers|BenchmarkPeers)$", ["./bench/"], threads, args.benchtime, args.windows)
        got.update(run_go_bench("^BenchmarkPeers$", ["."], threads, args.benchtime, 1, cwd=peers_dir))
        for key, v in got.items():
            keep_best(go_best, key, v)
        for t in threads:
            res = run_torch_layers(t, args.budget, args.windows)
            version = res["version"]
            if res["threads"] != t:
                sys.exit("bench_peers: torch runs %d threads, asked for %d" % (res["threads"], t))
            for name, n, size, cin, cout, k, s, dw, stem in LAYERS:
                for pname, mult in (("fwd", 1), ("fwdbwd", 2 if stem else 3)):
                    reps, sec = res["results"][name + "/" + pname]
                    flops = mult * layer_flops(n, size, cin, cout, k, s, dw)
                    key = ("BenchmarkPeers/torch_layers/%s/%s" % (name, pname), t)
                    if flops / sec / 1e9 > torch_best.get(key, 0.0):
                        torch_best[key] = flops / sec / 1e9
                        torch_lines[key] = go_line(key[0], t, reps, sec, flops)
        print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)

    print("# PyTorch %s (CPU, channels_last), torch.set_num_threads = GOMAXPROCS" % version)
    for key in sorted(torch_lines, key=lambda k: (k[1], k[0])):
        print(torch_lines[key])
    for (name, t), v in sorted(go_best.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print("%s%s\t%10.2f GFLOP/s (best of %d×%d)" % (name, "" if t == 1 else "-%d" % t, v, args.rounds, args.windows))

    peak, how = core_peak_gflops(threads)
    print()
    print_peaks(peak, how)
    print("%-22s %-7s %3s %8s %6s %8s %6s %7s %7s" % (
        "GFLOP/s", "pass", "thr", "sortnet", "%peak", "PyTorch", "%peak", "ratio", "target"))
    misses = []
    for name, *_ in LAYERS:
        target = LAYER_TARGETS[re.match(r"[a-z]+", name).group(0)]
        for pname in ("fwd", "fwdbwd"):
            for t in threads:
                ours = go_best.get(("BenchmarkLayers/%s/%s" % (name, pname), t))
                peer = torch_best.get(("BenchmarkPeers/torch_layers/%s/%s" % (name, pname), t))
                mark = ""
                if ours is not None and peer:
                    mark = "ok" if ours / peer >= target else "MISS"
                    if mark == "MISS":
                        misses.append("%s/%s/%d" % (name, pname, t))
                print("%-22s %-7s %3d %8s %6s %8s %6s %7s %7s %s" % (
                    name, pname, t, fmt(ours), pct(ours, peak, t), fmt(peer), pct(peer, peak, t),
                    ratio(ours, peer), "%.1fx" % target, mark))
    print("# targets missed: %s" % (", ".join(misses) if misses else "none"))

    # What the memory system allows: a forward pass moves its input, output
    # and weights at least once; BNApply (read 14 MB, write 14 MB per call)
    # streams at about the bandwidth two threads or one can draw.
    stream = run_go_bench("^BenchmarkElementwise$/%s/BNApply$" % best_layer_impl(), ["./nn/kernels/"], threads, "20x", 3, unit="GB/s")
    print()
    print("# forward passes in GB/s of least traffic (input + output + weights once); stream = BenchmarkElementwise BNApply")
    print("%-22s %3s %8s %8s %8s %9s" % ("GB/s", "thr", "sortnet", "PyTorch", "stream", "of stream"))
    for name, n, size, cin, cout, k, s, dw, stem in LAYERS:
        per = layer_bytes(n, size, cin, cout, k, s, dw) / layer_flops(n, size, cin, cout, k, s, dw)
        for t in threads:
            ours = go_best.get(("BenchmarkLayers/%s/fwd" % name, t))
            peer = torch_best.get(("BenchmarkPeers/torch_layers/%s/fwd" % name, t))
            bw = max((v for (nm, tt), v in stream.items() if tt == t), default=None)
            ob, pb = (None if ours is None else ours * per), (None if peer is None else peer * per)
            print("%-22s %3d %8s %8s %8s %9s" % (name, t, fmt(ob), fmt(pb), fmt(bw),
                                                 "-" if ob is None or not bw else "%.0f%%" % (100 * ob / bw)))

    print()
    print("%-36s %3s %8s %8s %7s" % ("GFLOP/s (Go peers)", "thr", "sortnet", "peer", "ratio"))
    for work, peer in (("conv3x3_32to64_56_b8", "gorgonia"), ("conv3x3_32to64_56_b8_fwdbwd", "gorgonia"),
                       ("sgemm/1024", "gonum")):
        for t in threads:
            ours = go_best.get(("BenchmarkPeers/sortnet_" + work, t))
            theirs = go_best.get(("BenchmarkPeers/%s_%s" % (peer, work), t))
            print("%-36s %3d %8s %8s %7s" % ("%s (%s)" % (work, peer), t, fmt(ours), fmt(theirs), ratio(ours, theirs)))

    rows = [Row(name, t, v) for (name, t), v in go_best.items()]
    rows += [Row(name, t, v) for (name, t), v in torch_best.items()]
    return rows


def pct(v, peaks, threads):
    return "-" if v is None or not peaks.get(threads) else "%.0f%%" % (100 * v / peaks[threads])


def best_layer_impl():
    """The implementation the layer benchmarks run: the widest this CPU has
    (or SORTNET_KERNELS)."""
    forced = os.environ.get("SORTNET_KERNELS")
    if forced:
        return forced
    _, flags = cpu_flags()
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "avx512"
    return "avx2" if {"avx2", "fma"} <= flags else "generic"


def best_impl(go_best):
    for impl in ("avx512", "avx2", "generic"):
        if any(name.startswith("BenchmarkSgemm/%s/" % impl) for name, _ in go_best):
            return impl
    return "generic"


def numpy_version():
    try:
        res = subprocess.run([sys.executable, "-c", "import numpy; print(numpy.__version__)"],
                             capture_output=True, text=True, check=True)
        return res.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def fmt(v):
    return "-" if v is None else "%.1f" % v


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else "%.2fx" % (a / b)


SECTIONS = collections.OrderedDict([
    ("sgemm", section_sgemm),
    ("layers", section_layers),
])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help="comma-separated sections to run (default: all: %s)" % ", ".join(SECTIONS))
    p.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of Go and peer measurements (default 3)")
    p.add_argument("--windows", type=int, default=3, help="measurements per benchmark per round (go test -count; default 3)")
    p.add_argument("--benchtime", default="300ms", help="go test -benchtime of one measurement (default 300ms)")
    p.add_argument("--budget", type=float, default=0.3, help="seconds of one peer measurement (default 0.3)")
    args = p.parse_args()
    args.threads = [int(t) for t in args.threads.split(",") if t]
    names = [s for s in args.sections.split(",") if s]
    for name in names:
        if name not in SECTIONS:
            p.error("unknown section %r (known: %s)" % (name, ", ".join(SECTIONS)))
    for name in names:
        print("## %s" % name)
        SECTIONS[name](args)
        print()


if __name__ == "__main__":
    main()
