#include "ember/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ember/kernels/elementwise.h"
#include "ember/kernels/lane_sum.h"
#include "ember/kernels/vector_math.h"
#include "ember/parallel.h"

namespace ember {
namespace {

// Lanes as lane_sum's (kernels/lane_sum.h), for the row maximum.
template <typename T>
T row_max(const T* x, int64_t n) {
  T acc[kSumLanes];
  std::fill(acc, acc + kSumLanes, -std::numeric_limits<T>::infinity());
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes) {
    for (int j = 0; j < kSumLanes; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  }
  for (; i < n; ++i) acc[0] = x[i] > acc[0] ? x[i] : acc[0];
  return *std::max_element(acc, acc + kSumLanes);  // NaN inputs poison the row later
}

template <typename T>
T row_sum(const T* x, int64_t n) {
  return lane_sum<T>(n, [x](int64_t i) { return x[i]; });
}

template <typename T>
T row_dot(const T* x, const T* y, int64_t n) {
  return lane_sum<T>(n, [x, y](int64_t i) { return x[i] * y[i]; });
}

// Note [Softmax and denormals]
// Masked attention rows hold -inf (and max-shifted logits far below 0), whose
// exponentials underflow: a vector exp then builds zero and denormal results,
// and on x86 every denormal costs a microcode assist, ~100 cycles per lane
// (softmax of a causal-masked (16,4,64,64) took 6x torch's time). So rows are
// exponentiated with their arguments raised to kExpFloor, where exp is still a
// normal float, and the few lanes below it are then set apart: 0 where the
// float result is 0, libm's exp (a denormal) in the narrow band in between.
template <typename T>
struct ExpRange;
template <>
struct ExpRange<float> {
  static constexpr float kFloor = -87.0f;  // exp(-87) > FLT_MIN
  static constexpr float kZero = -104.0f;  // exp(x) rounds to 0 below this
};
template <>
struct ExpRange<double> {
  static constexpr double kFloor = -708.0;
  static constexpr double kZero = -746.0;
};

void exp_row_raw(const float* in, float* out, int64_t n) { exp_contiguous(in, out, n); }
void exp_row_raw(const double* in, double* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::exp(in[i]);
}

// out[i] = exp(arg(i)) for arg(i) = in[i] - shift, without denormal work in
// the vector kernel (Note [Softmax and denormals]). out may alias in.
template <typename T>
void exp_row(const T* in, T shift, T* out, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    float unused;
    if (exp_shifted_row(in, shift, out, n, &unused)) return;
  }
  bool any_low = false;
  for (int64_t i = 0; i < n; ++i) {
    const T a = in[i] - shift;
    any_low |= a < ExpRange<T>::kFloor;
    out[i] = a < ExpRange<T>::kFloor ? ExpRange<T>::kFloor : a;  // NaN passes
  }
  exp_row_raw(out, out, n);
  if (!any_low) return;
  for (int64_t i = 0; i < n; ++i) {
    const T a = in[i] - shift;
    if (a < ExpRange<T>::kFloor) out[i] = a < ExpRange<T>::kZero ? T(0) : std::exp(a);
  }
}

// A row of max-shifted exponentials in y; returns their sum. A NaN anywhere in
// the row makes the sum NaN, and so the whole row, as in torch.
template <typename T>
T shifted_exp(const T* x, T* y, int64_t n, T* max_out) {
  const T mx = row_max(x, n);
  *max_out = mx;
  exp_row(x, mx, y, n);
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
    exp_row(y, T(0), gi, n);
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
  if (softmax_rows_avx512(x + lo * n, y + lo * n, hi - lo, n, log)) return;
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
  const int64_t grain =
      std::max<int64_t>(1, kParallelGrainHeavy / std::max<int64_t>(row_length, 1));
  parallel_for(rows, grain, rows_fn);
}

}  // namespace

void softmax_lastdim_kernel(const Tensor& in, const Tensor& out, bool log) {
  if (!has_kernels(in->dtype())) {  // Note [Compute dtypes]
    const Tensor wide_in = convert(in, kernel_dtype(in->dtype()));
    const Tensor wide_out = empty(in->shape(), wide_in->dtype());
    softmax_lastdim_kernel(wide_in, wide_out, log);
    copy_kernel(out, wide_out);
    return;
  }
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
  if (!has_kernels(out->dtype())) {  // Note [Compute dtypes]
    const DType dt = kernel_dtype(out->dtype());
    return convert(softmax_backward_lastdim_kernel(convert(grad, dt), convert(out, dt), log),
                   out->dtype());
  }
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
