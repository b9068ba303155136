#pragma once
// Fused kernels of losses that torch computes elementwise and then reduces:
// one pass, no intermediate tensors (ops/nn.cpp records the nodes).

#include "ember/tensor.h"

namespace ember {

// The elementwise loss of binary_cross_entropy_with_logits without weights,
// (1 - y) x + log1p(exp(-|x|)) + max(-x, 0), rounded op by op in x's dtype as
// the composed ops round it. Null unless x and y are contiguous tensors of
// one float dtype and one shape (the caller then composes the ops).
Tensor bce_with_logits_loss_kernel(const Tensor& x, const Tensor& y);

// (sigmoid(x) - y) * g, g of x's shape or one element; null where
// bce_with_logits_loss_kernel would be.
Tensor bce_with_logits_grad_kernel(const Tensor& x, const Tensor& y, const Tensor& g);

}  // namespace ember
