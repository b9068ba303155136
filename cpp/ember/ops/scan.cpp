// Running reductions (logcumsumexp, cummax, cummin) and order statistics
// along one dim (kthvalue, mode), with their backward formulas.

#include <limits>

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/functions/reduce.h"
#include "ember/kernels/reduce.h"
#include "ember/ops.h"

namespace ember {
namespace {

// 0-d tensors take dim 0 or -1, as in torch.
int64_t scan_dim(const Tensor& a, int64_t dim) {
  return wrap_dim(dim, std::max<int64_t>(a->dim(), 1));
}

[[noreturn]] void refuse_dtype(const char* kernel, DType dtype) {
  throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                            scalar_type_name(dtype) + "'");
}

// A reduced result in keepdim form: the reduced dim back as size 1.
Tensor with_kept_dim(const Tensor& t, const Shape& input_shape, int64_t dim, bool keepdim) {
  if (keepdim || input_shape.empty()) return t;
  return unsqueeze(t, dim);
}

// Zeros of `shape` with g added at `indices` along dim (a recorded
// scatter_add, so higher-order gradients flow). A 0-d input had one element.
Tensor gradient_at(const Tensor& g, const Tensor& indices, const Shape& shape, int64_t dim) {
  if (shape.empty()) return reshape(g, {});
  return scatter_add(zeros(shape, g->dtype()), dim, indices, g);
}

// log(|g|) where g has the wanted sign, else the lowest finite value (so
// exp of it, shifted, is 0 and no inf - inf appears).
Tensor log_of_part(const Tensor& g, bool positive) {
  const double lowest = g->dtype() == DType::Float32 ? std::numeric_limits<float>::lowest()
                                                     : std::numeric_limits<double>::lowest();
  const Tensor in_part = compare(positive ? BinaryOp::Gt : BinaryOp::Lt, g, Scalar(0.0));
  return where(in_part, log(abs(g)), full({}, Scalar(lowest), g->dtype()));
}

Tensor logcumsumexp_impl(const Tensor& a, int64_t dim, bool reverse);

// sum_j w_j exp(x_j - r_i) over the j the scan (in direction `reverse`)
// carried to i: a logcumsumexp of x + log|w| over each sign of w, so every
// exponent stays at most 0. The tangent of out and, in the other direction,
// the gradient of x are both of this form.
Tensor weighted_scan(const Tensor& w, const Tensor& x, const Tensor& r, int64_t dim, bool reverse) {
  auto part = [&](bool positive) {
    return exp(sub(logcumsumexp_impl(add(log_of_part(w, positive), x), dim, reverse), r));
  };
  return sub(part(true), part(false));
}

Tensor logcumsumexp_impl(const Tensor& a, int64_t dim, bool reverse) {
  Tensor out = logcumsumexp_kernel(a, dim, reverse);
  if (any_requires_grad(a)) {
    auto node = record<LogcumsumexpBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);
    node->dim = dim;
    node->reverse = reverse;
  }
  if (forward_ad::has_tangent(a) && a->numel() > 0) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, weighted_scan(forward_ad::tangent(a), a, out, dim, reverse));
  }
  return out;
}

}  // namespace

Tensor logcumsumexp(const Tensor& a, int64_t dim) {
  if (!is_floating(a->dtype())) refuse_dtype("logcumsumexp_out_cpu", a->dtype());
  return logcumsumexp_impl(a, scan_dim(a, dim), /*reverse=*/false);
}

// d out_j / d x_i = exp(x_i - out_j) for every j the scan carries x_i to, so
// grad_i = sum_j g_j exp(x_i - out_j): weighted_scan in the other direction
// with the roles of x and out swapped.
TensorList LogcumsumexpBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this), r = result.unpack(*this);
  const Tensor& g = grads[0];
  if (x->numel() == 0) return {zeros(x->shape(), x->dtype())};
  return {weighted_scan(g, neg(r), neg(x), dim, !reverse)};
}

namespace {

std::pair<Tensor, Tensor> cumulative_extreme(const Tensor& a, int64_t dim, bool is_max) {
  const int64_t d = scan_dim(a, dim);
  ExtremeResult r = cumulative_extreme_kernel(a, d, is_max);
  if (any_requires_grad(a)) {
    if (is_max) {
      auto n = record<CummaxBackward0>(r.values, a);
      n->indices = SavedTensor(r.indices, false);
      n->self_meta = InputMeta(a);
      n->dim = d;
    } else {
      auto n = record<CumminBackward0>(r.values, a);
      n->indices = SavedTensor(r.indices, false);
      n->self_meta = InputMeta(a);
      n->dim = d;
    }
  }
  linear_tangent(r.values, a, [&](const Tensor& t) {
    return a->dim() == 0 ? clone(t) : gather(t, d, r.indices);
  });
  return {r.values, r.indices};
}

}  // namespace

std::pair<Tensor, Tensor> cummax(const Tensor& a, int64_t dim) {
  return cumulative_extreme(a, dim, true);
}
std::pair<Tensor, Tensor> cummin(const Tensor& a, int64_t dim) {
  return cumulative_extreme(a, dim, false);
}

TensorList CummaxBackward0::apply(TensorList&& grads) {
  return {gradient_at(grads[0], indices.unpack(*this), self_meta.shape, dim)};
}
TensorList CumminBackward0::apply(TensorList&& grads) {
  return {gradient_at(grads[0], indices.unpack(*this), self_meta.shape, dim)};
}

namespace {

// The selected values and positions in the caller's form (keepdim or not),
// with their tangent: the input's tangent at those positions.
std::pair<Tensor, Tensor> selected(const Tensor& a, const ExtremeResult& r, int64_t d,
                                   bool keepdim) {
  Tensor values = r.values, indices = r.indices;
  if (!keepdim && a->dim() > 0) {
    GradModeGuard no_grad(false);
    values = squeeze(values, d);
    indices = squeeze(indices, d);
  }
  linear_tangent(values, a, [&](const Tensor& t) {
    if (a->dim() == 0) return clone(t);
    const Tensor picked = gather(t, d, r.indices);
    return keepdim ? picked : squeeze(picked, d);
  });
  return {values, indices};
}

template <typename NodeT>
void record_selection(const Tensor& a, const std::pair<Tensor, Tensor>& out, int64_t d,
                      bool keepdim) {
  if (!any_requires_grad(a)) return;
  auto node = record<NodeT>(out.first, a);
  node->indices = SavedTensor(out.second, false);
  node->self_meta = InputMeta(a);
  node->dim = d;
  node->keepdim = keepdim;
}

Tensor selection_gradient(const Tensor& g, const Tensor& indices, const InputMeta& meta,
                          int64_t dim, bool keepdim) {
  return gradient_at(with_kept_dim(g, meta.shape, dim, keepdim),
                     with_kept_dim(indices, meta.shape, dim, keepdim), meta.shape, dim);
}

}  // namespace

std::pair<Tensor, Tensor> kthvalue(const Tensor& a, int64_t k, int64_t dim, bool keepdim) {
  const int64_t d = scan_dim(a, dim);
  if (a->dtype() == DType::Bool) refuse_dtype("kthvalue_cpu", a->dtype());
  const int64_t len = a->dim() == 0 ? 1 : a->shape()[d];
  if (k < 1 || k > len) {
    throw std::runtime_error("kthvalue(): selected number k out of range for dimension " +
                             std::to_string(d));
  }
  auto out = selected(a, kthvalue_kernel(a, d, k), d, keepdim);
  record_selection<KthvalueBackward0>(a, out, d, keepdim);
  return out;
}

std::pair<Tensor, Tensor> mode(const Tensor& a, int64_t dim, bool keepdim) {
  const int64_t d = scan_dim(a, dim);
  if (a->dim() > 0 && a->shape()[d] == 0) {
    throw IndexError("mode(): Expected reduction dim " + std::to_string(d) +
                     " to have non-zero size.");
  }
  auto out = selected(a, mode_kernel(a, d), d, keepdim);
  record_selection<ModeBackward0>(a, out, d, keepdim);
  return out;
}

TensorList KthvalueBackward0::apply(TensorList&& grads) {
  return {selection_gradient(grads[0], indices.unpack(*this), self_meta, dim, keepdim)};
}
TensorList ModeBackward0::apply(TensorList&& grads) {
  return {selection_gradient(grads[0], indices.unpack(*this), self_meta, dim, keepdim)};
}

}  // namespace ember
