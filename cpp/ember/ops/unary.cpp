// The unary pointwise op table and unary(), which records and differentiates
// every op in it (Note [Op table]).

#include "ember/ops/unary.h"

#include <array>
#include <limits>
#include <utility>

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/functions/elementwise.h"
#include "ember/ops/binary.h"

namespace ember {

namespace {

// ---- formulas: v * f'(x), from x or y = f(x) as the entry saves ----

Tensor one_minus_square(const Tensor& x) { return rsub(mul(x, x), Scalar(1.0)); }

Tensor zero_derivative(const Tensor& v, const Tensor&) { return zeros(v->shape(), v->dtype()); }
Tensor neg_derivative(const Tensor& v, const Tensor&) { return neg(v); }
Tensor exp_derivative(const Tensor& v, const Tensor& y) { return mul(v, y); }
Tensor log_derivative(const Tensor& v, const Tensor& x) { return div(v, x); }
Tensor sqrt_derivative(const Tensor& v, const Tensor& y) { return div(v, mul(y, Scalar(2.0))); }
Tensor abs_derivative(const Tensor& v, const Tensor& x) { return mul(v, sign(x)); }
Tensor sin_derivative(const Tensor& v, const Tensor& x) { return mul(v, cos(x)); }
Tensor cos_derivative(const Tensor& v, const Tensor& x) { return mul(v, neg(sin(x))); }
Tensor tan_derivative(const Tensor& v, const Tensor& y) {  // 1 + tan^2
  return mul(v, add(mul(y, y), Scalar(1.0)));
}
Tensor sinh_derivative(const Tensor& v, const Tensor& x) { return mul(v, unary(UnaryOp::Cosh, x)); }
Tensor cosh_derivative(const Tensor& v, const Tensor& x) { return mul(v, unary(UnaryOp::Sinh, x)); }
Tensor asin_derivative(const Tensor& v, const Tensor& x) {  // 1 / sqrt(1 - x^2)
  return div(v, sqrt(one_minus_square(x)));
}
Tensor acos_derivative(const Tensor& v, const Tensor& x) {  // -1 / sqrt(1 - x^2)
  return neg(div(v, sqrt(one_minus_square(x))));
}
Tensor atan_derivative(const Tensor& v, const Tensor& x) {  // 1 / (1 + x^2)
  return div(v, add(mul(x, x), Scalar(1.0)));
}
Tensor asinh_derivative(const Tensor& v, const Tensor& x) {  // 1 / sqrt(x^2 + 1)
  return mul(v, unary(UnaryOp::Rsqrt, add(mul(x, x), Scalar(1.0))));
}
Tensor acosh_derivative(const Tensor& v, const Tensor& x) {  // 1 / sqrt(x^2 - 1)
  return mul(v, unary(UnaryOp::Rsqrt, sub(mul(x, x), Scalar(1.0))));
}
Tensor atanh_derivative(const Tensor& v, const Tensor& x) {  // 1 / (1 - x^2)
  return div(v, one_minus_square(x));
}
Tensor erf_derivative(const Tensor& v, const Tensor& x) {  // 2 / sqrt(pi) * exp(-x^2)
  return mul(v, mul(exp(neg(mul(x, x))), Scalar(1.1283791670955126)));
}
Tensor erfc_derivative(const Tensor& v, const Tensor& x) {  // -2 / sqrt(pi) * exp(-x^2)
  return mul(v, mul(exp(neg(mul(x, x))), Scalar(-1.1283791670955126)));
}
Tensor erfinv_derivative(const Tensor& v, const Tensor& x) {  // sqrt(pi) / 2 * exp(erfinv(x)^2)
  const Tensor y = unary(UnaryOp::Erfinv, x);
  return mul(v, mul(exp(mul(y, y)), Scalar(0.88622692545275801)));
}
Tensor tanh_derivative(const Tensor& v, const Tensor& y) {
  if (fusable_formula(v, y)) return tanh_backward_kernel(v, y);
  return mul(v, one_minus_square(y));
}
Tensor sigmoid_derivative(const Tensor& v, const Tensor& y) {
  if (fusable_formula(v, y)) return sigmoid_backward_kernel(v, y);
  return mul(mul(v, rsub(y, Scalar(1.0))), y);
}
Tensor relu_derivative(const Tensor& v, const Tensor& y) {
  // torch's threshold_backward: zero where the result is <= 0 (a NaN passes).
  // Under create_graph torch's gradient depends on y (with derivative 0), so a
  // second grad with respect to the input finds it: y * 0 is that 0 (y is 0 there).
  const bool link_y = GradMode::is_enabled() && y->requires_grad();
  if (!link_y && fusable_formula(v, y)) return relu_backward_kernel(v, y);
  const Tensor zero = link_y ? mul(y, Scalar(0.0)) : zeros({}, v->dtype());
  return where(compare(BinaryOp::Le, y, Scalar(0.0)), zero, v);
}
Tensor reciprocal_derivative(const Tensor& v, const Tensor& y) { return mul(v, neg(mul(y, y))); }
Tensor log1p_derivative(const Tensor& v, const Tensor& x) { return div(v, add(x, Scalar(1.0))); }
Tensor expm1_derivative(const Tensor& v, const Tensor& y) { return mul(v, add(y, Scalar(1.0))); }
Tensor rsqrt_derivative(const Tensor& v, const Tensor& y) {
  return mul(v, mul(pow(y, Scalar(3.0)), Scalar(-0.5)));
}
Tensor square_derivative(const Tensor& v, const Tensor& x) { return mul(v, mul(x, Scalar(2.0))); }
Tensor log2_derivative(const Tensor& v, const Tensor& x) {  // 1 / (x ln 2)
  return div(v, mul(x, Scalar(0.69314718055994530942)));
}
Tensor log10_derivative(const Tensor& v, const Tensor& x) {  // 1 / (x ln 10)
  return div(v, mul(x, Scalar(2.30258509299404568402)));
}
Tensor exp2_derivative(const Tensor& v, const Tensor& y) {  // 2^x ln 2
  return mul(v, mul(y, Scalar(0.69314718055994530942)));
}
Tensor silu_derivative(const Tensor& v, const Tensor& x) {  // s (1 + x (1 - s)), s = sigmoid(x)
  if (fusable_formula(v, x) && v->dtype() == DType::Float32 && x->dtype() == DType::Float32) {
    return silu_backward_kernel(v, x);
  }
  const Tensor s = sigmoid(x);
  return mul(v, mul(s, add(mul(x, rsub(s, Scalar(1.0))), Scalar(1.0))));
}

Tensor lgamma_derivative(const Tensor& v, const Tensor& x) {
  return mul(v, unary(UnaryOp::Digamma, x));
}
Tensor digamma_derivative(const Tensor& v, const Tensor& x) { return mul(v, polygamma(1, x)); }

// ---- the normal distribution's functions and the modified Bessel functions ----

constexpr double kSqrt2Pi = 2.50662827463100050242;
constexpr double kTwoOverSqrtPi = 1.1283791670955126;

Tensor ndtri_derivative(const Tensor& v, const Tensor& y) {  // 1 / phi(y) = sqrt(2 pi) e^{y^2/2}
  return mul(v, mul(exp(mul(mul(y, y), Scalar(0.5))), Scalar(kSqrt2Pi)));
}
Tensor log_ndtr_derivative(const Tensor& v, const Tensor& x) {  // phi(x) / ndtr(x)
  const Tensor log_ndtr = unary(UnaryOp::LogNdtr, x);
  const Tensor log_density_ratio = neg(add(log_ndtr, mul(mul(x, x), Scalar(0.5))));
  return mul(v, div(exp(log_density_ratio), Scalar(kSqrt2Pi)));
}
Tensor erfcx_derivative(const Tensor& v, const Tensor& x) {  // 2 x erfcx(x) - 2 / sqrt(pi)
  // (2 x) first, as torch: at the largest floats it overflows to inf as torch's does
  const Tensor scaled_twice = mul(mul(x, Scalar(2.0)), unary(UnaryOp::Erfcx, x));
  return mul(v, sub(scaled_twice, Scalar(kTwoOverSqrtPi)));
}

// The machine epsilon of a floating dtype.
double machine_epsilon(DType dtype) {
  switch (dtype) {
    case DType::Float64:
      return std::numeric_limits<double>::epsilon();
    case DType::Float16:
      return 0.0009765625;  // 2^-10
    case DType::BFloat16:
      return 0.0078125;  // 2^-7
    default:
      return std::numeric_limits<float>::epsilon();
  }
}

// The slope of the odd f = i1 or i1e: i0(x) - i1(x) / x, or i0e(x) - i1e(x) (sign(x) + 1 / x).
// It is 1/2 + O(x^2) near 0, and torch takes 1/2 wherever |x| > eps fails (NaN
// included). The formula runs on a stand-in there, so no 0/0 reaches the graph
// of a second derivative.
Tensor odd_bessel_slope(UnaryOp f, const Tensor& x) {
  const Tensor away_from_zero =
      compare(BinaryOp::Gt, unary(UnaryOp::Abs, x), Scalar(machine_epsilon(x->dtype())));
  const Tensor safe_x = where(away_from_zero, x, ones({}, x->dtype()));
  const Tensor slope =
      f == UnaryOp::I1 ? sub(unary(UnaryOp::I0, safe_x), div(unary(UnaryOp::I1, safe_x), safe_x))
                       : sub(unary(UnaryOp::I0e, safe_x),
                             mul(unary(UnaryOp::I1e, safe_x),
                                 add(sign(safe_x), unary(UnaryOp::Reciprocal, safe_x))));
  return where(away_from_zero, slope, full({}, Scalar(0.5), x->dtype()));
}

Tensor i0_derivative(const Tensor& v, const Tensor& x) { return mul(v, unary(UnaryOp::I1, x)); }
Tensor i0e_derivative(const Tensor& v, const Tensor& x) {  // i1e(x) - sign(x) i0e(x)
  return mul(v, sub(unary(UnaryOp::I1e, x), mul(sign(x), unary(UnaryOp::I0e, x))));
}
Tensor i1_derivative(const Tensor& v, const Tensor& x) {
  return mul(v, odd_bessel_slope(UnaryOp::I1, x));
}
Tensor i1e_derivative(const Tensor& v, const Tensor& x) {
  return mul(v, odd_bessel_slope(UnaryOp::I1e, x));
}

// In UnaryOp's order (checked below).
constexpr UnaryEntry kUnaryTable[] = {
    {UnaryOp::Neg, "neg", "NegBackward0", Saves::Nothing, neg_derivative},
    {UnaryOp::Exp, "exp", "ExpBackward0", Saves::Result, exp_derivative},
    {UnaryOp::Log, "log", "LogBackward0", Saves::Input, log_derivative},
    {UnaryOp::Sqrt, "sqrt", "SqrtBackward0", Saves::Result, sqrt_derivative},
    {UnaryOp::Abs, "abs", "AbsBackward0", Saves::Input, abs_derivative},
    {UnaryOp::Sin, "sin", "SinBackward0", Saves::Input, sin_derivative},
    {UnaryOp::Cos, "cos", "CosBackward0", Saves::Input, cos_derivative},
    {UnaryOp::Tanh, "tanh", "TanhBackward0", Saves::Result, tanh_derivative},
    {UnaryOp::Sigmoid, "sigmoid", "SigmoidBackward0", Saves::Result, sigmoid_derivative},
    {UnaryOp::Relu, "relu", "ReluBackward0", Saves::Result, relu_derivative},
    {UnaryOp::Reciprocal, "reciprocal", "ReciprocalBackward0", Saves::Result,
     reciprocal_derivative},
    {UnaryOp::Sign, "sign", "SignBackward0", Saves::Nothing, zero_derivative},
    // torch records square as x ** 2: PowBackward0, made by unary() itself.
    {UnaryOp::Square, "square", nullptr, Saves::Input, square_derivative},
    {UnaryOp::Log1p, "log1p", "Log1PBackward0", Saves::Input, log1p_derivative},
    {UnaryOp::Expm1, "expm1", "Expm1Backward0", Saves::Result, expm1_derivative},
    {UnaryOp::Rsqrt, "rsqrt", "RsqrtBackward0", Saves::Result, rsqrt_derivative},
    {UnaryOp::Floor, "floor", "FloorBackward0", Saves::Nothing, zero_derivative},
    {UnaryOp::Ceil, "ceil", "CeilBackward0", Saves::Nothing, zero_derivative},
    {UnaryOp::Round, "round", "RoundBackward0", Saves::Nothing, zero_derivative},
    {UnaryOp::Trunc, "trunc", "TruncBackward0", Saves::Nothing, zero_derivative},
    {UnaryOp::Erf, "erf", "ErfBackward0", Saves::Input, erf_derivative},
    {UnaryOp::Tan, "tan", "TanBackward0", Saves::Result, tan_derivative},
    {UnaryOp::Sinh, "sinh", "SinhBackward0", Saves::Input, sinh_derivative},
    {UnaryOp::Cosh, "cosh", "CoshBackward0", Saves::Input, cosh_derivative},
    {UnaryOp::Asin, "asin", "AsinBackward0", Saves::Input, asin_derivative},
    {UnaryOp::Acos, "acos", "AcosBackward0", Saves::Input, acos_derivative},
    {UnaryOp::Atan, "atan", "AtanBackward0", Saves::Input, atan_derivative},
    {UnaryOp::Asinh, "asinh", "AsinhBackward0", Saves::Input, asinh_derivative},
    {UnaryOp::Acosh, "acosh", "AcoshBackward0", Saves::Input, acosh_derivative},
    {UnaryOp::Atanh, "atanh", "AtanhBackward0", Saves::Input, atanh_derivative},
    {UnaryOp::Erfinv, "erfinv", "ErfinvBackward0", Saves::Input, erfinv_derivative},
    {UnaryOp::Log2, "log2", "Log2Backward0", Saves::Input, log2_derivative},
    {UnaryOp::Log10, "log10", "Log10Backward0", Saves::Input, log10_derivative},
    {UnaryOp::Exp2, "exp2", "Exp2Backward0", Saves::Result, exp2_derivative},
    {UnaryOp::Silu, "silu", "SiluBackward0", Saves::Input, silu_derivative},
    {UnaryOp::Lgamma, "lgamma", "LgammaBackward0", Saves::Input, lgamma_derivative},
    {UnaryOp::Digamma, "digamma", "DigammaBackward0", Saves::Input, digamma_derivative},
    {UnaryOp::Erfc, "erfc", "ErfcBackward0", Saves::Input, erfc_derivative},
    // torch.special's names carry a "special_" prefix here (Python binds them
    // as _special_<name>); torch has derivatives for the first seven only.
    {UnaryOp::Ndtri, "special_ndtri", "SpecialNdtriBackward0", Saves::Result, ndtri_derivative},
    {UnaryOp::LogNdtr, "special_log_ndtr", "SpecialLogNdtrBackward0", Saves::Input,
     log_ndtr_derivative},
    {UnaryOp::Erfcx, "special_erfcx", "SpecialErfcxBackward0", Saves::Input, erfcx_derivative},
    {UnaryOp::I0, "i0", "I0Backward0", Saves::Input, i0_derivative},
    {UnaryOp::I0e, "special_i0e", "SpecialI0EBackward0", Saves::Input, i0e_derivative},
    {UnaryOp::I1, "special_i1", "SpecialI1Backward0", Saves::Input, i1_derivative},
    {UnaryOp::I1e, "special_i1e", "SpecialI1EBackward0", Saves::Input, i1e_derivative},
    {UnaryOp::SphericalBesselJ0, "special_spherical_bessel_j0", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::ModifiedBesselI0, "special_modified_bessel_i0", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::ModifiedBesselI1, "special_modified_bessel_i1", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::BesselJ0, "special_bessel_j0", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::BesselJ1, "special_bessel_j1", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::BesselY0, "special_bessel_y0", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::BesselY1, "special_bessel_y1", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::ModifiedBesselK0, "special_modified_bessel_k0", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::ModifiedBesselK1, "special_modified_bessel_k1", nullptr, Saves::Nothing, nullptr},
    {UnaryOp::ScaledModifiedBesselK0, "special_scaled_modified_bessel_k0", nullptr, Saves::Nothing,
     nullptr},
    {UnaryOp::ScaledModifiedBesselK1, "special_scaled_modified_bessel_k1", nullptr, Saves::Nothing,
     nullptr},
    {UnaryOp::AiryAi, "special_airy_ai", nullptr, Saves::Nothing, nullptr},
    // A bool result carries no gradient.
    {UnaryOp::LogicalNot, "logical_not", nullptr, Saves::Nothing, nullptr},
};

static_assert(in_enum_order(kUnaryTable, kUnaryOpCount),
              "kUnaryTable lists every UnaryOp, in order");

// Node factories, one per entry, in the same order.
constexpr auto kNodeFactories =
    node_factories<UnaryNodeBase, UnaryOp, UnaryNode>(std::make_index_sequence<kUnaryOpCount>{});

}  // namespace

const UnaryEntry& unary_entry(UnaryOp op) { return kUnaryTable[static_cast<size_t>(op)]; }

Tensor unary(UnaryOp op, const Tensor& a) {
  Tensor out = unary_kernel(op, a);
  const UnaryEntry& entry = unary_entry(op);
  if (!entry.times_derivative) return out;
  const Tensor& saved_value = entry.saves == Saves::Result ? out : a;
  if (forward_ad::has_tangent(*a)) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, entry.times_derivative(forward_ad::tangent(a), saved_value));
  }
  if (!GradMode::is_enabled() || !a->requires_grad()) return out;
  if (op == UnaryOp::Square) {
    record_binary(BinaryFn::PowScalar, out, a, Scalar(2.0));  // x ** 2 as torch records it
    return out;
  }
  std::shared_ptr<UnaryNodeBase> node = kNodeFactories[static_cast<size_t>(op)]();
  set_history(node, {&a}, out);
  if (entry.saves != Saves::Nothing)
    node->saved = SavedTensor(saved_value, entry.saves == Saves::Result);
  return out;
}

}  // namespace ember
