// Package layers builds models from nn ops: the Module tree with named
// parameters and buffers, the standard layers (Conv2d, DepthwiseConv2d,
// BatchNorm2d, Linear, SqueezeExcite, Dropout, DropPath, Sequential,
// activations), state dicts, and safetensors files.
//
// A Module lists its own parameters, buffers and children under local
// names (Members); Params, Buffers and StateDict join them into dotted
// paths such as "blocks.1.0.conv_dw.weight", the names timm uses, so
// weights and checkpoints move between sortnet and PyTorch by name.
// SetTraining switches a whole tree between training and evaluation mode.
//
// Layers panic on programmer errors (impossible sizes) with a message that
// names the layer and the sizes; loading state dicts and files returns
// errors.
//
// Weights and checkpoints are safetensors files
// (https://huggingface.co/docs/safetensors), keyed by the dotted names of
// StateDict. ReadSafetensors memory-maps the file on Unix, validates the
// whole header (offsets, sizes, coverage of the buffer, duplicate names) and
// converts F32, F16, BF16, F64 and integer/bool tensors to float32;
// WriteSafetensors writes F32 tensors in sorted name order through a
// temporary file that is synced and renamed, so a crash never leaves a
// half-written file; SaveModule and LoadModule do the same for a whole
// Module, and string metadata (epoch, optimizer settings) travels with the
// tensors.
package layers
