// linalg.cross, the cross product of 3-vectors along a dim, with its backward.

#include "ember/autograd/functions/decompositions.h"
#include "ember/ops/linalg_batch.h"

namespace ember {

using linalg::fit_to;
using linalg::record_outputs;

// ---- cross product ----

namespace {

Tensor cross_product(const Tensor& a, const Tensor& b, int64_t d) {
  auto part = [d](const Tensor& t, int64_t i) { return select(t, d, i); };
  auto term = [&](int64_t i, int64_t j) {
    return sub(mul(part(a, i), part(b, j)), mul(part(a, j), part(b, i)));
  };
  return stack({term(1, 2), term(2, 0), term(0, 1)}, d);
}

}  // namespace

Tensor linalg_cross(const Tensor& a, const Tensor& b, int64_t dim) {
  if (a->dim() != b->dim()) {
    throw std::runtime_error("linalg.cross: inputs must have the same number of dimensions.");
  }
  if (a->dtype() != b->dtype()) {
    throw std::runtime_error(std::string("expected scalar type ") + scalar_type_name(a->dtype()) +
                             " but found " + scalar_type_name(b->dtype()));
  }
  const int64_t d = wrap_dim(dim, a->dim());
  if (a->shape()[d] != 3 || b->shape()[d] != 3) {
    throw std::runtime_error("linalg.cross: inputs dimension " + std::to_string(dim) +
                             " must have length 3. Got " + std::to_string(a->shape()[d]) + " and " +
                             std::to_string(b->shape()[d]));
  }
  const Shape shape = broadcast_shapes(a->shape(), b->shape());
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = contiguous(cross_product(expand(a, shape), expand(b, shape), d));
    if (out.get() == a.get() || out.get() == b.get()) out = contiguous_clone(out);
  }
  if (auto node = record_outputs<LinalgCrossBackward0>("linalg_cross", {&a, &b}, {&out})) {
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->dim = d;
    node->self_shape = a->shape();
    node->other_shape = b->shape();
  }
  return out;
}

TensorList LinalgCrossBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) {
    out[0] = fit_to(linalg_cross(expand(other.unpack(*this), g->shape()), g, dim), self_shape);
  }
  if (wants_grad(*this, 1)) {
    out[1] = fit_to(linalg_cross(g, expand(self.unpack(*this), g->shape()), dim), other_shape);
  }
  return out;
}

}  // namespace ember
