#pragma once
// The unary pointwise ops, declared once each: torch's node name, what the
// formula saves, and the derivative that serves backward and forward mode.

#include <cstddef>

#include "ember/autograd/functions/common.h"
#include "ember/kernels/elementwise.h"

namespace ember {

// Note [Op table]
// A pointwise op y = f(x) has a diagonal Jacobian, so one formula serves both
// directions of AD: times_derivative(v, saved) = v * f'(x) is the backward
// formula when v is the gradient of y, and the forward formula when v is the
// tangent of x. An entry names the node torch records and says whether the
// formula reads x or y (saved by the node, passed by the forward formula).
// unary() does the rest: records UnaryNode<op>, computes the tangent. Adding a
// unary op is an enum value, a kernel and one entry. Formulas are written with
// differentiable ops, so gradients and tangents of every order flow through
// them; the fused kernels they may call run only where no graph or tangent
// needs them.

enum class Saves : uint8_t { Nothing, Input, Result };

struct UnaryEntry {
  UnaryOp op;
  const char* name;       // the Python function: "exp"
  const char* node_name;  // torch's grad_fn: "ExpBackward0"; null when recorded otherwise
  Saves saves;
  Tensor (*times_derivative)(const Tensor& v, const Tensor& saved);
};

constexpr size_t kUnaryOpCount = static_cast<size_t>(UnaryOp::LogicalNot) + 1;
const UnaryEntry& unary_entry(UnaryOp op);

struct UnaryNodeBase : Node {
  void release_saved() override { saved.release(); }
  bool has_forward_formula() const override { return true; }
  SavedTensor saved;  // x or y, as the entry says
};

// One C++ type per op, so Python sees one class per torch node name.
template <UnaryOp Op>
struct UnaryNode final : UnaryNodeBase {
  const char* name() const override { return unary_entry(Op).node_name; }
  TensorList apply(TensorList&& grads) override {
    return {unary_entry(Op).times_derivative(grads[0], saved.unpack(*this))};
  }
};

}  // namespace ember
