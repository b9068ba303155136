#include "ember/kernels/padding.h"

#include <algorithm>
#include <cstring>

#include "ember/parallel.h"

namespace ember {
namespace {

int64_t source_at(const std::vector<int64_t>& table, int64_t i) {
  return table.empty() ? i : table[static_cast<size_t>(i)];
}

// Row strides (in elements) of a contiguous tensor of `shape`.
std::vector<int64_t> row_strides(const Shape& shape) {
  std::vector<int64_t> stride(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d) {
    stride[d] = stride[d + 1] * shape[d + 1];
  }
  return stride;
}

// The input offset of output row `row` (every dim but the last), or -1 when
// some dim reads the fill value.
int64_t source_row(const PadTables& t, const std::vector<int64_t>& in_stride, int64_t row) {
  int64_t offset = 0;
  for (int64_t d = static_cast<int64_t>(t.out_shape.size()) - 2; d >= 0; --d) {
    const int64_t i = row % t.out_shape[d];
    row /= t.out_shape[d];
    const int64_t s = source_at(t.source[d], i);
    if (s < 0) return -1;
    offset += s * in_stride[d];
  }
  return offset;
}

int64_t row_grain(int64_t row_work) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_work, 1));
}

}  // namespace

Tensor pad_kernel(const Tensor& x, const PadTables& t, const Scalar& fill) {
  Tensor out = empty(t.out_shape, x->dtype());
  if (out->numel() == 0) return out;
  if (t.out_shape.empty()) {  // a 0-d tensor pads nothing
    std::memcpy(out->raw_data(), x->raw_data(), itemsize(x->dtype()));
    return out;
  }
  const std::vector<int64_t> in_stride = row_strides(t.in_shape);
  const int64_t width = t.out_shape.back(), rows = out->numel() / width;
  const std::vector<int64_t>& last = t.source.back();
  EMBER_DISPATCH_ALL(x->dtype(), T, [&] {
    const T value = fill.template to<T>();
    const T* src = x->data<T>();
    T* dst = out->data<T>();
    parallel_for(rows, row_grain(width), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        T* row = dst + r * width;
        const int64_t from = source_row(t, in_stride, r);
        if (from < 0) {
          std::fill(row, row + width, value);
          continue;
        }
        const T* in = src + from;
        if (last.empty()) {
          std::copy(in, in + width, row);
          continue;
        }
        for (int64_t j = 0; j < width; ++j) {
          const int64_t s = last[static_cast<size_t>(j)];
          row[j] = s < 0 ? value : in[s];
        }
      }
    });
  });
  return out;
}

Tensor pad_backward_kernel(const Tensor& grad, const PadTables& t) {
  Tensor out = zeros(t.in_shape, grad->dtype());
  if (grad->numel() == 0 || out->numel() == 0) return out;
  if (t.in_shape.empty()) {  // a 0-d tensor padded nothing
    std::memcpy(out->raw_data(), grad->raw_data(), itemsize(grad->dtype()));
    return out;
  }
  // Leading dims with no table are independent planes: several output rows
  // of one plane can read one input row, rows of two planes never do.
  size_t lead = 0;
  while (lead + 1 < t.source.size() && t.source[lead].empty()) ++lead;
  int64_t planes = 1;
  for (size_t d = 0; d < lead; ++d) planes *= t.in_shape[d];
  const std::vector<int64_t> in_stride = row_strides(t.in_shape);
  const int64_t width = t.out_shape.back(), rows = grad->numel() / width;
  const int64_t plane_rows = rows / planes;
  const std::vector<int64_t>& last = t.source.back();
  EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
    const T* g = grad->data<T>();
    T* dx = out->data<T>();
    parallel_for(planes, row_grain(plane_rows * width), [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        for (int64_t r = p * plane_rows; r < (p + 1) * plane_rows; ++r) {
          const int64_t to = source_row(t, in_stride, r);
          if (to < 0) continue;
          const T* row = g + r * width;
          T* in = dx + to;
          for (int64_t j = 0; j < width; ++j) {
            const int64_t s = source_at(last, j);
            if (s >= 0) in[s] += row[j];
          }
        }
      }
    });
  });
  return out;
}

}  // namespace ember
