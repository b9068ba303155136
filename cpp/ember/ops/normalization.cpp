// Layer normalization as one op (torch's native_layer_norm) and its backward.

#include "ember/autograd/functions/nn.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/layer_norm.h"

namespace ember {

namespace {

// The rows-by-n matrix view of a tensor whose trailing dims hold n elements.
Tensor as_rows(const Tensor& t, int64_t n) { return reshape(t, {t->numel() / n, n}); }

Tensor mean_of_rows(const Tensor& t) { return mean(t, {1}, true); }

DimList dims_of(const Shape& s) { return DimList(s.begin(), s.end()); }

}  // namespace

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  int64_t n = 1;
  for (int64_t s : normalized_shape) n *= s;
  if (n <= 0 || input->numel() % n != 0) {
    throw std::logic_error("layer_norm: the normalized shape must divide the input");
  }
  LayerNormForward f;
  {
    GradModeGuard no_grad(false);
    f = layer_norm_kernel(contiguous(input), n, weight ? contiguous(weight) : weight,
                          bias ? contiguous(bias) : bias, eps);
  }
  const bool record =
      GradMode::is_enabled() && (input->requires_grad() || (weight && weight->requires_grad()) ||
                                 (bias && bias->requires_grad()));
  if (record) {
    auto node = std::make_shared<NativeLayerNormBackward0>();
    add_next_edge(*node, input);
    for (const Tensor* t : {&weight, &bias}) {
      if (*t) {
        add_next_edge(*node, *t);
      } else {
        node->next_edges().push_back(Edge{});
      }
    }
    f.out->set_history(node, 0);
    node->input = SavedTensor(input, false);
    if (weight) node->weight = SavedTensor(weight, false);
    node->mean = SavedTensor(f.mean, false);
    node->rstd = SavedTensor(f.rstd, false);
    node->normalized_shape = normalized_shape;
    node->eps = eps;
  }
  return f.out;
}

// Under create_graph the formula is written with differentiable ops (the
// statistics recomputed from the input, so they carry its graph); otherwise
// one kernel computes it.
TensorList NativeLayerNormBackward0::apply(TensorList&& grads) {
  const Tensor x = input.unpack(*this);
  const Tensor w = weight.unpack(*this);
  int64_t n = 1;
  for (int64_t s : normalized_shape) n *= s;
  const Tensor& g = grads[0];
  TensorList out(3);
  if (!GradMode::is_enabled()) {
    const Tensor m = mean.unpack(*this), r = rstd.unpack(*this);
    LayerNormGrads d = layer_norm_backward_kernel(contiguous(g), contiguous(x), n, m, r,
                                                  w ? contiguous(w) : w, wants_grad(*this, 0),
                                                  wants_grad(*this, 1), wants_grad(*this, 2));
    out[0] = d.input;
    if (d.weight) out[1] = reshape(d.weight, dims_of(normalized_shape));
    if (d.bias) out[2] = reshape(d.bias, dims_of(normalized_shape));
    return out;
  }
  const Tensor xr = as_rows(x, n), gr = as_rows(g, n);
  const Tensor centered = sub(xr, mean_of_rows(xr));
  const Tensor r = unary(UnaryOp::Rsqrt, add(mean_of_rows(mul(centered, centered)), Scalar(eps)));
  const Tensor xhat = mul(centered, r);
  if (wants_grad(*this, 0)) {
    const Tensor wg = w ? mul(gr, reshape(w, {n})) : gr;
    const Tensor inner = sub(sub(wg, mean_of_rows(wg)), mul(xhat, mean_of_rows(mul(wg, xhat))));
    out[0] = reshape(mul(r, inner), dims_of(x->shape()));
  }
  if (wants_grad(*this, 1)) {
    out[1] = reshape(sum(mul(gr, xhat), {0}, false), dims_of(normalized_shape));
  }
  if (wants_grad(*this, 2)) out[2] = reshape(sum(gr, {0}, false), dims_of(normalized_shape));
  return out;
}

}  // namespace ember
