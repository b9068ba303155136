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

}  // namespace
}  // namespace ember
