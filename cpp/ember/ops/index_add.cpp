// index_add: self with alpha * source's slices added along dim at index's
// positions, repeated positions summing; torch's checks, one node.

#include <string>

#include "ember/autograd/functions/placement.h"
#include "ember/kernels/elementwise.h"

namespace ember {
namespace {

// torch's checks, in its order.
void check_index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  if (index->dim() > 1) {
    throw IndexError("index_add_(): Index is supposed to be a vector, but got dim: " +
                     std::to_string(index->dim()) + " with type: " +
                     scalar_type_name(index->dtype()) + " and size: " + shape_str(index->shape()));
  }
  if (index->dtype() != DType::Int64 && index->dtype() != DType::Int32) {
    throw std::runtime_error("index_add_(): Expected dtype int32/int64 for index but got: " +
                             std::string(scalar_type_name(index->dtype())));
  }
  if (self->dtype() != source->dtype()) {
    throw std::runtime_error("index_add_(): self (" + std::string(scalar_type_name(self->dtype())) +
                             ") and source (" + scalar_type_name(source->dtype()) +
                             ") must have the same scalar type");
  }
  if (dim != 0 && dim >= source->dim()) {
    throw IndexError("index_add_(): Indexing dim " + std::to_string(dim) +
                     " is out of bounds of the source tensor with dim " +
                     std::to_string(source->dim()));
  }
  const int64_t along = source->dim() == 0 ? 1 : source->shape()[dim];
  if (index->numel() != along) {
    throw std::runtime_error("index_add_(): Number of indices (" + std::to_string(index->numel()) +
                             ") should be equal to source.size(dim): (" + std::to_string(along) +
                             "), for dim: " + std::to_string(dim));
  }
  Shape self_rest = self->shape(), source_rest = source->shape();
  if (self->dim() != 0 && source->dim() != 0) {
    self_rest.erase(static_cast<size_t>(dim));
    source_rest.erase(static_cast<size_t>(dim));
  }
  if (self_rest != source_rest) {
    throw std::runtime_error(
        "source tensor shape must match self tensor shape, excluding the specified dimension. "
        "Got self.shape = " +
        shape_str(self->shape()) + " source.shape = " + shape_str(source->shape()));
  }
}

// The int64 positions, each checked against the dim's size.
std::vector<int64_t> positions(const Tensor& self, int64_t dim, const Tensor& index) {
  const Tensor idx = contiguous(to_dtype(index, DType::Int64));
  const int64_t* p = idx->data<int64_t>();
  const int64_t size = self->dim() == 0 ? 1 : self->shape()[dim];
  std::vector<int64_t> out(p, p + idx->numel());
  for (int64_t i : out) {
    if (i >= 0 && i < size) continue;
    if (self->dim() <= 1) throw IndexError("index out of range in self");
    throw std::runtime_error("index " + std::to_string(i) + " is out of bounds for dimension " +
                             std::to_string(dim) + " with size " + std::to_string(size));
  }
  return out;
}

// out[o, pos[i], j] += alpha * src[o, i, j] over contiguous (outer, size,
// inner) and (outer, n, inner) layouts, in a kernel dtype.
Tensor add_slices(const Tensor& self, int64_t dim, const std::vector<int64_t>& pos,
                  const Tensor& source, const Scalar& alpha) {
  Tensor out = clone(self);
  const Tensor src = contiguous(source);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= self->shape()[d];
  for (int64_t d = dim + 1; d < self->dim(); ++d) inner *= self->shape()[d];
  const int64_t size = self->dim() == 0 ? 1 : self->shape()[dim];
  const int64_t n = static_cast<int64_t>(pos.size());
  EMBER_DISPATCH(out->dtype(), T, [&] {
    const T a = alpha.template to<T>();
    T* dst = out->data<T>();
    const T* s = src->data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < n; ++i) {
        T* row = dst + (o * size + pos[static_cast<size_t>(i)]) * inner;
        const T* from = s + (o * n + i) * inner;
        for (int64_t j = 0; j < inner; ++j) row[j] = static_cast<T>(row[j] + a * from[j]);
      }
    }
  });
  return out;
}

}  // namespace

Tensor index_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source,
                 const Scalar& alpha) {
  const int64_t d = wrap_dim(dim, a->dim());
  check_index_add(a, d, index, source);
  Tensor out;
  {
    GradModeGuard no_grad(false);
    const std::vector<int64_t> pos = positions(a, d, index);
    const DType dtype = a->dtype(), compute = kernel_dtype(dtype);
    out = has_kernels(dtype)
              ? add_slices(detach(a), d, pos, detach(source), alpha)
              : convert(add_slices(convert(a, compute), d, pos, convert(source, compute), alpha),
                        dtype);
  }
  if (any_requires_grad(a, source)) {
    auto node = record<IndexAddBackward0>(out, {&a, &source});
    node->index = SavedTensor(index, false);
    node->dim = d;
    node->alpha = alpha;
    node->source_meta = InputMeta(source);
  }
  if (forward_ad::any_tangent(a, source)) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, index_add(forward_ad::tangent_or_zeros(a), d, index,
                                           forward_ad::tangent_or_zeros(source), alpha));
  }
  return out;
}

Tensor& index_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                   const Scalar& alpha) {
  return assign_result_(self, {index, source}, "index_add_", [&](const Tensor& original) {
    return index_add(original, dim, index, source, alpha);
  });
}

TensorList IndexAddBackward0::apply(TensorList&& grads) {
  TensorList out(2);
  const Tensor& g = grads[0];
  if (wants_grad(*this, 0)) out[0] = g;
  if (wants_grad(*this, 1)) {
    const Tensor picked =
        index_select(g->dim() == 0 ? reshape(g, {1}) : g, dim, index.unpack(*this));
    const Tensor shaped =
        picked->shape() == source_meta.shape
            ? picked
            : reshape(picked, DimList(source_meta.shape.begin(), source_meta.shape.end()));
    out[1] = alpha.value == 1.0 && !alpha.beyond_int64 ? shaped : mul(shaped, alpha);
  }
  return out;
}

}  // namespace ember
