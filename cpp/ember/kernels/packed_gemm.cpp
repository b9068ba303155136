#include "ember/kernels/packed_gemm.h"

#include <algorithm>

#include "ember/kernels/blas.h"
#include "ember/kernels/multiversion.h"
#include "ember/parallel.h"

// GCC 12 warns about _mm512_undefined_ps inside its own intrinsics (a
// known false positive of -Wmaybe-uninitialized at -O3).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

namespace ember {

// Note [Packed GEMM]
// BLAS packs both operands of every product into its own panel layout. For an
// RNN step, (batch x hidden) @ W_hh^T with a batch of 20 and a hidden size of
// 128, packing the 256 KB weight costs about as much as the multiply-adds, and
// it is repeated at each of the sequence's steps, forward and backward. Here
// the weight is packed once per layer call into panels of 16 columns (k rows
// of 16 floats, contiguous), and a register tile of up to 8 rows x 32 columns
// runs over k with one broadcast of A and two FMAs per row: about twice BLAS's
// speed at these shapes. Each element of C is summed over k in order, by one
// thread, so results do not depend on the thread count. CPUs without AVX-512
// take BLAS.

namespace {

constexpr int64_t kPanel = 16;
// Multiply-adds per parallel chunk: below this a wake-up costs more.
constexpr int64_t kChunkWork = int64_t(1) << 19;

#define EMBER_AVX512_FN __attribute__((target("arch=x86-64-v4")))

// c (rows x 16 or 32 columns; `mask` picks the columns of a partial last
// panel) += a (rows x k) @ the one or two panels at p0, p1.
template <int Rows>
EMBER_AVX512_FN void tile(const float* a, int64_t lda, const float* p0, const float* p1, int64_t k,
                          float* c, int64_t ldc, __mmask16 mask0, __mmask16 mask1) {
  __m512 acc0[Rows], acc1[Rows];
  for (int r = 0; r < Rows; ++r) {
    acc0[r] = _mm512_maskz_loadu_ps(mask0, c + r * ldc);
    acc1[r] = _mm512_maskz_loadu_ps(mask1, c + r * ldc + kPanel);
  }
  for (int64_t q = 0; q < k; ++q) {
    const __m512 b0 = _mm512_loadu_ps(p0 + q * kPanel);
    const __m512 b1 = _mm512_loadu_ps(p1 + q * kPanel);
    for (int r = 0; r < Rows; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + q]);
      acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, mask0, acc0[r]);
    _mm512_mask_storeu_ps(c + r * ldc + kPanel, mask1, acc1[r]);
  }
}

__mmask16 columns_mask(int64_t remaining) {
  if (remaining >= kPanel) return 0xffff;
  return remaining <= 0 ? 0 : static_cast<__mmask16>((1u << remaining) - 1);
}

// Panel pairs [pair_lo, pair_hi) of the product, all rows.
EMBER_AVX512_FN void multiply_pairs(int64_t m, const float* a, int64_t lda, const float* panels,
                                    int64_t k, int64_t n, float* c, int64_t ldc, int64_t pair_lo,
                                    int64_t pair_hi) {
  const int64_t panel_count = (n + kPanel - 1) / kPanel;
  for (int64_t pair = pair_lo; pair < pair_hi; ++pair) {
    const int64_t p = 2 * pair, col = p * kPanel;
    const float* p0 = panels + p * k * kPanel;
    // A lone last panel pairs with itself under an empty mask.
    const bool has_second = p + 1 < panel_count;
    const float* p1 = has_second ? p0 + k * kPanel : p0;
    const __mmask16 mask0 = columns_mask(n - col);
    const __mmask16 mask1 = has_second ? columns_mask(n - col - kPanel) : 0;
    float* cp = c + col;
    int64_t i = 0;
    for (; i + 8 <= m; i += 8)
      tile<8>(a + i * lda, lda, p0, p1, k, cp + i * ldc, ldc, mask0, mask1);
    for (; i + 4 <= m; i += 4)
      tile<4>(a + i * lda, lda, p0, p1, k, cp + i * ldc, ldc, mask0, mask1);
    for (; i < m; ++i) tile<1>(a + i * lda, lda, p0, p1, k, cp + i * ldc, ldc, mask0, mask1);
  }
}

}  // namespace

PackedMatrix::PackedMatrix(const float* b, int64_t row_stride, int64_t col_stride, int64_t k,
                           int64_t n)
    : k_(k), n_(n) {
  if (!cpu_has_avx512()) {
    data_.resize(static_cast<size_t>(k * n));
    for (int64_t r = 0; r < k; ++r)
      for (int64_t j = 0; j < n; ++j) data_[r * n + j] = b[r * row_stride + j * col_stride];
    return;
  }
  const int64_t panel_count = (n + kPanel - 1) / kPanel;
  data_.assign(static_cast<size_t>(panel_count * k * kPanel), 0.0f);
  for (int64_t p = 0; p < panel_count; ++p) {
    const int64_t width = std::min(kPanel, n - p * kPanel);
    for (int64_t r = 0; r < k; ++r) {
      float* dst = data_.data() + (p * k + r) * kPanel;
      const float* src = b + r * row_stride + p * kPanel * col_stride;
      for (int64_t j = 0; j < width; ++j) dst[j] = src[j * col_stride];
    }
  }
}

void PackedMatrix::multiply_add(int64_t m, const float* a, int64_t lda, float* c,
                                int64_t ldc) const {
  if (m == 0 || n_ == 0) return;
  if (!cpu_has_avx512()) {
    gemm<float>(m, n_, k_, {a, lda, 1}, {data_.data(), n_, 1}, c, ldc, true);
    return;
  }
  const int64_t pairs = (n_ + 2 * kPanel - 1) / (2 * kPanel);
  // One chunk per thread when the work pays for it: equal chunks finish together.
  const int64_t per_pair = m * 2 * kPanel * std::max<int64_t>(k_, 1);
  const int64_t threads = get_num_threads();
  const int64_t grain =
      std::max<int64_t>({1, kChunkWork / per_pair, (pairs + threads - 1) / threads});
  parallel_for(pairs, grain, [&](int64_t lo, int64_t hi) {
    multiply_pairs(m, a, lda, data_.data(), k_, n_, c, ldc, lo, hi);
  });
}

}  // namespace ember
