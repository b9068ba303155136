#include "ember/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ember/kernels/vector_math.h"
#include "ember/parallel.h"

namespace ember {
namespace {

// Eight independent accumulators: the compiler keeps them in one vector
// register, and the row's rounding does not depend on the thread count.
constexpr int kLanes = 8;

template <typename T>
T row_max(const T* x, int64_t n) {
  T acc[kLanes];
  std::fill(acc, acc + kLanes, -std::numeric_limits<T>::infinity());
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  }
  for (; i < n; ++i) acc[0] = x[i] > acc[0] ? x[i] : acc[0];
  return *std::max_element(acc, acc + kLanes);  // NaN inputs poison the row later
}

template <typename T>
T row_sum(const T* x, int64_t n) {
  T acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j];
  }
  for (; i < n; ++i) acc[0] += x[i];
  T total = 0;
  for (int j = 0; j < kLanes; ++j) total += acc[j];
  return total;
}

template <typename T>
T row_dot(const T* x, const T* y, int64_t n) {
  T acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j] * y[i + j];
  }
  for (; i < n; ++i) acc[0] += x[i] * y[i];
  T total = 0;
  for (int j = 0; j < kLanes; ++j) total += acc[j];
  return total;
}

void exp_row(const float* in, float* out, int64_t n) { exp_contiguous(in, out, n); }
void exp_row(const double* in, double* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::exp(in[i]);
}

// A row of max-shifted exponentials in y; returns their sum. A NaN anywhere in
// the row makes the sum NaN, and so the whole row, as in torch.
template <typename T>
T shifted_exp(const T* x, T* y, int64_t n, T* max_out) {
  const T mx = row_max(x, n);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] - mx;
  exp_row(y, y, n);
  *max_out = mx;
  return row_sum(y, n);
}

template <typename T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  T mx;
  const T sum = shifted_exp(x, y, n, &mx);
  if (log) {
    const T log_sum = std::log(sum);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mx) - log_sum;
  } else {
    const T scale = T(1) / sum;
    for (int64_t i = 0; i < n; ++i) y[i] *= scale;
  }
}

template <typename T>
void softmax_backward_row(const T* g, const T* y, T* gi, int64_t n, bool log) {
  if (log) {
    const T sum = row_sum(g, n);
    exp_row(y, gi, n);
    for (int64_t i = 0; i < n; ++i) gi[i] = g[i] - gi[i] * sum;
  } else {
    const T dot = row_dot(g, y, n);
    for (int64_t i = 0; i < n; ++i) gi[i] = y[i] * (g[i] - dot);
  }
}

// The float rows are built for AVX2+FMA and for baseline x86-64, picked at
// load time, as the kernels of vector_math are.
#define EMBER_ROWS_MULTIVERSION __attribute__((target_clones("avx2,fma", "default")))

EMBER_ROWS_MULTIVERSION
void softmax_rows(const float* x, float* y, int64_t lo, int64_t hi, int64_t n, bool log) {
  for (int64_t r = lo; r < hi; ++r) softmax_row(x + r * n, y + r * n, n, log);
}
void softmax_rows(const double* x, double* y, int64_t lo, int64_t hi, int64_t n, bool log) {
  for (int64_t r = lo; r < hi; ++r) softmax_row(x + r * n, y + r * n, n, log);
}

EMBER_ROWS_MULTIVERSION
void softmax_backward_rows(const float* g, const float* y, float* gi, int64_t lo, int64_t hi,
                           int64_t n, bool log) {
  for (int64_t r = lo; r < hi; ++r) softmax_backward_row(g + r * n, y + r * n, gi + r * n, n, log);
}
void softmax_backward_rows(const double* g, const double* y, double* gi, int64_t lo, int64_t hi,
                           int64_t n, bool log) {
  for (int64_t r = lo; r < hi; ++r) softmax_backward_row(g + r * n, y + r * n, gi + r * n, n, log);
}

// Runs rows_fn(lo, hi) over all rows, in parallel once there is enough work.
template <typename RowsFn>
void for_rows(int64_t rows, int64_t row_length, RowsFn rows_fn) {
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_length, 1));
  parallel_for(rows, grain, rows_fn);
}

}  // namespace

void softmax_lastdim_kernel(const Tensor& in, const Tensor& out, bool log) {
  const int64_t n = in->shape().back();
  if (n == 0 || in->numel() == 0) return;
  const int64_t rows = in->numel() / n;
  EMBER_DISPATCH_FLOAT(in->dtype(), T, [&] {
    const T* x = in->data<T>();
    T* y = out->data<T>();
    for_rows(rows, n, [&](int64_t lo, int64_t hi) { softmax_rows(x, y, lo, hi, n, log); });
  });
}

Tensor softmax_backward_lastdim_kernel(const Tensor& grad, const Tensor& out, bool log) {
  Tensor grad_in = empty(out->shape(), out->dtype());
  const int64_t n = out->dim() == 0 ? 1 : out->shape().back();
  if (n == 0 || out->numel() == 0) return grad_in;
  const int64_t rows = out->numel() / n;
  EMBER_DISPATCH_FLOAT(out->dtype(), T, [&] {
    const T* g = grad->data<T>();
    const T* y = out->data<T>();
    T* gi = grad_in->data<T>();
    for_rows(rows, n,
             [&](int64_t lo, int64_t hi) { softmax_backward_rows(g, y, gi, lo, hi, n, log); });
  });
  return grad_in;
}

}  // namespace ember
