// Strided views: as_strided (a view of a tensor's memory with any sizes,
// strides and offset) and its gradient; empty_strided; and the in-place view
// ops (squeeze_, unsqueeze_, transpose_, t_, as_strided_), which give a tensor
// a new geometry over the same memory (Note [In-place view ops]).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "ember/autograd/functions/elementwise.h"
#include "ember/autograd/functions/shape.h"
#include "ember/kernels/elementwise.h"
#include "ember/ops.h"

namespace ember {

namespace {

// torch's computeStorageNbytes, in its unsigned arithmetic: a negative size
// wraps around and reports an overflow, as torch's does. Any empty dim needs
// no memory at all.
uint64_t storage_nbytes(const Shape& size, const Strides& stride, int64_t offset, size_t item) {
  uint64_t n = 1;
  bool overflowed = false;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] == 0) return 0;
    uint64_t span = 0;
    overflowed |= __builtin_mul_overflow(static_cast<uint64_t>(stride[d]),
                                         static_cast<uint64_t>(size[d] - 1), &span);
    overflowed |= __builtin_add_overflow(n, span, &n);
  }
  overflowed |= __builtin_add_overflow(n, static_cast<uint64_t>(offset), &n);
  overflowed |= __builtin_mul_overflow(n, static_cast<uint64_t>(item), &n);
  if (overflowed) {
    throw std::runtime_error("Storage size calculation overflowed with sizes=" + shape_str(size) +
                             " and strides=" + shape_str(stride));
  }
  return n;
}

// The geometry checks of torch's as_strided, in its order.
void check_geometry(const Shape& size, const Strides& stride, int64_t offset) {
  if (size.size() != stride.size())
    throw std::runtime_error("mismatch in length of strides and shape");
  for (int64_t s : stride) {
    if (s < 0) {
      throw std::runtime_error(
          "as_strided: Negative strides are not supported at the moment, got strides: " +
          shape_str(stride));
    }
  }
  if (offset < 0)
    throw std::runtime_error("Tensor: invalid storage offset " + std::to_string(offset));
}

// A negative size that no stride turned into a storage overflow.
void check_sizes(const Shape& size) {
  for (int64_t s : size) {
    if (s < 0) throw std::runtime_error("numel: integer multiplication overflow");
  }
}

void check_in_bounds(const Tensor& a, const Shape& size, const Strides& stride, int64_t offset) {
  const size_t item = itemsize(a->dtype());
  const uint64_t needed = storage_nbytes(size, stride, offset, item);
  const uint64_t have = a->storage()->nbytes();
  if (needed > have) {
    throw std::runtime_error("setStorage: sizes " + shape_str(size) + ", strides " +
                             shape_str(stride) + ", storage offset " + std::to_string(offset) +
                             ", and itemsize " + std::to_string(item) +
                             " requiring a storage size of " + std::to_string(needed) +
                             " are out of bounds for storage of size " + std::to_string(have));
  }
}

// One past the last storage position the geometry reaches (0 when empty).
int64_t extent(const Shape& shape, const Strides& strides, int64_t offset) {
  int64_t end = offset + 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return 0;
    end += (shape[d] - 1) * strides[d];
  }
  return end;
}

// Whether two elements may share a position. Walking the dims from the
// smallest stride up, each stride must step past everything the smaller ones
// reach; otherwise elements may coincide (a conservative answer, as torch's).
bool may_overlap(const Shape& shape, const Strides& strides) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of dims that vary
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return false;
    if (shape[d] > 1) dims.emplace_back(strides[d], shape[d]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;  // the farthest position the smaller dims reach
  for (const auto& [stride, size] : dims) {
    if (stride <= reach) return true;
    reach += stride * (size - 1);
  }
  return false;
}

// Storage positions of the geometry's elements, in row-major order.
std::vector<int64_t> positions(const Shape& shape, const Strides& strides, int64_t offset) {
  std::vector<int64_t> out(static_cast<size_t>(numel_of(shape)));
  std::vector<int64_t> index(shape.size(), 0);
  int64_t at = offset;
  for (int64_t& p : out) {
    p = at;
    for (size_t d = shape.size(); d-- > 0;) {  // odometer step
      at += strides[d];
      if (++index[d] < shape[d]) break;
      at -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

Tensor int64_tensor(const std::vector<int64_t>& values) {
  Tensor t = empty(Shape{static_cast<int64_t>(values.size())}, DType::Int64);
  std::copy(values.begin(), values.end(), t->data<int64_t>());
  return t;
}

// How many of the input's elements sit at each position, at least 1 so that
// positions the input does not reach divide harmlessly.
Tensor copies_per_position(const std::vector<int64_t>& input_positions, int64_t size, DType dtype) {
  Tensor count = full(Shape{size}, Scalar(0.0), DType::Float64);
  double* c = count->data<double>();
  for (int64_t p : input_positions) c[p] += 1.0;
  for (int64_t i = 0; i < size; ++i) c[i] = std::max(c[i], 1.0);
  return to_dtype(count, dtype);
}

// torch's as_strided backward: the output's gradient is added into a buffer
// laid out as the shared memory (positions the output repeats add up), then
// read back at the input's positions. An input that repeats positions itself
// (an expanded tensor) gives each copy an equal share, since its own backward
// adds the copies up again. Written with recorded ops, so it has a graph of
// its own under create_graph.
Tensor as_strided_gradient(const Tensor& grad, const ViewGeometry& g) {
  const Strides in_strides =
      g.base_strides.empty() ? contiguous_strides(g.base_shape) : g.base_strides;
  const int64_t shared = std::min<int64_t>(0, g.offset);
  const int64_t in_offset = -shared;
  const int64_t out_offset = g.offset - shared;
  const int64_t size =
      std::max(extent(g.base_shape, in_strides, in_offset), extent(g.shape, g.strides, out_offset));
  Tensor memory = zeros(Shape{size}, grad->dtype());
  if (grad->numel() > 0) {
    const Tensor at = int64_tensor(positions(g.shape, g.strides, out_offset));
    memory = scatter_add(memory, 0, at, reshape(grad, DimList{-1}));
  }
  const bool repeats = may_overlap(g.base_shape, in_strides);
  if (repeats) {
    memory = div(memory, copies_per_position(positions(g.base_shape, in_strides, in_offset), size,
                                             grad->dtype()));
  }
  Tensor out = as_strided(memory, g.base_shape, in_strides, in_offset);
  // A gradient with repeated elements could not be accumulated into in place.
  return repeats || !GradMode::is_enabled() ? contiguous(out) : out;
}

ViewGeometry geometry_in(const Tensor& a, const Shape& size, const Strides& stride,
                         int64_t offset) {
  ViewGeometry g;
  g.base_shape = a->shape();
  if (!a->is_contiguous()) g.base_strides = a->strides();
  g.offset = offset - a->offset();
  g.shape = size;
  g.strides = stride;
  return g;
}

}  // namespace

bool ViewGeometry::is_plain_region() const {
  return base_strides.empty() && offset >= 0 && !may_overlap(shape, strides) &&
         extent(shape, strides, offset) <= numel_of(base_shape);
}

TensorList AsStridedBackward0::apply(TensorList&& grads) {
  if (!geometry.is_plain_region()) return {as_strided_gradient(grads[0], geometry)};
  // A region of a contiguous base: one copy, with the placement recorded
  // under create_graph (Note [Placing a gradient]).
  Tensor out = zeros(geometry.base_shape, grads[0]->dtype());
  copy_kernel(geometry.region_of(out), grads[0]);
  if (any_requires_grad(grads[0]))
    record<AsStridedScatterBackward0>(out, grads[0])->geometry = geometry;
  return {out};
}

Tensor as_strided(const Tensor& a, const Shape& size, const Strides& stride,
                  std::optional<int64_t> storage_offset) {
  const int64_t offset = storage_offset.value_or(a->offset());
  check_geometry(size, stride, offset);
  check_in_bounds(a, size, stride, offset);
  check_sizes(size);
  Tensor out = make_view(a, offset, size, stride);
  if (any_requires_grad(a))
    record<AsStridedBackward0>(out, a)->geometry = geometry_in(a, size, stride, offset);
  return out;
}

Tensor empty_strided(const Shape& size, const Strides& stride, DType dtype) {
  if (size.size() != stride.size()) {
    throw std::runtime_error("dimensionality of sizes (" + std::to_string(size.size()) +
                             ") must match dimensionality of strides (" +
                             std::to_string(stride.size()) + ")");
  }
  for (int64_t s : size) {
    if (s < 0) {
      throw std::runtime_error("Trying to create tensor with negative dimension " +
                               std::to_string(s) + ": " + shape_str(size));
    }
  }
  const uint64_t nbytes = storage_nbytes(size, stride, 0, itemsize(dtype));
  return std::make_shared<TensorImpl>(Storage::allocate(nbytes), 0, size, stride, dtype);
}

// Note [In-place view ops]
// x.t_() gives x the geometry of x.t() over the same memory. No element
// changes, but torch bumps the version counter all the same (a tensor saved
// for backward no longer has the shape it was saved with). With grad mode on:
//  - a leaf that requires grad, a view of one, and the views of Note [Views
//    that refuse in-place ops] are refused, as for any in-place op;
//  - otherwise the tensor's grad_fn becomes the view op's node, under the
//    in-place form's name (TBackward1), its edge continuing the old history.
// Unlike a write, nothing changes for the base or for other views of the same
// memory: their values are what they were, so there is no CopySlices and the
// storage's history counter stays (no view goes stale). Hooks and a retained
// grad stay with the old history, as torch's do. A view keeps its base, and
// its new geometry is still a region of the base's memory, so a later write
// through it rebases the base as usual (Note [Views and in-place]).
namespace {

// Whether the change joins a graph; raises torch's refusals first.
bool records_view_change(const Tensor& self) {
  if (!GradMode::is_enabled()) return false;
  const bool joins = self->requires_grad() || (self->is_view() && self->base()->requires_grad());
  if (joins && self->is_view() && self->view_creation() != ViewCreation::Default &&
      !(self->is_leaf() && self->requires_grad())) {
    refuse_marked_view(self, true);
  }
  check_inplace(self);  // also regenerates a stale view's grad_fn
  return self->requires_grad();
}

// Runs the out-of-place view op `view_of` (which checks the arguments with
// torch's messages) and gives self its geometry; `fill` completes the node
// from self's old geometry.
template <typename NodeT, typename ViewOf, typename Fill>
Tensor& change_view(Tensor& self, ViewOf view_of, Fill fill) {
  const bool rec = records_view_change(self);
  Tensor view;
  {
    GradModeGuard no_grad(false);
    view = view_of(self);
  }
  Tensor tangent;
  if (forward_ad::has_tangent(self)) {
    forward_ad::FormulaScope formula;
    tangent = view_of(forward_ad::tangent(self));
  }
  if (rec) {
    auto node = std::make_shared<NodeT>();
    node->next_edges().push_back(gradient_edge(self));
    fill(*node);
    self->set_history(node, 0);
  }
  self->set_data(*view);
  self->bump_version();
  if (tangent) forward_ad::set_tangent(self, tangent);
  return self;
}

template <typename NodeT, typename ViewOf>
Tensor& squeeze_like(Tensor& self, ViewOf view_of) {
  const Shape before = self->shape();
  return change_view<NodeT>(self, view_of, [&](NodeT& n) { n.self_shape = before; });
}

}  // namespace

Tensor& squeeze_(Tensor& self) {
  return squeeze_like<SqueezeBackward3>(self, [](const Tensor& t) { return squeeze(t); });
}

Tensor& squeeze_(Tensor& self, int64_t dim) {
  return squeeze_like<SqueezeBackward4>(self, [&](const Tensor& t) { return squeeze(t, dim); });
}

Tensor& squeeze_(Tensor& self, const DimList& dims) {
  return squeeze_like<SqueezeBackward5>(self, [&](const Tensor& t) { return squeeze(t, dims); });
}

Tensor& unsqueeze_(Tensor& self, int64_t dim) {
  const int64_t d = wrap_dim(dim, self->dim() + 1);
  return change_view<UnsqueezeBackward1>(
      self, [&](const Tensor& t) { return unsqueeze(t, d); },
      [&](UnsqueezeBackward1& n) { n.dim = d; });
}

TensorList UnsqueezeBackward1::apply(TensorList&& grads) { return {squeeze(grads[0], dim)}; }

Tensor& transpose_(Tensor& self, int64_t d0, int64_t d1) {
  const int64_t a0 = wrap_dim(d0, self->dim()), a1 = wrap_dim(d1, self->dim());
  return change_view<TransposeBackward1>(
      self, [&](const Tensor& t) { return transpose(t, a0, a1); },
      [&](TransposeBackward1& n) {
        n.dim0 = a0;
        n.dim1 = a1;
      });
}

TensorList TransposeBackward1::apply(TensorList&& grads) {
  return {transpose(grads[0], dim0, dim1)};
}

Tensor& t_(Tensor& self) {
  if (self->dim() > 2) {
    throw std::runtime_error("t_() expects a tensor with <= 2 dimensions, but self is " +
                             std::to_string(self->dim()) + "D");
  }
  return change_view<TBackward1>(
      self, [](const Tensor& t) { return ember::t(t); }, [](TBackward1&) {});
}

TensorList TBackward1::apply(TensorList&& grads) { return {t(grads[0])}; }

Tensor& as_strided_(Tensor& self, const Shape& size, const Strides& stride,
                    std::optional<int64_t> storage_offset) {
  const int64_t offset = storage_offset.value_or(self->offset());
  const ViewGeometry g = geometry_in(self, size, stride, offset);
  return change_view<AsStridedBackward1>(
      self, [&](const Tensor& t) { return as_strided(t, size, stride, offset); },
      [&](AsStridedBackward1& n) { n.geometry = g; });
}

}  // namespace ember
