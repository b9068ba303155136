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

// Max or min along one dim, with the index of the first extreme (NaN wins).
struct ExtremeResult {
  Tensor values;
  Tensor indices;  // int64
};
ExtremeResult extreme_kernel(const Tensor& a, int64_t dim, bool is_max);
// Max or min of all elements as a 0-d tensor; throws on empty input.
Tensor extreme_all_kernel(const Tensor& a, bool is_max);

}  // namespace ember
