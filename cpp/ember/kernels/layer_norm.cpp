#include "ember/kernels/layer_norm.h"

#include <algorithm>
#include <cmath>

#include "ember/kernels/elementwise.h"
#include "ember/kernels/lane_sum.h"
#include "ember/parallel.h"

namespace ember {
namespace {

int64_t row_grain(int64_t n) {
  return std::max<int64_t>(1, kParallelGrainHeavy / std::max<int64_t>(n, 1));
}

}  // namespace

LayerNormForward layer_norm_kernel(const Tensor& x, int64_t n, const Tensor& weight,
                                   const Tensor& bias, double eps) {
  if (!has_kernels(x->dtype())) {  // Note [Compute dtypes]; mean and rstd stay float32
    const DType dt = kernel_dtype(x->dtype());
    LayerNormForward r = layer_norm_kernel(convert(x, dt), n, weight ? convert(weight, dt) : weight,
                                           bias ? convert(bias, dt) : bias, eps);
    r.out = convert(r.out, x->dtype());
    return r;
  }
  const int64_t rows = n == 0 ? 0 : x->numel() / n;
  LayerNormForward r{empty(x->shape(), x->dtype()), empty(Shape{rows}, x->dtype()),
                     empty(Shape{rows}, x->dtype())};
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* px = x->data<T>();
    const T* pw = weight ? weight->data<T>() : nullptr;
    const T* pb = bias ? bias->data<T>() : nullptr;
    T* py = r.out->data<T>();
    T* pmean = r.mean->data<T>();
    T* prstd = r.rstd->data<T>();
    parallel_for(rows, row_grain(n), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {
        const T* xr = px + row * n;
        T* yr = py + row * n;
        // Two passes over a row in cache: the centered sum of squares does
        // not cancel the way E[x^2] - E[x]^2 does.
        const T mean = lane_sum<T>(n, [&](int64_t i) { return xr[i]; }) / static_cast<T>(n);
        const T var = lane_sum<T>(n, [&](int64_t i) { return (xr[i] - mean) * (xr[i] - mean); }) /
                      static_cast<T>(n);
        const T rstd = T(1) / std::sqrt(var + static_cast<T>(eps));
        pmean[row] = mean;
        prstd[row] = rstd;
        for (int64_t i = 0; i < n; ++i) {
          T v = (xr[i] - mean) * rstd;
          if (pw) v *= pw[i];
          if (pb) v += pb[i];
          yr[i] = v;
        }
      }
    });
  });
  return r;
}

LayerNormGrads layer_norm_backward_kernel(const Tensor& g, const Tensor& x, int64_t n,
                                          const Tensor& mean, const Tensor& rstd,
                                          const Tensor& weight, bool want_input, bool want_weight,
                                          bool want_bias) {
  if (!has_kernels(x->dtype())) {  // Note [Compute dtypes]
    const DType dt = kernel_dtype(x->dtype());
    LayerNormGrads r = layer_norm_backward_kernel(
        convert(g, dt), convert(x, dt), n, convert(mean, dt), convert(rstd, dt),
        weight ? convert(weight, dt) : weight, want_input, want_weight, want_bias);
    for (Tensor* grad : {&r.input, &r.weight, &r.bias}) {
      if (*grad) *grad = convert(*grad, x->dtype());
    }
    return r;
  }
  const int64_t rows = n == 0 ? 0 : x->numel() / n;
  LayerNormGrads r;
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* pg = g->data<T>();
    const T* px = x->data<T>();
    const T* pmean = mean->data<T>();
    const T* prstd = rstd->data<T>();
    const T* pw = weight ? weight->data<T>() : nullptr;
    if (want_input) {
      // dx = rstd * (wg - mean(wg) - xhat * mean(wg * xhat)), wg = g * weight.
      r.input = empty(x->shape(), x->dtype());
      T* pgi = r.input->data<T>();
      parallel_for(rows, row_grain(n), [&](int64_t lo, int64_t hi) {
        for (int64_t row = lo; row < hi; ++row) {
          const T* gr = pg + row * n;
          const T* xr = px + row * n;
          T* gir = pgi + row * n;
          const T mu = pmean[row], rs = prstd[row];
          auto wg = [&](int64_t i) { return pw ? gr[i] * pw[i] : gr[i]; };
          const T inv_n = T(1) / static_cast<T>(n);
          const T mean_wg = lane_sum<T>(n, wg) * inv_n;
          const T mean_wg_xhat =
              lane_sum<T>(n, [&](int64_t i) { return wg(i) * (xr[i] - mu) * rs; }) * inv_n;
          for (int64_t i = 0; i < n; ++i) {
            gir[i] = rs * (wg(i) - mean_wg - (xr[i] - mu) * rs * mean_wg_xhat);
          }
        }
      });
    }
    if (want_weight || want_bias) {
      // Column sums over the rows, cut into column blocks so each thread owns
      // its outputs and the order of addition is fixed.
      if (want_weight) r.weight = empty(Shape{n}, x->dtype());
      if (want_bias) r.bias = empty(Shape{n}, x->dtype());
      T* pgw = want_weight ? r.weight->data<T>() : nullptr;
      T* pgb = want_bias ? r.bias->data<T>() : nullptr;
      const int64_t col_grain =
          std::max<int64_t>(64, kParallelGrainHeavy / std::max<int64_t>(rows, 1));
      parallel_for(n, col_grain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          if (pgw) pgw[i] = 0;
          if (pgb) pgb[i] = 0;
        }
        for (int64_t row = 0; row < rows; ++row) {
          const T* gr = pg + row * n;
          const T* xr = px + row * n;
          const T mu = pmean[row], rs = prstd[row];
          if (pgw) {
            for (int64_t i = lo; i < hi; ++i) pgw[i] += gr[i] * ((xr[i] - mu) * rs);
          }
          if (pgb) {
            for (int64_t i = lo; i < hi; ++i) pgb[i] += gr[i];
          }
        }
      });
    }
  });
  return r;
}

}  // namespace ember
