#include "ember/kernels/optimizer.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ember/kernels/multiversion.h"
#include "ember/parallel.h"

namespace ember {

// Note [Fused optimizer steps]
// torch's optimizers on the CPU run their single-tensor path: per parameter, a
// dozen in-place ops, each a pass over memory. These kernels do the same
// arithmetic in one pass, element by element, operation for operation, so the
// results are torch's bit for bit, but for sqrt (below):
//  - every intermediate is rounded to the parameter dtype T, as torch's
//    separate ops round their outputs, and Python-float hyperparameters are
//    rounded to T where torch's ops convert their scalar arguments (`mul_(b)`,
//    `add_(x, alpha=a)`, `addcmul_(.., value=v)`, ...); the scalar math torch
//    does in Python (bias corrections, `1 - beta`) is done in double;
//  - where torch's vectorized CPU kernel fuses a multiply-add, so does this
//    code, with std::fma: `a.add_(b, alpha=s)` is fma(b, s, a);
//    `a.addcmul_(b, c, value=s)` is fma(s*b, c, a); `a.lerp_(b, w)` is
//    fma(w, b-a, a) for |w| < 0.5, else fma(w-1, b-a, b). `addcdiv_` is
//    a + (s*b)/c, unfused, and a division by a scalar divides (no reciprocal);
//  - the file is compiled with -ffp-contract=off (CMakeLists.txt), so the
//    compiler fuses nothing else;
//  - sqrt is correctly rounded here; torch's CPU sqrt is MKL's (VML, high
//    accuracy), an ulp off for ~0.6% of inputs, so Adam, Adadelta and RMSprop
//    drift from torch by a few ulps over many steps (tests/test_optim_fused.py
//    replaces torch's sqrt with a correctly rounded one and matches bit for bit).
// The loops are built per CPU level (kernels/multiversion.h); std::fma is exact
// on every level, so the level changes the speed, not the result. Each call
// runs all its slots' elements as one parallel range. tests/cpp/optimizer_test.cpp
// checks every option against a scalar transcription of torch's op sequence.

namespace {

// ---- the running of chunks over all slots' elements ----

// Calls chunk(slot, begin, end) over every slot's [0, n), in parallel over the
// concatenation of all the slots' elements.
template <typename Slot, typename Chunk>
void for_all_elements(const std::vector<Slot>& slots, int64_t grain, const Chunk& chunk) {
  std::vector<int64_t> start(slots.size() + 1, 0);
  for (size_t s = 0; s < slots.size(); ++s) start[s + 1] = start[s] + slots[s].n;
  const int64_t total = start.back();
  if (total == 0) return;
  parallel_for(total, grain, [&](int64_t begin, int64_t end) {
    // the last slot starting at or before `begin` (empty slots share starts)
    size_t s = static_cast<size_t>(std::upper_bound(start.begin(), start.end() - 1, begin) -
                                   start.begin()) -
               1;
    while (begin < end) {
      const int64_t stop = std::min(end, start[s + 1]);
      if (stop > begin) chunk(slots[s], s, begin - start[s], stop - start[s]);
      begin = stop;
      ++s;
    }
  });
}

// torch's lerp_ with a scalar weight, in its vectorized form: one fma from
// the nearer end.
template <typename T>
struct Lerp {
  T coeff;     // w, or w - 1 from the far side
  bool small;  // |w| < 0.5: measured from `start`
  explicit Lerp(double weight) {
    const T w = static_cast<T>(weight);
    small = std::abs(w) < T(0.5);
    coeff = small ? w : static_cast<T>(w - T(1));
  }
  T operator()(T start, T end) const { return std::fma(coeff, end - start, small ? start : end); }
};

// torch.maximum: NaN if either is NaN.
template <typename T>
inline T maximum(T a, T b) {
  return (a != a || b != b) ? a + b : (a < b ? b : a);
}

// ---- SGD ----

template <typename T>
struct SgdConsts {
  T sign;          // -1 under maximize (an exact negation)
  bool l2;         // weight_decay != 0
  T weight_decay;  // grad.add(param, alpha=weight_decay)
  T momentum;      // buf.mul_(momentum); grad.add(buf, alpha=momentum)
  T one_minus_dampening;
  bool nesterov;
  T neg_lr;  // param.add_(grad, alpha=-lr)
  explicit SgdConsts(const SgdOptions& o)
      : sign(o.maximize ? T(-1) : T(1)),
        l2(o.weight_decay != 0),
        weight_decay(static_cast<T>(o.weight_decay)),
        momentum(static_cast<T>(o.momentum)),
        one_minus_dampening(static_cast<T>(1 - o.dampening)),
        nesterov(o.nesterov),
        neg_lr(static_cast<T>(-o.lr)) {}
};

template <typename T, bool kL2, bool kMomentum>
inline void sgd_elements(const SgdSlot<T>& s, const SgdConsts<T> c, int64_t begin, int64_t end) {
  T* __restrict param = s.param;
  const T* __restrict grad = s.grad;
  T* __restrict buf = s.momentum_buffer;
  const bool fill = s.fill_buffer;
  for (int64_t i = begin; i < end; ++i) {
    const T p = param[i];
    T g = grad[i] * c.sign;
    if constexpr (kL2) g = std::fma(p, c.weight_decay, g);
    if constexpr (kMomentum) {
      const T b = fill ? g : std::fma(g, c.one_minus_dampening, buf[i] * c.momentum);
      buf[i] = b;
      g = c.nesterov ? std::fma(b, c.momentum, g) : b;
    }
    param[i] = std::fma(g, c.neg_lr, p);
  }
}

// ---- Adam, AdamW ----

template <typename T>
struct AdamConsts {
  T sign;
  bool l2;  // weight_decay != 0 and not decoupled
  T weight_decay;
  T decay;        // param.mul_(1 - lr * weight_decay) (1: exact, when not decoupled)
  Lerp<T> lerp1;  // exp_avg.lerp_(grad, 1 - beta1)
  T beta2, one_minus_beta2;
  T eps;
  explicit AdamConsts(const AdamOptions& o)
      : sign(o.maximize ? T(-1) : T(1)),
        l2(o.weight_decay != 0 && !o.decoupled_weight_decay),
        weight_decay(static_cast<T>(o.weight_decay)),
        decay(o.weight_decay != 0 && o.decoupled_weight_decay
                  ? static_cast<T>(1 - o.lr * o.weight_decay)
                  : T(1)),
        lerp1(1 - o.beta1),
        beta2(static_cast<T>(o.beta2)),
        one_minus_beta2(static_cast<T>(1 - o.beta2)),
        eps(static_cast<T>(o.eps)) {}
};

// The per-parameter scalars torch computes in Python from the step count.
template <typename T>
struct AdamBias {
  T bias_correction2_sqrt;  // (1 - beta2**step) ** 0.5
  T neg_step_size;          // -(lr / (1 - beta1**step))
  AdamBias(const AdamOptions& o, double step) {
    const double bias_correction1 = 1 - std::pow(o.beta1, step);
    const double bias_correction2 = 1 - std::pow(o.beta2, step);
    bias_correction2_sqrt = static_cast<T>(std::pow(bias_correction2, 0.5));
    neg_step_size = static_cast<T>(-(o.lr / bias_correction1));
  }
};

template <typename T, bool kL2, bool kAmsgrad>
inline void adam_elements(const AdamSlot<T>& s, const AdamConsts<T> c, const AdamBias<T> b,
                          int64_t begin, int64_t end) {
  T* __restrict param = s.param;
  const T* __restrict grad = s.grad;
  T* __restrict exp_avg = s.exp_avg;
  T* __restrict exp_avg_sq = s.exp_avg_sq;
  T* __restrict max_exp_avg_sq = s.max_exp_avg_sq;
  for (int64_t i = begin; i < end; ++i) {
    const T p0 = param[i];
    T g = grad[i] * c.sign;
    if constexpr (kL2) g = std::fma(p0, c.weight_decay, g);
    const T p = p0 * c.decay;
    const T m = c.lerp1(exp_avg[i], g);
    exp_avg[i] = m;
    T v = std::fma(c.one_minus_beta2 * g, g, exp_avg_sq[i] * c.beta2);
    exp_avg_sq[i] = v;
    if constexpr (kAmsgrad) {
      v = maximum(max_exp_avg_sq[i], v);
      max_exp_avg_sq[i] = v;
    }
    const T denom = std::sqrt(v) / b.bias_correction2_sqrt + c.eps;
    param[i] = p + (b.neg_step_size * m) / denom;
  }
}

// ---- Adadelta ----

template <typename T>
struct AdadeltaConsts {
  T sign;
  bool l2;
  T weight_decay;
  T rho, one_minus_rho;
  T eps;
  T neg_lr;
  explicit AdadeltaConsts(const AdadeltaOptions& o)
      : sign(o.maximize ? T(-1) : T(1)),
        l2(o.weight_decay != 0),
        weight_decay(static_cast<T>(o.weight_decay)),
        rho(static_cast<T>(o.rho)),
        one_minus_rho(static_cast<T>(1 - o.rho)),
        eps(static_cast<T>(o.eps)),
        neg_lr(static_cast<T>(-o.lr)) {}
};

template <typename T, bool kL2>
inline void adadelta_elements(const AdadeltaSlot<T>& s, const AdadeltaConsts<T> c, int64_t begin,
                              int64_t end) {
  T* __restrict param = s.param;
  const T* __restrict grad = s.grad;
  T* __restrict square_avg = s.square_avg;
  T* __restrict acc_delta = s.acc_delta;
  for (int64_t i = begin; i < end; ++i) {
    const T p = param[i];
    T g = grad[i] * c.sign;
    if constexpr (kL2) g = std::fma(p, c.weight_decay, g);
    const T v = std::fma(c.one_minus_rho * g, g, square_avg[i] * c.rho);
    square_avg[i] = v;
    const T std_ = std::sqrt(v + c.eps);
    const T a = acc_delta[i];
    const T delta = std::sqrt(a + c.eps) / std_ * g;
    acc_delta[i] = std::fma(c.one_minus_rho * delta, delta, a * c.rho);
    param[i] = std::fma(delta, c.neg_lr, p);
  }
}

// ---- RMSprop ----

template <typename T>
struct RmspropConsts {
  T sign;
  bool l2;
  T weight_decay;
  T alpha, one_minus_alpha;
  Lerp<T> lerp;  // grad_avg.lerp_(grad, 1 - alpha)
  T eps;
  T momentum;
  T neg_lr;
  explicit RmspropConsts(const RmspropOptions& o)
      : sign(o.maximize ? T(-1) : T(1)),
        l2(o.weight_decay != 0),
        weight_decay(static_cast<T>(o.weight_decay)),
        alpha(static_cast<T>(o.alpha)),
        one_minus_alpha(static_cast<T>(1 - o.alpha)),
        lerp(1 - o.alpha),
        eps(static_cast<T>(o.eps)),
        momentum(static_cast<T>(o.momentum)),
        neg_lr(static_cast<T>(-o.lr)) {}
};

template <typename T, bool kL2, bool kCentered, bool kMomentum>
inline void rmsprop_elements(const RmspropSlot<T>& s, const RmspropConsts<T> c, int64_t begin,
                             int64_t end) {
  T* __restrict param = s.param;
  const T* __restrict grad = s.grad;
  T* __restrict square_avg = s.square_avg;
  T* __restrict grad_avg = s.grad_avg;
  T* __restrict buf = s.momentum_buffer;
  for (int64_t i = begin; i < end; ++i) {
    const T p = param[i];
    T g = grad[i] * c.sign;
    if constexpr (kL2) g = std::fma(p, c.weight_decay, g);
    const T v = std::fma(c.one_minus_alpha * g, g, square_avg[i] * c.alpha);
    square_avg[i] = v;
    T avg;
    if constexpr (kCentered) {
      const T ga = c.lerp(grad_avg[i], g);
      grad_avg[i] = ga;
      avg = std::sqrt(std::fma(-ga, ga, v));  // addcmul(grad_avg, grad_avg, value=-1)
    } else {
      avg = std::sqrt(v);
    }
    avg = avg + c.eps;
    if constexpr (kMomentum) {
      const T b = buf[i] * c.momentum + g / avg;  // addcdiv_(grad, avg): value 1
      buf[i] = b;
      param[i] = std::fma(b, c.neg_lr, p);
    } else {
      param[i] = p + (c.neg_lr * g) / avg;
    }
  }
}

// with_flags(a, b, f) calls f(std::bool_constant<a>{}, std::bool_constant<b>{}):
// the loop f runs is compiled once per combination, without the branches (the
// vectorizer takes only straight-line loops).
template <typename F>
inline void with_flags(bool a, F&& f) {
  if (a) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}
template <typename F>
inline void with_flags(bool a, bool b, F&& f) {
  with_flags(a, [&](auto x) { with_flags(b, [&](auto y) { f(x, y); }); });
}
template <typename F>
inline void with_flags(bool a, bool b, bool c, F&& f) {
  with_flags(a, b, [&](auto x, auto y) { with_flags(c, [&](auto z) { f(x, y, z); }); });
}

// ---- one function per dtype and CPU level ----
// target_clones takes no templates: these wrappers instantiate the loops, and
// flatten inlines them (and their helpers) into each clone.

#define EMBER_OPTIMIZER_CHUNKS(T, SUFFIX)                                                         \
  EMBER_MULTIVERSION __attribute__((flatten)) void sgd_chunk_##SUFFIX(                            \
      const SgdSlot<T>& s, const SgdConsts<T>& c, int64_t begin, int64_t end) {                   \
    with_flags(c.l2, s.momentum_buffer != nullptr,                                                \
               [&](auto l2, auto momentum) { sgd_elements<T, l2, momentum>(s, c, begin, end); }); \
  }                                                                                               \
  EMBER_MULTIVERSION __attribute__((flatten)) void adam_chunk_##SUFFIX(                           \
      const AdamSlot<T>& s, const AdamConsts<T>& c, const AdamBias<T>& b, int64_t begin,          \
      int64_t end) {                                                                              \
    with_flags(c.l2, s.max_exp_avg_sq != nullptr, [&](auto l2, auto amsgrad) {                    \
      adam_elements<T, l2, amsgrad>(s, c, b, begin, end);                                         \
    });                                                                                           \
  }                                                                                               \
  EMBER_MULTIVERSION __attribute__((flatten)) void adadelta_chunk_##SUFFIX(                       \
      const AdadeltaSlot<T>& s, const AdadeltaConsts<T>& c, int64_t begin, int64_t end) {         \
    with_flags(c.l2, [&](auto l2) { adadelta_elements<T, l2>(s, c, begin, end); });               \
  }                                                                                               \
  EMBER_MULTIVERSION __attribute__((flatten)) void rmsprop_chunk_##SUFFIX(                        \
      const RmspropSlot<T>& s, const RmspropConsts<T>& c, int64_t begin, int64_t end) {           \
    with_flags(c.l2, s.grad_avg != nullptr, s.momentum_buffer != nullptr,                         \
               [&](auto l2, auto centered, auto momentum) {                                       \
                 rmsprop_elements<T, l2, centered, momentum>(s, c, begin, end);                   \
               });                                                                                \
  }                                                                                               \
  inline void sgd_chunk(const SgdSlot<T>& s, const SgdConsts<T>& c, int64_t b, int64_t e) {       \
    sgd_chunk_##SUFFIX(s, c, b, e);                                                               \
  }                                                                                               \
  inline void adam_chunk(const AdamSlot<T>& s, const AdamConsts<T>& c, const AdamBias<T>& bias,   \
                         int64_t b, int64_t e) {                                                  \
    adam_chunk_##SUFFIX(s, c, bias, b, e);                                                        \
  }                                                                                               \
  inline void adadelta_chunk(const AdadeltaSlot<T>& s, const AdadeltaConsts<T>& c, int64_t b,     \
                             int64_t e) {                                                         \
    adadelta_chunk_##SUFFIX(s, c, b, e);                                                          \
  }                                                                                               \
  inline void rmsprop_chunk(const RmspropSlot<T>& s, const RmspropConsts<T>& c, int64_t b,        \
                            int64_t e) {                                                          \
    rmsprop_chunk_##SUFFIX(s, c, b, e);                                                           \
  }

EMBER_OPTIMIZER_CHUNKS(float, f32)
EMBER_OPTIMIZER_CHUNKS(double, f64)
#undef EMBER_OPTIMIZER_CHUNKS

// SGD reads and writes two to four buffers per element: a cheap elementwise
// kernel. The others read and write four to six and take a square root and a
// division.
constexpr int64_t kSgdGrain = kParallelGrain;
constexpr int64_t kAdaptiveGrain = kParallelGrainHeavy;

}  // namespace

template <typename T>
void sgd_step_kernel(const std::vector<SgdSlot<T>>& slots, const SgdOptions& options) {
  const SgdConsts<T> c(options);
  for_all_elements(slots, kSgdGrain, [&](const SgdSlot<T>& s, size_t, int64_t b, int64_t e) {
    sgd_chunk(s, c, b, e);
  });
}

template <typename T>
void adam_step_kernel(const std::vector<AdamSlot<T>>& slots, const AdamOptions& options) {
  const AdamConsts<T> c(options);
  std::vector<AdamBias<T>> bias;
  bias.reserve(slots.size());
  for (const AdamSlot<T>& s : slots) bias.emplace_back(options, s.step);
  for_all_elements(slots, kAdaptiveGrain,
                   [&](const AdamSlot<T>& s, size_t k, int64_t b, int64_t e) {
                     adam_chunk(s, c, bias[k], b, e);
                   });
}

template <typename T>
void adadelta_step_kernel(const std::vector<AdadeltaSlot<T>>& slots,
                          const AdadeltaOptions& options) {
  const AdadeltaConsts<T> c(options);
  for_all_elements(
      slots, kAdaptiveGrain,
      [&](const AdadeltaSlot<T>& s, size_t, int64_t b, int64_t e) { adadelta_chunk(s, c, b, e); });
}

template <typename T>
void rmsprop_step_kernel(const std::vector<RmspropSlot<T>>& slots, const RmspropOptions& options) {
  const RmspropConsts<T> c(options);
  for_all_elements(
      slots, kAdaptiveGrain,
      [&](const RmspropSlot<T>& s, size_t, int64_t b, int64_t e) { rmsprop_chunk(s, c, b, e); });
}

template void sgd_step_kernel(const std::vector<SgdSlot<float>>&, const SgdOptions&);
template void sgd_step_kernel(const std::vector<SgdSlot<double>>&, const SgdOptions&);
template void adam_step_kernel(const std::vector<AdamSlot<float>>&, const AdamOptions&);
template void adam_step_kernel(const std::vector<AdamSlot<double>>&, const AdamOptions&);
template void adadelta_step_kernel(const std::vector<AdadeltaSlot<float>>&, const AdadeltaOptions&);
template void adadelta_step_kernel(const std::vector<AdadeltaSlot<double>>&,
                                   const AdadeltaOptions&);
template void rmsprop_step_kernel(const std::vector<RmspropSlot<float>>&, const RmspropOptions&);
template void rmsprop_step_kernel(const std::vector<RmspropSlot<double>>&, const RmspropOptions&);

}  // namespace ember
