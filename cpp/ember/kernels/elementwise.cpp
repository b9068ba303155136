#include "ember/kernels/elementwise.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "ember/kernels/loops.h"
#include "ember/kernels/multiversion.h"
#include "ember/kernels/special_functions.h"
#include "ember/kernels/vector_math.h"

namespace ember {

// Note [Type promotion]
// As in torch: the result dtype is the highest category among tensors with
// dims; a 0-d tensor or a Python scalar only raises the category (bool < int <
// float), never the width within it. So float32 * float64-0d -> float32,
// int64 * 2.5 -> float32, float32 * float64[3] -> float64.
namespace {

int category(DType t) { return t == DType::Bool ? 0 : is_integral(t) ? 1 : 2; }

DType default_of_category(int c) {
  return c == 0 ? DType::Bool : c == 1 ? DType::Int64 : default_float_dtype();
}

}  // namespace

DType result_type(const Tensor& a, const Tensor& b) {
  const bool a0 = a->dim() == 0, b0 = b->dim() == 0;
  if (a0 == b0) return promote(a->dtype(), b->dtype());
  const DType dimmed = a0 ? b->dtype() : a->dtype();
  const DType zero_d = a0 ? a->dtype() : b->dtype();
  return category(zero_d) > category(dimmed) ? zero_d : dimmed;
}

DType result_type(const Tensor& a, const Scalar& s) {
  if (s.beyond_int64 && a->dtype() == DType::Bool) {  // torch has no uint64 math for bools
    throw std::runtime_error(
        "Promotion for uint16, uint32, uint64 types is not supported, attempted to promote Bool "
        "and UInt64");
  }
  if (category(s.kind) > category(a->dtype())) return default_of_category(category(s.kind));
  return a->dtype();
}

namespace {

// Note [Compute dtypes] for the fused two-operand kernels below: they run on
// the operands converted to grad's compute dtype, and the result is converted back.
template <typename Kernel>
Tensor via_kernel_dtype(const Tensor& grad, const Tensor& other, Kernel kernel) {
  const DType dt = kernel_dtype(grad->dtype());
  return convert(kernel(convert(grad, dt), convert(other, dt)), grad->dtype());
}

}  // namespace

namespace {

// The value an element of dtype t holds after s is stored in it: wrapped for
// the integers, rounded for the half types.
Scalar scalar_as_element_of(DType t, const Scalar& s) {
  return EMBER_DISPATCH_ALL(t, T, [&]() -> Scalar {
    if constexpr (std::is_same_v<T, bool>) {
      return Scalar::boolean(s.value != 0.0);
    } else if constexpr (std::is_integral_v<T>) {
      const int64_t whole = s.is_integral() ? s.int_value : static_cast<int64_t>(s.value);
      return Scalar::integer(static_cast<int64_t>(static_cast<T>(whole)));
    } else {
      return Scalar(static_cast<double>(T(s.value)));
    }
  });
}

}  // namespace

bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }
bool is_bitwise(BinaryOp op) { return op >= BinaryOp::BitAnd && op <= BinaryOp::ShiftRight; }

namespace {

template <typename T>
T int_pow(T base, T exp) {
  if (exp < 0) return base == 1 ? 1 : (base == -1 ? ((exp & 1) ? -1 : 1) : 0);
  T result = 1;
  while (exp) {
    if (exp & 1) result *= base;
    base *= base;
    exp >>= 1;
  }
  return result;
}

template <typename T>
T pow_value(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a || !b;
  } else if constexpr (std::is_integral_v<T>) {
    return int_pow(a, b);
  } else {
    return std::pow(a, b);
  }
}

template <typename T>
T div_value(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!b) throw std::runtime_error("ZeroDivisionError");
    return a;
  } else if constexpr (std::is_integral_v<T>) {
    if (b == 0) throw std::runtime_error("ZeroDivisionError");
    if (b == -1) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
    return a / b;
  } else {
    return a / b;
  }
}

// Python's // and %: the quotient rounds down, the remainder takes b's sign.
// C's / for integers, trunc(a / b) for floats (torch's div_trunc).
template <typename T>
T trunc_div_value(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a;  // refused by check_operands
  } else if constexpr (std::is_integral_v<T>) {
    if (b == 0) throw std::runtime_error("ZeroDivisionError");
    if (b == -1) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
    return a / b;
  } else {
    return std::trunc(a / b);
  }
}

template <typename T>
T floor_div_value(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a;
  } else if constexpr (std::is_integral_v<T>) {
    if (b == 0) throw std::runtime_error("ZeroDivisionError");
    // INT64_MIN / -1 traps on x86; the wrapped result is torch's.
    if (b == -1) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
    const T q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  } else {
    // Python's float floor division (inf // 2 is NaN, -7.5 // inf is -1).
    if (b == 0) return a / b;
    const T mod = std::fmod(a, b);
    T div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div == 0) return std::copysign(T(0), a / b);
    T floored = std::floor(div);
    if (div - floored > T(0.5)) floored += 1;
    return floored;
  }
}

template <typename T>
T remainder_value(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return false;
  } else if constexpr (std::is_integral_v<T>) {
    if (b == 0) throw std::runtime_error("ZeroDivisionError");
    if (b == -1) return 0;  // INT64_MIN % -1 traps on x86
    const T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  } else {
    const T r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
}

// fmod keeps the dividend's sign: trunc division, unlike Python's %.
template <typename T>
T fmod_value(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return false;  // refused by check_operands
  } else if constexpr (std::is_integral_v<T>) {
    if (b == 0) throw std::runtime_error("ZeroDivisionError");
    if (b == -1) return 0;  // INT64_MIN % -1 traps on x86
    return a % b;
  } else {
    return std::fmod(a, b);
  }
}

// Bitwise ops exist for integer types only; check_operands refuses the rest
// before any kernel runs.
// log(e^a + e^b), or log2(2^a + 2^b) in base 2: the larger argument plus
// log1p of the smaller term, which never overflows. Two equal infinities give
// that infinity (their difference would be NaN).
inline double log_add_exp(double a, double b, bool base2) {
  if (std::isinf(a) && a == b) return a;
  const double top = std::max(a, b), gap = -std::fabs(a - b);
  if (std::isnan(a) || std::isnan(b)) return a + b;
  return base2 ? top + std::log1p(std::exp2(gap)) / std::log(2.0) : top + std::log1p(std::exp(gap));
}

template <typename T, typename F>
T integral_only(T a, T b, F f) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(f(a, b));
  } else {
    throw std::logic_error("bitwise op on a floating type");
  }
}

// Shifts by a negative count or past the width give 0 (or -1 for a negative
// value shifted right), as torch's do, instead of C++'s undefined behaviour.
template <typename T>
T shift_left_value(T a, T b) {
  constexpr T bits = static_cast<T>(sizeof(T) * 8);
  if (b < 0 || b >= bits) return 0;
  return static_cast<T>(static_cast<std::make_unsigned_t<T>>(a) << b);
}

template <typename T>
T shift_right_value(T a, T b) {
  constexpr T bits = static_cast<T>(sizeof(T) * 8);
  if (b < 0 || b >= bits) return a < 0 ? -1 : 0;
  return static_cast<T>(a >> b);
}

template <typename T>
T max_value(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return a + b;  // propagate NaN like torch
  }
  return a > b ? a : b;
}

template <typename T>
T min_value(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return a + b;
  }
  return a < b ? a : b;
}

// Runs f over out = f(a, b) with broadcasting. out is contiguous of the broadcast shape.
template <typename T, typename Out, typename F>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  Out* po = out->data<Out>();
  const T* pa = a->data<T>();
  const T* pb = b->data<T>();
  const int64_t n = out->numel();
  if (a->is_contiguous() && b->is_contiguous() && a->shape() == b->shape() && n < kParallelGrain) {
    for (int64_t i = 0; i < n; ++i) po[i] = static_cast<Out>(f(pa[i], pb[i]));
    return;
  }
  const Strides sa = broadcast_strides(a->shape(), a->strides(), out->shape());
  const Strides sb = broadcast_strides(b->shape(), b->strides(), out->shape());
  for_each_row<3>(out->shape(), {&out->strides(), &sa, &sb},
                  [&](const int64_t* off, int64_t len, const int64_t* st) {
                    Out* o = po + off[0];
                    const T* x = pa + off[1];
                    const T* y = pb + off[2];
                    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                      for (int64_t i = 0; i < len; ++i) o[i] = static_cast<Out>(f(x[i], y[i]));
                    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
                      const T yv = *y;
                      for (int64_t i = 0; i < len; ++i) o[i] = static_cast<Out>(f(x[i], yv));
                    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
                      const T xv = *x;
                      for (int64_t i = 0; i < len; ++i) o[i] = static_cast<Out>(f(xv, y[i]));
                    } else {
                      for (int64_t i = 0; i < len; ++i) {
                        o[i * st[0]] = static_cast<Out>(f(x[i * st[1]], y[i * st[2]]));
                      }
                    }
                  });
}

// Calls body(f) with the functor for op on T.
template <typename T, typename Body>
void with_binary_functor(BinaryOp op, Body&& body) {
  switch (op) {
    case BinaryOp::Add:
      return body([](T x, T y) { return static_cast<T>(x + y); });
    case BinaryOp::Sub:
      return body([](T x, T y) { return static_cast<T>(x - y); });
    case BinaryOp::Mul:
      return body([](T x, T y) { return static_cast<T>(x * y); });
    case BinaryOp::Div:
      return body([](T x, T y) { return div_value<T>(x, y); });
    case BinaryOp::Pow:
      return body([](T x, T y) { return pow_value<T>(x, y); });
    case BinaryOp::Maximum:
      return body([](T x, T y) { return max_value<T>(x, y); });
    case BinaryOp::Minimum:
      return body([](T x, T y) { return min_value<T>(x, y); });
    case BinaryOp::FloorDiv:
      return body([](T x, T y) { return floor_div_value<T>(x, y); });
    case BinaryOp::TruncDiv:
      return body([](T x, T y) { return trunc_div_value<T>(x, y); });
    case BinaryOp::Remainder:
      return body([](T x, T y) { return remainder_value<T>(x, y); });
    case BinaryOp::Atan2:
      return body([](T x, T y) {
        return static_cast<T>(std::atan2(static_cast<double>(x), static_cast<double>(y)));
      });
    case BinaryOp::Xlogy:
      return body([](T x, T y) {
        const double xd = static_cast<double>(x), yd = static_cast<double>(y);
        return static_cast<T>(xd == 0 && !std::isnan(yd) ? 0.0 : xd * std::log(yd));
      });
    case BinaryOp::Fmod:
      return body([](T x, T y) { return fmod_value<T>(x, y); });
    case BinaryOp::Copysign:
      return body([](T x, T y) {
        return static_cast<T>(std::copysign(static_cast<double>(x), static_cast<double>(y)));
      });
    case BinaryOp::Hypot:
      return body([](T x, T y) {
        return static_cast<T>(std::hypot(static_cast<double>(x), static_cast<double>(y)));
      });
    case BinaryOp::Logaddexp:
      return body([](T x, T y) {
        return static_cast<T>(log_add_exp(static_cast<double>(x), static_cast<double>(y), false));
      });
    case BinaryOp::Logaddexp2:
      return body([](T x, T y) {
        return static_cast<T>(log_add_exp(static_cast<double>(x), static_cast<double>(y), true));
      });
    case BinaryOp::BitAnd:
      return body(
          [](T x, T y) { return integral_only(x, y, [](auto a, auto b) { return a & b; }); });
    case BinaryOp::BitOr:
      return body(
          [](T x, T y) { return integral_only(x, y, [](auto a, auto b) { return a | b; }); });
    case BinaryOp::BitXor:
      return body(
          [](T x, T y) { return integral_only(x, y, [](auto a, auto b) { return a ^ b; }); });
    case BinaryOp::ShiftLeft:
      if constexpr (std::is_same_v<T, bool>) {
        return body([](T x, T y) { return static_cast<T>(shift_left_value<int64_t>(x, y)); });
      } else {
        return body([](T x, T y) {
          return integral_only(x, y, [](auto a, auto b) { return shift_left_value(a, b); });
        });
      }
    case BinaryOp::ShiftRight:
      if constexpr (std::is_same_v<T, bool>) {
        return body([](T x, T y) { return static_cast<T>(shift_right_value<int64_t>(x, y)); });
      } else {
        return body([](T x, T y) {
          return integral_only(x, y, [](auto a, auto b) { return shift_right_value(a, b); });
        });
      }
    case BinaryOp::Eq:
      return body([](T x, T y) { return x == y; });
    case BinaryOp::Ne:
      return body([](T x, T y) { return x != y; });
    case BinaryOp::Lt:
      return body([](T x, T y) { return x < y; });
    case BinaryOp::Le:
      return body([](T x, T y) { return x <= y; });
    case BinaryOp::Gt:
      return body([](T x, T y) { return x > y; });
    case BinaryOp::Ge:
      return body([](T x, T y) { return x >= y; });
  }
}

DType compute_dtype(BinaryOp op, DType promoted) {
  // True division of integers is float division.
  if ((op == BinaryOp::Div || op == BinaryOp::Atan2 || op == BinaryOp::Xlogy ||
       op == BinaryOp::Copysign) &&
      !is_floating(promoted)) {
    return default_float_dtype();
  }
  return promoted;
}

// In place, the result must fit self's dtype: no float into int, no int into bool.
void check_inplace_result(const Tensor& self, DType result) {
  if (category(result) > category(self->dtype())) {
    throw std::runtime_error(std::string("result type ") + scalar_type_name(result) +
                             " can't be cast to the desired output type " +
                             scalar_type_name(self->dtype()));
  }
}

void run_binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  EMBER_DISPATCH(a->dtype(), T, [&] {
    with_binary_functor<T>(op, [&](auto f) {
      if (is_comparison(op)) {
        binary_loop<T, bool>(out, a, b, f);
      } else {
        binary_loop<T, T>(out, a, b, f);
      }
    });
  });
}

}  // namespace

Scalar typed_alpha(double alpha, DType result) {
  if (result == DType::Bool) return Scalar::boolean(alpha != 0.0);
  if (!is_floating(result)) return Scalar::integer(Scalar(alpha).checked_to<int64_t>());
  return Scalar(alpha);
}

void check_operands(BinaryOp op, DType a, DType b, DType t, bool b_is_scalar) {
  if (op == BinaryOp::Sub && (a == DType::Bool || b == DType::Bool)) {
    if (a == b) {
      throw std::runtime_error(
          "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
          "`logical_xor()` operator instead.");
    }
    throw std::runtime_error(
        "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
        "invert a mask, use the `~` or `logical_not()` operator instead.");
  }
  const char* kernel = nullptr;  // torch's kernel name in its "not implemented" message
  if (t == DType::Bool) {
    if (op == BinaryOp::FloorDiv) kernel = "div_floor_cpu";
    if (op == BinaryOp::TruncDiv) kernel = "div_trunc_cpu";
    if (op == BinaryOp::Remainder) kernel = "remainder_cpu";
    if (op == BinaryOp::Fmod) kernel = "fmod_cpu";
    if (op == BinaryOp::Pow && !(b_is_scalar && b == DType::Bool)) kernel = "pow";  // b ** True
    if (op == BinaryOp::ShiftLeft) kernel = "lshift_cpu";
    if (op == BinaryOp::ShiftRight) kernel = "rshift_cpu";
  }
  if (!is_floating(t)) {  // float-only ops: torch has no integer or bool kernel
    if (op == BinaryOp::Hypot) kernel = "hypot_cpu";
    if (op == BinaryOp::Logaddexp) kernel = "logaddexp_cpu";
    if (op == BinaryOp::Logaddexp2) kernel = "logaddexp2_cpu";
  }
  if (is_floating(t) && is_bitwise(op)) {
    const char* names[] = {"bitwise_and_cpu", "bitwise_or_cpu", "bitwise_xor_cpu", "lshift_cpu",
                           "rshift_cpu"};
    kernel = names[static_cast<int>(op) - static_cast<int>(BinaryOp::BitAnd)];
  }
  if (kernel) {
    throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                              scalar_type_name(t) + "'");
  }
}

Tensor convert(const Tensor& a, DType dtype) {
  if (a->dtype() == dtype) return a;
  Tensor out = empty(a->shape(), dtype);
  copy_kernel(out, a);
  return out;
}

Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b) {
  const DType result = compute_dtype(op, result_type(a, b));
  check_operands(op, a->dtype(), b->dtype(), result);
  const DType dt = kernel_dtype(result);  // Note [Compute dtypes]
  const Shape shape = broadcast_shapes(a->shape(), b->shape());
  Tensor out = empty(shape, is_comparison(op) ? DType::Bool : dt);
  // Operands reach the compute dtype through the op's dtype, so a 0-d int64
  // -100 meets a uint8 tensor as 156, as in torch.
  run_binary(op, out, convert(convert(a, result), dt), convert(convert(b, result), dt));
  return is_comparison(op) ? out : convert(out, result);
}

Tensor binary_scalar_kernel(BinaryOp op, const Tensor& a, const Scalar& s, bool scalar_first) {
  const DType result = compute_dtype(op, result_type(a, s));
  check_operands(op, a->dtype(), s.kind, result, !scalar_first);
  if (op == BinaryOp::Pow && !is_floating(result) && s.is_integral() && s.int_value < 0 &&
      !scalar_first) {
    throw std::runtime_error("Integers to negative integer powers are not allowed.");
  }
  const DType dt = kernel_dtype(result);  // Note [Compute dtypes]
  if (dt != result) {
    // As torch, the number is first cast to the op's dtype: uint8 > -100 compares with 156.
    const Scalar cast = scalar_as_element_of(result, s);
    Tensor computed = binary_scalar_kernel(op, convert(a, dt), cast, scalar_first);
    return is_comparison(op) ? computed : convert(computed, result);
  }
  Tensor ac = convert(a, dt);
  Tensor out = empty(a->shape(), is_comparison(op) ? DType::Bool : dt);
  EMBER_DISPATCH(dt, T, [&] {
    const T sv = s.template to<T>();
    with_binary_functor<T>(op, [&](auto f) {
      auto run = [&](auto* po) {
        using Out = std::remove_pointer_t<decltype(po)>;
        const T* pa = ac->data<T>();
        const int64_t n = out->numel();
        if (ac->is_contiguous() && n < kParallelGrain) {
          if (scalar_first) {
            for (int64_t i = 0; i < n; ++i) po[i] = static_cast<Out>(f(sv, pa[i]));
          } else {
            for (int64_t i = 0; i < n; ++i) po[i] = static_cast<Out>(f(pa[i], sv));
          }
          return;
        }
        for_each_row<2>(out->shape(), {&out->strides(), &ac->strides()},
                        [&](const int64_t* off, int64_t len, const int64_t* st) {
                          Out* o = po + off[0];
                          const T* x = pa + off[1];
                          if (scalar_first) {
                            for (int64_t i = 0; i < len; ++i)
                              o[i * st[0]] = static_cast<Out>(f(sv, x[i * st[1]]));
                          } else if (st[0] == 1 && st[1] == 1) {
                            for (int64_t i = 0; i < len; ++i) o[i] = static_cast<Out>(f(x[i], sv));
                          } else {
                            for (int64_t i = 0; i < len; ++i)
                              o[i * st[0]] = static_cast<Out>(f(x[i * st[1]], sv));
                          }
                        });
      };
      if (is_comparison(op)) {
        run(out->data<bool>());
      } else {
        run(out->data<T>());
      }
    });
  });
  return out;
}

void binary_inplace_kernel(BinaryOp op, const Tensor& self, const Tensor& other) {
  // Compute into a temporary when types differ or other overlaps self in a way
  // a single pass could corrupt; the common same-dtype case writes directly.
  const Shape shape = broadcast_shapes(self->shape(), other->shape());
  if (shape != self->shape()) {
    throw std::runtime_error("output with shape " + shape_str(self->shape()) +
                             " doesn't match the broadcast shape " + shape_str(shape));
  }
  const DType dt = compute_dtype(op, result_type(self, other));
  check_inplace_result(self, dt);
  check_operands(op, self->dtype(), other->dtype(), dt);
  const bool direct = dt == self->dtype() && has_kernels(dt) && other->dtype() == dt &&
                      other->storage() != self->storage();
  if (direct) {
    run_binary(op, self, self, other);
    return;
  }
  copy_kernel(self, binary_kernel(op, self, other));
}

void binary_scalar_inplace_kernel(BinaryOp op, const Tensor& self, const Scalar& s) {
  const DType dt = compute_dtype(op, result_type(self, s));
  check_inplace_result(self, dt);
  check_operands(op, self->dtype(), s.kind, dt, true);
  if (self->is_contiguous() && dt == self->dtype() && has_kernels(dt)) {
    EMBER_DISPATCH(dt, T, [&] {
      const T sv = s.template to<T>();
      with_binary_functor<T>(op, [&](auto f) {
        if constexpr (std::is_same_v<decltype(f(T{}, T{})), bool> && !std::is_same_v<T, bool>) {
          throw std::logic_error("comparison in place");
        } else {
          T* p = self->data<T>();
          const int64_t n = self->numel();
          if (n < kParallelGrain) {
            for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f(p[i], sv));
          } else {
            parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
              for (int64_t i = b; i < e; ++i) p[i] = static_cast<T>(f(p[i], sv));
            });
          }
        }
      });
    });
    return;
  }
  copy_kernel(self, binary_scalar_kernel(op, self, s));
}

namespace {

// The double-precision special functions take every kernel dtype through double.
template <typename T>
double as_double(T x) {
  return static_cast<double>(x);
}

// The inverse of erf in double: a closed-form first guess good to ~2e-3,
// then Halley steps on erf (or on erfc near +-1, where 1 - |y| is exact and
// erf(x) - y would cancel).
// A float stays float (its own-precision algorithm); integer types, which
// never reach float functions, would go through double.
template <typename T>
auto as_floating(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return x;
  } else {
    return static_cast<double>(x);
  }
}

double erfinv_value(double y) {
  if (!(std::abs(y) <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::abs(y) == 1.0) return std::copysign(std::numeric_limits<double>::infinity(), y);
  if (y == 0.0) return y;  // keeps the sign of -0
  const double a = 0.147, pi = 3.14159265358979323846;
  const double ln = std::log1p(-y * y);
  const double t = 2.0 / (pi * a) + ln / 2.0;
  const double m = std::abs(y);
  double x = std::sqrt(std::sqrt(t * t - ln / a) - t);
  for (int step = 0; step < 3; ++step) {
    // f(x) = erf(x) - |y|, written through erfc when |y| is near 1.
    const double f = m > 0.5 ? (1.0 - m) - std::erfc(x) : std::erf(x) - m;
    const double slope = 1.1283791670955126 * std::exp(-x * x);  // 2 / sqrt(pi) e^{-x^2}
    x -= f / (slope + x * f);                                    // Halley: f'' = -2x f'
  }
  return std::copysign(x, y);
}

template <typename T>
T sigmoid_value(T x) {
  return static_cast<T>(1) / (static_cast<T>(1) + std::exp(-x));
}

template <typename T, typename Body>
void with_unary_functor(UnaryOp op, Body&& body) {
  switch (op) {
    case UnaryOp::Neg:
      return body([](T x) { return static_cast<T>(-x); });
    case UnaryOp::Exp:
      return body([](T x) { return std::exp(x); });
    case UnaryOp::Log:
      return body([](T x) { return std::log(x); });
    case UnaryOp::Sqrt:
      return body([](T x) { return std::sqrt(x); });
    case UnaryOp::Abs:
      return body([](T x) { return std::abs(x); });
    case UnaryOp::Sin:
      return body([](T x) { return std::sin(x); });
    case UnaryOp::Erf:
      return body([](T x) { return std::erf(x); });
    case UnaryOp::Erfc:
      return body([](T x) { return std::erfc(x); });
    case UnaryOp::Tan:
      return body([](T x) { return std::tan(x); });
    case UnaryOp::Sinh:
      return body([](T x) { return std::sinh(x); });
    case UnaryOp::Cosh:
      return body([](T x) { return std::cosh(x); });
    case UnaryOp::Asin:
      return body([](T x) { return std::asin(x); });
    case UnaryOp::Acos:
      return body([](T x) { return std::acos(x); });
    case UnaryOp::Atan:
      return body([](T x) { return std::atan(x); });
    case UnaryOp::Asinh:
      return body([](T x) { return std::asinh(x); });
    case UnaryOp::Acosh:
      return body([](T x) { return std::acosh(x); });
    case UnaryOp::Atanh:
      return body([](T x) { return std::atanh(x); });
    case UnaryOp::Erfinv:
      return body([](T x) { return static_cast<T>(erfinv_value(static_cast<double>(x))); });
    case UnaryOp::Lgamma:
      return body([](T x) { return static_cast<T>(lgamma_value(as_floating(x))); });
    case UnaryOp::Digamma:
      return body([](T x) { return static_cast<T>(digamma_value(as_floating(x))); });
    case UnaryOp::Ndtri:
      return body([](T x) { return static_cast<T>(ndtri_value(as_double(x))); });
    case UnaryOp::LogNdtr:
      return body([](T x) { return static_cast<T>(log_ndtr_value(as_double(x))); });
    case UnaryOp::Erfcx:
      return body([](T x) { return static_cast<T>(erfcx_value(as_double(x))); });
    case UnaryOp::I0:
    case UnaryOp::ModifiedBesselI0:
      return body([](T x) { return static_cast<T>(bessel_i0_value(as_double(x))); });
    case UnaryOp::I0e:
      return body([](T x) { return static_cast<T>(bessel_i0e_value(as_double(x))); });
    case UnaryOp::I1:
    case UnaryOp::ModifiedBesselI1:
      return body([](T x) { return static_cast<T>(bessel_i1_value(as_double(x))); });
    case UnaryOp::I1e:
      return body([](T x) { return static_cast<T>(bessel_i1e_value(as_double(x))); });
    case UnaryOp::SphericalBesselJ0:
      return body([](T x) { return static_cast<T>(spherical_bessel_j0_value(as_double(x))); });
    case UnaryOp::BesselJ0:
      return body([](T x) { return static_cast<T>(bessel_j0_value(as_floating(x))); });
    case UnaryOp::BesselJ1:
      return body([](T x) { return static_cast<T>(bessel_j1_value(as_floating(x))); });
    case UnaryOp::BesselY0:
      return body([](T x) { return static_cast<T>(bessel_y0_value(as_floating(x))); });
    case UnaryOp::BesselY1:
      return body([](T x) { return static_cast<T>(bessel_y1_value(as_floating(x))); });
    case UnaryOp::ModifiedBesselK0:
      return body([](T x) { return static_cast<T>(bessel_k0_value(as_floating(x))); });
    case UnaryOp::ModifiedBesselK1:
      return body([](T x) { return static_cast<T>(bessel_k1_value(as_floating(x))); });
    case UnaryOp::ScaledModifiedBesselK0:
      return body([](T x) { return static_cast<T>(bessel_k0e_value(as_floating(x))); });
    case UnaryOp::ScaledModifiedBesselK1:
      return body([](T x) { return static_cast<T>(bessel_k1e_value(as_floating(x))); });
    case UnaryOp::AiryAi:
      return body([](T x) { return static_cast<T>(airy_ai_value(as_floating(x))); });
    case UnaryOp::Cos:
      return body([](T x) { return std::cos(x); });
    case UnaryOp::Tanh:
      return body([](T x) { return std::tanh(x); });
    case UnaryOp::Sigmoid:
      return body([](T x) { return sigmoid_value(x); });
    case UnaryOp::Relu:
      return body([](T x) { return x <= T(0) ? T(0) : x; });  // NaN stays NaN
    case UnaryOp::Reciprocal:
      return body([](T x) { return T(1) / x; });
    case UnaryOp::Sign:
      return body([](T x) { return static_cast<T>((T(0) < x) - (x < T(0))); });
    case UnaryOp::Square:
      return body([](T x) { return x * x; });
    case UnaryOp::Log1p:
      return body([](T x) { return std::log1p(x); });
    case UnaryOp::Expm1:
      return body([](T x) { return std::expm1(x); });
    case UnaryOp::Rsqrt:
      return body([](T x) { return T(1) / std::sqrt(x); });
    case UnaryOp::Floor:
      return body([](T x) { return std::floor(x); });
    case UnaryOp::Ceil:
      return body([](T x) { return std::ceil(x); });
    case UnaryOp::Round:
      return body([](T x) { return std::nearbyint(x); });
    case UnaryOp::Trunc:
      return body([](T x) { return std::trunc(x); });
    case UnaryOp::Log2:
      return body([](T x) { return std::log2(x); });
    case UnaryOp::Log10:
      return body([](T x) { return std::log10(x); });
    case UnaryOp::Exp2:
      return body([](T x) { return std::exp2(x); });
    case UnaryOp::Silu:
      return body([](T x) { return x / (static_cast<T>(1) + std::exp(-x)); });  // torch's form
    case UnaryOp::LogicalNot:
      return body([](T x) { return static_cast<T>(!x); });
  }
}

bool keeps_integer_dtype(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg:
    case UnaryOp::Abs:
    case UnaryOp::Relu:
    case UnaryOp::Sign:
    case UnaryOp::Square:
    case UnaryOp::Floor:
    case UnaryOp::Ceil:
    case UnaryOp::Round:
    case UnaryOp::Trunc:
      return true;
    default:
      return false;
  }
}

}  // namespace

namespace {

// torch's refusals of integer-only unary ops on bool tensors.
void check_bool_unary(UnaryOp op) {
  const char* kernel = nullptr;
  switch (op) {
    case UnaryOp::Neg:
      throw std::runtime_error(
          "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
          "invert a mask, use the `~` or `logical_not()` operator instead.");
    case UnaryOp::Relu:
      throw std::runtime_error("Boolean inputs not supported for relu");
    case UnaryOp::Abs:
      kernel = "abs_cpu";
      break;
    case UnaryOp::Floor:
      kernel = "floor_vml_cpu";
      break;
    case UnaryOp::Ceil:
      kernel = "ceil_vml_cpu";
      break;
    case UnaryOp::Round:
      kernel = "round_vml_cpu";
      break;
    case UnaryOp::Trunc:
      kernel = "trunc_vml_cpu";
      break;
    default:
      return;
  }
  throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for 'Bool'");
}

// torch's CPU kernels of these special functions have no float16 or bfloat16
// form: the kernel name of torch's refusal, or null.
const char* kernel_without_half_types(UnaryOp op) {
  switch (op) {
    case UnaryOp::Ndtri:
      return "ndtri_cpu";
    case UnaryOp::LogNdtr:
      return "log_ndtr_cpu";
    case UnaryOp::Erfcx:
      return "erfcx_cpu";
    case UnaryOp::ModifiedBesselI0:
      return "modified_bessel_i0_cpu";
    case UnaryOp::ModifiedBesselI1:
      return "modified_bessel_i1_cpu";
    case UnaryOp::SphericalBesselJ0:
      return "spherical_bessel_j0_cpu";
    case UnaryOp::BesselJ0:
      return "bessel_j0_cpu";
    case UnaryOp::BesselJ1:
      return "bessel_j1_cpu";
    case UnaryOp::BesselY0:
      return "bessel_y0_cpu";
    case UnaryOp::BesselY1:
      return "bessel_y1_cpu";
    case UnaryOp::ModifiedBesselK0:
      return "modified_bessel_k0_cpu";
    case UnaryOp::ModifiedBesselK1:
      return "modified_bessel_k1_cpu";
    case UnaryOp::ScaledModifiedBesselK0:
      return "scaled_modified_bessel_k0_cpu";
    case UnaryOp::ScaledModifiedBesselK1:
      return "scaled_modified_bessel_k1_cpu";
    case UnaryOp::AiryAi:
      return "airy_ai_cpu";
    default:
      return nullptr;
  }
}

void check_half_unary(UnaryOp op, DType dtype) {
  const char* kernel = kernel_without_half_types(op);
  if (kernel == nullptr || (dtype != DType::Float16 && dtype != DType::BFloat16)) return;
  throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                            scalar_type_name(dtype) + "'");
}

Tensor contiguous_copy(const Tensor& a) {
  Tensor out = empty(a->shape(), a->dtype());
  copy_kernel(out, a);
  return out;
}

// out = f(src) elementwise; out is fresh and contiguous, src any layout.
template <typename T, typename F>
void map_unary(const Tensor& out, const Tensor& src, F f) {
  T* po = out->data<T>();
  const T* pa = src->data<T>();
  const int64_t n = out->numel();
  if (src->is_contiguous() && n < kParallelGrain) {
    for (int64_t i = 0; i < n; ++i) po[i] = static_cast<T>(f(pa[i]));
    return;
  }
  for_each_row<2>(out->shape(), {&out->strides(), &src->strides()},
                  [&](const int64_t* off, int64_t len, const int64_t* st) {
                    T* o = po + off[0];
                    const T* x = pa + off[1];
                    if (st[1] == 1) {
                      for (int64_t i = 0; i < len; ++i) o[i] = static_cast<T>(f(x[i]));
                    } else {
                      for (int64_t i = 0; i < len; ++i) o[i] = static_cast<T>(f(x[i * st[1]]));
                    }
                  });
}

using FloatKernel = void (*)(const float*, float*, int64_t);

// The vectorized float32 kernel for op, if there is one (vector_math.h).
FloatKernel vectorized_float_kernel(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp:
      return exp_contiguous;
    case UnaryOp::Expm1:
      return expm1_contiguous;
    case UnaryOp::Log:
      return log_contiguous;
    case UnaryOp::Log1p:
      return log1p_contiguous;
    case UnaryOp::Sigmoid:
      return sigmoid_contiguous;
    case UnaryOp::Tanh:
      return tanh_contiguous;
    case UnaryOp::Erf:
      return erf_contiguous;
    case UnaryOp::Sin:
      return sin_contiguous;
    case UnaryOp::Cos:
      return cos_contiguous;
    case UnaryOp::Silu:
      return silu_contiguous;
    default:
      return nullptr;
  }
}

// exp, sigmoid and log run at 0.2-0.4 ns per float, like the arithmetic, so
// they split at the same grain (in a chain the ops share each core's slice,
// Note [Chunk ownership]); the others cost 2-8x more per element.
int64_t vectorized_float_grain(UnaryOp op) {
  const bool light = op == UnaryOp::Exp || op == UnaryOp::Sigmoid || op == UnaryOp::Log;
  return light ? kParallelGrain : kParallelGrainHeavy;
}

// out[i] = op(in[i]) for n contiguous floats (out may be in) by op's vector
// kernel, in parallel chunks; false, touching nothing, if op has none.
bool map_vectorized_float(UnaryOp op, const float* in, float* out, int64_t n) {
  const FloatKernel kernel = vectorized_float_kernel(op);
  if (!kernel) return false;
  parallel_for(n, vectorized_float_grain(op),
               [&](int64_t b, int64_t e) { kernel(in + b, out + b, e - b); });
  return true;
}

}  // namespace

bool unary_inplace_kernel(UnaryOp op, const Tensor& self) {
  const DType dt = self->dtype();
  // sin and cos redo large inputs from the input after the vector pass has
  // written the output, so they need separate buffers.
  const bool needs_own_output = op == UnaryOp::Sin || op == UnaryOp::Cos;
  if (!self->is_contiguous() || !is_floating(dt) || kernel_dtype(dt) != dt || needs_own_output)
    return false;
  if (dt == DType::Float32 &&
      map_vectorized_float(op, self->data<float>(), self->data<float>(), self->numel())) {
    return true;
  }
  EMBER_DISPATCH(dt, T, [&] {
    if constexpr (std::is_floating_point_v<T>) {
      T* p = self->data<T>();
      with_unary_functor<T>(op, [&](auto f) {
        parallel_for(self->numel(), kParallelGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) p[i] = static_cast<T>(f(p[i]));
        });
      });
    }
  });
  return true;
}

Tensor unary_kernel(UnaryOp op, const Tensor& a) {
  if (op == UnaryOp::LogicalNot) {
    Tensor out = empty(a->shape(), DType::Bool);
    Tensor b = convert(a, DType::Bool);
    copy_kernel(out, b);
    bool* p = out->data<bool>();
    for (int64_t i = 0; i < out->numel(); ++i) p[i] = !p[i];
    return out;
  }
  if (a->dtype() == DType::Bool) check_bool_unary(op);
  check_half_unary(op, a->dtype());
  if (a->dtype() == DType::Bool && op == UnaryOp::Sign) return contiguous_copy(a);
  DType result = a->dtype();
  if (!is_floating(result) && !keeps_integer_dtype(op)) result = default_float_dtype();
  if (result == DType::Bool) result = DType::Int64;
  const DType dt = kernel_dtype(result);  // Note [Compute dtypes]
  if (dt != result) return convert(unary_kernel(op, convert(a, dt)), result);
  Tensor src = convert(a, dt);
  Tensor out = empty(a->shape(), dt);
  if (dt == DType::Float32 && vectorized_float_kernel(op)) {
    // Strided inputs are gathered first so every layout gives the same values.
    if (!src->is_contiguous()) src = contiguous_copy(src);
    map_vectorized_float(op, src->data<float>(), out->data<float>(), out->numel());
    return out;
  }
  EMBER_DISPATCH(dt, T, [&] {
    if constexpr (std::is_same_v<T, bool>) {
      throw std::logic_error("unary on bool");
    } else {
      with_unary_functor<T>(op, [&](auto f) { map_unary<T>(out, src, f); });
    }
  });
  return out;
}

namespace {

// Multiplies out x ** e for the exponents torch special-cases (PowKernel.cpp),
// in the same operation order so float results match its bit for bit.
template <typename T>
bool pow_by_multiplication(const Tensor& out, const Tensor& src, double e) {
  if (e == 2.0) {
    map_unary<T>(out, src, [](T x) { return x * x; });
  } else if (e == 3.0) {
    map_unary<T>(out, src, [](T x) { return x * x * x; });
  } else if (e == -2.0) {
    map_unary<T>(out, src, [](T x) { return T(1) / (x * x); });
  } else if (e == -1.0) {
    map_unary<T>(out, src, [](T x) { return T(1) / x; });
  } else if (e == 0.5) {
    map_unary<T>(out, src, [](T x) { return std::sqrt(x); });
  } else if (e == -0.5) {
    map_unary<T>(out, src, [](T x) { return T(1) / std::sqrt(x); });
  } else {
    return false;
  }
  return true;
}

}  // namespace

Tensor pow_scalar_kernel(const Tensor& a, const Scalar& s) {
  const DType result = compute_dtype(BinaryOp::Pow, result_type(a, s));
  const DType dt = kernel_dtype(result);  // Note [Compute dtypes]
  if (dt != result) return convert(pow_scalar_kernel(convert(a, dt), s), result);
  if (is_floating(dt)) {
    Tensor src = convert(a, dt);
    Tensor out = empty(a->shape(), dt);
    bool done = false;
    EMBER_DISPATCH_FLOAT(dt, T, [&] { done = pow_by_multiplication<T>(out, src, s.value); });
    if (done) return out;
  }
  return binary_scalar_kernel(BinaryOp::Pow, a, s);
}

namespace {

// out[i] = f(g[i], y[i]) for same-shape operands, one pass.
template <typename F>
Tensor zip_float(const Tensor& grad, const Tensor& other, F f) {
  Tensor o = convert(other, grad->dtype());
  Tensor out = empty(grad->shape(), grad->dtype());
  EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
    T* po = out->data<T>();
    const T* pg = grad->data<T>();
    const T* py = o->data<T>();
    for_each_row<3>(grad->shape(), {&out->strides(), &grad->strides(), &o->strides()},
                    [&](const int64_t* off, int64_t len, const int64_t* st) {
                      T* r = po + off[0];
                      const T* g = pg + off[1];
                      const T* y = py + off[2];
                      if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                        for (int64_t i = 0; i < len; ++i) r[i] = f(g[i], y[i]);
                      } else {
                        for (int64_t i = 0; i < len; ++i) {
                          r[i * st[0]] = f(g[i * st[1]], y[i * st[2]]);
                        }
                      }
                    });
  });
  return out;
}

}  // namespace

// torch's tanh_backward / sigmoid_backward operation order (a * (1 - b * b),
// a * (1 - b) * b), so results match its bit for bit.
Tensor tanh_backward_kernel(const Tensor& grad, const Tensor& result) {
  if (!has_kernels(grad->dtype())) return via_kernel_dtype(grad, result, tanh_backward_kernel);
  return zip_float(grad, result, [](auto g, auto y) { return g * (decltype(y)(1) - y * y); });
}

Tensor sigmoid_backward_kernel(const Tensor& grad, const Tensor& result) {
  if (!has_kernels(grad->dtype())) return via_kernel_dtype(grad, result, sigmoid_backward_kernel);
  return zip_float(grad, result, [](auto g, auto y) { return g * (decltype(y)(1) - y) * y; });
}

namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kGeluBeta = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluKappa = 0.044715;

// float64 GELU on libm; x * erfc(-x / sqrt2) / 2 keeps the negative tail accurate.
double gelu_value(double x, bool tanh_approx) {
  if (tanh_approx) {
    const double u = kGeluBeta * (x + kGeluKappa * x * x * x);
    return 0.5 * x * (1.0 + std::tanh(u));
  }
  return x == -std::numeric_limits<double>::infinity()
             ? std::numeric_limits<double>::quiet_NaN()  // torch: -inf * 0
             : 0.5 * x * std::erfc(-x * kSqrtHalf);
}

double gelu_derivative(double x, bool tanh_approx) {
  if (tanh_approx) {
    const double x2 = x * x;
    const double t = std::tanh(kGeluBeta * (x + kGeluKappa * x2 * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kGeluBeta * (1.0 + 3.0 * kGeluKappa * x2);
  }
  return 0.5 * std::erfc(-x * kSqrtHalf) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
}

Tensor contiguous_float(const Tensor& a) { return a->is_contiguous() ? a : contiguous_copy(a); }

}  // namespace

Tensor gelu_kernel(const Tensor& input, bool tanh_approx) {
  if (!has_kernels(input->dtype())) {
    return convert(gelu_kernel(convert(input, kernel_dtype(input->dtype())), tanh_approx),
                   input->dtype());
  }
  Tensor a = contiguous_float(input);
  Tensor out = empty(a->shape(), a->dtype());
  const int64_t n = a->numel();
  if (a->dtype() == DType::Float32) {
    const float* in = a->data<float>();
    float* o = out->data<float>();
    parallel_for(n, kParallelGrainHeavy,
                 [&](int64_t b, int64_t e) { gelu_contiguous(in + b, o + b, e - b, tanh_approx); });
    return out;
  }
  const double* in = a->data<double>();
  double* o = out->data<double>();
  parallel_for(n, kParallelGrainHeavy, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = gelu_value(in[i], tanh_approx);
  });
  return out;
}

Tensor gelu_backward_kernel(const Tensor& grad, const Tensor& input, bool tanh_approx) {
  if (!has_kernels(grad->dtype())) {
    return via_kernel_dtype(grad, input, [&](const Tensor& g, const Tensor& x) {
      return gelu_backward_kernel(g, x, tanh_approx);
    });
  }
  Tensor g = contiguous_float(grad);
  Tensor a = contiguous_float(convert(input, grad->dtype()));
  Tensor out = empty(g->shape(), g->dtype());
  const int64_t n = g->numel();
  if (g->dtype() == DType::Float32) {
    const float* pg = g->data<float>();
    const float* in = a->data<float>();
    float* o = out->data<float>();
    parallel_for(n, kParallelGrainHeavy, [&](int64_t b, int64_t e) {
      gelu_backward_contiguous(pg + b, in + b, o + b, e - b, tanh_approx);
    });
    return out;
  }
  const double* pg = g->data<double>();
  const double* in = a->data<double>();
  double* o = out->data<double>();
  parallel_for(n, kParallelGrainHeavy, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double d = std::isinf(in[i]) ? std::numeric_limits<double>::quiet_NaN()
                                         : gelu_derivative(in[i], tanh_approx);
      o[i] = pg[i] * d;
    }
  });
  return out;
}

Tensor silu_backward_kernel(const Tensor& grad, const Tensor& input) {
  if (!has_kernels(grad->dtype())) return via_kernel_dtype(grad, input, silu_backward_kernel);
  const Tensor g = contiguous_float(grad), x = contiguous_float(input);
  Tensor out = empty(g->shape(), g->dtype());
  const float* pg = g->data<float>();
  const float* px = x->data<float>();
  float* po = out->data<float>();
  parallel_for(out->numel(), kParallelGrainHeavy, [&](int64_t b, int64_t e) {
    silu_backward_contiguous(pg + b, px + b, po + b, e - b);
  });
  return out;
}

void copy_kernel(const Tensor& dst, const Tensor& src) {
  const Shape shape = broadcast_shapes(dst->shape(), src->shape());
  if (shape != dst->shape()) {
    throw std::runtime_error("The size of tensor a (" + std::to_string(dst->numel()) +
                             ") must match the size of tensor b (" + std::to_string(src->numel()) +
                             ")");
  }
  const Strides ss = broadcast_strides(src->shape(), src->strides(), dst->shape());
  EMBER_DISPATCH_ALL(dst->dtype(), D, [&] {
    EMBER_DISPATCH_ALL(src->dtype(), S, [&] {
      D* pd = dst->data<D>();
      const S* ps = src->data<S>();
      for_each_row<2>(dst->shape(), {&dst->strides(), &ss},
                      [&](const int64_t* off, int64_t len, const int64_t* st) {
                        D* o = pd + off[0];
                        const S* x = ps + off[1];
                        if (st[0] == 1 && st[1] == 1) {
                          for (int64_t i = 0; i < len; ++i) o[i] = static_cast<D>(x[i]);
                        } else {
                          for (int64_t i = 0; i < len; ++i)
                            o[i * st[0]] = static_cast<D>(x[i * st[1]]);
                        }
                      });
    });
  });
}

namespace {

// Selects by bit masks: a random condition makes any branch mispredict, and
// GCC does not turn a select on a bool load into a vector blend by itself.
// `a` or `b` may be one broadcast value (masked_fill's fill, the zero of a
// backward's where). Bool holds 0 or 1, so 0 - cond is all ones or none; it
// is read as bytes because GCC vectorizes no bool-to-integer conversion.
template <typename Bits>
inline void select_bits_row(Bits* __restrict out, const uint8_t* __restrict cond,
                            const Bits* __restrict a, const Bits* __restrict b, int64_t n,
                            bool a_scalar, bool b_scalar) {
  auto pick = [](uint8_t c, Bits x, Bits y) {
    const Bits take_x = Bits(0) - static_cast<Bits>(c);
    return static_cast<Bits>((x & take_x) | (y & ~take_x));
  };
  if (a_scalar) {
    const Bits x = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = pick(cond[i], x, b[i]);
  } else if (b_scalar) {
    const Bits y = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = pick(cond[i], a[i], y);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = pick(cond[i], a[i], b[i]);
  }
}

// Integers that may alias the tensors' elements (float, int32, ...): where
// moves their bits without looking at them.
typedef uint8_t __attribute__((may_alias)) Bits8;
typedef uint16_t __attribute__((may_alias)) Bits16;
typedef uint32_t __attribute__((may_alias)) Bits32;
typedef uint64_t __attribute__((may_alias)) Bits64;

// The 4- and 8-byte rows in vector clones: widening the bool bytes to lane
// masks takes AVX2's vpmovzx (the baseline build scalarizes: 0.7 ns per float).
// target_clones takes no templates, hence one wrapper per width.
EMBER_MULTIVERSION void select_row_32(Bits32* out, const uint8_t* cond, const Bits32* a,
                                      const Bits32* b, int64_t n, bool a_scalar, bool b_scalar) {
  select_bits_row(out, cond, a, b, n, a_scalar, b_scalar);
}
EMBER_MULTIVERSION void select_row_64(Bits64* out, const uint8_t* cond, const Bits64* a,
                                      const Bits64* b, int64_t n, bool a_scalar, bool b_scalar) {
  select_bits_row(out, cond, a, b, n, a_scalar, b_scalar);
}

template <typename T>
void where_row(T* out, const bool* cond_bools, const T* a, const T* b, int64_t n, bool a_scalar,
               bool b_scalar) {
  const auto* cond = reinterpret_cast<const uint8_t*>(cond_bools);
  if constexpr (sizeof(T) == 4) {
    select_row_32(reinterpret_cast<Bits32*>(out), cond, reinterpret_cast<const Bits32*>(a),
                  reinterpret_cast<const Bits32*>(b), n, a_scalar, b_scalar);
  } else if constexpr (sizeof(T) == 8) {
    select_row_64(reinterpret_cast<Bits64*>(out), cond, reinterpret_cast<const Bits64*>(a),
                  reinterpret_cast<const Bits64*>(b), n, a_scalar, b_scalar);
  } else if constexpr (sizeof(T) == 2) {
    select_bits_row(reinterpret_cast<Bits16*>(out), cond, reinterpret_cast<const Bits16*>(a),
                    reinterpret_cast<const Bits16*>(b), n, a_scalar, b_scalar);
  } else {
    static_assert(sizeof(T) == 1);
    select_bits_row(reinterpret_cast<Bits8*>(out), cond, reinterpret_cast<const Bits8*>(a),
                    reinterpret_cast<const Bits8*>(b), n, a_scalar, b_scalar);
  }
}

}  // namespace

Tensor where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(cond->shape(), broadcast_shapes(a->shape(), b->shape()));
  const DType dt = result_type(a, b);
  Tensor ac = convert(a, dt), bc = convert(b, dt), cc = convert(cond, DType::Bool);
  Tensor out = empty(shape, dt);
  const Strides sc = broadcast_strides(cc->shape(), cc->strides(), shape);
  const Strides sa = broadcast_strides(ac->shape(), ac->strides(), shape);
  const Strides sb = broadcast_strides(bc->shape(), bc->strides(), shape);
  EMBER_DISPATCH_ALL(dt, T, [&] {
    T* po = out->data<T>();
    const bool* pc = cc->data<bool>();
    const T* pa = ac->data<T>();
    const T* pb = bc->data<T>();
    for_each_row<4>(shape, {&out->strides(), &sc, &sa, &sb},
                    [&](const int64_t* off, int64_t len, const int64_t* st) {
                      // Contiguous, or one side a broadcast number (masked_fill's value).
                      if (st[0] == 1 && st[1] == 1 && (st[2] == 1 || st[2] == 0) &&
                          (st[3] == 1 || st[3] == 0) && st[2] + st[3] >= 1) {
                        where_row(po + off[0], pc + off[1], pa + off[2], pb + off[3], len,
                                  st[2] == 0, st[3] == 0);
                        return;
                      }
                      for (int64_t i = 0; i < len; ++i) {
                        // Both loaded first: a select, not a branch (see relu_backward_row).
                        const T x = pa[off[2] + i * st[2]];
                        const T y = pb[off[3] + i * st[3]];
                        po[off[0] + i * st[0]] = pc[off[1] + i * st[1]] ? x : y;
                      }
                    });
  });
  return out;
}

namespace {

// One contiguous row. Both values are loaded unconditionally so the compiler
// turns the select into a vector blend: as a branch it mispredicts on about
// every other element of a layer's activations (27 us -> 3 us on 64x256).
template <typename T>
void relu_backward_row(T* __restrict out, const T* __restrict grad, const T* __restrict result,
                       int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T y = result[i];
    out[i] = y <= T(0) ? T(0) : g;
  }
}

}  // namespace

Tensor relu_backward_kernel(const Tensor& grad, const Tensor& result) {
  if (!has_kernels(grad->dtype())) return via_kernel_dtype(grad, result, relu_backward_kernel);
  Tensor r = convert(result, grad->dtype());
  Tensor out = empty(grad->shape(), grad->dtype());
  EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
    T* po = out->data<T>();
    const T* pg = grad->data<T>();
    const T* pr = r->data<T>();
    for_each_row<3>(grad->shape(), {&out->strides(), &grad->strides(), &r->strides()},
                    [&](const int64_t* off, int64_t len, const int64_t* st) {
                      T* o = po + off[0];
                      const T* g = pg + off[1];
                      const T* y = pr + off[2];
                      if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                        relu_backward_row(o, g, y, len);
                      } else {
                        for (int64_t i = 0; i < len; ++i) {
                          const T gi = g[i * st[1]];
                          o[i * st[0]] = y[i * st[2]] <= T(0) ? T(0) : gi;
                        }
                      }
                    });
  });
  return out;
}

}  // namespace ember
