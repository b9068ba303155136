// The binary pointwise op table (Note [Binary op table]), walked from C++:
// every entry's node name, and its forward formula against finite differences.

#include <gtest/gtest.h>

#include <string>

#include "ember/autograd/forward_ad.h"
#include "ember/ops.h"
#include "ember/ops/binary.h"

namespace ember {
namespace {

// The entry's op at (x, y): the tensor-tensor form where the entry has one,
// else its scalar form (the number fixed). A new entry must be added here.
Tensor call(BinaryFn fn, const Tensor& x, const Tensor& y) {
  switch (fn) {
    case BinaryFn::Add:
      return add(x, y, 0.5);
    case BinaryFn::Sub:
      return sub(x, y, 2.0);
    case BinaryFn::Rsub:
      return rsub(x, Scalar(3.0));
    case BinaryFn::Mul:
      return mul(x, y);
    case BinaryFn::Div:
      return div(x, y);
    case BinaryFn::DivScalar:
      return div_scalar_internal(x, Scalar(4.0));
    case BinaryFn::PowScalar:
      return pow(x, Scalar(2.5));
    case BinaryFn::Pow:
      return pow(x, y);
    case BinaryFn::RPow:
      return rpow(x, Scalar(2.5));
    case BinaryFn::Maximum:
      return maximum(x, y);
    case BinaryFn::Minimum:
      return minimum(x, y);
    case BinaryFn::RemainderScalar:
      return remainder(x, Scalar(1.5));
    case BinaryFn::Remainder:
      return remainder(x, y);
    case BinaryFn::FmodScalar:
      return fmod(x, Scalar(1.5));
    case BinaryFn::Fmod:
      return fmod(x, y);
    case BinaryFn::Copysign:
      return copysign(x, y);
    case BinaryFn::CopysignScalar:
      return copysign(x, Scalar(-2.0));
    case BinaryFn::RoundedDiv:
      return rounded_div(x, y, RoundingMode::Floor);
    case BinaryFn::Atan2:
      return atan2(x, y);
    case BinaryFn::Xlogy:
      return xlogy(x, y);
    case BinaryFn::Hypot:
      return hypot(x, y);
    case BinaryFn::Logaddexp:
      return logaddexp(x, y);
    case BinaryFn::Logaddexp2:
      return logaddexp2(x, y);
    case BinaryFn::Fmax:
      return fmax(x, y);
    case BinaryFn::Fmin:
      return fmin(x, y);
    case BinaryFn::Ldexp:
      return ldexp(x, y);
  }
  return nullptr;
}

bool tensor_form(BinaryFn fn) { return (binary_entry(fn).forms & binary_form::TensorTensor) != 0; }

// A point where every entry is smooth.
constexpr double kX = 2.5, kY = 1.7;

TEST(BinaryTable, EveryEntryRecordsItsTorchName) {
  for (size_t i = 0; i < kBinaryFnCount; ++i) {
    const BinaryFn fn = static_cast<BinaryFn>(i);
    Tensor x = scalar_tensor(kX, DType::Float64), y = scalar_tensor(kY, DType::Float64);
    x->set_requires_grad(true);
    y->set_requires_grad(true);
    const Tensor out = call(fn, x, y);
    ASSERT_TRUE(out->grad_fn()) << binary_entry(fn).node_name;
    EXPECT_STREQ(out->grad_fn()->name(), binary_entry(fn).node_name);
    EXPECT_EQ(out->grad_fn()->next_edges().size(), tensor_form(fn) ? 2u : 1u)
        << binary_entry(fn).node_name;
  }
}

TEST(BinaryTable, EveryForwardFormulaMatchesFiniteDifferences) {
  const double tx = 1.0, ty = 0.5, eps = 1e-6;
  for (size_t i = 0; i < kBinaryFnCount; ++i) {
    const BinaryFn fn = static_cast<BinaryFn>(i);
    double tangent;
    {
      const uint64_t level = forward_ad::enter_level();
      Tensor x = scalar_tensor(kX, DType::Float64), y = scalar_tensor(kY, DType::Float64);
      forward_ad::set_tangent(x, scalar_tensor(tx, DType::Float64));
      forward_ad::set_tangent(y, scalar_tensor(ty, DType::Float64));
      tangent = item_as_double(forward_ad::tangent(call(fn, x, y)));
      forward_ad::exit_level(level);
    }
    auto f = [&](double s) {
      return item_as_double(call(fn, scalar_tensor(kX + s * tx, DType::Float64),
                                 scalar_tensor(kY + s * ty, DType::Float64)));
    };
    EXPECT_NEAR(tangent, (f(eps) - f(-eps)) / (2 * eps), 1e-6) << binary_entry(fn).node_name;
  }
}

TEST(BinaryTable, NodeSavesOnlyWhatTheInputsThatRequireGradRead) {
  // x * y with only x requiring grad keeps y alone (x's gradient is g * y).
  Tensor x = scalar_tensor(kX, DType::Float64), y = scalar_tensor(kY, DType::Float64);
  x->set_requires_grad(true);
  Tensor out = mul(x, y);
  auto* node = dynamic_cast<MulBackward0*>(out->grad_fn().get());
  ASSERT_NE(node, nullptr);
  EXPECT_FALSE(node->self.defined());
  EXPECT_TRUE(node->other.defined());
}

}  // namespace
}  // namespace ember
