#include "ember/kernels/special_functions.h"

#include <cmath>
#include <limits>

namespace ember {

namespace {

template <typename T>
constexpr T kPi = static_cast<T>(3.14159265358979323846);

// Coefficients of the asymptotic series of digamma in 1/x^2: B_2k / (2k), highest first.
template <typename T>
T digamma_series(T z) {
  const T coefficients[] = {
      static_cast<T>(8.33333333333333333333E-2), static_cast<T>(-2.10927960927960927961E-2),
      static_cast<T>(7.57575757575757575758E-3), static_cast<T>(-4.16666666666666666667E-3),
      static_cast<T>(3.96825396825396825397E-3), static_cast<T>(-8.33333333333333333333E-3),
      static_cast<T>(8.33333333333333333333E-2)};
  T sum = 0;
  for (T c : coefficients) sum = sum * z + c;
  return sum;
}

template <typename T>
T digamma_of(T x) {
  const T psi_10 = static_cast<T>(2.25175258906672110764);  // digamma(10)
  if (x == 0) return std::copysign(std::numeric_limits<T>::infinity(), -x);
  if (x < 0) {
    if (x == std::trunc(x)) return std::numeric_limits<T>::quiet_NaN();
    // Reflection; pi / tan(pi x) through x's fractional part, where tan is
    // accurate, and in double for float x too (as torch computes it).
    double whole;
    const double fraction = std::modf(static_cast<double>(x), &whole);
    const auto pi_over_tan = static_cast<T>(kPi<double> / std::tan(kPi<double> * fraction));
    return digamma_of(static_cast<T>(1) - x) - pi_over_tan;
  }
  T result = 0;
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  if (x == 10) return result + psi_10;
  T tail = 0;
  if (x < static_cast<T>(1.0e17)) {
    const T z = 1 / (x * x);
    tail = z * digamma_series(z);
  }
  return result + std::log(x) - (static_cast<T>(0.5) / x) - tail;
}

template <typename T>
T trigamma_of(T x) {
  T sign = 1;
  T result = 0;
  if (x < static_cast<T>(0.5)) {
    sign = -1;
    const T sin_pi_x = std::sin(kPi<T> * x);
    result -= (kPi<T> * kPi<T>) / (sin_pi_x * sin_pi_x);
    x = 1 - x;
  }
  for (int i = 0; i < 6; ++i) {
    result += 1 / (x * x);
    x += 1;
  }
  const T ixx = 1 / (x * x);
  const T sixth = static_cast<T>(1.0 / 6), thirtieth = static_cast<T>(1.0 / 30);
  const T forty_second = static_cast<T>(1.0 / 42);
  result += (1 + 1 / (2 * x) + ixx * (sixth - ixx * (thirtieth - ixx * forty_second))) / x;
  return sign * result;
}

template <typename T>
T polygamma_of(int64_t n, T x) {
  if (n == 0) return digamma_of(x);
  if (n == 1) return trigamma_of(x);
  // (-1)^(n+1) n! zeta(n+1, x)
  const double factorial = std::exp(std::lgamma(static_cast<double>(n) + 1.0));
  const double sign = n % 2 == 0 ? -1.0 : 1.0;
  const double value = hurwitz_zeta(static_cast<double>(n) + 1.0, static_cast<double>(x));
  return static_cast<T>(sign * factorial * value);
}

}  // namespace

float lgamma_value(float x) {
  int sign = 0;
  return ::lgammaf_r(x, &sign);  // unlike std::lgamma, no write to the global signgam
}

double lgamma_value(double x) {
  int sign = 0;
  return ::lgamma_r(x, &sign);
}

float digamma_value(float x) { return digamma_of(x); }
double digamma_value(double x) { return digamma_of(x); }
float polygamma_value(int64_t n, float x) { return polygamma_of(n, x); }
double polygamma_value(int64_t n, double x) { return polygamma_of(n, x); }

double hurwitz_zeta(double s, double q) {
  constexpr double kEpsilon = 1.11022302462515654042E-16;
  // (2k)! / B_2k for k = 1..12: the Euler-Maclaurin correction terms' denominators.
  constexpr double kDenominators[] = {12.0,
                                      -720.0,
                                      30240.0,
                                      -1209600.0,
                                      47900160.0,
                                      -1.8924375803183791606e9,
                                      7.47242496e10,
                                      -2.950130727918164224e12,
                                      1.1646782814350067249e14,
                                      -4.5979787224074726105e15,
                                      1.8152105401943546773e17,
                                      -7.1661652561756670113e18};
  if (s == 1) return std::numeric_limits<double>::infinity();
  if (s < 1) return std::numeric_limits<double>::quiet_NaN();
  if (q <= 0) {
    if (q == std::floor(q)) return std::numeric_limits<double>::infinity();
    if (s != std::floor(s)) return std::numeric_limits<double>::quiet_NaN();
  }
  // Direct sum of the first terms, until they no longer matter or q + i passes 9.
  double sum = std::pow(q, -s);
  double a = q;
  double term = 0;
  int i = 0;
  while (i < 9 || a <= 9) {
    ++i;
    a += 1;
    term = std::pow(a, -s);
    sum += term;
    if (-kEpsilon * sum < term && term < kEpsilon * sum) return sum;
  }
  // The tail as an integral plus Euler-Maclaurin corrections.
  const double w = a;
  sum += term * w / (s - 1);
  sum -= 0.5 * term;
  double rising = 1;
  double k = 0;
  for (double denominator : kDenominators) {
    rising *= s + k;
    term /= w;
    const double correction = rising * term / denominator;
    sum += correction;
    if (std::fabs(correction / sum) < kEpsilon) return sum;
    k += 1;
    rising *= s + k;
    term /= w;
    k += 1;  // each step adds two factors of the rising product s (s+1) ... (s+2j-2)
  }
  return sum;
}

}  // namespace ember
