#pragma once
// Matrix products: OpenBLAS (from the scipy-openblas32 wheel) for real work,
// a direct loop for tiny matrices where a BLAS call costs more than the math.

#include <cstdint>

namespace ember {

// Below this many multiply-adds per chunk, splitting products over the thread
// pool costs more than it saves (~5 us of single-core work).
constexpr int64_t kGemmChunkWork = int64_t{1} << 18;

// A strided matrix view: element (i, j) at data[i * row_stride + j * col_stride].
template <typename T>
struct MatrixRef {
  const T* data;
  int64_t row_stride;
  int64_t col_stride;
};

// C (M x N, row-major with leading dimension ldc) = A (M x K) @ B (K x N),
// or C += A @ B when accumulate is set. Large products run on the thread pool
// (Note [Thread budget]), with the same bits at every thread count (Note
// [Reproducible products]).
// OpenBLAS's own threads stay idle: its calls (products and LAPACK alike) run
// single-threaded on whichever thread of Ember's pool makes them (Note [Thread budget]).
void use_single_threaded_blas();

template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, MatrixRef<T> a, MatrixRef<T> b, T* c, int64_t ldc,
          bool accumulate);

}  // namespace ember
