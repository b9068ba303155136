#pragma once
// Convolution and 2-d pooling ops (ops/conv.cpp), each recorded as torch's
// node. Kept beside ops.h so the families merge independently.

#include <optional>
#include <utility>
#include <vector>

#include "ember/ops.h"

namespace ember {

// Per spatial dim (1 or 2 entries; a single entry is repeated, as in torch).
struct ConvParams {
  std::vector<int64_t> stride{1}, padding{0}, dilation{1};
  int64_t groups = 1;
};

// torch.convolution (not transposed): input (N, C, [H,] W), weight
// (C_out, C / groups, [kh,] kw), bias (C_out) or null. Node ConvolutionBackward0.
Tensor convolution(const Tensor& input, const Tensor& weight, const Tensor& bias,
                   const ConvParams& params);
// The adjoints of convolution in its input and in its weight (the gradient
// formulas, differentiable themselves: node ConvolutionBackwardBackward0).
Tensor convolution_backward_input(const Tensor& grad, const Tensor& weight,
                                  const Shape& input_shape, const ConvParams& params);
Tensor convolution_backward_weight(const Tensor& input, const Tensor& grad,
                                   const Shape& weight_shape, const ConvParams& params);

// 2-d pooling over the last two dims of a 3-d or 4-d input.
struct PoolParams {
  std::vector<int64_t> kernel, stride, padding{0}, dilation{1};  // stride empty: = kernel
  bool ceil_mode = false;
  bool count_include_pad = true;            // avg_pool2d
  std::optional<int64_t> divisor_override;  // avg_pool2d
};

// (values, indices); node MaxPool2DWithIndicesBackward0.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const PoolParams& params);
Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape);
// Node AvgPool2DBackward0.
Tensor avg_pool2d(const Tensor& input, const PoolParams& params);
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, const PoolParams& params);
// Node AdaptiveAvgPool2DBackward0.
Tensor adaptive_avg_pool2d(const Tensor& input, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad, const Shape& input_shape);

}  // namespace ember
