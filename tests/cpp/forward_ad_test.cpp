// Forward-mode AD and the unary op table, from C++ alone.

#include "ember/autograd/forward_ad.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "ember/autograd/engine.h"
#include "ember/autograd/node.h"
#include "ember/ops.h"
#include "ember/ops/unary.h"

namespace ember {
namespace {

// Opens a dual level for one test and always closes it.
class DualLevel {
 public:
  DualLevel() : level_(forward_ad::enter_level()) {}
  ~DualLevel() { forward_ad::exit_level(level_); }

 private:
  uint64_t level_;
};

Tensor dual(double value, double tangent) {
  Tensor x = scalar_tensor(value, DType::Float64);
  forward_ad::set_tangent(x, scalar_tensor(tangent, DType::Float64));
  return x;
}

double tangent_of(const Tensor& t) { return item_as_double(forward_ad::tangent(t)); }

TEST(ForwardAD, ChainRuleThroughPointwiseOps) {
  DualLevel level;
  // y = exp(x) * sin(x): dy = exp(x) (sin x + cos x) dx.
  const double x0 = 0.7;
  Tensor x = dual(x0, 2.0);
  Tensor y = mul(exp(x), sin(x));
  EXPECT_NEAR(tangent_of(y), 2.0 * std::exp(x0) * (std::sin(x0) + std::cos(x0)), 1e-12);
  EXPECT_FALSE(y->requires_grad());  // a tangent records no graph
}

TEST(ForwardAD, EveryTableEntryMatchesFiniteDifferences) {
  for (size_t i = 0; i < kUnaryOpCount; ++i) {
    const UnaryOp op = static_cast<UnaryOp>(i);
    const UnaryEntry& entry = unary_entry(op);
    if (!entry.times_derivative) continue;
    const std::string name = entry.name;
    // A point inside every op's smooth domain (acosh needs x > 1).
    const double x0 = name == "acosh" ? 1.3 : 0.3, eps = 1e-6;
    double tangent;
    {
      DualLevel level;
      tangent = tangent_of(unary(op, dual(x0, 1.0)));
    }
    auto f = [&](double x) { return item_as_double(unary(op, scalar_tensor(x, DType::Float64))); };
    EXPECT_NEAR(tangent, (f(x0 + eps) - f(x0 - eps)) / (2 * eps), 1e-6) << name;
  }
}

TEST(ForwardAD, TableNodesCarryTorchNames) {
  Tensor x = scalar_tensor(0.5, DType::Float64);
  x->set_requires_grad(true);
  EXPECT_STREQ(exp(x)->grad_fn()->name(), "ExpBackward0");
  EXPECT_STREQ(unary(UnaryOp::Log1p, x)->grad_fn()->name(), "Log1PBackward0");
  EXPECT_STREQ(unary(UnaryOp::Square, x)->grad_fn()->name(), "PowBackward0");
}

TEST(ForwardAD, TangentsVanishWhenTheLevelCloses) {
  Tensor y;
  {
    DualLevel level;
    y = mul(dual(1.0, 1.0), Scalar(3.0));
    EXPECT_TRUE(forward_ad::has_tangent(y));
  }
  EXPECT_FALSE(forward_ad::has_tangent(y));
  DualLevel next;
  EXPECT_FALSE(forward_ad::has_tangent(y));
}

TEST(ForwardAD, NestedLevelsAreRefused) {
  DualLevel level;
  EXPECT_THROW(forward_ad::enter_level(), std::runtime_error);
}

TEST(ForwardAD, OpWithoutForwardFormulaRaises) {
  DualLevel level;
  Tensor x = empty(Shape{3}, DType::Float64), t = empty(Shape{3}, DType::Float64);
  fill_raw(x, Scalar(1.0));
  fill_raw(t, Scalar(1.0));
  forward_ad::set_tangent(x, t);
  EXPECT_THROW(cumprod(x, 0, std::nullopt), NotImplementedError);
}

TEST(ForwardAD, ForwardOverReverseGivesHessianVectorProduct) {
  // f(x) = x^3: f'' = 6x, so the tangent of the gradient along v is 6 x v.
  DualLevel level;
  Tensor x = scalar_tensor(2.0, DType::Float64);
  x->set_requires_grad(true);
  Tensor d = alias(x);
  forward_ad::set_tangent(d, scalar_tensor(0.5, DType::Float64));
  Tensor y = pow(d, Scalar(3.0));
  std::vector<Tensor> g = Engine::grad({y}, {}, {x}, false, false, false);
  EXPECT_NEAR(item_as_double(g[0]), 12.0, 1e-12);
  EXPECT_NEAR(tangent_of(g[0]), 6.0, 1e-12);
}

}  // namespace
}  // namespace ember
