// Package layers holds the building blocks of models: the Module tree with
// its dotted parameter names and state dicts, and the layers built on nn.
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
