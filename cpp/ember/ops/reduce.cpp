// Reductions and their backward formulas.

#include "ember/autograd/functions/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ember/kernels/elementwise.h"
#include "ember/kernels/loops.h"
#include "ember/kernels/reduce.h"

namespace ember {
namespace {

// Which dims a reduction covers; empty `dims` means all of them.
std::vector<bool> reduce_mask(int64_t ndim, const DimList& dims) {
  std::vector<bool> mask(static_cast<size_t>(ndim), dims.empty());
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, ndim);
    if (ndim == 0) continue;
    if (mask[static_cast<size_t>(w)]) {
      throw std::runtime_error("dim " + std::to_string(w) +
                               " appears multiple times in the list of dims");
    }
    mask[static_cast<size_t>(w)] = true;
  }
  return mask;
}

DimList wrapped_dims(int64_t ndim, const DimList& dims) {
  const std::vector<bool> mask = reduce_mask(ndim, dims);
  DimList out;
  for (int64_t d = 0; d < ndim; ++d) {
    if (mask[static_cast<size_t>(d)]) out.push_back(d);
  }
  return out;
}

// Note [Reduction tangents]
// A reduction's backward is its output gradient, restored to the input's
// shape, times a factor D of that shape; so its forward formula is D times the
// input's tangent, summed over the reduced dims. Each reduction below computes
// D the way its backward does and hands it here.
void set_reduction_tangent(const Tensor& out, const Tensor& tangent_times_d, const DimList& dims,
                           bool keepdim) {
  Tensor t = tangent_times_d->dim() == 0 ? tangent_times_d : sum(tangent_times_d, dims, keepdim);
  if (t->shape() != out->shape()) t = reshape(t, DimList(out->shape().begin(), out->shape().end()));
  forward_ad::set_tangent(out, t);
}

int64_t reduced_count(const Tensor& a, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) n *= a->shape()[d];
  }
  return n;
}

// Drops the reduced dims of a keepdim-shaped result (no graph: a raw view).
Tensor drop_reduced(const Tensor& r, const std::vector<bool>& mask, bool keepdim) {
  if (keepdim) return r;
  Shape shape;
  Strides strides;
  for (size_t d = 0; d < mask.size(); ++d) {
    if (!mask[d]) {
      shape.push_back(r->shape()[d]);
      strides.push_back(r->strides()[d]);
    }
  }
  return std::make_shared<TensorImpl>(r->storage(), r->offset(), shape, strides, r->dtype());
}

Shape keepdim_shape(const Shape& in, const std::vector<bool>& mask) {
  Shape out = in;
  for (size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) out[d] = 1;
  }
  return out;
}

// A gradient of a reduction's output, reshaped to keepdim form.
Tensor restore_reduced(const Tensor& g, const Shape& in_shape, const DimList& dims, bool keepdim) {
  if (keepdim || g->dim() == static_cast<int64_t>(in_shape.size())) return g;
  const std::vector<bool> mask = reduce_mask(static_cast<int64_t>(in_shape.size()), dims);
  const Shape ks = keepdim_shape(in_shape, mask);
  return reshape(g, DimList(ks.begin(), ks.end()));
}

// The dtype a sum, product or cumsum accumulates in. An integer result of an
// input that requires grad would silently drop it: torch refuses.
DType sum_dtype(const Tensor& a, std::optional<DType> requested) {
  if (!requested) return is_floating(a->dtype()) ? a->dtype() : DType::Int64;
  if (!is_floating(*requested) && any_requires_grad(a)) {
    throw std::runtime_error(std::string("Autograd not support dtype: ") +
                             scalar_type_name(*requested));
  }
  return *requested;
}

void require_floating(const Tensor& a, const char* op) {
  if (!is_floating(a->dtype())) {
    throw std::runtime_error(std::string(op) +
                             "(): could not infer output dtype. Input dtype must be either a "
                             "floating point or complex dtype. Got: " +
                             scalar_type_name(a->dtype()));
  }
}

void require_floating_var_std(const Tensor& a) {
  if (!is_floating(a->dtype())) {
    throw std::runtime_error("std and var only support floating point and complex dtypes");
  }
}

}  // namespace

// ---- sum / mean ----

Tensor sum(const Tensor& a, std::optional<DType> dtype) {
  Tensor out = sum_all_kernel(a, sum_dtype(a, dtype));
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    record<SumBackward0>(out, a)->self_meta = InputMeta(a);
    linear_tangent(out, a, [&](const Tensor& t) { return sum(t, dtype); });
  }
  return out;
}

Tensor sum(const Tensor& a, const DimList& dims, bool keepdim, std::optional<DType> dtype) {
  const std::vector<bool> mask = reduce_mask(a->dim(), dims);
  Tensor out = drop_reduced(sum_kernel(a, mask, sum_dtype(a, dtype)), mask, keepdim);
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    auto node = record<SumBackward1>(out, a);
    node->self_meta = InputMeta(a);
    node->dims = wrapped_dims(a->dim(), dims);
    node->keepdim = keepdim;
    linear_tangent(out, a, [&](const Tensor& t) { return sum(t, dims, keepdim, dtype); });
  }
  return out;
}

TensorList SumBackward0::apply(TensorList&& grads) {
  return {to_dtype(expand(grads[0], self_meta.shape), self_meta.dtype)};
}

TensorList SumBackward1::apply(TensorList&& grads) {
  Tensor g = restore_reduced(grads[0], self_meta.shape, dims, keepdim);
  return {to_dtype(expand(g, self_meta.shape), self_meta.dtype)};
}

namespace {

// x with its NaNs replaced by zeros (x itself when it cannot hold a NaN).
Tensor without_nans(const Tensor& x, const Tensor& values) {
  if (!is_floating(x->dtype())) return values;
  if (values == x && x->is_contiguous() &&
      (x->dtype() == DType::Float32 || x->dtype() == DType::Float64)) {
    Tensor out = empty(x->shape(), x->dtype());
    EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
      const T* p = x->data<T>();
      T* o = out->data<T>();
      for (int64_t i = 0; i < x->numel(); ++i) o[i] = p[i] != p[i] ? T(0) : p[i];
    });
    return out;
  }
  return where(compare(BinaryOp::Ne, x, x), zeros({}, values->dtype()), values);
}

// Whether a float tensor holds a NaN; a strided one is taken to.
bool may_hold_nan(const Tensor& x) {
  if (!is_floating(x->dtype())) return false;
  if (!x->is_contiguous() || (x->dtype() != DType::Float32 && x->dtype() != DType::Float64)) {
    return true;
  }
  return EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* p = x->data<T>();
    for (int64_t i = 0; i < x->numel(); ++i) {
      if (p[i] != p[i]) return true;
    }
    return false;
  });
}

}  // namespace

Tensor nansum(const Tensor& a, const DimList& dims, bool keepdim, std::optional<DType> dtype) {
  const Tensor x = detach(a);
  const Tensor kept = may_hold_nan(x) ? without_nans(x, x) : x;
  Tensor out = dims.empty() && !keepdim ? sum(kept, dtype) : sum(kept, dims, keepdim, dtype);
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    auto node = record<NansumBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->dims = wrapped_dims(a->dim(), dims);
    node->keepdim = keepdim;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    const Tensor t = forward_ad::tangent(a);
    forward_ad::set_tangent(out, sum(without_nans(x, t), dims, keepdim, dtype));
  }
  return out;
}

// The gradient of sum, kept off the NaN elements.
TensorList NansumBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this);
  const Tensor g = expand(restore_reduced(grads[0], x->shape(), dims, keepdim), x->shape());
  return {to_dtype(without_nans(x, g), x->dtype())};
}

Tensor mean(const Tensor& a) {
  require_floating(a, "mean");
  Tensor out = sum_all_kernel(a, a->dtype());
  binary_scalar_inplace_kernel(BinaryOp::Div, out, Scalar(static_cast<double>(a->numel())));
  if (any_requires_grad(a)) record<MeanBackward0>(out, a)->self_meta = InputMeta(a);
  linear_tangent(out, a, [](const Tensor& t) { return mean(t); });
  return out;
}

Tensor mean(const Tensor& a, const DimList& dims, bool keepdim) {
  require_floating(a, "mean");
  const std::vector<bool> mask = reduce_mask(a->dim(), dims);
  Tensor out = drop_reduced(sum_kernel(a, mask, a->dtype()), mask, keepdim);
  binary_scalar_inplace_kernel(BinaryOp::Div, out,
                               Scalar(static_cast<double>(reduced_count(a, mask))));
  if (any_requires_grad(a)) {
    auto node = record<MeanBackward1>(out, a);
    node->self_meta = InputMeta(a);
    node->dims = wrapped_dims(a->dim(), dims);
    node->keepdim = keepdim;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return mean(t, dims, keepdim); });
  return out;
}

TensorList MeanBackward0::apply(TensorList&& grads) {
  const double n = static_cast<double>(numel_of(self_meta.shape));
  return {expand(div(grads[0], Scalar(n)), self_meta.shape)};
}

namespace {

// mean's gradient: g shared evenly by the n elements each mean was taken of.
Tensor mean_gradient(const Tensor& grad, const Shape& shape, const DimList& dims, bool keepdim) {
  const std::vector<bool> mask = reduce_mask(static_cast<int64_t>(shape.size()), dims);
  int64_t n = 1;
  for (size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) n *= shape[d];
  }
  const Tensor g = restore_reduced(grad, shape, dims, keepdim);
  return expand(div(g, Scalar(static_cast<double>(n))), shape);
}

}  // namespace

TensorList MeanBackward1::apply(TensorList&& grads) {
  return {mean_gradient(grads[0], self_meta.shape, dims, keepdim)};
}

// ---- var / std ----

namespace {

// g * d var / dx over dims ds, g in x's shape (a restored gradient or a
// tangent): 2 (x - mean) / denom.
Tensor var_derivative(const Tensor& g, const Tensor& x, const DimList& ds, double denom) {
  return mul(mul(g, Scalar(2.0 / denom)), sub(x, mean(x, ds, true)));
}

// g * d std / dx with r the std restored to x's shape: (x - mean) / (denom
// std), and torch's convention: where the std is 0 the gradient is 0, not nan.
Tensor std_derivative(const Tensor& g, const Tensor& x, const Tensor& r, const DimList& ds,
                      double denom) {
  const Tensor d = div(mul(g, sub(x, mean(x, ds, true))), mul(r, Scalar(denom)));
  return where(compare(BinaryOp::Eq, r, Scalar(0.0)), zeros({}, d->dtype()), d);
}

// Sum of squared deviations over the mask, in keepdim form, with no graph.
// float32 works in double, as torch's accumulation does: the squares of
// values near 1e20 overflow float32, their root (std) does not.
Tensor centered_square_sum(const Tensor& a_in, const std::vector<bool>& mask) {
  GradModeGuard no_grad(false);
  const Tensor a = convert(a_in, DType::Float64);
  Tensor m = sum_kernel(a, mask, a->dtype());
  binary_scalar_inplace_kernel(BinaryOp::Div, m,
                               Scalar(static_cast<double>(reduced_count(a, mask))));
  Tensor centered = binary_kernel(BinaryOp::Sub, a, m);
  binary_inplace_kernel(BinaryOp::Mul, centered, centered);
  return sum_kernel(centered, mask, a->dtype());
}

}  // namespace

Tensor var(const Tensor& a, const DimList& dims, double correction, bool keepdim) {
  require_floating_var_std(a);
  const std::vector<bool> mask = reduce_mask(a->dim(), dims);
  Tensor out = centered_square_sum(a, mask);
  const double denom = std::max(0.0, static_cast<double>(reduced_count(a, mask)) - correction);
  binary_scalar_inplace_kernel(BinaryOp::Div, out, Scalar(denom));
  out = drop_reduced(convert(out, a->dtype()), mask, keepdim);
  if (any_requires_grad(a)) {
    auto node = record<VarBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->dims = wrapped_dims(a->dim(), dims);
    node->correction = correction;
    node->keepdim = keepdim;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    const DimList ds = wrapped_dims(a->dim(), dims);
    set_reduction_tangent(out, var_derivative(forward_ad::tangent(a), a, ds, denom), ds, keepdim);
  }
  return out;
}

TensorList VarBackward0::apply(TensorList&& grads) {
  Tensor x = self.unpack(*this);
  const std::vector<bool> mask = reduce_mask(x->dim(), dims);
  const double denom = static_cast<double>(reduced_count(x, mask)) - correction;
  return {var_derivative(restore_reduced(grads[0], x->shape(), dims, keepdim), x, dims, denom)};
}

Tensor std(const Tensor& a, const DimList& dims, double correction, bool keepdim) {
  require_floating_var_std(a);
  const std::vector<bool> mask = reduce_mask(a->dim(), dims);
  Tensor out = centered_square_sum(a, mask);
  const double denom = std::max(0.0, static_cast<double>(reduced_count(a, mask)) - correction);
  binary_scalar_inplace_kernel(BinaryOp::Div, out, Scalar(denom));
  out = drop_reduced(convert(unary_kernel(UnaryOp::Sqrt, out), a->dtype()), mask, keepdim);
  if (any_requires_grad(a)) {
    auto node = record<StdBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);
    node->dims = wrapped_dims(a->dim(), dims);
    node->correction = correction;
    node->keepdim = keepdim;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    const DimList ds = wrapped_dims(a->dim(), dims);
    const Tensor r = restore_reduced(out, a->shape(), ds, keepdim);
    set_reduction_tangent(out, std_derivative(forward_ad::tangent(a), a, r, ds, denom), ds,
                          keepdim);
  }
  return out;
}

TensorList StdBackward0::apply(TensorList&& grads) {
  Tensor x = self.unpack(*this);
  const std::vector<bool> mask = reduce_mask(x->dim(), dims);
  const double denom = static_cast<double>(reduced_count(x, mask)) - correction;
  const Tensor g = restore_reduced(grads[0], x->shape(), dims, keepdim);
  const Tensor r = restore_reduced(result.unpack(*this), x->shape(), dims, keepdim);
  return {std_derivative(g, x, r, dims, denom)};
}

std::pair<Tensor, Tensor> var_mean(const Tensor& a, const DimList& dims, double correction,
                                   bool keepdim, bool take_sqrt) {
  if (!is_floating(a->dtype())) {
    throw std::runtime_error(std::string(take_sqrt ? "std_mean" : "var_mean") +
                             " only support floating point and complex dtypes");
  }
  const Tensor x = detach(a);
  const Tensor spread =
      take_sqrt ? std(x, dims, correction, keepdim) : var(x, dims, correction, keepdim);
  const Tensor m = mean(x, dims, keepdim);
  const DimList ds = wrapped_dims(a->dim(), dims);
  const double denom =
      static_cast<double>(reduced_count(a, reduce_mask(a->dim(), dims))) - correction;
  if (any_requires_grad(a)) {
    std::shared_ptr<VarMeanBackward0> node =
        take_sqrt ? std::make_shared<StdMeanBackward0>() : std::make_shared<VarMeanBackward0>();
    set_history(node, {&a}, spread);
    if (spread->grad_fn() == node) m->set_history(node, 1);
    node->self = SavedTensor(a, false);
    if (take_sqrt) node->result = SavedTensor(spread, true);
    node->dims = ds;
    node->correction = correction;
    node->keepdim = keepdim;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    const Tensor t = forward_ad::tangent(a);
    const Tensor d =
        take_sqrt
            ? std_derivative(t, a, restore_reduced(spread, a->shape(), ds, keepdim), ds, denom)
            : var_derivative(t, a, ds, denom);
    set_reduction_tangent(spread, d, ds, keepdim);
    forward_ad::set_tangent(m, mean(t, ds, keepdim));
  }
  return {spread, m};
}

// The spread's formula and mean's, summed, for the outputs that received a gradient.
TensorList VarMeanBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this);
  const double denom =
      static_cast<double>(reduced_count(x, reduce_mask(x->dim(), dims))) - correction;
  Tensor total;
  if (grads[0]) {
    const Tensor g = restore_reduced(grads[0], x->shape(), dims, keepdim);
    total =
        result.defined()
            ? std_derivative(g, x, restore_reduced(result.unpack(*this), x->shape(), dims, keepdim),
                             dims, denom)
            : var_derivative(g, x, dims, denom);
  }
  if (grads[1]) {
    const Tensor part = mean_gradient(grads[1], x->shape(), dims, keepdim);
    total = total ? add(total, part) : part;
  }
  return {total};
}

// ---- norm ----

// ---- prod ----

namespace {

// The gradient of a product along `dim` (x and result in keepdim form). The
// product of the others is exact with zeros about; a graph for higher-order
// gradients goes through result / x, which needs x without zeros.
Tensor prod_gradient(const Tensor& g, const Tensor& x, const Tensor& result, int64_t dim) {
  // The kernel is exact with zeros but would drop tangents (forward over reverse).
  if (!GradMode::is_enabled() && !forward_ad::any_tangent(g, x)) {
    return mul(g, prod_of_others_kernel(x, dim));
  }
  if (item_as_double(sum(compare(BinaryOp::Eq, x, Scalar(0.0)))) > 0) {
    throw std::runtime_error(
        "ember: higher-order gradients of prod() through an input containing zeros are not "
        "supported");
  }
  return mul(g, div(result, x));
}

// D of prod along dim: the product of the others, exact with zeros about.
Tensor prod_factor(const Tensor& x, const Tensor& result, int64_t dim) {
  GradModeGuard no_grad(false);
  return prod_gradient(ones(x->shape(), x->dtype()), x, result, dim);
}

}  // namespace

Tensor prod(const Tensor& a, std::optional<DType> dtype) {
  const DType accumulate = sum_dtype(a, dtype);
  Tensor flat;
  {
    GradModeGuard no_grad(false);
    flat = reshape(convert(a, accumulate), {-1});
  }
  const Tensor line = prod_kernel(flat, 0);
  Tensor out = std::make_shared<TensorImpl>(line->storage(), 0, Shape{}, Strides{}, line->dtype());
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    auto node = record<ProdBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);
  }
  if (forward_ad::has_tangent(a) && is_floating(out->dtype())) {
    forward_ad::FormulaScope formula;
    const Tensor flat_t = reshape(forward_ad::tangent(a), {-1});
    set_reduction_tangent(out, sum(mul(flat_t, prod_factor(flat, reshape(out, {1}), 0))), {},
                          false);
  }
  return out;
}

Tensor prod(const Tensor& a, int64_t dim, bool keepdim, std::optional<DType> dtype) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(a->dim(), 1));  // 0-d takes dim 0 or -1
  const std::vector<bool> mask = reduce_mask(a->dim(), {d});
  Tensor out = drop_reduced(prod_kernel(convert(a, sum_dtype(a, dtype)), d), mask, keepdim);
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    auto node = record<ProdBackward1>(out, a);
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);
    node->dim = d;
    node->keepdim = keepdim;
  }
  if (forward_ad::has_tangent(a) && is_floating(out->dtype())) {
    forward_ad::FormulaScope formula;
    const Tensor t = forward_ad::tangent(a);
    if (a->dim() == 0) {
      forward_ad::set_tangent(out, t);
    } else {
      const Tensor r = restore_reduced(out, a->shape(), {d}, keepdim);
      const Tensor x = convert(a, out->dtype());
      set_reduction_tangent(out, mul(t, prod_factor(x, r, d)), {d}, keepdim);
    }
  }
  return out;
}

TensorList ProdBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this);
  // torch: with two zeros every product of the others holds one, so the
  // gradient is zero even where an inf would make the product NaN.
  // (Only when no graph is built: higher-order gradients go through prod_gradient.)
  if (!GradMode::is_enabled() && !forward_ad::any_tangent(grads[0], x) && x->numel() > 0 &&
      item_as_double(sum(compare(BinaryOp::Eq, x, Scalar(0.0)))) >= 2) {
    return {zeros(x->shape(), x->dtype())};
  }
  const Tensor flat = reshape(x, {-1});
  const Tensor r = reshape(result.unpack(*this), {1});
  const Tensor g = prod_gradient(reshape(grads[0], {1}), flat, r, 0);
  return {to_dtype(reshape(g, DimList(x->shape().begin(), x->shape().end())), x->dtype())};
}

TensorList ProdBackward1::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this);
  if (x->dim() == 0) return {to_dtype(grads[0], x->dtype())};
  const Tensor g = restore_reduced(grads[0], x->shape(), {dim}, keepdim);
  const Tensor r = restore_reduced(result.unpack(*this), x->shape(), {dim}, keepdim);
  return {to_dtype(prod_gradient(g, x, r, dim), x->dtype())};
}

// ---- cumsum ----

namespace {

Tensor cumsum_impl(const Tensor& a, int64_t dim, std::optional<DType> dtype, bool reverse) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(a->dim(), 1));  // 0-d takes dim 0 or -1
  Tensor out = cumsum_kernel(convert(a, sum_dtype(a, dtype)), d, reverse);
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    auto node = record<CumsumBackward0>(out, a);
    node->self_meta = InputMeta(a);
    node->dim = d;
    node->reverse = reverse;
    linear_tangent(out, a, [&](const Tensor& t) { return cumsum_impl(t, d, dtype, reverse); });
  }
  return out;
}

}  // namespace

Tensor cumsum(const Tensor& a, int64_t dim, std::optional<DType> dtype) {
  return cumsum_impl(a, dim, dtype, /*reverse=*/false);
}

// Each input feeds every later output: its gradient sums the output
// gradients from its position to the end, itself a (reversed) cumsum.
TensorList CumsumBackward0::apply(TensorList&& grads) {
  return {to_dtype(cumsum_impl(grads[0], dim, std::nullopt, !reverse), self_meta.dtype)};
}

// ---- cumprod ----

Tensor cumprod(const Tensor& a, int64_t dim, std::optional<DType> dtype) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(a->dim(), 1));  // 0-d takes dim 0 or -1
  Tensor out = cumprod_kernel(convert(a, sum_dtype(a, dtype)), d);
  if (any_requires_grad(a) && is_floating(out->dtype())) {
    auto node = record<CumprodBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);
    node->dim = d;
  }
  return out;
}

// The kernel is exact with zeros but not differentiable; a graph for
// higher-order gradients uses reverse_cumsum(g * result) / x instead, which
// needs x without zeros (as prod's, see prod_gradient).
TensorList CumprodBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this);
  // Unpacked (version-checked) even where unused: torch refuses a written result.
  const Tensor y = result.unpack(*this);
  const Tensor& g = grads[0];
  if (!GradMode::is_enabled()) {
    return {to_dtype(cumprod_backward_kernel(convert(x, g->dtype()), g, dim), x->dtype())};
  }
  if (item_as_double(sum(compare(BinaryOp::Eq, x, Scalar(0.0)))) > 0) {
    throw std::runtime_error(
        "ember: higher-order gradients of cumprod() through an input containing zeros are not "
        "supported");
  }
  const Tensor weighted = cumsum_impl(mul(g, y), dim, std::nullopt, true);
  return {to_dtype(div(weighted, x), x->dtype())};
}

Tensor norm(const Tensor& a, double p, const DimList& dims, bool keepdim) {
  if (!is_floating(a->dtype())) {
    throw std::runtime_error(
        std::string(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got ") +
        scalar_type_name(a->dtype()));
  }
  const std::vector<bool> mask = reduce_mask(a->dim(), dims);
  Tensor out;
  {
    GradModeGuard no_grad(false);
    Tensor absx = unary_kernel(UnaryOp::Abs, a);
    if (std::isinf(p)) {
      if (reduced_count(a, mask) == 0) {
        throw std::runtime_error(
            "linalg.vector_norm cannot compute the " + std::string(p > 0 ? "inf" : "-inf") +
            " norm on an empty tensor because the operation does not have an identity");
      }
      out = absx;
      for (size_t d = 0; d < mask.size(); ++d) {
        if (mask[d]) out = extreme_kernel(out, static_cast<int64_t>(d), p > 0).values;
      }
      if (a->dim() == 0) out = contiguous_clone(absx);
    } else if (p == 2.0) {
      binary_inplace_kernel(BinaryOp::Mul, absx, absx);
      out = unary_kernel(UnaryOp::Sqrt, sum_kernel(absx, mask, a->dtype()));
    } else if (p == 1.0) {
      out = sum_kernel(absx, mask, a->dtype());
    } else if (p == 0.0) {
      out = sum_kernel(binary_scalar_kernel(BinaryOp::Ne, a, Scalar(0.0)), mask, a->dtype());
    } else {
      Tensor powered = binary_scalar_kernel(BinaryOp::Pow, absx, Scalar(p));
      out = binary_scalar_kernel(BinaryOp::Pow, sum_kernel(powered, mask, a->dtype()),
                                 Scalar(1.0 / p));
    }
  }
  out = drop_reduced(out, mask, keepdim);
  if (any_requires_grad(a)) {
    auto node = record<LinalgVectorNormBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);
    node->p = p;
    node->dims = wrapped_dims(a->dim(), dims);
    node->keepdim = keepdim;
  }
  if (forward_ad::has_tangent(a)) {
    forward_ad::FormulaScope formula;
    const DimList ds = wrapped_dims(a->dim(), dims);
    const Tensor r = restore_reduced(out, a->shape(), ds, keepdim);
    const Tensor t = forward_ad::tangent(a);
    set_reduction_tangent(out, vector_norm_backward(t, a, r, p, ds), ds, keepdim);
  }
  return out;
}

Tensor dist(const Tensor& a, const Tensor& b, const Scalar& p) {
  const DType dtype = promote(a->dtype(), b->dtype());
  if (!is_floating(dtype)) {
    throw std::runtime_error(
        std::string("norm(): input dtype should be either floating point or complex. Got ") +
        scalar_type_name(dtype) + " instead.");
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = norm(sub(detach(a), detach(b)), p.value, {}, false);
  }
  if (any_requires_grad(a, b)) {
    auto node = record<DistBackward0>(out, {&a, &b});
    node->self = SavedTensor(a, false);
    node->other = SavedTensor(b, false);
    node->result = SavedTensor(out, true);
    node->p = p.value;
    node->self_meta = InputMeta(a);
    node->other_meta = InputMeta(b);
  }
  if (forward_ad::any_tangent(a, b)) {
    forward_ad::FormulaScope formula;
    const Tensor diff = sub(a, b);
    const DimList ds = wrapped_dims(diff->dim(), {});
    const Tensor t = sub(forward_ad::tangent_or_zeros(a), forward_ad::tangent_or_zeros(b));
    const Tensor r = restore_reduced(out, diff->shape(), ds, false);
    set_reduction_tangent(out, vector_norm_backward(expand(t, diff->shape()), diff, r, p.value, ds),
                          ds, false);
  }
  return out;
}

// The norm's gradient at a - b, summed back to each operand's shape.
TensorList DistBackward0::apply(TensorList&& grads) {
  const Tensor diff = sub(self.unpack(*this), other.unpack(*this));
  const DimList ds = wrapped_dims(diff->dim(), {});
  const Tensor g = restore_reduced(grads[0], diff->shape(), ds, false);
  const Tensor r = restore_reduced(result.unpack(*this), diff->shape(), ds, false);
  const Tensor d = vector_norm_backward(g, diff, r, p, ds);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(d);
  if (wants_grad(*this, 1)) out[1] = other_meta.fit(neg(d));
  return out;
}

TensorList LinalgVectorNormBackward0::apply(TensorList&& grads) {
  Tensor x = self.unpack(*this);
  Tensor g = restore_reduced(grads[0], x->shape(), dims, keepdim);
  Tensor r = restore_reduced(result.unpack(*this), x->shape(), dims, keepdim);
  return {vector_norm_backward(g, x, r, p, dims)};
}

Tensor vector_norm_backward(const Tensor& g, const Tensor& x, const Tensor& r, double p,
                            const DimList& dims) {
  Tensor zero = zeros({}, x->dtype());
  if (p == 0.0) return zeros(x->shape(), x->dtype());
  if (p == 1.0) return mul(g, sign(x));
  if (std::isinf(p)) {
    // Shared evenly among the entries that attain the max (min) magnitude; a
    // NaN norm is attained by none, and every entry gets 0 (as torch).
    Tensor hit = compare(BinaryOp::Eq, abs(x), r);
    Tensor count = sum(to_dtype(hit, x->dtype()), dims, true);
    count = where(compare(BinaryOp::Eq, count, Scalar(0.0)), ones({}, x->dtype()), count);
    return where(hit, div(mul(g, sign(x)), count), zero);
  }
  // The branches where() discards still get differentiated under
  // create_graph: a 0 / 0 there would turn the discarded branch's zero
  // gradient into NaN, so zero norms and entries divide by 1 instead.
  const Tensor one = ones({}, x->dtype());
  const Tensor r_zero = compare(BinaryOp::Eq, r, Scalar(0.0));
  if (p == 2.0) {
    // x / ||x||, with 0 where the norm is 0 (torch's subgradient).
    Tensor scaled = div(mul(g, x), where(r_zero, one, r));
    return where(r_zero, zero, scaled);
  }
  // sign(x) * |x|^(p-1) / ||x||^(p-1); zero entries get 0 (also for p < 1).
  const Tensor x_zero = compare(BinaryOp::Eq, x, Scalar(0.0));
  Tensor num = mul(sign(x), pow(where(x_zero, one, abs(x)), Scalar(p - 1.0)));
  Tensor scaled = div(mul(g, num), pow(where(r_zero, one, r), Scalar(p - 1.0)));
  scaled = where(x_zero, zero, scaled);
  return where(r_zero, zero, scaled);
}

// ---- max / min ----

namespace {

TensorList evenly_distribute(const Tensor& g, const Tensor& x, const Tensor& r);

Tensor extreme_all(const Tensor& a, bool is_max) {
  Tensor out = extreme_all_kernel(a, is_max);
  if (any_requires_grad(a)) {
    if (is_max) {
      auto node = record<MaxBackward1>(out, a);
      node->self = SavedTensor(a, false);
      node->result = SavedTensor(out, true);
    } else {
      auto node = record<MinBackward1>(out, a);
      node->self = SavedTensor(a, false);
      node->result = SavedTensor(out, true);
    }
  }
  if (forward_ad::has_tangent(a)) {  // D as evenly_distribute's
    forward_ad::FormulaScope formula;
    set_reduction_tangent(out, evenly_distribute(forward_ad::tangent(a), a, out)[0], {}, false);
  }
  return out;
}

TensorList evenly_distribute(const Tensor& g, const Tensor& x, const Tensor& r) {
  // The positions holding the result; a NaN result is held by the NaNs.
  Tensor holds = compare(BinaryOp::Eq, x, r);
  if (std::isnan(item_as_double(r))) holds = compare(BinaryOp::Ne, x, x);
  Tensor hit = to_dtype(holds, g->dtype());
  return {mul(hit, div(g, sum(hit)))};
}

std::pair<Tensor, Tensor> extreme_dim(const Tensor& a, int64_t dim, bool keepdim, bool is_max) {
  const int64_t d = wrap_dim(dim, a->dim());
  ExtremeResult r = extreme_kernel(a, d, is_max);
  std::vector<bool> mask(static_cast<size_t>(a->dim()), false);
  if (a->dim() > 0) mask[static_cast<size_t>(d)] = true;
  Tensor values = drop_reduced(r.values, mask, keepdim);
  Tensor indices = drop_reduced(r.indices, mask, keepdim);
  if (any_requires_grad(a)) {
    auto fill = [&](auto node) {
      node->indices = SavedTensor(r.indices, false);
      node->self_meta = InputMeta(a);
      node->dim = d;
      node->keepdim = keepdim;
    };
    if (is_max) {
      fill(record<MaxBackward0>(values, a));
    } else {
      fill(record<MinBackward0>(values, a));
    }
  }
  linear_tangent(values, a, [&](const Tensor& t) {  // the tangent at the winners
    Tensor picked = a->dim() == 0 ? t : gather(t, d, r.indices);
    return keepdim ? picked : drop_reduced(picked, mask, false);
  });
  return {values, indices};
}

// Places g (reduced along dim) into zeros of the input shape at `indices`
// (keepdim form); a recorded scatter, so higher-order gradients flow.
Tensor scatter_along_dim(const Tensor& g, const Tensor& indices, const Shape& shape, int64_t dim) {
  const Tensor values = reshape(g, DimList(indices->shape().begin(), indices->shape().end()));
  return scatter(zeros(shape, g->dtype()), dim, indices, values);
}

}  // namespace

Tensor max(const Tensor& a) { return extreme_all(a, true); }
Tensor min(const Tensor& a) { return extreme_all(a, false); }
std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim) {
  return extreme_dim(a, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim) {
  return extreme_dim(a, dim, keepdim, false);
}

// amax/amin: the extreme's exact value (never a sum of ties, which rounds or
// overflows), its gradient shared evenly among ties, as torch's.
namespace {

// torch's checks of amax/amin's dims, in its order; returns them wrapped and sorted.
DimList extreme_dims(const Tensor& a, const DimList& dims, const char* name) {
  DimList ds;
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, std::max<int64_t>(a->dim(), 1));
    if (std::find(ds.begin(), ds.end(), w) != ds.end()) {
      throw std::runtime_error("dim " + std::to_string(w) +
                               " appears multiple times in the list of dims");
    }
    ds.push_back(w);
  }
  if (a->numel() == 0) {
    if (ds.empty()) {
      throw std::runtime_error(std::string(name) +
                               "(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.");
    }
    for (int64_t d : ds) {
      if (a->dim() > 0 && a->shape()[d] == 0) {
        throw IndexError(std::string(name) + "(): Expected reduction dim " + std::to_string(d) +
                         " to have non-zero size.");
      }
    }
  }
  if (ds.empty() && a->dim() > 0) {
    for (int64_t d = 0; d < a->dim(); ++d) ds.push_back(d);
  }
  std::sort(ds.begin(), ds.end());
  return ds;
}

}  // namespace

Tensor amax_amin(const Tensor& a, const DimList& dims, bool keepdim, bool is_max) {
  const DimList ds = extreme_dims(a, dims, is_max ? "amax" : "amin");
  Tensor best;
  {
    GradModeGuard no_grad(false);
    best = a->dim() == 0 ? contiguous_clone(a) : a;
    if (a->dim() > 0) {
      for (int64_t d : ds) best = extreme_kernel(best, d, is_max).values;
    }
  }
  Tensor out = best;
  if (!keepdim && a->dim() > 0) {
    Shape shape;
    for (int64_t d = 0; d < a->dim(); ++d) {
      if (!std::binary_search(ds.begin(), ds.end(), d)) shape.push_back(a->shape()[d]);
    }
    out = std::make_shared<TensorImpl>(best->storage(), best->offset(), shape,
                                       contiguous_strides(shape), best->dtype());
  }
  if (any_requires_grad(a)) {
    std::shared_ptr<AmaxBackward0> node;
    if (is_max) {
      node = record<AmaxBackward0>(out, a);
    } else {
      node = record<AminBackward0>(out, a);
    }
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);  // in-place changes to it are caught, as torch
    node->keepdim_shape = best->shape();
    node->dims = ds;
  }
  if (forward_ad::has_tangent(a)) {  // D as AmaxBackward0's: shared evenly among ties
    forward_ad::FormulaScope formula;
    const Tensor hit = to_dtype(compare(BinaryOp::Eq, a, best), a->dtype());
    const Tensor count = ds.empty() ? hit : sum(hit, ds, true);
    set_reduction_tangent(out, div(mul(forward_ad::tangent(a), hit), count), ds, keepdim);
  }
  return out;
}

std::pair<Tensor, Tensor> aminmax(const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
  if (!dim && a->numel() == 0) {
    throw std::runtime_error(
        "aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
        "identity.");
  }
  if (dim && a->dim() > 0) {
    const int64_t d = wrap_dim(*dim, a->dim());
    if (a->shape()[d] == 0) {
      throw IndexError("aminmax: Expected reduction dim " + std::to_string(d) +
                       " to have non-zero size.");
    }
  }
  const DimList dims = dim ? DimList{*dim} : DimList{};
  const DimList ds = extreme_dims(a, dims, "aminmax");
  const Tensor x = detach(a);
  const Tensor low = amax_amin(x, dims, keepdim, false), high = amax_amin(x, dims, keepdim, true);
  Shape keepdim_shape;
  for (int64_t d = 0; d < a->dim(); ++d) {
    const bool reduced = std::binary_search(ds.begin(), ds.end(), d);
    keepdim_shape.push_back(reduced ? 1 : a->shape()[d]);
  }
  if (any_requires_grad(a)) {
    auto node = std::make_shared<AminmaxBackward0>();
    set_history(node, {&a}, low);
    if (low->grad_fn() == node) high->set_history(node, 1);
    node->self = SavedTensor(a, false);
    node->min = SavedTensor(low, true);
    node->max = SavedTensor(high, true);
    node->keepdim_shape = keepdim_shape;
    node->dims = ds;
  }
  if (forward_ad::has_tangent(a)) {  // each as amax's: shared evenly among ties
    forward_ad::FormulaScope formula;
    const DimList shape(keepdim_shape.begin(), keepdim_shape.end());
    for (const Tensor& out : {low, high}) {
      const Tensor hit = to_dtype(compare(BinaryOp::Eq, a, reshape(out, shape)), a->dtype());
      const Tensor count = ds.empty() ? hit : sum(hit, ds, true);
      set_reduction_tangent(out, div(mul(forward_ad::tangent(a), hit), count), ds, keepdim);
    }
  }
  return {low, high};
}

// AmaxBackward0's formula for each output that received a gradient, summed.
TensorList AminmaxBackward0::apply(TensorList&& grads) {
  const DimList shape(keepdim_shape.begin(), keepdim_shape.end());
  const Tensor x = self.unpack(*this);
  Tensor total;
  for (size_t k = 0; k < 2; ++k) {
    if (!grads[k]) continue;
    const Tensor r = reshape((k == 0 ? min : max).unpack(*this), shape);
    const Tensor g = reshape(grads[k], shape);
    const Tensor hit = to_dtype(compare(BinaryOp::Eq, x, r), g->dtype());
    const Tensor count = dims.empty() ? hit : sum(hit, dims, true);
    const Tensor part = mul(hit, div(g, count));
    total = total ? add(total, part) : part;
  }
  return {total};
}

TensorList AmaxBackward0::apply(TensorList&& grads) {
  const DimList shape(keepdim_shape.begin(), keepdim_shape.end());
  const Tensor x = self.unpack(*this), r = reshape(result.unpack(*this), shape);
  const Tensor g = reshape(grads[0], shape);
  const Tensor hit = to_dtype(compare(BinaryOp::Eq, x, r), g->dtype());
  // A NaN extreme matches nothing: 0 / 0 makes its whole line NaN, as in torch.
  const Tensor count = dims.empty() ? hit : sum(hit, dims, true);
  return {mul(hit, div(g, count))};
}

TensorList MaxBackward1::apply(TensorList&& grads) {
  return evenly_distribute(grads[0], self.unpack(*this), result.unpack(*this));
}
TensorList MinBackward1::apply(TensorList&& grads) {
  return evenly_distribute(grads[0], self.unpack(*this), result.unpack(*this));
}
TensorList MaxBackward0::apply(TensorList&& grads) {
  return {scatter_along_dim(grads[0], indices.unpack(*this), self_meta.shape, dim)};
}
TensorList MinBackward0::apply(TensorList&& grads) {
  return {scatter_along_dim(grads[0], indices.unpack(*this), self_meta.shape, dim)};
}

namespace {

Tensor arg_extreme(const Tensor& a, std::optional<int64_t> dim, bool keepdim, bool is_max) {
  const std::string op = is_max ? "argmax" : "argmin";
  if (a->dtype() == DType::Bool) throw std::runtime_error(op + "(): does not support bool input");
  if (a->numel() == 0 && !dim) {
    throw IndexError(op + "(): Expected reduction dim to be specified for input.numel() == 0.");
  }
  if (dim && a->dim() > 0 && a->shape()[wrap_dim(*dim, a->dim())] == 0) {
    throw IndexError(op + "(): Expected reduction dim " + std::to_string(wrap_dim(*dim, a->dim())) +
                     " to have non-zero size.");
  }
  GradModeGuard no_grad(false);
  if (dim) return (is_max ? max(a, *dim, keepdim) : min(a, *dim, keepdim)).second;
  Tensor flat = (is_max ? max(reshape(a, {-1}), 0, false) : min(reshape(a, {-1}), 0, false)).second;
  if (!keepdim) return flat;
  return reshape(flat, DimList(static_cast<size_t>(a->dim()), 1));
}

}  // namespace

Tensor argmax(const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(a, dim, keepdim, true);
}

Tensor argmin(const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(a, dim, keepdim, false);
}

// ---- broadcast reduction ----

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g->shape() == shape) return g;
  const int64_t lead = g->dim() - static_cast<int64_t>(shape.size());
  if (lead < 0) return reshape(g, DimList(shape.begin(), shape.end()));
  DimList dims;
  for (int64_t d = 0; d < g->dim(); ++d) {
    if (d < lead ||
        (shape[static_cast<size_t>(d - lead)] == 1 && g->shape()[static_cast<size_t>(d)] != 1)) {
      dims.push_back(d);
    }
  }
  Tensor r = dims.empty() ? g : sum(g, dims, /*keepdim=*/true);
  if (r->shape() == shape) return r;
  return reshape(r, DimList(shape.begin(), shape.end()));
}

}  // namespace ember
