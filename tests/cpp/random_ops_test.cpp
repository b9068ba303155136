// The sampling ops on tensors (ops.h's random section) against torch 2.13.0:
// each golden list was printed by torch from a Generator seeded with 0.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ember/autograd/node.h"
#include "ember/ops.h"
#include "ember/random.h"
#include "tensor_helpers.h"

namespace ember {
namespace {

using test_tensors::values;

Tensor probabilities(std::initializer_list<double> ps) {
  Tensor t = empty(Shape{static_cast<int64_t>(ps.size())}, DType::Float64);
  std::copy(ps.begin(), ps.end(), t->data<double>());
  return t;
}

TEST(RandomOps, RandintMatchesTorchForEachDtype) {
  Generator g(0);
  const Tensor longs = randint(3, 10, Shape{2, 3}, DType::Int64, &g);  // randint(3, 10, (2, 3))
  EXPECT_EQ(longs->dtype(), DType::Int64);
  EXPECT_EQ(values(longs), (std::vector<double>{7, 6, 3, 5, 4, 5}));
  g.manual_seed(0);
  const Tensor ints = randint(3, 10, Shape{4}, DType::Int32, &g);  // ..., dtype=torch.int32
  EXPECT_EQ(ints->dtype(), DType::Int32);
  EXPECT_EQ(values(ints), (std::vector<double>{7, 6, 3, 5}));
}

TEST(RandomOps, RandintRefusesEmptyRangesAndBool) {
  try {
    randint(5, 2, Shape{3});
    FAIL() << "randint(5, 2) drew";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "random_ expects 'from' to be less than 'to', but got from=5 >= to=2");
  }
  EXPECT_THROW(randint(0, 2, Shape{3}, DType::Bool), TypeError);
}

TEST(RandomOps, RandpermMatchesTorch) {
  Generator g(0);
  EXPECT_EQ(values(randperm(8, DType::Int64, &g)), (std::vector<double>{4, 0, 7, 3, 2, 5, 1, 6}));
  EXPECT_EQ(randperm(3, DType::Float32)->dtype(), DType::Float32);
  EXPECT_THROW(randperm(-1), std::runtime_error);
}

TEST(RandomOps, BernoulliMatchesTorchAndChecksItsProbabilities) {
  Generator g(0);
  const Tensor drawn = bernoulli(probabilities({0, 1, .5, .5, .5, .5}), &g);
  EXPECT_EQ(values(drawn), (std::vector<double>{0, 1, 1, 0, 0, 0}));
  EXPECT_THROW(bernoulli(probabilities({1.5})), std::runtime_error);
}

TEST(RandomOps, RandAndInPlaceUniformDrawTheSameStream) {
  Generator g(0);
  const Tensor fresh = rand(Shape{2, 3}, DType::Float64, &g);  // rand(2, 3, dtype=float64)
  EXPECT_EQ(values(fresh),
            (std::vector<double>{0.9700530018065531, 0.707819864399788, 0.45938294312745087,
                                 0.9207476841219603, 0.6450241201227648, 0.7911478921803037}));
  g.manual_seed(0);
  Tensor filled = zeros(Shape{2, 3}, DType::Float64);
  const uint32_t version = filled->version();
  uniform_(filled, 0.0, 1.0, &g);
  EXPECT_EQ(values(filled), values(fresh));
  EXPECT_EQ(filled->version(), version + 1);
}

TEST(RandomOps, FloatingSamplersRefuseIntegerDtypes) {
  try {
    randn(Shape{2}, DType::Int64);
    FAIL() << "randn drew integers";
  } catch (const NotImplementedError& e) {
    EXPECT_STREQ(e.what(), "\"normal_kernel_cpu\" not implemented for 'Long'");
  }
  EXPECT_THROW(rand(Shape{2}, DType::Int32), NotImplementedError);
  EXPECT_THROW(standard_gamma(zeros(Shape{1}, DType::Int64)), NotImplementedError);
}

TEST(RandomOps, AnInPlaceSampleOnAGraphTensorRecordsTheWrite) {
  Tensor leaf = zeros(Shape{3}, DType::Float64);
  leaf->set_requires_grad(true);
  Tensor y = mul(leaf, Scalar(2.0));
  normal_(y, 0.0, 1.0);
  ASSERT_TRUE(y->grad_fn());
  EXPECT_STREQ(y->grad_fn()->name(), "torch::autograd::CopyBackwards");
}

TEST(RandomOps, DropoutMaskScalesTheKeptElements) {
  Generator g(0);
  const Tensor mask = dropout_mask(zeros(Shape{64}, DType::Float64), 0.5, &g);
  for (double m : values(mask)) EXPECT_TRUE(m == 0.0 || m == 2.0) << m;
}

TEST(RandomOps, TheStateRoundTripsThroughATensor) {
  Generator g(0);
  const Tensor state = rng_state(g);
  EXPECT_EQ(state->dtype(), DType::UInt8);
  EXPECT_EQ(state->numel(), static_cast<int64_t>(Generator::kStateSize));
  const std::vector<double> first = values(rand(Shape{4}, DType::Float64, &g));
  set_rng_state(g, state);
  EXPECT_EQ(values(rand(Shape{4}, DType::Float64, &g)), first);
  EXPECT_THROW(set_rng_state(g, std::vector<uint8_t>(3)), std::runtime_error);
}

}  // namespace
}  // namespace ember
