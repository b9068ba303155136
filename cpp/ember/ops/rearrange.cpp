// Ops that move elements: tril/triu, flip, roll, masked_fill, and trace,
// each one node as in torch, with backward and forward formulas.

#include "ember/autograd/functions/rearrange.h"

#include <algorithm>

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/no_graph.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/rearrange.h"
#include "ember/ops.h"

namespace ember {

namespace {

Tensor triangle(const Tensor& a, int64_t diagonal, bool lower) {
  if (a->dim() < 2) {
    throw std::runtime_error(std::string(lower ? "tril" : "triu") +
                             ": input tensor must have at least 2 dimensions");
  }
  Tensor out;
  {
    NoGraph scope;
    out = triangle_kernel(contiguous(a), diagonal, lower);
  }
  if (any_requires_grad(a)) {
    if (lower) {
      record<TrilBackward0>(out, a)->diagonal = diagonal;
    } else {
      record<TriuBackward0>(out, a)->diagonal = diagonal;
    }
  }
  linear_tangent(out, a, [&](const Tensor& t) { return triangle(t, diagonal, lower); });
  return out;
}

// Per-dim source positions (empty: identity) -> a fresh reordered tensor.
Tensor remapped(const Tensor& a, const std::vector<std::vector<int64_t>>& sources) {
  NoGraph scope;
  if (a->dim() == 0) return contiguous_clone(a);
  return remap_kernel(contiguous(a), sources);
}

}  // namespace

Tensor tril(const Tensor& a, int64_t diagonal) { return triangle(a, diagonal, true); }
Tensor triu(const Tensor& a, int64_t diagonal) { return triangle(a, diagonal, false); }

TensorList TrilBackward0::apply(TensorList&& grads) { return {tril(grads[0], diagonal)}; }
TensorList TriuBackward0::apply(TensorList&& grads) { return {triu(grads[0], diagonal)}; }

Tensor flip(const Tensor& a, const DimList& dims) {
  const int64_t nd = std::max<int64_t>(a->dim(), 1);
  DimList wrapped;
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, nd);
    if (std::find(wrapped.begin(), wrapped.end(), w) != wrapped.end()) {
      throw std::runtime_error("dim " + std::to_string(w) +
                               " appears multiple times in the list of dims");
    }
    wrapped.push_back(w);
  }
  std::vector<std::vector<int64_t>> sources(a->dim());
  for (int64_t d : wrapped) {
    if (a->dim() == 0) break;
    const int64_t n = a->shape()[d];
    auto& s = sources[d];
    s.resize(n);
    for (int64_t i = 0; i < n; ++i) s[i] = n - 1 - i;
  }
  Tensor out = remapped(a, sources);
  if (any_requires_grad(a)) record<FlipBackward0>(out, a)->dims = wrapped;
  linear_tangent(out, a, [&](const Tensor& t) { return flip(t, wrapped); });
  return out;
}

TensorList FlipBackward0::apply(TensorList&& grads) { return {flip(grads[0], dims)}; }

Tensor roll(const Tensor& a, const DimList& shifts, const DimList& dims) {
  if (shifts.empty()) throw std::runtime_error("`shifts` required");
  if (dims.empty() && shifts.size() != 1) {
    throw std::runtime_error(
        "shifts and dimensions must align. shifts: " + std::to_string(shifts.size()) + ", dims:0");
  }
  if (!dims.empty() && shifts.size() != dims.size()) {
    throw std::runtime_error(
        "shifts and dimensions must align. shifts: " + std::to_string(shifts.size()) +
        ", dims:" + std::to_string(dims.size()));
  }
  Tensor out;
  DimList wrapped;
  if (dims.empty()) {  // the flattened tensor, rolled, in the input's shape
    std::vector<std::vector<int64_t>> sources(1);
    const int64_t n = a->numel();
    if (n > 0) {
      sources[0].resize(n);
      const int64_t s = ((shifts[0] % n) + n) % n;
      for (int64_t j = 0; j < n; ++j) sources[0][j] = (j - s + n) % n;
    }
    NoGraph scope;
    out = reshape(remap_kernel(reshape(contiguous(a), {n}), sources),
                  DimList(a->shape().begin(), a->shape().end()));
  } else {
    if (a->dim() == 0) {
      throw IndexError("Dimension specified as " + std::to_string(dims[0]) +
                       " but tensor has no dimensions");
    }
    // Rolls along the same dim add up.
    std::vector<int64_t> total(a->dim(), 0);
    for (size_t i = 0; i < dims.size(); ++i) {
      const int64_t d = wrap_dim(dims[i], a->dim());
      wrapped.push_back(d);
      total[d] += shifts[i];
    }
    std::vector<std::vector<int64_t>> sources(a->dim());
    for (int64_t d = 0; d < a->dim(); ++d) {
      const int64_t n = a->shape()[d];
      if (n == 0 || total[d] % n == 0) continue;
      const int64_t s = ((total[d] % n) + n) % n;
      sources[d].resize(n);
      for (int64_t j = 0; j < n; ++j) sources[d][j] = (j - s + n) % n;
    }
    out = remapped(a, sources);
  }
  if (any_requires_grad(a)) {
    auto node = record<RollBackward0>(out, a);
    node->shifts = shifts;
    node->dims = wrapped;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return roll(t, shifts, wrapped); });
  return out;
}

TensorList RollBackward0::apply(TensorList&& grads) {
  DimList back;
  for (int64_t s : shifts) back.push_back(-s);
  return {roll(grads[0], back, dims)};
}

namespace {

void check_mask(const Tensor& mask) {
  if (mask->dtype() != DType::Bool) {
    throw std::runtime_error(
        std::string("masked_fill_ only supports boolean masks, but got mask with dtype ") +
        c_type_name(mask->dtype()));
  }
}

// a broadcast against mask, with `fill` (0-d, a's dtype) where mask is set:
// one select pass, no copy of a first.
Tensor filled(const Tensor& a, const Tensor& mask, const Tensor& fill) {
  NoGraph scope;
  return where_kernel(mask, fill, a);
}

}  // namespace

Tensor masked_fill(const Tensor& a, const Tensor& mask, const Scalar& value) {
  check_mask(mask);
  Tensor out = filled(a, mask, full({}, value, a->dtype()));
  if (any_requires_grad(a)) {
    auto node = record<MaskedFillBackward0>(out, a);
    node->mask = SavedTensor(mask, false);
    node->self_fit = GradFit(a, out);
  }
  linear_tangent(out, a, [&](const Tensor& t) { return masked_fill(t, mask, Scalar(0.0)); });
  return out;
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, const Tensor& value) {
  check_mask(mask);
  if (value->dim() != 0) {
    throw std::runtime_error(
        "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with " +
        std::to_string(value->dim()) + " dimension(s).");
  }
  Tensor fill;
  {
    NoGraph scope;
    fill = value->dtype() == a->dtype() ? value : to_dtype(value, a->dtype());
  }
  Tensor out = filled(a, mask, fill);
  if (any_requires_grad(a, value)) {
    auto node = record<MaskedFillBackward1>(out, {&a, &value});
    node->mask = SavedTensor(mask, false);
    node->self_fit = GradFit(a, out);
    node->value_dtype = value->dtype();
  }
  if (forward_ad::any_tangent(a, value)) {
    forward_ad::FormulaScope formula;
    const Tensor tv = forward_ad::tangent_or_zeros(value);
    const Tensor ta = forward_ad::tangent_or_zeros(a);
    forward_ad::set_tangent(out, where(mask, to_dtype(tv, ta->dtype()), ta));
  }
  return out;
}

TensorList MaskedFillBackward0::apply(TensorList&& grads) {
  return {self_fit.fit(masked_fill(grads[0], mask.unpack(*this), Scalar(0.0)))};
}

TensorList MaskedFillBackward1::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  const Tensor m = mask.unpack(*this);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_fit.fit(masked_fill(g, m, Scalar(0.0)));
  if (wants_grad(*this, 1)) {
    Tensor picked = sum(where(m, g, zeros({}, g->dtype())));
    out[1] = picked->dtype() == value_dtype ? picked : to_dtype(picked, value_dtype);
  }
  return out;
}

Tensor trace(const Tensor& a) {
  if (a->dim() != 2) {
    throw std::runtime_error("trace: expected a matrix, but got tensor with dim " +
                             std::to_string(a->dim()));
  }
  if (a->dtype() == DType::Bool) {
    throw NotImplementedError("\"trace\" not implemented for 'Bool'");
  }
  Tensor out;
  {
    NoGraph scope;
    out = sum(diagonal(a, 0, 0, 1));
  }
  if (any_requires_grad(a)) {
    auto node = record<TraceBackward0>(out, a);
    node->self_sizes = a->shape();
    node->self_dtype = a->dtype();
  }
  linear_tangent(out, a, [&](const Tensor& t) { return trace(t); });
  return out;
}

TensorList TraceBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  return {mul(eye(self_sizes[0], self_sizes[1], g->dtype()), g)};
}

}  // namespace ember
