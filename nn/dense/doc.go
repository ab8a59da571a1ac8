// Package dense converts between sortnet's *nn.Tensor and gorgonia's
// *tensor.Dense (gorgonia.org/tensor) without copying, in both directions.
//
// sortnet keeps its own small tensor type (a shape and a contiguous,
// row-major []float32) rather than a general n-d array library. Code that
// already works with gorgonia tensors — data pipelines, other models,
// numerical tools built on gorgonia — can hand them to sortnet and take
// sortnet's results back through ToDense and FromDense, which only wrap the
// same memory in the other type's header.
//
// The package is separate from nn on purpose: it is the only package in
// sortnet that imports gorgonia.org/tensor, so programs that never import
// sortnet/nn/dense never compile or link gorgonia and its dependencies.
//
// # Aliasing
//
// The two tensors share one backing array: a write through either is seen by
// the other, for as long as both are alive. Only the data is shared; shapes
// are copied. Reshaping one side (Dense.Reshape, or nn.Tensor.Reshape, which
// returns a new header anyway) is not reflected in the other's shape, and an
// in-place Dense.Transpose rearranges the values under the nn.Tensor, whose
// shape stays as it was. Convert a copy (nn.Tensor.Clone, or
// Dense.Materialize for a view) when the two sides must not affect each
// other.
//
// Tensors produced by nn ops may use memory from nn's buffer pool. Once such
// a result is released (nn.Var.Release), its buffer can be handed to the next
// op, and a *tensor.Dense made from it by ToDense would see that op's
// output. Convert a Clone of it, or keep it unreleased, while the Dense is in
// use.
//
// # Layouts
//
// nn.Tensor is always dense and row-major. FromDense therefore accepts a
// float32 Dense whose elements are laid out contiguously in row-major order
// (strides of dimensions of size 1 do not matter), including contiguous
// views such as a range of leading rows. Strided or transposed views,
// column-major (Fortran order) tensors, masked tensors and other dtypes are
// refused with an error that says what to do instead; for views that is
// Dense.Materialize, which makes a contiguous row-major copy (Dense.Clone is
// not enough: it keeps the view's strides).
//
// A gorgonia scalar (shape ()) corresponds to an nn.Tensor of rank 0 (shape
// [] with one element), and back; an nn.Tensor of shape [1] becomes a
// gorgonia vector of shape (1).
package dense
