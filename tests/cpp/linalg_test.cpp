// The LAPACK kernels and the linear-algebra ops built on them, checked by the
// identities their results satisfy (A inv(A) = I, Q R = A, U S Vh = A, ...).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "ember/kernels/lapack.h"
#include "ember/ops.h"
#include "ember/random.h"

namespace ember {
namespace {

// A well-conditioned random (batch..., n, n) matrix: random plus n on the diagonal.
Tensor well_conditioned(const Shape& shape, DType dtype = DType::Float64) {
  const int64_t n = shape[shape.size() - 1];
  return add(randn(shape, dtype), mul(eye(n, n, dtype), Scalar(double(n))));
}

// A symmetric positive-definite batch: A A^T + n I.
Tensor positive_definite(const Shape& shape, DType dtype = DType::Float64) {
  const int64_t n = shape[shape.size() - 1];
  const Tensor a = randn(shape, dtype);
  return add(matmul(a, transpose(a, -2, -1)), mul(eye(n, n, dtype), Scalar(double(n))));
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const Tensor d = contiguous(sub(a, b));
  double worst = 0;
  for (int64_t i = 0; i < d->numel(); ++i)
    worst = std::max(worst, std::abs(element_as_double(d, i)));
  return worst;
}

Tensor identity_like(const Tensor& a) {
  const int64_t n = a->shape()[a->dim() - 1];
  return expand(eye(n, n, a->dtype()), a->shape());
}

TEST(Lapack, GetrfAndGetrsSolveAColumnMajorSystem) {
  // A = [[4, 3], [6, 3]] column by column; b = A [1, 2] = [10, 12].
  double a[] = {4, 6, 3, 3};
  double b[] = {10, 12};
  int ipiv[2];
  ASSERT_EQ(lapack::getrf(2, 2, a, 2, ipiv), 0);
  ASSERT_EQ(lapack::getrs('N', 2, 1, a, 2, ipiv, b, 2), 0);
  EXPECT_NEAR(b[0], 1.0, 1e-12);
  EXPECT_NEAR(b[1], 2.0, 1e-12);
}

TEST(Lapack, PotrfReportsTheFirstMinorThatIsNotPositiveDefinite) {
  float a[] = {1, 2, 2, 1};  // [[1, 2], [2, 1]]: eigenvalues 3 and -1
  EXPECT_EQ(lapack::potrf('L', 2, a, 2), 2);
}

TEST(Linalg, InverseTimesMatrixIsTheIdentityForEveryBatchElement) {
  default_generator().manual_seed(0);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor a = well_conditioned(Shape{3, 5, 5}, dtype);
    const Tensor inv = linalg_inv(a);
    const double tol = dtype == DType::Float32 ? 1e-5 : 1e-12;
    EXPECT_LT(max_abs_diff(matmul(a, inv), identity_like(a)), tol);
    EXPECT_LT(max_abs_diff(matmul(inv, a), identity_like(a)), tol);
  }
}

TEST(Linalg, SingularInverseRaisesNamingTheZeroPivot) {
  Tensor a = zeros(Shape{2, 2}, DType::Float64);
  fill_raw(select(select(a, 0, 0), 0, 0), Scalar(1.0));
  try {
    linalg_inv(a);
    FAIL() << "expected LinAlgError";
  } catch (const LinAlgError& e) {
    EXPECT_EQ(std::string(e.what()),
              "linalg.inv: The diagonal element 2 is zero, the inversion could not be completed "
              "because the input matrix is singular.");
  }
  auto [inv, info] = linalg_inv_ex(a, false);
  EXPECT_EQ(element_as_double(info, 0), 2.0);
}

TEST(Linalg, DeterminantMatchesTheProductOfEigenvaluesAndSlogdet) {
  default_generator().manual_seed(1);
  const Tensor a = positive_definite(Shape{2, 4, 4});
  const Tensor det = linalg_det(a);
  const Tensor values = linalg_eigh(a, false, false).first;
  EXPECT_LT(max_abs_diff(det, prod(values, -1, false)), 1e-8 * element_as_double(det, 0));
  auto [sign, logabs] = linalg_slogdet(a);
  EXPECT_LT(max_abs_diff(mul(sign, exp(logabs)), det), 1e-8 * element_as_double(det, 0));
}

TEST(Linalg, SolveBroadcastsBatchesAndHandlesVectors) {
  default_generator().manual_seed(2);
  const Tensor a = well_conditioned(Shape{3, 4, 4});
  const Tensor b = randn(Shape{4, 2}, DType::Float64);
  const Tensor x = linalg_solve(a, b);
  EXPECT_EQ(x->shape(), (Shape{3, 4, 2}));
  EXPECT_LT(max_abs_diff(matmul(a, x), expand(b, Shape{3, 4, 2})), 1e-12);
  const Tensor v = randn(Shape{3, 4}, DType::Float64);
  const Tensor xv = linalg_solve(a, v);
  EXPECT_EQ(xv->shape(), (Shape{3, 4}));
  EXPECT_LT(max_abs_diff(squeeze(matmul(a, unsqueeze(xv, -1)), -1), v), 1e-12);
  const Tensor right = linalg_solve(a, transpose(b, 0, 1), false);  // X A = B
  EXPECT_LT(max_abs_diff(matmul(right, a), expand(transpose(b, 0, 1), Shape{3, 2, 4})), 1e-12);
}

TEST(Linalg, CholeskyFactorReproducesTheMatrix) {
  default_generator().manual_seed(3);
  const Tensor a = positive_definite(Shape{2, 5, 5});
  const Tensor l = linalg_cholesky(a);
  EXPECT_LT(max_abs_diff(matmul(l, transpose(l, -2, -1)), a), 1e-10);
  EXPECT_EQ(element_as_double(contiguous(l), 1), 0.0);  // above the diagonal
  const Tensor u = linalg_cholesky(a, true);
  EXPECT_LT(max_abs_diff(u, transpose(l, -2, -1)), 1e-14);
}

TEST(Linalg, TriangularAndCholeskySolvesInvertTheirFactors) {
  default_generator().manual_seed(4);
  const Tensor a = positive_definite(Shape{4, 4});
  const Tensor l = linalg_cholesky(a);
  const Tensor b = randn(Shape{4, 3}, DType::Float64);
  const Tensor y = linalg_solve_triangular(l, b, false, true, false);
  EXPECT_LT(max_abs_diff(matmul(l, y), b), 1e-12);
  const Tensor x = cholesky_solve(b, l, false);
  EXPECT_LT(max_abs_diff(matmul(a, x), b), 1e-10);
}

TEST(Linalg, QrGivesOrthonormalQAndUpperTriangularR) {
  default_generator().manual_seed(5);
  for (const Shape& shape : {Shape{6, 4}, Shape{4, 6}, Shape{2, 5, 5}}) {
    const Tensor a = randn(shape, DType::Float64);
    auto [q, r] = linalg_qr(a, "reduced");
    EXPECT_LT(max_abs_diff(matmul(q, r), a), 1e-12);
    const Tensor qtq = matmul(transpose(q, -2, -1), q);
    EXPECT_LT(max_abs_diff(qtq, identity_like(qtq)), 1e-12);
    const Tensor rc = contiguous(r);
    const int64_t cols = rc->shape()[rc->dim() - 1];
    EXPECT_EQ(element_as_double(rc, cols), 0.0);  // r[1][0]
  }
}

TEST(Linalg, SvdReconstructsTheMatrixWithDescendingValues) {
  default_generator().manual_seed(6);
  for (bool full : {false, true}) {
    const Tensor a = randn(Shape{3, 7, 4}, DType::Float64);
    SvdResult svd = linalg_svd(a, full);
    const int64_t k = 4;
    const Tensor u = slice(svd.U, -1, 0, k, 1), vh = slice(svd.Vh, -2, 0, k, 1);
    EXPECT_LT(max_abs_diff(matmul(mul(u, unsqueeze(svd.S, -2)), vh), a), 1e-12);
    const Tensor s = contiguous(svd.S);
    for (int64_t i = 0; i + 1 < k; ++i)
      EXPECT_GE(element_as_double(s, i), element_as_double(s, i + 1));
    if (full) {
      const Tensor utu = matmul(transpose(svd.U, -2, -1), svd.U);
      EXPECT_LT(max_abs_diff(utu, identity_like(utu)), 1e-12);
    }
  }
}

TEST(Linalg, EighDiagonalizesASymmetricMatrix) {
  default_generator().manual_seed(7);
  const Tensor a = positive_definite(Shape{2, 5, 5});
  auto [values, vectors] = linalg_eigh(a, false);
  const Tensor rebuilt = matmul(mul(vectors, unsqueeze(values, -2)), transpose(vectors, -2, -1));
  EXPECT_LT(max_abs_diff(rebuilt, a), 1e-10);
}

TEST(Linalg, PseudoInverseSatisfiesThePenroseConditions) {
  default_generator().manual_seed(8);
  const Tensor a = randn(Shape{5, 3}, DType::Float64);
  const Tensor p = linalg_pinv(a, std::nullopt, std::nullopt, false);
  EXPECT_LT(max_abs_diff(matmul(matmul(a, p), a), a), 1e-12);
  EXPECT_LT(max_abs_diff(matmul(matmul(p, a), p), p), 1e-12);
}

TEST(Linalg, LeastSquaresSolutionMatchesThePseudoInverse) {
  default_generator().manual_seed(9);
  const Tensor a = randn(Shape{6, 3}, DType::Float64);
  const Tensor b = randn(Shape{6, 2}, DType::Float64);
  for (const char* driver : {"gels", "gelsy", "gelsd", "gelss"}) {
    const LstsqResult r = linalg_lstsq(a, b, std::nullopt, driver);
    const Tensor expected = matmul(linalg_pinv(a, std::nullopt, std::nullopt, false), b);
    EXPECT_LT(max_abs_diff(r.solution, expected), 1e-12) << driver;
  }
}

TEST(Linalg, CrossProductOfTheUnitVectors) {
  const Tensor e = eye(3, 3, DType::Float64);
  const Tensor c = linalg_cross(select(e, 0, 0), select(e, 0, 1), -1);
  EXPECT_LT(max_abs_diff(c, select(e, 0, 2)), 0.0 + 1e-15);
}

// A float64 (rows, cols) matrix from its values row by row.
Tensor matrix(int64_t rows, int64_t cols, std::initializer_list<double> values) {
  Tensor t = empty(Shape{rows, cols}, DType::Float64);
  std::copy(values.begin(), values.end(), t->data<double>());
  return t;
}

TEST(Linalg, LuFactorRawPacksRectangularFactorsWithOneBasedSwaps) {
  // [[1, 2, 0], [3, 4, 1]]: row 2 is the first pivot, then L = [[1], [1/3]],
  // U = [[3, 4, 1], [0, 2/3, -1/3]].
  const auto [lu, pivots, info] = linalg_lu_factor_raw(matrix(2, 3, {1, 2, 0, 3, 4, 1}));
  EXPECT_LT(max_abs_diff(lu, matrix(2, 3, {3, 4, 1, 1.0 / 3, 2.0 / 3, -1.0 / 3})), 1e-15);
  ASSERT_EQ(pivots->dtype(), DType::Int32);
  EXPECT_EQ(element_as_double(pivots, 0), 2);
  EXPECT_EQ(element_as_double(pivots, 1), 2);
  EXPECT_EQ(element_as_double(info, 0), 0);
}

TEST(Linalg, LuFactorRawReportsTheFirstZeroPivot) {
  const auto [lu, pivots, info] = linalg_lu_factor_raw(matrix(2, 2, {1, 2, 2, 4}));
  EXPECT_EQ(element_as_double(info, 0), 2);
}

TEST(Linalg, HouseholderProductRawAppliesEachReflector) {
  // v = [1, 1] with tau = 1: I - v v^T = [[0, -1], [-1, 0]].
  const Tensor q = linalg_householder_product_raw(matrix(2, 2, {5, 7, 1, 9}),
                                                  full(Shape{1}, Scalar(1.0), DType::Float64));
  EXPECT_LT(max_abs_diff(q, matrix(2, 2, {0, -1, -1, 0})), 1e-15);
}

}  // namespace
}  // namespace ember
