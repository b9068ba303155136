// Elementwise ops and their backward formulas.

#include "ember/autograd/functions/elementwise.h"

#include <cmath>
#include <limits>

#include "ember/kernels/elementwise.h"

namespace ember {

namespace {}  // namespace

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
  return out;
}

Tensor add(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Add, a, b);
  if (any_requires_grad(a)) record<AddBackward0>(out, {&a})->self_meta = GradFit(a, out);
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
  return out;
}

Tensor sub(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Sub, a, b);
  if (any_requires_grad(a)) record<SubBackward0>(out, {&a})->self_meta = GradFit(a, out);
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
  return out;
}

Tensor mul(const Tensor& a, const Scalar& b) {
  Tensor out = binary_scalar_kernel(BinaryOp::Mul, a, b);
  if (any_requires_grad(a)) {
    auto node = record<MulBackward0>(out, {&a});
    node->self_meta = GradFit(a, out);
    node->other_scalar = SavedScalar(b.value, /*releasable=*/true);
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
  return out;
}

TensorList PowBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  Tensor a = self.unpack(*this);
  if (exponent == 0.0) return {zeros(a->shape(), a->dtype())};
  // d/da a^e = e * a^(e-1)
  Tensor d =
      exponent == 2.0 ? mul(a, Scalar(2.0)) : mul(pow(a, Scalar(exponent - 1.0)), Scalar(exponent));
  return {mul(g, d)};
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
  return out;
}

TensorList PowBackward1::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  Tensor a = self.unpack(*this);
  Tensor e = exponent.unpack(*this);
  TensorList out(next_edges().size());
  if (wants_grad(*this, 0)) {
    Tensor d = mul(e, pow(a, sub(e, Scalar(1.0))));
    // e == 0 contributes nothing, even where a^(e-1) is inf.
    d = where(compare(BinaryOp::Eq, e, Scalar(0.0)), zeros({}, d->dtype()), d);
    out[0] = self_meta.fit(mul(g, d));
  }
  if (wants_grad(*this, 1)) {
    Tensor r = result.unpack(*this);
    Tensor d = mul(r, log(a));
    // 0^e with e >= 0 has derivative 0 in e (torch's convention), not nan.
    Tensor mask = mul(compare(BinaryOp::Eq, a, Scalar(0.0)), compare(BinaryOp::Ge, e, Scalar(0.0)));
    d = where(mask, zeros({}, d->dtype()), d);
    out[1] = exponent_meta.fit(mul(g, d));
  }
  return out;
}

Tensor rpow(const Tensor& a, const Scalar& base) {
  Tensor out = binary_scalar_kernel(BinaryOp::Pow, a, base, /*scalar_first=*/true);
  if (any_requires_grad(a)) {
    auto node = record<PowBackward2>(out, {&a});
    node->result = SavedTensor(out, true);
    node->base = base.value;
  }
  return out;
}

TensorList PowBackward2::apply(TensorList&& grads) {
  Tensor r = result.unpack(*this);
  Tensor d = mul(grads[0], mul(r, Scalar(std::log(base))));
  if (base != 0.0) return {d};
  // 0 ** x has derivative 0 in x wherever x >= 0 (result finite), as in torch.
  Tensor finite = compare(BinaryOp::Ne, r, Scalar(std::numeric_limits<double>::infinity()));
  return {where(finite, zeros({}, d->dtype()), d)};
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

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Maximum, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<MaximumBackward0>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  return out;
}

TensorList MaximumBackward0::apply(TensorList&& grads) {
  return extreme_backward(*this, grads[0], self.unpack(*this), other.unpack(*this), self_meta,
                          other_meta, BinaryOp::Lt, BinaryOp::Gt);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Minimum, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<MinimumBackward0>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  return out;
}

TensorList MinimumBackward0::apply(TensorList&& grads) {
  return extreme_backward(*this, grads[0], self.unpack(*this), other.unpack(*this), self_meta,
                          other_meta, BinaryOp::Gt, BinaryOp::Lt);
}

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
  return out;
}

TensorList ClampBackward1::apply(TensorList&& grads) {
  Tensor a = self.unpack(*this);
  Tensor keep = ones(a->shape(), DType::Bool);
  if (min) keep = mul(keep, compare(BinaryOp::Ge, a, *min));
  if (max) keep = mul(keep, compare(BinaryOp::Le, a, *max));
  // where, not a product: a clamped element passes no gradient, even an inf or NaN one.
  return {where(keep, grads[0], zeros({}, grads[0]->dtype()))};
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
  return out;
}

Tensor rounded_div(const Tensor& a, const Scalar& b, RoundingMode mode) {
  const BinaryOp op = mode == RoundingMode::Floor ? BinaryOp::FloorDiv : BinaryOp::TruncDiv;
  Tensor out = binary_scalar_kernel(op, a, b);
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    record<DivBackward2>(out, {&a})->self_meta = GradFit(a, out);
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

Tensor atan2(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Atan2, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<Atan2Backward0>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  return out;
}

// d atan2(a, b) = (b da - a db) / (a^2 + b^2)
TensorList Atan2Backward0::apply(TensorList&& grads) {
  const Tensor a = self.unpack(*this), b = other.unpack(*this);
  // At the origin (or where a^2 + b^2 underflows) torch's gradient is 0, not 0 / 0.
  const Tensor norm2 = add(mul(a, a), mul(b, b));
  const Tensor safe =
      where(compare(BinaryOp::Eq, norm2, Scalar(0.0)), ones({}, norm2->dtype()), norm2);
  const Tensor scaled = div(grads[0], safe);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(mul(scaled, b));
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(mul(scaled, neg(a)));
  return out;
}

Tensor xlogy(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Xlogy, a, b);
  if (any_requires_grad(a, b)) {
    auto node = record<XlogyBackward0>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->self_meta = GradFit(a, out);
    node->other_meta = GradFit(b, out);
  }
  return out;
}

// d/dx = log(y), also where x is 0 (torch's choice), except 0 at x = y = 0;
// d/dy = x / y.
TensorList XlogyBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  const Tensor a = self.unpack(*this), b = other.unpack(*this);
  TensorList out(2);
  if (wants_grad(*this, 0)) {
    const Tensor both_zero =
        mul(compare(BinaryOp::Eq, a, Scalar(0.0)), compare(BinaryOp::Eq, b, Scalar(0.0)));
    const Tensor d = where(both_zero, zeros({}, g->dtype()), log(to_dtype(b, g->dtype())));
    out[0] = self_meta.fit(mul(g, d));
  }
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(div(mul(g, a), b));
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
  return out;
}

Tensor remainder(const Tensor& a, const Scalar& b, bool scalar_first) {
  Tensor out = binary_scalar_kernel(BinaryOp::Remainder, a, b, scalar_first);
  if (scalar_first) {
    record_not_implemented(out, "aten::remainder", {&a});
  } else if (any_requires_grad(a) && is_floating(out->dtype())) {
    record<RemainderBackward0>(out, {&a})->self_meta = GradFit(a, out);
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
  return out;
}

TensorList CloneBackward0::apply(TensorList&& grads) { return {grads[0]}; }

// ---- gelu ----

namespace {

// Whether a backward formula may run as one raw kernel: no graph to record and
// no tangent to carry, and operands a kernel takes.
bool fusable_backward(const Tensor& g, const Tensor& saved) {
  return !any_requires_grad(g, saved) && g->shape() == saved->shape() && is_floating(g->dtype());
}

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
  return out;
}

TensorList GeluBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  Tensor x = self.unpack(*this);
  if (fusable_backward(g, x)) return {gelu_backward_kernel(g, x, tanh_approx)};
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
  return {mul(g, d)};
}

}  // namespace ember
