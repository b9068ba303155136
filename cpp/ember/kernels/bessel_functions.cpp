// Modified Bessel functions of the first kind of orders 0 and 1, plain and
// exponentially scaled, and the spherical Bessel function j0
// (Note [Modified Bessel algorithms]).

#include <cmath>
#include <limits>

#include "ember/kernels/special_functions.h"

namespace ember {

namespace {

// Note [Modified Bessel algorithms]
// Below |x| = 20, I_nu(x) = (x/2)^nu sum_k (x^2/4)^k / (k! (k + nu)!), a sum of
// positive terms, accurate to a few ulps. Above, the asymptotic expansion
// I_nu(x) ~ e^x / sqrt(2 pi x) sum_k a_k with a_k = a_{k-1} (-(mu - (2k-1)^2)) / (8 k x),
// mu = 4 nu^2, summed until its terms stop shrinking: the smallest term is
// about e^{-2x}, below 1e-17 of the sum once x >= 20. The scaled forms
// e^{-|x|} I_nu(x) use the asymptotic sum without its exponential, so they
// never overflow; I0 is even and I1 odd. Float inputs compute in double.
constexpr double kSeriesLimit = 20.0;
constexpr double kSqrtTwoPi = 2.50662827463100050242;

// sum_k (x^2/4)^k / (k! (k + nu)!) for nu in {0, 1}.
double bessel_i_series_sum(int nu, double x) {
  const double quarter_square = 0.25 * x * x;
  double term = 1.0;  // k = 0: 1 / (0! nu!), and nu! = 1 for nu <= 1
  double sum = term;
  for (int k = 1; k < 200; ++k) {
    term *= quarter_square / (static_cast<double>(k) * (k + nu));
    sum += term;
    if (term <= 1e-17 * sum) break;
  }
  return sum;
}

// sum_k a_k of the asymptotic expansion at x >= kSeriesLimit.
double bessel_i_asymptotic_sum(int nu, double x) {
  const double mu = 4.0 * nu * nu;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 100; ++k) {
    const double odd = 2.0 * k - 1.0;
    const double next = term * -(mu - odd * odd) / (8.0 * k * x);
    if (std::abs(next) >= std::abs(term)) break;  // the series starts to diverge
    term = next;
    sum += term;
    if (std::abs(term) <= 1e-17 * std::abs(sum)) break;
  }
  return sum;
}

// I1(x) = x/2 + x^3/16 + ... for a denormal x, where x/2 can fall exactly
// halfway between two denormals: the x^3 term, too small to add, still decides
// that the true value rounds up.
double bessel_i1_of_denormal(double ax) {
  const double half = 0.5 * ax;
  if (half + half == ax) return half;
  return 0.5 * (ax + std::numeric_limits<double>::denorm_min());  // the even neighbour above
}

// I_nu(|x|), scaled by e^{-|x|} when `scaled`.
double bessel_i_magnitude(int nu, double ax, bool scaled) {
  if (nu == 1 && ax < std::numeric_limits<double>::min()) return bessel_i1_of_denormal(ax);
  if (ax < kSeriesLimit) {
    const double value = (nu == 0 ? 1.0 : 0.5 * ax) * bessel_i_series_sum(nu, ax);
    return scaled ? value * std::exp(-ax) : value;
  }
  if (std::isinf(ax)) return scaled ? 0.0 : ax;
  // sqrt(2 pi) sqrt(x): 2 pi x itself overflows for the largest doubles
  const double scaled_value = bessel_i_asymptotic_sum(nu, ax) / (kSqrtTwoPi * std::sqrt(ax));
  if (scaled) return scaled_value;
  const double half = std::exp(0.5 * ax);  // e^x in two halves: overflows only with the result
  return half * scaled_value * half;
}

double bessel_i(int nu, double x, bool scaled) {
  if (std::isnan(x)) return x;
  const double magnitude = bessel_i_magnitude(nu, std::abs(x), scaled);
  return nu == 1 && x < 0 ? -magnitude : magnitude;
}

}  // namespace

double bessel_i0_value(double x) { return bessel_i(0, x, false); }
double bessel_i0e_value(double x) { return bessel_i(0, x, true); }
double bessel_i1_value(double x) { return bessel_i(1, x, false); }
double bessel_i1e_value(double x) { return bessel_i(1, x, true); }

double spherical_bessel_j0_value(double x) {
  if (std::isinf(x)) return 0.0;
  if (std::abs(x) < 1e-4) return 1.0 - x * x / 6.0;  // sin(x) / x, 0/0-free at the origin
  return std::sin(x) / x;
}

}  // namespace ember
