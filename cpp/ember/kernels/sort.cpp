#include "ember/kernels/sort.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

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
    SortResult r{empty(Shape{rows, n}, in->dtype()), empty(Shape{rows, n}, DType::Int64)};
    const T* p = in->data<T>();
    T* pv = r.values->data<T>();
    int64_t* pi = r.indices->data<int64_t>();
    using Entry = std::pair<T, int64_t>;
    parallel_for(rows, row_grain(n), [&](int64_t lo, int64_t hi) {
      // (value, position) pairs sort in place, without an indirect read per comparison.
      std::vector<Entry> q(static_cast<size_t>(n));
      for (int64_t row = lo; row < hi; ++row) {
        const T* v = p + row * n;
        for (int64_t j = 0; j < n; ++j) q[j] = {v[j], j};
        if (descending) {
          std::stable_sort(q.begin(), q.end(), [](const Entry& a, const Entry& b) {
            return greater_nan_first(a.first, b.first);
          });
        } else {
          std::stable_sort(q.begin(), q.end(), [](const Entry& a, const Entry& b) {
            return less_nan_last(a.first, b.first);
          });
        }
        for (int64_t j = 0; j < n; ++j) {
          pv[row * n + j] = q[j].first;
          pi[row * n + j] = q[j].second;
        }
      }
    });
    return r;
  });
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
    parallel_for(rows, row_grain(n), [&](int64_t lo, int64_t hi) {
      std::vector<Entry> q(static_cast<size_t>(n));
      for (int64_t row = lo; row < hi; ++row) {
        for (int64_t j = 0; j < n; ++j) q[j] = {p[row * n + j], j};
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
        for (int64_t j = 0; j < k; ++j) {
          pv[row * k + j] = q[j].first;
          pi[row * k + j] = q[j].second;
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
