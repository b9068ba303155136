#include "ember/kernels/reduce.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ember/kernels/elementwise.h"
#include "ember/kernels/loops.h"
#include "ember/kernels/multiversion.h"
#include "ember/kernels/vector_math.h"

namespace ember {
namespace {

// Accumulator type: double for floats (accuracy), int64 for integers.
template <typename T>
using acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

Shape keepdim_shape(const Shape& shape, const std::vector<bool>& reduce) {
  Shape out = shape;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduce[d]) out[d] = 1;
  }
  return out;
}

// Sums a contiguous run: floats through the vectorized lane sum
// (kernels/vector_math), other types in acc_t directly.
template <typename T>
acc_t<T> sum_contiguous(const T* p, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    return sum_contiguous_f32(p, n);
  } else {
    acc_t<T> s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      s0 += p[i];
      s1 += p[i + 1];
      s2 += p[i + 2];
      s3 += p[i + 3];
    }
    for (; i < n; ++i) s0 += p[i];
    return (s0 + s1) + (s2 + s3);
  }
}

// The sum of n contiguous elements. Large inputs are cut into fixed-size blocks
// that any thread may take, and the block sums are added in order, so the
// result is the same at every thread count (Note [Parallel kernels]).
template <typename T>
acc_t<T> sum_all_contiguous(const T* p, int64_t n) {
  constexpr int64_t kBlock = int64_t{1} << 16;
  if (n <= kBlock) return sum_contiguous(p, n);
  std::vector<acc_t<T>> partial(static_cast<size_t>((n + kBlock - 1) / kBlock), 0);
  parallel_for(static_cast<int64_t>(partial.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t lo = c * kBlock, hi = std::min(n, lo + kBlock);
      partial[static_cast<size_t>(c)] = sum_contiguous(p + lo, hi - lo);
    }
  });
  acc_t<T> total = 0;
  for (acc_t<T> s : partial) total += s;
  return total;
}

}  // namespace

namespace {

// Note [Compute dtypes]: runs `kernel` on `a` converted to its compute dtype
// and converts the result back to a's dtype.
template <typename Kernel>
Tensor in_kernel_dtype(const Tensor& a, Kernel kernel) {
  return convert(kernel(convert(a, kernel_dtype(a->dtype()))), a->dtype());
}

Tensor widened(const Tensor& a) { return convert(a, kernel_dtype(a->dtype())); }

// Values in the input's dtype again; indices are unchanged.
ExtremeResult values_back(ExtremeResult r, DType dtype) {
  return {convert(r.values, dtype), r.indices};
}

}  // namespace

Tensor sum_all_kernel(const Tensor& a_in, DType out_dtype) {
  if (!has_kernels(out_dtype)) {  // Note [Compute dtypes]
    return convert(sum_all_kernel(a_in, kernel_dtype(out_dtype)), out_dtype);
  }
  Tensor a = convert(a_in, out_dtype);
  if (!a->is_contiguous()) {
    const Tensor keepdim = sum_kernel(a, std::vector<bool>(a->shape().size(), true), out_dtype);
    return std::make_shared<TensorImpl>(keepdim->storage(), keepdim->offset(), Shape{}, Strides{},
                                        out_dtype);
  }
  Tensor out = empty(Shape{}, out_dtype);
  EMBER_DISPATCH(out_dtype, T, [&] {
    out->data<T>()[0] = static_cast<T>(sum_all_contiguous(a->data<T>(), a->numel()));
  });
  return out;
}

Tensor sum_kernel(const Tensor& a_in, const std::vector<bool>& reduce, DType out_dtype) {
  if (!has_kernels(out_dtype)) {  // Note [Compute dtypes]
    return convert(sum_kernel(a_in, reduce, kernel_dtype(out_dtype)), out_dtype);
  }
  Tensor a = convert(a_in, out_dtype);
  const Shape out_shape = keepdim_shape(a->shape(), reduce);
  Tensor out = zeros(out_shape, out_dtype);
  bool all = true;
  for (bool r : reduce) all = all && r;
  EMBER_DISPATCH(out_dtype, T, [&] {
    T* po = out->data<T>();
    const T* pa = a->data<T>();
    if (all && a->is_contiguous()) {
      po[0] = static_cast<T>(sum_all_contiguous(pa, a->numel()));
      return;
    }
    Strides out_strides = out->strides();
    for (size_t d = 0; d < reduce.size(); ++d) {
      if (reduce[d]) out_strides[d] = 0;
    }
    for_each_row<2>(
        a->shape(), {&out_strides, &a->strides()},
        [&](const int64_t* off, int64_t len, const int64_t* st) {
          T* o = po + off[0];
          const T* x = pa + off[1];
          if (st[0] == 0) {  // a row summed into one output
            acc_t<T> s = 0;
            if (st[1] == 1) {
              s = sum_contiguous(x, len);
            } else {
              for (int64_t i = 0; i < len; ++i) s += x[i * st[1]];
            }
            *o = static_cast<T>(*o + s);
          } else if (st[0] == 1 && st[1] == 1) {  // rows added into a row (bias grads)
            for (int64_t i = 0; i < len; ++i) o[i] += x[i];
          } else {
            for (int64_t i = 0; i < len; ++i) o[i * st[0]] += x[i * st[1]];
          }
        },
        /*parallel=*/false);
  });
  return out;
}

namespace {

template <typename T>
bool better(T candidate, T current, bool is_max) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(current)) return false;
    if (std::isnan(candidate)) return true;
  }
  return is_max ? candidate > current : candidate < current;
}

// Note [Row extremes]
// max/min along a contiguous row give what better() scanning it would: the
// first NaN, else the first element equal to the largest (smallest); -0.0 and
// 0.0 are equal there, so the value is read back at that index. For float32
// on AVX2 CPUs one pass keeps 8 running extremes (vmaxps) and a NaN flag, and
// a second finds the first match 8 at a time (a compare and a bit scan).
// Other types scan with better().
template <bool kMax>
__attribute__((target("avx2"))) int64_t float_extreme_index_avx2(const float* x, int64_t len) {
  __m256 acc = _mm256_set1_ps(x[0]);
  __m256 nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= len; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    acc = kMax ? _mm256_max_ps(acc, v) : _mm256_min_ps(acc, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  bool any_nan = _mm256_movemask_ps(nan) != 0;
  float lanes[8];
  _mm256_storeu_ps(lanes, acc);
  float best = lanes[0];
  for (float lane : lanes) best = kMax ? std::max(best, lane) : std::min(best, lane);
  for (; i < len; ++i) {
    any_nan = any_nan || std::isnan(x[i]);
    best = kMax ? std::max(best, x[i]) : std::min(best, x[i]);
  }
  const __m256 target = _mm256_set1_ps(best);
  int64_t at = 0;
  for (; at + 8 <= len; at += 8) {
    const __m256 v = _mm256_loadu_ps(x + at);
    const __m256 hit =
        any_nan ? _mm256_cmp_ps(v, v, _CMP_UNORD_Q) : _mm256_cmp_ps(v, target, _CMP_EQ_OQ);
    const int bits = _mm256_movemask_ps(hit);
    if (bits != 0) return at + __builtin_ctz(static_cast<unsigned>(bits));
  }
  while (any_nan ? !std::isnan(x[at]) : !(x[at] == best)) ++at;
  return at;
}

// The index of a strided line's extreme by better() (Note [Row extremes]).
template <typename T>
int64_t extreme_index_of_line(const T* x, int64_t len, int64_t stride, bool is_max) {
  if constexpr (std::is_same_v<T, float>) {
    if (stride == 1 && cpu_has_avx2()) {
      return is_max ? float_extreme_index_avx2<true>(x, len)
                    : float_extreme_index_avx2<false>(x, len);
    }
  }
  T best = x[0];
  int64_t at = 0;
  for (int64_t i = 1; i < len; ++i) {
    if (better(x[i * stride], best, is_max)) {
      best = x[i * stride];
      at = i;
    }
  }
  return at;
}

// update_column_extremes on 4 columns at a time, as far as whole groups of
// 4 go; returns how many columns it took.
template <bool kMax>
__attribute__((target("avx2"))) int64_t update_float_column_extremes_avx2(const float* row,
                                                                          int64_t i, int64_t n,
                                                                          float* values,
                                                                          int64_t* index) {
  const __m256i row_index = _mm256_set1_epi64x(i);
  int64_t r = 0;
  for (; r + 4 <= n; r += 4) {
    const __m128 v = _mm_loadu_ps(row + r);
    const __m128 b = _mm_loadu_ps(values + r);
    __m128 take = kMax ? _mm_cmp_ps(v, b, _CMP_GT_OQ) : _mm_cmp_ps(v, b, _CMP_LT_OQ);
    take = _mm_or_ps(take, _mm_cmp_ps(v, v, _CMP_UNORD_Q));  // a NaN wins
    take = _mm_and_ps(take, _mm_cmp_ps(b, b, _CMP_ORD_Q));   // and stays
    _mm_storeu_ps(values + r, _mm_blendv_ps(b, v, take));
    auto* at = reinterpret_cast<__m256i*>(index + r);
    const __m256i wide_take = _mm256_cvtepi32_epi64(_mm_castps_si128(take));
    _mm256_storeu_si256(at, _mm256_blendv_epi8(_mm256_loadu_si256(at), row_index, wide_take));
  }
  return r;
}

// better() for a whole row of running extremes at once: values[r] and
// index[r] hold the extreme of column r of the rows before row i, and take
// row i into account.
template <typename T, bool kMax>
void update_column_extremes(const T* row, int64_t i, int64_t n, T* values, int64_t* index) {
  int64_t r = 0;
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_has_avx2()) r = update_float_column_extremes_avx2<kMax>(row, i, n, values, index);
  }
  for (; r < n; ++r) {
    if (better(row[r], values[r], kMax)) {
      values[r] = row[r];
      index[r] = i;
    }
  }
}

}  // namespace

ExtremeResult extreme_kernel(const Tensor& a, int64_t dim, bool is_max) {
  if (!has_kernels(a->dtype())) {  // Note [Compute dtypes]
    ExtremeResult r = extreme_kernel(convert(a, kernel_dtype(a->dtype())), dim, is_max);
    return {convert(r.values, a->dtype()), r.indices};
  }
  std::vector<bool> reduce(a->shape().size(), false);
  if (!reduce.empty()) reduce[static_cast<size_t>(dim)] = true;
  Shape out_shape = keepdim_shape(a->shape(), reduce);
  const int64_t len = a->dim() == 0 ? 1 : a->shape()[static_cast<size_t>(dim)];
  if (len == 0) {
    throw IndexError(std::string(is_max ? "max" : "min") + "(): Expected reduction dim " +
                     std::to_string(dim) + " to have non-zero size.");
  }
  Tensor values = empty(out_shape, a->dtype());
  Tensor indices = empty(out_shape, DType::Int64);
  const int64_t stride = a->dim() == 0 ? 0 : a->strides()[static_cast<size_t>(dim)];
  // Iterate over output positions; each walks the reduced dim.
  Strides in_strides = a->strides();
  Shape iter_shape = out_shape;
  EMBER_DISPATCH(a->dtype(), T, [&] {
    T* pv = values->data<T>();
    int64_t* pi = indices->data<int64_t>();
    const T* pa = a->data<T>();
    for_each_row<3>(iter_shape, {&values->strides(), &indices->strides(), &in_strides},
                    [&](const int64_t* off, int64_t n, const int64_t* st) {
                      if (stride != 1 && st[0] == 1 && st[1] == 1 && st[2] == 1) {
                        // n columns side by side: walk the reduced dim row by row.
                        T* v = pv + off[0];
                        int64_t* ix = pi + off[1];
                        std::copy(pa + off[2], pa + off[2] + n, v);
                        std::fill(ix, ix + n, int64_t{0});
                        for (int64_t i = 1; i < len; ++i) {
                          const T* row = pa + off[2] + i * stride;
                          if (is_max) {
                            update_column_extremes<T, true>(row, i, n, v, ix);
                          } else {
                            update_column_extremes<T, false>(row, i, n, v, ix);
                          }
                        }
                        return;
                      }
                      for (int64_t r = 0; r < n; ++r) {
                        const T* x = pa + off[2] + r * st[2];
                        const int64_t at = extreme_index_of_line(x, len, stride, is_max);
                        pv[off[0] + r * st[0]] = x[at * stride];
                        pi[off[1] + r * st[1]] = at;
                      }
                    });
  });
  return {values, indices};
}

namespace {

// The lines of a contiguous tensor along one dim: `each` calls f(in, out) with
// the offsets of each line's first element in the input and in an output of
// the same shape except out_len along dim; elements are `inner` apart.
struct Lines {
  int64_t outer = 1, len = 1, inner = 1;
  Lines(const Shape& shape, int64_t dim) {
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
      if (d < dim) outer *= shape[d];
      if (d > dim) inner *= shape[d];
    }
    len = shape.empty() ? 1 : shape[dim];
  }
  template <typename F>
  void each(int64_t out_len, F f) const {
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) f(o * len * inner + i, o * out_len * inner + i);
    }
  }
};

template <typename T>
T times(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a && b;
  } else {
    return static_cast<T>(a * b);
  }
}

Tensor dense(const Tensor& a) {
  if (a->is_contiguous()) return a;
  Tensor out = empty(a->shape(), a->dtype());
  copy_kernel(out, a);
  return out;
}

}  // namespace

Tensor prod_kernel(const Tensor& a_in, int64_t dim) {
  if (!has_kernels(a_in->dtype()))
    return in_kernel_dtype(a_in, [&](const Tensor& a) { return prod_kernel(a, dim); });
  const Tensor a = dense(a_in);
  Shape shape = a->shape();
  if (!shape.empty()) shape[dim] = 1;
  Tensor out = empty(shape, a->dtype());
  const Lines lines(a->shape(), dim);
  EMBER_DISPATCH(a->dtype(), T, [&] {
    const T* p = a->data<T>();
    T* q = out->data<T>();
    lines.each(1, [&](int64_t in, int64_t o) {
      T r = 1;
      for (int64_t k = 0; k < lines.len; ++k) r = times(r, p[in + k * lines.inner]);
      q[o] = r;
    });
  });
  return out;
}

Tensor cumsum_kernel(const Tensor& a_in, int64_t dim, bool reverse) {
  if (!has_kernels(a_in->dtype())) {
    return in_kernel_dtype(a_in, [&](const Tensor& a) { return cumsum_kernel(a, dim, reverse); });
  }
  const Tensor a = dense(a_in);
  Tensor out = empty(a->shape(), a->dtype());
  const Lines lines(a->shape(), dim);
  EMBER_DISPATCH(a->dtype(), T, [&] {
    const T* p = a->data<T>();
    T* q = out->data<T>();
    lines.each(lines.len, [&](int64_t in, int64_t o) {
      acc_t<T> run = 0;  // float32 sums in double, as torch's (2**24 + 1 stays exact)
      for (int64_t j = 0; j < lines.len; ++j) {
        const int64_t k = (reverse ? lines.len - 1 - j : j) * lines.inner;
        run += p[in + k];
        q[o + k] = static_cast<T>(run);
      }
    });
  });
  return out;
}

Tensor cumprod_kernel(const Tensor& a_in, int64_t dim) {
  if (!has_kernels(a_in->dtype()))
    return in_kernel_dtype(a_in, [&](const Tensor& a) { return cumprod_kernel(a, dim); });
  const Tensor a = dense(a_in);
  Tensor out = empty(a->shape(), a->dtype());
  const Lines lines(a->shape(), dim);
  EMBER_DISPATCH(a->dtype(), T, [&] {
    const T* p = a->data<T>();
    T* q = out->data<T>();
    lines.each(lines.len, [&](int64_t in, int64_t o) {
      acc_t<T> run = 1;
      for (int64_t k = 0; k < lines.len * lines.inner; k += lines.inner) {
        run = times<acc_t<T>>(run, p[in + k]);
        q[o + k] = static_cast<T>(run);
      }
    });
  });
  return out;
}

// out_k = d/dx_k sum_j g_j prod_{i<=j} x_i = (prod_{i<k} x_i) * S_k, where
// S_k = g_k + x_{k+1} S_{k+1}: no division, so zeros in x are exact. As in
// torch, an input after the line's first zero gets 0 and the terms from its
// second zero on count as 0, even where an inf would make them NaN.
Tensor cumprod_backward_kernel(const Tensor& x_in, const Tensor& g_in, int64_t dim) {
  if (!has_kernels(x_in->dtype())) {
    const DType dt = kernel_dtype(x_in->dtype());
    return convert(cumprod_backward_kernel(convert(x_in, dt), convert(g_in, dt), dim),
                   x_in->dtype());
  }
  const Tensor x = dense(x_in), g = dense(g_in);
  Tensor out = empty(x->shape(), x->dtype());
  const Lines lines(x->shape(), dim);
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {  // a gradient: float dtypes only
    const T* p = x->data<T>();
    const T* gp = g->data<T>();
    T* q = out->data<T>();
    lines.each(lines.len, [&](int64_t in, int64_t o) {
      const int64_t n = lines.len, step = lines.inner;
      int64_t first_zero = n, second_zero = n;
      for (int64_t k = 0; k < n; ++k) {
        if (p[in + k * step] != T(0)) continue;
        if (first_zero < n) {
          second_zero = k;
          break;
        }
        first_zero = k;
      }
      acc_t<T> before = 1;
      for (int64_t k = 0; k < n; ++k) {
        q[o + k * step] = k <= first_zero ? static_cast<T>(before) : T(0);
        before = times<acc_t<T>>(before, p[in + k * step]);
      }
      acc_t<T> tail = 0;
      for (int64_t k = second_zero - 1; k >= 0; --k) {
        tail = k + 1 < second_zero
                   ? gp[in + k * step] + times<acc_t<T>>(p[in + (k + 1) * step], tail)
                   : acc_t<T>(gp[in + k * step]);
        if (k <= first_zero) q[o + k * step] = static_cast<T>(q[o + k * step] * tail);
      }
    });
  });
  return out;
}

Tensor prod_of_others_kernel(const Tensor& a_in, int64_t dim) {
  if (!has_kernels(a_in->dtype()))
    return in_kernel_dtype(a_in, [&](const Tensor& a) { return prod_of_others_kernel(a, dim); });
  const Tensor a = dense(a_in);
  Tensor out = empty(a->shape(), a->dtype());
  const Lines lines(a->shape(), dim);
  EMBER_DISPATCH(a->dtype(), T, [&] {
    const T* p = a->data<T>();
    T* q = out->data<T>();
    lines.each(lines.len, [&](int64_t in, int64_t o) {
      T before = 1;  // prefix products first, then times the suffix products
      for (int64_t k = 0; k < lines.len; ++k) {
        q[o + k * lines.inner] = before;
        before = times(before, p[in + k * lines.inner]);
      }
      T after = 1;
      for (int64_t k = lines.len; k-- > 0;) {
        q[o + k * lines.inner] = times(q[o + k * lines.inner], after);
        after = times(after, p[in + k * lines.inner]);
      }
    });
  });
  return out;
}

Tensor extreme_all_kernel(const Tensor& a, bool is_max) {
  if (!has_kernels(a->dtype())) {
    return in_kernel_dtype(a, [&](const Tensor& k) { return extreme_all_kernel(k, is_max); });
  }
  if (a->numel() == 0) {
    throw std::runtime_error(
        std::string(is_max ? "max" : "min") +
        "(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
        "reduction dim with the 'dim' argument.");
  }
  Tensor out = empty(Shape{}, a->dtype());
  EMBER_DISPATCH(a->dtype(), T, [&] {
    const T* p = a->data<T>();
    const bool dense = a->is_contiguous();
    T best = p[dense ? 0 : element_offset(a, 0)];
    for (int64_t i = 1; i < a->numel(); ++i) {
      const T v = p[dense ? i : element_offset(a, i)];
      if (better(v, best, is_max)) best = v;
    }
    out->data<T>()[0] = best;
  });
  return out;
}

}  // namespace ember

// ---- scans and order statistics along one dim ----

namespace ember {
namespace {

double log_add_exp(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  const double hi = std::max(a, b), lo = std::min(a, b);
  if (std::isinf(lo) && lo == hi) return hi;  // both -inf (or both +inf): no finite gap
  return hi + std::log1p(std::exp(lo - hi));
}

// NaN sorts after every number, as in torch's sort.
template <typename T>
bool ordered_before(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

template <typename T>
bool same_value(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) && std::isnan(b)) return true;
  }
  return a == b;
}

Shape reduced_shape(const Shape& shape, int64_t dim) {
  Shape out = shape;
  if (!out.empty()) out[static_cast<size_t>(dim)] = 1;
  return out;
}

// Calls pick(values of one line, positions) for every line along dim; pick
// returns the (value, position) stored for that line in keepdim shape.
template <typename T, typename Pick>
ExtremeResult select_along(const Tensor& a_in, int64_t dim, Pick pick) {
  const Tensor a = dense(a_in);
  const Lines lines(a->shape(), dim);
  Tensor values = empty(reduced_shape(a->shape(), dim), a->dtype());
  Tensor indices = empty(values->shape(), DType::Int64);
  const T* p = a->data<T>();
  T* pv = values->data<T>();
  int64_t* pi = indices->data<int64_t>();
  std::vector<std::pair<T, int64_t>> line(static_cast<size_t>(lines.len));
  lines.each(1, [&](int64_t in, int64_t o) {
    for (int64_t j = 0; j < lines.len; ++j)
      line[static_cast<size_t>(j)] = {p[in + j * lines.inner], j};
    const std::pair<T, int64_t> chosen = pick(line);
    pv[o] = chosen.first;
    pi[o] = chosen.second;
  });
  return {values, indices};
}

}  // namespace

Tensor fold_windows_kernel(const Tensor& g, const Shape& shape, int64_t dim, int64_t step) {
  Tensor out = zeros(shape, g->dtype());
  // out seen through the unfold view's geometry, whose windows overlap when
  // step < size: the walk stays on one thread so no two adds race.
  Strides windows = out->strides();
  if (!shape.empty()) {
    windows[dim] *= step;
    windows.push_back(out->strides()[dim]);
  } else {
    windows.push_back(0);  // a 0-d input unfolds to [size] copies of itself
  }
  EMBER_DISPATCH_FLOAT(g->dtype(), T, [&] {
    T* po = out->data<T>();
    const T* pg = g->data<T>();
    for_each_row<2>(
        g->shape(), {&windows, &g->strides()},
        [&](const int64_t* off, int64_t len, const int64_t* st) {
          for (int64_t i = 0; i < len; ++i) po[off[0] + i * st[0]] += pg[off[1] + i * st[1]];
        },
        /*parallel=*/false);
  });
  return out;
}

Tensor logcumsumexp_kernel(const Tensor& a_in, int64_t dim, bool reverse) {
  if (!has_kernels(a_in->dtype())) {  // Note [Compute dtypes]
    return in_kernel_dtype(a_in,
                           [&](const Tensor& a) { return logcumsumexp_kernel(a, dim, reverse); });
  }
  const Tensor a = dense(a_in);
  Tensor out = empty(a->shape(), a->dtype());
  const Lines lines(a->shape(), dim);
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    const T* p = a->data<T>();
    T* q = out->data<T>();
    lines.each(lines.len, [&](int64_t in, int64_t o) {
      double run = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < lines.len; ++j) {
        const int64_t k = (reverse ? lines.len - 1 - j : j) * lines.inner;
        run = log_add_exp(run, static_cast<double>(p[in + k]));
        q[o + k] = static_cast<T>(run);
      }
    });
  });
  return out;
}

ExtremeResult cumulative_extreme_kernel(const Tensor& a_in, int64_t dim, bool is_max) {
  if (!has_kernels(a_in->dtype())) {  // Note [Compute dtypes]
    return values_back(cumulative_extreme_kernel(widened(a_in), dim, is_max), a_in->dtype());
  }
  const Tensor a = dense(a_in);
  Tensor values = empty(a->shape(), a->dtype());
  Tensor indices = empty(a->shape(), DType::Int64);
  const Lines lines(a->shape(), dim);
  EMBER_DISPATCH(a->dtype(), T, [&] {
    const T* p = a->data<T>();
    T* pv = values->data<T>();
    int64_t* pi = indices->data<int64_t>();
    lines.each(lines.len, [&](int64_t in, int64_t o) {
      T best{};
      int64_t best_at = 0;
      for (int64_t j = 0; j < lines.len; ++j) {
        const T x = p[in + j * lines.inner];
        bool take = j == 0;
        if constexpr (std::is_floating_point_v<T>) {
          take = take || std::isnan(x) || (!std::isnan(best) && (is_max ? x >= best : x <= best));
        } else {
          take = take || (is_max ? x >= best : x <= best);
        }
        if (take) {
          best = x;
          best_at = j;
        }
        pv[o + j * lines.inner] = best;
        pi[o + j * lines.inner] = best_at;
      }
    });
  });
  return {values, indices};
}

ExtremeResult kthvalue_kernel(const Tensor& a, int64_t dim, int64_t k) {
  if (!has_kernels(a->dtype())) {  // Note [Compute dtypes]
    return values_back(kthvalue_kernel(widened(a), dim, k), a->dtype());
  }
  ExtremeResult r;
  EMBER_DISPATCH(a->dtype(), T, [&] {
    r = select_along<T>(a, dim, [k](std::vector<std::pair<T, int64_t>>& line) {
      auto before = [](const std::pair<T, int64_t>& x, const std::pair<T, int64_t>& y) {
        if (ordered_before(x.first, y.first)) return true;
        if (ordered_before(y.first, x.first)) return false;
        return x.second < y.second;
      };
      std::nth_element(line.begin(), line.begin() + (k - 1), line.end(), before);
      return line[static_cast<size_t>(k - 1)];
    });
  });
  return r;
}

ExtremeResult mode_kernel(const Tensor& a, int64_t dim) {
  if (!has_kernels(a->dtype())) {  // Note [Compute dtypes]
    return values_back(mode_kernel(widened(a), dim), a->dtype());
  }
  ExtremeResult r;
  EMBER_DISPATCH(a->dtype(), T, [&] {
    r = select_along<T>(a, dim, [](std::vector<std::pair<T, int64_t>>& line) {
      std::sort(line.begin(), line.end(), [](const auto& x, const auto& y) {
        if (ordered_before(x.first, y.first)) return true;
        if (ordered_before(y.first, x.first)) return false;
        return x.second < y.second;
      });
      // Runs of equal values, in increasing order: a strictly longer run
      // wins, so the smallest value keeps a tie; its last position is the
      // run's last entry.
      std::pair<T, int64_t> best = line.front();
      size_t best_count = 0;
      for (size_t start = 0; start < line.size();) {
        size_t end = start + 1;
        while (end < line.size() && same_value(line[end].first, line[start].first)) ++end;
        if (end - start > best_count) {
          best_count = end - start;
          best = line[end - 1];
        }
        start = end;
      }
      return best;
    });
  });
  return r;
}

}  // namespace ember
