// as_strided's geometry checks and gradient (overlapping outputs add up,
// repeated inputs share), and the in-place view ops' geometry and nodes.

#include <gtest/gtest.h>

#include <cmath>

#include "ember/autograd/engine.h"
#include "ember/autograd/node.h"
#include "ember/ops.h"
#include "tensor_helpers.h"

namespace ember {
namespace {

using test_tensors::iota;

Tensor leaf(const DimList& shape) {
  Tensor t = iota(shape);
  t->set_requires_grad(true);
  return t;
}

void expect_values(const Tensor& t, std::initializer_list<double> expected) {
  ASSERT_EQ(t->numel(), static_cast<int64_t>(expected.size()));
  const Tensor flat = reshape(contiguous(t), {t->numel()});
  int64_t i = 0;
  for (double e : expected) EXPECT_DOUBLE_EQ(element_as_double(flat, i++), e) << "at " << i - 1;
}

TEST(AsStrided, OverlappingWindowsAddTheirGradients) {
  Tensor x = leaf({6});
  Tensor y = as_strided(x, Shape{3, 3}, Strides{1, 1});  // rows [0 1 2], [1 2 3], [2 3 4]
  expect_values(y, {0, 1, 2, 1, 2, 3, 2, 3, 4});
  EXPECT_STREQ(y->grad_fn()->name(), "AsStridedBackward0");
  Engine::backward({sum(y)}, {}, false, false);
  expect_values(x->grad(), {1, 2, 3, 2, 1, 0});
}

TEST(AsStrided, PositionsOutsideTheInputGetNoGradient) {
  Tensor x = leaf({10});
  const Tensor v = slice(x, 0, 4, 8, 1);
  Tensor y = as_strided(v, Shape{3}, Strides{2}, 1);  // positions 1, 3, 5: only 5 is in v
  expect_values(y, {1, 3, 5});
  Engine::backward({sum(y)}, {}, false, false);
  expect_values(x->grad(), {0, 0, 0, 0, 0, 1, 0, 0, 0, 0});
}

TEST(AsStrided, RepeatedInputElementsShareTheGradient) {
  Tensor x = leaf({3});
  Tensor y = as_strided(expand(x, Shape{2, 3}), Shape{3}, Strides{1});
  Engine::backward({sum(y)}, {}, false, false);
  expect_values(x->grad(), {1, 1, 1});
}

TEST(AsStrided, RefusesGeometriesOutsideTheStorage) {
  const Tensor x = iota({3, 4});
  EXPECT_THROW(as_strided(x, Shape{4, 4}, Strides{4, 1}), std::runtime_error);
  EXPECT_THROW(as_strided(x, Shape{2}, Strides{-1}), std::runtime_error);
  EXPECT_THROW(as_strided(x, Shape{2}, Strides{1}, -1), std::runtime_error);
  EXPECT_THROW(as_strided(x, Shape{2, 2}, Strides{1}), std::runtime_error);
  EXPECT_NO_THROW(as_strided(x, Shape{0, 2}, Strides{100, 100}, 100));  // empty: no memory
}

TEST(InplaceViews, TakeTheGeometryAndTheInPlaceNode) {
  Tensor x = leaf({2, 3});
  Tensor y = mul(x, Scalar(2.0));
  const uint32_t version = y->version();
  t_(y);
  EXPECT_EQ(y->shape(), (Shape{3, 2}));
  EXPECT_EQ(y->strides(), (Strides{1, 3}));
  EXPECT_EQ(y->version(), version + 1);
  EXPECT_STREQ(y->grad_fn()->name(), "TBackward1");
  unsqueeze_(y, 0);
  EXPECT_STREQ(y->grad_fn()->name(), "UnsqueezeBackward1");
  squeeze_(y);
  EXPECT_STREQ(y->grad_fn()->name(), "SqueezeBackward3");
  Engine::backward({sum(mul(y, iota({3, 2})))}, {}, false, false);
  expect_values(x->grad(), {0, 4, 8, 2, 6, 10});
}

TEST(InplaceViews, RefuseALeafThatRequiresGrad) {
  Tensor x = leaf({2, 3});
  EXPECT_THROW(transpose_(x, 0, 1), std::runtime_error);
  EXPECT_EQ(x->shape(), (Shape{2, 3}));
}

}  // namespace
}  // namespace ember
