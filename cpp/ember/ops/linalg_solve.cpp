// Linear systems through LU and Cholesky factors: inv, det, slogdet, solve,
// cholesky, the triangular and Cholesky solves, lstsq and cross, with their
// backward formulas (written with differentiable ops, so double backward works).

#include <cmath>
#include <limits>

#include "ember/autograd/functions/decompositions.h"
#include "ember/kernels/lapack.h"
#include "ember/ops/linalg_batch.h"

namespace ember {

using linalg::batch_shape;
using linalg::batch_size;
using linalg::column_major_copy;
using linalg::fit_to;
using linalg::matrix_data;
using linalg::mT;
using linalg::record_outputs;
using linalg::with_batch;

namespace {

int as_int(int64_t v) { return static_cast<int>(v); }

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
      f.infos[b] = lapack::getrf(as_int(n), as_int(n), matrix_data<T>(f.lu, b),
                                 as_int(std::max<int64_t>(n, 1)), f.pivots.data() + b * n);
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

// The same storage seen with the last two dims swapped: a fresh tensor (not a
// view) over a result buffer nothing else refers to.
Tensor swap_last_dims(const Tensor& t) {
  Shape shape = t->shape();
  Strides strides = t->strides();
  const size_t d = shape.size();
  std::swap(shape[d - 1], shape[d - 2]);
  std::swap(strides[d - 1], strides[d - 2]);
  return std::make_shared<TensorImpl>(t->storage(), t->offset(), shape, strides, t->dtype());
}

// Drops a size-1 dim of a result buffer (the vector forms of solve and lstsq).
Tensor drop_dim(const Tensor& t, int64_t dim) {
  Shape shape = t->shape();
  Strides strides = t->strides();
  const size_t d = static_cast<size_t>(wrap_dim(dim, t->dim()));
  shape.erase(d);
  strides.erase(d);
  return std::make_shared<TensorImpl>(t->storage(), t->offset(), shape, strides, t->dtype());
}

// Broadcasts the batch dims of a (..., r, c) and b (..., p, q) together.
std::pair<Tensor, Tensor> broadcast_batches(const Tensor& a, const Tensor& b) {
  const Shape batch = broadcast_shapes(batch_shape(a), batch_shape(b));
  const int64_t da = a->dim(), db = b->dim();
  GradModeGuard no_grad(false);
  return {expand(a, with_batch(batch, {a->shape()[da - 2], a->shape()[da - 1]})),
          expand(b, with_batch(batch, {b->shape()[db - 2], b->shape()[db - 1]}))};
}

std::string dims_str(const Tensor& t) {
  return std::to_string(t->shape()[t->dim() - 2]) + "x" + std::to_string(t->shape()[t->dim() - 1]);
}

// torch's message for a b whose rows do not match A, in the legacy solves.
std::string incompatible_sizes(const char* fn, const Tensor& a, const Tensor& b) {
  auto by = [](const Tensor& t) {
    return std::to_string(t->shape()[t->dim() - 2]) + " by " +
           std::to_string(t->shape()[t->dim() - 1]);
  };
  return std::string("Incompatible matrix sizes for ") + fn + ": each A matrix is " + by(a) +
         " but each b matrix is " + by(b);
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
  Tensor x;
  {
    GradModeGuard no_grad(false);
    x = column_major_copy(left ? be : mT(be));
  }
  // X A = B is A^T X^T = B^T: the same LU, transposed.
  lu_solve(f, x, !left);
  if (!left) x = swap_last_dims(x);
  if (vector_case) x = drop_dim(x, -1);
  Tensor info = linalg::info_tensor(f.infos, batch_shape(ae));
  if (auto node = record_outputs<LinalgSolveExBackward0>("linalg_solve_ex", {&a, &b}, {&x})) {
    node->a = SavedTensor(a, false);
    node->x = SavedTensor(x, true);
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
  const Tensor gb = linalg_solve_ex(mT(A), g, left).first;
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
      infos[b] = lapack::potrf('L', as_int(n), l, as_int(std::max<int64_t>(n, 1)));
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

// ---- triangular solves ----

namespace {

// X = op(A)^-1 B (left) or B op(A)^-1 for triangular A, batches broadcast.
Tensor triangular_solve_kernel(const Tensor& a, const Tensor& b, bool upper, bool left,
                               bool transpose, bool unitriangular) {
  auto [ae, be] = broadcast_batches(a, b);
  const Tensor ac = column_major_copy(ae);
  Tensor x = column_major_copy(be);
  const int64_t n = a->shape()[a->dim() - 1];
  const int64_t rows = be->shape()[be->dim() - 2], cols = be->shape()[be->dim() - 1];
  if (rows == 0 || cols == 0) return x;
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    linalg::for_each_matrix(batch_size(be), n * n * (left ? cols : rows), [&](int64_t i) {
      lapack::trsm(left, upper, transpose, unitriangular, as_int(rows), as_int(cols),
                   matrix_data<T>(ac, i), as_int(std::max<int64_t>(n, 1)), matrix_data<T>(x, i),
                   as_int(rows));
    });
  });
  return x;
}

void check_triangular_args(const Tensor& a, const Tensor& b, bool left, const std::string& fn) {
  linalg::check_floating(a, fn);
  linalg::check_same_dtype(a, b, fn);
  linalg::check_square(a, fn);
  linalg::check_matrix(b, fn, "B");
  const int64_t n = a->shape()[a->dim() - 1];
  const int64_t along = b->shape()[b->dim() - (left ? 2 : 1)];
  if (along != n) {
    throw std::runtime_error(fn + ": Incompatible shapes of A and B for the equation " +
                             (left ? "AX = B (" : "XA = B (") + dims_str(a) + " and " +
                             dims_str(b) + ")");
  }
}

// The part of a gradient a triangular A's solve depends on.
Tensor triangle_of(const Tensor& g, bool upper, bool unitriangular) {
  const int64_t skip = unitriangular ? 1 : 0;
  return linalg::triangle(g, !upper, upper ? skip : -skip);
}

}  // namespace

Tensor linalg_solve_triangular(const Tensor& a, const Tensor& b, bool upper, bool left,
                               bool unitriangular) {
  check_triangular_args(a, b, left, "linalg.solve_triangular");
  Tensor x = triangular_solve_kernel(a, b, upper, left, false, unitriangular);
  if (auto node = record_outputs<LinalgSolveTriangularBackward0>("linalg_solve_triangular",
                                                                 {&a, &b}, {&x})) {
    node->a = SavedTensor(a, false);
    node->x = SavedTensor(x, true);
    node->upper = upper;
    node->left = left;
    node->unitriangular = unitriangular;
    node->a_shape = a->shape();
    node->b_shape = b->shape();
  }
  return x;
}

TensorList LinalgSolveTriangularBackward0::apply(TensorList&& grads) {
  const Tensor A = a.unpack(*this), X = x.unpack(*this);
  const Tensor gb = linalg_solve_triangular(mT(A), grads[0], !upper, left, unitriangular);
  TensorList out(2);
  if (wants_grad(*this, 0)) {
    const Tensor ga = neg(left ? matmul(gb, mT(X)) : matmul(mT(X), gb));
    out[0] = fit_to(triangle_of(ga, upper, unitriangular), a_shape);
  }
  if (wants_grad(*this, 1)) out[1] = fit_to(gb, b_shape);
  return out;
}

std::pair<Tensor, Tensor> triangular_solve(const Tensor& b, const Tensor& a, bool upper,
                                           bool transpose, bool unitriangular) {
  if (b->dim() < 2) {
    throw std::runtime_error(
        "torch.triangular_solve: Expected b to have at least 2 dimensions, but it has " +
        std::to_string(b->dim()) + " dimensions instead");
  }
  if (a->dim() >= 2 && b->shape()[b->dim() - 2] != a->shape()[a->dim() - 1]) {
    throw std::runtime_error(incompatible_sizes("triangular_solve", a, b));
  }
  check_triangular_args(a, b, true, "torch.triangular_solve");
  Tensor x = triangular_solve_kernel(a, b, upper, true, transpose, unitriangular);
  Tensor coefficient;
  {
    GradModeGuard no_grad(false);
    coefficient = contiguous_clone(broadcast_batches(a, b).first);
  }
  if (auto node = record_outputs<TriangularSolveBackward0>("triangular_solve", {&b, &a},
                                                           {&x, &coefficient})) {
    node->a = SavedTensor(a, false);
    node->x = SavedTensor(x, true);
    node->upper = upper;
    node->transpose = transpose;
    node->unitriangular = unitriangular;
    node->a_shape = a->shape();
    node->b_shape = b->shape();
  }
  return {x, coefficient};
}

TensorList TriangularSolveBackward0::apply(TensorList&& grads) {
  const Tensor A = a.unpack(*this);
  TensorList out(2);
  Tensor ga;
  if (grads[0]) {
    const Tensor X = x.unpack(*this);
    // op(A) X = B: gB = op(A)^-T gX, gop(A) = -gB X^T.
    const Tensor gb = transpose
                          ? linalg_solve_triangular(A, grads[0], upper, true, unitriangular)
                          : linalg_solve_triangular(mT(A), grads[0], !upper, true, unitriangular);
    if (wants_grad(*this, 0)) out[0] = fit_to(gb, b_shape);
    ga = triangle_of(neg(transpose ? matmul(X, mT(gb)) : matmul(gb, mT(X))), upper, unitriangular);
  }
  if (grads[1]) ga = ga ? add(ga, grads[1]) : grads[1];
  if (wants_grad(*this, 1) && ga) out[1] = fit_to(ga, a_shape);
  return out;
}

Tensor cholesky_solve(const Tensor& b, const Tensor& l, bool upper) {
  if (b->dtype() != l->dtype()) {
    throw std::runtime_error(std::string("Expected b and A to have the same dtype, but found b of "
                                         "type ") +
                             scalar_type_name(b->dtype()) + " and A of type " +
                             scalar_type_name(l->dtype()) + " instead.");
  }
  linalg::check_floating(l, "cholesky_solve");
  if (b->dim() < 2) {
    throw std::runtime_error("b should have at least 2 dimensions, but has " +
                             std::to_string(b->dim()) + " dimensions instead");
  }
  if (l->dim() < 2) {
    throw std::runtime_error("u should have at least 2 dimensions, but has " +
                             std::to_string(l->dim()) + " dimensions instead");
  }
  const int64_t n = l->shape()[l->dim() - 1];
  if (l->shape()[l->dim() - 2] != n) {
    throw std::runtime_error("A must be batches of square matrices, but they are " +
                             std::to_string(l->shape()[l->dim() - 2]) + " by " + std::to_string(n) +
                             " matrices");
  }
  if (b->shape()[b->dim() - 2] != n) {
    throw std::runtime_error(incompatible_sizes("cholesky_solve", l, b));
  }
  auto [le, be] = broadcast_batches(l, b);
  const Tensor lc = column_major_copy(le);
  Tensor x = column_major_copy(be);
  const int64_t k = be->shape()[be->dim() - 1];
  if (n > 0 && k > 0) {
    EMBER_DISPATCH_FLOAT(l->dtype(), T, [&] {
      linalg::for_each_matrix(batch_size(be), n * n * k, [&](int64_t i) {
        lapack::potrs(upper ? 'U' : 'L', as_int(n), as_int(k), matrix_data<T>(lc, i), as_int(n),
                      matrix_data<T>(x, i), as_int(n));
      });
    });
  }
  if (auto node = record_outputs<CholeskySolveBackward0>("cholesky_solve", {&b, &l}, {&x})) {
    node->factor = SavedTensor(l, false);
    node->x = SavedTensor(x, true);
    node->upper = upper;
    node->b_shape = b->shape();
    node->factor_shape = l->shape();
  }
  return x;
}

TensorList CholeskySolveBackward0::apply(TensorList&& grads) {
  const Tensor L = factor.unpack(*this), X = x.unpack(*this);
  const Tensor gb = cholesky_solve(grads[0], L, upper);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = fit_to(gb, b_shape);
  if (wants_grad(*this, 1)) {
    Tensor common = matmul(gb, mT(X));
    common = add(common, mT(common));
    out[1] = fit_to(neg(upper ? matmul(L, common) : matmul(common, L)), factor_shape);
  }
  return out;
}

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

// ---- cross product ----

namespace {

Tensor cross_product(const Tensor& a, const Tensor& b, int64_t d) {
  auto part = [d](const Tensor& t, int64_t i) { return select(t, d, i); };
  auto term = [&](int64_t i, int64_t j) {
    return sub(mul(part(a, i), part(b, j)), mul(part(a, j), part(b, i)));
  };
  return stack({term(1, 2), term(2, 0), term(0, 1)}, d);
}

}  // namespace

Tensor linalg_cross(const Tensor& a, const Tensor& b, int64_t dim) {
  if (a->dim() != b->dim()) {
    throw std::runtime_error("linalg.cross: inputs must have the same number of dimensions.");
  }
  if (a->dtype() != b->dtype()) {
    throw std::runtime_error(std::string("expected scalar type ") + scalar_type_name(a->dtype()) +
                             " but found " + scalar_type_name(b->dtype()));
  }
  const int64_t d = wrap_dim(dim, a->dim());
  if (a->shape()[d] != 3 || b->shape()[d] != 3) {
    throw std::runtime_error("linalg.cross: inputs dimension " + std::to_string(dim) +
                             " must have length 3. Got " + std::to_string(a->shape()[d]) + " and " +
                             std::to_string(b->shape()[d]));
  }
  const Shape shape = broadcast_shapes(a->shape(), b->shape());
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = contiguous(cross_product(expand(a, shape), expand(b, shape), d));
    if (out.get() == a.get() || out.get() == b.get()) out = contiguous_clone(out);
  }
  if (auto node = record_outputs<LinalgCrossBackward0>("linalg_cross", {&a, &b}, {&out})) {
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->dim = d;
    node->self_shape = a->shape();
    node->other_shape = b->shape();
  }
  return out;
}

TensorList LinalgCrossBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) {
    out[0] = fit_to(linalg_cross(expand(other.unpack(*this), g->shape()), g, dim), self_shape);
  }
  if (wants_grad(*this, 1)) {
    out[1] = fit_to(linalg_cross(g, expand(self.unpack(*this), g->shape()), dim), other_shape);
  }
  return out;
}

}  // namespace ember
