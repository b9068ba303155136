// Tensor.unfold (a view of sliding windows along one dim) and rot90, with
// their backward formulas.

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/functions/shape.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/reduce.h"
#include "ember/ops.h"

namespace ember {
namespace {

int64_t window_count(int64_t length, int64_t size, int64_t step) {
  return (length - size) / step + 1;
}

}  // namespace

Tensor unfold(const Tensor& a, int64_t dim, int64_t size, int64_t step) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(a->dim(), 1));
  const int64_t length = a->dim() == 0 ? 1 : a->shape()[d];
  if (size > length) {
    throw std::runtime_error("maximum size for tensor at dimension " + std::to_string(d) + " is " +
                             std::to_string(length) + " but size is " + std::to_string(size));
  }
  if (size < 0) {
    throw std::runtime_error("size is " + std::to_string(size) + " but must be >= 0");
  }
  if (step <= 0) {
    throw std::runtime_error("step is " + std::to_string(step) + " but must be > 0");
  }
  Shape shape;
  Strides strides;
  if (a->dim() == 0) {
    shape.push_back(size);
    strides.push_back(1);
  } else {
    shape = a->shape();
    strides = a->strides();
    shape[d] = window_count(length, size, step);
    strides[d] = a->strides()[d] * step;
    shape.push_back(size);
    strides.push_back(a->strides()[d]);
  }
  Tensor out = make_view(a, a->offset(), shape, strides);
  if (any_requires_grad(a)) {
    auto node = record<UnfoldBackward0>(out, a);
    node->self_meta = InputMeta(a);
    node->dim = d;
    node->size = size;
    node->step = step;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return unfold(t, d, size, step); });
  return out;
}

TensorList UnfoldBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  Tensor out = fold_windows_kernel(g, self_meta.shape, dim, step);
  linear_tangent(
      out, g, [&](const Tensor& t) { return fold_windows_kernel(t, self_meta.shape, dim, step); });
  // Note [Placing a gradient]: the fold's own backward is unfold again.
  if (any_requires_grad(g)) {
    auto node = record<UnfoldBackwardBackward0>(out, g);
    node->dim = dim;
    node->size = size;
    node->step = step;
  }
  return {out};
}

TensorList UnfoldBackwardBackward0::apply(TensorList&& grads) {
  return {unfold(grads[0], dim, size, step)};
}

// ---- rot90 ----

namespace {

// `a` reversed along dim, as a fresh tensor without a graph.
Tensor reversed(const Tensor& a, int64_t dim) {
  const int64_t n = a->shape()[dim];
  const Tensor positions =
      arange(Scalar::integer(n - 1), Scalar::integer(-1), Scalar::integer(-1), DType::Int64);
  return index_rows(a, dim, positions);
}

// k quarter turns as raw flips and a transpose.
Tensor rotated(const Tensor& a, int64_t k, int64_t d0, int64_t d1) {
  GradModeGuard no_grad(false);
  switch (k) {
    case 1:
      return contiguous(transpose(reversed(a, d1), d0, d1));
    case 2:
      return reversed(reversed(a, d0), d1);
    case 3:
      return contiguous(transpose(reversed(a, d0), d0, d1));
    default:
      return contiguous_clone(a);
  }
}

}  // namespace

Tensor rot90(const Tensor& a, int64_t k, int64_t dim0, int64_t dim1) {
  if (a->dim() < 2) {
    throw std::runtime_error("expected total dims >= 2, but got total dims = " +
                             std::to_string(a->dim()));
  }
  if (dim0 == dim1 || wrap_dim(dim0, a->dim()) == wrap_dim(dim1, a->dim())) {
    throw std::runtime_error("expected rotation dims to be different, but got dim0 = " +
                             std::to_string(dim0) + " and dim1 = " + std::to_string(dim1));
  }
  const int64_t d0 = wrap_dim(dim0, a->dim()), d1 = wrap_dim(dim1, a->dim());
  const int64_t turns = ((k % 4) + 4) % 4;
  Tensor out = rotated(a, turns, d0, d1);
  if (any_requires_grad(a)) {
    auto node = record<Rot90Backward0>(out, a);
    node->k = turns;
    node->dim0 = d0;
    node->dim1 = d1;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return rot90(t, turns, d0, d1); });
  return out;
}

// Turning back undoes the turn, and it is the transpose of the turn too.
TensorList Rot90Backward0::apply(TensorList&& grads) {
  return {rot90(grads[0], 4 - k, dim0, dim1)};
}

}  // namespace ember
