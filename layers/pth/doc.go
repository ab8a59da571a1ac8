// Package pth reads PyTorch checkpoints (the .pth, .pt and .bin files
// torch.save writes) without Python, so that weights downloaded from
// torchvision, timm or effdet load straight into sortnet.
//
// Read returns a checkpoint's state dict as float32 tensors under their
// PyTorch names and in PyTorch's layouts (conv weights [out, in, kh, kw],
// linear weights [out, in]); the model loaders rename and convert them.
//
//	sd, err := pth.Read("tf_efficientnet_b2.pth")
//	// sd["conv_stem.weight"].Shape() == [32 3 3 3]
//
// Both of torch.save's formats are read: the zip archive that torch 1.6 and
// newer write, and the older pickle format that many published checkpoints
// still use. Every storage type torch.save writes for a state dict is
// converted (float32, float16, bfloat16, float64, int64, int32, int16,
// int8, uint8, bool; integers exactly or not at all), and every tensor is
// copied out contiguous whatever its strides, storage offset or sharing of
// storages in the file.
//
// A training checkpoint keeps its state dict under a key, next to other
// things ({"state_dict": ..., "state_dict_ema": ..., "optimizer": ...,
// "epoch": 3}). Read finds it by itself under "state_dict", "model",
// "state_dict_ema" or "model_ema"; ReadWith and ReadOpts.Key choose
// another one, and StateDicts lists them. Non-tensor entries of the state
// dict (numbers, strings, nested containers) are skipped; any other pickled
// object there is an error, so no weight is dropped silently.
//
// To keep weights as a safetensors file, write what Read returns with
// layers.WriteSafetensors, or convert with Python:
// tools/export_weights.py.
//
// # Security
//
// A pickle is a program: Python's unpickler imports and calls whatever
// globals a file names, which is why torch.load of an untrusted file can
// run arbitrary code. This package never runs anything from the file. It
// has its own small pickle machine (protocols 2 to 5, the ones torch.save
// writes) that builds plain Go values. Globals resolve against an
// allowlist, and only these are ever given meaning:
//
//	collections.OrderedDict, builtins.dict        dicts
//	torch.FloatStorage, torch.HalfStorage, ...    storage types (10 of them)
//	torch._utils._rebuild_tensor_v2, _rebuild_tensor,
//	_rebuild_parameter, _rebuild_parameter_with_state,
//	torch._tensor._rebuild_from_type(_v2)          tensors and parameters
//	torch.Size, torch.Tensor,
//	torch.nn.parameter.Parameter                  their arguments
//
// Any other global (timm stores an argparse.Namespace in its checkpoints,
// numpy scalars are common) is never imported or called: it becomes an
// inert placeholder, which is fine next to the state dict and an error
// inside it or in place of it. Every length in the file is checked against
// the bytes that remain before anything is allocated, zip records are
// checked against their sizes and CRCs, tensor views against their
// storages, and the elements all returned tensors hold together are
// bounded by the file's storage bytes plus 2^20 (an expanded or
// self-overlapping view cannot make a small file ask for gigabytes), so
// the memory a file can make the reader use is a fixed multiple of its
// size (of its unpacked size, for the deflated records torch never
// writes). Parse and the pickle machine are fuzz-tested (FuzzRead,
// FuzzUnpickle).
//
// # Why not gopickle
//
// github.com/nlpodyssey/gopickle v0.2.0 was evaluated first. It reads the
// zip and the legacy (non-tar) formats, every storage type and shared
// storages, but it panics on malformed input (opcode 0xff indexes past its
// dispatch table; bytes as a dict key panic as an unhashable map key;
// BINBYTES8 and FRAME lengths are allocated before they are checked; the
// tar format and legacy storage views call panic), converts float16 -0 and
// every float16 subnormal to wrong values (-0 becomes -3.05e-05), allocates
// whatever storage size the pickle claims, reads zip records with a bare
// Read that may return short, silently pushes None for a missing memo
// entry, and loads only from a file name, which leaves nothing to fuzz in
// memory. This package keeps the subset torch.save needs and is checked
// against torch 1.13's own files (tools/fixtures_pth.py).
package pth
