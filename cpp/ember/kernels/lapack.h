#pragma once
// LAPACK (and the BLAS triangular solve) from the scipy-openblas32 wheel, one
// column-major matrix per call (Note [Column-major batches] in ops/linalg_batch.h).
// Each returns LAPACK's `info`: 0 on success, > 0 for a numerical failure
// (a zero pivot, a minor that is not positive-definite, no convergence).
// Workspace is queried and allocated inside; OpenBLAS runs single-threaded
// (Note [Thread budget]).

namespace ember::lapack {

// LU with partial pivoting of an m x n matrix; ipiv gets min(m, n) 1-based rows.
int getrf(int m, int n, float* a, int lda, int* ipiv);
int getrf(int m, int n, double* a, int lda, int* ipiv);
// Solves op(A) X = B from getrf's factors; trans is 'N' or 'T'.
int getrs(char trans, int n, int nrhs, const float* lu, int lda, const int* ipiv, float* b,
          int ldb);
int getrs(char trans, int n, int nrhs, const double* lu, int lda, const int* ipiv, double* b,
          int ldb);
// Cholesky factor of the `uplo` ('L' or 'U') triangle, in place.
int potrf(char uplo, int n, float* a, int lda);
int potrf(char uplo, int n, double* a, int lda);
// Solves A X = B from potrf's factor.
int potrs(char uplo, int n, int nrhs, const float* l, int lda, float* b, int ldb);
int potrs(char uplo, int n, int nrhs, const double* l, int lda, double* b, int ldb);
// B <- op(A)^-1 B (left) or B op(A)^-1 (right) for a triangular A (BLAS trsm):
// a zero on the diagonal gives infinities and NaNs, as it does in torch.
void trsm(bool left, bool upper, bool transpose, bool unit_diagonal, int m, int n, const float* a,
          int lda, float* b, int ldb);
void trsm(bool left, bool upper, bool transpose, bool unit_diagonal, int m, int n, const double* a,
          int lda, double* b, int ldb);
// Householder QR: R above the diagonal, reflectors below and in tau (min(m, n)).
int geqrf(int m, int n, float* a, int lda, float* tau);
int geqrf(int m, int n, double* a, int lda, double* tau);
// The first n columns of Q from k reflectors, in place.
int orgqr(int m, int n, int k, float* a, int lda, const float* tau);
int orgqr(int m, int n, int k, double* a, int lda, const double* tau);
// SVD by divide and conquer; jobz 'N' (values only), 'S' (reduced) or 'A' (full).
// `a` is destroyed.
int gesdd(char jobz, int m, int n, float* a, int lda, float* s, float* u, int ldu, float* vt,
          int ldvt);
int gesdd(char jobz, int m, int n, double* a, int lda, double* s, double* u, int ldu, double* vt,
          int ldvt);
// Eigenvalues (ascending) and, for jobz 'V', eigenvectors in place of a
// symmetric matrix read from its `uplo` triangle.
int syevd(char jobz, char uplo, int n, float* a, int lda, float* w);
int syevd(char jobz, char uplo, int n, double* a, int lda, double* w);

// Least squares min |A X - B| for an m x n A; b is max(m, n) x nrhs and holds X
// in its first n rows afterwards. `s` (min(m, n)) receives singular values for
// the gelsd and gelss drivers; rank is set except by gels.
enum class LstsqDriver { Gels, Gelsy, Gelsd, Gelss };
int lstsq(LstsqDriver driver, int m, int n, int nrhs, float* a, int lda, float* b, int ldb,
          float rcond, int* rank, float* s);
int lstsq(LstsqDriver driver, int m, int n, int nrhs, double* a, int lda, double* b, int ldb,
          double rcond, int* rank, double* s);

}  // namespace ember::lapack
