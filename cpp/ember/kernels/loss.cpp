#include "ember/kernels/loss.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ember/kernels/vector_math.h"
#include "ember/parallel.h"

namespace ember {
namespace {

bool fusable(const Tensor& x, const Tensor& y) {
  const DType dt = x->dtype();
  return (dt == DType::Float32 || dt == DType::Float64) && y->dtype() == dt &&
         x->shape() == y->shape() && x->is_contiguous() && y->is_contiguous();
}

// Chunks of this many elements keep the exp and log1p terms on the stack.
constexpr int64_t kChunk = 256;

// log1p(exp(-|x|)) for a chunk, through the same kernels the unary ops use.
template <typename T>
void softplus_of_minus_abs(const T* x, T* t, int64_t n) {
  for (int64_t j = 0; j < n; ++j) t[j] = -std::abs(x[j]);
  if constexpr (std::is_same_v<T, float>) {
    exp_contiguous(t, t, n);
    log1p_contiguous(t, t, n);
  } else {
    for (int64_t j = 0; j < n; ++j) t[j] = std::log1p(std::exp(t[j]));
  }
}

template <typename T>
void sigmoid_chunk(const T* x, T* s, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    sigmoid_contiguous(x, s, n);
  } else {
    for (int64_t j = 0; j < n; ++j) s[j] = 1 / (1 + std::exp(-x[j]));
  }
}

// body(begin, end) over [0, n) in chunks of kChunk, in parallel for large n.
template <typename Body>
void by_chunks(int64_t n, Body body) {
  parallel_for((n + kChunk - 1) / kChunk, kParallelGrainHeavy / kChunk, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) body(c * kChunk, std::min(n, (c + 1) * kChunk));
  });
}

}  // namespace

Tensor bce_with_logits_loss_kernel(const Tensor& x, const Tensor& y) {
  if (!fusable(x, y)) return nullptr;
  Tensor out = empty(x->shape(), x->dtype());
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* px = x->data<T>();
    const T* py = y->data<T>();
    T* po = out->data<T>();
    by_chunks(x->numel(), [&](int64_t lo, int64_t hi) {
      T t[kChunk];
      softplus_of_minus_abs(px + lo, t, hi - lo);
      for (int64_t i = lo; i < hi; ++i) {
        const T minus_x = -px[i];
        const T relu = minus_x <= T(0) ? T(0) : minus_x;  // relu's NaN stays NaN
        const T softplus = t[i - lo] + relu;
        const T linear = (1 - py[i]) * px[i];  // rounded before the add, as mul then add
        po[i] = linear + softplus;
      }
    });
  };
  if (x->dtype() == DType::Float32) {
    run(float{});
  } else {
    run(double{});
  }
  return out;
}

Tensor bce_with_logits_grad_kernel(const Tensor& x, const Tensor& y, const Tensor& g) {
  const bool g_fits = g->dtype() == x->dtype() && g->is_contiguous() &&
                      (g->numel() == 1 || g->shape() == x->shape());
  if (!fusable(x, y) || !g_fits) return nullptr;
  Tensor out = empty(x->shape(), x->dtype());
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* px = x->data<T>();
    const T* py = y->data<T>();
    const T* pg = g->data<T>();
    const bool one_g = g->numel() == 1;
    T* po = out->data<T>();
    by_chunks(x->numel(), [&](int64_t lo, int64_t hi) {
      T s[kChunk];
      sigmoid_chunk(px + lo, s, hi - lo);
      for (int64_t i = lo; i < hi; ++i) {
        const T d = s[i - lo] - py[i];
        po[i] = d * (one_g ? pg[0] : pg[i]);
      }
    });
  };
  if (x->dtype() == DType::Float32) {
    run(float{});
  } else {
    run(double{});
  }
  return out;
}

}  // namespace ember
