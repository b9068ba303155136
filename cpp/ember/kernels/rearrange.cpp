#include "ember/kernels/rearrange.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ember/kernels/multiversion.h"
#include "ember/kernels/vector_math.h"
#include "ember/parallel.h"

namespace ember {
namespace {

// Element moves need only the element's size: one unsigned type per width.
template <typename F>
void by_width(DType dtype, F&& f) {
  switch (itemsize(dtype)) {
    case 1:
      return f(uint8_t{});
    case 2:
      return f(uint16_t{});
    case 4:
      return f(uint32_t{});
    default:
      return f(uint64_t{});
  }
}

// Rows of `row_work` elements each per parallel chunk: ~kParallelGrain elements.
int64_t row_grain(int64_t row_work) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_work, 1));
}

}  // namespace

Tensor triangle_kernel(const Tensor& x, int64_t diagonal, bool lower) {
  Tensor out = empty(x->shape(), x->dtype());
  const int64_t rows = x->shape()[x->dim() - 2], cols = x->shape()[x->dim() - 1];
  if (x->numel() == 0) return out;
  const size_t item = itemsize(x->dtype());
  const char* src = static_cast<const char*>(x->raw_data());
  char* dst = static_cast<char*>(out->raw_data());
  const int64_t lines = x->numel() / cols;
  parallel_for(lines, row_grain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const int64_t r = line % rows;
      // Columns [keep_begin, keep_end) are kept, the rest zeroed.
      int64_t keep_begin = 0, keep_end = cols;
      if (lower) {
        keep_end = std::clamp<int64_t>(r + diagonal + 1, 0, cols);
      } else {
        keep_begin = std::clamp<int64_t>(r + diagonal, 0, cols);
      }
      if (keep_end < keep_begin) keep_end = keep_begin;
      const int64_t at = line * cols;
      std::memset(dst + at * item, 0, keep_begin * item);
      std::memcpy(dst + (at + keep_begin) * item, src + (at + keep_begin) * item,
                  (keep_end - keep_begin) * item);
      std::memset(dst + (at + keep_end) * item, 0, (cols - keep_end) * item);
    }
  });
  return out;
}

Tensor remap_kernel(const Tensor& x, const std::vector<std::vector<int64_t>>& sources) {
  Tensor out = empty(x->shape(), x->dtype());
  const int64_t nd = x->dim();
  if (x->numel() == 0) return out;
  // The last remapped dim k; dims after it move as one contiguous block.
  int64_t k = nd - 1;
  while (k >= 0 && sources[k].empty()) --k;
  const size_t item = itemsize(x->dtype());
  if (k < 0) {
    std::memcpy(out->raw_data(), x->raw_data(), x->numel() * item);
    return out;
  }
  std::vector<int64_t> stride(nd, 1);
  for (int64_t d = nd - 2; d >= 0; --d) stride[d] = stride[d + 1] * x->shape()[d + 1];
  const int64_t block = stride[k], len = x->shape()[k];
  const int64_t outer = x->numel() / (block * len);
  const std::vector<int64_t>& last = sources[k];
  by_width(x->dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(x->raw_data());
    T* dst = static_cast<T*>(out->raw_data());
    parallel_for(outer, row_grain(block * len), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        // The source offset of the dims before k.
        int64_t base = 0, rest = o;
        for (int64_t d = k - 1; d >= 0; --d) {
          const int64_t i = rest % x->shape()[d];
          rest /= x->shape()[d];
          base += (sources[d].empty() ? i : sources[d][i]) * stride[d];
        }
        T* row = dst + o * block * len;
        if (block == 1) {
          for (int64_t j = 0; j < len; ++j) row[j] = src[base + last[j]];
        } else {
          for (int64_t j = 0; j < len; ++j) {
            std::memcpy(row + j * block, src + base + last[j] * block, block * sizeof(T));
          }
        }
      }
    });
  });
  return out;
}

bool fusable_pointwise(std::initializer_list<const Tensor*> operands) {
  const Tensor& first = **operands.begin();
  if (first->dtype() != DType::Float32 && first->dtype() != DType::Float64) return false;
  for (const Tensor* t : operands) {
    if ((*t)->dtype() != first->dtype() || !(*t)->is_contiguous() ||
        (*t)->shape() != first->shape()) {
      return false;
    }
  }
  return true;
}

namespace {

// Both forms, then a select that vectorizes (random weights would make a
// branch unpredictable); the file is built with -fno-trapping-math for it.
template <typename T>
inline void lerp_loop(const T* a, const T* b, const T* w, T* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T diff = b[i] - a[i];
    const T from_start = a[i] + w[i] * diff, from_end = b[i] - diff * (T(1) - w[i]);
    o[i] = std::abs(w[i]) < T(0.5) ? from_start : from_end;
  }
}
EMBER_MULTIVERSION void lerp_loop_f32(const float* a, const float* b, const float* w, float* o,
                                      int64_t n) {
  lerp_loop(a, b, w, o, n);
}
EMBER_MULTIVERSION void lerp_loop_f64(const double* a, const double* b, const double* w, double* o,
                                      int64_t n) {
  lerp_loop(a, b, w, o, n);
}

inline void lerp_loop_of(const float* a, const float* b, const float* w, float* o, int64_t n) {
  lerp_loop_f32(a, b, w, o, n);
}
inline void lerp_loop_of(const double* a, const double* b, const double* w, double* o, int64_t n) {
  lerp_loop_f64(a, b, w, o, n);
}

// The row's max, NaN ignored, in independent lanes so the select vectorizes.
template <typename T>
inline T row_max(const T* row, int64_t n) {
  constexpr int64_t kLanes = 16;
  T lanes[kLanes];
  for (T& l : lanes) l = -std::numeric_limits<T>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] = row[j + l] > lanes[l] ? row[j + l] : lanes[l];
  }
  T m = -std::numeric_limits<T>::infinity();
  for (T l : lanes) m = l > m ? l : m;
  for (; j < n; ++j) m = row[j] > m ? row[j] : m;
  return m;
}
EMBER_MULTIVERSION float row_max_f32(const float* row, int64_t n) { return row_max(row, n); }
EMBER_MULTIVERSION double row_max_f64(const double* row, int64_t n) { return row_max(row, n); }
inline float row_max_of(const float* row, int64_t n) { return row_max_f32(row, n); }
inline double row_max_of(const double* row, int64_t n) { return row_max_f64(row, n); }

}  // namespace

Tensor lerp_kernel(const Tensor& start, const Tensor& end, const Tensor& weight,
                   double scalar_weight) {
  Tensor out = empty(start->shape(), start->dtype());
  const int64_t n = start->numel();
  EMBER_DISPATCH_FLOAT(start->dtype(), T, [&] {
    const T* a = start->data<T>();
    const T* b = end->data<T>();
    const T* w = weight ? weight->data<T>() : nullptr;
    const T sw = static_cast<T>(scalar_weight);
    T* o = out->data<T>();
    parallel_for(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
      if (w) {
        lerp_loop_of(a + lo, b + lo, w + lo, o + lo, hi - lo);
      } else if (std::abs(sw) < T(0.5)) {
        for (int64_t i = lo; i < hi; ++i) o[i] = a[i] + sw * (b[i] - a[i]);
      } else {
        for (int64_t i = lo; i < hi; ++i) o[i] = b[i] - (b[i] - a[i]) * (T(1) - sw);
      }
    });
  });
  return out;
}

Tensor addc_kernel(const Tensor& self, const Tensor& t1, const Tensor& t2, double value,
                   bool divide) {
  Tensor out = empty(self->shape(), self->dtype());
  const int64_t n = self->numel();
  EMBER_DISPATCH_FLOAT(self->dtype(), T, [&] {
    const T* s = self->data<T>();
    const T* a = t1->data<T>();
    const T* b = t2->data<T>();
    const T v = static_cast<T>(value);
    T* o = out->data<T>();
    parallel_for(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
      if (divide) {
        for (int64_t i = lo; i < hi; ++i) o[i] = s[i] + v * (a[i] / b[i]);
      } else {
        for (int64_t i = lo; i < hi; ++i) o[i] = s[i] + v * (a[i] * b[i]);
      }
    });
  });
  return out;
}

namespace {

// sum_j exp(row[j] - m) for m the row's finite max; float32 runs the
// vectorized exp over a small stack block at a time.
template <typename T>
double shifted_exp_sum(const T* row, T m, int64_t n) {
  double s = 0;
  if constexpr (std::is_same_v<T, float>) {
    constexpr int64_t kBlock = 256;
    float buf[kBlock];
    for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
      const int64_t len = std::min(kBlock, n - j0);
      for (int64_t j = 0; j < len; ++j) buf[j] = row[j0 + j] - m;
      exp_contiguous(buf, buf, len);
      s += sum_contiguous_f32(buf, len);
    }
  } else {
    for (int64_t j = 0; j < n; ++j) s += std::exp(row[j] - m);
  }
  return s;
}

// sum[q] += exp(shifted[q]); float blocks go through the vector exp.
template <typename T>
void add_exp(T* shifted, double* sum, int64_t len) {
  if constexpr (std::is_same_v<T, float>) {
    exp_contiguous(shifted, shifted, len);
    for (int64_t q = 0; q < len; ++q) sum[q] += shifted[q];
  } else {
    for (int64_t q = 0; q < len; ++q) sum[q] += std::exp(shifted[q]);
  }
}

}  // namespace

Tensor logsumexp_rows_kernel(const Tensor& x, int64_t rows, int64_t n) {
  Tensor out = empty({rows}, x->dtype());
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* in = x->data<T>();
    T* o = out->data<T>();
    parallel_for(rows, row_grain(n), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const T* row = in + r * n;
        const T m = row_max_of(row, n);
        if (std::isinf(m)) {
          // +inf wins, a row of -inf (or an empty one) sums to 0; a NaN beats both.
          bool nan = false;
          for (int64_t j = 0; j < n; ++j) nan |= std::isnan(row[j]);
          o[r] = nan ? std::numeric_limits<T>::quiet_NaN() : m;
        } else {  // a NaN makes the sum NaN
          o[r] = static_cast<T>(std::log(shifted_exp_sum(row, m, n)) + m);
        }
      }
    });
  });
  return out;
}

Tensor logsumexp_columns_kernel(const Tensor& x, int64_t outer, int64_t n, int64_t inner) {
  // x is contiguous (outer, n, inner); a block of neighbouring columns is walked
  // row by row, so memory is read in order and the extra memory is the block.
  constexpr int64_t kBlock = 256;
  Tensor out = empty({outer * inner}, x->dtype());
  const int64_t blocks_per_outer = (inner + kBlock - 1) / kBlock;
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* in = x->data<T>();
    T* o = out->data<T>();
    parallel_for(outer * blocks_per_outer, row_grain(n * kBlock), [&](int64_t lo, int64_t hi) {
      T m[kBlock];
      double sum[kBlock];
      T shifted[kBlock];
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t p = b / blocks_per_outer, q0 = (b % blocks_per_outer) * kBlock;
        const int64_t len = std::min(kBlock, inner - q0);
        const T* base = in + p * n * inner + q0;
        // A NaN sticks in the maximum: `v > m` is false once m is NaN.
        for (int64_t q = 0; q < len; ++q) m[q] = -std::numeric_limits<T>::infinity();
        for (int64_t r = 0; r < n; ++r) {
          const T* row = base + r * inner;
          for (int64_t q = 0; q < len; ++q)
            m[q] = (row[q] > m[q] || std::isnan(row[q])) ? row[q] : m[q];
        }
        for (int64_t q = 0; q < len; ++q) sum[q] = 0;
        for (int64_t r = 0; r < n; ++r) {
          const T* row = base + r * inner;
          for (int64_t q = 0; q < len; ++q) shifted[q] = row[q] - m[q];
          add_exp(shifted, sum, len);
        }
        T* dst = o + p * inner + q0;
        for (int64_t q = 0; q < len; ++q) {
          // +inf wins and a column of -inf stays -inf (no NaN: it would be the max).
          dst[q] = std::isinf(m[q]) ? m[q] : static_cast<T>(std::log(sum[q]) + m[q]);
        }
      }
    });
  });
  return out;
}

}  // namespace ember
