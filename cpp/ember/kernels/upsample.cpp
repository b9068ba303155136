#include "ember/kernels/upsample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ember/parallel.h"

namespace ember {

// Note [Upsampling indices]
// Each output row and column reads fixed input positions, so the positions
// (and, for linear, the two weights) are worked out once per axis and every
// plane reuses them. The arithmetic follows torch's CPU kernels step for step
// so results agree to the bit:
// - nearest: the source of output i is floor(i * s) in float32 with
//   s = 1 / scale_factor when one was given, else in / out (a float32
//   quotient), clamped to the last input; equal sizes and exact doubling take
//   the shortcuts i and i / 2, as torch does.
// - linear: s is (in - 1) / (out - 1) with align_corners, else as above but
//   in the input's own type; the source position is s * i (align_corners) or
//   s * (i + 0.5) - 0.5 clamped at 0, split into floor and fraction. Two
//   dims combine as ((x00 w0 + x01 w1) h0 + (x10 w0 + x11 w1) h1), torch's
//   order, and the backward adds (h * w) * g into each of the four inputs,
//   output by output.
// Planes are independent, so threads split planes and never share an output.

namespace {

struct NearestAxis {
  std::vector<int64_t> source;
};

int64_t nearest_source(int64_t i, int64_t in, int64_t out, std::optional<double> scale) {
  if (out == in) return i;
  if (out == 2 * in) return i >> 1;
  const float s = scale && *scale > 0 ? static_cast<float>(1.0 / *scale)
                                      : static_cast<float>(in) / static_cast<float>(out);
  return std::min(static_cast<int64_t>(std::floor(static_cast<float>(i) * s)), in - 1);
}

NearestAxis nearest_axis(int64_t in, int64_t out, std::optional<double> scale) {
  NearestAxis axis;
  axis.source.resize(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) axis.source[i] = nearest_source(i, in, out, scale);
  return axis;
}

template <typename T>
struct LinearAxis {
  std::vector<int64_t> lo, hi;  // the two input positions (equal at the last one)
  std::vector<T> w_lo, w_hi;
};

template <typename T>
T linear_scale(int64_t in, int64_t out, bool align_corners, std::optional<double> scale) {
  if (align_corners) return out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  if (scale && *scale > 0) return static_cast<T>(1.0 / *scale);
  return static_cast<T>(in) / static_cast<T>(out);
}

template <typename T>
LinearAxis<T> linear_axis(int64_t in, int64_t out, bool align_corners,
                          std::optional<double> scale) {
  LinearAxis<T> axis;
  const size_t n = static_cast<size_t>(out);
  axis.lo.resize(n), axis.hi.resize(n), axis.w_lo.resize(n), axis.w_hi.resize(n);
  const T s = linear_scale<T>(in, out, align_corners, scale);
  for (int64_t i = 0; i < out; ++i) {
    T src = align_corners ? s * static_cast<T>(i) : s * (static_cast<T>(i) + T(0.5)) - T(0.5);
    if (src < T(0)) src = T(0);
    const int64_t lo = static_cast<int64_t>(src);
    axis.lo[i] = lo;
    axis.hi[i] = lo + (lo < in - 1 ? 1 : 0);
    axis.w_hi[i] = src - static_cast<T>(lo);
    axis.w_lo[i] = T(1) - axis.w_hi[i];
  }
  return axis;
}

int64_t plane_grain(const UpsampleGeometry& g, int64_t per_output) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(g.oh * g.ow * per_output, 1));
}

}  // namespace

template <typename T>
void upsample_nearest_kernel(const UpsampleGeometry& g, const T* in, T* out) {
  const NearestAxis rows = nearest_axis(g.h, g.oh, g.scale_h);
  const NearestAxis cols = nearest_axis(g.w, g.ow, g.scale_w);
  parallel_for(g.planes, plane_grain(g, 1), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* x = in + p * g.h * g.w;
      T* y = out + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const T* src = x + rows.source[oy] * g.w;
        T* dst = y + oy * g.ow;
        for (int64_t ox = 0; ox < g.ow; ++ox) dst[ox] = src[cols.source[ox]];
      }
    }
  });
}

template <typename T>
void upsample_nearest_backward_kernel(const UpsampleGeometry& g, const T* grad_out, T* grad_in) {
  const NearestAxis rows = nearest_axis(g.h, g.oh, g.scale_h);
  const NearestAxis cols = nearest_axis(g.w, g.ow, g.scale_w);
  parallel_for(g.planes, plane_grain(g, 1), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      T* dx = grad_in + p * g.h * g.w;
      std::fill(dx, dx + g.h * g.w, T(0));
      const T* dy = grad_out + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        T* dst = dx + rows.source[oy] * g.w;
        const T* src = dy + oy * g.ow;
        for (int64_t ox = 0; ox < g.ow; ++ox) dst[cols.source[ox]] += src[ox];
      }
    }
  });
}

template <typename T>
void upsample_linear_kernel(const UpsampleGeometry& g, const T* in, T* out) {
  const bool one_dim = g.h == 1 && g.oh == 1;
  const LinearAxis<T> rows = linear_axis<T>(g.h, g.oh, g.align_corners, g.scale_h);
  const LinearAxis<T> cols = linear_axis<T>(g.w, g.ow, g.align_corners, g.scale_w);
  parallel_for(g.planes, plane_grain(g, 4), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* x = in + p * g.h * g.w;
      T* y = out + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const T* top = x + rows.lo[oy] * g.w;
        const T* bottom = x + rows.hi[oy] * g.w;
        const T h_lo = rows.w_lo[oy], h_hi = rows.w_hi[oy];
        T* dst = y + oy * g.ow;
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t a = cols.lo[ox], b = cols.hi[ox];
          const T t = top[a] * cols.w_lo[ox] + top[b] * cols.w_hi[ox];
          if (one_dim) {
            dst[ox] = t;
          } else {
            const T u = bottom[a] * cols.w_lo[ox] + bottom[b] * cols.w_hi[ox];
            dst[ox] = t * h_lo + u * h_hi;
          }
        }
      }
    }
  });
}

template <typename T>
void upsample_linear_backward_kernel(const UpsampleGeometry& g, const T* grad_out, T* grad_in) {
  const bool one_dim = g.h == 1 && g.oh == 1;
  const LinearAxis<T> rows = linear_axis<T>(g.h, g.oh, g.align_corners, g.scale_h);
  const LinearAxis<T> cols = linear_axis<T>(g.w, g.ow, g.align_corners, g.scale_w);
  parallel_for(g.planes, plane_grain(g, 4), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      T* dx = grad_in + p * g.h * g.w;
      std::fill(dx, dx + g.h * g.w, T(0));
      const T* dy = grad_out + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        T* top = dx + rows.lo[oy] * g.w;
        T* bottom = dx + rows.hi[oy] * g.w;
        const T h_lo = rows.w_lo[oy], h_hi = rows.w_hi[oy];
        const T* src = dy + oy * g.ow;
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t a = cols.lo[ox], b = cols.hi[ox];
          const T v = src[ox];
          if (one_dim) {
            top[a] += cols.w_lo[ox] * v;
            top[b] += cols.w_hi[ox] * v;
          } else {
            top[a] += h_lo * cols.w_lo[ox] * v;
            top[b] += h_lo * cols.w_hi[ox] * v;
            bottom[a] += h_hi * cols.w_lo[ox] * v;
            bottom[b] += h_hi * cols.w_hi[ox] * v;
          }
        }
      }
    }
  });
}

#define EMBER_INSTANTIATE_UPSAMPLE(T)                                                       \
  template void upsample_nearest_kernel<T>(const UpsampleGeometry&, const T*, T*);          \
  template void upsample_nearest_backward_kernel<T>(const UpsampleGeometry&, const T*, T*); \
  template void upsample_linear_kernel<T>(const UpsampleGeometry&, const T*, T*);           \
  template void upsample_linear_backward_kernel<T>(const UpsampleGeometry&, const T*, T*);
EMBER_INSTANTIATE_UPSAMPLE(float)
EMBER_INSTANTIATE_UPSAMPLE(double)
#undef EMBER_INSTANTIATE_UPSAMPLE

}  // namespace ember
