// gather / scatter / scatter_add: elementwise indexing along one dim, with
// their backward formulas. Each backward is itself one of these ops, so
// higher-order gradients flow without special placement nodes.

#include <cmath>
#include <cstring>
#include <vector>

#include "ember/autograd/functions/elementwise.h"
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

// ---- scatter_reduce ----

namespace ember {
namespace {

template <typename T>
T combined(ScatterReduce reduce, T current, T value) {
  switch (reduce) {
    case ScatterReduce::Sum:
    case ScatterReduce::Mean:
      return static_cast<T>(current + value);
    case ScatterReduce::Prod:
      return static_cast<T>(current * value);
    case ScatterReduce::Amax:
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(value)) return value;
      }
      return value > current ? value : current;
    case ScatterReduce::Amin:
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(value)) return value;
      }
      return value < current ? value : current;
  }
  return current;
}

// The mean of what met at a position; integers round down, as torch's do.
template <typename T>
T divided(T total, int64_t count) {
  if constexpr (std::is_floating_point_v<T>) {
    return total / static_cast<T>(count);
  } else if constexpr (std::is_same_v<T, bool>) {
    return total;
  } else {
    const T q = total / static_cast<T>(count);
    return (total % static_cast<T>(count) != 0 && total < 0) ? static_cast<T>(q - 1) : q;
  }
}

Tensor scatter_reduce_raw(const Tensor& self, int64_t d, const Tensor& index, const Tensor& src,
                          ScatterReduce reduce, bool include_self) {
  if (!has_kernels(self->dtype())) {  // Note [Compute dtypes]
    const DType dt = kernel_dtype(self->dtype());
    return convert(
        scatter_reduce_raw(convert(self, dt), d, index, convert(src, dt), reduce, include_self),
        self->dtype());
  }
  Tensor out = contiguous_clone(self);
  // How many values met at each position, self's included.
  std::vector<int64_t> count(static_cast<size_t>(out->numel()), include_self ? 1 : 0);
  EMBER_DISPATCH(out->dtype(), T, [&] {
    T* po = out->data<T>();
    const T* ps = src->data<T>();
    for_each_indexed(out, d, index, src, [&](int64_t o, int64_t s) {
      int64_t& n = count[static_cast<size_t>(o)];
      po[o] = n == 0 ? ps[s] : combined(reduce, po[o], ps[s]);
      ++n;
    });
    if (reduce == ScatterReduce::Mean) {
      for (int64_t i = 0; i < out->numel(); ++i) {
        if (count[static_cast<size_t>(i)] > 1)
          po[i] = divided(po[i], count[static_cast<size_t>(i)]);
      }
    }
  });
  return out;
}

// 1 where some src value was scattered to, else 0, in `dtype`.
Tensor scattered_positions(const Tensor& self, int64_t d, const Tensor& index, DType dtype) {
  return scatter(zeros(self->shape(), dtype), d, index, Scalar(1.0));
}

Tensor is_zero(const Tensor& t) { return compare(BinaryOp::Eq, t, Scalar(0.0)); }

// t with its zeros replaced by ones.
Tensor zeros_as_ones(const Tensor& t) { return where(is_zero(t), ones({}, t->dtype()), t); }

struct ReduceGrads {
  Tensor self, src;
};

// Gradient of a product with respect to each factor: the product of the
// others. Zeros are counted apart so no factor is divided by zero: with one
// zero in a group only that zero gets the product of the rest.
ReduceGrads prod_grads(const Tensor& g, const Tensor& self, const Tensor& src, int64_t d,
                       const Tensor& index, bool include_self) {
  const DType dt = g->dtype();
  const Tensor self_zeros = include_self ? to_dtype(is_zero(self), dt) : zeros(self->shape(), dt);
  const Tensor zero_count = scatter_add(self_zeros, d, index, to_dtype(is_zero(src), dt));
  const Tensor nonzero_product = scatter_reduce(zeros_as_ones(self), d, index, zeros_as_ones(src),
                                                ScatterReduce::Prod, include_self);
  const Tensor zero = zeros({}, dt);
  auto others = [&](const Tensor& x, const Tensor& count, const Tensor& product) {
    const Tensor when_zero = where(compare(BinaryOp::Eq, count, Scalar(1.0)), product, zero);
    const Tensor when_nonzero =
        where(compare(BinaryOp::Eq, count, Scalar(0.0)), div(product, zeros_as_ones(x)), zero);
    return where(is_zero(x), when_zero, when_nonzero);
  };
  ReduceGrads r;
  r.self = include_self ? mul(g, others(self, zero_count, nonzero_product)) : g;
  r.src = mul(gather(g, d, index),
              others(src, gather(zero_count, d, index), gather(nonzero_product, d, index)));
  return r;
}

// amax / amin: the gradient is shared evenly among every value equal to the
// result at its position.
ReduceGrads extreme_grads(const Tensor& g, const Tensor& self, const Tensor& src,
                          const Tensor& result, int64_t d, const Tensor& index, bool include_self) {
  const DType dt = g->dtype();
  const Tensor self_hit =
      include_self ? compare(BinaryOp::Eq, self, result)
                   : compare(BinaryOp::Eq, scattered_positions(self, d, index, dt), Scalar(0.0));
  const Tensor src_hit = compare(BinaryOp::Eq, src, gather(result, d, index));
  const Tensor hits = scatter_add(to_dtype(self_hit, dt), d, index, to_dtype(src_hit, dt));
  const Tensor share = div(g, where(is_zero(hits), ones({}, dt), hits));
  const Tensor zero = zeros({}, dt);
  return {where(self_hit, share, zero), where(src_hit, gather(share, d, index), zero)};
}

// g times the derivative of each position's reduction with respect to self
// (at that position) and to each src value (at its own position).
ReduceGrads scatter_reduce_grads(const Tensor& g, const Tensor& x, const Tensor& s,
                                 const Tensor& result, int64_t dim, const Tensor& idx,
                                 ScatterReduce reduce, bool include_self) {
  const DType dt = g->dtype();
  ReduceGrads r;
  switch (reduce) {
    case ScatterReduce::Sum:
      r.self = g;
      r.src = gather(g, dim, idx);
      break;
    case ScatterReduce::Mean: {
      const Tensor met = scatter_add(full(x->shape(), Scalar(include_self ? 1.0 : 0.0), dt), dim,
                                     idx, ones(s->shape(), dt));
      const Tensor share = div(g, where(is_zero(met), ones({}, dt), met));
      r.self = share;
      r.src = gather(share, dim, idx);
      break;
    }
    case ScatterReduce::Prod:
      r = prod_grads(g, x, s, dim, idx, include_self);
      break;
    default:
      r = extreme_grads(g, x, s, result, dim, idx, include_self);
      break;
  }
  // Without self in the reduction, a position that received values owes
  // self nothing (for amax/amin self_hit already says so).
  const bool extreme = reduce == ScatterReduce::Amax || reduce == ScatterReduce::Amin;
  if (!include_self && !extreme) {
    const Tensor touched = scattered_positions(x, dim, idx, DType::Bool);
    r.self = where(touched, zeros({}, dt), r.self);
  }
  return r;
}

// Each output position depends only on what met there, so the tangent is
// the backward's per-element derivatives (g = 1) times the input tangents,
// src's summed into the positions they went to.
void set_scatter_reduce_tangent(const Tensor& out, const Tensor& self, const Tensor& src,
                                int64_t dim, const Tensor& index, ScatterReduce reduce,
                                bool include_self) {
  if (!forward_ad::any_tangent(self, src)) return;
  forward_ad::FormulaScope formula;
  const ReduceGrads d = scatter_reduce_grads(ones(out->shape(), out->dtype()), self, src, out, dim,
                                             index, reduce, include_self);
  const Tensor from_src = mul(d.src, forward_ad::tangent_or_zeros(src));
  forward_ad::set_tangent(
      out, scatter_add(mul(d.self, forward_ad::tangent_or_zeros(self)), dim, index, from_src));
}

}  // namespace

Tensor scatter_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                      ScatterReduce reduce, bool include_self) {
  const int64_t d = check_index("scatter_reduce", self, dim, index, &src);
  if (src->dtype() != self->dtype()) {
    throw std::runtime_error("scatter(): Expected self.dtype to be equal to src.dtype");
  }
  if (reduce == ScatterReduce::Mean && self->dtype() == DType::Bool) {
    throw NotImplementedError(
        "\"scatter_gather_tensor_cpu_reduce_mean\" not implemented for 'Bool'");
  }
  Tensor out = scatter_reduce_raw(self, d, index, src, reduce, include_self);
  if (any_requires_grad(self, src)) {
    auto node = record<ScatterReduceBackward0>(out, {&self, &src});
    node->index = SavedTensor(index, false);
    node->dim = d;
    node->reduce = static_cast<int>(reduce);
    node->include_self = include_self;
    node->self = SavedTensor(self, false);
    node->src = SavedTensor(src, false);
    if (reduce == ScatterReduce::Amax || reduce == ScatterReduce::Amin) {
      node->result = SavedTensor(out, true);
    }
  }
  set_scatter_reduce_tangent(out, self, src, d, index, reduce, include_self);
  return out;
}

Tensor scatter_accumulate(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                          bool multiply) {
  const int64_t d = check_index("scatter", self, dim, index, &src);
  if (src->dtype() != self->dtype()) {
    throw std::runtime_error("scatter(): Expected self.dtype to be equal to src.dtype");
  }
  Tensor out = scatter_reduce_raw(self, d, index, src,
                                  multiply ? ScatterReduce::Prod : ScatterReduce::Sum, true);
  // torch gives these forms no derivative: the result requires grad and
  // backward through it raises.
  if (any_requires_grad(self, src) && is_floating(out->dtype())) {
    record<NotImplemented>(out, {&self, &src}, "aten::scatter");
  }
  return out;
}

Tensor scatter_accumulate(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
                          bool multiply) {
  const int64_t d = check_index("scatter", self, dim, index, nullptr);
  const Tensor values = full(index->shape(), value, self->dtype());
  Tensor out = scatter_reduce_raw(self, d, index, values,
                                  multiply ? ScatterReduce::Prod : ScatterReduce::Sum, true);
  if (any_requires_grad(self) && is_floating(out->dtype())) {
    record<NotImplemented>(out, {&self}, "aten::scatter");
  }
  return out;
}

TensorList ScatterReduceBackward0::apply(TensorList&& grads) {
  const ScatterReduce how = static_cast<ScatterReduce>(reduce);
  const bool reads_result = how == ScatterReduce::Amax || how == ScatterReduce::Amin;
  const ReduceGrads r = scatter_reduce_grads(grads[0], self.unpack(*this), src.unpack(*this),
                                             reads_result ? result.unpack(*this) : Tensor(), dim,
                                             index.unpack(*this), how, include_self);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = r.self;
  if (wants_grad(*this, 1)) out[1] = r.src;
  return out;
}

}  // namespace ember
