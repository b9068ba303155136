// x[indices] and x[indices] = value through the core's TensorIndex items:
// results, shapes, views, graph nodes and torch's errors.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ember/autograd/engine.h"
#include "ember/autograd/node.h"
#include "ember/ops.h"
#include "ember/tensor_index.h"
#include "tensor_helpers.h"

namespace ember {
namespace {

using test_tensors::iota;
using test_tensors::values;

Tensor longs(std::initializer_list<int64_t> values) {
  Tensor t = empty(Shape{static_cast<int64_t>(values.size())}, DType::Int64);
  std::copy(values.begin(), values.end(), t->data<int64_t>());
  return t;
}

Tensor mask(std::initializer_list<int64_t> values) { return to_dtype(longs(values), DType::Bool); }

std::vector<int64_t> shape(const Tensor& t) { return {t->shape().begin(), t->shape().end()}; }

// The message of the exception `f` throws as type E, or "" if none.
template <typename E, typename F>
std::string message_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

TEST(Index, BasicItemsGiveAViewOfTheSameStorage) {
  const Tensor x = iota({2, 3, 4});
  const Tensor y = index(x, {1, Slice{0, std::nullopt, 2}, NewAxis{}, Ellipsis{}});
  EXPECT_EQ(shape(y), (std::vector<int64_t>{2, 1, 4}));
  EXPECT_EQ(values(y), (std::vector<double>{12, 13, 14, 15, 20, 21, 22, 23}));
  EXPECT_EQ(y->storage(), x->storage());
}

TEST(Index, EllipsisSpansTheDimsTheOtherItemsLeave) {
  const Tensor y = index(iota({2, 3, 4}), {Ellipsis{}, -1});
  EXPECT_EQ(shape(y), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values(y), (std::vector<double>{3, 7, 11, 15, 19, 23}));
}

TEST(Index, AnIntegerTensorPicksRowsAlongItsDim) {
  const Tensor y = index(iota({2, 3}), {Slice{}, longs({2, -3})});
  EXPECT_EQ(shape(y), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(values(y), (std::vector<double>{2, 0, 5, 3}));
}

TEST(Index, SeparatedTensorIndicesPutTheBroadcastShapeFirst) {
  const Tensor y = index(iota({2, 3, 4}), {longs({0, 1}), Slice{}, longs({1, 2})});
  EXPECT_EQ(shape(y), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values(y), (std::vector<double>{1, 5, 9, 14, 18, 22}));
}

TEST(Index, AMaskPicksItsTrueElementsInRowMajorOrder) {
  const Tensor x = iota({2, 3});
  const Tensor y = index(x, {reshape(mask({0, 1, 1, 0, 0, 1}), {2, 3})});
  EXPECT_EQ(shape(y), (std::vector<int64_t>{3}));
  EXPECT_EQ(values(y), (std::vector<double>{1, 2, 5}));
  const Tensor rows = index(x, {mask({1, 0})});
  EXPECT_EQ(values(rows), (std::vector<double>{0, 1, 2}));
}

TEST(Index, ABoolAddsADimOfSizeOneOrZero) {
  EXPECT_EQ(shape(index(iota({2, 3}), {true})), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(shape(index(iota({2, 3}), {false})), (std::vector<int64_t>{0, 2, 3}));
}

TEST(Index, ReadsRecordTorchsNodes) {
  Tensor x = iota({2, 3});
  x->set_requires_grad(true);
  EXPECT_STREQ(index(x, {Slice{}, 1})->grad_fn()->name(), "SelectBackward0");
  const Tensor picked = index(x, {longs({1, 1})});
  EXPECT_STREQ(picked->grad_fn()->name(), "IndexBackward0");
  Engine::backward({sum(picked)}, {}, false, false);
  EXPECT_EQ(values(x->grad()), (std::vector<double>{0, 0, 0, 2, 2, 2}));
}

TEST(Index, OutOfRangeIntegersThrowTorchsMessage) {
  const Tensor x = iota({2, 3});
  EXPECT_EQ(message_of<IndexError>([&] { index(x, {Slice{}, 3}); }),
            "index 3 is out of bounds for dimension 1 with size 3");
  EXPECT_EQ(message_of<IndexError>([&] { index(x, {longs({0, -3})}); }),
            "index -3 is out of bounds for dimension 0 with size 2");
  EXPECT_EQ(message_of<IndexError>([&] { index(x, {longs({0}), longs({5})}); }),
            "index 5 is out of bounds for dimension 1 with size 3");
}

TEST(Index, MalformedIndicesThrowTorchsMessages) {
  const Tensor x = iota({2, 3});
  EXPECT_EQ(message_of<IndexError>([&] { index(x, {0, 0, 0}); }),
            "too many indices for tensor of dimension 2");
  EXPECT_EQ(message_of<IndexError>([&] { index(x, {iota({2})}); }),
            "tensors used as indices must be long, int, byte or bool tensors");
  EXPECT_EQ(message_of<IndexError>([&] { index(x, {mask({1, 0, 1})}); }),
            "The shape of the mask [3] at index 0 does not match the shape of the indexed tensor "
            "[2, 3] at index 0");
  EXPECT_EQ(message_of<IndexError>([&] { index(x, {longs({0, 1}), longs({0, 1, 2})}); }),
            "shape mismatch: indexing tensors could not be broadcast together with shapes [2], "
            "[3]");
  EXPECT_THROW(index(scalar_tensor(1.0), {0}), IndexError);
}

TEST(IndexPut, ATensorValueBroadcastsToTheIndexedShape) {
  Tensor x = zeros(Shape{2, 3}, DType::Float64);
  index_put_(x, {Slice{}, longs({0, 2})}, reshape(iota({2}), {2, 1}));
  EXPECT_EQ(values(x), (std::vector<double>{0, 0, 0, 1, 0, 1}));
}

TEST(IndexPut, BasicItemsWriteThroughTheirView) {
  Tensor x = zeros(Shape{2, 3}, DType::Float64);
  index_put_(x, {1, Slice{1, std::nullopt, std::nullopt}}, Scalar(5.0));
  index_put_(x, {0}, reshape(iota({3}), {1, 3}));  // leading size-1 dims are dropped
  EXPECT_EQ(values(x), (std::vector<double>{0, 1, 2, 0, 5, 5}));
}

TEST(IndexPut, RepeatedRowsKeepTheLastValue) {
  Tensor x = zeros(Shape{2, 2}, DType::Float64);
  index_put_item_(x, longs({0, 0}), iota({2, 2}));
  EXPECT_EQ(values(x), (std::vector<double>{2, 3, 0, 0}));
}

TEST(IndexPut, AMaskTakesANumberOrItsElementsInOrder) {
  Tensor x = zeros(Shape{2, 2}, DType::Float64);
  index_put_item_(x, reshape(mask({1, 0, 0, 1}), {2, 2}), Scalar(7.0));
  EXPECT_EQ(values(x), (std::vector<double>{7, 0, 0, 7}));
  index_put_item_(x, reshape(mask({0, 1, 1, 0}), {2, 2}), iota({2}));
  EXPECT_EQ(values(x), (std::vector<double>{7, 0, 1, 7}));
}

TEST(IndexPut, ANonContiguousTargetIsWrittenInPlace) {
  Tensor base = zeros(Shape{3, 2}, DType::Float64);
  Tensor x = transpose(base, 0, 1);
  index_put_(x, {Slice{}, longs({2})}, Scalar(1.0));
  EXPECT_EQ(values(base), (std::vector<double>{0, 0, 0, 0, 1, 1}));
}

TEST(IndexPut, TheValueFlowsBackThroughTheWrite) {
  Tensor v = iota({2});
  v->set_requires_grad(true);
  Tensor x = zeros(Shape{3}, DType::Float64);
  index_put_item_(x, longs({2, 0}), v);
  EXPECT_STREQ(x->grad_fn()->name(), "torch::autograd::CopySlices");
  Engine::backward({sum(mul(x, iota({3})))}, {}, false, false);
  EXPECT_EQ(values(v->grad()), (std::vector<double>{2, 0}));
}

TEST(IndexPut, RefusesAValueOfAnotherDtypeOrShape) {
  Tensor x = zeros(Shape{2, 2}, DType::Float64);
  EXPECT_EQ(message_of<std::runtime_error>([&] { index_put_item_(x, longs({0}), longs({1, 2})); }),
            "Index put requires the source and destination dtypes match, got Double for the "
            "destination and Long for the source.");
  EXPECT_EQ(
      message_of<std::runtime_error>([&] { index_put_(x, {Slice{}, longs({0, 1})}, iota({3})); }),
      "shape mismatch: value tensor of shape [3] cannot be broadcast to indexing result of "
      "shape [2, 2]");
  EXPECT_EQ(message_of<IndexError>([&] { index_put_item_(x, longs({2}), Scalar(1.0)); }),
            "index 2 is out of bounds for dimension 0 with size 2");
}

TEST(IndexBounds, EveryIntegerIndexOpSharesTheCheck) {
  const Tensor x = iota({2, 3});
  EXPECT_EQ(message_of<IndexError>([&] { index_rows(x, 1, longs({3})); }),
            "index 3 is out of bounds for dimension 1 with size 3");
  EXPECT_EQ(message_of<IndexError>([&] { index_select(x, 0, longs({-1})); }),
            "index out of range in self");
  EXPECT_EQ(message_of<IndexError>([&] { take(x, longs({6})); }),
            "out of range: tried to access index 6 on a tensor of 6 elements.");
  EXPECT_EQ(message_of<IndexError>([&] { index_copy(x, 1, longs({-1}), iota({2, 1})); }),
            "index_copy_(): index -1 is out of bounds for dimension 1 with size 3");
  EXPECT_EQ(values(take(x, longs({-1, 0}))), (std::vector<double>{5, 0}));
}

}  // namespace
}  // namespace ember
