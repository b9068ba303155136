// The special functions at points with known closed forms.

#include "ember/kernels/special_functions.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ember {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kEulerGamma = 0.57721566490153286061;
constexpr double kApery = 1.20205690315959428540;  // zeta(3)

TEST(SpecialFunctions, KnownValues) {
  EXPECT_NEAR(lgamma_value(0.5), 0.5 * std::log(kPi), 1e-15);
  EXPECT_EQ(lgamma_value(1.0), 0.0);
  EXPECT_NEAR(digamma_value(1.0), -kEulerGamma, 1e-15);
  EXPECT_NEAR(digamma_value(0.5), -kEulerGamma - 2 * std::log(2.0), 1e-14);
  // trigamma is torch's algorithm: its six-step series is good to about 1e-9.
  EXPECT_NEAR(polygamma_value(1, 1.0), kPi * kPi / 6, 1e-9);
  EXPECT_NEAR(polygamma_value(2, 1.0), -2 * kApery, 1e-14);
  EXPECT_NEAR(polygamma_value(3, 1.0), std::pow(kPi, 4) / 15, 1e-13);
  EXPECT_NEAR(hurwitz_zeta(2.0, 1.0), kPi * kPi / 6, 1e-15);
  EXPECT_NEAR(hurwitz_zeta(4.0, 2.5), hurwitz_zeta(4.0, 1.5) - std::pow(1.5, -4.0), 1e-15);
  EXPECT_NEAR(digamma_value(1.0f), static_cast<float>(-kEulerGamma), 3e-7f);
}

TEST(SpecialFunctions, RecurrencesHoldFarFromTheClosedForms) {
  for (double x : {0.3, 2.7, 9.9, 10.5, 57.25}) {
    EXPECT_NEAR(digamma_value(x + 1) - digamma_value(x), 1 / x, 1e-13) << x;
    EXPECT_NEAR(polygamma_value(1, x) - polygamma_value(1, x + 1), 1 / (x * x), 2e-9) << x;
    EXPECT_NEAR(lgamma_value(x + 1) - lgamma_value(x), std::log(x), 1e-13) << x;
  }
  // Reflection: digamma(1 - x) - digamma(x) = pi / tan(pi x)
  for (double x : {-2.5, -0.3, 0.2}) {
    EXPECT_NEAR(digamma_value(1 - x) - digamma_value(x), kPi / std::tan(kPi * x), 1e-12) << x;
  }
}

TEST(SpecialFunctions, PolesAndDomainEdges) {
  EXPECT_EQ(digamma_value(0.0), -INFINITY);
  EXPECT_EQ(digamma_value(-0.0), INFINITY);
  EXPECT_TRUE(std::isnan(digamma_value(-3.0)));
  EXPECT_EQ(lgamma_value(-2.0), INFINITY);
  EXPECT_EQ(hurwitz_zeta(1.0, 2.0), INFINITY);
  EXPECT_TRUE(std::isnan(hurwitz_zeta(0.5, 2.0)));
}

TEST(NormalTailFunctions, KnownValuesAndIdentities) {
  EXPECT_EQ(ndtri_value(0.5), 0.0);
  // the 97.5% quantile of the standard normal
  EXPECT_NEAR(ndtri_value(0.975), 1.959963984540054, 1e-15);
  EXPECT_EQ(erfcx_value(0.0), 1.0);
  EXPECT_NEAR(log_ndtr_value(0.0), -std::log(2.0), 1e-16);
  for (int i = 0; i < 100; ++i) {
    // ndtri inverts ndtr, with ndtr through erfc so it keeps relative precision
    const double x = -37.0 + 0.37 * i;  // up to -0.37
    const double p = 0.5 * std::erfc(-x / std::sqrt(2.0));
    EXPECT_NEAR(ndtri_value(p), x, 1e-13 * std::abs(x)) << x;
    EXPECT_NEAR(log_ndtr_value(x), std::log(p), 1e-13 * std::abs(std::log(p))) << x;
  }
  for (double x = -5.0; x <= 5.0; x += 0.25) {
    // erfcx(x) + erfcx(-x) = 2 e^{x^2}
    EXPECT_NEAR(erfcx_value(x) + erfcx_value(-x), 2 * std::exp(x * x), 1e-14 * std::exp(x * x));
  }
  // past the continued fraction's switch: erfcx(x) ~ 1 / (sqrt(pi) x) (1 - 1 / (2 x^2))
  const double x = 1e4;
  EXPECT_NEAR(erfcx_value(x), (1 - 0.5 / (x * x)) / (std::sqrt(kPi) * x), 1e-20);
}

TEST(NormalTailFunctions, Edges) {
  EXPECT_EQ(ndtri_value(0.0), -INFINITY);
  EXPECT_EQ(ndtri_value(1.0), INFINITY);
  EXPECT_TRUE(std::isnan(ndtri_value(1.5)));
  EXPECT_TRUE(std::isnan(ndtri_value(NAN)));
  EXPECT_EQ(log_ndtr_value(-INFINITY), -INFINITY);
  EXPECT_EQ(log_ndtr_value(INFINITY), 0.0);
  EXPECT_EQ(erfcx_value(INFINITY), 0.0);
  EXPECT_EQ(erfcx_value(-INFINITY), INFINITY);
  EXPECT_TRUE(std::isfinite(ndtri_value(1e-300)));
}

TEST(ModifiedBessel, SeriesAndAsymptoticAgreeAtTheSwitch) {
  // the two algorithms meet at |x| = 20: values on either side stay smooth
  for (double (*f)(double) : {bessel_i0e_value, bessel_i1e_value}) {
    const double below = f(std::nextafter(20.0, 0.0)), at = f(20.0);
    EXPECT_NEAR(below, at, 1e-15 * at);
  }
  EXPECT_EQ(bessel_i0_value(0.0), 1.0);
  EXPECT_EQ(bessel_i1_value(0.0), 0.0);
  EXPECT_NEAR(bessel_i0_value(1.0), 1.2660658777520082, 1e-15);
  EXPECT_NEAR(bessel_i1_value(1.0), 0.5651591039924851, 1e-15);
  // I0' = I1, by central differences
  for (double x : {0.5, 3.0, 25.0}) {
    const double h = 1e-5;
    const double slope = (bessel_i0_value(x + h) - bessel_i0_value(x - h)) / (2 * h);
    EXPECT_NEAR(slope, bessel_i1_value(x), 1e-8 * bessel_i1_value(x)) << x;
  }
  EXPECT_EQ(bessel_i0_value(-INFINITY), INFINITY);
  EXPECT_EQ(bessel_i1_value(-INFINITY), -INFINITY);
  EXPECT_EQ(bessel_i0e_value(INFINITY), 0.0);
  EXPECT_TRUE(std::isfinite(bessel_i0_value(713.0)));
  EXPECT_EQ(spherical_bessel_j0_value(0.0), 1.0);
  EXPECT_EQ(spherical_bessel_j0_value(INFINITY), 0.0);
}

}  // namespace
}  // namespace ember
