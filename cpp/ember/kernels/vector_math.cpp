#include "ember/kernels/vector_math.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ember/kernels/multiversion.h"

// GCC 12 warns about _mm512_undefined_ps inside its own intrinsics (a
// known false positive of -Wmaybe-uninitialized at -O3).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

namespace ember {
namespace {

// Note [Vectorized math accuracy]
// Two kinds of float32 kernel live here.
// Float-evaluated (exp, sigmoid, tanh, log, erf): range reduction and a polynomial
// in float arithmetic, 16 lanes per AVX-512 vector. Each keeps the rounding of
// its big terms exact until one final rounding (r is reduced as r + r_lo,
// 1 + r and e ln2 + f are summed with their rounding errors recovered), so the
// error is 0.5 ulp plus the smaller terms' roundings. Polynomials are
// weighted least-squares fits on Chebyshev nodes (near-minimax), coefficients
// rounded to float one at a time with the rest refitted. Measured by
// tests/cpp/vector_math_test.cpp (every 251st float bit pattern, 17M inputs,
// plus edge cases) against libm's double functions; with FMA contraction
// (the x86-64-v4 and avx2,fma clones) and without (the baseline clone). On
// AVX-512 CPUs exp, sigmoid, tanh and log (and erf) take their own loops
// instead, which drop exp's compensations for speed (Note [AVX-512 exp]); so
// do exp, sigmoid, tanh and log on AVX2 CPUs, with the AVX-512 loops' accuracy
// (Note [AVX2 math]). The columns: those loops, then the portable loops with
// and without FMA:
//                     AVX-512/AVX2  avx2+fma  baseline
//   exp               0.857         0.742     0.742 ulp (portable: worst at a
//                                             denormal result, which rounds
//                                             a second time)
//   log               0.825         0.825     0.828
//   log1p             0.823         0.823     0.842
//   tanh              0.958         0.954     0.980
//   sigmoid           2.255         2.255     2.255
//   erf               0.938         0.938     1.217 (baseline: x + x R(x^2)
//                                             below 1 rounds the product
//                                             separately; FMA fuses it)
// sigmoid is torch's 1 / (1 + exp(-x)) in float on purpose: near y = 1 the
// rounding of 1 + exp(-x) decides y, and gradients built from y ((1 - y) y,
// ill-conditioned for x in 9..17) then follow torch's. The formula itself
// costs up to 1.5 ulp there, and for x < -16.6, where e^-x > 2^24 and adding
// 1 rounds at e^-x's own spacing, up to 2.3 ulp (torch's Sleef-based kernel
// shares both). Below -88.72 exp(-x) overflows and y is 0, as in torch.
// erf: x + x R(x^2) below 1, 1 - e^{-x^2} G(x) from 1 to 3.95 (then 1), with
// x^2 = hi + lo exact (FMA on AVX-512, a 12-bit head split in the portable
// code) and lo fed into exp's r_lo, so -x^2 is never rounded. The switch sits
// at 1 because e^{-x^2} G's roundings weigh erfc/erf there (0.19; 1.22 ulp
// with the switch at 0.875) and R's Horner roundings grow with x^2 above it
// (1.29 ulp with the switch at 1.2).
// Double-evaluated (expm1, sin, cos, and gelu on CPUs without AVX-512; on
// AVX-512 exact gelu is float-evaluated, Note [Float GELU]): evaluate in double and round
// once; every formula is within ~2^-35 relative of the true value, so the
// bound is 0.5 ulp + ~2^-11 ulp on every CPU level:
//   expm1 0.50031, sin 0.50000, cos 0.50000, gelu (x Phi(x) and torch's tanh
//   form) 0.50008 ulp; 0 to 6 of the 17M results are not the correctly
//   rounded float. They stay in double because the float forms cost
//   accuracy: expm1's 2^k expm1(r) + (2^k - 1) rounds twice at similar
//   magnitudes (1.34 ulp measured), and float trig needs a multi-part pi/2
//   reduction. A float x Phi(x) is harder than erf: for x < -0.75,
//   Phi(x) = e^{-x^2/2} H(|x|) needs H accurate relative to its own size on
//   [0.75, 14.5], and H as a polynomial in t = 1 / (1 + |x|/2) cancels in its
//   last Horner steps (it falls to 0.03 from a 0.14 constant term): such a
//   version measured 7.4 ulp. A fit of the flat K = H / t (0.23..0.41), with
//   x t and 1 + |x|/2 carried with their rounding errors, avoids that.
//   gelu's derivative Phi + x phi: the same relative bound on each term; it
//   cancels near its zero at x = -0.75, where only that absolute bound holds.
// Special values are patched with selects, not branches: NaN in gives NaN,
// +-inf and -0.0 give what C's functions give, and denormals in or out are
// handled (log scales denormal inputs by 2^23; exp applies 2^k as two normal
// factors so a denormal result rounds once and k = 128 does not overflow).
// sin and cos reduce by pi/2 in three parts (33 + 33 + 53 bits), exact for
// |x| < 2^20; larger or non-finite inputs are redone with libm's double sin.
// float64 tensors stay on libm, whose results are already ~0.5 ulp.

inline double as_double(uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
inline uint64_t bits_of(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}
inline float as_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
inline uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Adding 1.5 * 2^52 rounds a double below 2^51 to an integer, which then sits
// in the low mantissa bits: round-to-int and float-to-int in one add.
constexpr double kShifter = 6755399441055744.0;
constexpr double kLn2 = 0.6931471805599453;
constexpr double kInvLn2 = 1.4426950408889634;

// exp(x) = scale * (1 + em1), split so expm1 keeps its relative accuracy.
// x = k ln2 + r with |r| <= ln2/2; em1 = expm1(r) by its Taylor series to r^9
// (truncation 2^-37 relative). A single-double ln2 is enough: k*ln2's rounding
// is an absolute error of 2^-45 in r, so a relative 2^-45 in exp. x is clamped
// to +-200, where float results have long saturated, so 2^k stays a normal double.
struct ExpParts {
  double scale, em1;
};
inline ExpParts exp_parts(double x) {
  x = x < -200.0 ? -200.0 : x;
  x = x > 200.0 ? 200.0 : x;
  const double shifted = x * kInvLn2 + kShifter;
  const double k = shifted - kShifter;
  const double r = x - k * kLn2;
  double q = 1.0 / 362880;
  q = q * r + 1.0 / 40320;
  q = q * r + 1.0 / 5040;
  q = q * r + 1.0 / 720;
  q = q * r + 1.0 / 120;
  q = q * r + 1.0 / 24;
  q = q * r + 1.0 / 6;
  q = q * r + 0.5;
  // The low bits of `shifted` hold k; adding the bias and shifting drops the rest.
  const double scale = as_double((bits_of(shifted) + 1023) << 52);
  return {scale, r + r * r * q};
}

inline double exp_d(double x) {
  const ExpParts p = exp_parts(x);
  return p.scale + p.scale * p.em1;
}

// 2 atanh(s) = log((1 + s) / (1 - s)) for |s| <= 0.172 (a mantissa in
// [sqrt(1/2), sqrt(2))), series to s^15: truncation 2^-44 relative.
inline double log_series(double f) {
  const double s = f / (2.0 + f);
  const double z = s * s;
  double p = 1.0 / 15;
  p = p * z + 1.0 / 13;
  p = p * z + 1.0 / 11;
  p = p * z + 1.0 / 9;
  p = p * z + 1.0 / 7;
  p = p * z + 1.0 / 5;
  p = p * z + 1.0 / 3;
  return 2.0 * s + 2.0 * s * z * p;
}

// erf(x) / x as a polynomial in t = x^2 on [0, 0.81] (Chebyshev fit, 7e-12 relative).
inline double erf_small(double x) {
  const double w = (x * x - 0.405) * (1 / 0.405);
  constexpr double c[] = {-1.8752512790270129e-08, 3.7660756138659354e-07, -6.6214818445728262e-06,
                          0.00010109777531339668,  -0.0013059104237104571, 0.013911659112977773,
                          -0.12015024821020584,    0.99290323472475595};
  double p = c[0];
  for (int i = 1; i < 8; ++i) p = p * w + c[i];
  return x * p;
}

// erfc(z) for z >= 0.9: exp(-z^2) * G(t), t = 2 / (2 + z), where G = erfc(z) e^{z^2}
// varies slowly in t (Chebyshev fit on z in [0.9, 10.6], 1.2e-11 relative).
// Beyond 10.6 the float results that use it (erf, gelu) have saturated or
// underflowed, so z is clamped there for G only.
inline double erfc_large(double z) {
  const double zc = z > 10.6 ? 10.6 : z;
  const double t = 2.0 / (2.0 + zc);
  const double w = (t - 0.42419266557197594) * (1 / 0.2654625068418172);
  constexpr double c[] = {4.4046312597316859e-10,  3.4111636390180517e-08,  -6.6049608509983496e-08,
                          -5.6527528203724745e-07, 1.836723382909699e-06,   9.2571681583961022e-06,
                          -4.0502996635732688e-05, -0.00024354888856483053, 0.00068563723623333694,
                          0.011251736493805956,    0.058204455551816726,    0.19075307510123388,
                          0.19591030170701451};
  double g = c[0];
  for (int i = 1; i < 13; ++i) g = g * w + c[i];
  return exp_d(-z * z) * g;
}

// Phi(x) = P(N(0,1) <= x) = erfc(-x / sqrt2) / 2, accurate in both tails.
inline double normal_cdf(double x) {
  const double z = -x * 0.7071067811865476;
  const double a = std::fabs(z);
  const double tail = erfc_large(a);
  const double large = z > 0 ? tail : 2.0 - tail;
  const double small = 1.0 - erf_small(z);
  return 0.5 * (a < 0.9 ? small : large);
}

// ---- float32 evaluation (Note [Vectorized math accuracy]) ----

constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();
// 1.5 * 2^23: adding it rounds a float below 2^22 to an integer held in the
// low mantissa bits (the float twin of kShifter).
constexpr float kShifterF = 12582912.0f;
constexpr float kInvLn2F = 1.44269502f;
// ln2 = kLn2HiF + kLn2LoF; kLn2HiF has 16 significant bits, so k * kLn2HiF is
// exact for |k| < 256 with or without FMA.
constexpr float kLn2HiF = 0.693145751953125f;
constexpr float kLn2LoF = 1.42860677e-06f;

// x = k ln2 + r, |r| <= ln2/2 (plus a rounding sliver). r is carried as
// r + r_lo: rounding r to float alone costs up to 2^-26 absolute, a quarter
// to half an ulp of e^r, which the final sum would double.
struct ReducedF {
  float r, r_lo, shifted;
};
inline ReducedF reduce_ln2(float x) {
  const float shifted = x * kInvLn2F + kShifterF;
  const float k = shifted - kShifterF;
  const float r_hi = x - k * kLn2HiF;  // exact (Sterbenz, exact product)
  const float delta = k * kLn2LoF;
  const float r = r_hi - delta;
  return {r, (r_hi - r) - delta, shifted};
}
inline int32_t k_of(float shifted) {
  return static_cast<int32_t>(bits_of(shifted) - bits_of(kShifterF));
}
inline float pow2f(int32_t k) { return as_float(static_cast<uint32_t>(k + 127) << 23); }

// e^r - 1 - r = r^2 P(r) on |r| <= ln2/2: weighted least-squares fit on
// Chebyshev nodes, 2^-28 relative to e^r. Returns e^r for r + r_lo with one
// significant rounding: 1 + r is split into its rounded sum and the exact
// error of that sum (|1| > |r|), which joins the small terms. Rounding
// 1 + (r + small) instead would round twice (0.84 ulp measured).
inline float exp_poly(float r, float r_lo) {
  float p = 1.374481479e-03f;
  p = p * r + 8.368961513e-03f;
  p = p * r + 4.166965559e-02f;
  p = p * r + 1.666651815e-01f;
  p = p * r + 4.999998808e-01f;
  const float hi = 1.0f + r;
  const float hi_err = (1.0f - hi) + r;
  return hi + (((r * r) * p + r_lo) + hi_err);
}

// exp without the NaN patch. Inputs are clamped to [-104, 89], where float
// results have overflowed (e^89 > FLT_MAX) or underflowed (e^-104 < 2^-150),
// so k stays in [-150, 128]. 2^k is applied as two normal factors so that
// k = 128 does not overflow early and denormal results round only once.
inline float exp_core(float x) {
  // Written as max/min with x second so each compiles to one vmaxps/vminps
  // that passes NaN through (it then propagates through the arithmetic).
  x = -104.0f > x ? -104.0f : x;
  x = 89.0f < x ? 89.0f : x;
  const ReducedF red = reduce_ln2(x);
  const int32_t k = k_of(red.shifted);
  const int32_t k1 = k >> 1;
  return (exp_poly(red.r, red.r_lo) * pow2f(k1)) * pow2f(k - k1);
}

inline float exp_f(float x) { return exp_core(x); }  // NaN propagates

// expm1 stays double-evaluated: in float, 2^k expm1(r) + (2^k - 1) rounds
// twice at similar magnitudes (1.3 ulp measured), and this version already
// beats torch's float32 expm1 (Note [Vectorized math accuracy]).
inline float expm1_f(float x) {
  const ExpParts p = exp_parts(x);
  // 2^k expm1(r) + (2^k - 1): both terms share a sign for k >= 0, and for
  // k < 0 the result is below -0.29, so the sum never cancels badly.
  const double y = p.scale * p.em1 + (p.scale - 1.0);
  return x != x || x == 0.0f ? x : static_cast<float>(y);  // -0.0 stays -0.0
}

// torch's float formula 1 / (1 + exp(-x)), rounding where it rounds: near
// y = 1 the rounding of 1 + exp(-x) decides the result, and gradients built
// from y (like (1 - y) y) then agree with torch's.
inline float sigmoid_f(float x) {
  const float y = 1.0f / (1.0f + exp_core(-x));
  return x != x ? x : y;
}

// tanh(x) - x = x^3 T(x^2) on |x| <= 1.1, 2^-32 relative to tanh (the fit
// rounds one coefficient to float at a time and refits the rest).
inline float tanh_poly(float x) {
  const float z = x * x;
  float p = -2.955753189e-05f;
  p = p * z + 2.514882071e-04f;
  p = p * z - 1.078646630e-03f;
  p = p * z + 3.311527893e-03f;
  p = p * z - 8.727408946e-03f;
  p = p * z + 2.182842046e-02f;
  p = p * z - 5.396105349e-02f;
  p = p * z + 1.333326995e-01f;
  p = p * z - 3.333333135e-01f;
  return x + (x * z) * p;
}

inline float tanh_f(float x) {
  // From 0.95: 1 - 2 / (e^{2|x|} + 1). The fraction is below 0.26 there, so
  // its three roundings (exp, the sum, the quotient) weigh about a quarter of
  // an ulp of the result. The threshold balances that against the
  // polynomial's own rounding near 1. From 9.1 on, tanh is 1 in float.
  const float a = std::fabs(x);
  const float ac = a > 10.0f ? 10.0f : a;
  const float big = 1.0f - 2.0f / (exp_core(2.0f * ac) + 1.0f);
  const float y = a < 0.95f ? tanh_poly(x) : std::copysign(big, x);
  return x != x || x == 0.0f ? x : y;  // -0.0 stays -0.0
}

// log(1 + f) - f + f^2/2 = f^3 L(f) for f in [sqrt(1/2) - 1, sqrt(2) - 1],
// 2^-27 relative to log(1 + f). Returns the part beyond f.
inline float log1p_tail(float f) {
  float p = -7.353802770e-02f;
  p = p * f + 1.261518747e-01f;
  p = p * f - 1.320345849e-01f;
  p = p * f + 1.422809958e-01f;
  p = p * f - 1.662131548e-01f;
  p = p * f + 1.999976635e-01f;
  p = p * f - 2.500085235e-01f;
  p = p * f + 3.333335519e-01f;
  return (f * f) * (f * p - 0.5f);
}

// e ln2 + log(1 + f) + small. For e = -1 and f near 0.41 the two big terms
// cancel to a third, so each is kept exact until one final rounding: e ln2hi
// + f is summed with its rounding error recovered (|e ln2hi| > |f| when e is
// nonzero; for e = 0 the sum is f itself).
inline float log_combine(float e, float f, float small) {
  const float a = e * kLn2HiF;
  const float hi = a + f;
  const float hi_err = f - (hi - a);
  return hi + (((e * kLn2LoF + small) + log1p_tail(f)) + hi_err);
}

// Splits a positive normal float into 2^e * m with m in [sqrt(1/2), sqrt(2)):
// offsetting the bits moves the mantissa's range so that the exponent field
// absorbs the rest. Returns m - 1 (exact: m is within a factor 2 of 1).
struct LogSplitF {
  float f, e;
};
inline LogSplitF log_split(float x) {
  const uint32_t ix = bits_of(x) + (0x3f800000u - 0x3f3504f3u);
  const int32_t e = static_cast<int32_t>(ix >> 23) - 127;
  const float m = as_float((ix & 0x7fffffu) + 0x3f3504f3u);
  return {m - 1.0f, static_cast<float>(e)};
}

inline float log_f(float x) {
  // Scale denormals into the normal range first (2^23 is exact).
  const bool tiny = x < 1.17549435e-38f;
  const LogSplitF sp = log_split(tiny ? x * 8388608.0f : x);
  const float e = tiny ? sp.e - 23.0f : sp.e;
  float r = log_combine(e, sp.f, 0.0f);
  r = x == 0.0f ? -kInfF : r;
  r = x == kInfF ? x : r;
  return x < 0.0f || x != x ? kNaNF : r;
}

inline float log1p_f(float x) {
  // u = 1 + x rounds; c = x - (u - 1) is that rounding error exactly, and
  // log1p(x) = log(u) + c / u to far below float precision. With no exponent
  // to take out, u - 1 + c is x itself: the polynomial takes x unrounded.
  const float u = 1.0f + x;
  const float c = x - (u - 1.0f);
  const LogSplitF sp = log_split(u);
  const bool plain = sp.e == 0.0f;
  const float f = plain ? x : sp.f;
  const float corr = plain ? 0.0f : c / u;
  float r = log_combine(sp.e, f, corr);
  r = x == -1.0f ? -kInfF : r;
  r = x == kInfF || x == 0.0f ? x : r;
  return x < -1.0f || x != x ? kNaNF : r;
}

// erf(x) = x + x R(x^2) for |x| < 1.2: |R(t)| = |erf(x)/x - 1| <= 0.25, so
// its rounding is at most 1/6 of an ulp of erf. Fit 2^-30 relative to erf.
// Below 1.2 the tail formula 1 - e^{-x^2} G would weigh the roundings of
// e^{-x^2} G by erfc/erf > 0.1 (1.22 ulp measured with the switch at 0.875).
inline float erf_small_r(float t) {
  float p = -7.902210200e-06f;
  p = p * t + 1.055328030e-04f;
  p = p * t - 8.369578281e-04f;
  p = p * t + 5.211775657e-03f;
  p = p * t - 2.686151862e-02f;
  p = p * t + 1.128370166e-01f;
  p = p * t - 3.761263192e-01f;
  return p * t + 1.283791661e-01f;
}

// G(a) = erfc(a) e^{a^2} on [1.2, 3.95] as a polynomial in a - 2.6. Weighted
// by erfc(a) / erf(a), the share of G's error in erf = 1 - e^{-a^2} G: 2^-28.
// From 3.95 on, erf rounds to 1 and a is clamped there.
inline float erfc_g(float v) {
  float p = 1.038279297e-04f;
  p = p * v + 2.071639319e-04f;
  p = p * v + 5.023777485e-04f;
  p = p * v - 7.038908079e-04f;
  p = p * v + 2.287552925e-03f;
  p = p * v - 8.124749176e-03f;
  p = p * v + 2.492186427e-02f;
  p = p * v - 7.434068620e-02f;
  return p * v + 2.108076066e-01f;
}

// The top 12 significant bits of x: head * head and head * (x - head) are
// exact float products, so x^2 splits exactly into head^2 plus a small
// second term, without FMA (whose x*x - round(x*x) the baseline clone lacks).
inline float head12(float x) { return as_float(bits_of(x) & 0xfffff000u); }

// e^(h + l) = value * 2^k for |l| << |h|, l the low part of an argument that
// float cannot hold in one number (-x^2): l joins the reduced r's low part, so
// the argument is never rounded. r_hi is exact as in reduce_ln2.
inline float exp_sum(float h, float l, int32_t& k) {
  const float shifted = h * kInvLn2F + kShifterF;
  const float kf = shifted - kShifterF;
  const float r_hi = h - kf * kLn2HiF;
  const float d = kf * kLn2LoF - l;
  const float r = r_hi - d;
  k = k_of(shifted);
  return exp_poly(r, (r_hi - r) - d);
}

inline float erf_f(float x) {
  const float a = std::fabs(x);
  const float small = a + a * erf_small_r(a * a);
  const float ac = a > 3.95f ? 3.95f : a;  // NaN stays NaN
  const float ah = head12(ac), al = ac - ah;
  int32_t k;  // k >= -23: one factor 2^k is a normal float
  const float e = exp_sum(-(ah * ah), -(al * (ah + ah) + al * al), k) * pow2f(k);
  const float big = 1.0f - e * erfc_g(ac - 2.5f);
  const float y = a < 1.0f ? small : big;
  return x != x ? x : std::copysign(y, x);  // -0.0 stays -0.0
}

constexpr double kTrigMax = 1048576.0;  // 2^20: below it, j * kPio2Hi is exact

// sin(x + quadrant * pi/2) for |x| < kTrigMax; garbage beyond (fixed by the caller).
inline float sin_quadrant_f(float x, uint64_t quadrant) {
  const double xd = x;
  const double shifted = xd * 0.6366197723675814 + kShifter;
  const double j = shifted - kShifter;
  // pi/2 in three parts; the first two have 33 bits so j * part is exact.
  const double r =
      ((xd - j * 1.5707963267341256) - j * 6.077100506303966e-11) - j * 2.0222662487959506e-21;
  const double z = r * r;
  double s = 1.0 / 6227020800;  // sin(r) to r^13: 2^-37 relative for |r| <= pi/4
  s = s * z - 1.0 / 39916800;
  s = s * z + 1.0 / 362880;
  s = s * z - 1.0 / 5040;
  s = s * z + 1.0 / 120;
  s = s * z - 1.0 / 6;
  s = r + r * z * s;
  double c = -1.0 / 87178291200;  // cos(r) to r^14
  c = c * z + 1.0 / 479001600;
  c = c * z - 1.0 / 3628800;
  c = c * z + 1.0 / 40320;
  c = c * z - 1.0 / 720;
  c = c * z + 1.0 / 24;
  c = 1.0 - 0.5 * z + z * z * c;
  const uint64_t q = bits_of(shifted) + quadrant;
  double v = (q & 1) ? c : s;
  v = (q & 2) ? -v : v;
  return static_cast<float>(v);
}

// gelu(x) = x * Phi(x); torch's tanh form x / 2 (1 + tanh(u)) = x sigmoid(2u).
constexpr double kGeluBeta = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kGeluKappa = 0.044715;

inline float gelu_f(float x) {
  const double xd = x;
  const double y = xd * normal_cdf(xd);
  // -inf * Phi(-inf) is NaN, as in torch; +inf stays +inf (Note [GELU at infinity]).
  return x == -std::numeric_limits<float>::infinity() ? std::numeric_limits<float>::quiet_NaN()
                                                      : static_cast<float>(y);
}

inline float gelu_tanh_f(float x) {
  const double xd = x;
  const double u = kGeluBeta * (xd + kGeluKappa * xd * xd * xd);
  const double y = xd / (1.0 + exp_d(-2.0 * u));
  return x == -std::numeric_limits<float>::infinity() ? std::numeric_limits<float>::quiet_NaN()
                                                      : static_cast<float>(y);
}

// d/dx x Phi(x) = Phi(x) + x phi(x).
inline float gelu_grad_f(float g, float x) {
  const double xd = x;
  const double pdf = 0.3989422804014327 * exp_d(-0.5 * xd * xd);
  const double d = std::fabs(xd) == kInf ? kNaN : normal_cdf(xd) + xd * pdf;  // torch: inf * 0
  return static_cast<float>(g * d);
}

// With s = sigmoid(2u): 1 + tanh(u) = 2s and 1 - tanh(u)^2 = 4s(1 - s).
inline float gelu_tanh_grad_f(float g, float x) {
  // Beyond +-20 the derivative is 0 or 1 to far below float precision; the
  // clamp keeps x * s * (1 - s) from meeting exp's own clamp.
  double xd = x;
  xd = xd < -20.0 ? -20.0 : xd;
  xd = xd > 20.0 ? 20.0 : xd;
  const double x2 = xd * xd;
  const double u = kGeluBeta * (xd + kGeluKappa * x2 * xd);
  const double s = 1.0 / (1.0 + exp_d(-2.0 * u));
  const double du = kGeluBeta * (1.0 + 3.0 * kGeluKappa * x2);
  const double d = std::fabs(x) == kInf ? kNaN : s + 2.0 * xd * s * (1.0 - s) * du;
  return static_cast<float>(g * d);
}

}  // namespace

// Each kernel is compiled for AVX-512 (x86-64-v4: 8 double lanes, which the
// double-evaluated math needs to keep up), AVX2+FMA and baseline x86-64
// (multiversion.h).

// ---- AVX-512 kernels (Note [AVX-512 exp]) ----
// Note [AVX-512 exp]
// The portable loops above do compile to 16-lane zmm code in the x86-64-v4
// clone (no scalarized integer ops, gathers or spills), but they are bound by
// the count of vector instructions, which issue at about two per cycle: exp
// took ~37 per 16 floats (clamps if-converted by GCC into compare and blend
// chains, 2^k built as two factors from integer k, the r + r_lo and 1 + r
// compensations) and ran at 19.9 us per 65536 floats against torch's 11.0.
// AVX-512 has single instructions for the expensive parts: vscalefps
// multiplies by 2^k with one rounding, overflowing to inf and underflowing
// through the denormals as the true product would, vrndscaleps rounds x / ln2,
// vmaxps / vminps clamp, and masked loads and stores take the tail. With
// plain Horner (e^r = 1 + r (1 + r P(r)), P exp_poly's fit) exp is 13
// instructions: 11.6 us, and 0.857 ulp measured (the compensations cost 3 to 7
// instructions for 0.74 ulp, so they stay only where fast is not at stake:
// the portable clones).
#define EMBER_AVX512 __attribute__((target("arch=x86-64-v4"), always_inline)) inline

// Inputs clamped to [-104, 89] only so that +-inf do not make r NaN;
// vscalefps saturates beyond. max(lo, x) and min(hi, x) return x when it is
// NaN, which then propagates.
EMBER_AVX512 __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kInvLn2F)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r_hi = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2HiF), x);  // exact
  const __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2LoF), r_hi);
  __m512 p = _mm512_set1_ps(1.374481479e-03f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.368961513e-03f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166965559e-02f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666651815e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.999998808e-01f));
  const __m512 one = _mm512_set1_ps(1.0f);
  p = _mm512_fmadd_ps(p, r, one);
  return _mm512_scalef_ps(_mm512_fmadd_ps(p, r, one), k);
}

EMBER_AVX512 __m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));  // exp(-x), NaN stays NaN
  return _mm512_div_ps(one, _mm512_add_ps(one, e));
}

EMBER_AVX512 __m512 tanh16(__m512 x) {
  // tanh_f's formulas at |x| with x's sign put back (so -0.0 stays -0.0).
  const __m512 sign = _mm512_set1_ps(-0.0f);
  const __m512 a = _mm512_andnot_ps(sign, x);
  const __m512 z = _mm512_mul_ps(a, a);
  __m512 p = _mm512_set1_ps(-2.955753189e-05f);
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.514882071e-04f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-1.078646630e-03f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(3.311527893e-03f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-8.727408946e-03f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.182842046e-02f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.396105349e-02f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.333326995e-01f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.333333135e-01f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(a, z), p, a);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp16(_mm512_add_ps(a, a));  // saturates to inf: 2 / inf = 0
  const __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
  const __mmask16 is_small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.95f), _CMP_LT_OQ);
  const __m512 y = _mm512_mask_blend_ps(is_small, big, small);  // NaN: big is NaN too
  return _mm512_or_ps(y, _mm512_and_ps(x, sign));
}

// e^r for |r| <= ln2/2 by exp16's plain Horner (without the 2^k).
EMBER_AVX512 __m512 exp16_poly(__m512 r) {
  __m512 p = _mm512_set1_ps(1.374481479e-03f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.368961513e-03f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166965559e-02f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666651815e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.999998808e-01f));
  const __m512 one = _mm512_set1_ps(1.0f);
  p = _mm512_fmadd_ps(p, r, one);
  return _mm512_fmadd_ps(p, r, one);
}

// e^(-c a^2) = value * 2^k for c = 1 or 1/2 (exact scalings), a >= 0: FMA gives
// a^2 = hi + lo exactly, and lo is subtracted from the reduced r rather than
// rounded into the argument (a rounded -a^2 would cost a^2 2^-24 relative).
EMBER_AVX512 __m512 exp_neg_sq16(__m512 a, __m512 c, __m512& k) {
  const __m512 hi = _mm512_mul_ps(_mm512_mul_ps(a, a), c);
  const __m512 lo = _mm512_mul_ps(_mm512_fmsub_ps(a, a, _mm512_mul_ps(a, a)), c);
  k = _mm512_roundscale_ps(_mm512_mul_ps(hi, _mm512_set1_ps(-kInvLn2F)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r_hi = _mm512_fnmsub_ps(k, _mm512_set1_ps(kLn2HiF), hi);  // -hi - k ln2hi, exact
  const __m512 r = _mm512_sub_ps(r_hi, _mm512_fmadd_ps(k, _mm512_set1_ps(kLn2LoF), lo));
  return exp16_poly(r);
}

// erf_small_r and erfc_g on 16 lanes.
EMBER_AVX512 __m512 erf_small_r16(__m512 t) {
  __m512 p = _mm512_set1_ps(-7.902210200e-06f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.055328030e-04f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-8.369578281e-04f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(5.211775657e-03f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-2.686151862e-02f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.128370166e-01f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-3.761263192e-01f));
  return _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.283791661e-01f));
}

EMBER_AVX512 __m512 erfc_g16(__m512 v) {
  __m512 g = _mm512_set1_ps(1.038279297e-04f);
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(2.071639319e-04f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(5.023777485e-04f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-7.038908079e-04f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(2.287552925e-03f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-8.124749176e-03f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(2.492186427e-02f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-7.434068620e-02f));
  return _mm512_fmadd_ps(g, v, _mm512_set1_ps(2.108076066e-01f));
}

// log_f on 16 lanes: the same split into 2^e (1 + f), the same f^3 L(f)
// tail and the same compensated sum (see log_combine). vgetexpps and
// vgetmantps give e and m in [1, 2) directly, denormals included; m from
// sqrt(2) on is halved (e + 1), which is log_split's range. One vfixupimmps
// then sets what zero (-inf) and +inf (+inf) give, and a blend the NaNs.
EMBER_AVX512 __m512 log16(__m512 x) {
  __m512 m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
  __m512 e = _mm512_getexp_ps(x);
  const __mmask16 upper = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421354f), _CMP_GE_OQ);
  m = _mm512_mask_mul_ps(m, upper, m, _mm512_set1_ps(0.5f));
  e = _mm512_mask_add_ps(e, upper, e, _mm512_set1_ps(1.0f));
  const __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
  __m512 p = _mm512_set1_ps(-7.353802770e-02f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.261518747e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.320345849e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.422809958e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.662131548e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.999976635e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-2.500085235e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(3.333335519e-01f));
  const __m512 tail =
      _mm512_mul_ps(_mm512_mul_ps(f, f), _mm512_fmsub_ps(f, p, _mm512_set1_ps(0.5f)));
  const __m512 a = _mm512_mul_ps(e, _mm512_set1_ps(kLn2HiF));
  const __m512 hi = _mm512_add_ps(a, f);
  const __m512 hi_err = _mm512_sub_ps(f, _mm512_sub_ps(hi, a));
  const __m512 low = _mm512_add_ps(_mm512_mul_ps(e, _mm512_set1_ps(kLn2LoF)), tail);
  const __m512 r = _mm512_add_ps(hi, _mm512_add_ps(low, hi_err));
  // One response per input class, 4 bits each from QNaN up: zero -> -inf (4),
  // +inf -> +inf (5), every other class -> r (0). The blend after it gives
  // negative and NaN inputs the positive quiet NaN, as log_f does.
  const __m512i responses = _mm512_set1_epi32(0x00500400);
  const __m512 fixed = _mm512_fixupimm_ps(r, x, responses, 0);
  const __mmask16 invalid = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NGE_UQ);
  return _mm512_mask_blend_ps(invalid, fixed, _mm512_set1_ps(kNaNF));
}

EMBER_AVX512 __m512 erf16(__m512 x) {
  // erf_f's two formulas at |x|, x's sign put back (so -0.0 stays -0.0).
  const __m512 sign = _mm512_set1_ps(-0.0f);
  const __m512 a = _mm512_andnot_ps(sign, x);
  const __m512 small = _mm512_fmadd_ps(a, erf_small_r16(_mm512_mul_ps(a, a)), a);
  const __m512 ac = _mm512_min_ps(_mm512_set1_ps(3.95f), a);  // NaN passes
  __m512 k;
  const __m512 e_r = exp_neg_sq16(ac, _mm512_set1_ps(1.0f), k);
  const __m512 e = _mm512_scalef_ps(e_r, k);
  const __m512 g = erfc_g16(_mm512_sub_ps(ac, _mm512_set1_ps(2.5f)));
  const __m512 big = _mm512_fnmadd_ps(e, g, _mm512_set1_ps(1.0f));
  const __mmask16 is_small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(1.0f), _CMP_LT_OQ);
  return _mm512_or_ps(_mm512_mask_blend_ps(is_small, big, small), _mm512_and_ps(x, sign));
}

// G(a) = erfc(a) e^{a^2} on [0.7, 3.95] in a - 2.25, fitted for G's own
// relative error (2.7 ulp with float Horner), where erfc_g16 serves erf and
// may be off by up to erf / erfc times more.
EMBER_AVX512 __m512 erfc_tail_g16(__m512 v) {
  __m512 g = _mm512_set1_ps(-4.606030402e-08f);
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(2.513860977e-07f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-6.196266895e-07f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(1.848499778e-06f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-7.920084499e-06f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(2.993209091e-05f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-1.031335414e-04f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(3.480640880e-04f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-1.143409056e-03f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(3.619173774e-03f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-1.100216154e-02f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(3.199260309e-02f));
  g = _mm512_fmadd_ps(g, v, _mm512_set1_ps(-8.848649263e-02f));
  return _mm512_fmadd_ps(g, v, _mm512_set1_ps(2.310872525e-01f));
}

// Note [Float GELU]
// gelu(x) = x Phi(x) with Phi(x) = (1 + erf(x / sqrt2)) / 2, from erf16's
// pieces at a = |x| / sqrt2. For x < 0 the sum 1 + erf cancels, so there
// Phi = erfc(a) / 2 comes without it: 1 - erf(a) below a = 0.7 (a loss of at
// most erf/erfc = 2.1x erf's error) and e^{-x^2/2} G(a) from 0.7 on, with
// e^{-x^2/2} taken from x itself (c = 1/2 in exp_neg_sq16, so a's rounding
// never enters the exponent) and G, which varies slowly, at the rounded a.
// Past a = 3.95 the negative side is 0, as torch's float kernel gives.
// Measured by tests/cpp/vector_math_test.cpp: 2.61 ulp for gelu, and
// gelu'(x) = Phi(x) + x phi(x) within 3 ulp of its terms. CPUs without
// AVX-512 evaluate both in double (0.5 ulp).
struct NormalParts16 {
  __m512 cdf;      // Phi(x)
  __m512 density;  // e^{-x^2/2}
};

EMBER_AVX512 NormalParts16 normal_parts16(__m512 x) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  const __m512 ax = _mm512_andnot_ps(sign, x);
  const __m512 a = _mm512_mul_ps(ax, _mm512_set1_ps(0.70710678118654752f));
  const __m512 erf_small = _mm512_fmadd_ps(a, erf_small_r16(_mm512_mul_ps(a, a)), a);
  // e^{-x^2/2}, 0 in float from |x| = 14.4 on: clamping at 20 keeps x^2 finite
  // (NaN passes through the min).
  __m512 k;
  const __m512 e_r =
      exp_neg_sq16(_mm512_min_ps(_mm512_set1_ps(20.0f), ax), _mm512_set1_ps(0.5f), k);
  const __m512 e = _mm512_scalef_ps(e_r, k);
  const __m512 ac = _mm512_min_ps(_mm512_set1_ps(3.95f), a);  // G's range (NaN passes)
  const __m512 erfc_big = _mm512_mul_ps(e, erfc_tail_g16(_mm512_sub_ps(ac, _mm512_set1_ps(2.25f))));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __mmask16 is_small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.7f), _CMP_LT_OQ);
  const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  // 2 Phi: 1 +- erf(a) below a = 0.7; 2 - erfc(a) or erfc(a) above.
  const __m512 small2 =
      _mm512_mask_blend_ps(negative, _mm512_add_ps(one, erf_small), _mm512_sub_ps(one, erf_small));
  const __m512 big2 =
      _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(2.0f), erfc_big), erfc_big);
  __m512 twice = _mm512_mask_blend_ps(is_small, big2, small2);
  const __mmask16 far_left =
      _mm512_kand(negative, _mm512_cmp_ps_mask(a, _mm512_set1_ps(3.95f), _CMP_GT_OQ));
  twice = _mm512_mask_mov_ps(twice, far_left, _mm512_setzero_ps());
  return {_mm512_mul_ps(twice, _mm512_set1_ps(0.5f)), e};
}

// Note [GELU at infinity]
// gelu(-inf) = -inf * Phi(-inf) is NaN in torch's kernels and here. gelu(+inf)
// is +inf in torch's default (AVX2) kernel and NaN in its AVX-512 one (its erf
// at +inf): Ember gives +inf on every CPU. The derivative is NaN at both
// infinities in all of torch's kernels, and here.
EMBER_AVX512 __m512 nan_at_infinity16(__m512 x, __m512 y) {
  const __m512 ax = _mm512_andnot_ps(_mm512_set1_ps(-0.0f), x);
  const __mmask16 inf = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(kInfF), _CMP_EQ_OQ);
  return _mm512_mask_mov_ps(y, inf, _mm512_set1_ps(kNaNF));
}

EMBER_AVX512 __m512 gelu16(__m512 x) {
  const __m512 y = nan_at_infinity16(x, _mm512_mul_ps(x, normal_parts16(x).cdf));
  const __mmask16 plus_inf = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kInfF), _CMP_EQ_OQ);
  return _mm512_mask_mov_ps(y, plus_inf, x);  // Note [GELU at infinity]
}

// grad * (Phi(x) + x phi(x)), phi = e^{-x^2/2} / sqrt(2 pi)
EMBER_AVX512 __m512 gelu_grad16(__m512 g, __m512 x) {
  const NormalParts16 p = normal_parts16(x);
  const __m512 x_pdf = _mm512_mul_ps(_mm512_mul_ps(x, p.density), _mm512_set1_ps(0.3989422804f));
  return _mm512_mul_ps(g, nan_at_infinity16(x, _mm512_add_ps(p.cdf, x_pdf)));
}

// The lanes of the 16 floats from i that lie before n: all of them but in a
// row's tail.
EMBER_AVX512 __mmask16 lanes_before(int64_t n, int64_t i) {
  return n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
}

template <__m512 (*F)(__m512)>
__attribute__((target("arch=x86-64-v4"))) void map16(const float* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_before(n, i);
    _mm512_mask_storeu_ps(out + i, m, F(_mm512_maskz_loadu_ps(m, in + i)));
  }
}

template <__m512 (*F)(__m512, __m512)>
__attribute__((target("arch=x86-64-v4"))) void zip16(const float* a, const float* b, float* out,
                                                     int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_before(n, i);
    _mm512_mask_storeu_ps(out + i, m,
                          F(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

// ---- AVX2 kernels (Note [AVX2 math]) ----
// Note [AVX2 math]
// On CPUs with AVX2 and FMA but no AVX-512 (AMD Zen 1 to 3, most Intel client
// CPUs), exp, sigmoid, tanh and log take 8-lane loops written as the AVX-512
// ones are (Note [AVX-512 exp]), at about twice the speed of the portable
// loops' avx2 clone. AVX2 lacks vscalefps, so exp applies 2^k as two exact
// power-of-two factors 2^(k/2) and 2^(k - k/2): the first product stays
// normal and exact for every clamped x, so the second rounds once, through the
// denormals as the true product would. The tail of an array takes the same
// formulas through masked loads and stores, so a value never depends on its
// position. Accuracy is the AVX-512 column of Note [Vectorized math accuracy]
// (exp 0.857, log 0.825, tanh 0.958 ulp, sigmoid torch's formula), measured by
// tests/cpp/vector_math_test.cpp on such a CPU.
#define EMBER_AVX2 __attribute__((target("avx2,fma"), always_inline)) inline

// y * 2^k for integer-valued k in [-150, 128].
EMBER_AVX2 __m256 scale_by_pow2_8(__m256 y, __m256 k) {
  const __m256i ki = _mm256_cvtps_epi32(k);
  const __m256i half = _mm256_srai_epi32(ki, 1);
  const __m256i rest = _mm256_sub_epi32(ki, half);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
  const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(rest, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, f1), f2);
}

// e^r for |r| <= ln2/2, exp16_poly's Horner on 8 lanes.
EMBER_AVX2 __m256 exp8_poly(__m256 r) {
  __m256 p = _mm256_set1_ps(1.374481479e-03f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.368961513e-03f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166965559e-02f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666651815e-01f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.999998808e-01f));
  const __m256 one = _mm256_set1_ps(1.0f);
  p = _mm256_fmadd_ps(p, r, one);
  return _mm256_fmadd_ps(p, r, one);
}

// x = k ln2 + r, k rounded to nearest.
EMBER_AVX2 __m256 reduce_ln2_8(__m256 x, __m256& k) {
  k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kInvLn2F)),
                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 r_hi = _mm256_fnmadd_ps(k, _mm256_set1_ps(kLn2HiF), x);  // exact
  return _mm256_fnmadd_ps(k, _mm256_set1_ps(kLn2LoF), r_hi);
}

// exp16's clamps: max(lo, x) and min(hi, x) return x when it is NaN.
EMBER_AVX2 __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
  __m256 k;
  const __m256 r = reduce_ln2_8(x, k);
  return scale_by_pow2_8(exp8_poly(r), k);
}

EMBER_AVX2 __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

EMBER_AVX2 __m256 tanh8(__m256 x) {
  // tanh16's formulas at |x| with x's sign put back (so -0.0 stays -0.0).
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 a = _mm256_andnot_ps(sign, x);
  const __m256 z = _mm256_mul_ps(a, a);
  __m256 p = _mm256_set1_ps(-2.955753189e-05f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.514882071e-04f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-1.078646630e-03f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(3.311527893e-03f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-8.727408946e-03f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.182842046e-02f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.396105349e-02f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.333326995e-01f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.333333135e-01f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(a, z), p, a);
  // 2|x| capped at 20 (tanh is 1 in float from 9.1), so 2^k needs one factor
  // and e never overflows; NaN passes the cap.
  const __m256 t = _mm256_min_ps(_mm256_set1_ps(20.0f), _mm256_add_ps(a, a));
  __m256 k;
  const __m256 r = reduce_ln2_8(t, k);
  const __m256 pow2k = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = _mm256_mul_ps(exp8_poly(r), pow2k);
  const __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  const __m256 is_small = _mm256_cmp_ps(a, _mm256_set1_ps(0.95f), _CMP_LT_OQ);
  const __m256 y = _mm256_blendv_ps(big, small, is_small);  // NaN: big is NaN too
  return _mm256_or_ps(y, _mm256_and_ps(x, sign));
}

// log16 on 8 lanes: the same split, tail and compensated sum, with blends for
// the denormals, zero, inf, and negative or NaN inputs.
EMBER_AVX2 __m256 log8(__m256 x) {
  const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
  const __m256 scaled = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), tiny);
  const __m256i ix =
      _mm256_add_epi32(_mm256_castps_si256(scaled), _mm256_set1_epi32(0x3f800000 - 0x3f3504f3));
  __m256 e =
      _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(ix, 23), _mm256_set1_epi32(127)));
  e = _mm256_sub_ps(e, _mm256_and_ps(tiny, _mm256_set1_ps(23.0f)));
  const __m256 m = _mm256_castsi256_ps(_mm256_add_epi32(
      _mm256_and_si256(ix, _mm256_set1_epi32(0x7fffff)), _mm256_set1_epi32(0x3f3504f3)));
  const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  __m256 p = _mm256_set1_ps(-7.353802770e-02f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.261518747e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.320345849e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.422809958e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.662131548e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.999976635e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.500085235e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.333335519e-01f));
  const __m256 tail =
      _mm256_mul_ps(_mm256_mul_ps(f, f), _mm256_fmsub_ps(f, p, _mm256_set1_ps(0.5f)));
  const __m256 a = _mm256_mul_ps(e, _mm256_set1_ps(kLn2HiF));
  const __m256 hi = _mm256_add_ps(a, f);
  const __m256 hi_err = _mm256_sub_ps(f, _mm256_sub_ps(hi, a));
  const __m256 low = _mm256_add_ps(_mm256_mul_ps(e, _mm256_set1_ps(kLn2LoF)), tail);
  __m256 r = _mm256_add_ps(hi, _mm256_add_ps(low, hi_err));
  const __m256 zero = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ);
  const __m256 inf = _mm256_cmp_ps(x, _mm256_set1_ps(kInfF), _CMP_EQ_OQ);
  const __m256 invalid = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NGE_UQ);
  r = _mm256_blendv_ps(r, _mm256_set1_ps(-kInfF), zero);
  r = _mm256_blendv_ps(r, x, inf);
  return _mm256_blendv_ps(r, _mm256_set1_ps(kNaNF), invalid);
}

// The lanes of the 8 floats from an array's last partial vector that lie
// before its end.
EMBER_AVX2 __m256i lanes_left8(int64_t left) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <__m256 (*F)(__m256)>
__attribute__((target("avx2,fma"))) void map8(const float* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, F(_mm256_loadu_ps(in + i)));
  if (i < n) {
    const __m256i m = lanes_left8(n - i);
    _mm256_maskstore_ps(out + i, m, F(_mm256_maskload_ps(in + i, m)));
  }
}

// clang-format off
#define EMBER_UNARY_KERNEL(NAME, F)                            \
  EMBER_MULTIVERSION                                           \
  void NAME(const float* in, float* out, int64_t n) {          \
    for (int64_t i = 0; i < n; ++i) out[i] = F(in[i]);         \
  }
#define EMBER_UNARY_KERNEL_AVX512(NAME, F, F16)                \
  EMBER_MULTIVERSION                                           \
  void NAME(const float* in, float* out, int64_t n) {          \
    if (cpu_has_avx512()) return map16<F16>(in, out, n);           \
    for (int64_t i = 0; i < n; ++i) out[i] = F(in[i]);         \
  }
#define EMBER_UNARY_KERNEL_SIMD(NAME, F, F16, F8)              \
  EMBER_MULTIVERSION                                           \
  void NAME(const float* in, float* out, int64_t n) {          \
    if (cpu_has_avx512()) return map16<F16>(in, out, n);       \
    if (cpu_has_avx2()) return map8<F8>(in, out, n);           \
    for (int64_t i = 0; i < n; ++i) out[i] = F(in[i]);         \
  }
EMBER_UNARY_KERNEL_SIMD(exp_contiguous, exp_f, exp16, exp8)
EMBER_UNARY_KERNEL_SIMD(sigmoid_contiguous, sigmoid_f, sigmoid16, sigmoid8)
EMBER_UNARY_KERNEL_SIMD(tanh_contiguous, tanh_f, tanh16, tanh8)
EMBER_UNARY_KERNEL(expm1_contiguous, expm1_f)
EMBER_UNARY_KERNEL_SIMD(log_contiguous, log_f, log16, log8)
EMBER_UNARY_KERNEL(log1p_contiguous, log1p_f)
EMBER_UNARY_KERNEL_AVX512(erf_contiguous, erf_f, erf16)
#undef EMBER_UNARY_KERNEL
#undef EMBER_UNARY_KERNEL_AVX512
#undef EMBER_UNARY_KERNEL_SIMD
// clang-format on

namespace {

// The vector loop flags inputs it cannot reduce; they are rare, so a scalar
// pass redoes just those with libm only when the flag is set.
template <typename Libm>
void trig_fixup(const float* in, float* out, int64_t n, bool any_big, Libm libm) {
  if (!any_big) return;
  for (int64_t i = 0; i < n; ++i) {
    if (!(std::fabs(in[i]) < kTrigMax)) out[i] = static_cast<float>(libm(in[i]));
  }
}

}  // namespace

EMBER_MULTIVERSION
void sin_contiguous(const float* in, float* out, int64_t n) {
  int any_big = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = in[i] == 0.0f ? in[i] : sin_quadrant_f(in[i], 0);
    any_big |= !(std::fabs(in[i]) < static_cast<float>(kTrigMax));
  }
  trig_fixup(in, out, n, any_big, [](double x) { return std::sin(x); });
}

EMBER_MULTIVERSION
void cos_contiguous(const float* in, float* out, int64_t n) {
  int any_big = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = sin_quadrant_f(in[i], 1);
    any_big |= !(std::fabs(in[i]) < static_cast<float>(kTrigMax));
  }
  trig_fixup(in, out, n, any_big, [](double x) { return std::cos(x); });
}

EMBER_MULTIVERSION
void gelu_contiguous(const float* in, float* out, int64_t n, bool tanh_approx) {
  if (!tanh_approx && cpu_has_avx512()) return map16<gelu16>(in, out, n);
  if (tanh_approx) {
    for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh_f(in[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = gelu_f(in[i]);
  }
}

// Both on sigmoid_contiguous, a block at a time (out may alias in).
void silu_contiguous(const float* in, float* out, int64_t n) {
  constexpr int64_t kBlock = 512;
  float s[kBlock];
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = std::min(kBlock, n - i);
    sigmoid_contiguous(in + i, s, m);
    for (int64_t j = 0; j < m; ++j) out[i + j] = in[i + j] * s[j];
  }
}

// silu'(x) = s (1 + x (1 - s)), s = sigmoid(x).
void silu_backward_contiguous(const float* grad, const float* in, float* out, int64_t n) {
  constexpr int64_t kBlock = 512;
  float s[kBlock];
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = std::min(kBlock, n - i);
    sigmoid_contiguous(in + i, s, m);
    for (int64_t j = 0; j < m; ++j) {
      const float x = in[i + j];
      out[i + j] = grad[i + j] * (s[j] * (1.0f + x * (1.0f - s[j])));
    }
  }
}

EMBER_MULTIVERSION
void gelu_backward_contiguous(const float* grad, const float* in, float* out, int64_t n,
                              bool tanh_approx) {
  if (!tanh_approx && cpu_has_avx512()) return zip16<gelu_grad16>(grad, in, out, n);
  if (tanh_approx) {
    for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh_grad_f(grad[i], in[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = gelu_grad_f(grad[i], in[i]);
  }
}

// clang-format off
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
  // What the quarters leave (all of a row shorter than 64) is added in double,
  // as before, but in 8 independent lanes: one chain of double adds would
  // cost 4 cycles per element.
  int64_t i = kStreams * quarter;
  double rest[8] = {};
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) rest[j] += in[i + j];
  }
  for (int j = 0; j < 8; ++j) total += rest[j];
  for (; i < n; ++i) total += in[i];
  return total;
}

EMBER_MULTIVERSION
void axpy_contiguous(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
// clang-format on

}  // namespace ember

// ---- Softmax rows (kernels/softmax.cpp, Note [Softmax and denormals]) ----

namespace ember {

namespace {

// exp(in[i] - shift) into out and its sum, 16 lanes at a time. Arguments
// below -87 are raised to -87 for the vector exp (no denormal work) and their
// lanes set to 0; the band where the true result is a denormal float is
// redone by libm afterwards, only when the row has one.
__attribute__((target("arch=x86-64-v4"))) float exp_shifted_row16(const float* in, float shift,
                                                                  float* out, int64_t n) {
  const __m512 s = _mm512_set1_ps(shift);
  const __m512 floor = _mm512_set1_ps(-87.0f);
  const __m512 zero_below = _mm512_set1_ps(-104.0f);
  __m512 total = _mm512_setzero_ps();
  __mmask16 band = 0;
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_before(n, i);
    const __m512 a = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, in + i), s);
    const __mmask16 low = _mm512_mask_cmp_ps_mask(m, a, floor, _CMP_LT_OQ);
    band |= _mm512_mask_cmp_ps_mask(low, a, zero_below, _CMP_GE_OQ);
    const __m512 e = _mm512_maskz_mov_ps(static_cast<__mmask16>(m & ~low),
                                         exp16(_mm512_max_ps(floor, a)));  // NaN stays NaN
    total = _mm512_add_ps(total, e);
    _mm512_mask_storeu_ps(out + i, m, e);
  }
  float sum = _mm512_reduce_add_ps(total);
  if (band != 0) {
    for (int64_t i = 0; i < n; ++i) {
      const float a = in[i] - shift;
      if (a < -87.0f && a >= -104.0f) {
        out[i] = std::exp(a);
        sum += out[i];
      }
    }
  }
  return sum;
}

__attribute__((target("arch=x86-64-v4"))) float row_max16(const float* x, int64_t n) {
  const __m512 lowest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 acc = lowest;
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_before(n, i);
    acc = _mm512_max_ps(acc, _mm512_mask_loadu_ps(lowest, m, x + i));
  }
  // Folded by hand: GCC 12's _mm512_reduce_max_ps reads an uninitialized
  // register (-Wuninitialized). A NaN input poisons the row through exp.
  // Each step folds one half of the lanes onto the other, in zmm registers.
  acc = _mm512_max_ps(acc, _mm512_shuffle_f32x4(acc, acc, 0x4E));  // 256-bit halves
  acc = _mm512_max_ps(acc, _mm512_shuffle_f32x4(acc, acc, 0xB1));  // 128-bit quarters
  acc = _mm512_max_ps(acc, _mm512_permute_ps(acc, 0x4E));          // pairs
  acc = _mm512_max_ps(acc, _mm512_permute_ps(acc, 0xB1));          // neighbours
  return _mm512_cvtss_f32(acc);
}

__attribute__((target("arch=x86-64-v4"))) void softmax_row16(const float* x, float* y, int64_t n,
                                                             bool log) {
  const float mx = row_max16(x, n);
  const float sum = exp_shifted_row16(x, mx, y, n);
  if (log) {  // y = (x - max) - log(sum), as the portable row computes it
    const __m512 s = _mm512_set1_ps(mx), l = _mm512_set1_ps(std::log(sum));
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = lanes_before(n, i);
      const __m512 a = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s);
      _mm512_mask_storeu_ps(y + i, m, _mm512_sub_ps(a, l));
    }
  } else {
    const __m512 scale = _mm512_set1_ps(1.0f / sum);
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = lanes_before(n, i);
      _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), scale));
    }
  }
}

}  // namespace

bool softmax_rows_avx512(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  if (!cpu_has_avx512()) return false;
  for (int64_t r = 0; r < rows; ++r) softmax_row16(x + r * n, y + r * n, n, log);
  return true;
}

bool exp_shifted_row(const float* in, float shift, float* out, int64_t n, float* sum) {
  if (!cpu_has_avx512()) return false;
  *sum = exp_shifted_row16(in, shift, out, n);
  return true;
}

}  // namespace ember
