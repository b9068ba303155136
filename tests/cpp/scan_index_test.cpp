// The running and order-statistic kernels, the indexed writes and the new
// binary kernels, checked against hand-computed values.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ember/autograd/engine.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/reduce.h"
#include "ember/ops.h"

namespace ember {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor vec(std::initializer_list<double> values, DType dtype = DType::Float64) {
  Tensor t = empty(Shape{static_cast<int64_t>(values.size())}, dtype);
  int64_t i = 0;
  for (double v : values) fill_raw(select(t, 0, i++), Scalar(v));
  return t;
}

void expect_values(const Tensor& t, std::initializer_list<double> expected) {
  ASSERT_EQ(t->numel(), static_cast<int64_t>(expected.size()));
  int64_t i = 0;
  for (double e : expected) {
    const double v = element_as_double(t, i++);
    if (std::isnan(e)) {
      EXPECT_TRUE(std::isnan(v)) << "at " << i - 1;
    } else {
      EXPECT_DOUBLE_EQ(v, e) << "at " << i - 1;
    }
  }
}

TEST(Scan, LogcumsumexpIsExactForEqualTermsAndStableForLargeOnes) {
  expect_values(logcumsumexp_kernel(vec({0, 0, 0, 0}), 0, false),
                {0, std::log(2.0), std::log(3.0), std::log(4.0)});
  // exp(1000) overflows; the running log-sum must not.
  expect_values(logcumsumexp_kernel(vec({1000, 1000}), 0, false), {1000, 1000 + std::log(2.0)});
  expect_values(logcumsumexp_kernel(vec({-kInf, -kInf, 1}), 0, false), {-kInf, -kInf, 1});
  expect_values(logcumsumexp_kernel(vec({0, 0, 0}), 0, true), {std::log(3.0), std::log(2.0), 0});
  expect_values(logcumsumexp_kernel(vec({1, kNan, 1}), 0, false), {1, kNan, kNan});
}

TEST(Scan, CumulativeExtremeMovesTheIndexOnTiesAndKeepsTheFirstNan) {
  ExtremeResult r = cumulative_extreme_kernel(vec({1, 3, 3, kNan, 5, kNan}), 0, true);
  expect_values(r.values, {1, 3, 3, kNan, kNan, kNan});
  expect_values(r.indices, {0, 1, 2, 3, 3, 5});
  ExtremeResult m = cumulative_extreme_kernel(vec({2, 1, 1, 4}, DType::Int64), 0, false);
  expect_values(m.values, {2, 1, 1, 1});
  expect_values(m.indices, {0, 1, 2, 2});
}

TEST(Scan, CumulativeExtremeRunsAlongTheGivenDim) {
  Tensor x = reshape(vec({1, 5, 2, 4, 3, 6}), {2, 3});
  expect_values(cumulative_extreme_kernel(x, 0, true).values, {1, 5, 2, 4, 5, 6});
  expect_values(cumulative_extreme_kernel(x, 1, true).values, {1, 5, 5, 4, 4, 6});
}

TEST(Scan, KthvalueCountsNanAsLargestAndPrefersEarlierTies) {
  ExtremeResult r = kthvalue_kernel(vec({2, kNan, 1, 2}), 0, 3);
  expect_values(r.values, {2});
  expect_values(r.indices, {3});
  r = kthvalue_kernel(vec({2, kNan, 1, 2}), 0, 2);
  expect_values(r.indices, {0});
  expect_values(kthvalue_kernel(vec({2, kNan, 1}), 0, 3).values, {kNan});
  Tensor x = reshape(vec({3, 1, 2, 9, 7, 8}), {2, 3});
  expect_values(kthvalue_kernel(x, 1, 2).values, {2, 8});
  expect_values(kthvalue_kernel(x, 0, 1).values, {3, 1, 2});
}

TEST(Scan, ModeTakesTheSmallestMostFrequentValueAndItsLastPosition) {
  ExtremeResult r = mode_kernel(vec({1, 2, 2, 3, 3, 1}), 0);
  expect_values(r.values, {1});
  expect_values(r.indices, {5});
  r = mode_kernel(reshape(vec({1, 2, 2, 3, 3, 1}), {2, 3}), 1);
  expect_values(r.values, {2, 3});
  expect_values(r.indices, {2, 1});
}

TEST(Scan, KthvalueGradientGoesToTheSelectedPosition) {
  Tensor x = vec({4, 1, 3});
  x->set_requires_grad(true);
  Engine::backward({kthvalue(x, 2, 0, false).first}, {}, false, false);
  expect_values(x->grad(), {0, 0, 1});
}

TEST(Binary, FmodKeepsTheDividendsSignAndCopysignTheSignOperands) {
  expect_values(binary_kernel(BinaryOp::Fmod, vec({-7, 7, -7, 7}), vec({3, -3, -3, 3})),
                {-1, 1, -1, 1});
  expect_values(
      binary_kernel(BinaryOp::Fmod, vec({-7, 7}, DType::Int64), vec({3, -3}, DType::Int64)),
      {-1, 1});
  EXPECT_THROW(binary_kernel(BinaryOp::Fmod, vec({1}, DType::Int64), vec({0}, DType::Int64)),
               std::runtime_error);
  Tensor c = binary_kernel(BinaryOp::Copysign, vec({1, -2, 0}), vec({-0.0, 5, -1}));
  expect_values(c, {-1, 2, -0.0});
  EXPECT_TRUE(std::signbit(element_as_double(c, 2)));
  EXPECT_EQ(
      binary_kernel(BinaryOp::Copysign, vec({1}, DType::Int64), vec({-1}, DType::Int64))->dtype(),
      DType::Float32);
}

TEST(Index, TakeWrapsNegativePositionsAndRefusesOutOfRange) {
  Tensor x = reshape(vec({0, 1, 2, 3, 4, 5}), {2, 3});
  expect_values(take(x, vec({5, -6, 4}, DType::Int64)), {5, 0, 4});
  EXPECT_THROW(take(x, vec({6}, DType::Int64)), IndexError);
}

TEST(Index, IndexFillAndIndexCopyWriteWholeSlices) {
  Tensor x = reshape(vec({0, 1, 2, 3, 4, 5}), {2, 3});
  expect_values(index_fill(x, 1, vec({0, -1}, DType::Int64), Scalar(9.0)), {9, 1, 9, 9, 4, 9});
  Tensor src = reshape(vec({7, 8}), {2, 1});
  expect_values(index_copy(x, 1, vec({1}, DType::Int64), src), {0, 7, 2, 3, 8, 5});
  EXPECT_THROW(index_copy(x, 1, vec({3}, DType::Int64), src), IndexError);
}

TEST(Index, ScatterReduceCombinesWhatMeetsAtAPosition) {
  Tensor self = vec({1, 2, 3});
  Tensor index = vec({0, 0, 2, 2}, DType::Int64);
  Tensor src = vec({4, 5, 6, 7});
  expect_values(scatter_reduce(self, 0, index, src, ScatterReduce::Sum, true), {10, 2, 16});
  expect_values(scatter_reduce(self, 0, index, src, ScatterReduce::Sum, false), {9, 2, 13});
  expect_values(scatter_reduce(self, 0, index, src, ScatterReduce::Prod, true), {20, 2, 126});
  expect_values(scatter_reduce(self, 0, index, src, ScatterReduce::Mean, true),
                {10.0 / 3, 2, 16.0 / 3});
  expect_values(scatter_reduce(self, 0, index, src, ScatterReduce::Mean, false), {4.5, 2, 6.5});
  expect_values(scatter_reduce(self, 0, index, src, ScatterReduce::Amax, true), {5, 2, 7});
  expect_values(scatter_reduce(self, 0, index, src, ScatterReduce::Amin, false), {4, 2, 6});
  // Integer means round down.
  expect_values(scatter_reduce(vec({0}, DType::Int64), 0, vec({0, 0}, DType::Int64),
                               vec({-3, 0}, DType::Int64), ScatterReduce::Mean, false),
                {-2});
}

TEST(Shape, UnfoldIsAViewWhoseGradientAddsOverlappingWindows) {
  Tensor x = vec({1, 2, 3, 4});
  x->set_requires_grad(true);
  Tensor u = unfold(x, 0, 2, 1);
  EXPECT_EQ(u->shape(), (Shape{3, 2}));
  EXPECT_EQ(u->storage(), x->storage());
  expect_values(contiguous_clone(u), {1, 2, 2, 3, 3, 4});
  Engine::backward({sum(u)}, {}, false, false);
  expect_values(x->grad(), {1, 2, 2, 1});
}

TEST(Shape, UnfoldWithGapsGivesSkippedElementsNoGradient) {
  Tensor x = vec({1, 2, 3, 4, 5});
  x->set_requires_grad(true);
  Tensor u = unfold(x, 0, 2, 3);
  EXPECT_EQ(u->shape(), (Shape{2, 2}));
  Engine::backward({sum(u)}, {}, false, false);
  expect_values(x->grad(), {1, 1, 0, 1, 1});
  expect_values(fold_windows_kernel(reshape(vec({1, 2, 3, 4, 5, 6}), {3, 2}), Shape{4}, 0, 1),
                {1, 5, 9, 6});
}

TEST(Shape, Rot90TurnsFromTheFirstDimTowardsTheSecond) {
  Tensor x = reshape(vec({1, 2, 3, 4}), {2, 2});
  expect_values(rot90(x, 1, 0, 1), {2, 4, 1, 3});
  expect_values(rot90(x, 2, 0, 1), {4, 3, 2, 1});
  expect_values(rot90(x, -1, 0, 1), {3, 1, 4, 2});
  expect_values(rot90(x, 4, 0, 1), {1, 2, 3, 4});
}

}  // namespace
}  // namespace ember
