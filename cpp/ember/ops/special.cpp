// Special functions beyond the unary op table: polygamma(n, x).

#include "ember/autograd/functions/special.h"

#include "ember/autograd/forward_ad.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/special_functions.h"

namespace ember {

namespace {

Tensor polygamma_kernel(int64_t n, const Tensor& x) {
  const DType result = is_floating(x->dtype()) ? x->dtype() : default_float_dtype();
  const DType dt = kernel_dtype(result);  // Note [Compute dtypes]
  Tensor src = convert(x, dt);
  if (!src->is_contiguous()) {
    Tensor dense = empty(src->shape(), dt);
    copy_kernel(dense, src);
    src = dense;
  }
  Tensor out = empty(x->shape(), dt);
  EMBER_DISPATCH_FLOAT(dt, T, [&] {
    const T* in = src->data<T>();
    T* o = out->data<T>();
    for (int64_t i = 0; i < out->numel(); ++i) o[i] = polygamma_value(n, in[i]);
  });
  return convert(out, result);
}

// v * polygamma(n + 1, x): the derivative of polygamma(n, x) in either direction.
Tensor polygamma_times_derivative(const Tensor& v, int64_t n, const Tensor& x) {
  return mul(v, polygamma(n + 1, x));
}

}  // namespace

Tensor polygamma(int64_t n, const Tensor& x) {
  if (n < 0) throw std::runtime_error("polygamma(n, x) does not support negative n.");
  Tensor out = polygamma_kernel(n, x);
  if (any_requires_grad(x)) {
    auto node = record<PolygammaBackward0>(out, {&x});
    node->self = SavedTensor(x, false);
    node->n = n;
  }
  if (forward_ad::has_tangent(x)) {
    forward_ad::FormulaScope formula;
    forward_ad::set_tangent(out, polygamma_times_derivative(forward_ad::tangent(x), n, x));
  }
  return out;
}

TensorList PolygammaBackward0::apply(TensorList&& grads) {
  return {polygamma_times_derivative(grads[0], n, self.unpack(*this))};
}

}  // namespace ember
