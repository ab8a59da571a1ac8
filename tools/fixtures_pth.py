"""PyTorch checkpoint fixtures for layers/pth (files written by torch.save),
all under layers/pth/testdata/:

  dtypes.pth      zip format (torch >= 1.6 default), pickle protocol 2: an
                  OrderedDict of float32/float16/bfloat16/float64/int64/int32/
                  int16/int8/uint8/bool tensors, a 0-d scalar, an empty
                  tensor, non-contiguous views (transposed, sliced with a
                  storage offset, permuted, expanded with stride 0,
                  channels_last), and three views of one shared storage.
                  "special.*" tensors hold ±Inf/NaN with "special.*.f32",
                  torch's own float32 conversion, beside them (JSON cannot
                  hold them).
  legacy.pth      the same dict with _use_new_zipfile_serialization=False
                  (the pre-1.6 format many published checkpoints use)
  proto4.pth      the same dict, zip format, pickle_protocol=4 (FRAME,
                  MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE)
  nested.pth      a timm-style training checkpoint: {"epoch", "arch",
                  "state_dict", "state_dict_ema", "optimizer" (SGD momentum
                  state: a dict with int keys), "args" (argparse.Namespace),
                  "best_metric" (a numpy float64), "version"}
  params.pth      a state dict saved with keep_vars=True (nn.Parameter:
                  torch._utils._rebuild_parameter)
  inexact.pth     an int64 value (2^24+1) that float32 cannot hold
  expected.json   every finite tensor above as float32 (torch's conversion),
                  named "<file>/<tensor>", plus the expected key lists in
                  meta (tools/fixturelib.py format)

exported.safetensors is made from nested.pth by tools/export_weights.py;
this script runs it at the end.

Regenerate with:  /usr/bin/python3 tools/fixtures_pth.py
"""
import argparse
import collections
import os
import subprocess
import sys

import numpy as np
import torch

from fixturelib import ROOT, write

DIR = os.path.join(ROOT, "layers", "pth", "testdata")


def from_bits16(bits, dtype):
    return torch.tensor(bits, dtype=torch.int32).to(torch.int16).view(dtype)


def dtypes_dict(g):
    d = collections.OrderedDict()
    d["f32"] = torch.randn(2, 3, generator=g)
    # Finite float16 specials: ±0, ±1, max, min normal, subnormals, 1/3.
    d["f16"] = from_bits16([0x0000, 0x8000, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF, 0x0400,
                            0x0001, 0x8001, 0x03FF, 0x0200, 0x3555, 0x4248, 0xC900], torch.float16)
    d["bf16"] = from_bits16([0x0000, 0x8000, 0x3F80, 0xC020, 0x7F7F, 0x0080, 0x0001,
                             0x807F, 0x3EAB, 0x4049], torch.bfloat16).reshape(2, 5)
    d["f64"] = torch.tensor([[0.0, -0.0, 1 / 3, -2 / 3, 1e30, 1e-50],
                             [3.4028235e38, 1.401298464324817e-45, 1 + 2 ** -24,
                              1 + 3 * 2 ** -24, 123.456, -7e-3]], dtype=torch.float64)
    d["i64"] = torch.tensor([0, 1, -1, 1 << 24, -(1 << 24), 1 << 40, -(1 << 62), 12345])
    d["i32"] = torch.tensor([0, 7, -7, (1 << 24) - 1, -(1 << 31), 1 << 30], dtype=torch.int32)
    d["i16"] = torch.tensor([0, -32768, 32767, -1], dtype=torch.int16)
    d["i8"] = torch.tensor([0, -128, 127, -1], dtype=torch.int8)
    d["u8"] = torch.tensor([[0, 1], [128, 255]], dtype=torch.uint8)
    d["bool"] = torch.tensor([True, False, False, True])
    d["bn.num_batches_tracked"] = torch.tensor(12345)  # 0-d int64
    d["scalar"] = torch.tensor(2.5)
    d["empty"] = torch.zeros(0, 3)

    x = torch.randn(3, 4, generator=g)
    d["transposed"] = x.t()                               # stride (1, 4)
    y = torch.randn(4, 6, generator=g)
    d["sliced"] = y[1:3, 2:5]                             # offset 8, stride (6, 1)
    z = torch.randn(2, 3, 4, 5, generator=g).half()
    d["permuted_f16"] = z.permute(0, 2, 3, 1)             # float16, strides (60, 5, 1, 20)
    d["expanded"] = torch.arange(4.0).expand(3, 4)        # stride (0, 1)
    d["channels_last"] = torch.randn(4, 3, 3, 3, generator=g).to(memory_format=torch.channels_last)
    base = torch.randn(10, generator=g)
    d["shared.full"] = base
    d["shared.head"] = base[:4].view(2, 2)
    d["shared.tail"] = base[4:]                           # offset 4
    d["shared.strided"] = base[1::3]                      # offset 1, stride 3

    d["special.f16"] = from_bits16([0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFD55], torch.float16)
    d["special.bf16"] = from_bits16([0x7F80, 0xFF80, 0x7FC0, 0x7F81], torch.bfloat16)
    d["special.f64"] = torch.tensor([1e300, -1e300, float("inf"), float("-inf"), float("nan"),
                                     3.4028236e38], dtype=torch.float64)
    for k in [k for k in d if k.startswith("special.")]:
        d[k + ".f32"] = d[k].to(torch.float32)
    return d


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, bias=False)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean(dim=(2, 3)))


def nested_checkpoint(g):
    torch.manual_seed(3)
    m = Tiny()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        m(torch.randn(2, 3, 5, 5, generator=g)).square().sum().backward()
        opt.step()
    ema = collections.OrderedDict((k, v.detach().clone() * 0.5 if v.is_floating_point() else v.clone())
                                  for k, v in m.state_dict().items())
    ckpt = {
        "epoch": 3,
        "arch": "tiny",
        "state_dict": m.state_dict(),
        "optimizer": opt.state_dict(),
        "args": argparse.Namespace(lr=0.1, model="tiny", amp=False),
        "version": 2,
        "best_metric": np.float64(0.75),
        "state_dict_ema": ema,
    }
    return m, ckpt


def save(obj, name, **kw):
    path = os.path.join(DIR, name)
    torch.save(obj, path, **kw)
    print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")
    return path


def main():
    assert sys.byteorder == "little"
    os.makedirs(DIR, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    d = dtypes_dict(g)
    save(d, "dtypes.pth")
    save(d, "legacy.pth", _use_new_zipfile_serialization=False)
    save(d, "proto4.pth", pickle_protocol=4)
    m, ckpt = nested_checkpoint(g)
    save(ckpt, "nested.pth")
    save(m.state_dict(keep_vars=True), "params.pth")
    save({"n": torch.tensor([1 << 24, (1 << 24) + 1])}, "inexact.pth")

    # Every loadable file must round-trip through torch.load exactly.
    for name in ["dtypes.pth", "legacy.pth", "proto4.pth"]:
        back = torch.load(os.path.join(DIR, name))
        for k, v in d.items():
            assert torch.equal(back[k], v) or k.startswith("special."), (name, k)

    expected = {}
    for k, v in d.items():
        if not k.startswith("special."):
            expected["dtypes/" + k] = v
    for sd in ["state_dict", "state_dict_ema"]:
        for k, v in ckpt[sd].items():
            expected["nested/%s/%s" % (sd, k)] = v
    for k, v in m.state_dict().items():
        expected["params/" + k] = v
    meta = {
        "dtypes_keys": list(d.keys()),
        "nested_keys": list(ckpt["state_dict"].keys()),
        "nested_state_dicts": ["state_dict", "state_dict_ema"],
    }
    write("layers/pth/testdata/expected.json", meta, expected)

    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export_weights.py"),
                    "--trust", "--key", "state_dict_ema", os.path.join(DIR, "nested.pth"),
                    os.path.join(DIR, "exported.safetensors")], check=True)


if __name__ == "__main__":
    main()
