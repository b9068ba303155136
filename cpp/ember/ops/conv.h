#pragma once
// Convolution (ops/conv.cpp), 2-d pooling (ops/pooling.cpp) and fold/unfold
// (ops/sliding_windows.cpp), each recorded as torch's node. Kept beside ops.h
// so the families merge independently.

#include <optional>
#include <utility>
#include <vector>

#include "ember/ops.h"

namespace ember {

// Per spatial dim (1 or 2 entries; a single entry is repeated, as in torch).
struct ConvParams {
  std::vector<int64_t> stride{1}, padding{0}, dilation{1};
  int64_t groups = 1;
  // A transposed convolution is the adjoint of the convolution with the same
  // parameters, in its input; output_padding widens its output at the end.
  bool transposed = false;
  std::vector<int64_t> output_padding{0};
};

// torch.convolution: input (N, C, [H,] W); weight (C_out, C / groups, [kh,] kw),
// or (C, C_out / groups, [kh,] kw) when transposed; bias (C_out) or null.
// Node ConvolutionBackward0 for both forms.
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

// torch's im2col (F.unfold) and col2im (F.fold) over 2-d windows; two values
// each for kernel, dilation, padding and stride. Nodes Im2ColBackward0 and
// Col2ImBackward0, each the other's adjoint. ops/sliding_windows.cpp.
struct FoldParams {
  std::vector<int64_t> kernel, dilation, padding, stride;
};
Tensor im2col(const Tensor& input, const FoldParams& params);
Tensor col2im(const Tensor& input, int64_t out_h, int64_t out_w, const FoldParams& params);

// (values, indices) over adaptive windows; node AdaptiveMaxPool2DBackward0.
std::pair<Tensor, Tensor> adaptive_max_pool2d(const Tensor& input, int64_t out_h, int64_t out_w);

}  // namespace ember
