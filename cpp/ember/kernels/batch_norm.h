#pragma once
// Batch normalization over dim 1 (channels) of a contiguous (N, C, *) float
// tensor: per-channel statistics, the normalized output, and the gradients.
// Each kernel walks the tensor as N blocks of C rows of S = prod(*) elements.

#include "ember/tensor.h"

namespace ember {

// Per-channel biased mean and variance of x, each a (C,) tensor of x's dtype.
void batch_norm_stats_kernel(const Tensor& x, Tensor* mean, Tensor* var);

// out = (x - mean[c]) * invstd[c] * weight[c] + bias[c]; weight/bias may be undefined.
Tensor batch_norm_apply_kernel(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                               const Tensor& weight, const Tensor& bias);

// Per-channel sums of g and of g * (x - mean[c]) * invstd[c].
void batch_norm_grad_sums_kernel(const Tensor& g, const Tensor& x, const Tensor& mean,
                                 const Tensor& invstd, Tensor* sum_g, Tensor* sum_g_xhat);

// dx = scale[c] * (g - shift_g[c] - xhat * shift_xhat[c]), xhat = (x - mean[c]) * invstd[c]:
// training mode passes the mean of g and of g * xhat, eval mode zeros.
Tensor batch_norm_input_grad_kernel(const Tensor& g, const Tensor& x, const Tensor& mean,
                                    const Tensor& invstd, const Tensor& scale,
                                    const Tensor& shift_g, const Tensor& shift_xhat);

}  // namespace ember
