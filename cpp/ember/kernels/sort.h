#pragma once
// Sorting and selection along the rows of a contiguous (rows, n) tensor:
// sort, topk and the median. NaN orders above every number, as in torch.

#include "ember/tensor.h"

namespace ember {

struct SortResult {
  Tensor values, indices;  // indices int64
};

// Each row sorted, ascending or descending; always stable (equal elements
// keep their order, as torch's CPU sort).
SortResult sort_rows_kernel(const Tensor& x, int64_t rows, int64_t n, bool descending);

// The k largest (or smallest) of each row, chosen as torch's CPU kernel
// chooses them (so ties come out in the same order).
SortResult topk_rows_kernel(const Tensor& x, int64_t rows, int64_t n, int64_t k, bool largest,
                            bool sorted);

// One value and position per row: the lower median, NaN (the first one) when
// the row has a NaN; with ignore_nan the lower median of the non-NaN values.
SortResult median_rows_kernel(const Tensor& x, int64_t rows, int64_t n, bool ignore_nan);

}  // namespace ember
