#pragma once
// Backward nodes of padding (formulas in ops/padding.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

// The gradient is the output's gradient cropped back: constant_pad_nd with
// the pads negated (torch saves only the pads).
struct ConstantPadNdBackward0 final : Node {
  EMBER_NODE_FWD(ConstantPadNdBackward0);
  DimList pad;
};

// Reflect and replicate padding's node. torch names one per mode and number
// of padded dims (ReflectionPad2DBackward0, ReplicationPad1DBackward0, ...):
// BorderPadBackward<Mode, Dims> gives each its own type and name.
struct BorderPadBackwardBase : Node {
  TensorList apply(TensorList&& grads) override;
  bool has_forward_formula() const override { return true; }
  void release_saved() override { self.release(); }
  SavedTensor self;  // as torch's node, which reads self's shape from it
  DimList pad;
  PadMode mode = PadMode::Reflect;
};
template <PadMode Mode, int Dims>
struct BorderPadBackward final : BorderPadBackwardBase {
  const char* name() const override;
};

// The backward as an op of (grad, self), recorded under create_graph: linear
// in grad with the forward pad as its adjoint; self gives only its shape, so
// its gradient is zeros (torch's ReflectionPad1DBackwardBackward0, ...).
struct BorderPadBackwardBackwardBase : Node {
  TensorList apply(TensorList&& grads) override;
  bool has_forward_formula() const override { return true; }
  InputMeta self_meta;
  DimList pad;
  PadMode mode = PadMode::Reflect;
};
template <PadMode Mode, int Dims>
struct BorderPadBackwardBackward final : BorderPadBackwardBackwardBase {
  const char* name() const override;
};

}  // namespace ember
