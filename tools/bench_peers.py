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

Adding a section: write a function section_<name>(args) that returns a list
of Row and register it in SECTIONS.

Requires python3-numpy linked to OpenBLAS (Debian: libopenblas0-pthread);
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


def core_peak_gflops():
    """Peak float32 GFLOP/s of one core: FMA units × lanes × 2 × clock.

    The clock is /proc/cpuinfo's "cpu MHz" (often the base clock: boost can
    exceed it). Two FMA units per core; 16 float32 lanes with AVX-512 on
    Intel, 8 otherwise (AMD Zen 4 runs 512-bit FMAs as two 256-bit halves).
    """
    vendor, flags = cpu_flags()
    mhz = 0.0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    mhz = float(line.split(":", 1)[1])
                    break
    except OSError:
        pass
    lanes = 16 if "avx512f" in flags and vendor == "GenuineIntel" else 8
    if "fma" not in flags:
        return None, mhz, "no FMA"
    return 2 * lanes * 2 * mhz / 1000, mhz, "2 FMA units × %d lanes × 2 flops × %.0f MHz" % (lanes, mhz)


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


def run_go_bench(pattern, packages, threads, benchtime, count):
    """Runs go test -bench and returns {(name, threads): best GFLOP/s}.

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
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit("bench_peers: GOMAXPROCS=%d %s failed:\n%s%s" % (t, " ".join(cmd), res.stdout, res.stderr))
        parse_go_bench(res.stdout, out)
    return out


def parse_go_bench(stdout, out):
    for line in stdout.splitlines():
        m = BENCH_LINE.match(line.strip())
        if not m:
            continue
        name, procs, rest = m.group(1), int(m.group(2) or 1), m.group(5)
        g = re.search(r"([\d.]+) GFLOP/s", rest)
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
    peak, mhz, how = core_peak_gflops()
    print()
    if peak:
        print("# peak per core: %.1f GFLOP/s (%s); %%peak = GFLOP/s / (threads × peak)" % (peak, how))
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


def pct(v, peak, threads):
    return "-" if v is None or not peak else "%.0f%%" % (100 * v / (peak * threads))


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
            p.error("unknown section %q (known: %s)" % (name, ", ".join(SECTIONS)))
    for name in names:
        print("## %s" % name)
        SECTIONS[name](args)
        print()


if __name__ == "__main__":
    main()
