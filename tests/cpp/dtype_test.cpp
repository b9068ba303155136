// Dtypes: torch's promotion table, the 16-bit float formats, and kernels on
// the narrow dtypes (Note [Compute dtypes], Note [Half types]).

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "ember/ops.h"

namespace ember {
namespace {

TEST(DType, PromotionFollowsTorchsTable) {
  EXPECT_EQ(promote(DType::UInt8, DType::Int8), DType::Int16);
  EXPECT_EQ(promote(DType::Int8, DType::UInt8), DType::Int16);
  EXPECT_EQ(promote(DType::UInt8, DType::Int16), DType::Int16);
  EXPECT_EQ(promote(DType::Int32, DType::UInt8), DType::Int32);
  EXPECT_EQ(promote(DType::Int32, DType::Int64), DType::Int64);
  EXPECT_EQ(promote(DType::Float16, DType::BFloat16), DType::Float32);
  EXPECT_EQ(promote(DType::Float16, DType::Int64), DType::Float16);
  EXPECT_EQ(promote(DType::BFloat16, DType::Float64), DType::Float64);
  EXPECT_EQ(promote(DType::Bool, DType::UInt8), DType::UInt8);
  for (int i = 0; i < kNumDTypes; ++i) {
    const auto t = static_cast<DType>(i);
    EXPECT_EQ(promote(t, t), t);
    EXPECT_EQ(promote(t, DType::Bool), t);
  }
}

TEST(DType, EveryHalfSurvivesARoundTripThroughFloat) {
  for (uint32_t bits = 0; bits < (1u << 16); ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = half_bits::from_float16(h);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_bits::from_float16(half_bits::to_float16(f))));
      continue;
    }
    EXPECT_EQ(half_bits::to_float16(f), h) << bits;
  }
}

TEST(DType, HalfRoundsToNearestEvenAndOverflowsToInfinity) {
  // 1 + 2**-11 is halfway between 1 and the next half (1 + 2**-10): even wins.
  EXPECT_EQ(half_bits::to_float16(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(half_bits::to_float16(1.0f + 3 * 0x1p-11f), 0x3c02);
  EXPECT_EQ(half_bits::to_float16(65504.0f), 0x7bff);
  EXPECT_EQ(half_bits::to_float16(65519.0f), 0x7bff);
  EXPECT_EQ(half_bits::to_float16(65520.0f), 0x7c00);
  EXPECT_EQ(half_bits::to_float16(-1e10f), 0xfc00);
  EXPECT_EQ(half_bits::to_float16(0x1p-24f), 0x0001);    // the smallest subnormal
  EXPECT_EQ(half_bits::to_float16(0x1p-25f), 0x0000);    // halfway to it: even (zero)
  EXPECT_EQ(half_bits::to_float16(0x1.8p-25f), 0x0001);  // beyond halfway
  EXPECT_EQ(half_bits::to_float16(-0.0f), 0x8000);
}

TEST(DType, BFloat16KeepsFloatsExponentAndRoundsItsSignificand) {
  EXPECT_EQ(half_bits::to_bfloat16(1.0f), 0x3f80);
  EXPECT_EQ(half_bits::to_bfloat16(1.0f + 0x1p-8f), 0x3f80);  // a tie: even
  EXPECT_EQ(half_bits::to_bfloat16(1.0f + 3 * 0x1p-8f), 0x3f82);
  EXPECT_EQ(half_bits::from_bfloat16(0x3f81), 1.0f + 0x1p-7f);
  EXPECT_TRUE(std::isnan(
      half_bits::from_bfloat16(half_bits::to_bfloat16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(half_bits::to_bfloat16(std::numeric_limits<float>::max()), 0x7f80);  // rounds to inf
}

TEST(DType, NarrowIntegersWrapAsTheirOwnType) {
  Tensor a = full(Shape{2}, Scalar::integer(250), DType::UInt8);
  Tensor sum = add(a, Scalar::integer(10));
  EXPECT_EQ(sum->dtype(), DType::UInt8);
  EXPECT_EQ(element_as_double(sum, 0), 4.0);
  Tensor big = full(Shape{1}, Scalar::integer(2147483647), DType::Int32);
  EXPECT_EQ(element_as_double(add(big, Scalar::integer(1)), 0), -2147483648.0);
  // A number is cast to the op's dtype first: -1 is 255 for uint8.
  Tensor above = compare(BinaryOp::Gt, a, Scalar::integer(-1));
  EXPECT_EQ(above->dtype(), DType::Bool);
  EXPECT_EQ(element_as_double(above, 0), 0.0);
}

TEST(DType, HalfArithmeticRoundsEachResult) {
  Tensor one = full(Shape{1}, 1.0, DType::Float16);
  Tensor tiny = full(Shape{1}, 0x1p-11, DType::Float16);
  Tensor sum = add(one, tiny);  // exactly halfway: rounds to even, 1
  EXPECT_EQ(sum->dtype(), DType::Float16);
  EXPECT_EQ(element_as_double(sum, 0), 1.0);
  Tensor product =
      mm(full(Shape{2, 3}, 0.5, DType::BFloat16), full(Shape{3, 1}, 3.0, DType::BFloat16));
  EXPECT_EQ(product->dtype(), DType::BFloat16);
  EXPECT_EQ(element_as_double(product, 1), 4.5);
}

TEST(DType, StoringANumberChecksTheTypesRange) {
  EXPECT_THROW(full(Shape{1}, Scalar::integer(300), DType::Int8), std::runtime_error);
  EXPECT_THROW(full(Shape{1}, 70000.0, DType::Float16), std::runtime_error);
  EXPECT_NO_THROW(full(Shape{1}, Scalar::integer(-1), DType::UInt8));  // wraps to 255
  EXPECT_EQ(element_as_double(full(Shape{1}, Scalar::integer(-1), DType::UInt8), 0), 255.0);
  EXPECT_TRUE(std::isinf(element_as_double(
      full(Shape{1}, std::numeric_limits<double>::infinity(), DType::BFloat16), 0)));
}

}  // namespace
}  // namespace ember
