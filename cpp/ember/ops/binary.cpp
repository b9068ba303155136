// The binary pointwise op table, and the node and tangent every entry gets
// from it (Note [Binary op table]).

#include "ember/ops/binary.h"

#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "ember/autograd/forward_ad.h"
#include "ember/kernels/elementwise.h"

namespace ember {

namespace {

using namespace binary_reads;
using binary_form::ScalarTensor;
using binary_form::TensorScalar;
using binary_form::TensorTensor;

// ---- formulas: v * df/dx or v * df/dy ----

Tensor identity_derivative(const Tensor& v, const BinaryOperands&) { return v; }
Tensor neg_derivative(const Tensor& v, const BinaryOperands&) { return neg(v); }
Tensor zero_derivative(const Tensor& v, const BinaryOperands&) {
  return zeros(v->shape(), v->dtype());
}

Tensor add_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return o.alpha == 1.0 ? v : mul(v, Scalar(o.alpha));
}
Tensor sub_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return mul(v, Scalar(-o.alpha));
}

Tensor mul_self_derivative(const Tensor& v, const BinaryOperands& o) {
  return o.other ? mul(v, o.other) : mul(v, o.scalar);
}
Tensor mul_other_derivative(const Tensor& v, const BinaryOperands& o) { return mul(v, o.self); }

Tensor div_self_derivative(const Tensor& v, const BinaryOperands& o) {
  return o.other ? div(v, o.other) : div(v, o.scalar);
}
Tensor div_other_derivative(const Tensor& v, const BinaryOperands& o) {
  // -v * (a / b) / b, in torch's order (b * b could underflow to 0).
  return neg(div(mul(v, div(o.self, o.other)), o.other));
}

// v * e * a^(e-1), e a number
Tensor pow_scalar_derivative(const Tensor& v, const BinaryOperands& o) {
  const double exponent = o.scalar.value;
  if (exponent == 0.0) return zeros(v->shape(), v->dtype());
  Tensor d = exponent == 2.0 ? mul(o.self, Scalar(2.0))
                             : mul(pow(o.self, Scalar(exponent - 1.0)), Scalar(exponent));
  return mul(v, d);
}

// v * d/da a^e
Tensor pow_self_derivative(const Tensor& v, const BinaryOperands& o) {
  const Tensor& e = o.other;
  Tensor d = mul(e, pow(o.self, sub(e, Scalar(1.0))));
  // e == 0 contributes nothing, even where a^(e-1) is inf.
  d = where(compare(BinaryOp::Eq, e, Scalar(0.0)), zeros({}, d->dtype()), d);
  return mul(v, d);
}

// v * d/de a^e, from the result r = a^e
Tensor pow_other_derivative(const Tensor& v, const BinaryOperands& o) {
  const Tensor &a = o.self, &e = o.other;
  Tensor d = mul(o.result, log(a));
  // 0^e with e >= 0 has derivative 0 in e (torch's convention), not nan.
  Tensor mask = mul(compare(BinaryOp::Eq, a, Scalar(0.0)), compare(BinaryOp::Ge, e, Scalar(0.0)));
  d = where(mask, zeros({}, d->dtype()), d);
  return mul(v, d);
}

// v * d/dx base^x, from the result r = base^x
Tensor rpow_derivative(const Tensor& v, const BinaryOperands& o) {
  const double base = o.scalar.value;
  Tensor d = mul(v, mul(o.result, Scalar(std::log(base))));
  if (base != 0.0) return d;
  // 0 ** x has derivative 0 in x wherever x >= 0 (result finite), as in torch.
  Tensor finite = compare(BinaryOp::Ne, o.result, Scalar(std::numeric_limits<double>::infinity()));
  return where(finite, zeros({}, d->dtype()), d);
}

// maximum / minimum, torch's formula: ties split v in half; otherwise each side
// keeps it unless it lost (`Loses`: a < b for maximum's first input, a > b for its second). With a
// NaN on one side neither comparison holds, so both sides keep it.
template <BinaryOp Loses>
Tensor extreme_derivative(const Tensor& v, const BinaryOperands& o) {
  const Tensor shared = where(compare(BinaryOp::Eq, o.self, o.other), mul(v, Scalar(0.5)), v);
  return where(compare(Loses, o.self, o.other), zeros({}, v->dtype()), shared);
}

// a - b * floor(a / b): the floor is piecewise constant, no gradient flows through it.
Tensor remainder_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return neg(mul(v, floor_divide(detach(o.self), detach(o.other))));
}

// trunc(a / b) without a graph: fmod's derivative in b.
Tensor truncated_quotient(const Tensor& a, const Tensor& b, const Tensor&) {
  GradModeGuard no_grad(false);
  return rounded_div(detach(a), detach(b), RoundingMode::Trunc);
}
Tensor fmod_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return neg(mul(v, o.aux));
}

// copysign(a, b) / a, 0 where a is 0: +-1 without a graph.
Tensor sign_ratio(const Tensor& a, const Tensor&, const Tensor& result) {
  GradModeGuard no_grad(false);
  const Tensor x = to_dtype(detach(a), result->dtype());
  const Tensor zero = zeros({}, result->dtype());
  return where(compare(BinaryOp::Eq, x, Scalar(0.0)), zero, div(result, x));
}
Tensor copysign_self_derivative(const Tensor& v, const BinaryOperands& o) { return mul(v, o.aux); }

// v / (a^2 + b^2), the shared factor of atan2's derivatives.
Tensor atan2_scaled(const Tensor& v, const Tensor& a, const Tensor& b) {
  // At the origin (or where a^2 + b^2 underflows) torch's gradient is 0, not 0 / 0.
  const Tensor norm2 = add(mul(a, a), mul(b, b));
  const Tensor safe =
      where(compare(BinaryOp::Eq, norm2, Scalar(0.0)), ones({}, norm2->dtype()), norm2);
  return div(v, safe);
}
// d atan2(a, b) = (b da - a db) / (a^2 + b^2)
Tensor atan2_self_derivative(const Tensor& v, const BinaryOperands& o) {
  return mul(atan2_scaled(v, o.self, o.other), o.other);
}
Tensor atan2_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return mul(atan2_scaled(v, o.self, o.other), neg(o.self));
}

// d/dx x log y = log y, taken as 0 where x is 0 and y <= 0 (where x log y is
// defined as 0 though log y is not), as torch's.
Tensor xlogy_self_derivative(const Tensor& v, const BinaryOperands& o) {
  const Tensor undefined_log = bitwise(BinaryOp::BitAnd, compare(BinaryOp::Eq, o.self, Scalar(0.0)),
                                       compare(BinaryOp::Le, o.other, Scalar(0.0)));
  return mul(v, where(undefined_log, zeros({}, v->dtype()), log(to_dtype(o.other, v->dtype()))));
}
Tensor xlogy_other_derivative(const Tensor& v, const BinaryOperands& o) {  // x / y
  return div(mul(v, o.self), o.other);
}

// d hypot(a, b) = (a da + b db) / hypot(a, b); 0 / 0 at the origin, as torch's.
Tensor hypot_self_derivative(const Tensor& v, const BinaryOperands& o) {
  return div(mul(v, o.self), o.result);
}
Tensor hypot_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return div(mul(v, o.other), o.result);
}

// d/da log(e^a + e^b) = 1 / (1 + e^(b - a)); base 2: 1 / (1 + 2^(b - a)).
Tensor logaddexp_share(const Tensor& v, const Tensor& mine, const Tensor& theirs, bool base2) {
  const Tensor gap = sub(theirs, mine);
  return div(v, add(base2 ? rpow(gap, Scalar(2.0)) : exp(gap), Scalar(1.0)));
}
Tensor logaddexp_self_derivative(const Tensor& v, const BinaryOperands& o) {
  return logaddexp_share(v, o.self, o.other, false);
}
Tensor logaddexp_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return logaddexp_share(v, o.other, o.self, false);
}
Tensor logaddexp2_self_derivative(const Tensor& v, const BinaryOperands& o) {
  return logaddexp_share(v, o.self, o.other, true);
}
Tensor logaddexp2_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return logaddexp_share(v, o.other, o.self, true);
}

// fmax / fmin send the whole gradient to one side: self where it won or tied,
// or where other is NaN (self was kept); other everywhere else. Unlike
// maximum, ties are not split.
template <BinaryOp Wins>
Tensor self_kept(const BinaryOperands& o) {
  return bitwise(BinaryOp::BitOr, compare(Wins, o.self, o.other),
                 compare(BinaryOp::Ne, o.other, o.other));
}
template <BinaryOp Wins>
Tensor kept_self_derivative(const Tensor& v, const BinaryOperands& o) {
  return where(self_kept<Wins>(o), v, zeros({}, v->dtype()));
}
template <BinaryOp Wins>
Tensor kept_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return where(self_kept<Wins>(o), zeros({}, v->dtype()), v);
}

// ldexp(a, b) = a * 2**b: d/da = 2**b, d/db = a * 2**b * ln 2.
Tensor ldexp_self_derivative(const Tensor& v, const BinaryOperands& o) {
  return mul(v, rpow(o.other, Scalar(2.0)));
}
Tensor ldexp_other_derivative(const Tensor& v, const BinaryOperands& o) {
  return mul(mul(v, o.self), mul(rpow(o.other, Scalar(2.0)), Scalar(std::log(2.0))));
}

constexpr uint8_t kBothForms = TensorTensor | TensorScalar;
constexpr uint8_t kOperands = Self | Other;

// In BinaryFn's order (checked below).
constexpr BinaryEntry kBinaryTable[] = {
    {BinaryFn::Add, "add", "AddBackward0", kBothForms, ScalarUse::Unused, 0, 0, nullptr,
     identity_derivative, add_other_derivative},
    {BinaryFn::Sub, "sub", "SubBackward0", kBothForms, ScalarUse::Unused, 0, 0, nullptr,
     identity_derivative, sub_other_derivative},
    {BinaryFn::Rsub, "rsub", "RsubBackward1", ScalarTensor, ScalarUse::Unused, 0, 0, nullptr,
     neg_derivative, nullptr},
    // torch saves the number of `x * 2` as a tensor: released after backward.
    {BinaryFn::Mul, "mul", "MulBackward0", kBothForms, ScalarUse::Releasable, Other, Self, nullptr,
     mul_self_derivative, mul_other_derivative},
    {BinaryFn::Div, "div", "DivBackward0", kBothForms, ScalarUse::Releasable, Other, kOperands,
     nullptr, div_self_derivative, div_other_derivative},
    {BinaryFn::DivScalar, "div_scalar_internal", "DivBackward1", TensorScalar, ScalarUse::Kept, 0,
     0, nullptr, div_self_derivative, nullptr},
    {BinaryFn::PowScalar, "pow", "PowBackward0", TensorScalar, ScalarUse::Kept, Self, 0, nullptr,
     pow_scalar_derivative, nullptr},
    {BinaryFn::Pow, "pow", "PowBackward1", TensorTensor, ScalarUse::Unused, kOperands,
     kOperands | Result, nullptr, pow_self_derivative, pow_other_derivative},
    {BinaryFn::RPow, "pow", "PowBackward2", ScalarTensor, ScalarUse::Kept, Result, 0, nullptr,
     rpow_derivative, nullptr},
    {BinaryFn::Maximum, "maximum", "MaximumBackward0", TensorTensor, ScalarUse::Unused, kOperands,
     kOperands, nullptr, extreme_derivative<BinaryOp::Lt>, extreme_derivative<BinaryOp::Gt>},
    {BinaryFn::Minimum, "minimum", "MinimumBackward0", TensorTensor, ScalarUse::Unused, kOperands,
     kOperands, nullptr, extreme_derivative<BinaryOp::Gt>, extreme_derivative<BinaryOp::Lt>},
    {BinaryFn::RemainderScalar, "remainder", "RemainderBackward0", TensorScalar, ScalarUse::Unused,
     0, 0, nullptr, identity_derivative, nullptr},
    {BinaryFn::Remainder, "remainder", "RemainderBackward1", TensorTensor, ScalarUse::Unused, 0,
     kOperands, nullptr, identity_derivative, remainder_other_derivative},
    {BinaryFn::FmodScalar, "fmod", "FmodBackward0", TensorScalar, ScalarUse::Unused, 0, 0, nullptr,
     identity_derivative, nullptr},
    {BinaryFn::Fmod, "fmod", "FmodBackward1", TensorTensor, ScalarUse::Unused, 0, Aux,
     truncated_quotient, identity_derivative, fmod_other_derivative},
    // The sign operand gets zeros.
    {BinaryFn::Copysign, "copysign", "CopysignBackward0", TensorTensor, ScalarUse::Unused, Aux, 0,
     sign_ratio, copysign_self_derivative, zero_derivative},
    {BinaryFn::CopysignScalar, "copysign", "CopysignBackward1", TensorScalar, ScalarUse::Unused,
     Aux, 0, sign_ratio, copysign_self_derivative, nullptr},
    // Rounded to an integer value: zero gradients.
    {BinaryFn::RoundedDiv, "div_rounded", "DivBackward2", kBothForms, ScalarUse::Unused, 0, 0,
     nullptr, zero_derivative, zero_derivative},
    {BinaryFn::Atan2, "atan2", "Atan2Backward0", TensorTensor, ScalarUse::Unused, kOperands,
     kOperands, nullptr, atan2_self_derivative, atan2_other_derivative},
    {BinaryFn::Xlogy, "xlogy", "XlogyBackward0", TensorTensor, ScalarUse::Unused, kOperands,
     kOperands, nullptr, xlogy_self_derivative, xlogy_other_derivative},
    {BinaryFn::Hypot, "hypot", "HypotBackward0", TensorTensor, ScalarUse::Unused, Self | Result,
     Other | Result, nullptr, hypot_self_derivative, hypot_other_derivative},
    {BinaryFn::Logaddexp, "logaddexp", "LogaddexpBackward0", TensorTensor, ScalarUse::Unused,
     kOperands, kOperands, nullptr, logaddexp_self_derivative, logaddexp_other_derivative},
    {BinaryFn::Logaddexp2, "logaddexp2", "Logaddexp2Backward0", TensorTensor, ScalarUse::Unused,
     kOperands, kOperands, nullptr, logaddexp2_self_derivative, logaddexp2_other_derivative},
    {BinaryFn::Fmax, "fmax", "FmaxBackward0", TensorTensor, ScalarUse::Unused, kOperands, kOperands,
     nullptr, kept_self_derivative<BinaryOp::Ge>, kept_other_derivative<BinaryOp::Ge>},
    {BinaryFn::Fmin, "fmin", "FminBackward0", TensorTensor, ScalarUse::Unused, kOperands, kOperands,
     nullptr, kept_self_derivative<BinaryOp::Le>, kept_other_derivative<BinaryOp::Le>},
    {BinaryFn::Ldexp, "ldexp", "LdexpBackward0", TensorTensor, ScalarUse::Unused, Other, kOperands,
     nullptr, ldexp_self_derivative, ldexp_other_derivative},
};

// The node keeps the result or the aux tensor in one slot.
constexpr bool reads_result_or_aux() {
  for (const BinaryEntry& e : kBinaryTable) {
    if (((e.self_reads | e.other_reads) & (Result | Aux)) == (Result | Aux)) return false;
  }
  return true;
}
static_assert(reads_result_or_aux(), "an entry reads the result or the aux tensor, not both");
static_assert(in_enum_order(kBinaryTable, kBinaryFnCount),
              "kBinaryTable lists every BinaryFn, in order");

// Node factories, one per entry, in the same order.
constexpr auto kNodeFactories = node_factories<BinaryNodeBase, BinaryFn, BinaryNode>(
    std::make_index_sequence<kBinaryFnCount>{});

std::shared_ptr<BinaryNodeBase> make_node(BinaryFn fn) {
  return kNodeFactories[static_cast<size_t>(fn)]();
}

// What the node keeps: what the formulas of the inputs that require grad read.
uint8_t node_reads(const BinaryEntry& e, const Node& node) {
  return (wants_grad(node, 0) ? e.self_reads : 0) | (wants_grad(node, 1) ? e.other_reads : 0);
}

}  // namespace

void set_pointwise_tangent(const Tensor& out, const Tensor& a_part, const Tensor& b_part) {
  Tensor t = a_part && b_part ? add(a_part, b_part) : (a_part ? a_part : b_part);
  if (!t) return;
  if (t->shape() != out->shape()) t = expand(t, out->shape());
  forward_ad::set_tangent(out, t);
}

const BinaryEntry& binary_entry(BinaryFn fn) { return kBinaryTable[static_cast<size_t>(fn)]; }

void record_binary(BinaryFn fn, const Tensor& out, const Tensor& a, const Tensor& b, double alpha) {
  const BinaryEntry& e = binary_entry(fn);
  std::shared_ptr<BinaryNodeBase> node = make_node(fn);
  set_history(node, {&a, &b}, out);
  const uint8_t reads = node_reads(e, *node);
  if (reads & Self) node->self = SavedTensor(a, false);
  if (reads & Other) node->other = SavedTensor(b, false);
  if (reads & Result) node->extra = SavedTensor(out, true);
  if (reads & Aux) node->extra = SavedTensor(e.aux(a, b, out), false);
  node->self_meta = GradFit(a, out);
  node->other_meta = GradFit(b, out);
  node->alpha = alpha;
}

void record_binary(BinaryFn fn, const Tensor& out, const Tensor& a, const Scalar& b) {
  const BinaryEntry& e = binary_entry(fn);
  std::shared_ptr<BinaryNodeBase> node = make_node(fn);
  set_history(node, {&a}, out);
  const uint8_t reads = node_reads(e, *node);
  if (reads & Self) node->self = SavedTensor(a, false);
  if (reads & Result) node->extra = SavedTensor(out, true);
  if (reads & Aux) node->extra = SavedTensor(e.aux(a, nullptr, out), false);
  if (e.scalar != ScalarUse::Unused) {
    node->scalar = SavedScalar(b.value, e.scalar == ScalarUse::Releasable);
  }
  node->self_meta = GradFit(a, out);
}

void binary_tangent(BinaryFn fn, const Tensor& out, const Tensor& a, const Tensor& b,
                    double alpha) {
  if (!forward_ad::any_tangent(a, b)) return;
  const BinaryEntry& e = binary_entry(fn);
  forward_ad::FormulaScope formula;
  const Tensor ta = forward_ad::tangent(a), tb = forward_ad::tangent(b);
  BinaryOperands o{a, b, out, nullptr, 0.0, alpha};
  if (((ta ? e.self_reads : 0) | (tb ? e.other_reads : 0)) & Aux) o.aux = e.aux(a, b, out);
  set_pointwise_tangent(out, ta ? e.self_derivative(ta, o) : nullptr,
                        tb ? e.other_derivative(tb, o) : nullptr);
}

void binary_tangent(BinaryFn fn, const Tensor& out, const Tensor& a, const Scalar& b) {
  if (!forward_ad::has_tangent(a)) return;
  const BinaryEntry& e = binary_entry(fn);
  forward_ad::FormulaScope formula;
  BinaryOperands o{a, nullptr, out, nullptr, b, 1.0};
  if (e.self_reads & Aux) o.aux = e.aux(a, nullptr, out);
  set_pointwise_tangent(out, e.self_derivative(forward_ad::tangent(a), o), nullptr);
}

TensorList BinaryNodeBase::apply(TensorList&& grads) {
  const BinaryEntry& e = entry();
  const Tensor& g = grads[0];
  TensorList out(next_edges().size());
  BinaryOperands o;
  if (self.defined()) o.self = self.unpack(*this);
  if (other.defined()) o.other = other.unpack(*this);
  if (extra.defined()) {
    ((e.self_reads | e.other_reads) & Result ? o.result : o.aux) = extra.unpack(*this);
  }
  if (e.scalar != ScalarUse::Unused && out.size() == 1) o.scalar = Scalar(scalar.unpack());
  o.alpha = alpha;
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(e.self_derivative(g, o));
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(e.other_derivative(g, o));
  return out;
}

}  // namespace ember
