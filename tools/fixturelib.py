"""Shared writer for the JSON parity fixtures under testdata/.

Each fixture script builds small inputs with a fixed seed, runs PyTorch and
calls write(path, meta, tensors). Go tests read the files with
internal/fixture. Run the scripts with Debian's interpreter, which has
python3-torch:  /usr/bin/python3 tools/<script>.py
"""
import json
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nhwc(t):
    """NCHW activation -> NHWC."""
    return t.permute(0, 2, 3, 1).contiguous()


def hwio(w):
    """Conv weight OIHW [Cout, Cin/g, KH, KW] -> HWIO [KH, KW, Cin/g, Cout]."""
    return w.permute(2, 3, 1, 0).contiguous()


def write(rel, meta, tensors):
    """Write tensors (name -> torch.Tensor) and meta (JSON-able dict) to rel,
    a path relative to the repository root."""
    out = {"meta": meta, "tensors": {}}
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous()
        out["tensors"][name] = {"shape": list(t.shape), "data": [float(x) for x in t.reshape(-1).tolist()]}
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", rel, os.path.getsize(path), "bytes")
