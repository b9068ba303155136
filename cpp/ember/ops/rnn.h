#pragma once
// Fused LSTM cell kernels (raw: no autograd). nn.LSTM's float32 layer
// (python/ember/nn/_fused_lstm.py) runs its recurrence with these and writes
// its own backward around them; see Note [Fused LSTM cell].

#include "ember/tensor.h"

namespace ember {

struct LstmCellOutputs {
  Tensor hy, cy;
  Tensor gates;    // (B, 4H): the activated gates i, f, g, o, kept for the backward
  Tensor tanh_cy;  // (B, H)
};

// gates: (B, 4H) pre-activations (x W_ih^T + b_ih + h W_hh^T + b_hh); cx: (B, H).
LstmCellOutputs lstm_cell_forward(const Tensor& gates, const Tensor& cx);

// Gradients of (pre-activation gates, cx) from those of (hy, cy); either
// incoming gradient may be undefined (zero).
std::pair<Tensor, Tensor> lstm_cell_backward(const Tensor& grad_hy, const Tensor& grad_cy,
                                             const Tensor& gates, const Tensor& tanh_cy,
                                             const Tensor& cx);

}  // namespace ember
