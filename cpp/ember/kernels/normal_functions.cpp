// The scaled complementary error function and the standard normal's
// log-CDF and quantile (Note [Normal-tail algorithms]).

#include <cmath>
#include <limits>

#include "ember/kernels/special_functions.h"

namespace ember {

namespace {

constexpr double kInvSqrtPi = 0.56418958354775628695;  // 1 / sqrt(pi)
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kSqrt2Pi = 2.50662827463100050242;  // sqrt(2 pi)
constexpr double kLn2 = 0.69314718055994530942;

// exp(x^2) with x^2 split into its rounded value and the rounding error, so
// the result is as accurate as exp itself even where x^2 is large.
double exp_of_square(double x) {
  const double square = x * x;
  const double error = std::fma(x, x, -square);
  return std::exp(square) * (1.0 + error);
}

// erfcx(x) = 1 / (sqrt(pi) K(x)) for x > 0, with K the continued fraction
// x + (1/2) / (x + 1 / (x + (3/2) / (x + ...))), evaluated from a fixed depth
// upwards. Past x = 12 the depth is far more than double precision needs.
double erfcx_continued_fraction(double x) {
  double tail = x;
  for (int k = 60; k >= 1; --k) tail = x + 0.5 * k / tail;
  return kInvSqrtPi / tail;
}

double erfcx_nonnegative(double x) {
  if (x < 12.0) return exp_of_square(x) * std::erfc(x);
  if (std::isinf(x)) return 0.0;
  return erfcx_continued_fraction(x);
}

// The Halley step for ndtr(x) = p at x <= 0, written through erfcx so that
// neither ndtr(x) nor the density underflows in the far tail:
// (ndtr(x) - p) / phi(x) = sqrt(2 pi) (erfcx(t) / 2 - p e^{t^2}), t = -x / sqrt(2).
double ndtri_halley_step(double x, double log_p) {
  const double t = -x / kSqrt2;
  const double ratio = kSqrt2Pi * (0.5 * erfcx_nonnegative(t) - std::exp(t * t + log_p));
  return ratio / (1.0 + 0.5 * x * ratio);  // phi'' / phi' = -x
}

// ndtri for 0 < p <= 1/2. The first guess inverts Winitzki's closed-form
// approximation of erf, whose log(1 - y^2) term (y = 2p - 1) is log(4 p (1 - p))
// and so exact for tiny p.
double ndtri_lower_half(double p) {
  const double a = 0.147, pi = 3.14159265358979323846;
  const double log_term = std::log(4.0 * p) + std::log1p(-p);  // log(1 - y^2)
  const double t = 2.0 / (pi * a) + log_term / 2.0;
  double x = -kSqrt2 * std::sqrt(std::sqrt(t * t - log_term / a) - t);
  const double log_p = std::log(p);
  for (int step = 0; step < 8; ++step) {
    const double delta = ndtri_halley_step(x, log_p);
    x -= delta;
    if (std::abs(delta) <= 1e-17 * std::abs(x)) break;
  }
  return x;
}

}  // namespace

// Note [Normal-tail algorithms]
// erfcx(x) = e^{x^2} erfc(x): below 12, libm's erfc times an exp(x^2) that
// keeps x^2's rounding error; above, the Laplace continued fraction of erfc;
// for x < 0 the reflection erfcx(x) = 2 e^{x^2} - erfcx(-x).
// log_ndtr(x): log1p(-erfc(x / sqrt 2) / 2) for x >= 0, and for x < 0
// -x^2 / 2 + log(erfcx(-x / sqrt 2) / 2), which never underflows.
// ndtri(p): solved for p <= 1/2 by Halley steps from a closed-form guess,
// with ndtri(p) = -ndtri(1 - p) above (1 - p is exact there). Float inputs
// are computed in double and rounded.

double erfcx_value(double x) {
  if (std::isnan(x)) return x;
  if (x >= 0.0) return erfcx_nonnegative(x);
  if (x < -26.7) return std::numeric_limits<double>::infinity();
  return 2.0 * exp_of_square(x) - erfcx_nonnegative(-x);
}

double log_ndtr_value(double x) {
  if (std::isnan(x)) return x;
  if (x >= 0.0) return std::log1p(-0.5 * std::erfc(x / kSqrt2));
  if (std::isinf(x)) return x;
  const double t = -x / kSqrt2;
  return -0.5 * x * x + std::log(erfcx_nonnegative(t)) - kLn2;
}

double ndtri_value(double p) {
  if (!(p >= 0.0 && p <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  if (p == 0.5) return 0.0;
  return p < 0.5 ? ndtri_lower_half(p) : -ndtri_lower_half(1.0 - p);
}

}  // namespace ember
