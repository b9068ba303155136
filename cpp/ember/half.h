#pragma once
// The 16-bit float storage types, float16 (IEEE binary16) and bfloat16.
//
// Note [Half types]
// As on torch's CPU, half tensors store 16 bits per element and compute in
// float32: a kernel converts its operands to float32, runs, and rounds the
// result back once (see kernel_dtype in dtype.h). Rounding is to nearest even,
// overflow goes to inf and NaN stays NaN. A double is rounded to float first,
// as torch's c10::Half does, so double -> half matches torch bit for bit.

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ember {

namespace half_bits {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float from_float16(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent != 0) return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  const float subnormal = static_cast<float>(mantissa) * 0x1p-24f;  // exact
  return sign ? -subnormal : subnormal;
}

inline uint16_t to_float16(float f) {
  const uint32_t bits = float_bits(f);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u;    // NaN
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;   // >= 65520 rounds to inf
  if (magnitude >= 0x38800000u) {                        // a normal half
    const uint32_t rebiased = magnitude - (112u << 23);  // exponent bias 127 -> 15
    const uint32_t rounded = rebiased + 0xfffu + ((rebiased >> 13) & 1u);  // to nearest even
    return static_cast<uint16_t>(sign | (rounded >> 13));
  }
  // A subnormal half counts units of 2**-24; the scaled value is exact in
  // float and nearbyint rounds it to nearest even.
  const float units = std::nearbyint(bits_float(magnitude) * 0x1p24f);
  return static_cast<uint16_t>(sign | static_cast<uint16_t>(units));
}

inline float from_bfloat16(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

inline uint16_t to_bfloat16(float f) {
  const uint32_t bits = float_bits(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace half_bits

// A 16-bit float that reads and writes as float. `Encode`/`Decode` give the
// format; every conversion from another number type goes through float.
template <uint16_t (*Encode)(float), float (*Decode)(uint16_t)>
struct Float16Storage {
  uint16_t bits;  // uninitialized by default, like the built-in number types

  Float16Storage() = default;
  template <typename T>
  explicit Float16Storage(T value) : bits(Encode(static_cast<float>(value))) {}
  operator float() const { return Decode(bits); }  // NOLINT: implicit, as a number type
};

using Half = Float16Storage<half_bits::to_float16, half_bits::from_float16>;
using BFloat16 = Float16Storage<half_bits::to_bfloat16, half_bits::from_bfloat16>;

}  // namespace ember
