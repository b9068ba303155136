#include "ember/kernels/conv.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "ember/kernels/blas.h"
#include "ember/parallel.h"

namespace ember {

// Note [Convolution as GEMM]
// For one sample and one group, gathering every input value a kernel tap sees
// into a column matrix cols (patch = c_in_group*kh*kw rows, oh*ow columns)
// turns the convolution into weight (c_out_group x patch) @ cols. The two
// backward products reuse the same matrix: grad_in scatters
// weight^T @ grad_out back through the gather (col2im), and grad_weight is
// grad_out @ cols^T. A 1x1 kernel with unit stride and no padding needs no
// gather: the input itself is cols. Samples are independent, so the batch is
// cut over parallel_for; grad_weight sums over samples, and sums per fixed
// block of samples (then the blocks in order) so that the result does not
// depend on the thread count.

namespace {

// Below this many multiply-adds per chunk, a thread's wake-up costs more.
constexpr int64_t kConvGrainWork = int64_t(1) << 20;
// Samples summed into one grad_weight partial (see Note [Convolution as GEMM]).
constexpr int64_t kWeightBlock = 8;

template <typename T>
std::unique_ptr<T[]> scratch(int64_t n) {
  return std::unique_ptr<T[]>(new T[static_cast<size_t>(std::max<int64_t>(n, 1))]);
}

// The output columns [lo, hi) whose input column ox*stride + off is inside [0, size).
void valid_range(int64_t off, int64_t stride, int64_t size, int64_t out, int64_t* lo, int64_t* hi) {
  *lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  *hi = size - off <= 0 ? 0 : (size - off + stride - 1) / stride;
  *hi = std::min(*hi, out);
  *lo = std::min(*lo, *hi);
}

bool is_direct(const ConvGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

int64_t sample_grain(const ConvGeometry& g) {
  const int64_t work = std::max<int64_t>(g.c_out * g.out_plane() * g.patch(), 1);
  return std::max<int64_t>(1, kConvGrainWork / work);
}

// cols (patch x oh*ow) of one sample's group x (c_in_group planes of h x w).
template <typename T>
void im2col(const ConvGeometry& g, const T* x, T* cols) {
  const int64_t ow = g.ow, cols_per_row = g.out_plane();
  for (int64_t c = 0; c < g.c_in_group(); ++c) {
    const T* plane = x + c * g.in_plane();
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        T* row = cols + ((c * g.kh + ki) * g.kw + kj) * cols_per_row;
        const int64_t off = kj * g.dw - g.pw;
        int64_t lo, hi;
        valid_range(off, g.sw, g.w, ow, &lo, &hi);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          T* r = row + oy * ow;
          const int64_t iy = oy * g.sh - g.ph + ki * g.dh;
          if (iy < 0 || iy >= g.h) {
            std::fill(r, r + ow, T(0));
            continue;
          }
          std::fill(r, r + lo, T(0));
          const T* src = plane + iy * g.w + off;
          if (g.sw == 1) {
            std::copy(src + lo, src + hi, r + lo);
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) r[ox] = src[ox * g.sw];
          }
          std::fill(r + hi, r + ow, T(0));
        }
      }
    }
  }
}

// x (zeroed by the caller) += the scatter of cols back to where im2col read.
template <typename T>
void col2im(const ConvGeometry& g, const T* cols, T* x) {
  const int64_t ow = g.ow, cols_per_row = g.out_plane();
  for (int64_t c = 0; c < g.c_in_group(); ++c) {
    T* plane = x + c * g.in_plane();
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const T* row = cols + ((c * g.kh + ki) * g.kw + kj) * cols_per_row;
        const int64_t off = kj * g.dw - g.pw;
        int64_t lo, hi;
        valid_range(off, g.sw, g.w, ow, &lo, &hi);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.sh - g.ph + ki * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          const T* r = row + oy * ow;
          T* dst = plane + iy * g.w + off;
          if (g.sw == 1) {
            for (int64_t ox = lo; ox < hi; ++ox) dst[ox] += r[ox];
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) dst[ox * g.sw] += r[ox];
          }
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void conv_forward_kernel(const ConvGeometry& g, const T* in, const T* weight, const T* bias,
                         T* out) {
  const int64_t L = g.out_plane(), patch = g.patch(), cog = g.c_out_group();
  const bool direct = is_direct(g);
  parallel_for(g.batch, sample_grain(g), [&](int64_t begin, int64_t end) {
    auto cols = scratch<T>(direct ? 0 : patch * L);
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* x = in + (n * g.c_in + grp * g.c_in_group()) * g.in_plane();
        T* y = out + (n * g.c_out + grp * cog) * L;
        if (!direct) im2col(g, x, cols.get());
        if (bias) {
          for (int64_t co = 0; co < cog; ++co)
            std::fill(y + co * L, y + (co + 1) * L, bias[grp * cog + co]);
        }
        gemm<T>(cog, L, patch, {weight + grp * cog * patch, patch, 1},
                {direct ? x : cols.get(), L, 1}, y, L, bias != nullptr);
      }
    }
  });
}

template <typename T>
void conv_backward_input_kernel(const ConvGeometry& g, const T* grad_out, const T* weight,
                                T* grad_in) {
  const int64_t L = g.out_plane(), patch = g.patch(), cog = g.c_out_group();
  const bool direct = is_direct(g);
  parallel_for(g.batch, sample_grain(g), [&](int64_t begin, int64_t end) {
    auto cols = scratch<T>(direct ? 0 : patch * L);
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        T* dx = grad_in + (n * g.c_in + grp * g.c_in_group()) * g.in_plane();
        const T* dy = grad_out + (n * g.c_out + grp * cog) * L;
        const MatrixRef<T> wt{weight + grp * cog * patch, 1, patch};  // weight^T
        if (direct) {
          gemm<T>(patch, L, cog, wt, {dy, L, 1}, dx, L, false);
          continue;
        }
        gemm<T>(patch, L, cog, wt, {dy, L, 1}, cols.get(), L, false);
        std::fill(dx, dx + g.c_in_group() * g.in_plane(), T(0));
        col2im(g, cols.get(), dx);
      }
    }
  });
}

template <typename T>
void conv_backward_weight_kernel(const ConvGeometry& g, const T* in, const T* grad_out,
                                 T* grad_weight) {
  const int64_t L = g.out_plane(), patch = g.patch(), cog = g.c_out_group();
  const int64_t wsize = g.c_out * patch;
  const bool direct = is_direct(g);
  const int64_t blocks = (g.batch + kWeightBlock - 1) / kWeightBlock;
  if (blocks == 0) {
    std::fill(grad_weight, grad_weight + wsize, T(0));
    return;
  }
  // Block 0 writes straight into grad_weight; the others into partials.
  std::unique_ptr<T[]> partials = scratch<T>((blocks - 1) * wsize);
  const int64_t grain = std::max<int64_t>(1, sample_grain(g) / kWeightBlock);
  parallel_for(blocks, grain, [&](int64_t begin, int64_t end) {
    auto cols = scratch<T>(direct ? 0 : patch * L);
    for (int64_t b = begin; b < end; ++b) {
      T* dw = b == 0 ? grad_weight : partials.get() + (b - 1) * wsize;
      const int64_t first = b * kWeightBlock, last = std::min(g.batch, first + kWeightBlock);
      for (int64_t n = first; n < last; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const T* x = in + (n * g.c_in + grp * g.c_in_group()) * g.in_plane();
          const T* dy = grad_out + (n * g.c_out + grp * cog) * L;
          if (!direct) im2col(g, x, cols.get());
          gemm<T>(cog, patch, L, {dy, L, 1}, {direct ? x : cols.get(), 1, L},
                  dw + grp * cog * patch, patch, n != first);
        }
      }
    }
  });
  for (int64_t b = 1; b < blocks; ++b) {
    const T* p = partials.get() + (b - 1) * wsize;
    for (int64_t i = 0; i < wsize; ++i) grad_weight[i] += p[i];
  }
}

// ---- pooling ----

namespace {

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    (void)v;
    return false;
  }
}

template <typename T>
T lowest() {
  if constexpr (std::is_floating_point_v<T>) {
    return -std::numeric_limits<T>::infinity();
  } else {
    return std::numeric_limits<T>::lowest();
  }
}

int64_t plane_grain(const PoolGeometry& g, int64_t per_output) {
  const int64_t work = std::max<int64_t>(g.oh * g.ow * per_output, 1);
  return std::max<int64_t>(1, kParallelGrain / work);
}

// torch's avg_pool2d window of output (oy, ox): clipped bounds and divisor.
struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
  bool empty() const { return h0 >= h1 || w0 >= w1; }
};

AvgWindow avg_window(const PoolGeometry& g, int64_t oy, int64_t ox) {
  int64_t h0 = oy * g.sh - g.ph, w0 = ox * g.sw - g.pw;
  int64_t h1 = std::min(h0 + g.kh, g.h + g.ph), w1 = std::min(w0 + g.kw, g.w + g.pw);
  const int64_t pool_size = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.h), w1 = std::min(w1, g.w);
  int64_t divisor = g.divisor_override;
  if (divisor == 0) divisor = g.count_include_pad ? pool_size : (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, divisor};
}

int64_t adaptive_start(int64_t o, int64_t out, int64_t in) { return (o * in) / out; }
int64_t adaptive_end(int64_t o, int64_t out, int64_t in) { return ((o + 1) * in + out - 1) / out; }

}  // namespace

template <typename T>
void max_pool2d_kernel(const PoolGeometry& g, const T* in, T* out, int64_t* indices) {
  parallel_for(g.planes, plane_grain(g, g.kh * g.kw), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* x = in + p * g.h * g.w;
      T* y = out + p * g.oh * g.ow;
      int64_t* idx = indices + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        int64_t h0 = oy * g.sh - g.ph;
        const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.h);
        while (h0 < 0) h0 += g.dh;
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t w0 = ox * g.sw - g.pw;
          const int64_t w1 = std::min(w0 + (g.kw - 1) * g.dw + 1, g.w);
          while (w0 < 0) w0 += g.dw;
          // As torch: a NaN wins, and an all -inf window points at its first tap.
          T best = lowest<T>();
          int64_t best_at = h0 * g.w + w0;
          for (int64_t iy = h0; iy < h1; iy += g.dh) {
            for (int64_t ix = w0; ix < w1; ix += g.dw) {
              const T v = x[iy * g.w + ix];
              if (v > best || is_nan(v)) {
                best = v;
                best_at = iy * g.w + ix;
              }
            }
          }
          y[oy * g.ow + ox] = best;
          idx[oy * g.ow + ox] = best_at;
        }
      }
    }
  });
}

template <typename T>
void max_pool2d_backward_kernel(const PoolGeometry& g, const T* grad_out, const int64_t* indices,
                                T* grad_in) {
  parallel_for(g.planes, plane_grain(g, 1), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      T* dx = grad_in + p * g.h * g.w;
      std::fill(dx, dx + g.h * g.w, T(0));
      const T* dy = grad_out + p * g.oh * g.ow;
      const int64_t* idx = indices + p * g.oh * g.ow;
      for (int64_t i = 0; i < g.oh * g.ow; ++i) dx[idx[i]] += dy[i];
    }
  });
}

template <typename T>
void avg_pool2d_kernel(const PoolGeometry& g, const T* in, T* out) {
  parallel_for(g.planes, plane_grain(g, g.kh * g.kw), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* x = in + p * g.h * g.w;
      T* y = out + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const AvgWindow win = avg_window(g, oy, ox);
          if (win.empty()) {
            y[oy * g.ow + ox] = T(0);
            continue;
          }
          T sum = T(0);
          for (int64_t iy = win.h0; iy < win.h1; ++iy)
            for (int64_t ix = win.w0; ix < win.w1; ++ix) sum += x[iy * g.w + ix];
          y[oy * g.ow + ox] = sum / static_cast<T>(win.divisor);
        }
      }
    }
  });
}

template <typename T>
void avg_pool2d_backward_kernel(const PoolGeometry& g, const T* grad_out, T* grad_in) {
  parallel_for(g.planes, plane_grain(g, g.kh * g.kw), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      T* dx = grad_in + p * g.h * g.w;
      std::fill(dx, dx + g.h * g.w, T(0));
      const T* dy = grad_out + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const AvgWindow win = avg_window(g, oy, ox);
          if (win.empty()) continue;
          const T share = dy[oy * g.ow + ox] / static_cast<T>(win.divisor);
          for (int64_t iy = win.h0; iy < win.h1; ++iy)
            for (int64_t ix = win.w0; ix < win.w1; ++ix) dx[iy * g.w + ix] += share;
        }
      }
    }
  });
}

template <typename T>
void adaptive_avg_pool2d_kernel(const PoolGeometry& g, const T* in, T* out) {
  const int64_t kmax =
      (g.h / std::max<int64_t>(g.oh, 1) + 2) * (g.w / std::max<int64_t>(g.ow, 1) + 2);
  parallel_for(g.planes, plane_grain(g, kmax), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* x = in + p * g.h * g.w;
      T* y = out + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const int64_t h0 = adaptive_start(oy, g.oh, g.h), h1 = adaptive_end(oy, g.oh, g.h);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t w0 = adaptive_start(ox, g.ow, g.w), w1 = adaptive_end(ox, g.ow, g.w);
          T sum = T(0);
          for (int64_t iy = h0; iy < h1; ++iy)
            for (int64_t ix = w0; ix < w1; ++ix) sum += x[iy * g.w + ix];
          // Divided by each extent in turn, as torch does (the rounding matches).
          y[oy * g.ow + ox] = sum / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
        }
      }
    }
  });
}

template <typename T>
void adaptive_avg_pool2d_backward_kernel(const PoolGeometry& g, const T* grad_out, T* grad_in) {
  const int64_t kmax =
      (g.h / std::max<int64_t>(g.oh, 1) + 2) * (g.w / std::max<int64_t>(g.ow, 1) + 2);
  parallel_for(g.planes, plane_grain(g, kmax), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      T* dx = grad_in + p * g.h * g.w;
      std::fill(dx, dx + g.h * g.w, T(0));
      const T* dy = grad_out + p * g.oh * g.ow;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const int64_t h0 = adaptive_start(oy, g.oh, g.h), h1 = adaptive_end(oy, g.oh, g.h);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t w0 = adaptive_start(ox, g.ow, g.w), w1 = adaptive_end(ox, g.ow, g.w);
          const T share = dy[oy * g.ow + ox] / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
          for (int64_t iy = h0; iy < h1; ++iy)
            for (int64_t ix = w0; ix < w1; ++ix) dx[iy * g.w + ix] += share;
        }
      }
    }
  });
}

#define EMBER_INSTANTIATE_CONV(T)                                                                 \
  template void conv_forward_kernel<T>(const ConvGeometry&, const T*, const T*, const T*, T*);    \
  template void conv_backward_input_kernel<T>(const ConvGeometry&, const T*, const T*, T*);       \
  template void conv_backward_weight_kernel<T>(const ConvGeometry&, const T*, const T*, T*);      \
  template void max_pool2d_kernel<T>(const PoolGeometry&, const T*, T*, int64_t*);                \
  template void max_pool2d_backward_kernel<T>(const PoolGeometry&, const T*, const int64_t*, T*); \
  template void avg_pool2d_kernel<T>(const PoolGeometry&, const T*, T*);                          \
  template void avg_pool2d_backward_kernel<T>(const PoolGeometry&, const T*, T*);                 \
  template void adaptive_avg_pool2d_kernel<T>(const PoolGeometry&, const T*, T*);                 \
  template void adaptive_avg_pool2d_backward_kernel<T>(const PoolGeometry&, const T*, T*);
EMBER_INSTANTIATE_CONV(float)
EMBER_INSTANTIATE_CONV(double)
EMBER_INSTANTIATE_CONV(int64_t)
#undef EMBER_INSTANTIATE_CONV

}  // namespace ember
