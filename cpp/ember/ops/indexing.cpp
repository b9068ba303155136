// x[indices] and x[indices] = value (tensor_index.h): the basic items become
// views, the tensor items pick points after them, and writes go through
// those reads so the graph records them as torch's index_put does.

#include <algorithm>
#include <optional>
#include <string>

#include "ember/autograd/grad_mode.h"
#include "ember/ops.h"
#include "ember/ops/index_positions.h"
#include "ember/tensor_index.h"

namespace ember {
namespace {

// An advanced item (a tensor or a bool) as an int64 index or a bool mask; an
// undefined tensor for the basic items. uint8 is a mask, as torch still reads it.
Tensor advanced_tensor(const TensorIndex& item) {
  if (const bool* mask = item.boolean()) return scalar_tensor(Scalar::boolean(*mask), DType::Bool);
  const Tensor* t = item.tensor();
  if (!t) return nullptr;
  switch ((*t)->dtype()) {
    case DType::Bool:
    case DType::Int64:
      return *t;
    case DType::Int32:
      return convert(*t, DType::Int64);
    case DType::UInt8:
      return convert(*t, DType::Bool);
    default:
      throw IndexError("tensors used as indices must be long, int, byte or bool tensors");
  }
}

// The dims of the indexed tensor an advanced index takes: one per mask dim,
// one for an integer index.
int64_t width_of(const Tensor& advanced) {
  return advanced->dtype() == DType::Bool ? advanced->dim() : 1;
}

bool is_full_slice(const Slice& s) { return !s.start && !s.stop && !s.step; }

// A mask must have the shape of the dims it covers, `dim` on.
void check_mask_shape(const Tensor& out, int64_t dim, const Tensor& mask) {
  for (int64_t d = 0; d < mask->dim(); ++d) {
    if (dim + d >= out->dim() || mask->shape()[d] != out->shape()[dim + d]) {
      throw IndexError("The shape of the mask " + shape_str(mask->shape()) + " at index " +
                       std::to_string(d) + " does not match the shape of the indexed tensor " +
                       shape_str(out->shape()) + " at index " + std::to_string(dim + d));
    }
  }
}

// The coordinates of a mask's true elements, one integer index per mask dim,
// each addressing out's dims from `dim` on.
std::vector<std::pair<int64_t, Tensor>> mask_coordinates(const Tensor& out, int64_t dim,
                                                         const Tensor& mask) {
  check_mask_shape(out, dim, mask);
  GradModeGuard no_grad(false);
  const Tensor flat = nonzero_flat(mask);
  std::vector<std::pair<int64_t, Tensor>> coords;
  int64_t inner = mask->numel();
  for (int64_t d = 0; d < mask->dim(); ++d) {
    inner /= std::max<int64_t>(mask->shape()[d], 1);
    const Tensor along = floor_divide(flat, Scalar::integer(std::max<int64_t>(inner, 1)));
    coords.emplace_back(dim + d, remainder(along, Scalar::integer(mask->shape()[d])));
  }
  return coords;
}

// The index tensors broadcast together, with NumPy's message when they cannot be.
Shape broadcast_points(const std::vector<std::pair<int64_t, Tensor>>& points) {
  Shape shape;
  for (const auto& point : points) {
    try {
      shape = broadcast_shapes(shape, point.second->shape());
    } catch (const std::runtime_error&) {
      std::string shapes;
      for (const auto& [dim, idx] : points)
        shapes += (shapes.empty() ? "" : ", ") + shape_str(idx->shape());
      throw IndexError(
          "shape mismatch: indexing tensors could not be broadcast together with shapes " + shapes);
    }
  }
  return shape;
}

// One advanced index alone: a 0-d bool adds a dim of size 1 or 0, a mask
// picks its true elements, an integer index picks rows.
Tensor apply_one_advanced(const Tensor& out, int64_t dim, const Tensor& idx) {
  if (idx->dtype() == DType::Bool && idx->dim() == 0) {
    const int64_t kept = item_as_scalar(idx).int_value;
    return index_rows(unsqueeze(out, dim), dim, zeros(Shape{kept}, DType::Int64));
  }
  if (idx->dtype() == DType::Bool) return index_by_mask(out, idx, dim);
  if (idx->dim() == 0) return select(out, dim, item_as_scalar(idx).int_value);
  return index_rows(out, dim, idx);
}

// Applies advanced (tensor) indices after the basic ones. `adv` holds each
// index with the dim of `out` it starts at. One index may be a mask or a 0-d
// bool; several are made integer indices (a mask gives one per dim) that are
// broadcast together and pick points. As in torch and NumPy, the picked dims
// replace the indexed ones in place when those are adjacent, and lead the
// result otherwise (x[i, :, j] has the broadcast shape first).
Tensor apply_advanced(Tensor out, const std::vector<std::pair<int64_t, Tensor>>& adv) {
  if (adv.size() == 1) return apply_one_advanced(out, adv[0].first, adv[0].second);
  std::vector<std::pair<int64_t, Tensor>> points;
  for (const auto& [dim, idx] : adv) {
    if (idx->dtype() != DType::Bool) {
      points.emplace_back(dim, idx);
    } else if (idx->dim() == 0) {
      throw IndexError("ember supports a 0-d boolean index only as the one tensor index");
    } else {
      for (auto& coord : mask_coordinates(out, dim, idx)) points.push_back(std::move(coord));
    }
  }
  bool adjacent = true;
  for (size_t k = 1; k < points.size(); ++k) {
    adjacent = adjacent && points[k].first == points[0].first + static_cast<int64_t>(k);
  }
  if (!adjacent) {  // indexed dims to the front, in order
    DimList order;
    std::vector<bool> indexed(static_cast<size_t>(out->dim()), false);
    for (const auto& point : points) {
      order.push_back(point.first);
      indexed[static_cast<size_t>(point.first)] = true;
    }
    for (int64_t d = 0; d < out->dim(); ++d) {
      if (!indexed[static_cast<size_t>(d)]) order.push_back(d);
    }
    out = permute(out, order);
    for (size_t k = 0; k < points.size(); ++k) points[k].first = static_cast<int64_t>(k);
  }
  const int64_t first = points[0].first;
  // Linear position within the merged dims [first, first + k).
  Tensor linear = zeros(broadcast_points(points), DType::Int64);
  int64_t stride = 1;
  {
    GradModeGuard no_grad(false);
    for (size_t k = points.size(); k-- > 0;) {
      const int64_t d = first + static_cast<int64_t>(k);
      const int64_t size = out->shape()[d];
      const Tensor w = wrapped_positions(points[k].second, size, d);
      linear = add(linear, mul(w, Scalar::integer(stride)));
      stride *= size;
    }
  }
  DimList merged;
  for (int64_t d = 0; d < first; ++d) merged.push_back(out->shape()[d]);
  merged.push_back(stride);
  for (int64_t d = first + static_cast<int64_t>(points.size()); d < out->dim(); ++d) {
    merged.push_back(out->shape()[d]);
  }
  return index_rows(reshape(out, merged), first, linear);
}

// Each item's advanced tensor (undefined for the basic ones) and the count
// of self's dims the items take, checked against self's rank before any
// item is read, as torch checks it.
struct AdvancedItems {
  std::vector<Tensor> tensors;
  int64_t consuming = 0;
};

AdvancedItems advanced_items(const Tensor& self, const TensorIndices& indices) {
  AdvancedItems items;
  items.tensors.resize(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i].is_none() || indices[i].is_ellipsis()) continue;
    items.tensors[i] = advanced_tensor(indices[i]);
    items.consuming += items.tensors[i] ? width_of(items.tensors[i]) : 1;
  }
  if (self->dim() == 0 && items.consuming > 0) {
    throw IndexError(
        "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
        "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number");
  }
  if (items.consuming > self->dim()) {
    throw IndexError("too many indices for tensor of dimension " + std::to_string(self->dim()));
  }
  return items;
}

bool has_advanced_item(const TensorIndices& indices) {
  return std::any_of(indices.begin(), indices.end(), [](const TensorIndex& item) {
    return item.tensor() != nullptr || item.boolean() != nullptr;
  });
}

}  // namespace

void check_index_dims(const Tensor& self, const TensorIndices& indices) {
  advanced_items(self, indices);
}

Tensor index(const Tensor& self, const TensorIndices& indices) {
  const AdvancedItems items = advanced_items(self, indices);
  const std::vector<Tensor>& adv_tensors = items.tensors;
  const int64_t skipped = self->dim() - items.consuming;  // the dims an Ellipsis spans
  int64_t source_dim = 0;  // dim of `self` the next item indexes (for messages)
  Tensor out = self;
  int64_t dim = 0;
  std::vector<std::pair<int64_t, Tensor>> adv;
  for (size_t i = 0; i < indices.size(); ++i) {
    const TensorIndex& item = indices[i];
    if (adv_tensors[i]) {
      adv.emplace_back(dim, adv_tensors[i]);
      dim += width_of(adv_tensors[i]);
      source_dim += width_of(adv_tensors[i]);
    } else if (const int64_t* k = item.integer()) {
      const int64_t size = out->shape()[dim];
      if (*k < -size || *k >= size) throw IndexError(out_of_bounds_message(*k, source_dim, size));
      out = select(out, dim, *k);
      ++source_dim;
    } else if (const Slice* s = item.slice()) {
      // Inside a tuple torch skips `:` (x[:, 0] records only the select).
      if (indices.size() == 1 || !is_full_slice(*s)) {
        out = slice(out, dim, s->start, s->stop, s->step.value_or(1));
      }
      ++dim;
      ++source_dim;
    } else if (item.is_none()) {
      out = unsqueeze(out, dim);
      ++dim;
    } else {  // Ellipsis
      dim += skipped;
      source_dim += skipped;
    }
  }
  if (!adv.empty()) return apply_advanced(out, adv);
  if (out == self) out = alias(self);
  return out;
}

namespace {

// torch drops a value's leading size-1 dims beyond the target's rank:
// x[0] = ones(1, n) writes a row of n.
Tensor without_leading_ones(const Tensor& value, size_t rank) {
  Tensor v = value;
  while (v->dim() > static_cast<int64_t>(rank) && v->shape()[0] == 1) {
    v = reshape(v, DimList(v->shape().begin() + 1, v->shape().end()));
  }
  return v;
}

// The value of `x[idx] = value` broadcast to the indexing result's shape, as
// torch's index_put.
Tensor value_for_index(const Tensor& value, const Shape& result) {
  const Tensor v = without_leading_ones(value, result.size());
  const Shape& from = v->shape();
  bool fits = from.size() <= result.size();
  for (size_t k = 1; fits && k <= from.size(); ++k) {
    fits = from[from.size() - k] == 1 || from[from.size() - k] == result[result.size() - k];
  }
  if (!fits) {
    throw std::runtime_error("shape mismatch: value tensor of shape " + shape_str(value->shape()) +
                             " cannot be broadcast to indexing result of shape " +
                             shape_str(result));
  }
  return expand(v, DimList(result.begin(), result.end()));
}

// The flat positions self[indices] reads, in its shape: writes go through them.
Tensor positions_read(const Tensor& self, const TensorIndices& indices) {
  GradModeGuard no_grad(false);
  const Tensor all =
      arange(Scalar::integer(0), Scalar::integer(self->numel()), Scalar::integer(1), DType::Int64);
  return index(reshape(all, DimList(self->shape().begin(), self->shape().end())), indices);
}

// torch's index_put takes a value tensor of the destination's dtype only (a
// 0-d value beside a boolean mask goes through masked_fill, which converts).
void check_value_dtype(const Tensor& self, const TensorIndices& indices, const Tensor& value) {
  if (value->dtype() == self->dtype()) return;
  bool advanced = false, mask = false;
  for (const TensorIndex& item : indices) {
    const Tensor t = advanced_tensor(item);
    if (!t) continue;
    advanced = true;
    mask = mask || t->dtype() == DType::Bool;
  }
  if (!advanced || (mask && value->dim() == 0)) return;
  throw std::runtime_error(
      std::string("Index put requires the source and destination dtypes match, got ") +
      scalar_type_name(self->dtype()) + " for the destination and " +
      scalar_type_name(value->dtype()) + " for the source.");
}

// The right-hand side of an assignment: a number fills, a tensor is copied.
struct Assigned {
  std::optional<Scalar> number;
  Tensor tensor;
};

void write(Tensor target, const Assigned& value) {
  if (value.number) {
    fill_(target, *value.number);
  } else {
    copy_(target, without_leading_ones(value.tensor, target->shape().size()));
  }
}

// x[mask] = v for a tensor v: v broadcasts to x[mask]'s shape (selected
// elements first, in row-major order), as in torch's index_put. Written as
// one scatter into a flat copy of x and one copy_ back, so any layout works
// and v's gradient flows through the scatter.
void assign_masked(Tensor& self, const TensorIndex& mask, const Tensor& value) {
  const Tensor positions = positions_read(self, {mask});
  const Tensor spread =
      reshape(value_for_index(to_dtype(value, self->dtype()), positions->shape()), {-1});
  const Tensor written = scatter(reshape(self, {-1}), 0, reshape(positions, {-1}), spread);
  copy_(self, reshape(written, DimList(self->shape().begin(), self->shape().end())));
}

// x[mask] = number: one where() over all of x.
void fill_masked(Tensor& self, const Tensor& mask, const Scalar& number) {
  check_mask_shape(self, 0, mask);
  Tensor spread = mask;
  while (spread->dim() < self->dim()) spread = unsqueeze(spread, -1);
  copy_(self, where(spread, scalar_tensor(number, self->dtype()), self));
}

// x[rows] = v: row by row, so later rows win on repeats, as in torch. A value
// shaped like x[rows] gives one slice per row; anything else broadcasts.
void assign_rows(Tensor& self, const Tensor& index, const Assigned& value) {
  const Tensor rows = wrapped_positions(index, self->dim() ? self->shape()[0] : 0, 0);
  Shape picked = rows->shape();
  for (int64_t d = 1; d < self->dim(); ++d) picked.push_back(self->shape()[d]);
  const int64_t row_numel =
      self->dim() ? self->numel() / std::max<int64_t>(self->shape()[0], 1) : 1;
  const Tensor v_rows =
      value.tensor ? reshape(value_for_index(value.tensor, picked), {rows->numel(), row_numel})
                   : nullptr;
  const int64_t* pr = rows->data<int64_t>();
  for (int64_t i = 0; i < rows->numel(); ++i) {
    Tensor target = select(self, 0, pr[i]);
    if (value.number) {
      fill_(target, *value.number);
    } else {
      copy_(target,
            reshape(select(v_rows, 0, i), DimList(target->shape().begin(), target->shape().end())));
    }
  }
}

void put_item(Tensor& self, const TensorIndex& item, const Assigned& value);

// x[:, idx] = v: index a tensor of flat positions the same way, then assign
// through a flat view of x by those positions.
void put_through_positions(Tensor& self, const TensorIndices& indices, const Assigned& value);

void put(Tensor& self, const TensorIndices& indices, const Assigned& value) {
  if (has_advanced_item(indices)) {
    put_through_positions(self, indices, value);
  } else {
    write(index(self, indices), value);
  }
}

void put_through_positions(Tensor& self, const TensorIndices& indices, const Assigned& value) {
  if (!self->is_contiguous()) {  // assign into a contiguous copy, then write it back
    Tensor copy = clone(self);
    put(copy, indices, value);
    copy_(self, copy);
    return;
  }
  const Tensor positions = positions_read(self, indices);
  Tensor flat = reshape(self, {-1});
  Assigned flat_value = value;
  if (value.tensor) {
    flat_value.tensor = reshape(value_for_index(value.tensor, positions->shape()), {-1});
    check_value_dtype(flat, {reshape(positions, {-1})}, flat_value.tensor);
  }
  put_item(flat, reshape(positions, {-1}), flat_value);
}

void put_item(Tensor& self, const TensorIndex& item, const Assigned& value) {
  const Tensor t = advanced_tensor(item);
  if (!t) {
    write(index(self, {item}), value);
  } else if (t->dtype() != DType::Bool) {
    assign_rows(self, t, value);
  } else if (value.number) {
    fill_masked(self, t, *value.number);
  } else {
    assign_masked(self, item, value.tensor);
  }
}

}  // namespace

void index_put_(Tensor& self, const TensorIndices& indices, const Tensor& value) {
  check_value_dtype(self, indices, value);
  put(self, indices, Assigned{std::nullopt, value});
}

void index_put_(Tensor& self, const TensorIndices& indices, const Scalar& value) {
  put(self, indices, Assigned{value, nullptr});
}

void index_put_item_(Tensor& self, const TensorIndex& item, const Tensor& value) {
  check_value_dtype(self, {item}, value);
  put_item(self, item, Assigned{std::nullopt, value});
}

void index_put_item_(Tensor& self, const TensorIndex& item, const Scalar& value) {
  put_item(self, item, Assigned{value, nullptr});
}

}  // namespace ember
