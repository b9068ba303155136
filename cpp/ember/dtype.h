#pragma once
// Element types and torch's type-promotion rules.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ember {

// Ordered by promotion category: Bool < Int64 < Float32 < Float64.
enum class DType : uint8_t { Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3 };

inline size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool:
      return 1;
    case DType::Int64:
      return 8;
    case DType::Float32:
      return 4;
    case DType::Float64:
      return 8;
  }
  return 0;
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

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
    case DType::Int64:
      return "int64";
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
    case DType::Int64:
      return "ember.LongTensor";
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
    case DType::Int64:
      return "Long";
    case DType::Float32:
      return "Float";
    case DType::Float64:
      return "Double";
  }
  return "?";
}

inline DType promote(DType a, DType b) { return a > b ? a : b; }

// Calls f with a value of the C++ type for `t` (f receives a null pointer of it).
#define EMBER_DISPATCH(t, NAME, ...)         \
  [&] {                                      \
    switch (t) {                             \
      case ::ember::DType::Float32: {        \
        using NAME = float;                  \
        return __VA_ARGS__();                \
      }                                      \
      case ::ember::DType::Float64: {        \
        using NAME = double;                 \
        return __VA_ARGS__();                \
      }                                      \
      case ::ember::DType::Int64: {          \
        using NAME = int64_t;                \
        return __VA_ARGS__();                \
      }                                      \
      case ::ember::DType::Bool: {           \
        using NAME = bool;                   \
        return __VA_ARGS__();                \
      }                                      \
    }                                        \
    throw std::logic_error("unknown dtype"); \
  }()

#define EMBER_DISPATCH_FLOAT(t, NAME, ...)               \
  [&] {                                                  \
    switch (t) {                                         \
      case ::ember::DType::Float32: {                    \
        using NAME = float;                              \
        return __VA_ARGS__();                            \
      }                                                  \
      case ::ember::DType::Float64: {                    \
        using NAME = double;                             \
        return __VA_ARGS__();                            \
      }                                                  \
      default:                                           \
        break;                                           \
    }                                                    \
    throw std::logic_error("expected a floating dtype"); \
  }()

}  // namespace ember
