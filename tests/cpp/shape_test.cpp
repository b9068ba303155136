// Shapes, strides, broadcasting and dim wrapping.

#include "ember/shape.h"

#include <gtest/gtest.h>

namespace ember {
namespace {

TEST(Shape, NumelAndContiguousStrides) {
  EXPECT_EQ(numel_of(Shape{}), 1);
  EXPECT_EQ(numel_of(Shape{2, 3, 4}), 24);
  EXPECT_EQ(numel_of(Shape{2, 0, 4}), 0);
  EXPECT_EQ(contiguous_strides(Shape{2, 3, 4}), (Strides{12, 4, 1}));
  EXPECT_EQ(contiguous_strides(Shape{}), Strides{});
}

TEST(Shape, BroadcastFollowsNumpyRules) {
  EXPECT_EQ(broadcast_shapes(Shape{3, 1}, Shape{4}), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes(Shape{}, Shape{2, 3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes(Shape{5, 1, 3}, Shape{2, 1}), (Shape{5, 2, 3}));
  EXPECT_EQ(broadcast_shapes(Shape{0}, Shape{1}), (Shape{0}));
}

TEST(Shape, BroadcastMismatchNamesSizesAndDim) {
  try {
    broadcast_shapes(Shape{3}, Shape{4});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "The size of tensor a (3) must match the size of tensor b (4) at non-singleton "
                 "dimension 0");
  }
}

TEST(Shape, WrapDim) {
  EXPECT_EQ(wrap_dim(-1, 3), 2);
  EXPECT_EQ(wrap_dim(0, 0), 0);  // 0-d tensors accept 0 and -1
  EXPECT_EQ(wrap_dim(-1, 0), 0);
  EXPECT_THROW(wrap_dim(3, 3), IndexError);
  EXPECT_THROW(wrap_dim(-4, 3), IndexError);
}

TEST(SmallVector, GrowsBeyondInlineCapacityAndCopies) {
  SmallVector<int64_t, 2> v;
  for (int64_t i = 0; i < 100; ++i) v.push_back(i);
  ASSERT_EQ(v.size(), 100u);
  SmallVector<int64_t, 2> copy = v;
  SmallVector<int64_t, 2> moved = std::move(copy);
  EXPECT_EQ(moved, v);
  v.insert(0, -1);
  EXPECT_EQ(v[0], -1);
  EXPECT_EQ(v[1], 0);
  v.erase(0);
  EXPECT_EQ(v[0], 0);
}

}  // namespace
}  // namespace ember
