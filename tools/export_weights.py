"""Convert a PyTorch checkpoint (any file written by torch.save: torchvision,
timm or effdet weights, a training checkpoint) to a safetensors file that
sortnet reads with layers.ReadSafetensors.

Usage:
    /usr/bin/python3 tools/export_weights.py [--key KEY] [--trust] IN.pth OUT.safetensors

Every tensor of the state dict is written as F32 under the checkpoint's own
name (e.g. "blocks.1.0.conv_dw.weight") in PyTorch's own layout (OIHW conv
weights, [out, in] linear weights): sortnet's model loaders convert layouts
when they load. Integer and bool tensors (BatchNorm's num_batches_tracked)
are converted by value; an integer float32 cannot hold exactly is an error.
Entries that are not tensors (an epoch number, nested dicts) are skipped and
listed on stderr.

Which dict is the state dict:
    --key KEY   the top-level entry KEY (e.g. state_dict_ema, model_ema)
    default     the file's top-level dict if it holds tensors itself, else
                the first of "state_dict", "model", "state_dict_ema",
                "model_ema" that holds a dict (timm and effdet training
                checkpoints keep the weights under "state_dict" and the EMA
                weights under "state_dict_ema")

Safety: the file is loaded with torch.load(weights_only=True), which refuses
arbitrary pickled Python objects. Training checkpoints often also pickle
harmless objects (timm stores its argparse.Namespace under "args"); for
those, --trust loads with the full unpickler, which can run code from the
file: use it only for files you trust. sortnet's Go reader, layers/pth,
reads such files without Python and without running anything.

The safetensors file is written by hand (no `safetensors` package needed):
an 8-byte little-endian header length, a JSON header padded with spaces to
a multiple of 8 bytes, then the tensors back to back in name order. It is
written to a temporary file and renamed into place.
"""
import argparse
import json
import os
import struct
import sys
import tempfile

import torch

KNOWN_KEYS = ("state_dict", "model", "state_dict_ema", "model_ema")


def is_dict(x):
    return isinstance(x, dict)


def pick_state_dict(obj, key):
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not is_dict(obj):
        raise SystemExit("error: the file holds a %s, not a dict" % type(obj).__name__)
    dict_keys = [k for k, v in obj.items() if is_dict(v) or isinstance(v, torch.nn.Module)]
    if key:
        if key not in obj:
            raise SystemExit("error: no key %r in the checkpoint (dict entries: %s)" % (key, dict_keys))
        sd = obj[key]
        if isinstance(sd, torch.nn.Module):
            sd = sd.state_dict()
        if not is_dict(sd):
            raise SystemExit("error: %r holds a %s, not a dict" % (key, type(sd).__name__))
        return sd, key
    if any(torch.is_tensor(v) for v in obj.values()):
        return obj, ""
    for k in KNOWN_KEYS:
        v = obj.get(k)
        if isinstance(v, torch.nn.Module):
            v = v.state_dict()
        if is_dict(v):
            return v, k
    raise SystemExit("error: no tensors at the top level and none of %s; choose one with --key "
                     "(dict entries: %s)" % (list(KNOWN_KEYS), dict_keys))


def to_f32(name, t):
    t = t.detach().cpu()
    if t.is_complex() or t.is_quantized or t.is_sparse:
        raise SystemExit("error: tensor %r: unsupported tensor type %s" % (name, t.dtype))
    f = t.to(torch.float32).contiguous()
    if not t.is_floating_point() and t.dtype != torch.bool:
        # Back to the integer type: equal exactly when float32 held the value.
        back = f.to(t.dtype)
        if not torch.equal(back, t):
            bad = (back != t).nonzero()[0].tolist()
            raise SystemExit("error: tensor %r: value %d at %s cannot be represented exactly as float32"
                             % (name, t[tuple(bad)].item(), bad))
    return f


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name in sorted(tensors):
        b = tensors[name].numpy().astype("<f4", copy=False).tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("input", help="checkpoint written by torch.save (.pth, .pt, .bin)")
    p.add_argument("output", help="safetensors file to write")
    p.add_argument("--key", default="", help="top-level entry that holds the state dict")
    p.add_argument("--trust", action="store_true",
                   help="load with the full unpickler (runs code from the file; trusted files only)")
    a = p.parse_args(argv)

    if a.trust:
        obj = torch.load(a.input, map_location="cpu")
    else:
        try:
            obj = torch.load(a.input, map_location="cpu", weights_only=True)
        except TypeError:  # torch < 1.13 has no weights_only
            raise SystemExit("error: this torch has no weights_only loading; rerun with --trust "
                             "if you trust %s" % a.input)
        except Exception as e:  # pickle.UnpicklingError and friends
            raise SystemExit("error: %s pickles objects other than tensors and plain data (%s);\n"
                             "rerun with --trust if you trust the file" % (a.input, str(e).splitlines()[0]))

    sd, key = pick_state_dict(obj, a.key)
    tensors, skipped = {}, []
    for name, v in sd.items():
        if not isinstance(name, str):
            raise SystemExit("error: state dict key %r is not a string" % (name,))
        if torch.is_tensor(v):
            tensors[name] = to_f32(name, v)
        else:
            skipped.append(name)
    if not tensors:
        raise SystemExit("error: the state dict%s holds no tensors" % (" " + repr(key) if key else ""))
    meta = {"format": "pt", "source": os.path.basename(a.input)}
    if key:
        meta["key"] = key
    write_safetensors(a.output, tensors, meta)
    if skipped:
        print("skipped %d non-tensor entries: %s" % (len(skipped), ", ".join(skipped)), file=sys.stderr)
    print("wrote %s: %d tensors from %s%s" % (a.output, len(tensors), a.input,
                                              " [%s]" % key if key else ""))


if __name__ == "__main__":
    main()
