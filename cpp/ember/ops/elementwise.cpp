// Elementwise ops and their backward formulas.

#include "ember/autograd/functions/elementwise.h"

#include <cmath>
#include <limits>

#include "ember/kernels/elementwise.h"

namespace ember {

using forward_ad::tangent;

namespace {

// The tangent of a pointwise op from each input's part (null where the input
// carries none), broadcast to the output's shape (Note [Forward-mode AD]).
void set_pointwise_tangent(const Tensor& out, const Tensor& a_part,
                           const Tensor& b_part = nullptr) {
  Tensor t = a_part && b_part ? add(a_part, b_part) : (a_part ? a_part : b_part);
  if (!t) return;
  if (t->shape() != out->shape()) t = expand(t, out->shape());
  forward_ad::set_tangent(out, t);
}

}  // namespace

// ---- add / sub ----

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
  if (any_requires_grad(a, b)) {
    auto node = record<AddBackward0>(out, {&a, &b});
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
    node->alpha = alpha;
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor tb = tangent(b);
    set_pointwise_tangent(out, tangent(a), tb && alpha != 1.0 ? mul(tb, Scalar(alpha)) : tb);
  }
  return out;
}

Tensor add(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Add, a, b);
  if (any_requires_grad(a)) record<AddBackward0>(out, {&a})->self_meta = GradFit(a, out);
  set_pointwise_tangent(out, tangent(a));
  return out;
}

TensorList AddBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(next_edges().size());
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(g);
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(alpha == 1.0 ? g : mul(g, Scalar(alpha)));
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = alpha == 1.0 ? binary_kernel(BinaryOp::Sub, a, b)
                            : binary_kernel(BinaryOp::Sub, a, scaled_operand(a, b, alpha));
  if (any_requires_grad(a, b)) {
    auto node = record<SubBackward0>(out, {&a, &b});
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
    node->alpha = alpha;
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor tb = tangent(b);
    set_pointwise_tangent(out, tangent(a), tb ? mul(tb, Scalar(-alpha)) : nullptr);
  }
  return out;
}

Tensor sub(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Sub, a, b);
  if (any_requires_grad(a)) record<SubBackward0>(out, {&a})->self_meta = GradFit(a, out);
  set_pointwise_tangent(out, tangent(a));
  return out;
}

TensorList SubBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(next_edges().size());
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(g);
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(mul(g, Scalar(-alpha)));
  return out;
}

Tensor rsub(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Sub, a, b, /*scalar_first=*/true);
  if (any_requires_grad(a)) record<RsubBackward1>(out, {&a})->self_meta = GradFit(a, out);
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(out, neg(tangent(a)));
  }
  return out;
}

TensorList RsubBackward1::apply(TensorList&& grads) { return {self_meta.fit(neg(grads[0]))}; }

// ---- mul / div ----

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Mul, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<MulBackward0>(out, {&a, &b});
    // Each input's gradient needs the other input only.
    if (b->requires_grad()) node->self = SavedTensor(a, false);
    if (a->requires_grad()) node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor ta = tangent(a), tb = tangent(b);
    set_pointwise_tangent(out, ta ? mul(ta, b) : nullptr, tb ? mul(a, tb) : nullptr);
  }
  return out;
}

Tensor mul(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Mul, a, b);
  if (any_requires_grad(a)) {
    auto node = record<MulBackward0>(out, {&a});
    node->self_meta = GradFit(a, out);
    node->other_scalar = SavedScalar(b.value, /*releasable=*/true);
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(out, mul(tangent(a), b));
  }
  return out;
}

TensorList MulBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(next_edges().size());
  if (!other.defined() && !self.defined()) {  // scalar operand
    out[0] = self_meta.fit(mul(g, Scalar(other_scalar.unpack())));
    return out;
  }
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(mul(g, other.unpack(*this)));
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(mul(g, self.unpack(*this)));
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Div, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<DivBackward0>(out, {&a, &b});
    if (b->requires_grad()) node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor ta = tangent(a), tb = tangent(b);
    // -tb * (a / b) / b, in the backward formula's order.
    set_pointwise_tangent(out, ta ? div(ta, b) : nullptr,
                          tb ? neg(div(mul(tb, div(a, b)), b)) : nullptr);
  }
  return out;
}

namespace {

template <typename NodeT>
Tensor div_by_scalar(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Div, a, b);
  if (any_requires_grad(a)) {
    auto node = record<NodeT>(out, {&a});
    node->self_meta = GradFit(a, out);
    // torch saves the divisor as a tensor in DivBackward0, as a number in DivBackward1.
    node->other_scalar = SavedScalar(b.value, std::is_same_v<NodeT, DivBackward0>);
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(out, div(tangent(a), b));
  }
  return out;
}

}  // namespace

Tensor div(const Tensor& a, const Scalar& b) { return div_by_scalar<DivBackward0>(a, b); }
Tensor div_scalar_internal(const Tensor& a, const Scalar& b) {
  return div_by_scalar<DivBackward1>(a, b);
}

TensorList DivBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(next_edges().size());
  if (!other.defined()) {
    out[0] = self_meta.fit(div(g, Scalar(other_scalar.unpack())));
    return out;
  }
  Tensor b = other.unpack(*this);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(div(g, b));
  if (wants_grad(*this, 1)) {
    Tensor a = self.unpack(*this);
    // -g * (a / b) / b, in torch's order (b * b could underflow to 0).
    out[1] = other_meta.fit(neg(div(mul(g, div(a, b)), b)));
  }
  return out;
}

Tensor rdiv(const Tensor& a, const Scalar& b) {
  // torch computes s / a as reciprocal(a) * s.
  return mul(reciprocal(a), b);
}

// ---- pow ----

namespace {

// v * d/da a^e = v * e * a^(e-1)
Tensor pow_times_derivative(const Tensor& v, const Tensor& a, double exponent) {
  if (exponent == 0.0) return zeros(v->shape(), v->dtype());
  Tensor d =
      exponent == 2.0 ? mul(a, Scalar(2.0)) : mul(pow(a, Scalar(exponent - 1.0)), Scalar(exponent));
  return mul(v, d);
}

// v * d/da a^e
Tensor pow_base_derivative(const Tensor& v, const Tensor& a, const Tensor& e) {
  Tensor d = mul(e, pow(a, sub(e, Scalar(1.0))));
  // e == 0 contributes nothing, even where a^(e-1) is inf.
  d = where(compare(BinaryOp::Eq, e, Scalar(0.0)), zeros({}, d->dtype()), d);
  return mul(v, d);
}

// v * d/de a^e, from the result r = a^e
Tensor pow_exponent_derivative(const Tensor& v, const Tensor& a, const Tensor& e, const Tensor& r) {
  Tensor d = mul(r, log(a));
  // 0^e with e >= 0 has derivative 0 in e (torch's convention), not nan.
  Tensor mask = mul(compare(BinaryOp::Eq, a, Scalar(0.0)), compare(BinaryOp::Ge, e, Scalar(0.0)));
  d = where(mask, zeros({}, d->dtype()), d);
  return mul(v, d);
}

}  // namespace

Tensor pow(const Tensor& a, const Scalar& b) {
  // torch computes x ** 0.5 as sqrt(x) and x ** -0.5 as rsqrt(x), which differ
  // from pow at -inf (NaN) and -0.0 (-0.0 and -inf); small integer powers are
  // products (see pow_scalar_kernel).
  Tensor out = pow_scalar_kernel(a, b);
  if (any_requires_grad(a)) {
    auto node = record<PowBackward0>(out, {&a});
    node->self = SavedTensor(a, false);
    node->exponent = b.value;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(out, pow_times_derivative(tangent(a), a, b.value));
  }
  return out;
}

TensorList PowBackward0::apply(TensorList&& grads) {
  return {pow_times_derivative(grads[0], self.unpack(*this), exponent)};
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Pow, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<PowBackward1>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->exponent = SavedTensor(b, false);
    if (b->requires_grad()) node->result = SavedTensor(out, true);
    node->self_meta = GradFit(a, out);
    node->exponent_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor ta = tangent(a), tb = tangent(b);
    set_pointwise_tangent(out, ta ? pow_base_derivative(ta, a, b) : nullptr,
                          tb ? pow_exponent_derivative(tb, a, b, out) : nullptr);
  }
  return out;
}

TensorList PowBackward1::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  Tensor a = self.unpack(*this);
  Tensor e = exponent.unpack(*this);
  TensorList out(next_edges().size());
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(pow_base_derivative(g, a, e));
  if (wants_grad(*this, 1)) {
    out[1] = exponent_meta.fit(pow_exponent_derivative(g, a, e, result.unpack(*this)));
  }
  return out;
}

namespace {

// v * d/dx base^x, from the result r = base^x
Tensor rpow_times_derivative(const Tensor& v, const Tensor& r, double base) {
  Tensor d = mul(v, mul(r, Scalar(std::log(base))));
  if (base != 0.0) return d;
  // 0 ** x has derivative 0 in x wherever x >= 0 (result finite), as in torch.
  Tensor finite = compare(BinaryOp::Ne, r, Scalar(std::numeric_limits<double>::infinity()));
  return where(finite, zeros({}, d->dtype()), d);
}

}  // namespace

Tensor rpow(const Tensor& a, const Scalar& base) {
  Tensor out = binary_scalar_kernel(BinaryOp::Pow, a, base, /*scalar_first=*/true);
  if (any_requires_grad(a)) {
    auto node = record<PowBackward2>(out, {&a});
    node->result = SavedTensor(out, true);
    node->base = base.value;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(out, rpow_times_derivative(tangent(a), out, base.value));
  }
  return out;
}

TensorList PowBackward2::apply(TensorList&& grads) {
  return {rpow_times_derivative(grads[0], result.unpack(*this), base)};
}

// ---- maximum / minimum / clamp / where ----

namespace {

// torch's formula: ties split the gradient in half; otherwise each side keeps
// it unless it lost (`loses` = Lt for maximum's first input). With a NaN on
// one side neither comparison holds, so both sides keep the gradient.
TensorList extreme_backward(Node& node, const Tensor& g, const Tensor& a, const Tensor& b,
                            const GradFit& am, const GradFit& bm, BinaryOp a_loses,
                            BinaryOp b_loses) {
  Tensor zero = zeros({}, g->dtype());
  Tensor shared = where(compare(BinaryOp::Eq, a, b), mul(g, Scalar(0.5)), g);
  TensorList out(node.next_edges().size());
  if (wants_grad(node, 0)) out[0] = am.fit(where(compare(a_loses, a, b), zero, shared));
  if (wants_grad(node, 1)) out[1] = bm.fit(where(compare(b_loses, a, b), zero, shared));
  return out;
}

// The same split for tangents: each input's tangent where it won, half of
// each on a tie.
void set_extreme_tangent(const Tensor& out, const Tensor& a, const Tensor& b, BinaryOp a_loses,
                         BinaryOp b_loses) {
  if (!forward_ad::any_tangent(a, b)) return;
  forward_ad::FormulaScope formula;
  const Tensor tie = compare(BinaryOp::Eq, a, b);
  auto part = [&](const Tensor& t, BinaryOp loses) -> Tensor {
    if (!t) return nullptr;
    const Tensor zero = zeros({}, t->dtype());
    return where(compare(loses, a, b), zero, where(tie, mul(t, Scalar(0.5)), t));
  };
  set_pointwise_tangent(out, part(tangent(a), a_loses), part(tangent(b), b_loses));
}

// maximum (a loses where a < b) and minimum (where a > b).
template <typename NodeT>
Tensor extreme(BinaryOp op, const Tensor& a, const Tensor& b, BinaryOp a_loses, BinaryOp b_loses) {
  Tensor out = binary_kernel(op, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<NodeT>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  set_extreme_tangent(out, a, b, a_loses, b_loses);
  return out;
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return extreme<MaximumBackward0>(BinaryOp::Maximum, a, b, BinaryOp::Lt, BinaryOp::Gt);
}

TensorList MaximumBackward0::apply(TensorList&& grads) {
  return extreme_backward(*this, grads[0], self.unpack(*this), other.unpack(*this), self_meta,
                          other_meta, BinaryOp::Lt, BinaryOp::Gt);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  return extreme<MinimumBackward0>(BinaryOp::Minimum, a, b, BinaryOp::Gt, BinaryOp::Lt);
}

TensorList MinimumBackward0::apply(TensorList&& grads) {
  return extreme_backward(*this, grads[0], self.unpack(*this), other.unpack(*this), self_meta,
                          other_meta, BinaryOp::Gt, BinaryOp::Lt);
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
  if (any_requires_grad(a, b) && is_floating(out->dtype())) {
    auto node = record<DivBackward2>(out, {&a, &b});
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b) && is_floating(out->dtype())) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, zeros(out->shape(), out->dtype()));
  }
  return out;
}

Tensor rounded_div(const Tensor& a, const Scalar& b, RoundingMode mode) {
  const BinaryOp op = mode == RoundingMode::Floor ? BinaryOp::FloorDiv : BinaryOp::TruncDiv;
  Tensor out = binary_scalar_kernel(op, a, b);
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    record<DivBackward2>(out, {&a})->self_meta = GradFit(a, out);
  }
  if (forward_ad::has_tangent(a) && is_floating(out->dtype())) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, zeros(out->shape(), out->dtype()));
  }
  return out;
}

TensorList DivBackward2::apply(TensorList&& grads) {
  const Tensor zero = zeros(grads[0]->shape(), grads[0]->dtype());
  TensorList out(next_edges().size());
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(zero);
  if (out.size() > 1 && wants_grad(*this, 1)) out[1] = other_meta.fit(zero);
  return out;
}

namespace {

// v / (a^2 + b^2), the shared factor of atan2's derivatives.
Tensor atan2_scaled(const Tensor& v, const Tensor& a, const Tensor& b) {
  // At the origin (or where a^2 + b^2 underflows) torch's gradient is 0, not 0 / 0.
  const Tensor norm2 = add(mul(a, a), mul(b, b));
  const Tensor safe =
      where(compare(BinaryOp::Eq, norm2, Scalar(0.0)), ones({}, norm2->dtype()), norm2);
  return div(v, safe);
}

}  // namespace

Tensor atan2(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Atan2, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<Atan2Backward0>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor ta = tangent(a), tb = tangent(b);
    set_pointwise_tangent(out, ta ? mul(atan2_scaled(ta, a, b), b) : nullptr,
                          tb ? mul(atan2_scaled(tb, a, b), neg(a)) : nullptr);
  }
  return out;
}

// d atan2(a, b) = (b da - a db) / (a^2 + b^2)
TensorList Atan2Backward0::apply(TensorList&& grads) {
  const Tensor a = self.unpack(*this), b = other.unpack(*this);
  const Tensor scaled = atan2_scaled(grads[0], a, b);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(mul(scaled, b));
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(mul(scaled, neg(a)));
  return out;
}

namespace {

// v * d/dx xlogy(x, y) = v * log(y), also where x is 0 (torch's choice), except
// 0 at x = y = 0.
// d/dx x log y = log y, taken as 0 where x is 0 and y <= 0 (where x log y is
// defined as 0 though log y is not), as torch's.
Tensor xlogy_self_derivative(const Tensor& v, const Tensor& a, const Tensor& b) {
  const Tensor undefined_log = bitwise(BinaryOp::BitAnd, compare(BinaryOp::Eq, a, Scalar(0.0)),
                                       compare(BinaryOp::Le, b, Scalar(0.0)));
  return mul(v, where(undefined_log, zeros({}, v->dtype()), log(to_dtype(b, v->dtype()))));
}

}  // namespace

Tensor xlogy(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Xlogy, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<XlogyBackward0>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor ta = tangent(a), tb = tangent(b);
    set_pointwise_tangent(out, ta ? xlogy_self_derivative(ta, a, b) : nullptr,
                          tb ? div(mul(tb, a), b) : nullptr);
  }
  return out;
}

TensorList XlogyBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  const Tensor a = self.unpack(*this), b = other.unpack(*this);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(xlogy_self_derivative(g, a, b));
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(div(mul(g, a), b));  // d/dy = x / y
  return out;
}

Tensor remainder(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Remainder, a, b);
  if (any_requires_grad(a, b) && is_floating(out->dtype())) {
    auto node = record<RemainderBackward1>(out, {&a, &b});
    if (b->requires_grad()) {
      node->self = SavedTensor(a, false);
      node->other = SavedTensor(b, false);
    }
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b) && is_floating(out->dtype())) {
    forward_ad::FormulaScope formula;
    const Tensor tb = tangent(b);
    // The quotient's floor is piecewise constant: no tangent flows through it.
    set_pointwise_tangent(out, tangent(a),
                          tb ? neg(mul(tb, floor_divide(detach(a), detach(b)))) : nullptr);
  }
  return out;
}

Tensor remainder(const Tensor& a, const Scalar& b, bool scalar_first) {
  Tensor out = binary_scalar_kernel(BinaryOp::Remainder, a, b, scalar_first);
  if (scalar_first) {
    record_not_implemented(out, "aten::remainder", {&a});
  } else if (any_requires_grad(a) && is_floating(out->dtype())) {
    record<RemainderBackward0>(out, {&a})->self_meta = GradFit(a, out);
    set_pointwise_tangent(out, tangent(a));
  }
  return out;
}

TensorList NotImplemented::apply(TensorList&&) {
  throw std::runtime_error(std::string("derivative for ") + op + " is not implemented");
}

TensorList RemainderBackward0::apply(TensorList&& grads) { return {self_meta.fit(grads[0])}; }

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

// a - b * floor(a / b): the floor is piecewise constant.
TensorList RemainderBackward1::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(g);
  if (wants_grad(*this, 1)) {
    const Tensor a = self.unpack(*this), b = other.unpack(*this);
    // The quotient's floor is piecewise constant: no gradient flows through it.
    out[1] = other_meta.fit(neg(mul(g, floor_divide(detach(a), detach(b)))));
  }
  return out;
}

// ---- fmod and copysign ----

namespace {

// trunc(a / b) without a graph: fmod's derivative in b.
Tensor truncated_quotient(const Tensor& a, const Tensor& b) {
  GradModeGuard no_grad(false);
  return rounded_div(detach(a), detach(b), RoundingMode::Trunc);
}

// copysign(a, b) / a, 0 where a is 0: +-1 without a graph.
Tensor sign_ratio(const Tensor& a, const Tensor& result) {
  GradModeGuard no_grad(false);
  const Tensor x = to_dtype(detach(a), result->dtype());
  const Tensor zero = zeros({}, result->dtype());
  return where(compare(BinaryOp::Eq, x, Scalar(0.0)), zero, div(result, x));
}

}  // namespace

Tensor fmod(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Fmod, a, b);
  if (!is_floating(out->dtype())) return out;
  if (any_requires_grad(a, b)) {
    auto node = record<FmodBackward1>(out, {&a, &b});
    if (b->requires_grad()) node->quotient = SavedTensor(truncated_quotient(a, b), false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor tb = tangent(b);
    set_pointwise_tangent(out, tangent(a), tb ? neg(mul(tb, truncated_quotient(a, b))) : nullptr);
  }
  return out;
}

Tensor fmod(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Fmod, a, b);
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    record<FmodBackward0>(out, {&a})->self_meta = GradFit(a, out);
  }
  if (is_floating(out->dtype())) set_pointwise_tangent(out, tangent(a));
  return out;
}

TensorList FmodBackward0::apply(TensorList&& grads) { return {self_meta.fit(grads[0])}; }

TensorList FmodBackward1::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(g);
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(neg(mul(g, quotient.unpack(*this))));
  return out;
}

Tensor copysign(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Copysign, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<CopysignBackward0>(out, {&a, &b});
    if (a->requires_grad()) node->ratio = SavedTensor(sign_ratio(a, out), false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor ta = tangent(a), tb = tangent(b);
    set_pointwise_tangent(out, ta ? mul(ta, sign_ratio(a, out)) : nullptr,
                          tb ? zeros(out->shape(), out->dtype()) : nullptr);
  }
  return out;
}

Tensor copysign(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Copysign, a, b);
  if (any_requires_grad(a)) {
    auto node = record<CopysignBackward1>(out, {&a});
    node->ratio = SavedTensor(sign_ratio(a, out), false);
    node->self_meta = GradFit(a, out);
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    set_pointwise_tangent(out, mul(tangent(a), sign_ratio(a, out)));
  }
  return out;
}

TensorList CopysignBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(mul(g, ratio.unpack(*this)));
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(zeros(g->shape(), g->dtype()));
  return out;
}

TensorList CopysignBackward1::apply(TensorList&& grads) {
  return {self_meta.fit(mul(grads[0], ratio.unpack(*this)))};
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
