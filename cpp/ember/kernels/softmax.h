#pragma once
// Softmax and log-softmax over the innermost dim of contiguous float tensors,
// row by row: each row is read from memory once and then worked on in cache,
// instead of five whole-tensor passes (max, subtract, exp, sum, divide).
// Rows are independent and run in parallel when there are enough of them.

#include "ember/tensor.h"

namespace ember {

// out = softmax(in) or log_softmax(in) along the last dim. `in` is contiguous
// float32/float64 with at least one dim; `out` a fresh tensor of its shape.
void softmax_lastdim_kernel(const Tensor& in, const Tensor& out, bool log);

// Gradient of the input given the output gradient `grad` and the forward
// result `out` (both contiguous, out's shape): softmax: out * (grad - sum(grad
// * out)); log-softmax: grad - exp(out) * sum(grad), sums along the last dim.
Tensor softmax_backward_lastdim_kernel(const Tensor& grad, const Tensor& out, bool log);

}  // namespace ember
