// lerp, addcmul/addcdiv and logsumexp: one node each, as in torch, with a
// fused kernel for same-shape contiguous float operands and composed ops
// (recording nothing) for the other layouts and dtypes.

#include <algorithm>
#include <cmath>
#include <optional>

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/functions/rearrange.h"
#include "ember/autograd/no_graph.h"
#include "ember/kernels/rearrange.h"
#include "ember/ops.h"

namespace ember {

namespace {

[[noreturn]] void refuse_dtype(const char* kernel, DType dtype) {
  throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                            scalar_type_name(dtype) + "'");
}

void require_dtype(const Tensor& t, const char* name, DType want) {
  if (t->dtype() != want) {
    throw std::runtime_error(std::string("expected dtype ") + c_type_name(want) + " for `" + name +
                             "` but got dtype " + c_type_name(t->dtype()));
  }
}

bool needs_graph(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts) {
    if (any_requires_grad(*t)) return true;
  }
  return false;
}

// torch's two forms of start + w * (end - start), each exact at its own end;
// half types compute in float32 and round once.
Tensor lerp_composed(const Tensor& start, const Tensor& end, const Tensor& weight, double w) {
  NoGraph scope;
  if (!has_kernels(start->dtype())) {
    const DType wide = kernel_dtype(start->dtype());
    const Tensor r = lerp_composed(to_dtype(start, wide), to_dtype(end, wide),
                                   weight ? to_dtype(weight, wide) : weight, w);
    return to_dtype(r, start->dtype());
  }
  const Tensor diff = sub(end, start);
  if (!weight) {
    return std::abs(w) < 0.5 ? add(start, mul(diff, Scalar(w)))
                             : sub(end, mul(diff, Scalar(1.0 - w)));
  }
  const Tensor near_start = compare(BinaryOp::Lt, abs(weight), Scalar(0.5));
  return where(near_start, add(start, mul(weight, diff)),
               sub(end, mul(diff, rsub(weight, Scalar(1.0)))));
}

}  // namespace

Tensor lerp(const Tensor& start, const Tensor& end, double weight) {
  require_dtype(end, "end", start->dtype());
  if (!is_floating(start->dtype())) refuse_dtype("lerp_kernel_scalar", start->dtype());
  Tensor out = fusable_pointwise({&start, &end}) ? lerp_kernel(start, end, nullptr, weight)
                                                 : lerp_composed(start, end, nullptr, weight);
  if (any_requires_grad(start, end)) {
    auto node = record<LerpBackward0>(out, {&start, &end});
    node->weight = weight;
    node->self_fit = GradFit(start, out);
    node->end_fit = GradFit(end, out);
  }
  if (forward_ad::any_tangent(start, end)) {
    forward_ad::FormulaScope formula;
    const Tensor ts = forward_ad::tangent(start), te = forward_ad::tangent(end);
    Tensor t;
    if (ts) t = mul(ts, Scalar(1.0 - weight));
    if (te) t = t ? add(t, mul(te, Scalar(weight))) : mul(te, Scalar(weight));
    forward_ad::set_tangent(out, expand(t, out->shape()));
  }
  return out;
}

TensorList LerpBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_fit.fit(mul(g, Scalar(1.0 - weight)));
  if (wants_grad(*this, 1)) out[1] = end_fit.fit(mul(g, Scalar(weight)));
  return out;
}

Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  require_dtype(end, "end", start->dtype());
  require_dtype(weight, "weight", start->dtype());
  if (!is_floating(start->dtype())) refuse_dtype("lerp_kernel_tensor", start->dtype());
  Tensor out = fusable_pointwise({&start, &end, &weight}) ? lerp_kernel(start, end, weight, 0.0)
                                                          : lerp_composed(start, end, weight, 0.0);
  if (needs_graph({&start, &end, &weight})) {
    auto node = record<LerpBackward1>(out, {&start, &end, &weight});
    if (start->requires_grad() || end->requires_grad() || forward_ad::has_tangent(start) ||
        forward_ad::has_tangent(end)) {
      node->weight = SavedTensor(weight, false);
    }
    if (weight->requires_grad() || forward_ad::has_tangent(weight)) {
      node->self = SavedTensor(start, false);
      node->end = SavedTensor(end, false);
    }
    node->self_fit = GradFit(start, out);
    node->end_fit = GradFit(end, out);
    node->weight_fit = GradFit(weight, out);
  }
  if (forward_ad::any_tangent(start, end, weight)) {
    forward_ad::FormulaScope formula;
    const Tensor ts = forward_ad::tangent(start), te = forward_ad::tangent(end),
                 tw = forward_ad::tangent(weight);
    Tensor t;
    auto plus = [&](const Tensor& term) { t = t ? add(t, term) : term; };
    if (ts) plus(mul(ts, rsub(weight, Scalar(1.0))));
    if (te) plus(mul(te, weight));
    if (tw) plus(mul(tw, sub(end, start)));
    forward_ad::set_tangent(out, expand(t, out->shape()));
  }
  return out;
}

TensorList LerpBackward1::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(3);
  if (wants_grad(*this, 0) || wants_grad(*this, 1)) {
    const Tensor w = weight.unpack(*this);
    if (wants_grad(*this, 0)) out[0] = self_fit.fit(mul(g, rsub(w, Scalar(1.0))));
    if (wants_grad(*this, 1)) out[1] = end_fit.fit(mul(g, w));
  }
  if (wants_grad(*this, 2)) {
    out[2] = weight_fit.fit(mul(g, sub(end.unpack(*this), self.unpack(*this))));
  }
  return out;
}

namespace {

// value as the result's kind: an integer result truncates it, as torch's.
Scalar addc_value(double value, DType result) {
  if (is_floating(result)) return Scalar(value);
  return Scalar::integer(static_cast<int64_t>(value));
}

// torch's result type of several tensors: 0-d tensors count only when they
// are of a higher kind (bool < integer < floating) than the others.
DType result_type_of(std::initializer_list<const Tensor*> ts) {
  std::optional<DType> dimmed, zero_d;
  for (const Tensor* t : ts) {
    std::optional<DType>& slot = (*t)->dim() == 0 ? zero_d : dimmed;
    slot = slot ? promote(*slot, (*t)->dtype()) : (*t)->dtype();
  }
  if (!dimmed) return *zero_d;
  if (!zero_d || is_floating(*dimmed)) return *dimmed;
  if (*dimmed == DType::Bool || is_floating(*zero_d)) return promote(*dimmed, *zero_d);
  return *dimmed;
}

Tensor addc(const Tensor& self, const Tensor& t1, const Tensor& t2, double value, bool divide) {
  const DType result = result_type_of({&self, &t1, &t2});
  if (divide && !is_floating(t1->dtype()) && !is_floating(t2->dtype())) {
    throw std::runtime_error(
        "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
        "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
        "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
        "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
        "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
        "tensor2), for all dtypes.");
  }
  if (result == DType::Bool) refuse_dtype(divide ? "addcdiv_cpu_out" : "addcmul_cpu_out", result);
  const Scalar v = addc_value(value, result);
  Tensor out;
  if (fusable_pointwise({&self, &t1, &t2})) {
    out = addc_kernel(self, t1, t2, value, divide);
  } else {
    // As torch: every operand in the result dtype (half types in float32),
    // rounded once at the end.
    NoGraph scope;
    const DType compute = is_floating(result) ? kernel_dtype(result) : result;
    auto as_compute = [&](const Tensor& t) {
      return t->dtype() == compute ? t : to_dtype(t, compute);
    };
    const Tensor a = as_compute(self), b = as_compute(t1), c = as_compute(t2);
    if (fusable_pointwise({&a, &b, &c})) {
      out = addc_kernel(a, b, c, value, divide);
    } else {
      out = add(a, mul(divide ? div(b, c) : mul(b, c), v));
    }
    if (out->dtype() != result) out = to_dtype(out, result);
  }
  const bool t1_grad = any_requires_grad(t1), t2_grad = any_requires_grad(t2);
  if (any_requires_grad(self) || t1_grad || t2_grad) {
    auto fill = [&](auto& node) {
      if (t1_grad || (divide && t2_grad)) node->tensor2 = SavedTensor(t2, false);
      if (t2_grad) node->tensor1 = SavedTensor(t1, false);
      node->value = value;
      node->self_fit = GradFit(self, out);
      node->tensor1_fit = GradFit(t1, out);
      node->tensor2_fit = GradFit(t2, out);
    };
    if (divide) {
      auto node = record<AddcdivBackward0>(out, {&self, &t1, &t2});
      fill(node);
    } else {
      auto node = record<AddcmulBackward0>(out, {&self, &t1, &t2});
      fill(node);
    }
  }
  if (forward_ad::any_tangent(self, t1, t2)) {
    forward_ad::FormulaScope formula;
    const Tensor d0 = forward_ad::tangent(self), d1 = forward_ad::tangent(t1),
                 d2 = forward_ad::tangent(t2);
    Tensor t;
    auto plus = [&](const Tensor& term) { t = t ? add(t, term) : term; };
    if (d0) plus(d0);
    if (d1) plus(mul(divide ? div(d1, t2) : mul(d1, t2), Scalar(value)));
    if (d2) plus(mul(divide ? neg(div(mul(d2, t1), mul(t2, t2))) : mul(d2, t1), Scalar(value)));
    forward_ad::set_tangent(out, expand(t, out->shape()));
  }
  return out;
}

}  // namespace

Tensor addcmul(const Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  return addc(self, t1, t2, value, false);
}
Tensor addcdiv(const Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  return addc(self, t1, t2, value, true);
}

TensorList AddcmulBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(3);
  if (wants_grad(*this, 0)) out[0] = self_fit.fit(g);
  if (wants_grad(*this, 1)) {
    out[1] = tensor1_fit.fit(mul(g, mul(tensor2.unpack(*this), Scalar(value))));
  }
  if (wants_grad(*this, 2)) {
    out[2] = tensor2_fit.fit(mul(g, mul(tensor1.unpack(*this), Scalar(value))));
  }
  return out;
}

TensorList AddcdivBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(3);
  if (wants_grad(*this, 0)) out[0] = self_fit.fit(g);
  if (wants_grad(*this, 1) || wants_grad(*this, 2)) {
    const Tensor b = tensor2.unpack(*this);
    if (wants_grad(*this, 1)) out[1] = tensor1_fit.fit(mul(g, rdiv(b, Scalar(value))));
    if (wants_grad(*this, 2)) {
      const Tensor a = tensor1.unpack(*this);
      out[2] = tensor2_fit.fit(mul(g, neg(div(mul(a, Scalar(value)), mul(b, b)))));
    }
  }
  return out;
}

namespace {

// t with the reduced dims (sorted) back as size 1.
Tensor with_kept_dims(const Tensor& t, const DimList& sorted_dims, bool keepdim) {
  if (keepdim) return t;
  Tensor r = t;
  for (int64_t d : sorted_dims) r = unsqueeze(r, d);
  return r;
}

}  // namespace

Tensor logsumexp(const Tensor& input, const DimList& dims, bool keepdim) {
  const Tensor a = is_floating(input->dtype()) ? input : [&] {
    NoGraph scope;
    return to_dtype(input, DType::Float32);
  }();
  const int64_t nd = a->dim();
  DimList wrapped;
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, std::max<int64_t>(nd, 1));
    if (std::find(wrapped.begin(), wrapped.end(), w) != wrapped.end()) {
      throw std::runtime_error("dim " + std::to_string(w) +
                               " appears multiple times in the list of dims");
    }
    wrapped.push_back(w);
  }
  if (dims.empty()) {
    for (int64_t d = 0; d < nd; ++d) wrapped.push_back(d);
  }
  std::sort(wrapped.begin(), wrapped.end());
  if (nd == 0) wrapped.clear();
  Tensor out;
  {
    NoGraph scope;
    DimList order, kept_shape;
    int64_t rows = 1, n = 1;
    for (int64_t d = 0; d < nd; ++d) {
      if (std::binary_search(wrapped.begin(), wrapped.end(), d)) continue;
      order.push_back(d);
      rows *= a->shape()[d];
    }
    for (int64_t d : wrapped) {
      order.push_back(d);
      n *= a->shape()[d];
    }
    for (int64_t d = 0; d < nd; ++d) {
      const bool reduced = std::binary_search(wrapped.begin(), wrapped.end(), d);
      if (!reduced) {
        kept_shape.push_back(a->shape()[d]);
      } else if (keepdim) {
        kept_shape.push_back(1);
      }
    }
    // Half types compute in float32 and round once (Note [Compute dtypes]).
    const Tensor wide = has_kernels(a->dtype()) ? a : convert(a, kernel_dtype(a->dtype()));
    const bool one_range = !wrapped.empty() && wrapped.back() - wrapped.front() + 1 ==
                                                   static_cast<int64_t>(wrapped.size());
    if (one_range && wrapped.back() < nd - 1 && wide->is_contiguous()) {
      // Reduced dims inside a contiguous tensor: by columns, not through a permuted copy.
      int64_t outer = 1;
      for (int64_t d = 0; d < wrapped.front(); ++d) outer *= a->shape()[d];
      out = reshape(logsumexp_columns_kernel(wide, outer, n, rows / outer), kept_shape);
    } else {
      const Tensor lines = contiguous(nd == 0 ? wide : permute(wide, order));
      out = reshape(logsumexp_rows_kernel(lines, rows, n), kept_shape);
    }
    if (out->dtype() != a->dtype()) out = convert(out, a->dtype());
  }
  if (any_requires_grad(a)) {
    auto node = record<LogsumexpBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);
    node->dims = wrapped;
    node->keepdim = keepdim;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    const Tensor r = with_kept_dims(out, wrapped, keepdim);
    const Tensor t = mul(forward_ad::tangent(a), exp(sub(a, r)));
    forward_ad::set_tangent(out, nd == 0 ? t : sum(t, wrapped, keepdim));
  }
  return out;
}

TensorList LogsumexpBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this), r = result.unpack(*this);
  const Tensor g = with_kept_dims(grads[0], dims, keepdim);
  return {mul(g, exp(sub(x, with_kept_dims(r, dims, keepdim))))};
}

}  // namespace ember
