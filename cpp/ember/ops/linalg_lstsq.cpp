// Least squares (linalg.lstsq, four LAPACK drivers) and its backward through
// the pseudo-inverse.

#include <limits>

#include "ember/autograd/functions/decompositions.h"
#include "ember/kernels/lapack.h"
#include "ember/ops/linalg_batch.h"

namespace ember {

using linalg::as_int;
using linalg::batch_shape;
using linalg::batch_size;
using linalg::broadcast_batches;
using linalg::column_major_copy;
using linalg::dims_str;
using linalg::fit_to;
using linalg::matrix_data;
using linalg::mT;
using linalg::record_outputs;
using linalg::with_batch;

// ---- least squares ----

LstsqResult linalg_lstsq(const Tensor& a, const Tensor& b, std::optional<double> rcond,
                         const std::string& driver_name) {
  const std::string fn = "torch.linalg.lstsq";
  if (!is_floating(a->dtype()) || !is_floating(b->dtype())) {
    throw std::runtime_error("This function doesn't handle types other than float and double");
  }
  if (a->dtype() != b->dtype()) {
    throw std::runtime_error(fn +
                             ": Expected input and other to have the same dtype, but got "
                             "input's dtype " +
                             scalar_type_name(a->dtype()) + " and other's dtype " +
                             scalar_type_name(b->dtype()));
  }
  if (a->dim() < 2) throw std::runtime_error(fn + ": input must have at least 2 dimensions.");
  lapack::LstsqDriver driver;
  if (driver_name == "gelsy") {
    driver = lapack::LstsqDriver::Gelsy;
  } else if (driver_name == "gelsd") {
    driver = lapack::LstsqDriver::Gelsd;
  } else if (driver_name == "gelss") {
    driver = lapack::LstsqDriver::Gelss;
  } else if (driver_name == "gels") {
    driver = lapack::LstsqDriver::Gels;
  } else {
    throw std::runtime_error(fn +
                             ": parameter `driver` should be one of (gels, gelsy, gelsd, gelss)");
  }
  const bool vector_case = b->dim() == a->dim() - 1;
  Tensor bm;
  {
    GradModeGuard no_grad(false);
    bm = vector_case ? unsqueeze(b, -1) : b;
  }
  if (bm->dim() < 2) throw std::runtime_error(fn + ": other must have at least 1 dimension.");
  const int64_t m = a->shape()[a->dim() - 2], n = a->shape()[a->dim() - 1];
  if (bm->shape()[bm->dim() - 2] != m) {
    throw std::runtime_error(fn + ": input.size(-2) should match other.size(-2)");
  }
  auto [ae, be] = broadcast_batches(a, bm);
  const Shape batch = batch_shape(ae);
  const int64_t k = bm->shape()[bm->dim() - 1], rows = std::max(m, n), batch_n = batch_size(ae);
  const Tensor ac = column_major_copy(ae);
  // B padded to max(m, n) rows: LAPACK writes the n-row solution over it.
  Tensor work = linalg::column_major_empty(with_batch(batch, {rows, k}), a->dtype());
  Tensor bc;
  {
    GradModeGuard no_grad(false);
    bc = contiguous_clone(be);
  }
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    for (int64_t i = 0; i < batch_n; ++i) {
      T* w = matrix_data<T>(work, i);
      const T* src = bc->data<T>() + i * m * k;
      for (int64_t j = 0; j < k; ++j) {
        for (int64_t r = 0; r < rows; ++r) w[j * rows + r] = r < m ? src[r * k + j] : T(0);
      }
    }
  });
  const bool has_rank = driver != lapack::LstsqDriver::Gels;
  const bool has_sv = driver == lapack::LstsqDriver::Gelsd || driver == lapack::LstsqDriver::Gelss;
  const int64_t kk = std::min(m, n);
  Tensor sv = empty(has_sv ? with_batch(batch, {kk}) : Shape{0}, a->dtype());
  std::vector<int> ranks(static_cast<size_t>(batch_n), 0), infos(static_cast<size_t>(batch_n), 0);
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    const T cond = rcond ? T(*rcond) : std::numeric_limits<T>::epsilon() * T(std::max(m, n));
    if (m == 0 || n == 0) return;
    for (int64_t i = 0; i < batch_n; ++i) {
      infos[i] = lapack::lstsq(driver, as_int(m), as_int(n), as_int(k), matrix_data<T>(ac, i),
                               as_int(m), matrix_data<T>(work, i), as_int(rows), cond, &ranks[i],
                               has_sv ? sv->data<T>() + i * kk : nullptr);
    }
  });
  linalg::raise_on_failure(infos, a->dim() > 2, fn, [](int) {
    return std::string(
               "The least squares solution could not be computed because the input matrix does not "
               "have full rank (error code: ") +
           "0).";
  });
  LstsqResult r;
  {
    GradModeGuard no_grad(false);
    Tensor solution = contiguous_clone(slice(work, work->dim() - 2, 0, n, 1));
    // Residuals: squared norms of the rows past n, when the system is overdetermined,
    // every matrix has full rank and the driver is not gelsy (as torch).
    bool full_rank = true;
    for (int r_ : ranks) full_rank = full_rank && r_ == n;
    if (m > n && driver != lapack::LstsqDriver::Gelsy && (full_rank || !has_rank)) {
      const Tensor tail = slice(work, work->dim() - 2, n, rows, 1);
      r.residuals = sum(mul(tail, tail), {-2}, false);
    } else {
      r.residuals = empty(Shape{0}, a->dtype());
    }
    r.solution = vector_case ? squeeze(solution, -1) : solution;
    r.solution = contiguous_clone(r.solution);
  }
  Tensor rank = empty(has_rank ? batch : Shape{0}, DType::Int64);
  if (has_rank) {
    for (int64_t i = 0; i < batch_n; ++i) rank->data<int64_t>()[i] = ranks[i];
  }
  r.rank = rank;
  r.singular_values = sv;
  if (auto node = record_outputs<LinalgLstsqBackward0>("linalg_lstsq", {&a, &b},
                                                       {&r.solution, &r.residuals})) {
    node->a = SavedTensor(a, false);
    node->b = SavedTensor(b, false);
    node->vector_case = vector_case;
  }
  return r;
}

TensorList LinalgLstsqBackward0::apply(TensorList&& grads) {
  TensorList out(2);
  if (!grads[0]) return out;
  const Tensor A = a.unpack(*this);
  const Tensor B = vector_case ? unsqueeze(b.unpack(*this), -1) : b.unpack(*this);
  const Tensor g = vector_case ? unsqueeze(grads[0], -1) : grads[0];
  // X = pinv(A) B.
  const Tensor pinv_a = linalg_pinv(A, std::nullopt, std::nullopt, false);
  if (wants_grad(*this, 0)) {
    out[0] = fit_to(linalg::pinv_backward(matmul(g, mT(B)), pinv_a, A), A->shape());
  }
  if (wants_grad(*this, 1)) {
    const Tensor gb = matmul(mT(pinv_a), g);
    out[1] = fit_to(vector_case ? squeeze(gb, -1) : gb, b.unpack(*this)->shape());
  }
  return out;
}

}  // namespace ember
