// take, index_fill and index_copy: writes and reads at int64 positions, with
// their backward formulas (each one of these ops or index_rows again, so
// higher-order gradients flow), and the bounds check every integer index shares.

#include <algorithm>
#include <vector>

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/functions/shape.h"
#include "ember/kernels/elementwise.h"
#include "ember/ops.h"
#include "ember/ops/index_positions.h"

namespace ember {
namespace {

int64_t size_along(const Tensor& a, int64_t d) { return a->dim() == 0 ? 1 : a->shape()[d]; }

// The positions of a 0-d or 1-d int64 index as a vector, checked against
// `size`; negative ones count from the end when `wrap`. `op` prefixes the
// bounds message as torch does for that op ("" for none).
std::vector<int64_t> positions(const Tensor& index, int64_t size, int64_t dim, bool wrap,
                               const std::string& op) {
  const Tensor idx = wrapped_positions(index, size, wrap, [&](int64_t k) {
    throw IndexError(out_of_bounds_message(k, dim, size, op));
  });
  const int64_t* p = idx->data<int64_t>();
  return std::vector<int64_t>(p, p + idx->numel());
}

Tensor index_tensor(const std::vector<int64_t>& positions) {
  Tensor t = empty({static_cast<int64_t>(positions.size())}, DType::Int64);
  std::copy(positions.begin(), positions.end(), t->data<int64_t>());
  return t;
}

// The slice of `t` at position k along dim, as a raw view (no graph); a 0-d
// tensor is its own only slice.
Tensor slice_at(const Tensor& t, int64_t dim, int64_t k) {
  if (t->dim() == 0) return t;
  GradModeGuard no_grad(false);
  return select(t, dim, k);
}

// ---- index_fill ----

int64_t check_index_fill(const Tensor& a, int64_t dim, const Tensor& index) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(a->dim(), 1));
  if (index->dtype() != DType::Int64) {
    throw IndexError("index_fill_(): Expected dtype int64 for index.");
  }
  if (index->dim() > 1) throw std::runtime_error("Index has to be a vector/scalar");
  return d;
}

// The distinct wrapped positions along d: a position filled twice is still
// one slice, and the value's gradient must count it once.
Tensor distinct_positions(const Tensor& a, int64_t d, const Tensor& index) {
  std::vector<int64_t> ks = positions(index, size_along(a, d), d, /*wrap=*/true, "");
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return index_tensor(ks);
}

Tensor filled(const Tensor& a, int64_t d, const Tensor& slices, const Scalar& value) {
  Tensor out = contiguous_clone(a);
  const int64_t* p = slices->data<int64_t>();
  for (int64_t i = 0; i < slices->numel(); ++i) fill_raw(slice_at(out, d, p[i]), value);
  return out;
}

}  // namespace

std::string out_of_bounds_message(int64_t k, int64_t dim, int64_t size, const std::string& op) {
  return op + "index " + std::to_string(k) + " is out of bounds for dimension " +
         std::to_string(dim) + " with size " + std::to_string(size);
}

Tensor wrapped_positions(const Tensor& index, int64_t size, bool wrap,
                         const std::function<void(int64_t)>& refuse) {
  Tensor idx = contiguous_clone(index);
  int64_t* p = idx->data<int64_t>();
  for (int64_t i = 0; i < idx->numel(); ++i) {
    if (p[i] >= size || p[i] < (wrap ? -size : 0)) refuse(p[i]);
    if (p[i] < 0) p[i] += size;
  }
  return idx;
}

Tensor wrapped_positions(const Tensor& index, int64_t size, int64_t dim) {
  return wrapped_positions(index, size, /*wrap=*/true, [&](int64_t k) {
    throw IndexError(out_of_bounds_message(k, dim, size));
  });
}

Tensor take(const Tensor& a, const Tensor& index) {
  if (index->dtype() != DType::Int64) {
    throw std::runtime_error(std::string("take(): Expected a long tensor for index, but got ") +
                             scalar_type_name(index->dtype()));
  }
  const int64_t n = a->numel();
  if (n == 0 && index->numel() > 0) {
    throw IndexError("take(): tried to take from an empty tensor");
  }
  const Tensor flat_index = wrapped_positions(index, n, /*wrap=*/true, [n](int64_t k) {
    throw IndexError("out of range: tried to access index " + std::to_string(k) +
                     " on a tensor of " + std::to_string(n) + " elements.");
  });
  const int64_t* pi = flat_index->data<int64_t>();
  const Tensor src = a->is_contiguous() ? a : contiguous_clone(a);
  Tensor out = empty(index->shape(), a->dtype());
  EMBER_DISPATCH_ALL(a->dtype(), T, [&] {
    const T* ps = src->data<T>();
    T* po = out->data<T>();
    for (int64_t i = 0; i < flat_index->numel(); ++i) po[i] = ps[pi[i]];
  });
  if (any_requires_grad(a)) {
    auto node = record<TakeBackward0>(out, a);
    node->index = SavedTensor(flat_index, false);
    node->self_meta = InputMeta(a);
  }
  linear_tangent(out, a, [&](const Tensor& t) { return take(t, flat_index); });
  return out;
}

// Each picked element's gradient goes back to its flat position, summed
// where a position was taken more than once.
TensorList TakeBackward0::apply(TensorList&& grads) {
  const Tensor idx = index.unpack(*this);
  const Tensor& g = grads[0];
  const Tensor flat = scatter_add(zeros({numel_of(self_meta.shape)}, g->dtype()), 0,
                                  reshape(idx, {-1}), reshape(g, {-1}));
  return {reshape(flat, DimList(self_meta.shape.begin(), self_meta.shape.end()))};
}

Tensor index_fill(const Tensor& a, int64_t dim, const Tensor& index, const Scalar& value) {
  const int64_t d = check_index_fill(a, dim, index);
  const Tensor slices = distinct_positions(a, d, index);
  Tensor out = filled(a, d, slices, value);
  if (any_requires_grad(a)) {
    auto node = record<IndexFillBackward0>(out, a);
    node->index = SavedTensor(slices, false);
    node->dim = d;
  }
  linear_tangent(out, a, [&](const Tensor& t) { return index_fill(t, d, slices, Scalar(0.0)); });
  return out;
}

Tensor index_fill(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& value) {
  if (value->dim() != 0) {
    throw std::runtime_error(
        "index_fill_ only supports a 0-dimensional value tensor, but got tensor with " +
        std::to_string(value->dim()) + " dimension(s).");
  }
  const int64_t d = check_index_fill(a, dim, index);
  const Tensor slices = distinct_positions(a, d, index);
  Tensor out = filled(a, d, slices, item_as_scalar(value));
  if (any_requires_grad(a, value)) {
    auto node = record<IndexFillBackward1>(out, {&a, &value});
    node->index = SavedTensor(slices, false);
    node->dim = d;
    node->value_meta = InputMeta(value);
  }
  if (forward_ad::any_tangent(a, value)) {
    forward_ad::FormulaScope formula;
    const Tensor tv = forward_ad::tangent(value);
    const Tensor ta = forward_ad::tangent_or_zeros(a);
    forward_ad::set_tangent(out, tv ? index_fill(ta, d, slices, to_dtype(tv, a->dtype()))
                                    : index_fill(ta, d, slices, Scalar(0.0)));
  }
  return out;
}

TensorList IndexFillBackward0::apply(TensorList&& grads) {
  return {index_fill(grads[0], dim, index.unpack(*this), Scalar(0.0))};
}

TensorList IndexFillBackward1::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  const Tensor idx = index.unpack(*this);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = index_fill(g, dim, idx, Scalar(0.0));
  if (wants_grad(*this, 1)) {
    const Tensor picked = g->dim() == 0 ? g : index_rows(g, dim, idx);
    out[1] = value_meta.fit(sum(picked));
  }
  return out;
}

namespace {

void check_index_copy(const Tensor& a, int64_t d, const Tensor& index, const Tensor& source) {
  if (index->dim() > 1) {
    throw IndexError("index_copy_(): Index should have dimension 1 or 0 (got " +
                     std::to_string(index->dim()) + ")");
  }
  if (index->dtype() != DType::Int64) {
    throw std::runtime_error(
        std::string("index_copy_(): Expected a long tensor for index, but got ") +
        scalar_type_name(index->dtype()));
  }
  if (a->dtype() != source->dtype()) {
    throw std::runtime_error(
        std::string("index_copy_(): self and source expected to have the same dtype, but got "
                    "(self) ") +
        scalar_type_name(a->dtype()) + " and (source) " + scalar_type_name(source->dtype()));
  }
  const int64_t copies = source->dim() == 0 ? 1 : source->shape()[d];
  if (source->dim() > 0 && d >= source->dim()) {
    throw IndexError("index_copy_(): source has fewer dimensions than dim " + std::to_string(d));
  }
  if (index->numel() != copies) {
    throw IndexError("index_copy_(): Number of indices (" + std::to_string(index->numel()) +
                     ") should be equal to source.size(dim) (" + std::to_string(copies) + ")");
  }
  // Every other dim must agree: each source slice fills one slice of self.
  Shape self_slice, source_slice;
  for (int64_t k = 0; k < a->dim(); ++k) {
    if (k != d) self_slice.push_back(a->shape()[k]);
  }
  for (int64_t k = 0; k < source->dim(); ++k) {
    if (k != d) source_slice.push_back(source->shape()[k]);
  }
  if (self_slice.size() != source_slice.size()) {
    throw IndexError(
        "index_copy_(): When source and destination are not scalars, their "
        "dimensionality must match. Source dimensionality (" +
        std::to_string(source->dim()) + "), destination dimensionality (" +
        std::to_string(a->dim()) + ")");
  }
  for (size_t k = 0; k < self_slice.size(); ++k) {
    if (self_slice[k] != source_slice[k]) {
      throw std::runtime_error(
          "index_copy_(): Source/destination tensor must have same slice shapes. Destination "
          "slice shape: " +
          std::to_string(self_slice[k]) + " at dimension " + std::to_string(k) +
          " and source slice shape: " + std::to_string(source_slice[k]) + " at dimension " +
          std::to_string(k) + ".");
    }
  }
}

}  // namespace

Tensor index_copy(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(a->dim(), 1));
  check_index_copy(a, d, index, source);
  const std::vector<int64_t> ks =
      positions(index, size_along(a, d), d, /*wrap=*/false, "index_copy_(): ");
  Tensor out = contiguous_clone(a);
  for (size_t i = 0; i < ks.size(); ++i) {
    copy_kernel(slice_at(out, d, ks[i]), slice_at(source, d, static_cast<int64_t>(i)));
  }
  const Tensor idx = index_tensor(ks);
  if (any_requires_grad(a, source)) {
    auto node = record<IndexCopyBackward0>(out, {&a, &source});
    node->index = SavedTensor(idx, false);
    node->dim = d;
  }
  if (forward_ad::any_tangent(a, source)) {  // linear in both
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, index_copy(forward_ad::tangent_or_zeros(a), d, idx,
                                            forward_ad::tangent_or_zeros(source)));
  }
  return out;
}

// The copied-over slices pass no gradient to self; source's slices read
// theirs back from where they went.
TensorList IndexCopyBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  const Tensor idx = index.unpack(*this);
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = index_fill(g, dim, idx, Scalar(0.0));
  if (wants_grad(*this, 1)) out[1] = g->dim() == 0 ? g : index_rows(g, dim, idx);
  return out;
}

}  // namespace ember
