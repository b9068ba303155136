// The activation table and activation(), which records and differentiates
// every entry (Note [Activation table]).

#include "ember/ops/activation.h"

#include <array>
#include <cfloat>
#include <cmath>
#include <string>
#include <utility>

#include "ember/autograd/forward_ad.h"

namespace ember {

namespace {

// ---- formulas: v * f'(saved) from differentiable ops ----

Tensor zero_like_scalar(const Tensor& v) { return zeros({}, v->dtype()); }

// torch's backward functions of the piecewise-linear activations take the
// input, so under create_graph a second gradient w.r.t. it is zeros, not
// "unused". While a graph is built this adds a zero that depends on `saved`
// (inf and NaN masked out, so the zero stays zero).
Tensor linked_to(const Tensor& formula, const Tensor& saved) {
  if (!GradMode::is_enabled() || !saved->requires_grad()) return formula;
  const Tensor finite = compare(BinaryOp::Eq, sub(saved, saved), Scalar(0.0));
  return add(formula, mul(where(finite, saved, zero_like_scalar(saved)), Scalar(0.0)));
}

// v where `passes`, else 0.
Tensor pass_where(const Tensor& passes, const Tensor& v, const Tensor& saved) {
  return linked_to(where(passes, v, zero_like_scalar(v)), saved);
}

Tensor either(const Tensor& a, const Tensor& b) { return bitwise(BinaryOp::BitOr, a, b); }
Tensor both(const Tensor& a, const Tensor& b) { return bitwise(BinaryOp::BitAnd, a, b); }

Tensor leaky_relu_formula(const Tensor& v, const Tensor& s, const ActivationArgs& p, bool) {
  return linked_to(where(compare(BinaryOp::Gt, s, Scalar(0.0)), v, mul(v, Scalar(p.a))), s);
}

Tensor elu_formula(const Tensor& v, const Tensor& s, const ActivationArgs& p, bool from_result) {
  // A NaN takes the exponential side (Note [NaN in activation gradients]).
  const Tensor positive = compare(BinaryOp::Gt, s, Scalar(0.0));
  const Tensor slope = from_result ? mul(add(s, Scalar(p.a * p.b)), Scalar(p.c))
                                   : mul(exp(mul(s, Scalar(p.c))), Scalar(p.c * p.a * p.b));
  return where(positive, mul(v, Scalar(p.b)), mul(v, slope));
}

Tensor hardtanh_formula(const Tensor& v, const Tensor& x, const ActivationArgs& p, bool) {
  const Tensor inside =
      both(compare(BinaryOp::Gt, x, Scalar(p.a)), compare(BinaryOp::Lt, x, Scalar(p.b)));
  return pass_where(inside, v, x);
}

Tensor softplus_formula(const Tensor& v, const Tensor& x, const ActivationArgs& p, bool) {
  const Tensor scaled = mul(x, Scalar(p.a));
  return where(compare(BinaryOp::Gt, scaled, Scalar(p.b)), v, mul(v, sigmoid(scaled)));
}

Tensor hardsigmoid_formula(const Tensor& v, const Tensor& x, const ActivationArgs&, bool) {
  const Tensor inside =
      both(compare(BinaryOp::Gt, x, Scalar(-3.0)), compare(BinaryOp::Lt, x, Scalar(3.0)));
  return linked_to(where(inside, div(v, Scalar(6.0)), zero_like_scalar(v)), x);
}

Tensor hardswish_formula(const Tensor& v, const Tensor& x, const ActivationArgs&, bool) {
  const Tensor middle = mul(v, add(div(x, Scalar(3.0)), Scalar(0.5)));
  const Tensor upper = where(compare(BinaryOp::Ge, x, Scalar(3.0)), v, middle);
  return where(compare(BinaryOp::Le, x, Scalar(-3.0)), zero_like_scalar(v), upper);
}

Tensor mish_formula(const Tensor& v, const Tensor& x, const ActivationArgs&, bool) {
  const Tensor t = tanh(activation(ActivationOp::Softplus, x, {1.0, 20.0}));
  const Tensor slope = mul(mul(x, sigmoid(x)), rsub(mul(t, t), Scalar(1.0)));
  return mul(v, add(t, slope));
}

Tensor logsigmoid_formula(const Tensor& v, const Tensor& x, const ActivationArgs&, bool) {
  return mul(v, sigmoid(neg(x)));
}

Tensor shrink_formula(const Tensor& v, const Tensor& x, const ActivationArgs& p, bool) {
  const Tensor outside =
      either(compare(BinaryOp::Lt, x, Scalar(-p.a)), compare(BinaryOp::Gt, x, Scalar(p.a)));
  return pass_where(outside, v, x);
}

Tensor threshold_formula(const Tensor& v, const Tensor& s, const ActivationArgs& p, bool) {
  const Tensor blocked = compare(BinaryOp::Le, s, Scalar(p.a));  // a NaN passes, as torch's
  return linked_to(where(blocked, zero_like_scalar(v), v), s);
}

Tensor logit_formula(const Tensor& v, const Tensor& x, const ActivationArgs& p, bool) {
  const Tensor slope = div(v, mul(x, rsub(x, Scalar(1.0))));
  if (p.has_eps) {  // a NaN gets 0 (Note [NaN in activation gradients])
    const Tensor inside =
        both(compare(BinaryOp::Ge, x, Scalar(p.a)), compare(BinaryOp::Le, x, Scalar(1.0 - p.a)));
    return where(inside, slope, zero_like_scalar(v));
  }
  const Tensor outside =
      either(compare(BinaryOp::Lt, x, Scalar(0.0)), compare(BinaryOp::Gt, x, Scalar(1.0)));
  return where(outside, full({}, Scalar(NAN), v->dtype()), slope);
}

Tensor frac_formula(const Tensor& v, const Tensor&, const ActivationArgs&, bool) { return v; }

Tensor nan_to_num_formula(const Tensor& v, const Tensor& x, const ActivationArgs&, bool) {
  const Tensor finite = compare(BinaryOp::Eq, sub(x, x), Scalar(0.0));
  return where(finite, v, zero_like_scalar(v));
}

using Ints = IntegerInputs;

// In ActivationOp's order (checked below).
constexpr ActivationEntry kActivationTable[] = {
    {ActivationOp::LeakyRelu, "LeakyReluBackward0", "LeakyReluBackward1", "leaky_relu_cpu",
     Ints::Refuse, leaky_relu_formula},
    {ActivationOp::Elu, "EluBackward0", "EluBackward1", "elu_cpu", Ints::Refuse, elu_formula},
    {ActivationOp::Celu, "CeluBackward0", "CeluBackward1", "elu_cpu", Ints::Refuse, elu_formula},
    {ActivationOp::Hardtanh, "HardtanhBackward0", nullptr, "hardtanh", Ints::Keep,
     hardtanh_formula},
    {ActivationOp::Softplus, "SoftplusBackward0", nullptr, "softplus_cpu", Ints::Refuse,
     softplus_formula},
    {ActivationOp::Hardsigmoid, "HardsigmoidBackward0", nullptr, "hardsigmoid_cpu", Ints::Refuse,
     hardsigmoid_formula},
    {ActivationOp::Hardswish, "HardswishBackward0", nullptr, "hardswish_cpu", Ints::Refuse,
     hardswish_formula},
    {ActivationOp::Mish, "MishBackward0", nullptr, "mish_cpu", Ints::Refuse, mish_formula},
    {ActivationOp::LogSigmoid, "LogSigmoidBackward0", nullptr, "log_sigmoid_cpu", Ints::Refuse,
     logsigmoid_formula},
    {ActivationOp::Hardshrink, "HardshrinkBackward0", nullptr, "hardshrink_cpu", Ints::Refuse,
     shrink_formula},
    {ActivationOp::Softshrink, "SoftshrinkBackward0", nullptr, "softshrink_check", Ints::Refuse,
     shrink_formula},
    {ActivationOp::Threshold, "ThresholdBackward0", "ThresholdBackward1", "threshold_cpu",
     Ints::Keep, threshold_formula},
    {ActivationOp::Logit, "LogitBackward0", nullptr, "logit_cpu", Ints::ToFloat, logit_formula},
    {ActivationOp::Frac, "FracBackward0", nullptr, "frac_cpu", Ints::Refuse, frac_formula},
    {ActivationOp::NanToNum, "NanToNumBackward0", nullptr, "nan_to_num", Ints::Keep,
     nan_to_num_formula},
};

static_assert(in_enum_order(kActivationTable, kActivationOpCount),
              "kActivationTable lists every ActivationOp, in order");

// Node factories per op, for the input-saving and the result-saving node.
using NodeFactory = std::shared_ptr<ActivationNodeBase> (*)();
template <bool FromResult, size_t... I>
constexpr std::array<NodeFactory, kActivationOpCount> node_factories(std::index_sequence<I...>) {
  return {+[]() -> std::shared_ptr<ActivationNodeBase> {
    return std::make_shared<ActivationNode<static_cast<ActivationOp>(I), FromResult>>();
  }...};
}
constexpr auto kIndices = std::make_index_sequence<kActivationOpCount>{};
constexpr auto kInputNodes = node_factories<false>(kIndices);
constexpr auto kResultNodes = node_factories<true>(kIndices);

// torch's refusals by dtype, before any work.
void check_dtype(const ActivationEntry& e, DType t) {
  if (is_floating(t) || e.integers == Ints::ToFloat || e.op == ActivationOp::NanToNum) return;
  if (t == DType::Bool && e.op == ActivationOp::Hardtanh) {
    throw std::runtime_error("Bool inputs not supported for hardtanh");
  }
  if (t == DType::Bool || e.integers == Ints::Refuse) {
    throw NotImplementedError(std::string("\"") + e.kernel_name + "\" not implemented for '" +
                              scalar_type_name(t) + "'");
  }
}

// hardtanh clamps a uint8 input to its bounds as integers: none may be negative.
void check_unsigned_bounds(ActivationOp op, DType t, const ActivationArgs& args) {
  if (op != ActivationOp::Hardtanh || t != DType::UInt8) return;
  if (std::trunc(args.a) < 0 || std::trunc(args.b) < 0) {
    throw std::runtime_error("cannot do hardtanh on an unsigned type with negative limits");
  }
}

// The input converted to the dtype the op computes in: integers stay, or
// become the default float type (logit).
Tensor compute_input(const ActivationEntry& e, const Tensor& x) {
  if (is_floating(x->dtype()) || e.integers != Ints::ToFloat) return x;
  return to_dtype(x, default_float_dtype());
}

// Records the node of `out` = op(x) and computes its tangent.
void differentiate(const ActivationEntry& e, const Tensor& x, const Tensor& out,
                   const ActivationArgs& args, bool from_result) {
  const Tensor& saved = from_result ? out : x;
  if (forward_ad::has_tangent(*x)) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(
        out, activation_times_derivative(e.op, forward_ad::tangent(x), saved, args, from_result));
  }
  if (!GradMode::is_enabled() || !x->requires_grad()) return;
  const size_t i = static_cast<size_t>(e.op);
  std::shared_ptr<ActivationNodeBase> node = from_result ? kResultNodes[i]() : kInputNodes[i]();
  set_history(node, {&x}, out);
  node->saved = SavedTensor(saved, from_result);
  node->args = args;
}

Tensor compute(const ActivationEntry& e, const Tensor& x, const ActivationArgs& args,
               bool from_result) {
  if (e.op == ActivationOp::NanToNum && !is_floating(x->dtype())) return clone(x);
  if (!is_floating(x->dtype())) return activation_kernel(e.op, x, args);  // no gradient
  Tensor out = activation_kernel(e.op, x, args);
  differentiate(e, x, out, args, from_result);
  return out;
}

// torch refuses to differentiate leaky_relu_ and elu_ from a result whose
// sign no longer tells the two sides apart (a negative slope or alpha).
void check_result_formula(ActivationOp op, const ActivationArgs& args) {
  if (args.a >= 0) return;
  if (op == ActivationOp::LeakyRelu) {
    throw std::runtime_error(
        "In-place leakyReLu backward calculation is triggered with a negative slope which is "
        "not supported. This is caused by calling in-place forward function with a negative "
        "slope, please call out-of-place version instead.");
  }
  if (op == ActivationOp::Elu || op == ActivationOp::Celu) {
    throw std::runtime_error(
        "In-place elu backward calculation is triggered with a negative slope which is not "
        "supported. This is caused by calling in-place forward function with a negative slope, "
        "please call out-of-place version instead.");
  }
}

double largest_finite(DType t) {
  switch (t) {
    case DType::Float16:
      return 65504.0;
    case DType::BFloat16:
      return 3.3895313892515355e38;
    case DType::Float32:
      return FLT_MAX;
    default:
      return DBL_MAX;
  }
}

}  // namespace

const ActivationEntry& activation_entry(ActivationOp op) {
  return kActivationTable[static_cast<size_t>(op)];
}

Tensor activation_times_derivative(ActivationOp op, const Tensor& v, const Tensor& saved,
                                   const ActivationArgs& args, bool from_result) {
  if (from_result) check_result_formula(op, args);
  if (fusable_formula(v, saved)) {
    return activation_backward_kernel(op, v, saved, args, from_result);
  }
  return activation_entry(op).times_derivative(v, saved, args, from_result);
}

Tensor activation(ActivationOp op, const Tensor& x, const ActivationArgs& args) {
  const ActivationEntry& e = activation_entry(op);
  check_dtype(e, x->dtype());
  check_unsigned_bounds(op, x->dtype(), args);
  return compute(e, compute_input(e, x), args, false);
}

Tensor& activation_(ActivationOp op, Tensor& self, const ActivationArgs& args) {
  const ActivationEntry& e = activation_entry(op);
  check_dtype(e, self->dtype());
  check_unsigned_bounds(op, self->dtype(), args);
  const bool from_result = e.result_node_name != nullptr;
  return assign_result_(self, {}, e.kernel_name, [&](const Tensor& original) {
    return compute(e, compute_input(e, original), args, from_result);
  });
}

ActivationArgs nan_to_num_args(DType dtype, double nan, std::optional<double> posinf,
                               std::optional<double> neginf) {
  const double big = largest_finite(dtype);
  return {nan, posinf.value_or(big), neginf.value_or(-big)};
}

}  // namespace ember
