#pragma once
// The fused LSTM layer (raw: no autograd). nn.LSTM's float32 layer
// (python/ember/nn/_fused_lstm.py) runs its recurrence with these and records
// one node around them; see Note [Fused LSTM cell].

#include "ember/tensor.h"

namespace ember {

// One float32 LSTM layer direction without projection, all steps in C++:
// per step one product with the packed W_hh (Note [Packed GEMM]) and the
// fused cell.
struct LstmLayerOutputs {
  Tensor output;  // (T, B, H), in time order
  Tensor hy, cy;  // (B, H): the states after the last step run
  // With `keep`, what the backward needs, in time order: the activated gates
  // i, f, g, o (T, B, 4H), tanh(c) (T, B, H) and c (T, B, H).
  Tensor gates, tanh_c, c;
};

// xw: (T, B, 4H) input projections with both biases; h0, c0: (B, H);
// w_hh: (4H, H). `reverse` runs the steps from T - 1 down to 0.
LstmLayerOutputs lstm_layer_forward(const Tensor& xw, const Tensor& h0, const Tensor& c0,
                                    const Tensor& w_hh, bool reverse, bool keep);

struct LstmLayerGradients {
  Tensor xw, h0, c0, w_hh;
};

// Gradients of lstm_layer_forward's inputs from those of (output, hy, cy),
// any of which may be undefined (zero); `forward` is its result with `keep`.
LstmLayerGradients lstm_layer_backward(const Tensor& grad_output, const Tensor& grad_hy,
                                       const Tensor& grad_cy, const Tensor& h0, const Tensor& c0,
                                       const Tensor& w_hh, const LstmLayerOutputs& forward,
                                       bool reverse);

}  // namespace ember
