// The fused loss kernels against the formulas they fuse, evaluated in double.

#include "ember/kernels/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ember/ops.h"

namespace ember {
namespace {

Tensor doubles(const std::vector<double>& values) {
  Tensor t = empty({static_cast<int64_t>(values.size())}, DType::Float64);
  for (size_t i = 0; i < values.size(); ++i) t->data<double>()[i] = values[i];
  return t;
}

TEST(Loss, BceWithLogitsMatchesItsFormula) {
  const std::vector<double> x = {-30.0, -2.5, -0.0, 0.0, 0.7, 3.0, 40.0, INFINITY, NAN};
  const std::vector<double> y = {0.0, 1.0, 0.5, 0.25, 1.0, 0.0, 1.0, 0.0, 1.0};
  const Tensor loss = bce_with_logits_loss_kernel(doubles(x), doubles(y));
  const Tensor grad = bce_with_logits_grad_kernel(doubles(x), doubles(y), doubles({2.0}));
  ASSERT_TRUE(loss && grad);
  for (size_t i = 0; i < x.size(); ++i) {
    const double want =
        (1 - y[i]) * x[i] + std::log1p(std::exp(-std::abs(x[i]))) + (-x[i] <= 0 ? 0.0 : -x[i]);
    const double want_grad = (1 / (1 + std::exp(-x[i])) - y[i]) * 2.0;
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(element_as_double(loss, static_cast<int64_t>(i)))) << i;
    } else {
      EXPECT_DOUBLE_EQ(element_as_double(loss, static_cast<int64_t>(i)), want) << i;
    }
    if (std::isnan(want_grad)) {
      EXPECT_TRUE(std::isnan(element_as_double(grad, static_cast<int64_t>(i)))) << i;
    } else {
      EXPECT_DOUBLE_EQ(element_as_double(grad, static_cast<int64_t>(i)), want_grad) << i;
    }
  }
}

TEST(Loss, BceWithLogitsLeavesOtherLayoutsToTheComposedOps) {
  const Tensor x = doubles({1.0, 2.0, 3.0, 4.0});
  EXPECT_FALSE(bce_with_logits_loss_kernel(x, empty({4}, DType::Float32)));  // mixed dtypes
  EXPECT_FALSE(bce_with_logits_loss_kernel(x, doubles({1.0, 2.0})));         // shapes differ
  const Tensor strided = reshape(doubles({1, 2, 3, 4, 5, 6, 7, 8}), {4, 2});
  const Tensor column = select(strided, 1, 0);
  EXPECT_FALSE(bce_with_logits_loss_kernel(column, x));                  // not contiguous
  EXPECT_FALSE(bce_with_logits_grad_kernel(x, x, doubles({1.0, 2.0})));  // g fits neither way
}

}  // namespace
}  // namespace ember
