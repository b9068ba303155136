#pragma once
// Layer normalization over the trailing `n` elements of each row of a
// contiguous float tensor: statistics and output in one kernel, and the three
// gradients in two passes (rows for the input, columns for weight and bias).

#include "ember/tensor.h"

namespace ember {

struct LayerNormForward {
  Tensor out;   // input's shape
  Tensor mean;  // (rows,), input's dtype
  Tensor rstd;  // (rows,), 1 / sqrt(biased variance + eps)
};
// `x` contiguous; `weight`/`bias` contiguous with n elements, or undefined.
LayerNormForward layer_norm_kernel(const Tensor& x, int64_t n, const Tensor& weight,
                                   const Tensor& bias, double eps);

struct LayerNormGrads {
  Tensor input, weight, bias;  // each only when asked for
};
// `g` and `x` contiguous of one shape; mean/rstd as the forward returned them.
LayerNormGrads layer_norm_backward_kernel(const Tensor& g, const Tensor& x, int64_t n,
                                          const Tensor& mean, const Tensor& rstd,
                                          const Tensor& weight, bool want_input, bool want_weight,
                                          bool want_bias);

}  // namespace ember
