#include "ember/kernels/blas.h"

#include <cblas.h>
#include <sys/mman.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "ember/allocator.h"
#include "ember/parallel.h"

namespace ember {

namespace {

// Note [BLAS buffers]
// OpenBLAS maps its work buffer (tens of MB of address space) on a thread's
// first call, and when the mapping fails it prints "Memory allocation still
// failed" and exits the process: nothing to catch. So before a thread's first
// BLAS call Ember maps as much itself, unmaps it, and raises its own
// out-of-memory error (RuntimeError) if the mapping failed even after the
// buffer cache was emptied, leaving the process alive. Later calls reuse
// OpenBLAS's buffer and skip the check.
void check_blas_buffer_fits() {
  thread_local bool checked = false;
  if (checked) return;
  constexpr size_t kBufferBytes = size_t{64} << 20;
  auto fits = [] {
    void* p =
        mmap(nullptr, kBufferBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    munmap(p, kBufferBytes);
    return true;
  };
  if (!fits()) {
    empty_cache();  // Ember's cached buffers may be what is in the way
    if (!fits()) throw OutOfMemory(kBufferBytes);
  }
  checked = true;
}

}  // namespace

void use_single_threaded_blas() {
  static const bool done = [] {
    scipy_openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
  check_blas_buffer_fits();
}

namespace {

// Below this many multiply-adds a plain loop beats the BLAS call overhead.
constexpr int64_t kTinyGemmWork = 4096;

template <typename T>
void gemm_loop(int64_t m, int64_t n, int64_t k, MatrixRef<T> a, MatrixRef<T> b, T* c, int64_t ldc,
               bool accumulate) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (!accumulate) {
      for (int64_t j = 0; j < n; ++j) row[j] = T(0);
    }
    for (int64_t p = 0; p < k; ++p) {
      const T av = a.data[i * a.row_stride + p * a.col_stride];
      const T* brow = b.data + p * b.row_stride;
      if (b.col_stride == 1) {
        for (int64_t j = 0; j < n; ++j) row[j] += av * brow[j];
      } else {
        for (int64_t j = 0; j < n; ++j) row[j] += av * brow[j * b.col_stride];
      }
    }
  }
}

// Describes a strided matrix to BLAS as (transpose flag, leading dim), or
// returns false when neither stride is 1 (the caller then packs a copy).
template <typename T>
bool blas_layout(const MatrixRef<T>& x, int64_t rows, int64_t cols, CBLAS_TRANSPOSE* trans,
                 int64_t* ld) {
  // The stride of a size-1 dim never matters; pick whatever makes BLAS happy.
  int64_t rs = rows == 1 ? cols : x.row_stride;
  int64_t cs = cols == 1 ? 1 : x.col_stride;
  if (cs == 1 && rs >= std::max<int64_t>(cols, 1)) {
    *trans = CblasNoTrans;
    *ld = rs;
    return true;
  }
  rs = rows == 1 ? 1 : x.row_stride;
  cs = cols == 1 ? rows : x.col_stride;
  if (rs == 1 && cs >= std::max<int64_t>(rows, 1)) {
    *trans = CblasTrans;
    *ld = cs;
    return true;
  }
  return false;
}

template <typename T>
std::vector<T> pack(const MatrixRef<T>& x, int64_t rows, int64_t cols) {
  std::vector<T> out(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[i * cols + j] = x.data[i * x.row_stride + j * x.col_stride];
  return out;
}

void call_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc) {
  check_blas_buffer_fits();  // on every thread of the pool that calls it
  scipy_cblas_sgemm(CblasRowMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(n),
                    static_cast<blasint>(k), 1.0f, a, static_cast<blasint>(lda), b,
                    static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void call_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
               const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
               int64_t ldc) {
  check_blas_buffer_fits();
  scipy_cblas_dgemm(CblasRowMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(n),
                    static_cast<blasint>(k), 1.0, a, static_cast<blasint>(lda), b,
                    static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Note [Reproducible products]
// OpenBLAS's values for a block of C can depend on the block's shape (its
// Haswell kernels round the same column differently in products of different
// widths), so C is cut into blocks by the product's shape and the machine's
// core count only, never by the thread count: a product gives the same bits at
// every set_num_threads, inside a parallel region or not. With fewer threads
// than blocks, a thread runs several blocks one after another.

// C = A @ B with OpenBLAS single-threaded (Note [Thread budget]): large
// products are cut into blocks of C's rows or columns, whichever dimension is
// longer, and the blocks run on Ember's pool (Note [Reproducible products]).
template <typename T>
void parallel_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                   const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  use_single_threaded_blas();
  const bool split_rows = m >= n;
  const int64_t length = split_rows ? m : n;
  const int64_t other = split_rows ? n : m;
  // One block per core: every block repacks the shared operand, so more,
  // smaller blocks cost more than the load balance they buy.
  const int64_t cores = cpu_cores();
  const int64_t min_rows = kGemmChunkWork / std::max<int64_t>(other * k, 1);
  const int64_t per_core = (length + cores - 1) / cores;
  const int64_t block = (std::max<int64_t>({16, min_rows, per_core}) + 15) / 16 * 16;
  const int64_t blocks = (length + block - 1) / block;
  if (blocks <= 1 || length < 2 * std::max<int64_t>(16, min_rows)) {
    call_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  parallel_for(blocks, 1, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      const int64_t lo = i * block, len = std::min(block, length - lo);
      if (split_rows) {  // rows lo..lo + len of A and C
        const T* a_rows = ta == CblasNoTrans ? a + lo * lda : a + lo;
        call_gemm(ta, tb, len, n, k, a_rows, lda, b, ldb, beta, c + lo * ldc, ldc);
      } else {  // columns lo..lo + len of B and C
        const T* b_cols = tb == CblasNoTrans ? b + lo : b + lo * ldb;
        call_gemm(ta, tb, m, len, k, a, lda, b_cols, ldb, beta, c + lo, ldc);
      }
    }
  });
}

}  // namespace

template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, MatrixRef<T> a, MatrixRef<T> b, T* c, int64_t ldc,
          bool accumulate) {
  if (m == 0 || n == 0) return;
  constexpr bool kBlas = std::is_same_v<T, float> || std::is_same_v<T, double>;
  const bool fits_int = m < INT_MAX && n < INT_MAX && k < INT_MAX;
  if constexpr (kBlas) {
    if (m * n * k > kTinyGemmWork && k > 0 && fits_int) {
      CBLAS_TRANSPOSE ta, tb;
      int64_t lda, ldb;
      std::vector<T> a_packed, b_packed;
      if (!blas_layout(a, m, k, &ta, &lda)) {
        a_packed = pack(a, m, k);
        a = {a_packed.data(), k, 1};
        ta = CblasNoTrans;
        lda = k;
      }
      if (!blas_layout(b, k, n, &tb, &ldb)) {
        b_packed = pack(b, k, n);
        b = {b_packed.data(), n, 1};
        tb = CblasNoTrans;
        ldb = n;
      }
      parallel_gemm(ta, tb, m, n, k, a.data, lda, b.data, ldb, accumulate ? T(1) : T(0), c, ldc);
      return;
    }
  }
  gemm_loop(m, n, k, a, b, c, ldc, accumulate);
}

template void gemm<float>(int64_t, int64_t, int64_t, MatrixRef<float>, MatrixRef<float>, float*,
                          int64_t, bool);
template void gemm<double>(int64_t, int64_t, int64_t, MatrixRef<double>, MatrixRef<double>, double*,
                           int64_t, bool);
template void gemm<int64_t>(int64_t, int64_t, int64_t, MatrixRef<int64_t>, MatrixRef<int64_t>,
                            int64_t*, int64_t, bool);

}  // namespace ember
