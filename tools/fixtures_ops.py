"""Parity fixtures for the elementwise activations, softmax, nearest
upsampling and weight fans in package nn.

    /usr/bin/python3 tools/fixtures_ops.py   # writes nn/testdata/ops.json
"""
import torch
import torch.nn.functional as F

from fixturelib import nhwc, write

torch.manual_seed(0)
t = {}

# Activations over [-8, 8] with the kinks and a few saturating values. The
# length, 176, is a multiple of the SIMD width so that every element goes
# through PyTorch's vectorised kernels: at x = 3 its vectorised
# hardswish_backward gives 1 but its scalar tail loop 1.5.
x = torch.cat([torch.tensor([-3.0, 0.0, 3.0, 6.0, -20.0, 20.0, -100.0, 100.0,
                             -2.5, -0.5, 0.5, 2.5, 5.9, 6.1, 1e-3]),
               torch.linspace(-8, 8, 161)])
assert x.numel() % 16 == 0
x = x.reshape(1, -1)
g = torch.rand(x.shape) * 2 - 1
t["act.x"], t["act.g"] = x, g
acts = {
    "ReLU": F.relu, "ReLU6": F.relu6, "Sigmoid": torch.sigmoid, "SiLU": F.silu,
    "Tanh": torch.tanh, "HardSigmoid": F.hardsigmoid, "HardSwish": F.hardswish,
    "GELU": F.gelu,
}
for name, f in acts.items():
    xv = x.clone().requires_grad_(True)
    y = f(xv)
    y.backward(g)
    t[f"act.{name}.y"], t[f"act.{name}.gx"] = y, xv.grad

# Softmax and log-softmax over the last axis, with one row of large logits.
logits = torch.randn(4, 7) * 3
logits[3] += 1000
gs = torch.rand(logits.shape) * 2 - 1
t["softmax.x"], t["softmax.g"] = logits, gs
for name, f in {"Softmax": F.softmax, "LogSoftmax": F.log_softmax}.items():
    xv = logits.clone().requires_grad_(True)
    y = f(xv, dim=-1)
    y.backward(gs)
    t[f"softmax.{name}.y"], t[f"softmax.{name}.gx"] = y, xv.grad

# Nearest upsampling, NCHW in PyTorch, stored NHWC.
xu = torch.randn(2, 3, 3, 5, requires_grad=True)  # N C H W
yu = F.interpolate(xu, scale_factor=2, mode="nearest")
gu = torch.rand(yu.shape) * 2 - 1
yu.backward(gu)
t["upsample.x"], t["upsample.g"] = nhwc(xu), nhwc(gu)
t["upsample.y"], t["upsample.gx"] = nhwc(yu), nhwc(xu.grad)

# Fans of PyTorch-layout weights, with the same weight in sortnet's layout.
fans = []
for torch_shape, ours in [
    ([10, 128], [128, 10]),               # Linear [Out, In] -> [In, Out]
    ([32, 1, 3, 3], [3, 3, 32]),          # depthwise -> [KH, KW, C]
    ([64, 16, 3, 3], [3, 3, 16, 64]),     # conv OIHW -> HWIO
    ([24, 4, 1, 1], [1, 1, 4, 24]),       # grouped 1x1 conv, Cin/g = 4
    ([8, 2, 5, 3], [5, 3, 2, 8]),         # non-square kernel
]:
    fi, fo = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(torch_shape))
    fans.append({"torch": torch_shape, "ours": ours, "fan_in": fi, "fan_out": fo})

write("nn/testdata/ops.json", {"torch": torch.__version__, "upsample_factor": 2, "fans": fans}, t)
