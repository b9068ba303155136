#pragma once
// Nearest and (bi)linear upsampling of 3-d and 4-d inputs (ops/upsample.cpp),
// recorded as torch's Upsample*Backward0 nodes.

#include <optional>
#include <vector>

#include "ember/ops.h"

namespace ember {

enum class UpsampleMode { Nearest, Linear };

struct UpsampleParams {
  UpsampleMode mode = UpsampleMode::Nearest;
  std::vector<int64_t> output_size;           // one entry per spatial dim (1 or 2)
  std::vector<std::optional<double>> scales;  // the user's scale factors, same count or empty
  bool align_corners = false;                 // linear only
};

// input (N, C, W) or (N, C, H, W) resized to params.output_size.
Tensor upsample(const Tensor& input, const UpsampleParams& params);
// The adjoint of upsample in its input; differentiable (its own adjoint is upsample).
Tensor upsample_backward(const Tensor& grad, const Shape& input_shape,
                         const UpsampleParams& params);

}  // namespace ember
