// Kernels of the parameterized activations. Each formula follows torch's
// CPU kernel at the kinks and the infinities, and at NaN its vectorized
// kernel (Note [NaN in activation gradients]).

#include "ember/kernels/activation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ember/dtype.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/multiversion.h"
#include "ember/kernels/vector_math.h"
#include "ember/parallel.h"

namespace ember {

namespace {

// ---- scalar formulas, in the compute type T ----

// Calls k with op's value x -> f(x).
template <typename T, typename Continue>
void with_value(ActivationOp op, const ActivationArgs& p, Continue&& k) {
  if constexpr (!std::is_floating_point_v<T>) {  // the ops that keep integers
    const T a = static_cast<T>(p.a), b = static_cast<T>(p.b);
    if (op == ActivationOp::Hardtanh) return k([=](T x) { return std::min(std::max(x, a), b); });
    if (op == ActivationOp::Threshold) return k([=](T x) { return x <= a ? b : x; });
    throw std::logic_error("activation on integers");
  } else {
    const T a = static_cast<T>(p.a), b = static_cast<T>(p.b), c = static_cast<T>(p.c);
    switch (op) {
      case ActivationOp::LeakyRelu:
        return k([=](T x) { return x > T(0) ? x : x * a; });
      case ActivationOp::Elu:
      case ActivationOp::Celu:
        return k([=](T x) { return x <= T(0) ? std::expm1(x * c) * (a * b) : x * b; });
      case ActivationOp::Hardtanh:  // clamp: a NaN stays NaN
        return k([=](T x) { return std::min(std::max(x, a), b); });
      case ActivationOp::Softplus:
        return k([=](T x) { return x * a > b ? x : std::log1p(std::exp(x * a)) / a; });
      case ActivationOp::Hardsigmoid:
        return k([](T x) { return std::min(std::max(x + T(3), T(0)), T(6)) / T(6); });
      case ActivationOp::Hardswish:  // x * 0 below -3: NaN at -inf, as torch's
        return k([](T x) { return x * std::min(std::max(x + T(3), T(0)), T(6)) / T(6); });
      case ActivationOp::Mish:
        return k([](T x) { return x * std::tanh(std::log1p(std::exp(x))); });
      case ActivationOp::LogSigmoid:
        return k([](T x) { return std::min(x, T(0)) - std::log1p(std::exp(-std::abs(x))); });
      case ActivationOp::Hardshrink:
        return k([=](T x) { return x >= -a && x <= a ? T(0) : x; });
      case ActivationOp::Softshrink:  // a NaN stays NaN; +0 inside the band
        return k([=](T x) { return x > a ? x - a : (x < -a ? x + a : (x == x ? T(0) : x)); });
      case ActivationOp::Threshold:
        return k([=](T x) { return x <= a ? b : x; });
      case ActivationOp::Logit:
        if (p.has_eps) {
          const T hi = T(1) - a;
          return k([=](T x) {
            const T z = x < a ? a : (x > hi ? hi : x);
            return std::log(z / (T(1) - z));
          });
        }
        return k([](T x) { return std::log(x / (T(1) - x)); });
      case ActivationOp::Frac:
        return k([](T x) { return x - std::trunc(x); });
      case ActivationOp::NanToNum:
        return k([=](T x) {  // selects, so the loop vectorizes
          const T inf = std::numeric_limits<T>::infinity();
          return x != x ? a : (x == inf ? b : (x == -inf ? c : x));
        });
    }
    throw std::logic_error("unknown activation");
  }
}

// Note [NaN in activation gradients]
// torch's CPU activations have a vectorized kernel for the body of a tensor
// and a scalar one for the tail (up to 31 elements, all of a small tensor), and at
// a NaN input they disagree: elu's scalar gradient is the linear slope, its
// vectorized one NaN; hardtanh's scalar gradient passes, its vectorized one
// is 0. Ember follows the vectorized kernels everywhere (what a NaN meets in
// a real model); the comparisons are written so a NaN takes the same branch.

// Calls k with (g, s) -> g * f'(x), s being x or, when from_result, f(x).
template <typename T, typename Continue>
void with_derivative(ActivationOp op, const ActivationArgs& p, bool from_result, Continue&& k) {
  const T a = static_cast<T>(p.a), b = static_cast<T>(p.b), c = static_cast<T>(p.c);
  const T zero(0);
  switch (op) {
    case ActivationOp::LeakyRelu:  // from the result too: the slope keeps the sign
      return k([=](T g, T s) { return s > zero ? g : g * a; });
    case ActivationOp::Elu:
    case ActivationOp::Celu:
      if (from_result) return k([=](T g, T y) { return y > zero ? g * b : g * c * (y + a * b); });
      return k([=](T g, T x) { return x > zero ? g * b : g * c * (a * b) * std::exp(x * c); });
    case ActivationOp::Hardtanh:
      return k([=](T g, T x) { return x > a && x < b ? g : zero; });
    case ActivationOp::Softplus:
      return k([=](T g, T x) {
        const T z = std::exp(x * a);
        return x * a > b ? g : g * z / (z + T(1));
      });
    case ActivationOp::Hardsigmoid:
      return k([=](T g, T x) { return x > T(-3) && x < T(3) ? g / T(6) : zero; });
    case ActivationOp::Hardswish:
      return k([=](T g, T x) {
        if (x <= T(-3)) return zero;
        return x >= T(3) ? g : g * (x / T(3) + T(0.5));
      });
    case ActivationOp::Mish:
      return k([](T g, T x) {
        const T sigmoid = T(1) / (T(1) + std::exp(-x));
        const T t = std::tanh(std::log1p(std::exp(x)));
        return g * (t + x * sigmoid * (T(1) - t * t));
      });
    case ActivationOp::LogSigmoid:
      return k([=](T g, T x) {
        const T z = std::exp(-std::abs(x));
        return x < zero ? g * (T(1) - z / (T(1) + z)) : g * (z / (T(1) + z));
      });
    case ActivationOp::Hardshrink:
    case ActivationOp::Softshrink:
      return k([=](T g, T x) { return x < -a || x > a ? g : zero; });
    case ActivationOp::Threshold:
      return k([=](T g, T s) { return s <= a ? zero : g; });
    case ActivationOp::Logit:
      if (p.has_eps) {
        const T hi = T(1) - a;
        return k([=](T g, T x) { return x >= a && x <= hi ? g / (x * (T(1) - x)) : zero; });
      }
      return k([=](T g, T x) {
        return x < zero || x > T(1) ? std::numeric_limits<T>::quiet_NaN() : g / (x * (T(1) - x));
      });
    case ActivationOp::Frac:
      return k([](T g, T) { return g; });
    case ActivationOp::NanToNum:
      return k([=](T g, T x) { return x - x == zero ? g : zero; });  // finite x
  }
  throw std::logic_error("unknown activation");
}

// ---- float32 paths of the exp/log ops: the vector kernels on chunks ----

// Note [Activation chunks]
// elu, softplus, mish and logsigmoid are a few arithmetic steps around one
// or two transcendental calls. On float32 each chunk first runs the
// transcendental over a stack buffer with the vector kernels (libm's scalar
// exp would cost ~10x), then the arithmetic as a loop the compiler
// vectorizes: restrict pointers and parameters passed by value, so nothing
// the loop writes can change what it reads. Arguments are clamped before exp
// so no lane overflows where the final select throws it away anyway.
constexpr int64_t kChunk = 256;
#define EMBER_ALWAYS_INLINE inline __attribute__((always_inline))

bool has_float_chunks(ActivationOp op) {
  return op == ActivationOp::Elu || op == ActivationOp::Celu || op == ActivationOp::Softplus ||
         op == ActivationOp::Mish || op == ActivationOp::LogSigmoid;
}

// expm1(u) given e = exp(u): e - 1 loses digits to cancellation near 0,
// where the Taylor series to u^6 is exact to float32 (|u| < 0.25: the next
// term is below 2^-24 relative).
EMBER_ALWAYS_INLINE float expm1_from_exp(float u, float e) {
  const float series =
      u * (1.0f + u * (0.5f + u * (1.0f / 6 + u * (1.0f / 24 + u * (1.0f / 120 + u / 720)))));
  return std::abs(u) < 0.25f ? series : e - 1.0f;
}

// t = tanh(softplus(x)) = ((1+e)^2 - 1) / ((1+e)^2 + 1) with e = exp(x): one
// exp instead of exp, log1p and tanh. Past x = 20 it is 1 in float32.
EMBER_ALWAYS_INLINE void tanh_softplus(const float* __restrict x, float* __restrict t, int64_t n) {
  for (int64_t i = 0; i < n; ++i) t[i] = std::min(x[i], 20.0f);
  exp_contiguous(t, t, n);
  for (int64_t i = 0; i < n; ++i) {
    const float e2 = t[i] * t[i] + 2.0f * t[i];
    t[i] = x[i] > 20.0f ? 1.0f : e2 / (e2 + 2.0f);
  }
}

// Runs chunk(x + s, out + s, m) over [0, n) in chunks of kChunk.
template <typename Chunk>
EMBER_ALWAYS_INLINE void in_chunks(int64_t n, Chunk&& chunk) {
  for (int64_t s = 0; s < n; s += kChunk) chunk(s, std::min(kChunk, n - s));
}

// x <= 0 ? neg * expm1(c x) : pos * x
EMBER_ALWAYS_INLINE void elu_values(const float* __restrict x, float* __restrict out, int64_t n,
                                    float neg, float pos, float c) {
  alignas(64) float u[kChunk], e[kChunk];
  in_chunks(n, [&](int64_t s, int64_t m) {
    for (int64_t i = 0; i < m; ++i) u[i] = std::min(x[s + i], 0.0f) * c;
    exp_contiguous(u, e, m);
    for (int64_t i = 0; i < m; ++i) {
      const float em1 = expm1_from_exp(u[i], e[i]);
      out[s + i] = x[s + i] <= 0.0f ? em1 * neg : x[s + i] * pos;
    }
  });
}

// g * (x > 0 ? pos : c * neg * exp(c x)); a NaN takes the exp side.
EMBER_ALWAYS_INLINE void elu_derivatives(const float* __restrict g, const float* __restrict x,
                                         float* __restrict out, int64_t n, float neg, float pos,
                                         float c) {
  alignas(64) float e[kChunk];
  in_chunks(n, [&](int64_t s, int64_t m) {
    for (int64_t i = 0; i < m; ++i) e[i] = std::min(x[s + i], 0.0f) * c;
    exp_contiguous(e, e, m);
    for (int64_t i = 0; i < m; ++i) {
      const float slope = x[s + i] != x[s + i] ? x[s + i] : c * neg * e[i];
      out[s + i] = x[s + i] > 0.0f ? g[s + i] * pos : g[s + i] * slope;
    }
  });
}

// beta x > threshold ? x : log1p(exp(beta x)) / beta
EMBER_ALWAYS_INLINE void softplus_values(const float* __restrict x, float* __restrict out,
                                         int64_t n, float beta, float threshold) {
  alignas(64) float t[kChunk];
  in_chunks(n, [&](int64_t s, int64_t m) {
    for (int64_t i = 0; i < m; ++i) t[i] = std::min(x[s + i] * beta, threshold);
    exp_contiguous(t, t, m);
    log1p_contiguous(t, t, m);
    for (int64_t i = 0; i < m; ++i)
      out[s + i] = x[s + i] * beta > threshold ? x[s + i] : t[i] / beta;
  });
}

// g * (beta x > threshold ? 1 : z / (z + 1)), z = exp(beta x)
EMBER_ALWAYS_INLINE void softplus_derivatives(const float* __restrict g, const float* __restrict x,
                                              float* __restrict out, int64_t n, float beta,
                                              float threshold) {
  alignas(64) float z[kChunk];
  in_chunks(n, [&](int64_t s, int64_t m) {
    for (int64_t i = 0; i < m; ++i) z[i] = std::min(x[s + i] * beta, threshold);
    exp_contiguous(z, z, m);
    for (int64_t i = 0; i < m; ++i) {
      out[s + i] = x[s + i] * beta > threshold ? g[s + i] : g[s + i] * z[i] / (z[i] + 1.0f);
    }
  });
}

EMBER_ALWAYS_INLINE void mish_values(const float* __restrict x, float* __restrict out, int64_t n) {
  alignas(64) float t[kChunk];
  in_chunks(n, [&](int64_t s, int64_t m) {
    tanh_softplus(x + s, t, m);
    for (int64_t i = 0; i < m; ++i) out[s + i] = x[s + i] * t[i];
  });
}

// g * (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x))
EMBER_ALWAYS_INLINE void mish_derivatives(const float* __restrict g, const float* __restrict x,
                                          float* __restrict out, int64_t n) {
  alignas(64) float t[kChunk], sig[kChunk];
  in_chunks(n, [&](int64_t s, int64_t m) {
    tanh_softplus(x + s, t, m);
    sigmoid_contiguous(x + s, sig, m);
    for (int64_t i = 0; i < m; ++i) {
      out[s + i] = g[s + i] * (t[i] + x[s + i] * sig[i] * (1.0f - t[i] * t[i]));
    }
  });
}

// min(x, 0) - log1p(exp(-|x|))
EMBER_ALWAYS_INLINE void logsigmoid_values(const float* __restrict x, float* __restrict out,
                                           int64_t n) {
  alignas(64) float t[kChunk];
  in_chunks(n, [&](int64_t s, int64_t m) {
    for (int64_t i = 0; i < m; ++i) t[i] = -std::abs(x[s + i]);
    exp_contiguous(t, t, m);
    log1p_contiguous(t, t, m);
    for (int64_t i = 0; i < m; ++i) out[s + i] = std::min(x[s + i], 0.0f) - t[i];
  });
}

// g * (x < 0 ? 1 - q : q), q = z / (1 + z), z = exp(-|x|)
EMBER_ALWAYS_INLINE void logsigmoid_derivatives(const float* __restrict g,
                                                const float* __restrict x, float* __restrict out,
                                                int64_t n) {
  alignas(64) float z[kChunk];
  in_chunks(n, [&](int64_t s, int64_t m) {
    for (int64_t i = 0; i < m; ++i) z[i] = -std::abs(x[s + i]);
    exp_contiguous(z, z, m);
    for (int64_t i = 0; i < m; ++i) {
      const float q = z[i] / (1.0f + z[i]);
      out[s + i] = x[s + i] < 0.0f ? g[s + i] * (1.0f - q) : g[s + i] * q;
    }
  });
}

EMBER_ALWAYS_INLINE void float_value_chunks(ActivationOp op, const ActivationArgs& p,
                                            const float* x, float* out, int64_t n) {
  const float a = float(p.a), b = float(p.b), c = float(p.c);
  switch (op) {
    case ActivationOp::Elu:
    case ActivationOp::Celu:
      return elu_values(x, out, n, a * b, b, c);
    case ActivationOp::Softplus:
      return softplus_values(x, out, n, a, b);
    case ActivationOp::Mish:
      return mish_values(x, out, n);
    case ActivationOp::LogSigmoid:
      return logsigmoid_values(x, out, n);
    default:
      throw std::logic_error("no float chunks for this activation");
  }
}

EMBER_ALWAYS_INLINE void float_derivative_chunks(ActivationOp op, const ActivationArgs& p,
                                                 const float* g, const float* x, float* out,
                                                 int64_t n) {
  const float a = float(p.a), b = float(p.b), c = float(p.c);
  switch (op) {
    case ActivationOp::Elu:
    case ActivationOp::Celu:
      return elu_derivatives(g, x, out, n, a * b, b, c);
    case ActivationOp::Softplus:
      return softplus_derivatives(g, x, out, n, a, b);
    case ActivationOp::Mish:
      return mish_derivatives(g, x, out, n);
    case ActivationOp::LogSigmoid:
      return logsigmoid_derivatives(g, x, out, n);
    default:
      throw std::logic_error("no float chunks for this activation");
  }
}

// out[i] = f(x[i]); f by value and restrict pointers, so the loop keeps the
// parameters in registers and vectorizes.
template <typename T, typename F>
inline void map_loop(const T* __restrict x, T* __restrict out, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

template <typename T, typename F>
inline void zip_loop(const T* __restrict g, const T* __restrict s, T* __restrict out, int64_t n,
                     F f) {
  for (int64_t i = 0; i < n; ++i) out[i] = f(g[i], s[i]);
}

// The float32 loops, one clone per CPU level (multiversion.h). flatten
// inlines the formula and its loop into each clone, so they compile for it.
EMBER_MULTIVERSION __attribute__((flatten)) void float_values(ActivationOp op,
                                                              const ActivationArgs& p,
                                                              const float* x, float* out,
                                                              int64_t n) {
  if (has_float_chunks(op)) {
    float_value_chunks(op, p, x, out, n);
  } else {
    with_value<float>(op, p, [&](auto f) { map_loop(x, out, n, f); });
  }
}

EMBER_MULTIVERSION __attribute__((flatten)) void float_derivatives(ActivationOp op,
                                                                   const ActivationArgs& p,
                                                                   bool from_result, const float* g,
                                                                   const float* s, float* out,
                                                                   int64_t n) {
  if (has_float_chunks(op) && !from_result) {
    float_derivative_chunks(op, p, g, s, out, n);
  } else {
    with_derivative<float>(op, p, from_result, [&](auto f) { zip_loop(g, s, out, n, f); });
  }
}

// torch's range check of the parameters threshold stores in an integer
// input's dtype (a value of -2 into uint8).
void check_integer_params(DType t, const ActivationArgs& p) {
  EMBER_DISPATCH_ALL(t, T, [&] {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      (void)Scalar(p.a).checked_to<T>();
      (void)Scalar(p.b).checked_to<T>();
    }
  });
}

int64_t grain(ActivationOp op) {
  const bool heavy = has_float_chunks(op) || op == ActivationOp::Logit;
  return heavy ? kParallelGrainHeavy : kParallelGrain;
}

Tensor contiguous(const Tensor& t) {
  if (t->is_contiguous()) return t;
  Tensor out = empty(t->shape(), t->dtype());
  copy_kernel(out, t);
  return out;
}

}  // namespace

Tensor activation_kernel(ActivationOp op, const Tensor& x, const ActivationArgs& args) {
  if (op == ActivationOp::Threshold && is_integral(x->dtype())) {
    check_integer_params(x->dtype(), args);  // hardtanh's bounds go unchecked, as torch's
  }
  const DType dt = kernel_dtype(x->dtype());  // Note [Compute dtypes]
  if (dt != x->dtype()) return convert(activation_kernel(op, convert(x, dt), args), x->dtype());
  const Tensor in = contiguous(x);
  Tensor out = empty(in->shape(), dt);
  const int64_t n = in->numel();
  if (dt == DType::Float32) {
    const float* px = in->data<float>();
    float* po = out->data<float>();
    parallel_for(n, grain(op),
                 [&](int64_t b, int64_t e) { float_values(op, args, px + b, po + b, e - b); });
    return out;
  }
  EMBER_DISPATCH(dt, T, [&] {
    if constexpr (std::is_same_v<T, bool>) {
      throw std::logic_error("activation on bool");
    } else {
      with_value<T>(op, args, [&](auto f) {
        const T* px = in->data<T>();
        T* po = out->data<T>();
        parallel_for(n, grain(op),
                     [&](int64_t b, int64_t e) { map_loop(px + b, po + b, e - b, f); });
      });
    }
  });
  return out;
}

Tensor activation_backward_kernel(ActivationOp op, const Tensor& grad, const Tensor& saved,
                                  const ActivationArgs& args, bool from_result) {
  const DType dt = kernel_dtype(grad->dtype());  // Note [Compute dtypes]
  if (dt != grad->dtype()) {
    return convert(
        activation_backward_kernel(op, convert(grad, dt), convert(saved, dt), args, from_result),
        grad->dtype());
  }
  const Tensor g = contiguous(grad), s = contiguous(convert(saved, dt));
  Tensor out = empty(g->shape(), dt);
  const int64_t n = g->numel();
  if (dt == DType::Float32) {
    const float* pg = g->data<float>();
    const float* ps = s->data<float>();
    float* po = out->data<float>();
    parallel_for(n, grain(op), [&](int64_t b, int64_t e) {
      float_derivatives(op, args, from_result, pg + b, ps + b, po + b, e - b);
    });
    return out;
  }
  EMBER_DISPATCH_FLOAT(dt, T, [&] {
    with_derivative<T>(op, args, from_result, [&](auto f) {
      const T* pg = g->data<T>();
      const T* ps = s->data<T>();
      T* po = out->data<T>();
      parallel_for(n, grain(op),
                   [&](int64_t b, int64_t e) { zip_loop(pg + b, ps + b, po + b, e - b, f); });
    });
  });
  return out;
}

}  // namespace ember
