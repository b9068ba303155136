// View and shape ops and their backward formulas.

#include "ember/autograd/functions/shape.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "ember/kernels/elementwise.h"
#include "ember/ops/index_positions.h"

namespace ember {
namespace {

std::string dims_str(const DimList& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Resolves one -1 in a requested shape against the element count.
Shape infer_shape(const DimList& sizes, int64_t numel) {
  Shape shape;
  int64_t known = 1;
  std::optional<size_t> infer;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      if (infer) throw std::runtime_error("only one dimension can be inferred");
      infer = i;
    } else if (sizes[i] < 0) {
      throw std::runtime_error("invalid shape dimension " + std::to_string(sizes[i]));
    } else {
      known *= sizes[i];
    }
    shape.push_back(sizes[i]);
  }
  const bool ok = infer ? (known != 0 && numel % known == 0) : known == numel;
  if (!ok) {
    throw std::runtime_error("shape '" + dims_str(sizes) + "' is invalid for input of size " +
                             std::to_string(numel));
  }
  if (infer) shape[*infer] = numel / known;
  return shape;
}

// Strides that let `new_shape` view memory laid out as (shape, strides), if
// any. Old dims are grouped into runs that are contiguous with each other; each
// run must be covered exactly by a run of new dims.
std::optional<Strides> view_strides(const Shape& shape, const Strides& strides,
                                    const Shape& new_shape) {
  Strides out(new_shape.size(), 0);
  if (numel_of(shape) == 0 || shape.empty()) return contiguous_strides(new_shape);
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t base_stride = strides.back();
  int64_t run_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    run_numel *= shape[d];
    const bool run_ends =
        d == 0 || (shape[d - 1] != 1 && strides[d - 1] != run_numel * base_stride);
    if (!run_ends) continue;
    while (view_d >= 0 && (view_numel < run_numel || new_shape[view_d] == 1)) {
      out[view_d] = view_numel * base_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != run_numel) return std::nullopt;
    if (d > 0) {
      base_stride = strides[d - 1];
      run_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor raw_view(const Tensor& a, const Shape& shape) {
  if (a->is_contiguous()) return make_view(a, a->offset(), shape, contiguous_strides(shape));
  std::optional<Strides> s = view_strides(a->shape(), a->strides(), shape);
  if (!s) {
    throw std::runtime_error(
        "view size is not compatible with input tensor's size and stride (at least one dimension "
        "spans across two contiguous subspaces). Use .reshape(...) instead.");
  }
  return make_view(a, a->offset(), shape, *s);
}

}  // namespace

Tensor view(const Tensor& a, const DimList& sizes) {
  Tensor out = raw_view(a, infer_shape(sizes, a->numel()));
  if (any_requires_grad(a)) record<ViewBackward0>(out, a)->self_shape = a->shape();
  linear_tangent(out, a, [&](const Tensor& t) { return reshape(t, sizes); });
  return out;
}

TensorList ViewBackward0::apply(TensorList&& grads) {
  return {reshape(grads[0], DimList(self_shape.begin(), self_shape.end()))};
}

Tensor alias(const Tensor& a) {
  Tensor out = make_view(a, a->offset(), a->shape(), a->strides());
  if (any_requires_grad(a)) record<AliasBackward0>(out, a)->self_shape = a->shape();
  linear_tangent(out, a, [](const Tensor& t) { return alias(t); });
  return out;
}

Tensor reshape(const Tensor& a, const DimList& sizes) {
  const Shape shape = infer_shape(sizes, a->numel());
  if (a->is_contiguous()) return view(a, DimList(shape.begin(), shape.end()));
  if (std::optional<Strides> s = view_strides(a->shape(), a->strides(), shape)) {
    Tensor out = make_view(a, a->offset(), shape, *s);
    if (any_requires_grad(a)) record<ReshapeAliasBackward0>(out, a)->self_shape = a->shape();
    linear_tangent(out, a, [&](const Tensor& t) { return reshape(t, sizes); });
    return out;
  }
  // Not viewable: copy, then view the copy (torch's _unsafe_view).
  return unsafe_view(clone(a), shape);
}

Tensor unsafe_view(const Tensor& fresh, const Shape& shape) {
  // Not marked as a view: nobody else can see `fresh`.
  Tensor out = std::make_shared<TensorImpl>(fresh->storage(), fresh->offset(), shape,
                                            contiguous_strides(shape), fresh->dtype());
  if (any_requires_grad(fresh))
    record<UnsafeViewBackward0>(out, fresh)->self_shape = fresh->shape();
  linear_tangent(out, fresh,
                 [&](const Tensor& t) { return reshape(t, DimList(shape.begin(), shape.end())); });
  return out;
}

Tensor expand(const Tensor& a, const Shape& shape) {
  if (shape.size() < a->shape().size()) {
    throw std::runtime_error("expand(" + std::string(legacy_type_name(a->dtype())) + "{" +
                             shape_str(a->shape()) + "}, size=" + shape_str(shape) +
                             "): the number of sizes provided (" + std::to_string(shape.size()) +
                             ") must be greater or equal to the number of dimensions in the "
                             "tensor (" +
                             std::to_string(a->dim()) + ")");
  }
  const size_t lead = shape.size() - a->shape().size();
  Strides strides(shape.size(), 0);
  for (size_t i = shape.size(); i-- > lead;) {  // from the right, as torch reports
    const int64_t have = a->shape()[i - lead];
    if (have == shape[i]) {
      strides[i] = a->strides()[i - lead];
    } else if (have != 1) {
      throw std::runtime_error("The expanded size of the tensor (" + std::to_string(shape[i]) +
                               ") must match the existing size (" + std::to_string(have) +
                               ") at non-singleton dimension " + std::to_string(i) +
                               ".  Target sizes: " + shape_str(shape) +
                               ".  Tensor sizes: " + shape_str(a->shape()));
    }
  }
  int64_t numel = 1;
  for (int64_t s : shape) {
    if (s < 0) {  // a new leading dim (or a size-1 one) given a negative size
      throw std::runtime_error("Trying to create tensor with negative dimension " +
                               std::to_string(s) + ": " + shape_str(shape));
    }
    if (__builtin_mul_overflow(numel, s, &numel)) {
      throw std::runtime_error("numel: integer multiplication overflow");
    }
  }
  Tensor out = make_view(a, a->offset(), shape, strides);
  if (any_requires_grad(a)) record<ExpandBackward0>(out, a)->self_meta = InputMeta(a);
  linear_tangent(out, a, [&](const Tensor& t) { return expand(t, shape); });
  return out;
}

Tensor expand(const Tensor& a, const DimList& sizes) {
  Shape shape;
  const size_t lead = sizes.size() >= a->shape().size() ? sizes.size() - a->shape().size() : 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      if (i < lead) {
        throw std::runtime_error(
            "The expanded size of the tensor (-1) isn't allowed in a leading, "
            "non-existing dimension " +
            std::to_string(i));
      }
      shape.push_back(a->shape()[i - lead]);
    } else {
      shape.push_back(sizes[i]);
    }
  }
  return expand(a, shape);
}

TensorList ExpandBackward0::apply(TensorList&& grads) {
  return {sum_to(grads[0], self_meta.shape)};
}

Tensor squeeze(const Tensor& a) {
  Shape shape;
  Strides strides;
  for (int64_t d = 0; d < a->dim(); ++d) {
    if (a->shape()[d] != 1) {
      shape.push_back(a->shape()[d]);
      strides.push_back(a->strides()[d]);
    }
  }
  Tensor out = make_view(a, a->offset(), shape, strides);
  if (any_requires_grad(a)) record<SqueezeBackward0>(out, a)->self_shape = a->shape();
  linear_tangent(out, a, [](const Tensor& t) { return squeeze(t); });
  return out;
}

namespace {

Tensor squeeze_dim_view(const Tensor& a, int64_t dim) {
  const int64_t d = wrap_dim(dim, a->dim());
  if (a->dim() == 0 || a->shape()[d] != 1)
    return make_view(a, a->offset(), a->shape(), a->strides());
  Shape shape = a->shape();
  Strides strides = a->strides();
  shape.erase(static_cast<size_t>(d));
  strides.erase(static_cast<size_t>(d));
  return make_view(a, a->offset(), shape, strides);
}

}  // namespace

Tensor squeeze(const Tensor& a, int64_t dim) {
  Tensor out = squeeze_dim_view(a, dim);
  if (any_requires_grad(a)) record<SqueezeBackward1>(out, a)->self_shape = a->shape();
  linear_tangent(out, a, [&](const Tensor& t) { return squeeze(t, dim); });
  return out;
}

Tensor squeeze(const Tensor& a, const DimList& dims) {
  std::vector<bool> drop(static_cast<size_t>(a->dim()), false);
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(a->dim(), 1)), false);
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, a->dim());
    if (seen[static_cast<size_t>(w)]) {
      throw std::runtime_error("dim " + std::to_string(w) +
                               " appears multiple times in the list of dims");
    }
    seen[static_cast<size_t>(w)] = true;
    if (a->dim() > 0 && a->shape()[w] == 1) drop[static_cast<size_t>(w)] = true;
  }
  Shape shape;
  Strides strides;
  for (int64_t d = 0; d < a->dim(); ++d) {
    if (!drop[static_cast<size_t>(d)]) {
      shape.push_back(a->shape()[d]);
      strides.push_back(a->strides()[d]);
    }
  }
  Tensor out = make_view(a, a->offset(), shape, strides);
  if (any_requires_grad(a)) record<SqueezeBackward2>(out, a)->self_shape = a->shape();
  linear_tangent(out, a, [&](const Tensor& t) { return squeeze(t, dims); });
  return out;
}

Tensor squeeze_for_matmul(const Tensor& a, int64_t dim) {
  Tensor out = squeeze_dim_view(a, dim);
  if (any_requires_grad(a)) record<SqueezeBackward4>(out, a)->self_shape = a->shape();
  linear_tangent(out, a, [&](const Tensor& t) { return squeeze_for_matmul(t, dim); });
  return out;
}

Tensor unsqueeze(const Tensor& a, int64_t dim) {
  const int64_t d = wrap_dim(dim, a->dim() + 1);
  Shape shape = a->shape();
  Strides strides = a->strides();
  const int64_t stride = d < a->dim() ? a->strides()[d] * a->shape()[d] : 1;
  shape.insert(static_cast<size_t>(d), 1);
  strides.insert(static_cast<size_t>(d), stride);
  Tensor out = make_view(a, a->offset(), shape, strides);
  if (any_requires_grad(a)) record<UnsqueezeBackward0>(out, a)->dim = d;
  linear_tangent(out, a, [&](const Tensor& t) { return unsqueeze(t, d); });
  return out;
}

TensorList UnsqueezeBackward0::apply(TensorList&& grads) { return {squeeze(grads[0], dim)}; }

Tensor transpose(const Tensor& a, int64_t d0, int64_t d1) {
  const int64_t a0 = wrap_dim(d0, a->dim()), a1 = wrap_dim(d1, a->dim());
  Shape shape = a->shape();
  Strides strides = a->strides();
  if (a->dim() > 0) {
    std::swap(shape[a0], shape[a1]);
    std::swap(strides[a0], strides[a1]);
  }
  Tensor out = make_view(a, a->offset(), shape, strides);
  if (any_requires_grad(a)) {
    auto node = record<TransposeBackward0>(out, a);
    node->dim0 = a0;
    node->dim1 = a1;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return transpose(t, a0, a1); });
  return out;
}

TensorList TransposeBackward0::apply(TensorList&& grads) {
  return {transpose(grads[0], dim0, dim1)};
}

Tensor t(const Tensor& a) {
  if (a->dim() > 2) {
    throw std::runtime_error("t() expects a tensor with <= 2 dimensions, but self is " +
                             std::to_string(a->dim()) + "D");
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = a->dim() == 2 ? transpose(a, 0, 1) : make_view(a, a->offset(), a->shape(), a->strides());
  }
  if (any_requires_grad(a)) record<TBackward0>(out, a);
  linear_tangent(out, a, [](const Tensor& t) { return ember::t(t); });
  return out;
}

TensorList TBackward0::apply(TensorList&& grads) { return {t(grads[0])}; }

Tensor permute(const Tensor& a, const DimList& dims) {
  if (static_cast<int64_t>(dims.size()) != a->dim()) {
    throw std::runtime_error(
        "permute(sparse_coo): number of dimensions in the tensor input does "
        "not match the length of the desired ordering of dimensions i.e. "
        "input.dim() = " +
        std::to_string(a->dim()) + " is not equal to len(dims) = " + std::to_string(dims.size()));
  }
  Shape shape;
  Strides strides;
  DimList wrapped;
  std::vector<bool> seen(dims.size(), false);
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, a->dim());
    if (seen[static_cast<size_t>(w)])
      throw std::runtime_error("permute(): duplicate dims are not allowed.");
    seen[static_cast<size_t>(w)] = true;
    wrapped.push_back(w);
    shape.push_back(a->shape()[w]);
    strides.push_back(a->strides()[w]);
  }
  Tensor out = make_view(a, a->offset(), shape, strides);
  if (any_requires_grad(a)) record<PermuteBackward0>(out, a)->dims = wrapped;
  linear_tangent(out, a, [&](const Tensor& t) { return permute(t, dims); });
  return out;
}

TensorList PermuteBackward0::apply(TensorList&& grads) {
  DimList inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    inverse[static_cast<size_t>(dims[i])] = static_cast<int64_t>(i);
  return {permute(grads[0], inverse)};
}

Tensor slice(const Tensor& a, int64_t dim, std::optional<int64_t> start_in,
             std::optional<int64_t> end_in, int64_t step) {
  if (a->dim() == 0) throw IndexError("slice() cannot be applied to a 0-dim tensor.");
  if (step <= 0) throw ValueError("step must be greater than zero");
  const int64_t d = wrap_dim(dim, a->dim());
  const int64_t size = a->shape()[d];
  auto clamp_index = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = *v < 0 ? *v + size : *v;
    return std::clamp<int64_t>(i, 0, size);
  };
  const int64_t start = clamp_index(start_in, 0);
  const int64_t end = std::max(start, clamp_index(end_in, size));
  Shape shape = a->shape();
  Strides strides = a->strides();
  shape[d] = end > start ? (end - start - 1) / step + 1 : 0;  // no overflow for a huge step
  // With one element the stride is never used; with more, it fits (it stays inside the storage).
  if (shape[d] > 1) strides[d] = a->strides()[d] * step;
  Tensor out = make_view(a, a->offset() + start * a->strides()[d], shape, strides);
  if (any_requires_grad(a)) {
    auto node = record<SliceBackward0>(out, a);
    node->self_meta = InputMeta(a);
    node->dim = d;
    node->start = start;
    node->end = end;
    node->step = step;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return slice(t, d, start, end, step); });
  return out;
}

namespace {

// Note [Placing a gradient]: zeros of the input's shape, with the view's
// gradient g written into the window that `view_of` cuts out of them.
template <typename ViewOf>
Tensor placed(const Shape& shape, const Tensor& g, ViewOf view_of) {
  Tensor out = zeros(shape, g->dtype());
  Tensor window;
  {
    GradModeGuard no_grad(false);
    window = view_of(out);
  }
  copy_kernel(window, g);
  // Linear in g: the tangent is placed the same way (Note [Forward-mode AD]).
  if (forward_ad::has_tangent(g)) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, placed(shape, forward_ad::tangent(g), view_of));
  }
  return out;
}

}  // namespace

TensorList SliceBackward0::apply(TensorList&& grads) {
  Tensor out = placed(self_meta.shape, grads[0],
                      [&](const Tensor& t) { return slice(t, dim, start, end, step); });
  if (any_requires_grad(grads[0])) {
    auto node = record<SliceBackwardBackward0>(out, grads[0]);
    node->dim = dim;
    node->start = start;
    node->end = end;
    node->step = step;
  }
  return {out};
}

TensorList SliceBackwardBackward0::apply(TensorList&& grads) {
  return {slice(grads[0], dim, start, end, step)};
}

Tensor select(const Tensor& a, int64_t dim, int64_t index) {
  if (a->dim() == 0) throw IndexError("select() cannot be applied to a 0-dim tensor.");
  const int64_t d = wrap_dim(dim, a->dim());
  const int64_t size = a->shape()[d];
  if (index < -size || index >= size) throw IndexError(out_of_bounds_message(index, d, size));
  const int64_t i = index < 0 ? index + size : index;
  Shape shape = a->shape();
  Strides strides = a->strides();
  shape.erase(static_cast<size_t>(d));
  strides.erase(static_cast<size_t>(d));
  Tensor out = make_view(a, a->offset() + i * a->strides()[d], shape, strides);
  if (any_requires_grad(a)) {
    auto node = record<SelectBackward0>(out, a);
    node->self_meta = InputMeta(a);
    node->dim = d;
    node->index = i;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return select(t, d, i); });
  return out;
}

TensorList SelectBackward0::apply(TensorList&& grads) {
  Tensor out =
      placed(self_meta.shape, grads[0], [&](const Tensor& t) { return select(t, dim, index); });
  if (any_requires_grad(grads[0])) {
    auto node = record<SelectBackwardBackward0>(out, grads[0]);
    node->dim = dim;
    node->index = index;
  }
  return {out};
}

TensorList SelectBackwardBackward0::apply(TensorList&& grads) {
  return {select(grads[0], dim, index)};
}

// ---- split, chunk and unbind: several views, one node ----

namespace {

std::string sizes_str(const std::vector<int64_t>& sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

void require_dims(const Tensor& a, const char* op) {
  if (a->dim() == 0) {
    throw std::runtime_error(std::string(op) + " expects at least a 1-dimensional tensor");
  }
}

// Makes `node` the grad_fn of every view in `views` (output i = view i) and
// marks them (Note [Views that refuse in-place ops]).
void record_views(const std::shared_ptr<Node>& node, const Tensor& a, const TensorVec& views) {
  for (const Tensor& v : views) {
    if (v->view_creation() == ViewCreation::Default) {
      v->set_view_creation(ViewCreation::MultiOutput);
    }
  }
  if (!any_requires_grad(a)) return;
  add_next_edge(*node, a);
  // Recorded for a tangent only: no graph to join (Note [Forward-mode AD]).
  if (!GradMode::is_enabled() || !a->requires_grad()) return;
  for (size_t i = 0; i < views.size(); ++i) {
    views[i]->set_history(node, static_cast<uint32_t>(i));
  }
}

// Pieces of `a` along d with the given extents, recorded as NodeT.
template <typename NodeT>
TensorVec split_views(const Tensor& a, int64_t d, std::vector<int64_t> sizes) {
  TensorVec views;
  int64_t start = 0;
  for (int64_t n : sizes) {
    Shape shape = a->shape();
    shape[d] = n;
    views.push_back(make_view(a, a->offset() + start * a->strides()[d], shape, a->strides()));
    linear_tangent(views.back(), a,
                   [&](const Tensor& t) { return slice(t, d, start, start + n, 1); });
    start += n;
  }
  auto node = std::make_shared<NodeT>();
  node->self_meta = InputMeta(a);
  node->dim = d;
  node->sizes = std::move(sizes);
  record_views(node, a, views);
  return views;
}

}  // namespace

TensorVec split(const Tensor& a, int64_t split_size, int64_t dim) {
  require_dims(a, "split");
  const int64_t d = wrap_dim(dim, a->dim());
  const int64_t size = a->shape()[d];
  if (split_size < 0) {
    throw std::runtime_error("split expects split_size be non-negative, but got split_size=" +
                             std::to_string(split_size));
  }
  if (split_size == 0 && size != 0) {
    throw std::runtime_error(
        "split_size can only be 0 if dimension size is 0, but got dimension size of " +
        std::to_string(size));
  }
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < size; s += split_size) sizes.push_back(std::min(split_size, size - s));
  if (sizes.empty()) sizes.push_back(0);  // torch returns the one empty piece
  return split_views<SplitBackward0>(a, d, std::move(sizes));
}

TensorVec split_with_sizes(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim) {
  require_dims(a, "split");
  const int64_t d = wrap_dim(dim, a->dim());
  int64_t total = 0;
  for (int64_t n : sizes) {
    if (n < 0) {
      throw std::runtime_error(
          "split_with_sizes expects split_sizes have only non-negative entries, but got "
          "split_sizes=" +
          sizes_str(sizes));
    }
    total += n;
  }
  if (total != a->shape()[d]) {
    throw std::runtime_error("split_with_sizes expects split_sizes to sum exactly to " +
                             std::to_string(a->shape()[d]) + " (input tensor's size at dimension " +
                             std::to_string(d) + "), but got split_sizes=" + sizes_str(sizes));
  }
  return split_views<SplitWithSizesBackward0>(a, d, sizes);
}

TensorVec chunk(const Tensor& a, int64_t chunks, int64_t dim) {
  require_dims(a, "chunk");
  if (chunks <= 0) {
    throw std::runtime_error("chunk expects `chunks` to be greater than 0, got: " +
                             std::to_string(chunks));
  }
  const int64_t size = a->shape()[wrap_dim(dim, a->dim())];
  // torch: an empty dim gives `chunks` empty pieces.
  if (size == 0) return split_with_sizes(a, std::vector<int64_t>(chunks, 0), dim);
  return split(a, (size + chunks - 1) / chunks, dim);
}

TensorList SplitBackward0::apply(TensorList&& grads) {
  TensorVec pieces;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Shape shape = self_meta.shape;
    shape[dim] = sizes[i];
    const bool has = i < grads.size() && grads[i];
    pieces.push_back(has ? grads[i] : zeros(shape, self_meta.dtype));
  }
  return {cat(pieces, dim)};
}

TensorVec unbind(const Tensor& a, int64_t dim) {
  if (a->dim() == 0) throw IndexError("Dimension specified as 0 but tensor has no dimensions");
  const int64_t d = wrap_dim(dim, a->dim());
  TensorVec views;
  {
    GradModeGuard no_grad(false);  // one node for all, recorded below
    for (int64_t i = 0; i < a->shape()[d]; ++i) views.push_back(select(a, d, i));
  }
  auto node = std::make_shared<UnbindBackward0>();
  node->self_meta = InputMeta(a);
  node->dim = d;
  record_views(node, a, views);
  return views;
}

TensorList UnbindBackward0::apply(TensorList&& grads) {
  Shape shape = self_meta.shape;
  shape.erase(static_cast<size_t>(dim));
  TensorVec pieces;
  for (size_t i = 0; i < num_outputs(); ++i) {
    const bool has = i < grads.size() && grads[i];
    pieces.push_back(has ? grads[i] : zeros(shape, self_meta.dtype));
  }
  return {stack(pieces, dim)};
}

Tensor diagonal(const Tensor& a, int64_t offset, int64_t dim1, int64_t dim2) {
  const int64_t d1 = wrap_dim(dim1, a->dim()), d2 = wrap_dim(dim2, a->dim());
  if (d1 == d2) {
    throw std::runtime_error("diagonal dimensions cannot be identical " + std::to_string(dim1) +
                             ", " + std::to_string(dim2));
  }
  const int64_t rows = a->shape()[d1], cols = a->shape()[d2];
  const int64_t length = std::max<int64_t>(
      offset >= 0 ? std::min(rows, cols - offset) : std::min(rows + offset, cols), 0);
  int64_t start = a->offset();
  if (length > 0) start += offset >= 0 ? offset * a->strides()[d2] : -offset * a->strides()[d1];
  Shape shape;
  Strides strides;
  for (int64_t d = 0; d < a->dim(); ++d) {
    if (d == d1 || d == d2) continue;
    shape.push_back(a->shape()[d]);
    strides.push_back(a->strides()[d]);
  }
  shape.push_back(length);
  strides.push_back(a->strides()[d1] + a->strides()[d2]);
  Tensor out = make_view(a, start, shape, strides);
  if (any_requires_grad(a)) {
    auto node = record<DiagonalBackward0>(out, a);
    node->self_meta = InputMeta(a);
    node->offset = offset;
    node->dim1 = d1;
    node->dim2 = d2;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return diagonal(t, offset, d1, d2); });
  return out;
}

TensorList DiagonalBackward0::apply(TensorList&& grads) {
  Tensor out = placed(self_meta.shape, grads[0],
                      [&](const Tensor& t) { return diagonal(t, offset, dim1, dim2); });
  if (any_requires_grad(grads[0])) {
    auto node = record<DiagonalBackwardBackward0>(out, grads[0]);
    node->offset = offset;
    node->dim1 = dim1;
    node->dim2 = dim2;
  }
  return {out};
}

TensorList DiagonalBackwardBackward0::apply(TensorList&& grads) {
  return {diagonal(grads[0], offset, dim1, dim2)};
}

Tensor flatten(const Tensor& a, int64_t start_dim, int64_t end_dim) {
  if (a->dim() == 0) return reshape(a, {1});
  const int64_t s = wrap_dim(start_dim, a->dim()), e = wrap_dim(end_dim, a->dim());
  if (s > e)
    throw std::runtime_error("flatten() has invalid args: start_dim cannot come after end_dim");
  if (s == e) return a;
  DimList sizes;
  for (int64_t d = 0; d < s; ++d) sizes.push_back(a->shape()[d]);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= a->shape()[d];
  sizes.push_back(merged);
  for (int64_t d = e + 1; d < a->dim(); ++d) sizes.push_back(a->shape()[d]);
  return reshape(a, sizes);
}

Tensor view_as_dtype(const Tensor& a, DType dtype) {
  const int64_t from = static_cast<int64_t>(itemsize(a->dtype()));
  const int64_t to = static_cast<int64_t>(itemsize(dtype));
  if (any_requires_grad(a) && dtype != a->dtype()) {
    throw std::runtime_error("view(dtype) of a tensor that requires grad is not differentiable");
  }
  Shape shape = a->shape();
  Strides strides = a->strides();
  int64_t offset = a->offset();
  if (from != to) {
    if (a->dim() == 0) {
      throw std::runtime_error("self.dim() cannot be 0 to view " +
                               std::string(scalar_type_name(a->dtype())) + " as " +
                               scalar_type_name(dtype) + " (different element sizes)");
    }
    if (strides.back() != 1) {
      throw std::runtime_error("self.stride(-1) must be 1 to view " +
                               std::string(scalar_type_name(a->dtype())) + " as " +
                               scalar_type_name(dtype) + " (different element sizes), but got " +
                               std::to_string(strides.back()));
    }
    const int64_t last_bytes = shape.back() * from;
    if (last_bytes % to != 0) {
      throw std::runtime_error("self.size(-1) must be divisible by " + std::to_string(to / from) +
                               " to view " + scalar_type_name(a->dtype()) + " as " +
                               scalar_type_name(dtype) + " (different element sizes), but got " +
                               std::to_string(shape.back()));
    }
    for (size_t d = 0; d + 1 < strides.size(); ++d) {
      if ((strides[d] * from) % to != 0 || (offset * from) % to != 0) {
        throw std::runtime_error("self.stride(" + std::to_string(d) + ") must be divisible by " +
                                 std::to_string(to / from) + " to view " +
                                 scalar_type_name(a->dtype()) + " as " + scalar_type_name(dtype) +
                                 " (different element sizes)");
      }
      strides[d] = strides[d] * from / to;
    }
    shape.back() = last_bytes / to;
    offset = offset * from / to;
  }
  // Not a tracked view (no base): torch treats dtype views as non-differentiable.
  return std::make_shared<TensorImpl>(a->storage(), offset, shape, strides, dtype);
}

Tensor contiguous(const Tensor& a) { return a->is_contiguous() ? a : clone(a); }

Tensor detach(const Tensor& a) {
  auto out =
      std::make_shared<TensorImpl>(a->storage(), a->offset(), a->shape(), a->strides(), a->dtype());
  return out;
}

// ---- cat / stack ----

namespace {

void check_cat_inputs(const TensorVec& tensors, const char* op) {
  if (!tensors.empty()) return;
  // torch's own wording and type differ between the two.
  if (std::string(op) == "stack") throw std::runtime_error("stack expects a non-empty TensorList");
  throw ValueError(std::string("torch.") + op + "(): expected a non-empty list of Tensors");
}

DType common_dtype(const TensorVec& tensors) {
  DType dt = tensors[0]->dtype();
  for (const Tensor& t : tensors) dt = promote(dt, t->dtype());
  return dt;
}

}  // namespace

Tensor cat(const TensorVec& tensors, int64_t dim) {
  check_cat_inputs(tensors, "cat");
  // Like torch, 1-d empty tensors are skipped when shaping the result.
  const Tensor* ref = nullptr;
  for (const Tensor& t : tensors) {
    if (!(t->dim() == 1 && t->numel() == 0)) {
      ref = &t;
      break;
    }
  }
  if (!ref) ref = &tensors[0];
  if ((*ref)->dim() == 0) {
    throw std::runtime_error("zero-dimensional tensor (at position 0) cannot be concatenated");
  }
  const int64_t d = wrap_dim(dim, (*ref)->dim());
  Shape shape = (*ref)->shape();
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t->dim() == 1 && t->numel() == 0 && (*ref)->dim() != 1) continue;
    if (t->dim() != (*ref)->dim()) {
      throw std::runtime_error("Tensors must have same number of dimensions: got " +
                               std::to_string((*ref)->dim()) + " and " + std::to_string(t->dim()));
    }
    for (int64_t k = 0; k < t->dim(); ++k) {
      if (k != d && t->shape()[k] != shape[k]) {
        throw std::runtime_error("Sizes of tensors must match except in dimension " +
                                 std::to_string(d) + ". Expected size " + std::to_string(shape[k]) +
                                 " but got size " + std::to_string(t->shape()[k]) +
                                 " for tensor number " + std::to_string(i) + " in the list.");
      }
    }
    total += t->shape()[d];
  }
  shape[d] = total;
  Tensor out = empty(shape, common_dtype(tensors));
  int64_t pos = 0;
  {
    GradModeGuard no_grad(false);
    for (const Tensor& t : tensors) {
      if (t->dim() == 1 && t->numel() == 0 && (*ref)->dim() != 1) continue;
      const int64_t n = t->shape()[d];
      copy_kernel(slice(out, d, pos, pos + n, 1), t);
      pos += n;
    }
  }
  bool any = false;
  for (const Tensor& t : tensors) any = any || t->requires_grad();
  if (GradMode::is_enabled() && any) {
    auto node = std::make_shared<CatBackward0>();
    for (const Tensor& t : tensors) {
      add_next_edge(*node, t);
      node->metas.emplace_back(t);
    }
    node->dim = d;
    out->set_history(node, 0);
  }
  if (std::any_of(tensors.begin(), tensors.end(),
                  [](const Tensor& t) { return forward_ad::has_tangent(t); })) {
    forward_ad::FormulaScope formula;
    TensorVec tangents;
    for (const Tensor& t : tensors) tangents.push_back(forward_ad::tangent_or_zeros(t));
    forward_ad::set_tangent(out, cat(tangents, d));
  }
  return out;
}

TensorList CatBackward0::apply(TensorList&& grads) {
  TensorList out(metas.size());
  int64_t pos = 0;
  for (size_t i = 0; i < metas.size(); ++i) {
    const InputMeta& m = metas[i];
    if (m.shape.size() == 1 && m.shape[0] == 0 && grads[0]->dim() != 1) continue;
    const int64_t n = m.shape[static_cast<size_t>(dim)];
    if (wants_grad(*this, i)) {
      Tensor g = slice(grads[0], dim, pos, pos + n, 1);
      out[i] = g->dtype() == m.dtype ? g : to_dtype(g, m.dtype);
    }
    pos += n;
  }
  return out;
}

Tensor stack(const TensorVec& tensors, int64_t dim) {
  check_cat_inputs(tensors, "stack");
  const int64_t d = wrap_dim(dim, tensors[0]->dim() + 1);
  for (size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i]->shape() != tensors[0]->shape()) {
      throw std::runtime_error("stack expects each tensor to be equal size, but got " +
                               shape_str(tensors[0]->shape()) + " at entry 0 and " +
                               shape_str(tensors[i]->shape()) + " at entry " + std::to_string(i));
    }
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    TensorVec parts;
    for (const Tensor& t : tensors) parts.push_back(unsqueeze(t, d));
    out = cat(parts, d);
  }
  bool any = false;
  for (const Tensor& t : tensors) any = any || t->requires_grad();
  if (GradMode::is_enabled() && any) {
    auto node = std::make_shared<StackBackward0>();
    for (const Tensor& t : tensors) {
      add_next_edge(*node, t);
      node->metas.emplace_back(t);
    }
    node->dim = d;
    out->set_history(node, 0);
  }
  return out;
}

TensorList StackBackward0::apply(TensorList&& grads) {
  TensorList out(metas.size());
  for (size_t i = 0; i < metas.size(); ++i) {
    if (wants_grad(*this, i)) out[i] = select(grads[0], dim, static_cast<int64_t>(i));
  }
  return out;
}

// ---- integer and boolean indexing ----

namespace {

// Checks and wraps an int64 index against a dim of `size` (a contiguous copy).
Tensor checked_index(const Tensor& index, int64_t size, int64_t dim) {
  if (index->dtype() != DType::Int64) {
    throw IndexError("tensors used as indices must be long, int, byte or bool tensors");
  }
  return wrapped_positions(index, size, dim);
}

// Sizes around `dim`: outer = prod(shape[:dim]), inner = prod(shape[dim+1:]).
std::pair<int64_t, int64_t> outer_inner(const Shape& shape, int64_t dim) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim) outer *= shape[d];
    if (d > dim) inner *= shape[d];
  }
  return {outer, inner};
}

// a's rows idx (int64, wrapped) along dim d, in idx's shape. A 0-d tensor
// acts as one element along dim 0 (or -1), as in torch, and so takes one
// index and gives a 0-d result.
Tensor picked_rows(const Tensor& a, int64_t d, const Tensor& idx) {
  const bool scalar = a->dim() == 0;
  const int64_t size = scalar ? 1 : a->shape()[d];
  Shape shape;
  if (!scalar) {
    for (int64_t k = 0; k < d; ++k) shape.push_back(a->shape()[k]);
    for (int64_t s : idx->shape()) shape.push_back(s);
    for (int64_t k = d + 1; k < a->dim(); ++k) shape.push_back(a->shape()[k]);
  }
  Tensor out = empty(shape, a->dtype());
  Tensor src = a->is_contiguous() ? a : contiguous_clone(a);
  const auto [outer, inner] = outer_inner(a->shape(), d);
  const int64_t n = idx->numel();
  const size_t row_bytes = static_cast<size_t>(inner) * itemsize(a->dtype());
  const char* ps = static_cast<const char*>(src->raw_data());
  char* po = static_cast<char*>(out->raw_data());
  const int64_t* pi = idx->data<int64_t>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t k = 0; k < n; ++k) {
      std::memcpy(po + (o * n + k) * row_bytes, ps + (o * size + pi[k]) * row_bytes, row_bytes);
    }
  }
  return out;
}

// The adjoint of picked_rows: g's rows added into zeros of `shape` at idx.
// Under create_graph the placement records IndexPutImplBackward0, whose
// backward picks the rows again (Note [Placing a gradient]).
Tensor placed_rows(const Tensor& grad, const Tensor& idx, const Shape& shape, int64_t dim) {
  Tensor g = contiguous_clone(grad);
  Tensor out = zeros(shape, g->dtype());
  const auto [outer, inner] = outer_inner(shape, dim);
  const int64_t size = shape.empty() ? 1 : shape[static_cast<size_t>(dim)];
  const int64_t n = idx->numel();
  const int64_t* pi = idx->data<int64_t>();
  EMBER_DISPATCH_FLOAT(g->dtype(), T, [&] {
    const T* pg = g->data<T>();
    T* po = out->data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < n; ++k) {
        T* dst = po + (o * size + pi[k]) * inner;
        const T* src = pg + (o * n + k) * inner;
        for (int64_t j = 0; j < inner; ++j) dst[j] += src[j];
      }
    }
  });
  if (any_requires_grad(grad)) {
    auto node = record<IndexPutImplBackward0>(out, grad);
    node->index = SavedTensor(idx, false);
    node->dim = dim;
  }
  return out;
}

}  // namespace

Tensor index_rows(const Tensor& a, int64_t dim, const Tensor& index) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(a->dim(), 1));
  if (a->dim() == 0 && index->numel() != 1) {
    throw std::runtime_error("index_select(): Index to scalar can have only 1 value, got " +
                             std::to_string(index->numel()) + " value(s)");
  }
  Tensor idx = checked_index(index, a->dim() == 0 ? 1 : a->shape()[d], d);
  Tensor out = picked_rows(a, d, idx);
  if (any_requires_grad(a)) {
    auto node = record<IndexBackward0>(out, a);
    node->index = SavedTensor(idx, false);
    node->self_meta = InputMeta(a);
    node->dim = d;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return index_rows(t, dim, index); });
  return out;
}

TensorList IndexBackward0::apply(TensorList&& grads) {
  return {placed_rows(grads[0], index.unpack(*this), self_meta.shape, dim)};
}

// torch's checks, messages and exception types, which differ from indexing's:
// no negative positions, and two wordings for an out-of-range one (dim 0 has
// its own kernel).
Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index) {
  if (index->dim() > 1) throw IndexError("index_select(): Index is supposed to be a vector");
  if (index->dtype() != DType::Int64 && index->dtype() != DType::Int32) {
    throw std::runtime_error("index_select(): Expected dtype int32 or int64 for index");
  }
  const int64_t d = wrap_dim(dim, std::max<int64_t>(a->dim(), 1));
  if (a->dim() == 0 && index->numel() != 1) {
    throw std::runtime_error("index_select(): Index to scalar can have only 1 value, got " +
                             std::to_string(index->numel()) + " value(s)");
  }
  const int64_t size = a->dim() == 0 ? 1 : a->shape()[d];
  const Tensor int64_index = index->dtype() == DType::Int64 ? index : convert(index, DType::Int64);
  Tensor idx = wrapped_positions(int64_index, size, /*wrap=*/false, [&](int64_t k) {
    if (d == 0) throw IndexError("index out of range in self");
    throw std::runtime_error("INDICES element is out of DATA bounds, id=" + std::to_string(k) +
                             " axis_dim=" + std::to_string(size));
  });
  if (idx->dim() == 0) idx = reshape(idx, {-1});
  Tensor out = picked_rows(a, d, idx);
  if (any_requires_grad(a)) {
    auto node = record<IndexSelectBackward0>(out, a);
    node->index = SavedTensor(idx, false);
    node->self_meta = InputMeta(a);
    node->dim = d;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return index_select(t, d, idx); });
  return out;
}

TensorList IndexSelectBackward0::apply(TensorList&& grads) {
  return {placed_rows(grads[0], index.unpack(*this), self_meta.shape, dim)};
}

TensorList IndexPutImplBackward0::apply(TensorList&& grads) {
  return {index_rows(grads[0], dim, index.unpack(*this))};
}

Tensor nonzero_flat(const Tensor& mask) {
  const Tensor m = mask->dtype() == DType::Bool && mask->is_contiguous()
                       ? mask
                       : convert(contiguous_clone(mask), DType::Bool);
  std::vector<int64_t> hits;
  const bool* pm = m->data<bool>();
  for (int64_t i = 0; i < m->numel(); ++i) {
    if (pm[i]) hits.push_back(i);
  }
  Tensor idx = empty(Shape{static_cast<int64_t>(hits.size())}, DType::Int64);
  std::copy(hits.begin(), hits.end(), idx->data<int64_t>());
  return idx;
}

Tensor index_by_mask(const Tensor& a, const Tensor& mask, int64_t dim) {
  if (dim + mask->dim() > a->dim()) {
    throw IndexError("too many indices for tensor of dimension " + std::to_string(a->dim()));
  }
  for (int64_t d = 0; d < mask->dim(); ++d) {
    if (mask->shape()[d] != a->shape()[dim + d]) {
      throw IndexError("The shape of the mask " + shape_str(mask->shape()) + " at index " +
                       std::to_string(d) + " does not match the shape of the indexed tensor " +
                       shape_str(a->shape()) + " at index " + std::to_string(dim + d));
    }
  }
  // Merge the masked dims into one and pick the true positions along it.
  DimList merged;
  for (int64_t d = 0; d < dim; ++d) merged.push_back(a->shape()[d]);
  merged.push_back(mask->numel());
  for (int64_t d = dim + mask->dim(); d < a->dim(); ++d) merged.push_back(a->shape()[d]);
  return index_rows(reshape(a, merged), dim, nonzero_flat(mask));
}

Tensor masked_select(const Tensor& a, const Tensor& mask) {
  if (mask->dtype() != DType::Bool) {
    throw std::runtime_error("masked_select: expected BoolTensor for mask");
  }
  const Shape shape = broadcast_shapes(a->shape(), mask->shape());
  const auto broadcast = [&](const Tensor& t) {
    return t->shape() == shape ? detach(t) : expand(detach(t), shape);
  };
  const Tensor positions = nonzero_flat(broadcast(mask));
  const Tensor flat = reshape(broadcast(a), {numel_of(shape)});
  Tensor out = picked_rows(flat, 0, positions);
  if (any_requires_grad(a)) {
    auto node = record<MaskedSelectBackward0>(out, a);
    node->positions = SavedTensor(positions, false);
    node->self_meta = InputMeta(a);
    node->broadcast_shape = shape;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return masked_select(t, mask); });
  return out;
}

TensorList MaskedSelectBackward0::apply(TensorList&& grads) {
  const Shape flat{numel_of(broadcast_shape)};
  const Tensor placed = placed_rows(grads[0], positions.unpack(*this), flat, 0);
  return {self_meta.fit(reshape(placed, DimList(broadcast_shape.begin(), broadcast_shape.end())))};
}

// Note [Repeat as a broadcast]
// repeat(a, r) with a's shape s (padded with leading ones to r's length) is a
// viewed as (1, s0, 1, s1, ...), broadcast to (r0, s0, r1, s1, ...) and laid
// out as (r0 * s0, r1 * s1, ...). The forward writes that layout directly
// (each dim's block is filled once, then copied r - 1 times); the backward
// views the gradient as (r0, s0, r1, s1, ...) and sums over the r dims.

namespace {

// Writes dims [dim, n) of the repeat of contiguous `src` (sizes `sizes`) into
// `dst`; `src_block`/`dst_block` are the element counts of one step along dim.
void write_repeated(const char* src, char* dst, size_t dim, const Shape& sizes,
                    const DimList& repeats, const Shape& src_block, const Shape& dst_block,
                    size_t item) {
  const int64_t size = sizes[dim];
  if (dim + 1 == sizes.size()) {
    for (int64_t k = 0; k < repeats[dim]; ++k) {
      std::memcpy(dst + k * size * item, src, static_cast<size_t>(size) * item);
    }
    return;
  }
  for (int64_t k = 0; k < size; ++k) {
    write_repeated(src + k * src_block[dim] * item, dst + k * dst_block[dim] * item, dim + 1, sizes,
                   repeats, src_block, dst_block, item);
  }
  const size_t filled = static_cast<size_t>(size * dst_block[dim]) * item;
  for (int64_t k = 1; k < repeats[dim]; ++k) std::memcpy(dst + k * filled, dst, filled);
}

}  // namespace

Tensor repeat(const Tensor& a, const DimList& repeats) {
  const size_t n = repeats.size();
  if (n < static_cast<size_t>(a->dim())) {
    throw std::runtime_error(
        "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
        "tensor");
  }
  const size_t pad = n - static_cast<size_t>(a->dim());
  Shape sizes, out_shape;
  for (size_t i = 0; i < n; ++i) {
    sizes.push_back(i < pad ? 1 : a->shape()[i - pad]);
    out_shape.push_back(repeats[i] * sizes[i]);
  }
  for (int64_t r : repeats) {
    if (r < 0) {
      throw std::runtime_error("Trying to create tensor with negative dimension " +
                               std::to_string(r) + ": " +
                               dims_str(DimList(out_shape.begin(), out_shape.end())));
    }
  }
  Tensor out = empty(out_shape, a->dtype());
  if (n > 0 && out->numel() > 0) {
    Shape src_block(n, 1), dst_block(n, 1);
    for (size_t i = n - 1; i > 0; --i) {
      src_block[i - 1] = src_block[i] * sizes[i];
      dst_block[i - 1] = dst_block[i] * out_shape[i];
    }
    const Tensor src = a->is_contiguous() ? a : contiguous_clone(a);
    write_repeated(static_cast<const char*>(src->raw_data()), static_cast<char*>(out->raw_data()),
                   0, sizes, repeats, src_block, dst_block, itemsize(a->dtype()));
  } else if (n == 0) {
    out = contiguous_clone(detach(a));
  }
  if (any_requires_grad(a)) {
    auto node = record<RepeatBackward0>(out, a);
    node->self_meta = InputMeta(a);
    node->repeats = repeats;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return repeat(t, repeats); });
  return out;
}

TensorList RepeatBackward0::apply(TensorList&& grads) {
  const Shape& shape = self_meta.shape;
  const size_t pad = repeats.size() - shape.size();
  DimList split, repeat_dims;
  for (size_t i = 0; i < repeats.size(); ++i) {
    split.push_back(repeats[i]), split.push_back(i < pad ? 1 : shape[i - pad]);
    repeat_dims.push_back(static_cast<int64_t>(2 * i));
  }
  const Tensor summed = sum(reshape(grads[0], split), repeat_dims, false);
  return {reshape(summed, DimList(shape.begin(), shape.end()))};
}

Tensor tile(const Tensor& a, const DimList& reps) {
  if (reps.size() >= static_cast<size_t>(a->dim())) return repeat(a, reps);
  DimList padded(static_cast<size_t>(a->dim()) - reps.size(), 1);
  padded.insert(padded.end(), reps.begin(), reps.end());
  return repeat(a, padded);
}

Tensor diag_embed(const Tensor& a, int64_t offset, int64_t dim1, int64_t dim2) {
  const int64_t ndim = a->dim() + 1;
  const int64_t d1 = wrap_dim(dim1, ndim), d2 = wrap_dim(dim2, ndim);
  if (d1 == d2) {
    throw std::runtime_error("diagonal dimensions cannot be identical " + std::to_string(dim1) +
                             ", " + std::to_string(dim2));
  }
  const int64_t n = (a->dim() > 0 ? a->shape().back() : 1) + std::abs(offset);
  Shape shape(a->shape().begin(), a->shape().end() - (a->dim() > 0 ? 1 : 0));
  for (int64_t d : {std::min(d1, d2), std::max(d1, d2)}) {
    shape.insert(static_cast<size_t>(d), n);
  }
  Tensor out = zeros(shape, a->dtype());
  {
    GradModeGuard no_grad(false);
    copy_kernel(diagonal(out, offset, d1, d2), a);
  }
  if (any_requires_grad(a)) {
    auto node = record<DiagEmbedBackward0>(out, a);
    node->offset = offset, node->dim1 = d1, node->dim2 = d2;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return diag_embed(t, offset, d1, d2); });
  return out;
}

TensorList DiagEmbedBackward0::apply(TensorList&& grads) {
  return {diagonal(grads[0], offset, dim1, dim2)};
}

Tensor block_diag(const TensorVec& tensors) {
  DType dtype = tensors.empty() ? default_float_dtype() : tensors[0]->dtype();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i]->dim() > 2) {
      throw std::runtime_error(
          "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input " +
          std::to_string(i) + " has " + std::to_string(tensors[i]->dim()) + " dimensions");
    }
    dtype = promote(dtype, tensors[i]->dtype());
  }
  std::vector<BlockDiagBackward0::Block> blocks;
  int64_t rows = 0, cols = 0;
  for (const Tensor& t : tensors) {
    BlockDiagBackward0::Block b;
    b.row = rows, b.col = cols, b.meta = InputMeta(t);
    b.rows = t->dim() == 2 ? t->shape()[0] : 1;  // 0-d and 1-d tensors are rows
    b.cols = t->dim() == 2 ? t->shape()[1] : t->numel();
    rows += b.rows, cols += b.cols;
    blocks.push_back(b);
  }
  Tensor out = zeros(Shape{tensors.empty() ? 1 : rows, cols}, dtype);
  {
    GradModeGuard no_grad(false);
    for (size_t i = 0; i < tensors.size(); ++i) {
      const BlockDiagBackward0::Block& b = blocks[i];
      const Tensor region =
          slice(slice(out, 0, b.row, b.row + b.rows, 1), 1, b.col, b.col + b.cols, 1);
      copy_kernel(region, reshape(detach(tensors[i]), {b.rows, b.cols}));
    }
  }
  // As set_history for any number of inputs: a node recorded for tangents
  // only joins no graph (Note [Forward-mode AD]).
  bool records = false, joins_graph = false;
  for (const Tensor& t : tensors) {
    records = records || any_requires_grad(t);
    joins_graph = joins_graph || t->requires_grad();
  }
  if (records) {
    auto node = std::make_shared<BlockDiagBackward0>();
    for (const Tensor& t : tensors) add_next_edge(*node, t);
    if (joins_graph && GradMode::is_enabled()) out->set_history(node, 0);
    node->blocks = std::move(blocks);
  }
  bool any_tangent = false;
  for (const Tensor& t : tensors) any_tangent = any_tangent || forward_ad::has_tangent(t);
  if (any_tangent) {
    forward_ad::FormulaScope formula;
    TensorVec tangents;
    for (const Tensor& t : tensors) tangents.push_back(forward_ad::tangent_or_zeros(t));
    forward_ad::set_tangent(out, block_diag(tangents));
  }
  return out;
}

TensorList BlockDiagBackward0::apply(TensorList&& grads) {
  TensorList out(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (!wants_grad(*this, i)) continue;
    const Block& b = blocks[i];
    const Tensor region =
        slice(slice(grads[0], 0, b.row, b.row + b.rows, 1), 1, b.col, b.col + b.cols, 1);
    const Tensor g = reshape(region, DimList(b.meta.shape.begin(), b.meta.shape.end()));
    out[i] = g->dtype() == b.meta.dtype ? g : to_dtype(g, b.meta.dtype);
  }
  return out;
}

}  // namespace ember
