#include "ember/kernels/conv.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "ember/allocator.h"
#include "ember/kernels/blas.h"
#include "ember/kernels/conv_shifted_rows.h"
#include "ember/kernels/multiversion.h"
#include "ember/parallel.h"

// GCC 12 warns about _mm512_undefined_ps inside its own intrinsics (a
// known false positive of -Wmaybe-uninitialized at -O3).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

namespace ember {

// Note [Convolution as GEMM]
// For one sample and one group, gathering every input value a kernel tap sees
// into a column matrix cols (patch = c_in_group*kh*kw rows, oh*ow columns)
// turns the convolution into weight (c_out_group x patch) @ cols. The two
// backward products reuse the same matrix: grad_in scatters
// weight^T @ grad_out back through the gather (col2im), and grad_weight is
// grad_out @ cols^T. A 1x1 kernel with unit stride and no padding needs no gather: the input
// itself is cols.
//
// The backward products, and the forward when output planes are small, put a
// block of samples side by side (columns of cols and of grad_out) so one GEMM
// serves the block. For grad_in and the forward, blocks stay small enough
// (~1 MB of columns) to be reused from cache by the GEMM that follows.
//
// Threads: the forward and grad_in cut the batch (blocks of samples) over
// parallel_for and each chunk runs its GEMMs on its own thread (gemm runs
// inline inside a parallel region; Note [Thread budget]). Splitting each
// sample's GEMM over the pool instead would put a hand-over and a join after
// every sample. grad_weight instead takes few, large blocks (its product's
// inner dimension is the block's columns, which BLAS wants long): each is
// gathered in parallel, then one GEMM over the pool adds it to grad_weight,
// blocks in order, so results do not depend on the thread count (grouped
// convolutions run their groups in parallel instead, each inline).
//
// Float convolutions with unit stride take the shifted-rows kernels instead
// where they apply (conv_shifted_rows.cpp): no column matrix at all.

namespace {

// Below this many multiply-adds per chunk, a thread's wake-up costs more.
constexpr int64_t kConvGrainWork = int64_t(1) << 20;
// Column-matrix elements per gradient block (see Note [Convolution as GEMM]).
constexpr int64_t kBlockElements = int64_t(1) << 18;
// Output planes smaller than this make a GEMM per sample too thin: the forward
// takes blocks of samples.
constexpr int64_t kSmallPlane = 256;
// Column-matrix elements per weight-gradient block (8 MB of floats).
constexpr int64_t kWeightBlockElements = int64_t(1) << 21;
constexpr int64_t kForwardBlocks = 8;

template <typename T>
ScratchBuffer<T> scratch(int64_t n) {
  return ScratchBuffer<T>(n);
}

// The output columns [lo, hi) whose input column ox*stride + off is inside [0, size).
void valid_range(int64_t off, int64_t stride, int64_t size, int64_t out, int64_t* lo, int64_t* hi) {
  *lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  *hi = size - off <= 0 ? 0 : (size - off + stride - 1) / stride;
  *hi = std::min(*hi, out);
  *lo = std::min(*lo, *hi);
}

bool is_direct(const ConvGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 &&
         g.oh == g.h && g.ow == g.w;
}

// Units of parallel work of `per_unit` multiply-adds or copies each per chunk.
int64_t grain_for(int64_t per_unit, int64_t target) {
  return std::max<int64_t>(1, target / std::max<int64_t>(per_unit, 1));
}

// Samples per weight-gradient block: the product's inner dimension is the
// block's columns (samples x output plane), and BLAS runs a long one fastest,
// so blocks take as many samples as kWeightBlockElements of columns hold.
// Blocks run one after another, each gathered in parallel and multiplied by
// the pool-wide GEMM, summing into grad_weight in block order: the split
// depends on the shapes only, so results do not depend on the thread count.
int64_t weight_samples_per_block(const ConvGeometry& g) {
  return std::clamp<int64_t>(kWeightBlockElements / std::max<int64_t>(g.patch() * g.out_plane(), 1),
                             1, std::max<int64_t>(g.batch, 1));
}

int64_t samples_per_block(const ConvGeometry& g) {
  return std::clamp<int64_t>(kBlockElements / std::max<int64_t>(g.patch() * g.out_plane(), 1), 1,
                             16);
}

// Rows of im2col are short (one output row, often 10-30 values): a memcpy or
// memset call per row costs more than the copy, so the loops stay loops.
#if defined(__GNUC__) && !defined(__clang__)
#define EMBER_INLINE_COPIES __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define EMBER_INLINE_COPIES
#endif

template <typename T>
EMBER_INLINE_COPIES inline void copy_row(const T* __restrict src, int64_t n, T* __restrict dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

template <typename T>
EMBER_INLINE_COPIES inline void zero_row(T* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = T(0);
}

// dst[i] = src[2 i] for floats, 16 at a time from two loads; masked loads keep
// every read at or before src[2 (n - 1)].
__attribute__((target("arch=x86-64-v4"))) void copy_every_second_avx512(const float* src, int64_t n,
                                                                        float* dst) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t i = 0; i < n; i += 16) {
    const int64_t count = std::min<int64_t>(16, n - i);  // outputs in this round
    const int64_t reads = 2 * count - 1;                 // src[2i .. 2i + reads)
    const __mmask16 lo = reads >= 16 ? 0xffff : static_cast<__mmask16>((1u << reads) - 1);
    const __mmask16 hi =
        reads <= 16 ? 0 : static_cast<__mmask16>((1u << std::min<int64_t>(reads - 16, 16)) - 1);
    const __m512 a = _mm512_maskz_loadu_ps(lo, src + 2 * i);
    const __m512 b = _mm512_maskz_loadu_ps(hi, src + 2 * i + 16);
    const __mmask16 out = count == 16 ? 0xffff : static_cast<__mmask16>((1u << count) - 1);
    _mm512_mask_storeu_ps(dst + i, out, _mm512_permutex2var_ps(a, even, b));
  }
}

// dst[i] = src[i * stride] for i < n: one row of a strided im2col.
template <typename T>
void copy_strided_row(const T* src, int64_t stride, int64_t n, T* dst) {
  if constexpr (std::is_same_v<T, float>) {
    if (stride == 2 && cpu_has_avx512()) return copy_every_second_avx512(src, n, dst);
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i * stride];
}

// The rows of cols (patch x oh*ow, rows ld apart) that channels [c0, c1) of
// one sample's group x give.
template <typename T>
void im2col_channels(const ConvGeometry& g, const T* x, T* cols, int64_t ld, int64_t c0,
                     int64_t c1) {
  const int64_t ow = g.ow;
  for (int64_t c = c0; c < c1; ++c) {
    const T* plane = x + c * g.in_plane();
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        T* row = cols + ((c * g.kh + ki) * g.kw + kj) * ld;
        const int64_t off = kj * g.dw - g.pw;
        int64_t lo, hi;
        valid_range(off, g.sw, g.w, ow, &lo, &hi);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          T* r = row + oy * ow;
          const int64_t iy = oy * g.sh - g.ph + ki * g.dh;
          if (iy < 0 || iy >= g.h) {
            zero_row(r, ow);
            continue;
          }
          zero_row(r, lo);
          const T* src = plane + iy * g.w + off;
          if (g.sw == 1) {
            copy_row(src + lo, hi - lo, r + lo);
          } else {
            copy_strided_row(src + lo * g.sw, g.sw, hi - lo, r + lo);
          }
          zero_row(r + hi, ow - hi);
        }
      }
    }
  }
}

// cols of all of one sample's group x.
template <typename T>
void im2col(const ConvGeometry& g, const T* x, T* cols, int64_t ld) {
  im2col_channels(g, x, cols, ld, 0, g.c_in_group());
}

// x (the group's planes, zeroed here) = the scatter of cols back to where im2col read.
template <typename T>
void col2im(const ConvGeometry& g, const T* cols, int64_t ld, T* x) {
  const int64_t ow = g.ow;
  for (int64_t c = 0; c < g.c_in_group(); ++c) {
    T* plane = x + c * g.in_plane();
    std::fill(plane, plane + g.in_plane(), T(0));
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const T* row = cols + ((c * g.kh + ki) * g.kw + kj) * ld;
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

// The columns of a block of samples [first, first + count) of group grp, side by side.
template <typename T>
void im2col_block(const ConvGeometry& g, const T* in, int64_t first, int64_t count, int64_t grp,
                  T* cols) {
  const int64_t cig = g.c_in_group(), ld = count * g.out_plane();
  for (int64_t i = 0; i < count; ++i) {
    const T* x = in + ((first + i) * g.c_in + grp * cig) * g.in_plane();
    im2col(g, x, cols + i * g.out_plane(), ld);
  }
}

template <typename T>
void col2im_block(const ConvGeometry& g, const T* cols, int64_t first, int64_t count, int64_t grp,
                  T* grad_in) {
  const int64_t cig = g.c_in_group(), ld = count * g.out_plane();
  for (int64_t i = 0; i < count; ++i) {
    T* dx = grad_in + ((first + i) * g.c_in + grp * cig) * g.in_plane();
    col2im(g, cols + i * g.out_plane(), ld, dx);
  }
}

// The block's grad_out as a (c_out_group x count*L) matrix: in place for one
// sample, else gathered into `scratch`.
template <typename T>
const T* block_grad(const ConvGeometry& g, const T* grad_out, int64_t first, int64_t count,
                    int64_t grp, T* scratch) {
  const int64_t L = g.out_plane(), cog = g.c_out_group(), ld = count * L;
  if (count == 1) return grad_out + (first * g.c_out + grp * cog) * L;
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t co = 0; co < cog; ++co) {
      const T* dy = grad_out + ((first + i) * g.c_out + grp * cog + co) * L;
      std::copy(dy, dy + L, scratch + co * ld + i * L);
    }
  }
  return scratch;
}

}  // namespace

namespace {

// Samples per forward block: as for the gradients when each sample's output
// plane is small (one GEMM over many samples instead of a thin one per sample,
// which would stream the whole weight from memory each time), but at most an
// eighth of the batch, so there are blocks for several threads. The split
// depends on the shapes only, never on the thread count, so neither do results.
int64_t forward_samples_per_block(const ConvGeometry& g) {
  if (is_direct(g) || g.out_plane() >= kSmallPlane) return 1;
  const int64_t eighth = (g.batch + kForwardBlocks - 1) / kForwardBlocks;
  return std::clamp<int64_t>(std::min(samples_per_block(g), eighth), 1, 16);
}

}  // namespace

template <typename T>
void conv_forward_kernel(const ConvGeometry& g, const T* in, const T* weight, const T* bias,
                         T* out) {
  if constexpr (std::is_same_v<T, float>) {
    if (shifted_rows_forward_applies(g)) return conv_forward_shifted_rows(g, in, weight, bias, out);
  }
  const int64_t L = g.out_plane(), patch = g.patch(), cog = g.c_out_group();
  const bool direct = is_direct(g);
  const int64_t per_block = forward_samples_per_block(g);
  const int64_t blocks = (g.batch + per_block - 1) / per_block;
  const int64_t grain = grain_for(per_block * g.c_out * L * patch, kConvGrainWork);
  parallel_for(blocks, grain, [&](int64_t begin, int64_t end) {
    auto cols = scratch<T>(direct ? 0 : patch * L * per_block);
    auto ys = scratch<T>(per_block == 1 ? 0 : cog * L * per_block);
    for (int64_t b = begin; b < end; ++b) {
      const int64_t first = b * per_block, count = std::min(g.batch - first, per_block);
      const int64_t ld = count * L;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const MatrixRef<T> w{weight + grp * cog * patch, patch, 1};
        if (count == 1) {
          const T* x = in + (first * g.c_in + grp * g.c_in_group()) * g.in_plane();
          T* y = out + (first * g.c_out + grp * cog) * L;
          if (!direct) im2col_block(g, in, first, 1, grp, cols.get());
          if (bias) {
            for (int64_t co = 0; co < cog; ++co) {
              std::fill(y + co * L, y + (co + 1) * L, bias[grp * cog + co]);
            }
          }
          gemm<T>(cog, L, patch, w, {direct ? x : cols.get(), L, 1}, y, L, bias != nullptr);
          continue;
        }
        im2col_block(g, in, first, count, grp, cols.get());
        gemm<T>(cog, ld, patch, w, {cols.get(), ld, 1}, ys.get(), ld, false);
        // The product holds the block's samples side by side; each goes to its plane.
        for (int64_t i = 0; i < count; ++i) {
          for (int64_t co = 0; co < cog; ++co) {
            const T* src = ys.get() + co * ld + i * L;
            T* y = out + ((first + i) * g.c_out + grp * cog + co) * L;
            const T shift = bias ? bias[grp * cog + co] : T(0);
            for (int64_t l = 0; l < L; ++l) y[l] = src[l] + shift;
          }
        }
      }
    }
  });
}

template <typename T>
void conv_backward_input_kernel(const ConvGeometry& g, const T* grad_out, const T* weight,
                                T* grad_in) {
  if constexpr (std::is_same_v<T, float>) {
    if (shifted_rows_input_grad_applies(g)) {
      return conv_input_grad_shifted_rows(g, grad_out, weight, grad_in);
    }
  }
  const int64_t L = g.out_plane(), patch = g.patch(), cog = g.c_out_group();
  const bool direct = is_direct(g);
  const int64_t per_block = direct ? 1 : samples_per_block(g);
  const int64_t blocks = (g.batch + per_block - 1) / per_block;
  const int64_t grain = grain_for(per_block * g.c_out * L * patch, kConvGrainWork);
  parallel_for(blocks, grain, [&](int64_t begin, int64_t end) {
    auto cols = scratch<T>(direct ? 0 : patch * L * per_block);
    auto dys = scratch<T>(direct || per_block == 1 ? 0 : cog * L * per_block);
    for (int64_t b = begin; b < end; ++b) {
      const int64_t first = b * per_block, count = std::min(g.batch - first, per_block);
      const int64_t ld = count * L;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const MatrixRef<T> wt{weight + grp * cog * patch, 1, patch};  // weight^T
        const T* dy = block_grad(g, grad_out, first, count, grp, dys.get());
        if (direct) {
          T* dx = grad_in + (first * g.c_in + grp * g.c_in_group()) * g.in_plane();
          gemm<T>(patch, L, cog, wt, {dy, L, 1}, dx, L, false);
          continue;
        }
        gemm<T>(patch, ld, cog, wt, {dy, ld, 1}, cols.get(), ld, false);
        col2im_block(g, cols.get(), first, count, grp, grad_in);
      }
    }
  });
}

namespace {

// The block's column matrix (patch x count*L) and, for several samples, its
// grad_out side by side (cog x count*L), gathered in parallel: one unit per
// (sample, input channel), whose rows no other unit writes.
template <typename T>
void gather_weight_block(const ConvGeometry& g, const T* in, const T* grad_out, int64_t first,
                         int64_t count, int64_t grp, T* cols, T* dys) {
  const int64_t L = g.out_plane(), cig = g.c_in_group(), cog = g.c_out_group();
  const int64_t ld = count * L;
  const int64_t rows_per_channel = g.kh * g.kw;
  parallel_for(count * cig, grain_for(rows_per_channel * L, kParallelGrain),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t u = lo; u < hi; ++u) {
                   const int64_t i = u / cig, c = u % cig;
                   const T* x = in + ((first + i) * g.c_in + grp * cig) * g.in_plane();
                   im2col_channels(g, x, cols + i * L, ld, c, c + 1);
                   if (count == 1 || c >= cog) continue;
                   // The unit for channel c also copies grad_out's rows c, c + cig, ...
                   for (int64_t co = c; co < cog; co += cig) {
                     const T* dy = grad_out + ((first + i) * g.c_out + grp * cog + co) * L;
                     std::copy(dy, dy + L, dys + co * ld + i * L);
                   }
                 }
               });
}

}  // namespace

template <typename T>
void conv_backward_weight_kernel(const ConvGeometry& g, const T* in, const T* grad_out,
                                 T* grad_weight) {
  const int64_t L = g.out_plane(), patch = g.patch(), cog = g.c_out_group();
  const int64_t per_block = weight_samples_per_block(g);
  const int64_t blocks = (g.batch + per_block - 1) / per_block;
  if (blocks == 0 || L == 0) {
    std::fill(grad_weight, grad_weight + g.c_out * patch, T(0));
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    if (shifted_rows_weight_grad_applies(g)) {
      return conv_weight_grad_shifted_rows(g, in, grad_out, grad_weight);
    }
  }
  // One group's gradient, block by block in order.
  auto group_gradient = [&](int64_t grp, T* cols, T* dys) {
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t first = b * per_block, count = std::min(g.batch - first, per_block);
      const int64_t ld = count * L;
      gather_weight_block(g, in, grad_out, first, count, grp, cols, dys);
      const T* dy = count == 1 ? grad_out + (first * g.c_out + grp * cog) * L : dys;
      gemm<T>(cog, patch, ld, {dy, ld, 1}, {cols, 1, ld}, grad_weight + grp * cog * patch, patch,
              b > 0);
    }
  };
  const int64_t cols_size = patch * L * per_block;
  const int64_t dys_size = per_block == 1 ? 0 : cog * L * per_block;
  if (g.groups == 1) {
    auto cols = scratch<T>(cols_size);
    auto dys = scratch<T>(dys_size);
    group_gradient(0, cols.get(), dys.get());
    return;
  }
  // Grouped (and depthwise) convolutions: one group's product is too small to
  // split, so the groups run in parallel, each gathering and multiplying inline.
  parallel_for(g.groups, 1, [&](int64_t lo, int64_t hi) {
    auto cols = scratch<T>(cols_size);
    auto dys = scratch<T>(dys_size);
    for (int64_t grp = lo; grp < hi; ++grp) group_gradient(grp, cols.get(), dys.get());
  });
}

template <typename T>
void conv_bias_grad_kernel(const T* grad_out, int64_t batch, int64_t channels, int64_t plane,
                           T* grad_bias) {
  // Each channel's planes are contiguous runs: summed in double (as floats sum
  // in double elsewhere in Ember), one channel per unit so threads never share
  // an accumulator and the order is fixed.
  parallel_for(channels, grain_for(batch * plane, kParallelGrain), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double total = 0;
      for (int64_t n = 0; n < batch; ++n) {
        const T* row = grad_out + (n * channels + c) * plane;
        // Eight running sums: one chain would wait on each add's latency.
        double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= plane; i += 8)
          for (int j = 0; j < 8; ++j) part[j] += static_cast<double>(row[i + j]);
        for (; i < plane; ++i) part[0] += static_cast<double>(row[i]);
        for (int j = 0; j < 8; ++j) total += part[j];
      }
      grad_bias[c] = static_cast<T>(total);
    }
  });
}

template <typename T>
void unfold_kernel(const ConvGeometry& g, const T* in, T* cols) {
  const int64_t L = g.out_plane(), patch = g.patch();
  parallel_for(g.batch, grain_for(patch * L, kParallelGrain), [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n)
      im2col(g, in + n * g.c_in * g.in_plane(), cols + n * patch * L, L);
  });
}

template <typename T>
void fold_kernel(const ConvGeometry& g, const T* cols, T* out) {
  const int64_t L = g.out_plane(), patch = g.patch();
  parallel_for(g.batch, grain_for(patch * L, kParallelGrain), [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n)
      col2im(g, cols + n * patch * L, L, out + n * g.c_in * g.in_plane());
  });
}

template <typename T>
void conv_add_bias_kernel(const T* bias, int64_t batch, int64_t channels, int64_t plane, T* out) {
  parallel_for(batch * channels, grain_for(plane, kParallelGrain), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T v = bias[i % channels];
      T* row = out + i * plane;
      for (int64_t j = 0; j < plane; ++j) row[j] += v;
    }
  });
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

// `take ? a : b` through the bits, with no branch for the compiler to keep.
template <typename T>
T select_bits(bool take, T a, T b) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  Bits ia, ib;
  std::memcpy(&ia, &a, sizeof(T));
  std::memcpy(&ib, &b, sizeof(T));
  const Bits mask = Bits(0) - static_cast<Bits>(take);
  const Bits r = ib ^ ((ia ^ ib) & mask);
  T out;
  std::memcpy(&out, &r, sizeof(T));
  return out;
}

// Folds one kernel tap into a row of running maxima: output column ox sees
// src[ox * stride], at flat input position first + ox * stride. On real data
// `v > best` is a coin toss, so the update selects instead of branching.
template <typename T>
void max_pool_tap(const T* __restrict src, int64_t first, int64_t stride, int64_t lo, int64_t hi,
                  T* __restrict best, int64_t* __restrict best_at) {
  for (int64_t ox = lo; ox < hi; ++ox) {
    const T v = src[ox * stride], b = best[ox];
    // A NaN wins, as in torch.
    const bool take = static_cast<int>(v > b) | static_cast<int>(is_nan(v));
    best[ox] = select_bits(take, v, b);
    best_at[ox] = select_bits(take, first + ox * stride, best_at[ox]);
  }
}

// The common 2 x 2, stride 2 float window (no padding or dilation), 16 outputs
// at a time: the four taps are the even and odd columns of two input rows,
// folded in torch's order with max_pool_tap's rule (a larger value or a NaN
// takes over), so values and indices are the generic loop's. (ceil_mode's
// last window may hang past the input; such geometries take the generic loop.)
bool is_pool_2x2(const PoolGeometry& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 &&
         g.dw == 1 && 2 * g.oh <= g.h && 2 * g.ow <= g.w && cpu_has_avx512();
}

__attribute__((target("arch=x86-64-v4"))) void max_pool_2x2_row(const float* row0, int64_t first,
                                                                int64_t w, int64_t ow, float* best,
                                                                int64_t* best_at) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int64_t ox = 0; ox < ow; ox += 16) {
    const int64_t count = std::min<int64_t>(16, ow - ox);
    const __mmask16 out = count == 16 ? 0xffff : static_cast<__mmask16>((1u << count) - 1);
    // Columns 2 ox .. 2 (ox + count) - 1 of each row, as two masked halves.
    const __mmask16 lo = count >= 8 ? 0xffff : static_cast<__mmask16>((1u << (2 * count)) - 1);
    const __mmask16 hi = count <= 8 ? 0 : static_cast<__mmask16>((1u << (2 * count - 16)) - 1);
    __m512 tap[4];
    for (int r = 0; r < 2; ++r) {
      const float* src = row0 + r * w + 2 * ox;
      const __m512 a = _mm512_maskz_loadu_ps(lo, src), b = _mm512_maskz_loadu_ps(hi, src + 16);
      tap[2 * r] = _mm512_permutex2var_ps(a, even, b);
      tap[2 * r + 1] = _mm512_permutex2var_ps(a, odd, b);
    }
    __m512 m = tap[0];
    __m512i offset = _mm512_setzero_si512();  // of the winning tap from the first
    const int64_t offsets[4] = {0, 1, w, w + 1};
    for (int k = 1; k < 4; ++k) {
      const __mmask16 take = _mm512_cmp_ps_mask(tap[k], m, _CMP_GT_OQ) |
                             _mm512_cmp_ps_mask(tap[k], tap[k], _CMP_UNORD_Q);
      m = _mm512_mask_mov_ps(m, take, tap[k]);
      offset = _mm512_mask_mov_epi32(offset, take, _mm512_set1_epi32(static_cast<int>(offsets[k])));
    }
    _mm512_mask_storeu_ps(best + ox, out, m);
    // Flat input index: first + 2 (ox + lane) + offset, in int64.
    const __m512i rel = _mm512_add_epi32(offset, _mm512_slli_epi32(lanes, 1));
    const __m512i base = _mm512_set1_epi64(first + 2 * ox);
    const __m512i idx_lo =
        _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(rel)));
    const __m512i idx_hi =
        _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(rel, 1)));
    _mm512_mask_storeu_epi64(best_at + ox, static_cast<__mmask8>(out & 0xff), idx_lo);
    _mm512_mask_storeu_epi64(best_at + ox + 8, static_cast<__mmask8>(out >> 8), idx_hi);
  }
}

// The adjoint of max_pool_2x2_row: each output's gradient goes to the tap its
// index names and zeros to the other three, so the two input rows are written
// once, with no fill before and no scatter after.
__attribute__((target("arch=x86-64-v4"))) void max_pool_2x2_row_backward(const float* grad,
                                                                         const int64_t* index,
                                                                         int64_t first, int64_t w,
                                                                         int64_t ow, float* row0) {
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  // Pairs (a[i], b[i]) for i in the low and the high 8 lanes.
  const __m512i zip_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i zip_hi = _mm512_add_epi32(zip_lo, _mm512_set1_epi32(8));
  for (int64_t ox = 0; ox < ow; ox += 16) {
    const int64_t count = std::min<int64_t>(16, ow - ox);
    const __mmask16 out = count == 16 ? 0xffff : static_cast<__mmask16>((1u << count) - 1);
    const __mmask16 lo = count >= 8 ? 0xffff : static_cast<__mmask16>((1u << (2 * count)) - 1);
    const __mmask16 hi = count <= 8 ? 0 : static_cast<__mmask16>((1u << (2 * count - 16)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(out, grad + ox);
    const __m512i base = _mm512_set1_epi64(first + 2 * ox);
    const __m256i rel_lo = _mm512_cvtepi64_epi32(
        _mm512_sub_epi64(_mm512_maskz_loadu_epi64(static_cast<__mmask8>(out), index + ox), base));
    const __m256i rel_hi = _mm512_cvtepi64_epi32(_mm512_sub_epi64(
        _mm512_maskz_loadu_epi64(static_cast<__mmask8>(out >> 8), index + ox + 8), base));
    // The winning tap's offset from the window's first, less 2 lane.
    const __m512i rel = _mm512_sub_epi32(
        _mm512_inserti64x4(_mm512_castsi256_si512(rel_lo), rel_hi, 1), _mm512_slli_epi32(lanes, 1));
    const int offsets[4] = {0, 1, static_cast<int>(w), static_cast<int>(w + 1)};
    __m512 tap[4];
    for (int k = 0; k < 4; ++k) {
      tap[k] = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32(offsets[k])), g);
    }
    for (int r = 0; r < 2; ++r) {
      float* dst = row0 + r * w + 2 * ox;
      _mm512_mask_storeu_ps(dst, lo, _mm512_permutex2var_ps(tap[2 * r], zip_lo, tap[2 * r + 1]));
      _mm512_mask_storeu_ps(dst + 16, hi,
                            _mm512_permutex2var_ps(tap[2 * r], zip_hi, tap[2 * r + 1]));
    }
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
  // A whole output row at a time, tap by tap: the inner loop over output
  // columns has no data-dependent branch (a per-window loop's `v > best` is a
  // coin toss on real data) and each output still sees its taps in torch's
  // order, so ties and NaNs pick torch's index.
  parallel_for(g.planes, plane_grain(g, g.kh * g.kw), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* x = in + p * g.h * g.w;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        T* best = out + (p * g.oh + oy) * g.ow;
        int64_t* best_at = indices + (p * g.oh + oy) * g.ow;
        if constexpr (std::is_same_v<T, float>) {
          if (is_pool_2x2(g)) {
            max_pool_2x2_row(x + 2 * oy * g.w, 2 * oy * g.w, g.w, g.ow, best, best_at);
            continue;
          }
        }
        int64_t h0 = oy * g.sh - g.ph;
        const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.h);
        while (h0 < 0) h0 += g.dh;
        // As torch: an all -inf window points at its first tap.
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t w0 = ox * g.sw - g.pw;
          while (w0 < 0) w0 += g.dw;
          best[ox] = lowest<T>();
          best_at[ox] = h0 * g.w + w0;
        }
        for (int64_t iy = h0; iy < h1; iy += g.dh) {
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const int64_t off = kj * g.dw - g.pw;
            int64_t lo, hi;
            valid_range(off, g.sw, g.w, g.ow, &lo, &hi);
            max_pool_tap(x + iy * g.w + off, iy * g.w + off, g.sw, lo, hi, best, best_at);
          }
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
      const T* dy = grad_out + p * g.oh * g.ow;
      const int64_t* idx = indices + p * g.oh * g.ow;
      if constexpr (std::is_same_v<T, float>) {
        if (is_pool_2x2(g)) {
          for (int64_t oy = 0; oy < g.oh; ++oy) {
            const int64_t first = 2 * oy * g.w;
            max_pool_2x2_row_backward(dy + oy * g.ow, idx + oy * g.ow, first, g.w, g.ow,
                                      dx + first);
            // An odd width leaves a last column no window covers.
            for (int64_t c = 2 * g.ow; c < g.w; ++c) dx[first + c] = dx[first + g.w + c] = 0;
          }
          std::fill(dx + 2 * g.oh * g.w, dx + g.h * g.w, T(0));  // rows below the last window
          continue;
        }
      }
      std::fill(dx, dx + g.h * g.w, T(0));
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
void adaptive_max_pool2d_kernel(const PoolGeometry& g, const T* in, T* out, int64_t* indices) {
  const int64_t kmax =
      (g.h / std::max<int64_t>(g.oh, 1) + 2) * (g.w / std::max<int64_t>(g.ow, 1) + 2);
  parallel_for(g.planes, plane_grain(g, kmax), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* x = in + p * g.h * g.w;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const int64_t h0 = adaptive_start(oy, g.oh, g.h), h1 = adaptive_end(oy, g.oh, g.h);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t w0 = adaptive_start(ox, g.ow, g.w), w1 = adaptive_end(ox, g.ow, g.w);
          // As torch: a NaN wins (the last one seen); an all -inf window points at its start.
          T best = lowest<T>();
          int64_t best_at = h0 * g.w + w0;
          for (int64_t iy = h0; iy < h1; ++iy) {
            for (int64_t ix = w0; ix < w1; ++ix) {
              const T v = x[iy * g.w + ix];
              if (v > best || is_nan(v)) {
                best = v;
                best_at = iy * g.w + ix;
              }
            }
          }
          out[(p * g.oh + oy) * g.ow + ox] = best;
          indices[(p * g.oh + oy) * g.ow + ox] = best_at;
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
  template void conv_bias_grad_kernel<T>(const T*, int64_t, int64_t, int64_t, T*);                \
  template void conv_add_bias_kernel<T>(const T*, int64_t, int64_t, int64_t, T*);                 \
  template void max_pool2d_kernel<T>(const PoolGeometry&, const T*, T*, int64_t*);                \
  template void max_pool2d_backward_kernel<T>(const PoolGeometry&, const T*, const int64_t*, T*); \
  template void avg_pool2d_kernel<T>(const PoolGeometry&, const T*, T*);                          \
  template void avg_pool2d_backward_kernel<T>(const PoolGeometry&, const T*, T*);                 \
  template void adaptive_avg_pool2d_kernel<T>(const PoolGeometry&, const T*, T*);                 \
  template void adaptive_max_pool2d_kernel<T>(const PoolGeometry&, const T*, T*, int64_t*);       \
  template void unfold_kernel<T>(const ConvGeometry&, const T*, T*);                              \
  template void fold_kernel<T>(const ConvGeometry&, const T*, T*);                                \
  template void adaptive_avg_pool2d_backward_kernel<T>(const PoolGeometry&, const T*, T*);
EMBER_INSTANTIATE_CONV(float)
EMBER_INSTANTIATE_CONV(double)
EMBER_INSTANTIATE_CONV(int64_t)
#undef EMBER_INSTANTIATE_CONV

}  // namespace ember
