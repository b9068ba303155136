#include "ember/kernels/vector_math.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace ember {
namespace {

// Note [Vectorized exp]
// exp(x) = 2^k * exp(r) with k = round(x / ln2) and r = x - k*ln2 split in two
// parts (Cody-Waite) so r is exact to float precision; exp(r) on
// |r| <= ln2/2 is a degree-6 polynomial (Cephes' coefficients, ~1 ulp).
// 2^k is built in the exponent bits. Inputs beyond the float range are clamped
// first and patched after, so the loop body has no branches and vectorizes.
inline float exp_approx(float x) {
  const float kMax = 88.72283935546875f;    // exp overflows above this
  const float kMin = -103.97208404541016f;  // exp is 0 below this
  float clamped = x < kMin ? kMin : x;
  clamped = clamped > kMax ? kMax : clamped;
  // Round to nearest by adding and removing 1.5 * 2^23 (vectorizes on any SIMD level).
  const float kRound = 12582912.0f;
  const float k = (clamped * 1.44269504088896341f + kRound) - kRound;
  float r = clamped - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^k in two halves so that k down to -150 (denormal results) stays exact.
  const int32_t ki = static_cast<int32_t>(k);
  const int32_t k1 = ki >> 1, k2 = ki - k1;
  int32_t b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  float y = p * s1 * s2;
  y = x > kMax ? std::numeric_limits<float>::infinity() : y;
  y = x < kMin ? 0.0f : y;
  return x != x ? x : y;
}

}  // namespace

// Each kernel is compiled twice, for AVX2+FMA and for baseline x86-64; the
// loader picks one per machine.
#define EMBER_MULTIVERSION __attribute__((target_clones("avx2,fma", "default")))

// clang-format off
EMBER_MULTIVERSION
void exp_contiguous(const float* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = exp_approx(in[i]);
}

EMBER_MULTIVERSION
void sigmoid_contiguous(const float* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + exp_approx(-in[i]));
}

// Note [Streamed sum]
// A sum reads memory far faster than it adds, so it is bound by how many cache
// lines are in flight. One core following one sequential stream leaves the
// hardware prefetchers half idle; reading four equal quarters of the array in
// lockstep engages four of them and nearly halves the time of a
// larger-than-cache sum (2.6 -> 1.5 ms for 10M floats on the EPYC CI machine).
// Each quarter keeps 16 float lanes for at most kBlock elements, then folds
// them into a double, so rounding error stays that of a 256-term float sum.
EMBER_MULTIVERSION
double sum_contiguous_f32(const float* in, int64_t n) {
  using f32x8 = float __attribute__((vector_size(32), aligned(4), may_alias));
  constexpr int kStreams = 4;
  constexpr int64_t kStep = 16, kBlock = 4096;
  const int64_t quarter = n / kStreams / kStep * kStep;
  double total = 0;
  for (int64_t start = 0; start < quarter; start += kBlock) {
    const int64_t end = std::min(start + kBlock, quarter);
    f32x8 lanes[kStreams][2] = {};
    for (int64_t i = start; i < end; i += kStep) {
      for (int s = 0; s < kStreams; ++s) {
        const float* q = in + s * quarter + i;
        lanes[s][0] += *reinterpret_cast<const f32x8*>(q);
        lanes[s][1] += *reinterpret_cast<const f32x8*>(q + 8);
      }
    }
    f32x8 block = {};
    for (int s = 0; s < kStreams; ++s) block += lanes[s][0] + lanes[s][1];
    for (int j = 0; j < 8; ++j) total += block[j];
  }
  for (int64_t i = kStreams * quarter; i < n; ++i) total += in[i];
  return total;
}

EMBER_MULTIVERSION
void axpy_contiguous(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
// clang-format on

}  // namespace ember
