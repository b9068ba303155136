// A deterministic fuzz pass: random bytes drive tensor construction, views and
// indexing. Every call must either succeed or throw a std::exception; under the
// sanitizer build (EMBER_SANITIZE) any memory error fails the run.

#include <gtest/gtest.h>

#include <random>

#include "ember/ops.h"

namespace ember {
namespace {

class ByteSource {
 public:
  explicit ByteSource(uint32_t seed) : rng_(seed) {}
  int64_t small(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  double value() { return std::uniform_real_distribution<double>(-1e3, 1e3)(rng_); }
  bool coin() { return small(0, 1) == 1; }

 private:
  std::mt19937 rng_;
};

Shape random_shape(ByteSource& b) {
  Shape s;
  const int64_t nd = b.small(0, 4);
  for (int64_t i = 0; i < nd; ++i) s.push_back(b.small(-1, 4));
  return s;
}

DType random_dtype(ByteSource& b) { return static_cast<DType>(b.small(0, 3)); }

// One random operation on `t`; returns the result (or t when the op threw).
Tensor step(ByteSource& b, const Tensor& t) {
  const int64_t dim = b.small(-5, 5);
  switch (b.small(0, 13)) {
    case 0:
      return slice(t, dim, b.small(-6, 6), b.small(-6, 6), b.small(-1, 3));
    case 1:
      return select(t, dim, b.small(-6, 6));
    case 2:
      return view(t, {b.small(-1, 6), b.small(-1, 6)});
    case 3:
      return reshape(t, {b.small(-1, 24)});
    case 4:
      return transpose(t, dim, b.small(-5, 5));
    case 5:
      return unsqueeze(t, dim);
    case 6:
      return squeeze(t, dim);
    case 7:
      return expand(t, random_shape(b));
    case 8:
      return add(t, full(random_shape(b), b.value(), random_dtype(b)));
    case 9:
      return sum(t, {dim}, b.coin());
    case 10:
      return cat({t, t}, dim);
    case 11:
      return matmul(t, full(random_shape(b), b.value(), t->dtype()));
    case 12:
      return index_rows(t, dim,
                        full(random_shape(b), static_cast<double>(b.small(-6, 6)), DType::Int64));
    default:
      return permute(t, {dim, b.small(-5, 5)});
  }
}

TEST(Fuzz, RandomConstructionViewsAndIndexingNeverCrash) {
  int64_t ok = 0, rejected = 0;
  for (uint32_t seed = 0; seed < 3000; ++seed) {
    ByteSource b(seed);
    Tensor t;
    try {
      t = full(random_shape(b), b.value(), random_dtype(b));
    } catch (const std::exception&) {
      ++rejected;
      continue;
    }
    for (int i = 0; i < 6; ++i) {
      try {
        Tensor next = step(b, t);
        // Touch every element so a bad view would read out of bounds.
        if (next->numel() > 0) (void)element_as_double(next, next->numel() - 1);
        (void)contiguous_clone(next);
        t = next;
        ++ok;
      } catch (const std::exception&) {
        ++rejected;
      }
    }
  }
  // Both outcomes must occur, or the fuzzer is not exploring.
  EXPECT_GT(ok, 1000);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace ember
