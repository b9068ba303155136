// gather / scatter / scatter_add: elementwise indexing along one dim, with
// their backward formulas. Each backward is itself one of these ops, so
// higher-order gradients flow without special placement nodes.

#include <cstring>

#include "ember/autograd/functions/shape.h"
#include "ember/kernels/elementwise.h"
#include "ember/ops.h"

namespace ember {
namespace {

// torch's checks: an int64 index with self's rank, no larger than `self`
// (and `src`) outside `dim`, and every entry within self's size along dim.
// Returns the wrapped dim.
int64_t check_index(const char* op, const Tensor& self, int64_t dim, const Tensor& index,
                    const Tensor* src) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(self->dim(), 1));
  if (index->dtype() != DType::Int64) {
    throw std::runtime_error(std::string(op) + "(): Expected dtype int32/int64 for index");
  }
  if (index->dim() != self->dim() && !(index->dim() <= 1 && self->dim() <= 1)) {
    throw std::runtime_error("Index tensor must have the same number of dimensions as " +
                             std::string(src ? "self tensor" : "input tensor"));
  }
  if (src && (*src)->dim() < index->dim()) {  // torch's message for the missing dim
    throw IndexError("Dimension out of range (expected to be in range of [" +
                     std::to_string(-std::max<int64_t>((*src)->dim(), 1)) + ", " +
                     std::to_string(std::max<int64_t>((*src)->dim(), 1) - 1) + "], but got " +
                     std::to_string((*src)->dim()) + ")");
  }
  if (src && (*src)->dim() > index->dim() && (*src)->dim() > 1) {
    throw std::runtime_error("Index tensor must have the same number of dimensions as src tensor");
  }
  for (int64_t k = 0; k < index->dim(); ++k) {
    const int64_t limit = self->dim() == 0 ? 1 : self->shape()[k];
    const bool beyond_self = k != d && index->shape()[k] > limit;
    const bool beyond_src = src && index->shape()[k] > (*src)->shape()[k];
    if (src && (beyond_self || beyond_src)) {
      throw std::runtime_error("Expected index " + shape_str(index->shape()) +
                               " to be no larger than self " + shape_str(self->shape()) +
                               " apart from dimension " + std::to_string(d) +
                               " and to be no larger size than src " + shape_str((*src)->shape()));
    }
    if (beyond_self) {
      throw std::runtime_error("Size does not match at dimension " + std::to_string(k) +
                               " expected index " + shape_str(index->shape()) +
                               " to be no larger than self " + shape_str(self->shape()) +
                               " apart from dimension " + std::to_string(d));
    }
  }
  return d;
}

// Calls f(self_offset, index_element_offset, other_offset) for each element
// of `index`: self_offset addresses self[..., index[...], ...] along dim, and
// other_offset the same position in `other` (the output of gather, the src
// of scatter), both through their strides.
template <typename F>
void for_each_indexed(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& other,
                      F f) {
  const int64_t n = index->numel();
  const int64_t rank = index->dim();
  const int64_t size = self->dim() == 0 ? 1 : self->shape()[dim];
  const Tensor idx = index->is_contiguous() ? index : contiguous_clone(index);
  const int64_t* pi = idx->data<int64_t>();
  std::vector<int64_t> pos(static_cast<size_t>(rank), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = pi[i];  // no wrapping: torch refuses negative positions here
    if (k < 0 || k >= size) {
      throw std::runtime_error("index " + std::to_string(k) + " is out of bounds for dimension " +
                               std::to_string(dim) + " with size " + std::to_string(size));
    }
    int64_t self_off = 0, other_off = 0;
    for (int64_t r = 0; r < rank; ++r) {
      const int64_t p = pos[static_cast<size_t>(r)];
      self_off += (r == dim ? k : p) * self->strides()[r];
      other_off += p * other->strides()[r];
    }
    f(self_off, other_off);
    for (int64_t r = rank; r-- > 0;) {  // next multi-index, last dim fastest
      if (++pos[static_cast<size_t>(r)] < index->shape()[r]) break;
      pos[static_cast<size_t>(r)] = 0;
    }
  }
}

// out = self with src scattered in (added when `accumulate`), no graph.
Tensor scatter_raw(const Tensor& self, int64_t d, const Tensor& index, const Tensor& src,
                   bool accumulate) {
  if (!has_kernels(self->dtype())) {  // Note [Compute dtypes]
    const DType dt = kernel_dtype(self->dtype());
    return convert(scatter_raw(convert(self, dt), d, index, convert(src, dt), accumulate),
                   self->dtype());
  }
  Tensor out = contiguous_clone(self);
  const Tensor values = convert(src, self->dtype());
  EMBER_DISPATCH(out->dtype(), T, [&] {
    T* po = out->data<T>();
    const T* ps = values->data<T>();
    for_each_indexed(out, d, index, values, [&](int64_t o, int64_t s) {
      po[o] = accumulate ? static_cast<T>(po[o] + ps[s]) : ps[s];
    });
  });
  return out;
}

}  // namespace

Tensor gather(const Tensor& a, int64_t dim, const Tensor& index) {
  const int64_t d = check_index("gather", a, dim, index, nullptr);
  Tensor out = empty(index->shape(), a->dtype());
  EMBER_DISPATCH_ALL(a->dtype(), T, [&] {
    const T* pa = a->data<T>();
    T* po = out->data<T>();
    for_each_indexed(a, d, index, out, [&](int64_t s, int64_t o) { po[o] = pa[s]; });
  });
  if (any_requires_grad(a)) {
    auto node = record<GatherBackward0>(out, a);
    node->index = SavedTensor(index, false);
    node->self_meta = InputMeta(a);
    node->dim = d;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return gather(t, dim, index); });
  return out;
}

TensorList GatherBackward0::apply(TensorList&& grads) {
  return {
      scatter_add(zeros(self_meta.shape, grads[0]->dtype()), dim, index.unpack(*this), grads[0])};
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  const int64_t d = check_index("scatter_add", self, dim, index, &src);
  if (src->dtype() != self->dtype()) {
    throw std::runtime_error("scatter(): Expected self.dtype to be equal to src.dtype");
  }
  Tensor out = scatter_raw(self, d, index, src, /*accumulate=*/true);
  if (any_requires_grad(self, src)) {
    auto node = record<ScatterAddBackward0>(out, {&self, &src});
    node->index = SavedTensor(index, false);
    node->dim = d;
    node->src_shape = src->shape();
  }
  if (forward_ad::any_tangent(self, src)) {  // linear in both
    forward_ad::FormulaScope formula;
    const Tensor ts = forward_ad::tangent(src);
    forward_ad::set_tangent(out, scatter_add(forward_ad::tangent_or_zeros(self), dim, index,
                                             ts ? ts : zeros(src->shape(), src->dtype())));
  }
  return out;
}

namespace {

// src's gradient is gathered at the index, so it has the index's shape; torch
// refuses it (rather than padding it) when src is larger.
void check_src_gradient(const Node& node, const Tensor& grad, const Shape& src_shape) {
  if (grad->shape() != src_shape) {
    throw std::runtime_error(
        std::string("Function ") + node.name() + " returned an invalid gradient at index 1 - got " +
        shape_str(grad->shape()) + " but expected shape compatible with " + shape_str(src_shape));
  }
}

}  // namespace

TensorList ScatterAddBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = g;
  if (wants_grad(*this, 1)) {
    out[1] = gather(g, dim, index.unpack(*this));
    check_src_gradient(*this, out[1], src_shape);
  }
  return out;
}

Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  const int64_t d = check_index("scatter", self, dim, index, &src);
  if (src->dtype() != self->dtype()) {
    throw std::runtime_error("scatter(): Expected self.dtype to be equal to src.dtype");
  }
  Tensor out = scatter_raw(self, d, index, src, /*accumulate=*/false);
  if (any_requires_grad(self, src)) {
    auto node = record<ScatterBackward0>(out, {&self, &src});
    node->index = SavedTensor(index, false);
    node->dim = d;
    node->src_shape = src->shape();
  }
  return out;
}

Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  const int64_t d = check_index("scatter", self, dim, index, nullptr);
  Tensor out = scatter_raw(self, d, index, full(index->shape(), value, self->dtype()), false);
  if (any_requires_grad(self)) {
    auto node = record<ScatterBackward1>(out, {&self});
    node->index = SavedTensor(index, false);
    node->dim = d;
  }
  return out;
}

// Overwritten positions pass no gradient to self; src's gradient is read back
// from where it went.
TensorList ScatterBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  const Tensor idx = index.unpack(*this);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = scatter(g, dim, idx, Scalar(0.0));
  if (wants_grad(*this, 1)) {
    out[1] = gather(g, dim, idx);
    check_src_gradient(*this, out[1], src_shape);
  }
  return out;
}

TensorList ScatterBackward1::apply(TensorList&& grads) {
  return {scatter(grads[0], dim, index.unpack(*this), Scalar(0.0))};
}

}  // namespace ember
