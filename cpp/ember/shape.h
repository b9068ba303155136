#pragma once
// Shapes, strides and the broadcasting and dimension rules shared by all ops.

#include <cstdint>
#include <stdexcept>
#include <string>

#include "ember/small_vector.h"

namespace ember {

// Inline capacity 5 covers nearly every tensor people build (see Note [Tensor layout]).
using Shape = SmallVector<int64_t, 5>;
using Strides = SmallVector<int64_t, 5>;

// Errors that map to Python exception types in the bindings.
struct IndexError : std::out_of_range {
  using std::out_of_range::out_of_range;
};
struct TypeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
struct ValueError : std::domain_error {
  using std::domain_error::domain_error;
};
struct NotImplementedError : std::logic_error {
  using std::logic_error::logic_error;
};
// A linear-algebra routine met a singular or indefinite matrix: Python's
// linalg.LinAlgError, a RuntimeError subclass as in torch.
struct LinAlgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// std::runtime_error maps to RuntimeError.

int64_t numel_of(const Shape& shape);
Strides contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 3]"

// The shape two operands broadcast to; throws torch's message on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Wraps a possibly negative dim into [0, ndim); throws IndexError like torch.
// A 0-d tensor accepts dims -1 and 0.
int64_t wrap_dim(int64_t dim, int64_t ndim);

}  // namespace ember
