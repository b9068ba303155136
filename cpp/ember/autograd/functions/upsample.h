#pragma once
// Backward nodes of upsampling (formulas in ops/upsample.cpp).

#include "ember/autograd/functions/common.h"
#include "ember/ops/upsample.h"

namespace ember {

// torch names one node per mode and rank; kind indexes kUpsampleNodeNames.
enum UpsampleKind : int { kNearest1D = 0, kNearest2D = 1, kLinear1D = 2, kBilinear2D = 3 };

int upsample_kind(const UpsampleParams& params);

template <int Kind>
struct UpsampleBackwardNode final : Node {
  const char* name() const override;
  TensorList apply(TensorList&& grads) override;
  bool has_forward_formula() const override { return true; }
  Shape input_shape;
  UpsampleParams params;
};

// The backward is linear in the gradient, and its adjoint is the forward.
template <int Kind>
struct UpsampleBackwardBackwardNode final : Node {
  const char* name() const override;
  TensorList apply(TensorList&& grads) override;
  bool has_forward_formula() const override { return true; }
  UpsampleParams params;
};

}  // namespace ember
