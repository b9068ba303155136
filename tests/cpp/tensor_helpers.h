#pragma once
// Small tensors to test with and their values to compare.

#include <vector>

#include "ember/ops.h"

namespace ember::test_tensors {

// 0, 1, ..., numel - 1 in `shape`, as float64.
inline Tensor iota(const DimList& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return reshape(arange(Scalar::integer(0), Scalar::integer(n), Scalar::integer(1), DType::Float64),
                 shape);
}

// The elements in row-major order, as doubles.
inline std::vector<double> values(const Tensor& t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t->numel(); ++i) out.push_back(element_as_double(t, i));
  return out;
}

}  // namespace ember::test_tensors
