#pragma once
// Float products against a matrix packed once and used many times: the
// recurrent weight of an RNN layer multiplies a small batch of hidden states
// at every step. See Note [Packed GEMM].

#include <cstdint>
#include <vector>

namespace ember {

// A float matrix B (k x n) ready for repeated products A @ B.
class PackedMatrix {
 public:
  // B's element (r, c) is b[r * row_stride + c * col_stride].
  PackedMatrix(const float* b, int64_t row_stride, int64_t col_stride, int64_t k, int64_t n);

  int64_t rows() const { return k_; }
  int64_t cols() const { return n_; }

  // c (m x n, rows ldc apart) += a (m x k, rows lda apart) @ B.
  void multiply_add(int64_t m, const float* a, int64_t lda, float* c, int64_t ldc) const;

 private:
  int64_t k_, n_;
  // Panels of 16 columns, each k rows of 16 floats (zero past column n), when
  // the AVX-512 kernel runs; else B itself, row-major, for the BLAS path.
  std::vector<float> data_;
};

}  // namespace ember
