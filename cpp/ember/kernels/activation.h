#pragma once
// Kernels of the activations that take parameters (leaky_relu's slope,
// softplus's beta, ...): the value, and the gradient times the derivative in
// one pass. ops/activation.h records them (Note [Activation table]).

#include <cstdint>

#include "ember/tensor.h"

namespace ember {

enum class ActivationOp : uint8_t {
  LeakyRelu,    // a: negative slope
  Elu,          // a: alpha, b: scale, c: input scale (selu is elu with torch's constants)
  Celu,         // elu with input scale 1 / alpha; its own node name
  Hardtanh,     // a: min, b: max
  Softplus,     // a: beta, b: threshold
  Hardsigmoid,  //
  Hardswish,    //
  Mish,         //
  LogSigmoid,   //
  Hardshrink,   // a: lambda
  Softshrink,   // a: lambda
  Threshold,    // a: threshold, b: value
  Logit,        // a: eps, used when has_eps
  Frac,         //
  NanToNum,     // a: nan, b: posinf, c: neginf (already resolved for the dtype)
};
constexpr size_t kActivationOpCount = static_cast<size_t>(ActivationOp::NanToNum) + 1;

struct ActivationArgs {
  double a = 0.0, b = 0.0, c = 0.0;
  bool has_eps = false;
};

// op(x) as a fresh contiguous tensor of x's dtype (a float dtype, or an
// integer one for the ops that keep integers).
Tensor activation_kernel(ActivationOp op, const Tensor& x, const ActivationArgs& args);

// grad * op'(saved) in one pass; `saved` is the input, or the result when
// `from_result` (the in-place forms that save what they wrote). Same shapes.
Tensor activation_backward_kernel(ActivationOp op, const Tensor& grad, const Tensor& saved,
                                  const ActivationArgs& args, bool from_result);

}  // namespace ember
