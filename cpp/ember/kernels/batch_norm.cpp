#include "ember/kernels/batch_norm.h"

#include <algorithm>
#include <vector>

#include "ember/parallel.h"

namespace ember {
namespace {

struct Layout {
  int64_t n, c, s;  // batch, channels, elements per (batch, channel) block
};

Layout layout_of(const Tensor& x) {
  Layout l{x->shape()[0], x->shape()[1], 1};
  for (int64_t d = 2; d < x->dim(); ++d) l.s *= x->shape()[d];
  return l;
}

// Calls body(c_lo, c_hi, block) with channel ranges: channels are split over
// the pool when the tensor is large; `block(n, c)` is the offset of a block.
template <typename Body>
void over_channels(const Layout& l, Body body) {
  const int64_t per_channel = std::max<int64_t>(l.n * l.s, 1);
  parallel_for(l.c, std::max<int64_t>(1, kParallelGrain / per_channel), body);
}

// Accumulates f(value, c) over every element of channel range [lo, hi) into
// acc[c] (double, so the order of a large channel's sum does not matter).
template <typename T, typename F>
void channel_sums(const Layout& l, const T* x, int64_t lo, int64_t hi, double* acc, F f) {
  for (int64_t c = lo; c < hi; ++c) acc[c] = 0;
  for (int64_t b = 0; b < l.n; ++b) {
    for (int64_t c = lo; c < hi; ++c) {
      const T* block = x + (b * l.c + c) * l.s;
      double s = 0;
      for (int64_t i = 0; i < l.s; ++i) s += f(block, i, c);
      acc[c] += s;
    }
  }
}

}  // namespace

void batch_norm_stats_kernel(const Tensor& x, Tensor* mean, Tensor* var) {
  const Layout l = layout_of(x);
  *mean = empty(Shape{l.c}, x->dtype());
  *var = empty(Shape{l.c}, x->dtype());
  const double count = static_cast<double>(l.n * l.s);
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* px = x->data<T>();
    T* pm = (*mean)->data<T>();
    T* pv = (*var)->data<T>();
    std::vector<double> sums(static_cast<size_t>(l.c)), sq(static_cast<size_t>(l.c));
    over_channels(l, [&](int64_t lo, int64_t hi) {
      channel_sums(l, px, lo, hi, sums.data(),
                   [](const T* b, int64_t i, int64_t) { return static_cast<double>(b[i]); });
      for (int64_t c = lo; c < hi; ++c) sums[c] /= count;
      // Centered second pass: no cancellation for channels with a large mean.
      channel_sums(l, px, lo, hi, sq.data(), [&](const T* b, int64_t i, int64_t c) {
        const double d = static_cast<double>(b[i]) - sums[c];
        return d * d;
      });
      for (int64_t c = lo; c < hi; ++c) {
        pm[c] = static_cast<T>(sums[c]);
        pv[c] = static_cast<T>(sq[c] / count);
      }
    });
  });
}

Tensor batch_norm_apply_kernel(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                               const Tensor& weight, const Tensor& bias) {
  const Layout l = layout_of(x);
  Tensor out = empty(x->shape(), x->dtype());
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* px = x->data<T>();
    T* po = out->data<T>();
    // y = x * scale[c] + shift[c], folding the affine part in once per channel.
    std::vector<T> scale(static_cast<size_t>(l.c)), shift(static_cast<size_t>(l.c));
    for (int64_t c = 0; c < l.c; ++c) {
      const T w = weight ? weight->data<T>()[c] : T(1);
      const T b = bias ? bias->data<T>()[c] : T(0);
      scale[c] = invstd->data<T>()[c] * w;
      shift[c] = b - mean->data<T>()[c] * scale[c];
    }
    const int64_t blocks = l.n * l.c;
    parallel_for(blocks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(l.s, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t k = lo; k < hi; ++k) {
                     const int64_t c = k % l.c;
                     const T sc = scale[c], sh = shift[c];
                     const T* xb = px + k * l.s;
                     T* ob = po + k * l.s;
                     for (int64_t i = 0; i < l.s; ++i) ob[i] = xb[i] * sc + sh;
                   }
                 });
  });
  return out;
}

void batch_norm_grad_sums_kernel(const Tensor& g, const Tensor& x, const Tensor& mean,
                                 const Tensor& invstd, Tensor* sum_g, Tensor* sum_g_xhat) {
  const Layout l = layout_of(x);
  *sum_g = empty(Shape{l.c}, x->dtype());
  *sum_g_xhat = empty(Shape{l.c}, x->dtype());
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* pg = g->data<T>();
    const T* px = x->data<T>();
    const T* pm = mean->data<T>();
    std::vector<double> sg(static_cast<size_t>(l.c)), sgx(static_cast<size_t>(l.c));
    over_channels(l, [&](int64_t lo, int64_t hi) {
      channel_sums(l, pg, lo, hi, sg.data(),
                   [](const T* b, int64_t i, int64_t) { return static_cast<double>(b[i]); });
      channel_sums(l, pg, lo, hi, sgx.data(), [&](const T* b, int64_t i, int64_t c) {
        const T* xb = px + (b - pg);  // the same offset in x
        return static_cast<double>(b[i]) * (static_cast<double>(xb[i]) - pm[c]);
      });
      for (int64_t c = lo; c < hi; ++c) {
        (*sum_g)->data<T>()[c] = static_cast<T>(sg[c]);
        (*sum_g_xhat)->data<T>()[c] = static_cast<T>(sgx[c] * invstd->data<T>()[c]);
      }
    });
  });
}

Tensor batch_norm_input_grad_kernel(const Tensor& g, const Tensor& x, const Tensor& mean,
                                    const Tensor& invstd, const Tensor& scale,
                                    const Tensor& shift_g, const Tensor& shift_xhat) {
  const Layout l = layout_of(x);
  Tensor out = empty(x->shape(), x->dtype());
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T *pg = g->data<T>(), *px = x->data<T>(), *pm = mean->data<T>();
    const T *pi = invstd->data<T>(), *ps = scale->data<T>();
    const T *psg = shift_g->data<T>(), *psx = shift_xhat->data<T>();
    T* po = out->data<T>();
    const int64_t blocks = l.n * l.c;
    parallel_for(blocks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(l.s, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t k = lo; k < hi; ++k) {
                     const int64_t c = k % l.c;
                     const T m = pm[c], is = pi[c], sc = ps[c], sg = psg[c], sx = psx[c];
                     const T* gb = pg + k * l.s;
                     const T* xb = px + k * l.s;
                     T* ob = po + k * l.s;
                     for (int64_t i = 0; i < l.s; ++i) {
                       ob[i] = sc * (gb[i] - sg - (xb[i] - m) * is * sx);
                     }
                   }
                 });
  });
  return out;
}

}  // namespace ember
