#pragma once
// Float unit-stride convolutions without a column matrix: the forward, the
// input gradient and the weight gradient read shifted rows of the (padded)
// input planes. See Note [Convolution by shifted rows] and Note [Weight
// gradient by shifted rows]. Each runs only where its `applies` says.

#include "ember/kernels/conv.h"

namespace ember {

// Whether conv_weight_grad_shifted_rows serves this geometry on this CPU.
bool shifted_rows_weight_grad_applies(const ConvGeometry& g);

// grad_weight (c_out, c_in / groups, kh, kw) = the adjoint of the convolution
// in its weight; only where shifted_rows_weight_grad_applies(g).
void conv_weight_grad_shifted_rows(const ConvGeometry& g, const float* in, const float* grad_out,
                                   float* grad_weight);

// out = conv(in, weight) (+ bias), as conv_forward_kernel.
bool shifted_rows_forward_applies(const ConvGeometry& g);
void conv_forward_shifted_rows(const ConvGeometry& g, const float* in, const float* weight,
                               const float* bias, float* out);

// grad_in = the adjoint of the convolution in its input, as conv_backward_input_kernel.
bool shifted_rows_input_grad_applies(const ConvGeometry& g);
void conv_input_grad_shifted_rows(const ConvGeometry& g, const float* grad_out, const float* weight,
                                  float* grad_in);

}  // namespace ember
