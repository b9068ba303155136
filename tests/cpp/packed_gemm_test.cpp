// PackedMatrix products against a double-precision reference, over shapes
// that exercise full and partial register tiles and panels (Note [Packed GEMM]).

#include "ember/kernels/packed_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ember/parallel.h"

namespace ember {
namespace {

struct Case {
  int64_t m, n, k;
  bool transposed;  // B given as the transpose of a row-major (n x k) matrix
};

std::vector<float> random_values(int64_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal;
  std::vector<float> out(static_cast<size_t>(count));
  for (float& v : out) v = normal(gen);
  return out;
}

void check_case(const Case& c) {
  const auto a = random_values(c.m * c.k, 1);
  const auto b = random_values(c.k * c.n, 2);
  const auto c0 = random_values(c.m * c.n, 3);
  auto b_at = [&](int64_t r, int64_t j) { return c.transposed ? b[j * c.k + r] : b[r * c.n + j]; };
  const PackedMatrix packed = c.transposed ? PackedMatrix(b.data(), 1, c.k, c.k, c.n)
                                           : PackedMatrix(b.data(), c.n, 1, c.k, c.n);
  EXPECT_EQ(packed.rows(), c.k);
  EXPECT_EQ(packed.cols(), c.n);
  // C has two extra columns that must stay untouched.
  const int64_t ldc = c.n + 2;
  std::vector<float> out(static_cast<size_t>(c.m * ldc), 7.0f);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) out[i * ldc + j] = c0[i * c.n + j];
  packed.multiply_add(c.m, a.data(), c.k, out.data(), ldc);
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      double want = c0[i * c.n + j];
      for (int64_t r = 0; r < c.k; ++r) want += double(a[i * c.k + r]) * b_at(r, j);
      ASSERT_NEAR(out[i * ldc + j], want, 1e-4 * (1 + std::sqrt(double(c.k))))
          << "m=" << c.m << " n=" << c.n << " k=" << c.k << " at " << i << "," << j;
    }
    EXPECT_EQ(out[i * ldc + c.n], 7.0f);
    EXPECT_EQ(out[i * ldc + c.n + 1], 7.0f);
  }
}

TEST(PackedGemm, MatchesReferenceOverTileAndPanelEdges) {
  for (int64_t m : {1, 3, 4, 7, 8, 9, 20}) {
    for (int64_t n : {1, 15, 16, 17, 32, 40, 512}) {
      for (int64_t k : {0, 1, 5, 128}) {
        check_case({m, n, k, false});
        check_case({m, n, k, true});
      }
    }
  }
}

TEST(PackedGemm, SameResultAtEveryThreadCount) {
  const Case c{20, 512, 128, true};
  const auto a = random_values(c.m * c.k, 4);
  const auto b = random_values(c.k * c.n, 5);
  const PackedMatrix packed(b.data(), 1, c.k, c.k, c.n);
  const int before = get_num_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<float> out(static_cast<size_t>(c.m * c.n), 0.0f);
    packed.multiply_add(c.m, a.data(), c.k, out.data(), c.n);
    results.push_back(out);
  }
  set_num_threads(before);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(PackedGemm, NoRowsOrColumnsIsANoOp) {
  const std::vector<float> b(12, 1.0f);
  const PackedMatrix packed(b.data(), 4, 1, 3, 4);
  std::vector<float> out(4, 2.0f);
  packed.multiply_add(0, nullptr, 3, out.data(), 4);
  EXPECT_EQ(out, std::vector<float>(4, 2.0f));
}

}  // namespace
}  // namespace ember
