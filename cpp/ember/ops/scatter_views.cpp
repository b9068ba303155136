// select_scatter, slice_scatter and diagonal_scatter: a copy of self with src
// written into the region the view op picks, one node each.

#include <string>

#include "ember/autograd/functions/placement.h"
#include "ember/kernels/elementwise.h"

namespace ember {
namespace {

std::shared_ptr<ViewScatterBackwardBase> scatter_node(ViewRegion::Kind kind) {
  switch (kind) {
    case ViewRegion::Kind::Select:
      return std::make_shared<SelectScatterBackward0>();
    case ViewRegion::Kind::Slice:
      return std::make_shared<SliceScatterBackward0>();
    default:
      return std::make_shared<DiagonalScatterBackward0>();
  }
}

Tensor scatter_region(const Tensor& a, const Tensor& src, const ViewRegion& region) {
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = clone(detach(a));
    const Tensor view = region_of(out, region);
    if (view->shape() != src->shape()) {
      throw std::runtime_error(
          "expected src to have a size equal to the slice of self. src size = " +
          shape_str(src->shape()) + ", slice size = " + shape_str(view->shape()));
    }
    copy_kernel(view, detach(src));
  }
  if (any_requires_grad(a, src)) {
    auto node = scatter_node(region.kind);
    set_history(node, {&a, &src}, out);
    node->region = region;
    node->src_meta = InputMeta(src);
  }
  if (forward_ad::any_tangent(a, src)) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, scatter_region(forward_ad::tangent_or_zeros(a),
                                                forward_ad::tangent_or_zeros(src), region));
  }
  return out;
}

}  // namespace

Tensor region_of(const Tensor& t, const ViewRegion& r) {
  switch (r.kind) {
    case ViewRegion::Kind::Select:
      return select(t, r.dim, r.index);
    case ViewRegion::Kind::Slice:
      return slice(t, r.dim, r.start, r.end, r.step);
    default:
      return diagonal(t, r.offset, r.dim1, r.dim2);
  }
}

Tensor select_scatter(const Tensor& a, const Tensor& src, int64_t dim, int64_t index) {
  const int64_t d = wrap_dim(dim, a->dim());
  const int64_t size = a->dim() == 0 ? 1 : a->shape()[d];
  if (index < -size || index >= size) {  // worded as torch's select_scatter words it
    throw IndexError("select(): index " + std::to_string(index) +
                     " out of range for tensor of size " + shape_str(a->shape()) +
                     " at dimension " + std::to_string(d));
  }
  ViewRegion r;
  r.kind = ViewRegion::Kind::Select, r.dim = dim, r.index = index;
  return scatter_region(a, src, r);
}

Tensor slice_scatter(const Tensor& a, const Tensor& src, int64_t dim, std::optional<int64_t> start,
                     std::optional<int64_t> end, int64_t step) {
  ViewRegion r;
  r.kind = ViewRegion::Kind::Slice, r.dim = dim, r.start = start, r.end = end, r.step = step;
  return scatter_region(a, src, r);
}

Tensor diagonal_scatter(const Tensor& a, const Tensor& src, int64_t offset, int64_t dim1,
                        int64_t dim2) {
  ViewRegion r;
  r.kind = ViewRegion::Kind::Diagonal, r.offset = offset, r.dim1 = dim1, r.dim2 = dim2;
  return scatter_region(a, src, r);
}

TensorList ViewScatterBackwardBase::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) {
    out[0] = scatter_region(g, zeros(src_meta.shape, g->dtype()), region);
  }
  if (wants_grad(*this, 1)) {
    const Tensor picked = region_of(g, region);
    out[1] = picked->dtype() == src_meta.dtype ? picked : to_dtype(picked, src_meta.dtype);
  }
  return out;
}

}  // namespace ember
