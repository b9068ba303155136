#pragma once
// Kernels that move elements without arithmetic (triangles, flips, rolls,
// masked fills) and the fused pointwise/row kernels of lerp, addcmul,
// addcdiv and logsumexp. They know nothing of autograd.

#include <vector>

#include "ember/tensor.h"

namespace ember {

// x with the entries outside the triangle of its last two dims zeroed: on and
// below diagonal `diagonal` (lower) or on and above it. x is contiguous, at
// least 2-d, any dtype.
Tensor triangle_kernel(const Tensor& x, int64_t diagonal, bool lower);

// out[i_0, ..., i_n] = x[sources[0][i_0], ..., sources[n][i_n]] for a
// contiguous x; an empty sources[d] means the identity along d. Flips and
// rolls are both such per-dim reorderings.
Tensor remap_kernel(const Tensor& x, const std::vector<std::vector<int64_t>>& sources);

// Whether the fused float kernels below take these operands: float32 or
// float64, all one dtype, contiguous and of one shape.
bool fusable_pointwise(std::initializer_list<const Tensor*> operands);

// start + w * (end - start), in torch's two forms (exact at each end); w is
// `weight` when given, else the number `scalar_weight`.
Tensor lerp_kernel(const Tensor& start, const Tensor& end, const Tensor& weight,
                   double scalar_weight);

// self + value * t1 * t2 (divide: self + value * t1 / t2).
Tensor addc_kernel(const Tensor& self, const Tensor& t1, const Tensor& t2, double value,
                   bool divide);

// log(sum(exp(x))) over the last dim of a contiguous float (rows, n) view:
// one value per row, shifted by the row's max; a row whose max is infinite
// gives that max (+inf, or -inf for a row of -inf), and a row holding NaN NaN.
Tensor logsumexp_rows_kernel(const Tensor& x, int64_t rows, int64_t n);
// logsumexp over the middle dim of a contiguous (outer, n, inner) tensor, with
// memory the size of the result: (outer, inner).
Tensor logsumexp_columns_kernel(const Tensor& x, int64_t outer, int64_t n, int64_t inner);

}  // namespace ember
