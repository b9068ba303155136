// Products, running sums and gather/scatter, checked against hand-computed values.

#include <gtest/gtest.h>

#include <limits>

#include "ember/autograd/engine.h"
#include "ember/ops.h"

namespace ember {
namespace {

Tensor vec(std::initializer_list<double> values, DType dtype = DType::Float64) {
  Tensor t = empty(Shape{static_cast<int64_t>(values.size())}, dtype);
  int64_t i = 0;
  for (double v : values) fill_raw(select(t, 0, i++), Scalar(v));
  return t;
}

TEST(Reduce, ProdGradientIsTheProductOfTheOthersEvenWithAZero) {
  Tensor x = vec({2.0, 0.0, 3.0, 5.0});
  x->set_requires_grad(true);
  Tensor p = prod(x);
  EXPECT_EQ(item_as_double(p), 0.0);
  Engine::backward({p}, {}, false, false);
  const double expected[] = {0.0, 30.0, 0.0, 0.0};
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(element_as_double(x->grad(), i), expected[i]);
}

TEST(Reduce, CumsumAlongEachDimAndItsGradient) {
  Tensor x = reshape(vec({1, 2, 3, 4, 5, 6}), {2, 3});
  const double along_rows[] = {1, 3, 6, 4, 9, 15};
  const double along_cols[] = {1, 2, 3, 5, 7, 9};
  Tensor r = cumsum(x, 1), c = cumsum(x, 0);
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(element_as_double(r, i), along_rows[i]);
    EXPECT_EQ(element_as_double(c, i), along_cols[i]);
  }
  x->set_requires_grad(true);
  Engine::backward({sum(cumsum(x, 1))}, {}, false, false);
  const double counts[] = {3, 2, 1, 3, 2, 1};  // each element reaches the rest of its row
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(element_as_double(x->grad(), i), counts[i]);
}

TEST(Reduce, ScatterAddAccumulatesRepeatsAndGatherReadsThemBack) {
  Tensor index = vec({0, 2, 0}, DType::Int64);
  Tensor out = scatter_add(zeros({3}, DType::Float64), 0, index, vec({1, 10, 100}));
  const double expected[] = {101, 0, 10};
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(element_as_double(out, i), expected[i]);
  Tensor back = gather(out, 0, index);
  EXPECT_EQ(element_as_double(back, 0), 101);
  EXPECT_EQ(element_as_double(back, 1), 10);
  EXPECT_THROW(gather(out, 0, vec({3}, DType::Int64)), std::runtime_error);
}

TEST(Reduce, CumprodGradientIsExactAroundZeros) {
  // y_j = prod_{i<=j} x_i, loss = sum_j y_j. With x = (2, 0, 3, 5):
  // d/dx0 = 1 + x1 + x1 x2 + x1 x2 x3 = 1; d/dx1 = x0 (1 + x2 + x2 x3) = 2 * 19 = 38;
  // the inputs after the zero only reach outputs that the zero already made 0.
  Tensor x = vec({2.0, 0.0, 3.0, 5.0});
  x->set_requires_grad(true);
  Tensor y = cumprod(x, 0);
  const double running[] = {2.0, 0.0, 0.0, 0.0};
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(element_as_double(y, i), running[i]);
  Engine::backward({sum(y)}, {}, false, false);
  const double expected[] = {1.0, 38.0, 0.0, 0.0};
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(element_as_double(x->grad(), i), expected[i]);
}

TEST(Reduce, ProdOfTwoZerosHasZeroGradientEvenBesideInf) {
  Tensor x = vec({0.0, 0.0, std::numeric_limits<double>::infinity(), 2.0});
  x->set_requires_grad(true);
  Engine::backward({prod(x)}, {}, false, false);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(element_as_double(x->grad(), i), 0.0);
}

TEST(Reduce, RequestingAnIntegerSumOfAGradTensorThrows) {
  Tensor x = vec({1.0, 2.0});
  x->set_requires_grad(true);
  EXPECT_THROW(sum(x, DType::Int64), std::runtime_error);
  EXPECT_THROW(cumsum(x, 0, DType::Int64), std::runtime_error);
  EXPECT_EQ(item_as_double(sum(x, DType::Float64)), 3.0);
}

}  // namespace
}  // namespace ember
