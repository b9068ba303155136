// renorm: slices along one dim whose p-norm exceeds maxnorm are scaled down
// to it; RenormBackward0 differentiates through the scale.

#include <sstream>

#include "ember/autograd/functions/reduce.h"
#include "ember/ops.h"

namespace ember {
namespace {

// Kept so a slice just over maxnorm lands just under it, and a zero norm
// never divides (torch scales by maxnorm / (norm + 1e-7) too).
constexpr double kRenormEps = 1e-7;

DimList all_dims_but(int64_t rank, int64_t dim) {
  DimList dims;
  for (int64_t d = 0; d < rank; ++d) {
    if (d != dim) dims.push_back(d);
  }
  return dims;
}

// The p-norm of each slice along dim, keepdim.
Tensor slice_norms(const Tensor& x, double p, int64_t dim) {
  return norm(x, p, all_dims_but(x->dim(), dim), /*keepdim=*/true);
}

std::string number_str(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

Tensor renorm(const Tensor& a, double p, int64_t dim, double maxnorm) {
  if (!(p > 0)) throw std::runtime_error("renorm: non-positive-norm not supported");
  if (maxnorm < 0) {
    throw std::runtime_error("renorm: expected maxnorm to be >= 0 but got " + number_str(maxnorm));
  }
  if (a->dim() < 2) {
    throw std::runtime_error("renorm: input needs at least 2 dimensions, got " +
                             std::to_string(a->dim()) + " dimensions");
  }
  const int64_t d = wrap_dim(dim, a->dim());
  Tensor out;
  {
    GradModeGuard no_grad(false);
    const Tensor n = slice_norms(a, p, d);
    const Tensor factor =
        where(compare(BinaryOp::Gt, n, Scalar(maxnorm)),
              rdiv(add(n, Scalar(kRenormEps)), Scalar(maxnorm)), ones({}, a->dtype()));
    out = mul(a, factor);  // these ops carry a's tangent through: the forward formula
  }
  if (any_requires_grad(a)) {
    auto node = record<RenormBackward0>(out, a);
    node->self = SavedTensor(a, false);
    node->p = p;
    node->dim = d;
    node->maxnorm = maxnorm;
  }
  return out;
}

// Where a slice is scaled, out = x * maxnorm / (n + eps) with n = ||x||_p,
// so the gradient is g * scale minus the part through n:
// maxnorm / (n + eps)^2 * dn/dx * sum(g * x) over the slice.
TensorList RenormBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this);
  const Tensor& g = grads[0];
  const Tensor n = slice_norms(x, p, dim);
  const Tensor inverse = reciprocal(add(n, Scalar(kRenormEps)));
  const DimList others = all_dims_but(x->dim(), dim);
  const Tensor weight = sum(mul(g, x), others, true);
  const Tensor through_norm = mul(mul(mul(inverse, inverse), Scalar(maxnorm)),
                                  vector_norm_backward(weight, x, n, p, others));
  const Tensor scaled = sub(mul(g, mul(inverse, Scalar(maxnorm))), through_norm);
  return {where(compare(BinaryOp::Gt, n, Scalar(maxnorm)), scaled, g)};
}

}  // namespace ember
