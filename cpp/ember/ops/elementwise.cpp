// Elementwise ops and their backward formulas.

#include "ember/autograd/functions/elementwise.h"

#include <cmath>

#include "ember/autograd/no_graph.h"
#include "ember/kernels/elementwise.h"

namespace ember {

using forward_ad::tangent;

// ---- add / sub ----
// Autograd from the binary op table (Note [Binary op table]).

namespace {

// alpha * b in the dtype of a + b (torch computes the whole sum in it).
Tensor scaled_operand(const Tensor& a, const Tensor& b, double alpha) {
  const DType t = result_type(a, b);
  return binary_scalar_kernel(BinaryOp::Mul, convert(b, t), typed_alpha(alpha, t));
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = alpha == 1.0 ? binary_kernel(BinaryOp::Add, a, b)
                            : binary_kernel(BinaryOp::Add, a, scaled_operand(a, b, alpha));
  differentiate_binary(BinaryFn::Add, out, a, b, alpha);
  return out;
}

Tensor add(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Add, a, b);
  differentiate_binary(BinaryFn::Add, out, a, b);
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = alpha == 1.0 ? binary_kernel(BinaryOp::Sub, a, b)
                            : binary_kernel(BinaryOp::Sub, a, scaled_operand(a, b, alpha));
  differentiate_binary(BinaryFn::Sub, out, a, b, alpha);
  return out;
}

Tensor sub(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Sub, a, b);
  differentiate_binary(BinaryFn::Sub, out, a, b);
  return out;
}

Tensor rsub(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Sub, a, b, /*scalar_first=*/true);
  differentiate_binary(BinaryFn::Rsub, out, a, b);
  return out;
}

// ---- mul / div ----

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Mul, a, b);
  differentiate_binary(BinaryFn::Mul, out, a, b);
  return out;
}

Tensor mul(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Mul, a, b);
  differentiate_binary(BinaryFn::Mul, out, a, b);
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Div, a, b);
  differentiate_binary(BinaryFn::Div, out, a, b);
  return out;
}

namespace {

Tensor div_by_scalar(BinaryFn fn, const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Div, a, b);
  differentiate_binary(fn, out, a, b);
  return out;
}

}  // namespace

Tensor div(const Tensor& a, const Scalar& b) { return div_by_scalar(BinaryFn::Div, a, b); }
Tensor div_scalar_internal(const Tensor& a, const Scalar& b) {
  return div_by_scalar(BinaryFn::DivScalar, a, b);
}

Tensor rdiv(const Tensor& a, const Scalar& b) {
  // torch computes s / a as reciprocal(a) * s.
  return mul(reciprocal(a), b);
}

// ---- pow ----

Tensor pow(const Tensor& a, const Scalar& b) {
  // torch computes x ** 0.5 as sqrt(x) and x ** -0.5 as rsqrt(x), which differ
  // from pow at -inf (NaN) and -0.0 (-0.0 and -inf); small integer powers are
  // products (see pow_scalar_kernel).
  Tensor out = pow_scalar_kernel(a, b);
  differentiate_binary(BinaryFn::PowScalar, out, a, b);
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Pow, a, b);
  differentiate_binary(BinaryFn::Pow, out, a, b);
  return out;
}

Tensor rpow(const Tensor& a, const Scalar& base) {
  Tensor out = binary_scalar_kernel(BinaryOp::Pow, a, base, /*scalar_first=*/true);
  differentiate_binary(BinaryFn::RPow, out, a, base);
  return out;
}

// ---- maximum / minimum / clamp / where ----

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Maximum, a, b);
  differentiate_binary(BinaryFn::Maximum, out, a, b);
  return out;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Minimum, a, b);
  differentiate_binary(BinaryFn::Minimum, out, a, b);
  return out;
}

namespace {

// maximum or minimum, except that a NaN on one side yields the other side's
// value (NaN only when both are).
Tensor nan_skipping_extreme(BinaryOp extreme, const Tensor& a, const Tensor& b) {
  const DType dtype = a->dtype();
  if ((dtype == DType::Float32 || dtype == DType::Float64) && b->dtype() == dtype &&
      a->shape() == b->shape() && a->is_contiguous() && b->is_contiguous()) {
    // The common call in one pass.
    Tensor out = empty(a->shape(), dtype);
    const bool is_max = extreme == BinaryOp::Maximum;
    EMBER_DISPATCH_FLOAT(dtype, T, [&] {
      const T* x = a->data<T>();
      const T* y = b->data<T>();
      T* o = out->data<T>();
      for (int64_t i = 0; i < out->numel(); ++i) {
        o[i] = is_max ? std::fmax(x[i], y[i]) : std::fmin(x[i], y[i]);
      }
    });
    return out;
  }
  const Tensor x = detach(a), y = detach(b);
  Tensor out = binary_kernel(extreme, x, y);
  if (!is_floating(out->dtype())) return out;
  return where(compare(BinaryOp::Ne, x, x), y, where(compare(BinaryOp::Ne, y, y), x, out));
}

}  // namespace

Tensor fmax(const Tensor& a, const Tensor& b) {
  Tensor out = nan_skipping_extreme(BinaryOp::Maximum, a, b);
  differentiate_binary(BinaryFn::Fmax, out, a, b);
  return out;
}

Tensor fmin(const Tensor& a, const Tensor& b) {
  Tensor out = nan_skipping_extreme(BinaryOp::Minimum, a, b);
  differentiate_binary(BinaryFn::Fmin, out, a, b);
  return out;
}

// a * 2**b in the float dtype both promote to (the default float dtype for
// two integer tensors), as torch's composition computes it.
Tensor ldexp(const Tensor& a, const Tensor& b) {
  DType dtype = result_type(a, b);
  if (!is_floating(dtype)) dtype = default_float_dtype();
  const Tensor x = to_dtype(detach(a), dtype), y = to_dtype(detach(b), dtype);
  Tensor out = mul(x, rpow(y, Scalar(2.0)));
  differentiate_binary(BinaryFn::Ldexp, out, a, b);
  return out;
}

namespace {

// v where a lies within the bounds, 0 where clamp cut it off.
Tensor clamp_pass(const Tensor& v, const Tensor& a, const std::optional<Scalar>& lo,
                  const std::optional<Scalar>& hi) {
  Tensor keep = ones(a->shape(), DType::Bool);
  if (lo) keep = mul(keep, compare(BinaryOp::Ge, a, *lo));
  if (hi) keep = mul(keep, compare(BinaryOp::Le, a, *hi));
  // where, not a product: a clamped element passes nothing, even an inf or NaN.
  return where(keep, v, zeros({}, v->dtype()));
}

}  // namespace

Tensor clamp(const Tensor& a, std::optional<Scalar> lo, std::optional<Scalar> hi) {
  if (!lo && !hi)
    throw std::runtime_error("torch.clamp: At least one of 'min' or 'max' must not be None");
  if (!is_floating(a->dtype())) {  // integer bounds must fit, as torch checks (2**63 does not)
    for (const auto& bound : {lo, hi}) {
      if (bound) bound->checked_to<int64_t>();
    }
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = a;
    if (lo) out = binary_scalar_kernel(BinaryOp::Maximum, out, *lo);
    if (hi) out = binary_scalar_kernel(BinaryOp::Minimum, out, *hi);
    if (out == a) out = contiguous_clone(a);
  }
  if (any_requires_grad(a)) {
    auto node = record<ClampBackward1>(out, {&a});
    node->self = SavedTensor(a, false);
    node->min = lo;
    node->max = hi;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(out, clamp_pass(tangent(a), a, lo, hi));
  }
  return out;
}

TensorList ClampBackward1::apply(TensorList&& grads) {
  return {clamp_pass(grads[0], self.unpack(*this), min, max)};
}

// Note [Clamp by tensors]
// With tensor bounds, an element below its lower bound takes the bound, then
// one above its upper bound takes that (so where lo > hi the result is hi), as
// torch's clamp; a NaN in the input or in a bound makes the element NaN. The
// gradient follows torch's clamp_backward_min_max: self where lo <= x <= hi,
// lo where x < lo < hi, hi where x > hi or hi < lo. So where x < lo == hi no
// input gets it, and hi gets it where hi < lo even if x is NaN. The tangent
// follows torch's clamp_jvp, which decides ties the other way: hi's where
// lo > hi, else lo's where x < lo, else hi's where x > hi, else x's (with one
// bound: x's where x is strictly inside, the bound's otherwise, NaN included).
namespace {

Tensor is_nan(const Tensor& t) { return binary_kernel(BinaryOp::Ne, t, t); }

// The values of clamp by tensors, from where's (a graph through them is only
// recorded where no input requires grad, so it never matters).
Tensor clamp_by_wheres(const Tensor& a, const Tensor& lo, const Tensor& hi) {
  Tensor out = where(is_nan(a), detach(a), a);
  auto apply_bound = [&out](const Tensor& bound, BinaryOp past_bound) {
    if (!bound) return;
    out = where(compare(past_bound, out, bound), bound, out);
    if (is_floating(bound->dtype())) out = where(is_nan(bound), detach(bound), out);
  };
  apply_bound(lo, BinaryOp::Lt);
  apply_bound(hi, BinaryOp::Gt);
  return out;
}

Tensor both(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::BitAnd, a, b); }
Tensor either(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::BitOr, a, b); }

// Which element's gradient each input gets, as bool masks (torch's rule,
// Note [Clamp by tensors]).
struct ClampRegions {
  Tensor self, min, max;
};
ClampRegions clamp_regions(const Tensor& x, const Tensor& lo, const Tensor& hi) {
  ClampRegions r;
  if (lo) r.self = binary_kernel(BinaryOp::Ge, x, lo);
  if (hi) {
    const Tensor below_max = binary_kernel(BinaryOp::Le, x, hi);
    r.self = lo ? both(r.self, below_max) : below_max;
  }
  if (lo) {
    r.min = binary_kernel(BinaryOp::Lt, x, lo);
    if (hi) r.min = both(r.min, binary_kernel(BinaryOp::Lt, lo, hi));
  }
  if (hi) {
    r.max = binary_kernel(BinaryOp::Gt, x, hi);
    if (lo) r.max = either(r.max, binary_kernel(BinaryOp::Lt, hi, lo));
  }
  return r;
}

}  // namespace

// torch's clamp_jvp (Note [Clamp by tensors]).
Tensor clamp_tangent(const Tensor& x, const Tensor& lo, const Tensor& hi) {
  const Tensor tx = forward_ad::tangent_or_zeros(x);
  if (!hi) {
    return where(compare(BinaryOp::Gt, x, lo), tx, forward_ad::tangent_or_zeros(lo));
  }
  const Tensor t_hi = forward_ad::tangent_or_zeros(hi);
  if (!lo) return where(compare(BinaryOp::Lt, x, hi), tx, t_hi);
  const Tensor inside = where(compare(BinaryOp::Gt, x, hi), t_hi, tx);
  const Tensor t = where(compare(BinaryOp::Lt, x, lo), forward_ad::tangent_or_zeros(lo), inside);
  return where(compare(BinaryOp::Gt, lo, hi), t_hi, t);
}

Tensor clamp(const Tensor& a, const Tensor& lo, const Tensor& hi) {
  if (!lo && !hi) return clamp(a, std::nullopt, std::nullopt);  // raises torch's error
  if (lo && hi && a->dtype() == DType::Bool && lo->dtype() == DType::Bool &&
      hi->dtype() == DType::Bool) {
    throw NotImplementedError("\"clamp_cpu\" not implemented for 'Bool'");
  }
  const bool recorded =
      GradMode::is_enabled() &&
      (a->requires_grad() || (lo && lo->requires_grad()) || (hi && hi->requires_grad()));
  const bool tangents = forward_ad::has_tangent(a) || (lo && forward_ad::has_tangent(lo)) ||
                        (hi && forward_ad::has_tangent(hi));
  if (!recorded && !tangents) return clamp_by_wheres(a, lo, hi);
  Tensor out;
  {
    NoGraph scope;  // neither a graph nor tangents through the where's
    out = clamp_by_wheres(a, lo, hi);
  }
  if (tangents) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(out, clamp_tangent(a, lo, hi));
  }
  if (!recorded) return out;
  auto node = std::make_shared<ClampBackward0>();
  const Tensor none;
  set_history(node, {&a, lo ? &lo : &none, hi ? &hi : &none}, out);
  node->self = SavedTensor(a, false);
  node->self_meta = GradFit(a, out);
  if (lo) node->min = SavedTensor(lo, false), node->min_meta = GradFit(lo, out);
  if (hi) node->max = SavedTensor(hi, false), node->max_meta = GradFit(hi, out);
  return out;
}

TensorList ClampBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this), lo = min.unpack(*this), hi = max.unpack(*this);
  ClampRegions regions;
  {
    GradModeGuard no_grad(false);
    regions = clamp_regions(x, lo, hi);
  }
  const Tensor& g = grads[0];
  const Tensor zero = zeros({}, g->dtype());
  TensorList out(3);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(where(regions.self, g, zero));
  if (lo && wants_grad(*this, 1)) out[1] = min_meta.fit(where(regions.min, g, zero));
  if (hi && wants_grad(*this, 2)) out[2] = max_meta.fit(where(regions.max, g, zero));
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  if (cond->dtype() != DType::Bool) {
    throw std::runtime_error(
        "where expected condition to be a boolean tensor, but got a tensor with dtype " +
        std::string(scalar_type_name(cond->dtype())));
  }
  Tensor out = where_kernel(cond, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<WhereBackward0>(out, {&a, &b});
    node->condition = SavedTensor(cond, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(
        out, where(cond, forward_ad::tangent_or_zeros(a), forward_ad::tangent_or_zeros(b)));
  }
  return out;
}

TensorList WhereBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  Tensor c = condition.unpack(*this);
  Tensor zero = zeros({}, g->dtype());
  TensorList out(next_edges().size());
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(where(c, g, zero));
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(where(c, zero, g));
  return out;
}

namespace {

// Gives `out` a NotImplemented node when an input requires grad, as torch does.
void record_not_implemented(const Tensor& out, const char* op,
                            std::initializer_list<const Tensor*> inputs) {
  if (!is_floating(out->dtype())) return;
  for (const Tensor* t : inputs) {
    if (any_requires_grad(*t)) {
      record<NotImplemented>(out, inputs, op);
      return;
    }
  }
}

}  // namespace

Tensor floor_divide(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::FloorDiv, a, b);
  record_not_implemented(out, "aten::floor_divide", {&a, &b});
  return out;
}

Tensor floor_divide(const Tensor& a, const Scalar& b, bool scalar_first) {
  Tensor out = binary_scalar_kernel(BinaryOp::FloorDiv, a, b, scalar_first);
  record_not_implemented(out, "aten::floor_divide", {&a});
  return out;
}

Tensor rounded_div(const Tensor& a, const Tensor& b, RoundingMode mode) {
  const BinaryOp op = mode == RoundingMode::Floor ? BinaryOp::FloorDiv : BinaryOp::TruncDiv;
  Tensor out = binary_kernel(op, a, b);
  if (is_floating(out->dtype())) differentiate_binary(BinaryFn::RoundedDiv, out, a, b);
  return out;
}

Tensor rounded_div(const Tensor& a, const Scalar& b, RoundingMode mode) {
  const BinaryOp op = mode == RoundingMode::Floor ? BinaryOp::FloorDiv : BinaryOp::TruncDiv;
  Tensor out = binary_scalar_kernel(op, a, b);
  if (is_floating(out->dtype())) differentiate_binary(BinaryFn::RoundedDiv, out, a, b);
  return out;
}

Tensor atan2(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Atan2, a, b);
  differentiate_binary(BinaryFn::Atan2, out, a, b);
  return out;
}

Tensor xlogy(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Xlogy, a, b);
  differentiate_binary(BinaryFn::Xlogy, out, a, b);
  return out;
}

Tensor hypot(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Hypot, a, b);
  differentiate_binary(BinaryFn::Hypot, out, a, b);
  return out;
}

Tensor logaddexp(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Logaddexp, a, b);
  differentiate_binary(BinaryFn::Logaddexp, out, a, b);
  return out;
}

Tensor logaddexp2(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Logaddexp2, a, b);
  differentiate_binary(BinaryFn::Logaddexp2, out, a, b);
  return out;
}

Tensor remainder(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Remainder, a, b);
  if (is_floating(out->dtype())) differentiate_binary(BinaryFn::Remainder, out, a, b);
  return out;
}

Tensor remainder(const Tensor& a, const Scalar& b, bool scalar_first) {
  Tensor out = binary_scalar_kernel(BinaryOp::Remainder, a, b, scalar_first);
  if (scalar_first) {
    record_not_implemented(out, "aten::remainder", {&a});
  } else if (is_floating(out->dtype())) {
    differentiate_binary(BinaryFn::RemainderScalar, out, a, b);
  }
  return out;
}

TensorList NotImplemented::apply(TensorList&&) {
  throw std::runtime_error(std::string("derivative for ") + op + " is not implemented");
}

Tensor bitwise(BinaryOp op, const Tensor& a, const Tensor& b) { return binary_kernel(op, a, b); }
Tensor bitwise(BinaryOp op, const Tensor& a, const Scalar& b, bool scalar_first) {
  return binary_scalar_kernel(op, a, b, scalar_first);
}
Tensor bitwise_not(const Tensor& a) {
  if (a->dtype() == DType::Bool) return unary_kernel(UnaryOp::LogicalNot, a);
  if (is_floating(a->dtype())) {
    throw NotImplementedError(std::string("\"bitwise_not_cpu\" not implemented for '") +
                              scalar_type_name(a->dtype()) + "'");
  }
  return binary_scalar_kernel(BinaryOp::BitXor, a, Scalar::integer(-1));
}

// ---- fmod and copysign ----

Tensor fmod(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Fmod, a, b);
  if (is_floating(out->dtype())) differentiate_binary(BinaryFn::Fmod, out, a, b);
  return out;
}

Tensor fmod(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Fmod, a, b);
  if (is_floating(out->dtype())) differentiate_binary(BinaryFn::FmodScalar, out, a, b);
  return out;
}

Tensor copysign(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Copysign, a, b);
  differentiate_binary(BinaryFn::Copysign, out, a, b);
  return out;
}

Tensor copysign(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Copysign, a, b);
  differentiate_binary(BinaryFn::CopysignScalar, out, a, b);
  return out;
}

// ---- comparisons (never differentiable) ----

Tensor compare(BinaryOp op, const Tensor& a, const Tensor& b) { return binary_kernel(op, a, b); }
Tensor compare(BinaryOp op, const Tensor& a, const Scalar& b) {
  return binary_scalar_kernel(op, a, b);
}

// ---- conversion and copies ----

Tensor to_dtype(const Tensor& a, DType dtype) {
  if (a->dtype() == dtype) return a;
  Tensor out = convert(a, dtype);
  if (any_requires_grad(a) && is_floating(dtype)) {
    record<ToCopyBackward0>(out, {&a})->source_dtype = a->dtype();
    linear_tangent(out, a, [&](const Tensor& t) { return to_dtype(t, dtype); });
  }
  return out;
}

TensorList ToCopyBackward0::apply(TensorList&& grads) { return {to_dtype(grads[0], source_dtype)}; }

Tensor contiguous_clone(const Tensor& a) {
  Tensor out = empty(a->shape(), a->dtype());
  copy_kernel(out, a);
  return out;
}

Tensor clone(const Tensor& a) {
  Tensor out = contiguous_clone(a);
  if (any_requires_grad(a)) record<CloneBackward0>(out, {&a});
  linear_tangent(out, a, [](const Tensor& t) { return t; });
  return out;
}

TensorList CloneBackward0::apply(TensorList&& grads) { return {grads[0]}; }

// ---- gelu ----

namespace {

// g * gelu'(x)
Tensor gelu_times_derivative(const Tensor& g, const Tensor& x, bool tanh_approx);

}  // namespace

Tensor gelu(const Tensor& a, bool tanh_approx) {
  if (!is_floating(a->dtype())) {
    throw NotImplementedError(std::string("\"GeluKernelImpl\" not implemented for '") +
                              scalar_type_name(a->dtype()) + "'");
  }
  Tensor out = gelu_kernel(a, tanh_approx);
  if (any_requires_grad(a)) {
    auto node = record<GeluBackward0>(out, {&a});
    node->self = SavedTensor(a, false);
    node->tanh_approx = tanh_approx;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, gelu_times_derivative(tangent(a), a, tanh_approx));
  }
  return out;
}

TensorList GeluBackward0::apply(TensorList&& grads) {
  return {gelu_times_derivative(grads[0], self.unpack(*this), tanh_approx)};
}

namespace {

Tensor gelu_times_derivative(const Tensor& g, const Tensor& x, bool tanh_approx) {
  if (fusable_formula(g, x)) return gelu_backward_kernel(g, x, tanh_approx);
  // create_graph: the derivative from differentiable ops, so gradients of
  // every order flow (torch records GeluBackwardBackward0 here instead).
  Tensor d;
  if (tanh_approx) {
    const double beta = 0.79788456080286535588, kappa = 0.044715;  // sqrt(2 / pi)
    Tensor x2 = mul(x, x);
    Tensor t = tanh(mul(add(x, mul(mul(x2, x), Scalar(kappa))), Scalar(beta)));
    Tensor left = mul(add(t, Scalar(1.0)), Scalar(0.5));
    Tensor slope = mul(add(mul(x2, Scalar(3.0 * kappa)), Scalar(1.0)), Scalar(beta));
    Tensor right = mul(mul(mul(x, Scalar(0.5)), rsub(mul(t, t), Scalar(1.0))), slope);
    d = add(left, right);
  } else {
    Tensor cdf = mul(add(unary(UnaryOp::Erf, mul(x, Scalar(0.70710678118654752440))), Scalar(1.0)),
                     Scalar(0.5));
    Tensor pdf = mul(exp(mul(mul(x, x), Scalar(-0.5))), Scalar(0.39894228040143267794));
    d = add(cdf, mul(x, pdf));
  }
  return mul(g, d);
}

}  // namespace

}  // namespace ember
