#pragma once
// Element types and torch's type-promotion rules.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "ember/half.h"

namespace ember {

// The numbering is no order: promotion is a table (see promote).
enum class DType : uint8_t {
  Bool = 0,
  Int64 = 1,
  Float32 = 2,
  Float64 = 3,
  UInt8 = 4,
  Int8 = 5,
  Int16 = 6,
  Int32 = 7,
  Float16 = 8,
  BFloat16 = 9,
};
inline constexpr int kNumDTypes = 10;

inline size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8:
      return 1;
    case DType::Int16:
    case DType::Float16:
    case DType::BFloat16:
      return 2;
    case DType::Int32:
    case DType::Float32:
      return 4;
    case DType::Int64:
    case DType::Float64:
      return 8;
  }
  return 0;
}

inline bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}
inline bool is_integral(DType t) { return !is_floating(t) && t != DType::Bool; }

// Note [Compute dtypes]
// Kernels exist for bool, int64, float32 and float64. A tensor of another
// dtype is computed in the widest type of its kind (int64 for the integers,
// float32 for the half types, see Note [Half types]) and the result converted
// back, which gives torch's values: integer math wraps the same way modulo
// 2**bits, and torch's CPU computes half math in float32 too.
inline DType kernel_dtype(DType t) {
  switch (t) {
    case DType::UInt8:
    case DType::Int8:
    case DType::Int16:
    case DType::Int32:
      return DType::Int64;
    case DType::Float16:
    case DType::BFloat16:
      return DType::Float32;
    default:
      return t;
  }
}
inline bool has_kernels(DType t) { return kernel_dtype(t) == t; }

// The dtype given to floats made without one: Python floats in tensor(),
// factories, integer math that yields floats (torch.set_default_dtype).
// Float32 unless changed; one setting for the process, as in torch.
inline std::atomic<DType>& default_float_dtype_slot() {
  static std::atomic<DType> slot{DType::Float32};
  return slot;
}
inline DType default_float_dtype() { return default_float_dtype_slot().load(); }
inline void set_default_float_dtype(DType t) { default_float_dtype_slot().store(t); }

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool:
      return "bool";
    case DType::UInt8:
      return "uint8";
    case DType::Int8:
      return "int8";
    case DType::Int16:
      return "int16";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::Float16:
      return "float16";
    case DType::BFloat16:
      return "bfloat16";
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
  }
  return "?";
}

// torch's legacy type names, used in version-counter error messages.
inline const char* legacy_type_name(DType t) {
  switch (t) {
    case DType::Bool:
      return "ember.BoolTensor";
    case DType::UInt8:
      return "ember.ByteTensor";
    case DType::Int8:
      return "ember.CharTensor";
    case DType::Int16:
      return "ember.ShortTensor";
    case DType::Int32:
      return "ember.IntTensor";
    case DType::Int64:
      return "ember.LongTensor";
    case DType::Float16:
      return "ember.HalfTensor";
    case DType::BFloat16:
      return "ember.BFloat16Tensor";
    case DType::Float32:
      return "ember.FloatTensor";
    case DType::Float64:
      return "ember.DoubleTensor";
  }
  return "?";
}

// torch's C++ scalar type names ("Float", "Long"), used in dtype errors.
inline const char* scalar_type_name(DType t) {
  switch (t) {
    case DType::Bool:
      return "Bool";
    case DType::UInt8:
      return "Byte";
    case DType::Int8:
      return "Char";
    case DType::Int16:
      return "Short";
    case DType::Int32:
      return "Int";
    case DType::Int64:
      return "Long";
    case DType::Float16:
      return "Half";
    case DType::BFloat16:
      return "BFloat16";
    case DType::Float32:
      return "Float";
    case DType::Float64:
      return "Double";
  }
  return "?";
}

// The C++ type names torch's TypeMeta prints ("long int", "c10::Half"), which
// some of its dtype messages quote.
inline const char* c_type_name(DType t) {
  switch (t) {
    case DType::Bool:
      return "bool";
    case DType::UInt8:
      return "unsigned char";
    case DType::Int8:
      return "signed char";
    case DType::Int16:
      return "short int";
    case DType::Int32:
      return "int";
    case DType::Int64:
      return "long int";
    case DType::Float16:
      return "c10::Half";
    case DType::BFloat16:
      return "c10::BFloat16";
    case DType::Float32:
      return "float";
    case DType::Float64:
      return "double";
  }
  return "?";
}

// torch's promotion of two dtypes: the higher kind (bool < integer < float),
// then the wider type; uint8 with int8 needs int16, float16 with bfloat16 float32.
inline DType promote(DType a, DType b) {
  if (a == b || b == DType::Bool) return a;
  if (a == DType::Bool) return b;
  if (is_floating(a) != is_floating(b)) return is_floating(a) ? a : b;
  if (itemsize(a) != itemsize(b)) return itemsize(a) > itemsize(b) ? a : b;
  return is_floating(a) ? DType::Float32 : DType::Int16;  // {f16, bf16} or {u8, i8}
}

// Note [Dispatch]
// EMBER_DISPATCH runs its body with NAME bound to the C++ type of a kernel
// dtype (Note [Compute dtypes]); other dtypes raise torch's "not implemented
// for" error. EMBER_DISPATCH_ALL covers every dtype, for kernels that only
// move or convert elements.
[[noreturn]] void throw_not_implemented_for(DType t);

// Calls f with a value of the C++ type for `t` (f receives a null pointer of it).
#define EMBER_DISPATCH(t, NAME, ...)       \
  [&] {                                    \
    switch (t) {                           \
      case ::ember::DType::Float32: {      \
        using NAME = float;                \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Float64: {      \
        using NAME = double;               \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Int64: {        \
        using NAME = int64_t;              \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Bool: {         \
        using NAME = bool;                 \
        return __VA_ARGS__();              \
      }                                    \
      default:                             \
        break;                             \
    }                                      \
    ::ember::throw_not_implemented_for(t); \
  }()

#define EMBER_DISPATCH_FLOAT(t, NAME, ...) \
  [&] {                                    \
    switch (t) {                           \
      case ::ember::DType::Float32: {      \
        using NAME = float;                \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Float64: {      \
        using NAME = double;               \
        return __VA_ARGS__();              \
      }                                    \
      default:                             \
        break;                             \
    }                                      \
    ::ember::throw_not_implemented_for(t); \
  }()

#define EMBER_DISPATCH_ALL(t, NAME, ...)   \
  [&] {                                    \
    switch (t) {                           \
      case ::ember::DType::Bool: {         \
        using NAME = bool;                 \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::UInt8: {        \
        using NAME = uint8_t;              \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Int8: {         \
        using NAME = int8_t;               \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Int16: {        \
        using NAME = int16_t;              \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Int32: {        \
        using NAME = int32_t;              \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Int64: {        \
        using NAME = int64_t;              \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Float16: {      \
        using NAME = ::ember::Half;        \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::BFloat16: {     \
        using NAME = ::ember::BFloat16;    \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Float32: {      \
        using NAME = float;                \
        return __VA_ARGS__();              \
      }                                    \
      case ::ember::DType::Float64: {      \
        using NAME = double;               \
        return __VA_ARGS__();              \
      }                                    \
    }                                      \
    ::ember::throw_not_implemented_for(t); \
  }()

}  // namespace ember
