// The activation table from C++ alone: every entry's gradient and tangent
// against central differences, node names, in-place forms and refusals.

#include "ember/ops/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ember/autograd/engine.h"
#include "ember/autograd/forward_ad.h"
#include "ember/ops.h"

namespace ember {
namespace {

struct Case {
  ActivationOp op;
  ActivationArgs args;
  double x;  // a smooth point of the op
};

// One call form per entry, at a point away from its kinks.
const Case kCases[] = {
    {ActivationOp::LeakyRelu, {0.2}, -0.7},
    {ActivationOp::Elu, {1.3, 1.0, 1.0}, -0.4},
    {ActivationOp::Celu, {0.7, 1.0, 1.0 / 0.7}, -0.9},
    {ActivationOp::Hardtanh, {-1.0, 1.0}, 0.3},
    {ActivationOp::Softplus, {2.0, 3.0}, 0.6},
    {ActivationOp::Hardsigmoid, {}, 1.2},
    {ActivationOp::Hardswish, {}, -1.1},
    {ActivationOp::Mish, {}, 0.8},
    {ActivationOp::LogSigmoid, {}, -0.6},
    {ActivationOp::Hardshrink, {0.5}, 1.7},
    {ActivationOp::Softshrink, {0.5}, -1.3},
    {ActivationOp::Threshold, {0.1, 2.0}, 0.9},
    {ActivationOp::Logit, {}, 0.3},
    {ActivationOp::Frac, {}, 2.6},
    {ActivationOp::NanToNum, {0.0, 1e300, -1e300}, 0.4},
};

double value_at(const Case& c, double x) {
  return item_as_double(activation(c.op, scalar_tensor(x, DType::Float64), c.args));
}

double central_difference(const Case& c) {
  const double eps = 1e-6;
  return (value_at(c, c.x + eps) - value_at(c, c.x - eps)) / (2 * eps);
}

TEST(ActivationTable, EveryEntryCoversItsOpAndCarriesATorchName) {
  EXPECT_EQ(sizeof(kCases) / sizeof(kCases[0]), kActivationOpCount);
  for (const Case& c : kCases) {
    const std::string name = activation_entry(c.op).node_name;
    EXPECT_EQ(name.substr(name.size() - 9), "Backward0") << name;
  }
}

TEST(ActivationTable, GradientsMatchCentralDifferences) {
  for (const Case& c : kCases) {
    Tensor x = scalar_tensor(c.x, DType::Float64);
    x->set_requires_grad(true);
    Tensor y = activation(c.op, x, c.args);
    EXPECT_STREQ(y->grad_fn()->name(), activation_entry(c.op).node_name);
    Engine::backward({y}, {}, false, false);
    EXPECT_NEAR(item_as_double(x->grad()), central_difference(c), 1e-6)
        << activation_entry(c.op).node_name;
  }
}

TEST(ActivationTable, TangentsMatchCentralDifferences) {
  for (const Case& c : kCases) {
    const uint64_t level = forward_ad::enter_level();
    Tensor x = scalar_tensor(c.x, DType::Float64);
    forward_ad::set_tangent(x, scalar_tensor(1.0, DType::Float64));
    const double tangent = item_as_double(forward_ad::tangent(activation(c.op, x, c.args)));
    forward_ad::exit_level(level);
    EXPECT_NEAR(tangent, central_difference(c), 1e-6) << activation_entry(c.op).node_name;
  }
}

TEST(ActivationTable, SecondDerivativeOfSoftplusIsSigmoidsSlope) {
  // d2/dx2 softplus(x) = s (1 - s), s = sigmoid(x): through the formula's graph.
  Tensor x = scalar_tensor(0.4, DType::Float64);
  x->set_requires_grad(true);
  Tensor y = activation(ActivationOp::Softplus, x, {1.0, 20.0});
  Tensor g = Engine::grad({y}, {}, {x}, true, true, false)[0];
  Tensor h = Engine::grad({g}, {}, {x}, false, false, false)[0];
  const double s = 1.0 / (1.0 + std::exp(-0.4));
  EXPECT_NEAR(item_as_double(h), s * (1 - s), 1e-12);
}

TEST(ActivationTable, InPlaceFormRecordsTheResultNodeWhereTorchDoes) {
  Tensor leaf = scalar_tensor(-2.0, DType::Float64);
  leaf->set_requires_grad(true);
  Tensor y = mul(leaf, Scalar(1.0));
  activation_(ActivationOp::LeakyRelu, y, {0.1});
  EXPECT_STREQ(y->grad_fn()->name(), "LeakyReluBackward1");
  EXPECT_DOUBLE_EQ(item_as_double(y), -0.2);
  Engine::backward({y}, {}, false, false);
  EXPECT_DOUBLE_EQ(item_as_double(leaf->grad()), 0.1);

  Tensor z = mul(leaf, Scalar(1.0));
  activation_(ActivationOp::Hardtanh, z, {-1.0, 1.0});
  EXPECT_STREQ(z->grad_fn()->name(), "HardtanhBackward0");
}

TEST(ActivationTable, IntegerInputsAreRefusedOrKeptAsTorchDoes) {
  Tensor ints = scalar_tensor(3.0, DType::Int64);
  EXPECT_THROW(activation(ActivationOp::Softplus, ints, {1.0, 20.0}), NotImplementedError);
  EXPECT_EQ(activation(ActivationOp::Hardtanh, ints, {-1.0, 1.0})->dtype(), DType::Int64);
  EXPECT_EQ(activation(ActivationOp::Logit, ints, {})->dtype(), DType::Float32);
  EXPECT_THROW(activation(ActivationOp::Hardtanh, scalar_tensor(1.0, DType::Bool), {-1.0, 1.0}),
               std::runtime_error);
}

}  // namespace
}  // namespace ember
