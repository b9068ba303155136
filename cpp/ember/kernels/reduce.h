#pragma once
// Reduction kernels. Outputs have the input's rank with reduced dims of size 1
// (keepdim form); ops/ squeezes them when keepdim is false.

#include <vector>

#include "ember/tensor.h"

namespace ember {

// Sum over the dims where reduce[d] is true, accumulating in `out_dtype`.
Tensor sum_kernel(const Tensor& a, const std::vector<bool>& reduce, DType out_dtype);
// Sum of all elements as a 0-d tensor of `out_dtype`.
Tensor sum_all_kernel(const Tensor& a, DType out_dtype);

// Along one dim of a (computing in a's dtype, which callers promote first):
// the product (keepdim shape); the running sum, from the end when `reverse`;
// and for each element the product of the others in its line, so a zero
// does not need the division result / x.
Tensor prod_kernel(const Tensor& a, int64_t dim);
Tensor cumsum_kernel(const Tensor& a, int64_t dim, bool reverse);
Tensor prod_of_others_kernel(const Tensor& a, int64_t dim);
// The running product along dim, and its exact gradient given the output
// gradient g (same shape and dtype as x), zeros in x included.
Tensor cumprod_kernel(const Tensor& a, int64_t dim);
Tensor cumprod_backward_kernel(const Tensor& x, const Tensor& g, int64_t dim);

// Max or min along one dim, with the index of the first extreme (NaN wins).
struct ExtremeResult {
  Tensor values;
  Tensor indices;  // int64
};
ExtremeResult extreme_kernel(const Tensor& a, int64_t dim, bool is_max);
// Max or min of all elements as a 0-d tensor; throws on empty input.
Tensor extreme_all_kernel(const Tensor& a, bool is_max);

// Zeros of `shape` with each window of g (Tensor.unfold's gradient: windows
// every `step` along dim, their elements in g's last dim) added back where
// they were cut from; overlapping windows add up. Floating dtypes.
Tensor fold_windows_kernel(const Tensor& g, const Shape& shape, int64_t dim, int64_t step);

// log(sum(exp(x))) running along dim (from the end when `reverse`), floating
// dtypes only, accumulated in double.
Tensor logcumsumexp_kernel(const Tensor& a, int64_t dim, bool reverse);
// The running max (min) along dim and the position it was last taken from:
// ties move the index forward, and a NaN, once seen, stays (torch's rule).
ExtremeResult cumulative_extreme_kernel(const Tensor& a, int64_t dim, bool is_max);
// The k-th smallest (1-based) along dim in keepdim shape, NaN counted as the
// largest; among equal values the earlier position comes first.
ExtremeResult kthvalue_kernel(const Tensor& a, int64_t dim, int64_t k);
// The most frequent value along dim in keepdim shape (the smallest on a tie
// of counts) and the last position holding it.
ExtremeResult mode_kernel(const Tensor& a, int64_t dim);

}  // namespace ember
