// masked_scatter: self (broadcast with the mask) with source's leading values
// written, in order, where the mask is true; torch's checks, one node.

#include <cstring>
#include <string>

#include "ember/autograd/functions/placement.h"
#include "ember/kernels/elementwise.h"

namespace ember {
namespace {

void check_masked_scatter(const Tensor& a, const Tensor& mask, const Tensor& source) {
  if (mask->dtype() != DType::Bool) {
    throw std::runtime_error(
        std::string("masked_scatter_ only supports boolean masks, but got mask with dtype ") +
        scalar_type_name(mask->dtype()));
  }
  if (a->dtype() != source->dtype()) {
    throw std::runtime_error(
        std::string("masked_scatter: expected self and source to have same dtypes but got") +
        scalar_type_name(a->dtype()) + " and " + scalar_type_name(source->dtype()));
  }
}

// out's masked positions (row-major) take src's values in order; out and
// mask contiguous and of one shape, src contiguous.
void place_in_order(const Tensor& out, const Tensor& mask, const Tensor& src) {
  const bool* m = mask->data<bool>();
  int64_t taken = 0;
  for (int64_t i = 0; i < mask->numel(); ++i) taken += m[i] ? 1 : 0;
  if (taken > src->numel()) {
    throw std::runtime_error("Number of elements of source < number of ones in mask");
  }
  const size_t item = itemsize(out->dtype());
  char* dst = static_cast<char*>(out->raw_data());
  const char* from = static_cast<const char*>(src->raw_data());
  for (int64_t i = 0, k = 0; i < mask->numel(); ++i) {
    if (m[i]) std::memcpy(dst + i * item, from + (k++) * item, item);
  }
}

// source's gradient: the gradient's masked entries in order, zero-padded to
// source's size (torch's masked_scatter_backward).
Tensor masked_scatter_backward(const Tensor& grad, const Tensor& mask, const Shape& source_shape) {
  Tensor out = zeros(source_shape, grad->dtype());
  {
    GradModeGuard no_grad(false);
    const Tensor picked = masked_select(detach(grad), mask);
    const Tensor flat = reshape(out, {-1});
    copy_kernel(slice(flat, 0, 0, picked->numel(), 1), picked);
  }
  if (any_requires_grad(grad)) {
    auto node = record<MaskedScatterBackwardBackward0>(out, grad);
    node->mask = SavedTensor(mask, false);
    node->grad_meta = InputMeta(grad);
  }
  linear_tangent(out, grad,
                 [&](const Tensor& t) { return masked_scatter_backward(t, mask, source_shape); });
  return out;
}

}  // namespace

Tensor masked_scatter(const Tensor& a, const Tensor& mask, const Tensor& source) {
  check_masked_scatter(a, mask, source);
  const Shape shape = broadcast_shapes(a->shape(), mask->shape());
  Tensor out, m;
  {
    GradModeGuard no_grad(false);
    out = contiguous_clone(expand(detach(a), shape));
    m = contiguous(expand(mask, shape));
    place_in_order(out, m, contiguous(detach(source)));
  }
  if (any_requires_grad(a, source)) {
    auto node = record<MaskedScatterBackward0>(out, {&a, &source});
    node->mask = SavedTensor(m, false);
    node->self_meta = InputMeta(a);
    node->source_shape = source->shape();
  }
  if (forward_ad::any_tangent(a, source)) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, masked_scatter(forward_ad::tangent_or_zeros(a), m,
                                                forward_ad::tangent_or_zeros(source)));
  }
  return out;
}

TensorList MaskedScatterBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  const Tensor m = mask.unpack(*this);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(masked_fill(g, m, Scalar(0.0)));
  if (wants_grad(*this, 1)) out[1] = masked_scatter_backward(g, m, source_shape);
  return out;
}

TensorList MaskedScatterBackwardBackward0::apply(TensorList&& grads) {
  return {masked_scatter(zeros(grad_meta.shape, grads[0]->dtype()), mask.unpack(*this), grads[0])};
}

}  // namespace ember
