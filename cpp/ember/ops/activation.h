#pragma once
// The activations that take parameters (leaky_relu, elu, softplus, hardtanh,
// ...), declared once each like the unary ops (Note [Activation table]).

#include <cstddef>
#include <optional>

#include "ember/autograd/functions/common.h"
#include "ember/kernels/activation.h"

namespace ember {

// Note [Activation table]
// An activation with parameters is still pointwise, so as in Note [Op table]
// one formula, v * f'(saved), is both its backward (v a gradient) and its
// forward-mode formula (v a tangent). An entry names:
//   - the node torch records, and the one its in-place form records when that
//     differs: torch's "Backward1" nodes save the result the in-place op
//     wrote and differentiate from it (leaky_relu_, elu_, celu_, threshold_);
//     the other in-place forms record the out-of-place node on a snapshot of
//     the input;
//   - the kernel name torch's dtype error cites, and what integers do;
//   - the formula from differentiable ops, for when a graph or a tangent must
//     flow through it. Without one the fused kernel runs instead.
// activation() checks the dtype, runs the kernel, records the node and
// computes the tangent; activation_() is the in-place form.

enum class IntegerInputs : uint8_t { Refuse, Keep, ToFloat };

using ActivationFormula = Tensor (*)(const Tensor& v, const Tensor& saved,
                                     const ActivationArgs& args, bool from_result);

struct ActivationEntry {
  ActivationOp op;
  const char* node_name;         // "LeakyReluBackward0"
  const char* result_node_name;  // "LeakyReluBackward1", or null
  const char* kernel_name;       // torch's dtype error: "leaky_relu_cpu"
  IntegerInputs integers;
  ActivationFormula times_derivative;  // composed of differentiable ops
};

const ActivationEntry& activation_entry(ActivationOp op);

struct ActivationNodeBase : Node {
  void release_saved() override { saved.release(); }
  bool has_forward_formula() const override { return true; }
  SavedTensor saved;  // the input, or the result for a FromResult node
  ActivationArgs args;
};

// One C++ type per node name, so Python sees one class per torch name.
template <ActivationOp Op, bool FromResult>
struct ActivationNode final : ActivationNodeBase {
  const char* name() const override {
    const ActivationEntry& e = activation_entry(Op);
    return FromResult ? e.result_node_name : e.node_name;
  }
  TensorList apply(TensorList&& grads) override;
};

// v * op'(saved): the fused kernel when nothing needs a graph, else the formula.
Tensor activation_times_derivative(ActivationOp op, const Tensor& v, const Tensor& saved,
                                   const ActivationArgs& args, bool from_result);

template <ActivationOp Op, bool FromResult>
TensorList ActivationNode<Op, FromResult>::apply(TensorList&& grads) {
  return {activation_times_derivative(Op, grads[0], saved.unpack(*this), args, FromResult)};
}

Tensor activation(ActivationOp op, const Tensor& x, const ActivationArgs& args);
Tensor& activation_(ActivationOp op, Tensor& self, const ActivationArgs& args);

// nan_to_num's replacements for the input's dtype: torch's defaults are the
// dtype's largest and lowest finite values.
ActivationArgs nan_to_num_args(DType dtype, double nan, std::optional<double> posinf,
                               std::optional<double> neginf);

}  // namespace ember
