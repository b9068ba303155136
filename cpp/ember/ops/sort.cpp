// sort, argsort, topk, median and nanmedian: C++ kernels along one dim (NaN
// orders above every number), one node each as in torch.

#include "ember/kernels/sort.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/functions/rearrange.h"
#include "ember/autograd/no_graph.h"
#include "ember/ops.h"

namespace ember {
namespace {

// `a` with dim d moved last, as contiguous (rows, n) lines, and the way back.
struct Lines {
  Tensor lines;
  int64_t rows = 1, n = 1;
  DimList order, inverse;
  Shape moved;

  Lines(const Tensor& a, int64_t d) {
    if (a->dim() == 0) {
      lines = reshape(a, {1, 1});
      moved = Shape{1};
      return;
    }
    for (int64_t i = 0; i < a->dim(); ++i) {
      if (i != d) order.push_back(i);
    }
    order.push_back(d);
    inverse.assign(order.size(), 0);
    for (size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<int64_t>(i);
    for (int64_t i : order) moved.push_back(a->shape()[i]);
    n = a->shape()[d];
    for (size_t i = 0; i + 1 < moved.size(); ++i) rows *= moved[i];
    lines = reshape(contiguous(permute(a, order)), {rows, n});
  }

  // (rows, m) results in the input's layout, m along dim d (0-d stays 0-d).
  Tensor back(const Tensor& t, int64_t m) const {
    if (order.empty()) return reshape(t, {});
    DimList shape(moved.begin(), moved.end());
    shape.back() = m;
    return contiguous(permute(reshape(t, shape), inverse));
  }
};

int64_t line_dim(const Tensor& a, int64_t dim) {
  return wrap_dim(dim, std::max<int64_t>(a->dim(), 1));
}

// g placed at `indices` along dim in zeros of the input's shape (recorded, so
// gradients of any order flow).
Tensor placed(const Tensor& g, const Tensor& indices, const Shape& shape, int64_t dim) {
  if (shape.empty()) return reshape(g, {});
  return scatter_add(zeros(shape, g->dtype()), dim, indices, g);
}

Tensor picked_tangent(const Tensor& t, const Tensor& a, int64_t d, const Tensor& indices) {
  return a->dim() == 0 ? clone(t) : gather(t, d, indices);
}

template <typename NodeT>
void record_selection(const Tensor& a, const Tensor& values, const Tensor& indices, int64_t d) {
  if (!any_requires_grad(a)) return;
  auto node = record<NodeT>(values, a);
  node->indices = SavedTensor(indices, false);
  node->self_meta = InputMeta(a);
  node->dim = d;
}

}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& a, int64_t dim, bool descending) {
  const int64_t d = line_dim(a, dim);
  Tensor values, indices;
  {
    NoGraph scope;
    const Lines l(a, d);
    SortResult r = sort_rows_kernel(l.lines, l.rows, l.n, descending);
    values = l.back(r.values, l.n);
    indices = l.back(r.indices, l.n);
  }
  record_selection<SortBackward0>(a, values, indices, d);
  linear_tangent(values, a, [&](const Tensor& t) { return picked_tangent(t, a, d, indices); });
  return {values, indices};
}

Tensor argsort(const Tensor& a, int64_t dim, bool descending) {
  NoGraph scope;
  const int64_t d = line_dim(a, dim);
  const Lines l(a, d);
  return l.back(sort_rows_kernel(l.lines, l.rows, l.n, descending).indices, l.n);
}

TensorList SortBackward0::apply(TensorList&& grads) {
  return {placed(grads[0], indices.unpack(*this), self_meta.shape, dim)};
}

std::pair<Tensor, Tensor> topk(const Tensor& a, int64_t k, int64_t dim, bool largest, bool sorted) {
  const int64_t d = line_dim(a, dim);
  const int64_t size = a->dim() == 0 ? 1 : a->shape()[d];
  if (k < 0 || k > size) throw std::runtime_error("selected index k out of range");
  if (a->dtype() == DType::Bool) {
    throw std::runtime_error("topk does not support bool dtypes on CPU");
  }
  Tensor values, indices;
  {
    NoGraph scope;
    const Lines l(a, d);
    SortResult r = topk_rows_kernel(l.lines, l.rows, l.n, k, largest, sorted);
    values = l.back(r.values, k);
    indices = l.back(r.indices, k);
  }
  record_selection<TopkBackward0>(a, values, indices, d);
  linear_tangent(values, a, [&](const Tensor& t) { return picked_tangent(t, a, d, indices); });
  return {values, indices};
}

TensorList TopkBackward0::apply(TensorList&& grads) {
  return {placed(grads[0], indices.unpack(*this), self_meta.shape, dim)};
}

UniqueResult unique(const Tensor& a, bool return_inverse, bool return_counts) {
  const int64_t n = a->numel();
  UniqueResult u;
  {
    NoGraph scope;
    const SortResult sorted = sort_rows_kernel(reshape(contiguous(a), {1, n}), 1, n, false);
    const int64_t* order = sorted.indices->data<int64_t>();
    std::vector<int64_t> starts;  // where each run of equal sorted values begins
    EMBER_DISPATCH_ALL(a->dtype(), T, [&] {
      const T* v = sorted.values->data<T>();
      for (int64_t i = 0; i < n; ++i) {
        if (i == 0 || !(v[i] == v[i - 1])) starts.push_back(i);  // NaN != NaN: a run each
      }
      const int64_t groups = static_cast<int64_t>(starts.size());
      u.values = empty(Shape{groups}, a->dtype());
      T* out = u.values->data<T>();
      for (int64_t g = 0; g < groups; ++g) out[g] = v[starts[g]];
    });
    const int64_t groups = static_cast<int64_t>(starts.size());
    starts.push_back(n);
    if (return_inverse) {
      u.inverse = empty(a->shape(), DType::Int64);
      int64_t* place = u.inverse->data<int64_t>();
      for (int64_t g = 0; g < groups; ++g) {
        for (int64_t i = starts[g]; i < starts[g + 1]; ++i) place[order[i]] = g;
      }
    }
    if (return_counts) {
      u.counts = empty(Shape{groups}, DType::Int64);
      int64_t* count = u.counts->data<int64_t>();
      for (int64_t g = 0; g < groups; ++g) count[g] = starts[g + 1] - starts[g];
    }
  }
  if (any_requires_grad(a)) record<Unique2Backward0>(u.values, {&a});
  return u;
}

TensorList Unique2Backward0::apply(TensorList&&) {
  throw NotImplementedError("the derivative for '_unique2' is not implemented.");
}

namespace {

[[noreturn]] void refuse_bool(const char* kernel) {
  throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for 'Bool'");
}

// The elements equal to the median share its gradient (the NaNs when it is NaN).
Tensor median_share(const Tensor& self, const Tensor& result) {
  const bool is_nan = std::isnan(item_as_double(result));
  const Tensor hits =
      is_nan ? compare(BinaryOp::Ne, self, self) : compare(BinaryOp::Eq, self, result);
  const Tensor count = sum(hits);
  return div(to_dtype(hits, self->dtype()), to_dtype(count, self->dtype()));
}

template <typename NodeT>
Tensor median_all(const Tensor& a, bool ignore_nan) {
  if (a->dtype() == DType::Bool) refuse_bool("median_cpu");
  Tensor value;
  {
    NoGraph scope;
    if (a->numel() == 0) {
      value = is_floating(a->dtype())
                  ? full({}, Scalar(std::numeric_limits<double>::quiet_NaN()), a->dtype())
                  : full({}, Scalar::integer(std::numeric_limits<int64_t>::min()), a->dtype());
    } else {
      const Tensor flat = reshape(contiguous(a), {1, a->numel()});
      value = reshape(median_rows_kernel(flat, 1, a->numel(), ignore_nan).values, {});
    }
  }
  if (any_requires_grad(a)) {
    auto node = record<NodeT>(value, a);
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(value, true);
  }
  if (forward_ad::has_tangent(a) && a->numel() > 0) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(value, sum(mul(forward_ad::tangent(a), median_share(a, value))));
  }
  return value;
}

template <typename NodeT>
std::pair<Tensor, Tensor> median_along(const Tensor& a, int64_t dim, bool keepdim,
                                       bool ignore_nan) {
  const int64_t d = line_dim(a, dim);
  if (a->dtype() == DType::Bool) refuse_bool("median_out");
  if (a->dim() > 0 && a->shape()[d] == 0) {
    throw IndexError("median(): Expected reduction dim " + std::to_string(d) +
                     " to have non-zero size.");
  }
  Tensor values, indices;
  {
    NoGraph scope;
    const Lines l(a, d);
    SortResult r = median_rows_kernel(l.lines, l.rows, l.n, ignore_nan);
    values = l.back(r.values, 1);
    indices = l.back(r.indices, 1);
  }
  const Tensor kept_indices = indices;
  if (!keepdim && a->dim() > 0) {
    NoGraph scope;
    values = squeeze(values, d);
    indices = squeeze(indices, d);
  }
  if (any_requires_grad(a)) {
    auto node = record<NodeT>(values, a);
    node->indices = SavedTensor(indices, false);
    node->self_meta = InputMeta(a);
    node->dim = d;
    node->keepdim = keepdim;
  }
  linear_tangent(values, a, [&](const Tensor& t) {
    if (a->dim() == 0) return clone(t);
    const Tensor p = gather(t, d, kept_indices);
    return keepdim ? p : squeeze(p, d);
  });
  return {values, indices};
}

Tensor median_gradient(const Tensor& g, const Tensor& indices, const InputMeta& meta, int64_t dim,
                       bool keepdim) {
  if (meta.shape.empty()) return reshape(g, {});
  const Tensor gk = keepdim ? g : unsqueeze(g, dim);
  const Tensor ik = keepdim ? indices : unsqueeze(indices, dim);
  return placed(gk, ik, meta.shape, dim);
}

}  // namespace

Tensor median(const Tensor& a) { return median_all<MedianBackward0>(a, false); }
Tensor nanmedian(const Tensor& a) { return median_all<NanmedianBackward0>(a, true); }
std::pair<Tensor, Tensor> median(const Tensor& a, int64_t dim, bool keepdim) {
  return median_along<MedianBackward1>(a, dim, keepdim, false);
}
std::pair<Tensor, Tensor> nanmedian(const Tensor& a, int64_t dim, bool keepdim) {
  return median_along<NanmedianBackward1>(a, dim, keepdim, true);
}

TensorList MedianBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this);
  return {mul(median_share(x, result.unpack(*this)), grads[0])};
}
TensorList NanmedianBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this);
  return {mul(median_share(x, result.unpack(*this)), grads[0])};
}
TensorList MedianBackward1::apply(TensorList&& grads) {
  return {median_gradient(grads[0], indices.unpack(*this), self_meta, dim, keepdim)};
}
TensorList NanmedianBackward1::apply(TensorList&& grads) {
  return {median_gradient(grads[0], indices.unpack(*this), self_meta, dim, keepdim)};
}

}  // namespace ember
