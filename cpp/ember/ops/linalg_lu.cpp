// The LAPACK factorizations behind linalg.lu_factor_ex and
// linalg.householder_product. They record no node: ember/linalg.py wraps them
// in Functions carrying torch's node names and backward formulas, which are
// compositions of differentiable ops (triangular solves and products).

#include "ember/kernels/lapack.h"
#include "ember/ops/linalg_batch.h"

namespace ember {

using linalg::as_int;
using linalg::batch_shape;
using linalg::batch_size;
using linalg::column_major_copy;
using linalg::leading_dim;
using linalg::matrix_data;
using linalg::with_batch;

// getrf on each (m, n) matrix: the packed factors (column-major, as torch's),
// the 1-based row swaps (..., min(m, n)) and LAPACK's info (...), both int32.
std::tuple<Tensor, Tensor, Tensor> linalg_lu_factor_raw(const Tensor& a) {
  const int64_t m = a->shape()[a->dim() - 2], n = a->shape()[a->dim() - 1];
  const int64_t k = std::min(m, n), batch = batch_size(a);
  Tensor lu = column_major_copy(a);
  Tensor pivots = empty(with_batch(batch_shape(a), {k}), DType::Int32);
  Tensor info = zeros(batch_shape(a), DType::Int32);
  if (k == 0) return {lu, pivots, info};
  int32_t* piv = pivots->data<int32_t>();
  int32_t* infos = info->data<int32_t>();
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    linalg::for_each_matrix(batch, m * n * k, [&](int64_t b) {
      infos[b] =
          lapack::getrf(as_int(m), as_int(n), matrix_data<T>(lu, b), leading_dim(m), piv + b * k);
    });
  });
  return {lu, pivots, info};
}

// orgqr on each (m, n) matrix of reflectors with its k scalars: the first n
// columns of their product.
Tensor linalg_householder_product_raw(const Tensor& a, const Tensor& tau) {
  const int64_t m = a->shape()[a->dim() - 2], n = a->shape()[a->dim() - 1];
  const int64_t k = tau->shape()[tau->dim() - 1], batch = batch_size(a);
  Tensor q = column_major_copy(a);
  const Tensor t = contiguous(tau);
  if (m == 0 || n == 0) return q;
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    linalg::for_each_matrix(batch, m * n * k, [&](int64_t b) {
      lapack::orgqr(as_int(m), as_int(n), as_int(k), matrix_data<T>(q, b), leading_dim(m),
                    t->data<T>() + b * k);
    });
  });
  return q;
}

}  // namespace ember
