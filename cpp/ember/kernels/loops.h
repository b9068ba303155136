#pragma once
// Strided iteration shared by elementwise and reduction kernels.

#include <array>
#include <cstdint>

#include "ember/parallel.h"
#include "ember/shape.h"

namespace ember {

// Note [Row iteration]
// Kernels see a tensor expression as K operands over one iteration shape,
// each with its own element strides (0 along broadcast or reduced dims).
// Adjacent dims that every operand walks contiguously are merged first, so a
// contiguous operation is one long row and its inner loop vectorizes.
// for_each_row calls row(offsets, n, inner_strides) per innermost row, where
// offsets[k] is operand k's element offset of the row start.
template <size_t K>
struct RowPlan {
  Shape shape;                     // merged iteration shape
  std::array<Strides, K> strides;  // merged strides per operand
};

template <size_t K>
RowPlan<K> plan_rows(const Shape& shape, const std::array<const Strides*, K>& strides) {
  RowPlan<K> plan;
  const size_t nd = shape.size();
  // Walk from the innermost dim outwards, folding a dim into the current one
  // when every operand steps contiguously across the boundary.
  for (size_t i = nd; i-- > 0;) {
    const int64_t size = shape[i];
    if (size == 1) continue;
    if (!plan.shape.empty()) {
      bool mergeable = true;
      const int64_t inner = plan.shape[0];
      for (size_t k = 0; k < K; ++k) {
        if ((*strides[k])[i] != plan.strides[k][0] * inner) mergeable = false;
      }
      if (mergeable) {
        plan.shape[0] *= size;
        continue;
      }
    }
    plan.shape.insert(0, size);
    for (size_t k = 0; k < K; ++k) plan.strides[k].insert(0, (*strides[k])[i]);
  }
  if (plan.shape.empty()) {  // a single element
    plan.shape.push_back(1);
    for (size_t k = 0; k < K; ++k) plan.strides[k].push_back(0);
  }
  return plan;
}

// Runs row() over the elements [begin, end) of the plan in row-major order.
template <size_t K, typename Row>
void for_each_row_range(const RowPlan<K>& plan, int64_t begin, int64_t end, Row&& row) {
  const size_t nd = plan.shape.size();
  const int64_t inner = plan.shape[nd - 1];
  std::array<int64_t, K> inner_strides;
  for (size_t k = 0; k < K; ++k) inner_strides[k] = plan.strides[k][nd - 1];
  // Decompose `begin` into an index and per-operand offsets.
  Shape index(nd, 0);
  std::array<int64_t, K> offsets{};
  int64_t rest = begin;
  for (size_t d = nd; d-- > 0;) {
    index[d] = rest % plan.shape[d];
    rest /= plan.shape[d];
    for (size_t k = 0; k < K; ++k) offsets[k] += index[d] * plan.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(inner - index[nd - 1], end - pos);
    row(offsets.data(), n, inner_strides.data());
    pos += n;
    if (pos >= end) break;
    // Advance to the start of the next row.
    for (size_t k = 0; k < K; ++k) offsets[k] -= index[nd - 1] * inner_strides[k];
    index[nd - 1] = 0;
    for (size_t d = nd - 1; d-- > 0;) {
      if (++index[d] < plan.shape[d]) {
        for (size_t k = 0; k < K; ++k) offsets[k] += plan.strides[k][d];
        break;
      }
      for (size_t k = 0; k < K; ++k) offsets[k] -= plan.strides[k][d] * (plan.shape[d] - 1);
      index[d] = 0;
    }
  }
}

// Elementwise iteration; goes parallel for large work when `parallel` is set
// (callers pass false when operands alias each other's outputs in a way that
// makes chunking unsafe, e.g. reductions into a broadcast output).
template <size_t K, typename Row>
void for_each_row(const Shape& shape, const std::array<const Strides*, K>& strides, Row&& row,
                  bool parallel = true) {
  const int64_t n = numel_of(shape);
  if (n == 0) return;
  const RowPlan<K> plan = plan_rows<K>(shape, strides);
  if (!parallel || n < kParallelGrain) {
    for_each_row_range(plan, 0, n, row);
    return;
  }
  parallel_for(n, kParallelGrain,
               [&](int64_t begin, int64_t end) { for_each_row_range(plan, begin, end, row); });
}

// Strides of a tensor of `shape`/`strides` broadcast to `out_shape` (0 where broadcast).
inline Strides broadcast_strides(const Shape& shape, const Strides& strides,
                                 const Shape& out_shape) {
  Strides result(out_shape.size(), 0);
  const size_t lead = out_shape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    result[lead + i] = shape[i] == 1 ? 0 : strides[i];
  }
  return result;
}

}  // namespace ember
