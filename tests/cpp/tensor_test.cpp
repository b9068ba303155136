// Tensors, views and strided kernels, checked against hand-computed values.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <thread>

#include "ember/allocator.h"
#include "ember/ops.h"

namespace ember {
namespace {

Tensor iota(const Shape& shape) {
  return reshape(arange(0, static_cast<double>(numel_of(shape)), 1, DType::Float32),
                 DimList(shape.begin(), shape.end()));
}

TEST(Tensor, ViewsShareStorageAndVersion) {
  Tensor a = iota({2, 3});
  Tensor v = transpose(a, 0, 1);
  EXPECT_EQ(v->storage(), a->storage());
  EXPECT_FALSE(v->is_contiguous());
  const uint32_t before = a->version();
  add_(v, Scalar(1.0));
  EXPECT_EQ(a->version(), before + 1);
  EXPECT_EQ(element_as_double(a, 0), 1.0);
}

TEST(Tensor, InPlaceUnaryWritesTheOutOfPlaceValuesIntoSelf) {
  for (UnaryOp op : {UnaryOp::Exp, UnaryOp::Tanh, UnaryOp::Sin, UnaryOp::Sqrt}) {
    Tensor a = iota({3, 70000});
    const Tensor expected = unary(op, a);
    const float* before = a->data<float>();
    const uint32_t version = a->version();
    unary_(op, a);
    EXPECT_EQ(a->data<float>(), before);  // same buffer
    EXPECT_EQ(a->version(), version + 1);
    for (int64_t i = 0; i < a->numel(); i += 997) {
      EXPECT_EQ(element_as_double(a, i), element_as_double(expected, i)) << i;
    }
  }
  Tensor t = transpose(iota({4, 5}), 0, 1);  // strided: computed aside, then copied in
  unary_(UnaryOp::Neg, t);
  EXPECT_EQ(element_as_double(t, 1), -5.0);
}

TEST(Tensor, StridedCopyOfTransposeIsRowMajor) {
  Tensor a = iota({2, 3});                    // [[0,1,2],[3,4,5]]
  Tensor c = contiguous(transpose(a, 0, 1));  // [[0,3],[1,4],[2,5]]
  const float expected[] = {0, 3, 1, 4, 2, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c->data<float>()[i], expected[i]);
}

TEST(Tensor, BroadcastAddOverNonContiguousOperands) {
  Tensor a = transpose(iota({3, 2}), 0, 1);  // [[0,2,4],[1,3,5]]
  Tensor b = iota({3});                      // [0,1,2]
  Tensor out = add(a, b);
  const double expected[] = {0, 3, 6, 1, 4, 7};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(element_as_double(out, i), expected[i]);
}

TEST(Tensor, Int64ScalarsStayExact) {
  const int64_t big = (int64_t{1} << 62) + 1;  // not representable in double
  Tensor t = full({2}, Scalar::integer(big), DType::Int64);
  EXPECT_EQ(t->data<int64_t>()[1], big);
  EXPECT_EQ(add(t, Scalar::integer(2))->data<int64_t>()[0], big + 2);
  EXPECT_EQ(item_as_scalar(max(t)).int_value, big);
  Tensor r =
      arange(Scalar::integer(big), Scalar::integer(big + 3), Scalar::integer(1), DType::Int64);
  ASSERT_EQ(r->numel(), 3);
  EXPECT_EQ(r->data<int64_t>()[2], big + 2);
}

TEST(Tensor, FloatsThatDoNotFitInt64Throw) {
  Tensor t = zeros({2}, DType::Int64);
  EXPECT_THROW(fill_raw(t, Scalar(std::nan(""))), std::runtime_error);
  EXPECT_THROW(fill_raw(t, Scalar(1e19)), std::runtime_error);
  fill_raw(t, Scalar(-9223372036854775808.0));  // INT64_MIN is exact in double
  EXPECT_EQ(t->data<int64_t>()[0], INT64_MIN);
}

TEST(Tensor, TypePromotion) {
  Tensor i = arange(0, 3, 1, DType::Int64);
  EXPECT_EQ(mul(i, Scalar(2.5))->dtype(), DType::Float32);  // int tensor * float scalar
  EXPECT_EQ(mul(i, Scalar::integer(2))->dtype(), DType::Int64);
  Tensor f = ones({3}, DType::Float32);
  Tensor d = ones({3}, DType::Float64);
  EXPECT_EQ(add(f, d)->dtype(), DType::Float64);
  EXPECT_EQ(add(f, scalar_tensor(1.0, DType::Float64))->dtype(), DType::Float32);  // 0-d
  EXPECT_EQ(div(i, i)->dtype(), DType::Float32);
  EXPECT_EQ(compare(BinaryOp::Lt, f, d)->dtype(), DType::Bool);
}

TEST(Tensor, ReductionsOverDims) {
  Tensor a = iota({2, 3});
  Tensor s = sum(a, {1}, false);
  EXPECT_EQ(s->shape(), (Shape{2}));
  EXPECT_EQ(element_as_double(s, 0), 3.0);
  EXPECT_EQ(element_as_double(s, 1), 12.0);
  EXPECT_DOUBLE_EQ(item_as_double(mean(a)), 2.5);
  EXPECT_NEAR(item_as_double(var(a, {}, 1.0, false)), 3.5, 1e-6);
}

TEST(Tensor, MatmulTinyAndBlasPathsAgree) {
  // 3x3 takes the direct loop, 64x64 goes through OpenBLAS.
  for (int64_t n : {3, 64}) {
    Tensor a = iota({n, n});
    Tensor b = transpose(iota({n, n}), 0, 1);
    Tensor c = mm(a, b);
    double expected = 0;
    for (int64_t k = 0; k < n; ++k) expected += static_cast<double>(k) * static_cast<double>(k);
    EXPECT_NEAR(element_as_double(c, 0), expected, 1e-3 * expected);
  }
}

TEST(Tensor, AllocatorReusesFreedBuffers) {
  {
    Tensor warm = empty({1024});
  }
  const BufferStats before = buffer_stats();
  {
    Tensor t = empty({1024});
  }
  const BufferStats after = buffer_stats();
  EXPECT_EQ(after.live_buffers, before.live_buffers);
  EXPECT_EQ(after.cached_bytes, before.cached_bytes);
}

TEST(Tensor, NegativeSizeIsAnError) { EXPECT_THROW(empty({2, -1}), std::runtime_error); }

TEST(Tensor, DiagonalIsAViewWithSummedStrides) {
  Tensor m = reshape(
      arange(Scalar::integer(0), Scalar::integer(12), Scalar::integer(1), DType::Float64), {3, 4});
  Tensor d = diagonal(m, 1);  // m[0,1], m[1,2], m[2,3]
  ASSERT_EQ(d->shape(), (Shape{3}));
  EXPECT_EQ(d->strides()[0], 5);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(element_as_double(d, i), 1.0 + 5.0 * i);
  EXPECT_EQ(diagonal(m, -2)->shape(), (Shape{1}));
  EXPECT_EQ(diagonal(m, 9)->shape(), (Shape{0}));
  EXPECT_THROW(diagonal(m, 0, 1, -1), std::runtime_error);
}

TEST(Tensor, RoundedDivisionFloorsOrTruncates) {
  Tensor a = full({1}, Scalar::integer(-7), DType::Int64);
  EXPECT_EQ(element_as_scalar(rounded_div(a, Scalar::integer(2), RoundingMode::Floor), 0).int_value,
            -4);
  EXPECT_EQ(element_as_scalar(rounded_div(a, Scalar::integer(2), RoundingMode::Trunc), 0).int_value,
            -3);
  EXPECT_THROW(rounded_div(a, Scalar::integer(0), RoundingMode::Trunc), std::runtime_error);
  Tensor f = full({1}, Scalar(-7.5), DType::Float64);
  EXPECT_EQ(item_as_double(rounded_div(f, Scalar(2.0), RoundingMode::Trunc)), -3.0);
}

TEST(Tensor, PythonIntsBeyondInt64KeepTheirValueForFloats) {
  const Scalar big = Scalar::unsigned_integer(uint64_t{1} << 63);
  EXPECT_TRUE(big.beyond_int64);
  EXPECT_EQ(big.to<double>(), 9223372036854775808.0);
  EXPECT_THROW(big.checked_to<int64_t>(), std::runtime_error);
  EXPECT_FALSE(Scalar::unsigned_integer(5).beyond_int64);
}

TEST(HookList, RunsWhileOtherThreadsAddAndRemoveHooks) {
  HookList hooks;
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop.load()) {
      const int id = hooks.add([](const Tensor& g) { return g; });
      hooks.remove(id);
    }
  });
  hooks.add([](const Tensor& g) { return mul(g, Scalar(2.0)); });
  Tensor g = scalar_tensor(1.0);
  for (int i = 0; i < 20000; ++i) {
    EXPECT_DOUBLE_EQ(item_as_double(hooks.run(g)), 2.0);
  }
  stop.store(true);
  churn.join();
  hooks.clear();
  EXPECT_TRUE(hooks.empty());
}

}  // namespace
}  // namespace ember
