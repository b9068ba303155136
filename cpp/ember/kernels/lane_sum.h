#pragma once
// Sums over a short row (one that lives in cache) with eight independent
// accumulators: the compiler keeps them in one vector register, and the
// rounding does not depend on the thread count, since a row is one thread's.

#include <cstdint>

namespace ember {

constexpr int kSumLanes = 8;

// sum over i in [0, n) of term(i), accumulated in T.
template <typename T, typename Term>
T lane_sum(int64_t n, Term term) {
  T acc[kSumLanes] = {};
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes) {
    for (int j = 0; j < kSumLanes; ++j) acc[j] += term(i + j);
  }
  for (; i < n; ++i) acc[0] += term(i);
  T total = 0;
  for (int j = 0; j < kSumLanes; ++j) total += acc[j];
  return total;
}

}  // namespace ember
