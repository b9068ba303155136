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

EMBER_MULTIVERSION
double sum_contiguous_f32(const float* in, int64_t n) {
  constexpr int64_t kLanes = 32, kBlock = 4096;
  double total = 0;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t len = std::min(kBlock, n - start);
    const float* q = in + start;
    float lanes[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      for (int64_t j = 0; j < kLanes; ++j) lanes[j] += q[i + j];
    }
    float tail = 0;
    for (; i < len; ++i) tail += q[i];
    double block = tail;
    for (int64_t j = 0; j < kLanes; ++j) block += lanes[j];
    total += block;
  }
  return total;
}

EMBER_MULTIVERSION
void axpy_contiguous(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
// clang-format on

}  // namespace ember
