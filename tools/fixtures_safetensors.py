"""Write layers/testdata/torch_dtypes.safetensors: tensors of every dtype
PyTorch 1.13 can make that layers.ReadSafetensors converts, each next to
"<name>.f32", PyTorch's own conversion of it to float32, so the Go test
checks our decoding against torch's bytes and torch's arithmetic.

torch 1.13 has no safetensors module, so the file is built by hand the way
the format specifies: u64 little-endian header length, JSON header padded
with spaces to a multiple of 8, then the tensors back to back.

Run: /usr/bin/python3 tools/fixtures_safetensors.py
"""
import json
import os
import struct
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = "layers/testdata/torch_dtypes.safetensors"

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
    torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
    torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}


def raw(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def from_bits(bits, dtype):
    return torch.tensor(bits, dtype=torch.int32).to(torch.int16).view(dtype)


def main():
    assert sys.byteorder == "little"
    g = torch.Generator().manual_seed(1)
    special16 = [0x0000, 0x8000, 0x3C00, 0xC100, 0x7BFF, 0xFBFF, 0x0400,
                 0x0001, 0x8001, 0x03FF, 0x0200, 0x7C00, 0xFC00, 0x7E00,
                 0x7C01, 0xFD55, 0x3555, 0x4248]
    rnd16 = torch.randint(0, 1 << 16, (94,), generator=g).tolist()
    f16 = from_bits(special16 + rnd16, torch.float16).reshape(4, 2, 14)
    special_bf = [0x0000, 0x8000, 0x3F80, 0xC020, 0x7F7F, 0x0080, 0x0001,
                  0x807F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x3EAB]
    rnd_bf = torch.randint(0, 1 << 16, (51,), generator=g).tolist()
    bf16 = from_bits(special_bf + rnd_bf, torch.bfloat16).reshape(8, 8)
    f64 = torch.cat([
        torch.tensor([0.0, -0.0, 1 / 3, -2 / 3, 1e300, -1e300, 1e-50, 3.4028235e38,
                      3.4028236e38, 1.401298464324817e-45, 7e-46, 1 + 2 ** -24,
                      1 + 3 * 2 ** -24, float("inf"), float("-inf")], dtype=torch.float64),
        torch.randn(17, generator=g, dtype=torch.float64) * 1000,
    ]).reshape(2, 16)
    tensors = {
        "f16": f16,
        "bf16": bf16,
        "f64": f64,
        "f32": torch.randn(3, 5, generator=g),
        "i64": torch.tensor([[0, 1, -1, 1 << 24, -(1 << 24), 1 << 40, -(1 << 62), 12345]]),
        "i32": torch.tensor([0, 7, -7, (1 << 24) - 1, -(1 << 31), 1 << 30], dtype=torch.int32),
        "i16": torch.tensor([0, -32768, 32767, -1], dtype=torch.int16),
        "i8": torch.tensor([0, -128, 127, -1], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]),
        "bn.num_batches_tracked": torch.tensor(12345, dtype=torch.int64),
        "empty_f16": torch.zeros(0, 3, dtype=torch.float16),
    }
    for name in list(tensors):
        tensors[name + ".f32"] = tensors[name].to(torch.float32)

    header, data, off = {"__metadata__": {"format": "pt"}}, b"", 0
    for name in sorted(tensors):
        t = tensors[name]
        b = raw(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        data += b
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-(8 + len(h)) % 8)
    path = os.path.join(ROOT, OUT)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
    print("wrote", OUT, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
