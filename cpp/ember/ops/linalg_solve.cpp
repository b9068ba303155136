// Linear systems through LU and Cholesky factors: inv, det, slogdet, solve and
// cholesky, with their backward formulas (written with differentiable ops, so
// double backward works).

#include <cmath>
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
using linalg::drop_dim;
using linalg::fit_to;
using linalg::leading_dim;
using linalg::matrix_data;
using linalg::mT;
using linalg::record_outputs;
using linalg::swap_last_dims;
using linalg::with_batch;

namespace {

// LU factors of every matrix of a square batch, in LAPACK's layout.
struct LuFactors {
  Tensor lu;  // column-major, as getrf left it
  std::vector<int> pivots;
  std::vector<int> infos;
};

LuFactors lu_factor(const Tensor& a) {
  LuFactors f;
  f.lu = column_major_copy(a);
  const int64_t batch = batch_size(a), n = a->shape()[a->dim() - 1];
  f.pivots.assign(static_cast<size_t>(batch * n), 0);
  f.infos.assign(static_cast<size_t>(batch), 0);
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    linalg::for_each_matrix(batch, n * n * n, [&](int64_t b) {
      f.infos[b] = lapack::getrf(as_int(n), as_int(n), matrix_data<T>(f.lu, b), leading_dim(n),
                                 f.pivots.data() + b * n);
    });
  });
  return f;
}

// Solves op(A) X = B in place of `x` (column-major, n x k per matrix) from A's LU.
void lu_solve(const LuFactors& f, const Tensor& x, bool transpose) {
  const int64_t batch = static_cast<int64_t>(f.infos.size());
  const int64_t n = x->shape()[x->dim() - 2], k = x->shape()[x->dim() - 1];
  if (n == 0 || k == 0) return;
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    linalg::for_each_matrix(batch, n * n * k, [&](int64_t b) {
      lapack::getrs(transpose ? 'T' : 'N', as_int(n), as_int(k), matrix_data<T>(f.lu, b), as_int(n),
                    f.pivots.data() + b * n, matrix_data<T>(x, b), as_int(n));
    });
  });
}

Tensor scalar_like(double v, const Tensor& t) { return scalar_tensor(Scalar(v), t->dtype()); }

bool any_zero(const Tensor& t) {
  for (int64_t i = 0; i < t->numel(); ++i) {
    if (element_as_double(t, i) == 0.0) return true;
  }
  return false;
}

}  // namespace

// ---- inverse ----

namespace {

// `failure_fn` names the function in the singular-matrix error: torch says
// linalg.inv_ex when that one was called with check_errors.
std::pair<Tensor, Tensor> inv_ex(const Tensor& a, bool check_errors, const char* failure_fn) {
  linalg::check_floating(a, "linalg.inv");
  linalg::check_square(a, "linalg.inv");
  const int64_t n = a->shape()[a->dim() - 1];
  const LuFactors f = lu_factor(a);
  if (check_errors) {
    linalg::raise_on_failure(f.infos, a->dim() > 2, failure_fn, [](int info) {
      return "The diagonal element " + std::to_string(info) +
             " is zero, the inversion could not be completed because the input matrix is "
             "singular.";
    });
  }
  Tensor inverse;
  {
    GradModeGuard no_grad(false);
    inverse = column_major_copy(expand(eye(n, n, a->dtype()), a->shape()));
  }
  lu_solve(f, inverse, false);
  Tensor info = linalg::info_tensor(f.infos, batch_shape(a));
  if (auto node = record_outputs<LinalgInvExBackward0>("linalg_inv_ex", {&a}, {&inverse})) {
    node->inverse = SavedTensor(inverse, true);
  }
  return {inverse, info};
}

}  // namespace

std::pair<Tensor, Tensor> linalg_inv_ex(const Tensor& a, bool check_errors) {
  return inv_ex(a, check_errors, "linalg.inv_ex");
}

Tensor linalg_inv(const Tensor& a) { return inv_ex(a, true, "linalg.inv").first; }

TensorList LinalgInvExBackward0::apply(TensorList&& grads) {
  const Tensor inv_t = mT(inverse.unpack(*this));
  return {neg(matmul(inv_t, matmul(grads[0], inv_t)))};
}

// ---- determinants ----

namespace {

// det (or sign and log|det|) of each matrix from its LU factors: the product
// of U's diagonal, negated once per row swap.
template <typename T>
void determinants(const LuFactors& f, int64_t n, T* det, T* sign, T* logabs) {
  const int64_t batch = static_cast<int64_t>(f.infos.size());
  for (int64_t b = 0; b < batch; ++b) {
    const T* lu = matrix_data<T>(f.lu, b);
    const int* piv = f.pivots.data() + b * n;
    T product = 1, s = 1, log_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const T d = lu[i * n + i];
      const T swap = piv[i] != i + 1 ? T(-1) : T(1);
      product *= d * swap;
      s *= swap * (d > 0 ? T(1) : (d < 0 ? T(-1) : T(0)));
      log_sum += std::log(std::abs(d));
    }
    if (det) det[b] = product;
    if (sign) sign[b] = s;
    if (logabs) logabs[b] = log_sum;
  }
}

}  // namespace

Tensor linalg_det(const Tensor& a) {
  linalg::check_floating(a, "linalg.det");
  linalg::check_square(a, "linalg.det");
  const int64_t n = a->shape()[a->dim() - 1];
  const LuFactors f = lu_factor(a);
  Tensor det = empty(batch_shape(a), a->dtype());
  EMBER_DISPATCH_FLOAT(a->dtype(), T,
                       [&] { determinants<T>(f, n, det->data<T>(), nullptr, nullptr); });
  if (auto node = record_outputs<LinalgDetBackward0>("linalg_det", {&a}, {&det})) {
    node->a = SavedTensor(a, false);
    node->det = SavedTensor(det, true);
  }
  return det;
}

namespace {

// d det / dA = det * A^-T where A is invertible. For a singular A, det's
// gradient is the cofactor matrix, which the SVD A = U S Vh gives without an
// inverse: U diag(prod of the other singular values) Vh, times det(U) det(Vh).
Tensor det_backward(const Tensor& g, const Tensor& a, const Tensor& det) {
  const int64_t n = a->shape()[a->dim() - 1];
  const Tensor scale = mul(g, det);
  auto nonsingular = [&](const Tensor& m) {
    const Tensor d = expand(unsqueeze(scale, -1), with_batch(batch_shape(m), {n}));
    return linalg_solve(mT(m), linalg::diag_embed(d));
  };
  bool singular;
  {
    GradModeGuard no_grad(false);
    singular = any_zero(det);
  }
  if (!singular) return nonsingular(a);
  const Tensor is_zero = unsqueeze(unsqueeze(compare(BinaryOp::Eq, det, Scalar(0.0)), -1), -1);
  const Tensor identity = eye(n, n, a->dtype());
  const Tensor safe = where(is_zero, identity, a);
  SvdResult svd = linalg_svd(a, false);
  const Tensor phase = mul(linalg_det(svd.U), linalg_det(svd.Vh));
  // others[..., i] = product of S_j over j != i.
  const Tensor spread = expand(unsqueeze(svd.S, -2), with_batch(batch_shape(a), {n, n}));
  const Tensor others = prod(
      where(compare(BinaryOp::Eq, identity, Scalar(1.0)), scalar_like(1.0, a), spread), -1, false);
  const Tensor weights = mul(others, unsqueeze(mul(g, phase), -1));
  const Tensor cofactor = matmul(mul(svd.U, unsqueeze(weights, -2)), svd.Vh);
  return where(is_zero, cofactor, nonsingular(safe));
}

}  // namespace

TensorList LinalgDetBackward0::apply(TensorList&& grads) {
  return {det_backward(grads[0], a.unpack(*this), det.unpack(*this))};
}

std::pair<Tensor, Tensor> linalg_slogdet(const Tensor& a) {
  linalg::check_floating(a, "linalg.slogdet");
  linalg::check_square(a, "linalg.slogdet");
  const int64_t n = a->shape()[a->dim() - 1];
  const LuFactors f = lu_factor(a);
  Tensor sign = empty(batch_shape(a), a->dtype());
  Tensor logabs = empty(batch_shape(a), a->dtype());
  EMBER_DISPATCH_FLOAT(a->dtype(), T,
                       [&] { determinants<T>(f, n, nullptr, sign->data<T>(), logabs->data<T>()); });
  if (auto node =
          record_outputs<LinalgSlogdetBackward0>("linalg_slogdet", {&a}, {&sign, &logabs})) {
    node->a = SavedTensor(a, false);
  }
  return {sign, logabs};
}

TensorList LinalgSlogdetBackward0::apply(TensorList&& grads) {
  const Tensor A = a.unpack(*this);
  if (!grads[1]) return {zeros(A->shape(), A->dtype())};  // the sign is piecewise constant
  const int64_t n = A->shape()[A->dim() - 1];
  const Tensor d = expand(unsqueeze(grads[1], -1), with_batch(batch_shape(A), {n}));
  return {linalg_solve_ex(mT(A), linalg::diag_embed(d)).first};
}

// ---- solve ----

namespace {

// Solves op(A) X = B (left) or X op(A) = B from A's LU factors, op(A) = A^T
// when `transpose_a`; b's batch is A's. X A = B is A^T X^T = B^T: the same
// factors with the other transpose.
Tensor solve_with_lu(const LuFactors& f, const Tensor& b, bool left, bool transpose_a) {
  Tensor x;
  {
    GradModeGuard no_grad(false);
    x = column_major_copy(left ? b : mT(b));
  }
  lu_solve(f, x, left == transpose_a);
  return left ? x : swap_last_dims(x);
}

std::pair<Tensor, Tensor> solve_ex(const Tensor& a, const Tensor& b, bool left, bool check_errors,
                                   const char* failure_fn) {
  linalg::check_floating(a, "linalg.solve");
  linalg::check_same_dtype(a, b, "linalg.solve");
  linalg::check_square(a, "linalg.solve");
  if (b->dim() < 1) {
    throw std::runtime_error("linalg.solve: The input tensor B must have at least 1 dimensions.");
  }
  const int64_t n = a->shape()[a->dim() - 1];
  // torch's rule: B is a (batch of) vector(s) when it is 1-d or A's shape minus one dim.
  const bool vector_case =
      b->dim() == 1 ||
      (b->dim() == a->dim() - 1 && Shape(a->shape().begin(), a->shape().end() - 1) == b->shape());
  Tensor bm;
  {
    GradModeGuard no_grad(false);
    bm = vector_case ? unsqueeze(b, -1) : b;  // a column, for left=false too (as torch)
  }
  const int64_t along = bm->shape()[bm->dim() - (left ? 2 : 1)];
  if (along != n) {
    throw std::runtime_error(std::string("linalg.solve: Incompatible shapes of A and B for the "
                                         "equation ") +
                             (left ? "AX = B (" : "XA = B (") + dims_str(a) + " and " +
                             dims_str(bm) + ")");
  }
  auto [ae, be] = broadcast_batches(a, bm);
  const LuFactors f = lu_factor(ae);
  if (check_errors) {
    linalg::raise_on_failure(f.infos, false, failure_fn, [](int) {
      return std::string("The solver failed because the input matrix is singular.");
    });
  }
  Tensor x = solve_with_lu(f, be, left, false);
  if (vector_case) x = drop_dim(x, -1);
  Tensor info = linalg::info_tensor(f.infos, batch_shape(ae));
  if (auto node = record_outputs<LinalgSolveExBackward0>("linalg_solve_ex", {&a, &b}, {&x})) {
    node->a = SavedTensor(a, false);
    node->x = SavedTensor(x, true);
    node->lu = SavedTensor(f.lu, false);
    node->pivots = f.pivots;
    node->left = left;
    node->vector_case = vector_case;
    node->a_shape = a->shape();
    node->b_shape = b->shape();
  }
  return {x, info};
}

}  // namespace

std::pair<Tensor, Tensor> linalg_solve_ex(const Tensor& a, const Tensor& b, bool left,
                                          bool check_errors) {
  return solve_ex(a, b, left, check_errors, "torch.linalg.solve_ex");
}

Tensor linalg_solve(const Tensor& a, const Tensor& b, bool left) {
  return solve_ex(a, b, left, true, "torch.linalg.solve").first;
}

TensorList LinalgSolveExBackward0::apply(TensorList&& grads) {
  const Tensor A = a.unpack(*this);
  const int64_t vdim = -1;
  const Tensor g = vector_case ? unsqueeze(grads[0], vdim) : grads[0];
  const Tensor X = vector_case ? unsqueeze(x.unpack(*this), vdim) : x.unpack(*this);
  // A X = B: gB = A^-T g, gA = -gB X^T; X A = B: gB = g A^-T, gA = -X^T gB.
  // The forward's LU factors serve A^T too; a graph of the backward (for
  // double backward) needs the differentiable solve.
  Tensor gb;
  if (GradMode::is_enabled()) {
    gb = linalg_solve_ex(mT(A), g, left).first;
  } else {
    const Tensor factors = lu.unpack(*this);
    const LuFactors f{factors, pivots, std::vector<int>(batch_size(factors), 0)};
    gb = solve_with_lu(f, g, left, true);
  }
  TensorList out(2);
  if (wants_grad(*this, 0)) {
    out[0] = fit_to(neg(left ? matmul(gb, mT(X)) : matmul(mT(X), gb)), a_shape);
  }
  if (wants_grad(*this, 1)) out[1] = fit_to(vector_case ? squeeze(gb, vdim) : gb, b_shape);
  return out;
}

// ---- Cholesky ----

namespace {

std::pair<Tensor, Tensor> cholesky_factor(const Tensor& a, bool upper, bool check_errors,
                                          const std::string& fn, const std::string& failure_fn) {
  linalg::check_floating(a, fn);
  linalg::check_square(a, fn);
  const int64_t n = a->shape()[a->dim() - 1], batch = batch_size(a);
  Tensor factor = column_major_copy(a);
  std::vector<int> infos(static_cast<size_t>(batch), 0);
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    linalg::for_each_matrix(batch, n * n * n, [&](int64_t b) {
      T* l = matrix_data<T>(factor, b);
      infos[b] = lapack::potrf('L', as_int(n), l, leading_dim(n));
      // OpenBLAS's potrf lets a NaN through; reference LAPACK (and torch) stop at it.
      for (int64_t i = 0; i < n && infos[b] == 0; ++i) {
        if (std::isnan(l[i * n + i])) infos[b] = static_cast<int>(i + 1);
      }
      for (int64_t j = 1; j < n; ++j) {  // clear the strict upper triangle (column j, rows < j)
        for (int64_t i = 0; i < j; ++i) l[j * n + i] = T(0);
      }
    });
  });
  if (check_errors) {
    linalg::raise_on_failure(infos, a->dim() > 2, failure_fn, [](int info) {
      return "The factorization could not be completed because the input is not "
             "positive-definite (the leading minor of order " +
             std::to_string(info) + " is not positive-definite).";
    });
  }
  if (upper) factor = swap_last_dims(factor);
  return {factor, linalg::info_tensor(infos, batch_shape(a))};
}

// gA = L^-T P L^-1 with P the lower triangle of L^T gL made symmetric, its
// diagonal halved (the gradient as a symmetric matrix).
Tensor cholesky_backward(const Tensor& g, const Tensor& factor, bool upper) {
  const Tensor L = upper ? mT(factor) : factor;
  const Tensor gL = upper ? mT(g) : g;
  Tensor p = linalg::triangle(matmul(mT(L), gL), true);
  p = mul(add(p, mT(linalg::triangle(p, true, -1))), Scalar(0.5));
  const Tensor left = linalg_solve_triangular(mT(L), p, true, true, false);
  return linalg_solve_triangular(L, left, false, false, false);
}

}  // namespace

namespace {

template <typename NodeT>
void record_cholesky(const char* aten_op, const Tensor& a, const Tensor& factor, bool upper) {
  if (auto node = record_outputs<NodeT>(aten_op, {&a}, {&factor})) {
    node->factor = SavedTensor(factor, true);
    node->upper = upper;
  }
}

}  // namespace

std::pair<Tensor, Tensor> linalg_cholesky_ex(const Tensor& a, bool upper, bool check_errors) {
  auto [factor, info] =
      cholesky_factor(a, upper, check_errors, "linalg.cholesky", "linalg.cholesky_ex");
  record_cholesky<LinalgCholeskyExBackward0>("linalg_cholesky_ex", a, factor, upper);
  return {factor, info};
}

Tensor linalg_cholesky(const Tensor& a, bool upper) {
  Tensor factor = cholesky_factor(a, upper, true, "linalg.cholesky", "linalg.cholesky").first;
  record_cholesky<LinalgCholeskyExBackward0>("linalg_cholesky_ex", a, factor, upper);
  return factor;
}

Tensor cholesky_legacy(const Tensor& a, bool upper) {
  Tensor factor = cholesky_factor(a, upper, true, "cholesky", "cholesky").first;
  record_cholesky<CholeskyBackward0>("cholesky", a, factor, upper);
  return factor;
}

TensorList LinalgCholeskyExBackward0::apply(TensorList&& grads) {
  return {cholesky_backward(grads[0], factor.unpack(*this), upper)};
}

TensorList CholeskyBackward0::apply(TensorList&& grads) {
  return {cholesky_backward(grads[0], factor.unpack(*this), upper)};
}

}  // namespace ember
