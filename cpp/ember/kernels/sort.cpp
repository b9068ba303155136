#include "ember/kernels/sort.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/allocator.h"
#include "ember/kernels/elementwise.h"
#include "ember/parallel.h"

namespace ember {
namespace {

template <typename T>
inline bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    (void)v;
    return false;
  }
}

// a before b ascending, NaN last.
template <typename T>
inline bool less_nan_last(T a, T b) {
  return (!is_nan(a) && is_nan(b)) || a < b;
}
// a before b descending, NaN first.
template <typename T>
inline bool greater_nan_first(T a, T b) {
  return (is_nan(a) && !is_nan(b)) || a > b;
}

// Note [Radix sort]
// sort is a least-significant-digit radix sort of (key, position) pairs, one
// byte per pass: stable by construction, and free of the comparison branches
// that a comparison sort mispredicts on every other step for random data
// (3x torch's sort on rows of 256, 2x on 1M elements). A key is an unsigned
// integer whose order is torch's: floats flip their bits so that negatives
// come first, -0.0 and +0.0 share a key (they compare equal), every NaN maps
// to one key above +inf; descending sorts take the complement, which keeps
// equal keys in their original order and puts NaN first. Passes whose byte is
// the same for the whole row (the high bytes of small integers) are skipped.
template <typename T>
struct RadixKey;

// Floats: the bits with the sign flipped up, or all bits flipped for negatives.
template <typename T, typename U>
struct FloatRadixKey {
  using type = U;
  static U ascending(T v) {
    constexpr U kSign = U{1} << (8 * sizeof(U) - 1);
    U u;
    std::memcpy(&u, &v, sizeof u);
    if (std::isnan(v)) u = canonical_nan();  // every NaN one key, sign clear
    if (v == T(0)) u = 0;                    // -0.0 keys as +0.0
    return (u & kSign) ? ~u : (u | kSign);
  }
  static U canonical_nan() {
    static const U bits = [] {
      const T nan = std::numeric_limits<T>::quiet_NaN();
      U b;
      std::memcpy(&b, &nan, sizeof b);
      return b;
    }();
    return bits;
  }
};

template <>
struct RadixKey<float> : FloatRadixKey<float, uint32_t> {};
template <>
struct RadixKey<double> : FloatRadixKey<double, uint64_t> {};

template <>
struct RadixKey<int64_t> {
  using type = uint64_t;
  static uint64_t ascending(int64_t v) { return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63); }
};

template <>
struct RadixKey<bool> {
  using type = uint8_t;
  static uint8_t ascending(bool v) { return v ? 1 : 0; }
};

// Rows this short sort by insertion: a radix pass costs 512 steps of
// bookkeeping whatever the row's length.
constexpr int64_t kInsertionSortMax = 48;

template <typename Key>
void insertion_sort(Key* keys, int64_t* order, int64_t n) {
  for (int64_t i = 1; i < n; ++i) {
    const Key k = keys[i];
    const int64_t o = order[i];
    int64_t j = i;
    for (; j > 0 && keys[j - 1] > k; --j) {
      keys[j] = keys[j - 1];
      order[j] = order[j - 1];
    }
    keys[j] = k;
    order[j] = o;
  }
}

// Sorts keys[0, n) with their positions `order`, stably; tmp arrays are scratch
// of the same size. The result ends in keys/order.
template <typename Key>
void radix_sort(Key* keys, int64_t* order, Key* keys_tmp, int64_t* order_tmp, int64_t n) {
  if (n <= kInsertionSortMax) return insertion_sort(keys, order, n);
  Key* src_k = keys;
  int64_t* src_o = order;
  Key* dst_k = keys_tmp;
  int64_t* dst_o = order_tmp;
  for (size_t shift = 0; shift < 8 * sizeof(Key); shift += 8) {
    int64_t count[256] = {};
    for (int64_t j = 0; j < n; ++j) ++count[(src_k[j] >> shift) & 0xff];
    if (count[(src_k[0] >> shift) & 0xff] == n) continue;  // one byte value: nothing moves
    int64_t start = 0;
    for (int64_t& c : count) {
      const int64_t here = c;
      c = start;
      start += here;
    }
    for (int64_t j = 0; j < n; ++j) {
      const int64_t to = count[(src_k[j] >> shift) & 0xff]++;
      dst_k[to] = src_k[j];
      dst_o[to] = src_o[j];
    }
    std::swap(src_k, dst_k);
    std::swap(src_o, dst_o);
  }
  if (src_o != order) {
    std::copy(src_o, src_o + n, order);
    std::copy(src_k, src_k + n, keys);
  }
}

int64_t row_grain(int64_t n) {
  return std::max<int64_t>(1, kParallelGrainHeavy / std::max<int64_t>(n, 1));
}

// Runs body(T tag) on a kernel dtype (Note [Compute dtypes]): x is widened
// first and the values narrowed back.
template <typename F>
SortResult on_kernel_dtype(const Tensor& x, F&& body) {
  if (!has_kernels(x->dtype())) {
    SortResult r = on_kernel_dtype(convert(x, kernel_dtype(x->dtype())), body);
    r.values = convert(r.values, x->dtype());
    return r;
  }
  SortResult r;
  EMBER_DISPATCH(x->dtype(), T, [&] { r = body(x, T{}); });
  return r;
}

}  // namespace

SortResult sort_rows_kernel(const Tensor& x, int64_t rows, int64_t n, bool descending) {
  return on_kernel_dtype(x, [&](const Tensor& in, auto tag) {
    using T = decltype(tag);
    using Key = typename RadixKey<T>::type;
    SortResult r{empty(Shape{rows, n}, in->dtype()), empty(Shape{rows, n}, DType::Int64)};
    const T* p = in->data<T>();
    T* pv = r.values->data<T>();
    int64_t* pi = r.indices->data<int64_t>();
    parallel_for(rows, row_grain(n), [&](int64_t lo, int64_t hi) {
      ScratchBuffer<Key> keys(n), keys_tmp(n);
      ScratchBuffer<int64_t> order_tmp(n);
      for (int64_t row = lo; row < hi; ++row) {
        const T* v = p + row * n;
        int64_t* order = pi + row * n;
        for (int64_t j = 0; j < n; ++j) {
          const Key k = RadixKey<T>::ascending(v[j]);
          keys[j] = descending ? static_cast<Key>(~k) : k;
          order[j] = j;
        }
        radix_sort(keys.get(), order, keys_tmp.get(), order_tmp.get(), n);
        for (int64_t j = 0; j < n; ++j) pv[row * n + j] = v[order[j]];
      }
    });
    return r;
  });
}

// Up to this k, topk keeps the best k seen so far in order while it scans a
// row: an element that does not beat the k-th best costs one comparison, and
// random rows insert only about k ln(n / k) of their elements. Which of
// several equal values torch returns follows from its selection algorithm, so
// a row with ties among or at the edge of the chosen k goes that way instead.
constexpr int64_t kInsertionTopK = 16;

// best[0..k) = the k best of row[0..n) by `better`, in order, if no value ties
// with a chosen one; false otherwise. Blocks of 16 elements are first tested
// together against the k-th best (with a test that also passes NaNs and never
// rejects a better element), so most of a row costs a vector compare.
template <typename T, typename Better>
bool best_k_without_ties(const T* row, int64_t n, int64_t k, std::pair<T, int64_t>* best,
                         bool largest, Better better) {
  constexpr int64_t kBlock = 16;
  int64_t filled = 0;
  auto offer = [&](int64_t j) {
    const std::pair<T, int64_t> e{row[j], j};
    if (filled == k && !better(e, best[k - 1])) return;
    int64_t at = filled < k ? filled++ : k - 1;
    for (; at > 0 && better(e, best[at - 1]); --at) best[at] = best[at - 1];
    best[at] = e;
  };
  int64_t j = 0;
  for (; j < n && filled < k; ++j) offer(j);
  for (; j + kBlock <= n; j += kBlock) {
    const T edge = best[k - 1].first;
    int may_enter = 0;
    if (largest) {
      for (int64_t l = 0; l < kBlock; ++l) may_enter |= !(row[j + l] <= edge);
    } else {
      for (int64_t l = 0; l < kBlock; ++l) may_enter |= !(row[j + l] >= edge);
    }
    if (!may_enter) continue;
    for (int64_t l = 0; l < kBlock; ++l) offer(j + l);
  }
  for (; j < n; ++j) offer(j);
  for (int64_t i = 0; i < k; ++i) {
    if (is_nan(best[i].first)) return false;  // NaNs tie with one another
    if (i > 0 && best[i - 1].first == best[i].first) return false;
  }
  const T last = best[k - 1].first;
  int64_t equal_to_last = 0;
  for (int64_t i = 0; i < n; ++i) equal_to_last += row[i] == last;
  return equal_to_last == 1;
}

SortResult topk_rows_kernel(const Tensor& x, int64_t rows, int64_t n, int64_t k, bool largest,
                            bool sorted) {
  return on_kernel_dtype(x, [&](const Tensor& in, auto tag) {
    using T = decltype(tag);
    SortResult r{empty(Shape{rows, k}, in->dtype()), empty(Shape{rows, k}, DType::Int64)};
    if (k == 0) return r;
    const T* p = in->data<T>();
    T* pv = r.values->data<T>();
    int64_t* pi = r.indices->data<int64_t>();
    using Entry = std::pair<T, int64_t>;
    auto by_largest = [](const Entry& a, const Entry& b) {
      return greater_nan_first(a.first, b.first);
    };
    auto by_smallest = [](const Entry& a, const Entry& b) {
      return less_nan_last(a.first, b.first);
    };
    // The row's k results, in chosen (sorted, ties-free rows) or in q.
    auto select_row = [&](const T* row, std::vector<Entry>& chosen,
                          std::vector<Entry>& q) -> const Entry* {
      if (sorted && k <= kInsertionTopK) {
        const bool done = largest
                              ? best_k_without_ties(row, n, k, chosen.data(), true, by_largest)
                              : best_k_without_ties(row, n, k, chosen.data(), false, by_smallest);
        if (done) return chosen.data();
      }
      for (int64_t j = 0; j < n; ++j) q[j] = {row[j], j};
      // torch's choice: a partial sort when k is small against n, else a
      // selection followed (when sorted) by a sort of the first k - 1.
      if (k * 64 <= n) {
        if (largest) {
          std::partial_sort(q.begin(), q.begin() + k, q.end(), by_largest);
        } else {
          std::partial_sort(q.begin(), q.begin() + k, q.end(), by_smallest);
        }
      } else if (largest) {
        std::nth_element(q.begin(), q.begin() + k - 1, q.end(), by_largest);
        if (sorted) std::sort(q.begin(), q.begin() + k - 1, by_largest);
      } else {
        std::nth_element(q.begin(), q.begin() + k - 1, q.end(), by_smallest);
        if (sorted) std::sort(q.begin(), q.begin() + k - 1, by_smallest);
      }
      return q.data();
    };
    parallel_for(rows, row_grain(n), [&](int64_t lo, int64_t hi) {
      std::vector<Entry> q(static_cast<size_t>(n));
      std::vector<Entry> chosen(static_cast<size_t>(std::min(k, kInsertionTopK)));
      for (int64_t row = lo; row < hi; ++row) {
        const Entry* best = select_row(p + row * n, chosen, q);
        for (int64_t j = 0; j < k; ++j) {
          pv[row * k + j] = best[j].first;
          pi[row * k + j] = best[j].second;
        }
      }
    });
    return r;
  });
}

SortResult median_rows_kernel(const Tensor& x, int64_t rows, int64_t n, bool ignore_nan) {
  return on_kernel_dtype(x, [&](const Tensor& in, auto tag) {
    using T = decltype(tag);
    SortResult r{empty(Shape{rows}, in->dtype()), empty(Shape{rows}, DType::Int64)};
    const T* p = in->data<T>();
    T* pv = r.values->data<T>();
    int64_t* pi = r.indices->data<int64_t>();
    parallel_for(rows, row_grain(n), [&](int64_t lo, int64_t hi) {
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t row = lo; row < hi; ++row) {
        const T* v = p + row * n;
        int64_t nans = 0, first_nan = -1;
        for (int64_t j = 0; j < n; ++j) {
          if (is_nan(v[j])) {
            if (first_nan < 0) first_nan = j;
            ++nans;
          }
        }
        int64_t pick = 0;
        if (nans > 0 && (!ignore_nan || nans == n)) {
          pick = first_nan;
        } else {
          // The (m - 1) / 2-th of the numbers in stable ascending order, NaN last.
          const int64_t m = n - nans;
          std::iota(order.begin(), order.end(), int64_t{0});
          auto nth = order.begin() + (m - 1) / 2;
          std::nth_element(order.begin(), nth, order.end(), [v](int64_t a, int64_t b) {
            if (less_nan_last(v[a], v[b])) return true;
            if (less_nan_last(v[b], v[a])) return false;
            return a < b;
          });
          pick = *nth;
        }
        pv[row] = v[pick];
        pi[row] = pick;
      }
    });
    return r;
  });
}

}  // namespace ember
