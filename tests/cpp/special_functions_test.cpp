// The special functions at points with known closed forms.

#include "ember/kernels/special_functions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>

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

TEST(BesselJYK, KnownValues) {
  EXPECT_NEAR(bessel_j0_value(1.0), 0.7651976865579665, 1e-16);
  EXPECT_NEAR(bessel_j1_value(1.0), 0.44005058574493355, 1e-16);
  EXPECT_NEAR(bessel_y0_value(1.0), 0.08825696421567697, 1e-16);
  EXPECT_NEAR(bessel_y1_value(1.0), -0.7812128213002888, 1e-15);
  EXPECT_NEAR(bessel_k0_value(1.0), 0.42102443824070823, 1e-16);
  EXPECT_NEAR(bessel_k1_value(1.0), 0.6019072301972346, 1e-15);
  EXPECT_NEAR(airy_ai_value(1.0), 0.13529241631288147, 1e-16);
  // the asymptotic forms
  EXPECT_NEAR(bessel_j0_value(50.0), 0.055812327669252086, 1e-16);
  EXPECT_NEAR(bessel_y1_value(50.0), -0.05679566856201487, 1e-16);
  EXPECT_NEAR(bessel_k0e_value(10.0), 0.39163193443659866, 1e-16);
  EXPECT_NEAR(airy_ai_value(-10.0), 0.040241238486441955, 1e-16);
  // float computes in float, a few float ulps from the double value
  EXPECT_NEAR(bessel_j0_value(1.0f), 0.7651976865579665f, 2e-7f);
  EXPECT_NEAR(bessel_k1e_value(3.0f), static_cast<float>(bessel_k1e_value(3.0)), 2e-7f);
}

TEST(BesselJYK, WronskiansHoldAcrossTheAlgorithms) {
  // J1 Y0 - J0 Y1 = 2 / (pi x) and I0 K1 + I1 K0 = 1 / x. The approximations
  // torch uses for J and Y are good to only ~1e-7 between 3 and 7 (Ember keeps
  // torch's values there), so J and Y are checked away from that band.
  for (double x : {0.3, 1.7, 80.0}) {
    const double jy =
        bessel_j1_value(x) * bessel_y0_value(x) - bessel_j0_value(x) * bessel_y1_value(x);
    EXPECT_NEAR(jy * kPi * x / 2, 1.0, 1e-13) << x;
  }
  for (double x : {0.3, 1.99, 2.01, 12.5, 80.0}) {
    const double ik =
        bessel_i0e_value(x) * bessel_k1e_value(x) + bessel_i1e_value(x) * bessel_k0e_value(x);
    EXPECT_NEAR(ik * x, 1.0, 1e-13) << x;
    // the scaled forms are e^x times the plain ones
    EXPECT_NEAR(bessel_k0e_value(x), bessel_k0_value(x) * std::exp(x), 1e-14 * bessel_k0e_value(x));
  }
  // J0 even, J1 odd
  EXPECT_EQ(bessel_j0_value(-7.3), bessel_j0_value(7.3));
  EXPECT_EQ(bessel_j1_value(-7.3), -bessel_j1_value(7.3));
}

TEST(BesselJYK, Edges) {
  EXPECT_EQ(bessel_j0_value(0.0), 1.0);
  EXPECT_EQ(bessel_j1_value(0.0), 0.0);
  EXPECT_EQ(bessel_y0_value(0.0), -INFINITY);
  EXPECT_EQ(bessel_y1_value(0.0), -INFINITY);
  EXPECT_TRUE(std::isnan(bessel_y0_value(-1.0)));
  EXPECT_TRUE(std::isnan(bessel_y1_value(-1.0)));
  EXPECT_EQ(bessel_k0_value(0.0), INFINITY);
  EXPECT_EQ(bessel_k1e_value(0.0), INFINITY);
  EXPECT_TRUE(std::isnan(bessel_k0_value(-1.0)));
  EXPECT_EQ(bessel_k0_value(INFINITY), 0.0);
  EXPECT_EQ(bessel_k1e_value(INFINITY), 0.0);
  EXPECT_EQ(bessel_k1_value(1000.0), 0.0);  // underflows, as e^-x does
  // the Hankel forms' cos(inf) and Ai's infinities are NaN, as in torch
  EXPECT_TRUE(std::isnan(bessel_j0_value(INFINITY)));
  EXPECT_TRUE(std::isnan(bessel_y1_value(INFINITY)));
  EXPECT_TRUE(std::isnan(airy_ai_value(INFINITY)));
  EXPECT_TRUE(std::isnan(airy_ai_value(-INFINITY)));
  EXPECT_EQ(airy_ai_value(200.0), 0.0);
  EXPECT_NEAR(airy_ai_value(0.0), 0.3550280538878172, 1e-16);
  // Ai's third zero (torch's approximation is good to ~3e-6 only near -2.1)
  EXPECT_NEAR(airy_ai_value(-6.786708090071759), 0.0, 1e-15);
  using Function = double (*)(double);
  for (Function f : std::initializer_list<Function>{bessel_j0_value, bessel_y0_value,
                                                    bessel_k0_value, airy_ai_value}) {
    EXPECT_TRUE(std::isnan(f(NAN)));
  }
}

}  // namespace
}  // namespace ember
