#pragma once
// Elementwise kernels: raw loops over strided, broadcast operands. They know
// nothing of autograd; ops/ wraps them with graph recording.

#include "ember/tensor.h"

namespace ember {

enum class BinaryOp {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  FloorDiv,
  TruncDiv,  // division rounded toward zero (div with rounding_mode='trunc')
  Remainder,
  Atan2,
  Xlogy,       // x * log(y), 0 where x is 0 (unless y is NaN)
  Fmod,        // C's fmod: the remainder takes a's sign (integers: C's %)
  Copysign,    // |a| with b's sign, in floating point
  Hypot,       // sqrt(a^2 + b^2) without overflow or underflow
  Logaddexp,   // log(e^a + e^b)
  Logaddexp2,  // log2(2^a + 2^b)
  BitAnd,      // bitwise ops: integer and bool tensors only
  BitOr,
  BitXor,
  ShiftLeft,
  ShiftRight,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge  // comparisons last: see is_comparison
};
enum class UnaryOp {
  Neg,
  Exp,
  Log,
  Sqrt,
  Abs,
  Sin,
  Cos,
  Tanh,
  Sigmoid,
  Relu,
  Reciprocal,
  Sign,
  Square,
  Log1p,
  Expm1,
  Rsqrt,
  Floor,
  Ceil,
  Round,
  Trunc,
  Erf,
  Tan,
  Sinh,
  Cosh,
  Asin,
  Acos,
  Atan,
  Asinh,
  Acosh,
  Atanh,
  Erfinv,
  Log2,
  Log10,
  Exp2,
  Silu,
  Lgamma,
  Digamma,
  Erfc,
  Ndtri,
  LogNdtr,
  Erfcx,
  I0,
  I0e,
  I1,
  I1e,
  SphericalBesselJ0,
  ModifiedBesselI0,
  ModifiedBesselI1,
  BesselJ0,
  BesselJ1,
  BesselY0,
  BesselY1,
  ModifiedBesselK0,
  ModifiedBesselK1,
  ScaledModifiedBesselK0,
  ScaledModifiedBesselK1,
  AiryAi,
  LogicalNot  // last: UnaryOp's count is LogicalNot + 1
};

bool is_comparison(BinaryOp op);
// Raises torch's error for operand dtypes an op refuses (bool subtraction,
// bitwise ops on floats, ...). `b` is the other operand's dtype or a scalar's
// kind, `t` the dtype the op computes in.
void check_operands(BinaryOp op, DType a, DType b, DType t, bool b_is_scalar = false);
bool is_bitwise(BinaryOp op);

// add/sub's alpha as a number of the result's kind: torch casts it to the
// result dtype, so int tensors stay int (alpha=2) and bool ones bool.
Scalar typed_alpha(double alpha, DType result);

// dtype of `a op b` (torch's rules, see Note [Type promotion]).
DType result_type(const Tensor& a, const Tensor& b);
DType result_type(const Tensor& a, const Scalar& s);

// Fresh contiguous result of `a op b` with broadcasting and promotion.
Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b);
// `a op s`, or `s op a` when scalar_first.
Tensor binary_scalar_kernel(BinaryOp op, const Tensor& a, const Scalar& s,
                            bool scalar_first = false);
// self = self op other (other broadcasts to self's shape; result cast to self's dtype).
void binary_inplace_kernel(BinaryOp op, const Tensor& self, const Tensor& other);
void binary_scalar_inplace_kernel(BinaryOp op, const Tensor& self, const Scalar& s);

// Fresh result of op(a); integer inputs of float functions produce float32.
Tensor unary_kernel(UnaryOp op, const Tensor& a);
// Writes op(self) into self when it can be done without a second buffer (a
// contiguous floating tensor computed in its own dtype) and gives the values
// unary_kernel would; false, touching nothing, otherwise.
bool unary_inplace_kernel(UnaryOp op, const Tensor& self);

// a ** s with torch's special cases for floats: x*x, x*x*x, 1/(x*x), 1/x,
// sqrt and 1/sqrt for exponents 2, 3, -2, -1, 0.5, -0.5; pow otherwise.
Tensor pow_scalar_kernel(const Tensor& a, const Scalar& s);

// Copies src into dst (broadcasting src, converting dtype).
void copy_kernel(const Tensor& dst, const Tensor& src);
// A contiguous copy of `a` converted to `dtype` (a itself if nothing to do).
Tensor convert(const Tensor& a, DType dtype);

// Elementwise where(cond, a, b) on same-dtype operands (broadcasting).
Tensor where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b);

// ReLU's backward in one pass: grad where result > 0 or is NaN, else 0
// (torch's threshold_backward). Both operands have one shape and float dtype.
Tensor relu_backward_kernel(const Tensor& grad, const Tensor& result);
// grad * (1 - y^2) and grad * (1 - y) * y in one pass (same-shape float operands).
Tensor tanh_backward_kernel(const Tensor& grad, const Tensor& result);
Tensor sigmoid_backward_kernel(const Tensor& grad, const Tensor& result);
// float32 only: grad * silu'(input), same shapes.
Tensor silu_backward_kernel(const Tensor& grad, const Tensor& input);

// GELU of a float tensor: x * Phi(x), or torch's tanh approximation.
Tensor gelu_kernel(const Tensor& input, bool tanh_approx);
// grad * gelu'(input) in one pass; grad and input have one shape.
Tensor gelu_backward_kernel(const Tensor& grad, const Tensor& input, bool tanh_approx);

}  // namespace ember
