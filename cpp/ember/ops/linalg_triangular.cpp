// Triangular systems: linalg.solve_triangular, the legacy triangular_solve and
// cholesky_solve, with their backward formulas.

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
using linalg::leading_dim;
using linalg::matrix_data;
using linalg::mT;
using linalg::record_outputs;
using linalg::with_batch;

namespace {

// torch's message for a b whose rows do not match A, in the legacy solves.
std::string incompatible_sizes(const char* fn, const Tensor& a, const Tensor& b) {
  auto by = [](const Tensor& t) {
    return std::to_string(t->shape()[t->dim() - 2]) + " by " +
           std::to_string(t->shape()[t->dim() - 1]);
  };
  return std::string("Incompatible matrix sizes for ") + fn + ": each A matrix is " + by(a) +
         " but each b matrix is " + by(b);
}

}  // namespace

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
                   matrix_data<T>(ac, i), leading_dim(n), matrix_data<T>(x, i), as_int(rows));
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

}  // namespace ember
