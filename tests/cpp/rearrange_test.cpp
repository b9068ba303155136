// The element-moving kernels (triangles, flips, rolls, masked fills) and the
// fused lerp / addcmul / logsumexp kernels, against hand-computed values, and
// their nodes' gradients and tangents from C++ alone.

#include "ember/kernels/rearrange.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ember/autograd/engine.h"
#include "ember/autograd/forward_ad.h"
#include "ember/autograd/node.h"
#include "ember/kernels/elementwise.h"
#include "ember/ops.h"
#include "ember/parallel.h"

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

Tensor iota(const DimList& shape, DType dtype = DType::Float64) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return reshape(arange(Scalar::integer(0), Scalar::integer(n), Scalar::integer(1), dtype), shape);
}

void expect_values(const Tensor& t, std::initializer_list<double> expected) {
  ASSERT_EQ(t->numel(), static_cast<int64_t>(expected.size()));
  const Tensor flat = reshape(contiguous(t), {t->numel()});
  int64_t i = 0;
  for (double e : expected) {
    const double v = element_as_double(flat, i++);
    if (std::isnan(e)) {
      EXPECT_TRUE(std::isnan(v)) << "at " << i - 1;
    } else {
      EXPECT_DOUBLE_EQ(v, e) << "at " << i - 1;
    }
  }
}

TEST(Rearrange, TrianglesKeepTheirDiagonalBand) {
  const Tensor x = add(iota({3, 4}), Scalar(1.0));
  expect_values(triangle_kernel(x, 0, true), {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0});
  expect_values(triangle_kernel(x, 1, false), {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12});
  expect_values(triangle_kernel(x, -5, true), {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  expect_values(triangle_kernel(x, -5, false), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  // Batches repeat the pattern; any dtype moves.
  expect_values(triangle_kernel(iota({2, 2, 2}, DType::Int16), 0, true), {0, 0, 2, 3, 4, 0, 6, 7});
}

TEST(Rearrange, RemapFlipsAndRollsAnyDims) {
  const Tensor x = iota({2, 3});
  expect_values(remap_kernel(x, {{}, {2, 1, 0}}), {2, 1, 0, 5, 4, 3});
  expect_values(remap_kernel(x, {{1, 0}, {}}), {3, 4, 5, 0, 1, 2});
  expect_values(remap_kernel(x, {{1, 0}, {2, 0, 1}}), {5, 3, 4, 2, 0, 1});
  expect_values(flip(iota({2, 2, 2}, DType::UInt8), {0, 2}), {5, 4, 7, 6, 1, 0, 3, 2});
  expect_values(roll(x, {1}, {}), {5, 0, 1, 2, 3, 4});
  expect_values(roll(x, {-1, 4}, {1, 1}), {0, 1, 2, 3, 4, 5});
  expect_values(roll(x, {1, -1}, {0, 1}), {4, 5, 3, 1, 2, 0});
}

TEST(Rearrange, RemapIsTheSameAtAnyThreadCount) {
  const Tensor x = iota({300, 500});
  const Tensor one = [&] {
    const int before = get_num_threads();
    set_num_threads(1);
    Tensor r = roll(x, {7, -3}, {0, 1});
    set_num_threads(before);
    return r;
  }();
  const Tensor many = roll(x, {7, -3}, {0, 1});
  EXPECT_DOUBLE_EQ(item_as_double(sum(abs(sub(one, many)))), 0.0);
  EXPECT_DOUBLE_EQ(element_as_double(reshape(many, {-1}), 0), 293 * 500 + 3);
}

TEST(Rearrange, MaskedFillBroadcastsAndKeepsTheDtype) {
  const Tensor mask = vec({1, 0, 1}, DType::Bool);
  expect_values(masked_fill(vec({1, 2, 3}, DType::Int64), mask, Scalar(2.7)), {2, 2, 2});
  const Tensor wide = masked_fill(vec({5}), reshape(mask, {3, 1}), Scalar(-1.0));
  EXPECT_EQ(wide->shape(), (Shape{3, 1}));
  expect_values(wide, {-1, 5, -1});
  EXPECT_THROW(masked_fill(vec({1}), vec({1}, DType::Int64), Scalar(1.0)), std::runtime_error);
}

TEST(Rearrange, LogsumexpIsStableAndHandlesInfinities) {
  const Tensor x = reshape(vec({1000, 1000, kInf, 1, -kInf, -kInf, kNan, 1, -1e300, 0}), {5, 2});
  expect_values(logsumexp(x, {1}, false), {1000 + std::log(2.0), kInf, -kInf, kNan, 0});
  expect_values(logsumexp(x, {1}, true), {1000 + std::log(2.0), kInf, -kInf, kNan, 0});
  expect_values(logsumexp(empty(Shape{2, 0}), {1}, false), {-kInf, -kInf});
  const Tensor f = logsumexp(vec({0, 0, 0, 0}, DType::Float32), {0}, false);
  EXPECT_NEAR(item_as_double(f), std::log(4.0), 1e-6);
}

TEST(Rearrange, LogsumexpOverALeadingDimReadsColumns) {
  // The transpose of the rows above: dim 0 of a contiguous (2, 5) tensor.
  const Tensor x = reshape(vec({1000, kInf, -kInf, kNan, -1e300, 1000, 1, -kInf, 1, 0}), {2, 5});
  expect_values(logsumexp(x, {0}, false), {1000 + std::log(2.0), kInf, -kInf, kNan, 0});
  expect_values(logsumexp(empty(Shape{0, 3}), {0}, false), {-kInf, -kInf, -kInf});
  // A middle dim with blocks wider than one: (2, 3, 300) over dim 1 equals log(3) + x.
  const Tensor wide = logsumexp(zeros(Shape{2, 3, 300}, DType::Float32), {1}, false);
  EXPECT_EQ(wide->shape(), (Shape{2, 300}));
  EXPECT_NEAR(item_as_double(select(select(wide, 0, 1), 0, 299)), std::log(3.0), 1e-6);
}

TEST(Rearrange, LerpIsExactAtEachEndAsTorch) {
  const Tensor a = vec({1, -kInf, 3}), b = vec({2, 0.5, 1e-300});
  expect_values(lerp(a, b, 0.0), {1, kNan, 3});  // -inf + 0 * inf
  expect_values(lerp(a, b, 1.0), {2, kNan, 1e-300});
  expect_values(lerp(a, b, vec({0.25, 0.75, 1})), {1.25, -kInf, 1e-300});
}

TEST(Rearrange, AddcmulAndAddcdivFused) {
  const Tensor s = vec({1, 2}), a = vec({3, 4}), b = vec({2, 8});
  expect_values(addcmul(s, a, b, 0.5), {4, 18});
  expect_values(addcdiv(s, a, b, -2), {-2, 1});
  expect_values(
      addcmul(vec({3, 3}, DType::Int64), vec({3, 3}, DType::Int64), vec({3, 3}, DType::Int64), 0.5),
      {3, 3});
}

TEST(Rearrange, GradientsFlowToEachInput) {
  Tensor x = iota({2, 3});
  x->set_requires_grad(true);
  Tensor y = sum(mul(roll(flip(triu(x, 1), {1}), {1}, {0}), vec({1, 2, 3})));
  EXPECT_STREQ(y->grad_fn()->name(), "SumBackward0");
  Engine::backward({y}, {}, false, false);
  expect_values(x->grad(), {0, 2, 1, 0, 0, 1});
  Tensor w = iota({2, 3});
  w->set_requires_grad(true);
  Tensor z = logsumexp(w, {1}, false);
  EXPECT_STREQ(z->grad_fn()->name(), "LogsumexpBackward0");
  Engine::backward({sum(z)}, {}, false, false);
  const double e = std::exp(1.0), denom = 1 + e + e * e;
  expect_values(w->grad(),
                {1 / denom, e / denom, e * e / denom, 1 / denom, e / denom, e * e / denom});
}

TEST(Rearrange, TangentsFollowTheForwardFormulas) {
  const uint64_t level = forward_ad::enter_level();
  Tensor x = vec({0.5, 2});
  forward_ad::set_tangent(x, vec({1, 1}));
  const Tensor l = lerp(x, vec({4, 4}), 0.25);
  expect_values(forward_ad::tangent(l), {0.75, 0.75});
  const Tensor c = addcdiv(vec({0, 0}), vec({1, 1}), x, 2.0);  // 2 / x
  expect_values(forward_ad::tangent(c), {-8, -0.5});
  const Tensor t = trace(reshape(mul(x, vec({1, 1})), {1, 2}));
  expect_values(forward_ad::tangent(t), {1});
  forward_ad::exit_level(level);
}

}  // namespace
}  // namespace ember
