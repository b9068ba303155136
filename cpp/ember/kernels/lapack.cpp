// The LAPACKE ("_work" forms, column-major) and CBLAS calls behind lapack.h.

#include "ember/kernels/lapack.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <vector>

#include "ember/kernels/blas.h"

namespace ember::lapack {

namespace {

constexpr int kColMajor = LAPACK_COL_MAJOR;

// The workspace size a LAPACK query (lwork = -1) wrote into `query`.
template <typename T>
int workspace_size(T query) {
  return std::max(1, static_cast<int>(query));
}

}  // namespace

// Each routine exists as s (float) and d (double). One body per routine
// writes both overloads: T is the scalar type, L the LAPACKE prefix
// (scipy_LAPACKE_s) and B the CBLAS prefix (scipy_cblas_s) the wheel exports.
#define EMBER_LAPACK_BOTH(BODY)               \
  BODY(float, scipy_LAPACKE_s, scipy_cblas_s) \
  BODY(double, scipy_LAPACKE_d, scipy_cblas_d)
#define EMBER_CAT(a, b) a##b

#define EMBER_GETRF(T, L, B)                                        \
  int getrf(int m, int n, T* a, int lda, int* ipiv) {               \
    use_single_threaded_blas();                                     \
    return EMBER_CAT(L, getrf_work)(kColMajor, m, n, a, lda, ipiv); \
  }
EMBER_LAPACK_BOTH(EMBER_GETRF)
#undef EMBER_GETRF

#define EMBER_GETRS(T, L, B)                                                                     \
  int getrs(char trans, int n, int nrhs, const T* lu, int lda, const int* ipiv, T* b, int ldb) { \
    use_single_threaded_blas();                                                                  \
    return EMBER_CAT(L, getrs_work)(kColMajor, trans, n, nrhs, lu, lda, ipiv, b, ldb);           \
  }
EMBER_LAPACK_BOTH(EMBER_GETRS)
#undef EMBER_GETRS

#define EMBER_POTRF(T, L, B)                                     \
  int potrf(char uplo, int n, T* a, int lda) {                   \
    use_single_threaded_blas();                                  \
    return EMBER_CAT(L, potrf_work)(kColMajor, uplo, n, a, lda); \
  }
EMBER_LAPACK_BOTH(EMBER_POTRF)
#undef EMBER_POTRF

#define EMBER_POTRS(T, L, B)                                                   \
  int potrs(char uplo, int n, int nrhs, const T* l, int lda, T* b, int ldb) {  \
    use_single_threaded_blas();                                                \
    return EMBER_CAT(L, potrs_work)(kColMajor, uplo, n, nrhs, l, lda, b, ldb); \
  }
EMBER_LAPACK_BOTH(EMBER_POTRS)
#undef EMBER_POTRS

#define EMBER_TRSM(T, L, B)                                                                      \
  void trsm(bool left, bool upper, bool transpose, bool unit_diagonal, int m, int n, const T* a, \
            int lda, T* b, int ldb) {                                                            \
    use_single_threaded_blas();                                                                  \
    EMBER_CAT(B, trsm)(CblasColMajor, left ? CblasLeft : CblasRight,                             \
                       upper ? CblasUpper : CblasLower, transpose ? CblasTrans : CblasNoTrans,   \
                       unit_diagonal ? CblasUnit : CblasNonUnit, m, n, T(1), a, lda, b, ldb);    \
  }
EMBER_LAPACK_BOTH(EMBER_TRSM)
#undef EMBER_TRSM

#define EMBER_GEQRF(T, L, B)                                                       \
  int geqrf(int m, int n, T* a, int lda, T* tau) {                                 \
    use_single_threaded_blas();                                                    \
    T query = 0;                                                                   \
    int info = EMBER_CAT(L, geqrf_work)(kColMajor, m, n, a, lda, tau, &query, -1); \
    if (info != 0) return info;                                                    \
    std::vector<T> work(static_cast<size_t>(workspace_size(query)));               \
    return EMBER_CAT(L, geqrf_work)(kColMajor, m, n, a, lda, tau, work.data(),     \
                                    static_cast<int>(work.size()));                \
  }
EMBER_LAPACK_BOTH(EMBER_GEQRF)
#undef EMBER_GEQRF

#define EMBER_ORGQR(T, L, B)                                                          \
  int orgqr(int m, int n, int k, T* a, int lda, const T* tau) {                       \
    use_single_threaded_blas();                                                       \
    T query = 0;                                                                      \
    int info = EMBER_CAT(L, orgqr_work)(kColMajor, m, n, k, a, lda, tau, &query, -1); \
    if (info != 0) return info;                                                       \
    std::vector<T> work(static_cast<size_t>(workspace_size(query)));                  \
    return EMBER_CAT(L, orgqr_work)(kColMajor, m, n, k, a, lda, tau, work.data(),     \
                                    static_cast<int>(work.size()));                   \
  }
EMBER_LAPACK_BOTH(EMBER_ORGQR)
#undef EMBER_ORGQR

#define EMBER_GESDD(T, L, B)                                                                   \
  int gesdd(char jobz, int m, int n, T* a, int lda, T* s, T* u, int ldu, T* vt, int ldvt) {    \
    use_single_threaded_blas();                                                                \
    std::vector<int> iwork(static_cast<size_t>(8 * std::max(1, std::min(m, n))));              \
    T query = 0;                                                                               \
    int info = EMBER_CAT(L, gesdd_work)(kColMajor, jobz, m, n, a, lda, s, u, ldu, vt, ldvt,    \
                                        &query, -1, iwork.data());                             \
    if (info != 0) return info;                                                                \
    std::vector<T> work(static_cast<size_t>(workspace_size(query)));                           \
    return EMBER_CAT(L, gesdd_work)(kColMajor, jobz, m, n, a, lda, s, u, ldu, vt, ldvt,        \
                                    work.data(), static_cast<int>(work.size()), iwork.data()); \
  }
EMBER_LAPACK_BOTH(EMBER_GESDD)
#undef EMBER_GESDD

#define EMBER_SYEVD(T, L, B)                                                                    \
  int syevd(char jobz, char uplo, int n, T* a, int lda, T* w) {                                 \
    use_single_threaded_blas();                                                                 \
    T query = 0;                                                                                \
    int iquery = 0;                                                                             \
    int info =                                                                                  \
        EMBER_CAT(L, syevd_work)(kColMajor, jobz, uplo, n, a, lda, w, &query, -1, &iquery, -1); \
    if (info != 0) return info;                                                                 \
    std::vector<T> work(static_cast<size_t>(workspace_size(query)));                            \
    std::vector<int> iwork(static_cast<size_t>(std::max(1, iquery)));                           \
    return EMBER_CAT(L, syevd_work)(kColMajor, jobz, uplo, n, a, lda, w, work.data(),           \
                                    static_cast<int>(work.size()), iwork.data(),                \
                                    static_cast<int>(iwork.size()));                            \
  }
EMBER_LAPACK_BOTH(EMBER_SYEVD)
#undef EMBER_SYEVD

// One workspace query and call for whichever driver; gelsd also wants an
// integer workspace, which its query reports.
#define EMBER_LSTSQ(T, L, B)                                                                       \
  int lstsq(LstsqDriver driver, int m, int n, int nrhs, T* a, int lda, T* b, int ldb, T rcond,     \
            int* rank, T* s) {                                                                     \
    use_single_threaded_blas();                                                                    \
    auto call = [&](T* work, int lwork, int* iwork) {                                              \
      switch (driver) {                                                                            \
        case LstsqDriver::Gels:                                                                    \
          return EMBER_CAT(L, gels_work)(kColMajor, 'N', m, n, nrhs, a, lda, b, ldb, work, lwork); \
        case LstsqDriver::Gelsy: {                                                                 \
          std::vector<int> jpvt(static_cast<size_t>(std::max(1, n)), 0);                           \
          return EMBER_CAT(L, gelsy_work)(kColMajor, m, n, nrhs, a, lda, b, ldb, jpvt.data(),      \
                                          rcond, rank, work, lwork);                               \
        }                                                                                          \
        case LstsqDriver::Gelsd:                                                                   \
          return EMBER_CAT(L, gelsd_work)(kColMajor, m, n, nrhs, a, lda, b, ldb, s, rcond, rank,   \
                                          work, lwork, iwork);                                     \
        case LstsqDriver::Gelss:                                                                   \
          break;                                                                                   \
      }                                                                                            \
      return EMBER_CAT(L, gelss_work)(kColMajor, m, n, nrhs, a, lda, b, ldb, s, rcond, rank, work, \
                                      lwork);                                                      \
    };                                                                                             \
    T query = 0;                                                                                   \
    int iquery = 1;                                                                                \
    int info = call(&query, -1, &iquery);                                                          \
    if (info != 0) return info;                                                                    \
    std::vector<T> work(static_cast<size_t>(workspace_size(query)));                               \
    std::vector<int> iwork(static_cast<size_t>(std::max(1, iquery)));                              \
    return call(work.data(), static_cast<int>(work.size()), iwork.data());                         \
  }
EMBER_LAPACK_BOTH(EMBER_LSTSQ)
#undef EMBER_LSTSQ

#undef EMBER_LAPACK_BOTH
#undef EMBER_CAT

}  // namespace ember::lapack
