// Layer and batch normalization as one op each (torch's native_layer_norm and
// native_batch_norm) and their backward formulas.

#include "ember/autograd/functions/nn.h"
#include "ember/kernels/batch_norm.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/layer_norm.h"

namespace ember {

namespace {

// The rows-by-n matrix view of a tensor whose trailing dims hold n elements.
Tensor as_rows(const Tensor& t, int64_t n) { return reshape(t, {t->numel() / n, n}); }

Tensor mean_of_rows(const Tensor& t) { return mean(t, {1}, true); }

DimList dims_of(const Shape& s) { return DimList(s.begin(), s.end()); }

// A NodeT for (input, weight, bias) made the grad_fn of `out`, or null when
// nothing needs a gradient. An absent weight or bias keeps a null edge, as
// torch's nodes always have three.
template <typename NodeT>
std::shared_ptr<NodeT> record_norm(const Tensor& out, const Tensor& input, const Tensor& weight,
                                   const Tensor& bias) {
  const bool needed =
      GradMode::is_enabled() && (input->requires_grad() || (weight && weight->requires_grad()) ||
                                 (bias && bias->requires_grad()));
  if (!needed) return nullptr;
  auto node = std::make_shared<NodeT>();
  add_next_edge(*node, input);
  for (const Tensor* t : {&weight, &bias}) {
    if (*t) {
      add_next_edge(*node, *t);
    } else {
      node->next_edges().push_back(Edge{});
    }
  }
  out->set_history(node, 0);
  return node;
}

// Layer norm's forward formula on rows of n: with x^ = (x - mean) * rstd,
// d x^ = rstd * (c - x^ * mean(x^ * c)) where c = dx - mean(dx); then
// dy = d x^ * w + x^ * dw + db.
void set_layer_norm_tangent(const LayerNormForward& f, const Tensor& input, const Tensor& weight,
                            const Tensor& bias, int64_t n) {
  if (!forward_ad::any_tangent(input, weight, bias)) return;
  forward_ad::FormulaScope formula;
  const int64_t rows = input->numel() / n;
  const Tensor mean = reshape(f.mean, {rows, 1}), rstd = reshape(f.rstd, {rows, 1});
  const Tensor xhat = mul(sub(reshape(input, {rows, n}), mean), rstd);
  auto as_row = [n](const Tensor& t) { return reshape(t, {1, n}); };
  Tensor t;
  if (const Tensor ti = forward_ad::tangent(input)) {
    const Tensor dx = reshape(ti, {rows, n});
    const Tensor c = sub(dx, mean_of_rows(dx));
    t = mul(sub(c, mul(xhat, mean_of_rows(mul(xhat, c)))), rstd);
    if (weight) t = mul(t, as_row(weight));
  }
  if (const Tensor tw = forward_ad::tangent(weight)) {
    const Tensor part = mul(xhat, as_row(tw));
    t = t ? add(t, part) : part;
  }
  if (const Tensor tb = forward_ad::tangent(bias)) {
    t = t ? add(t, as_row(tb)) : expand(as_row(tb), Shape{rows, n});
  }
  forward_ad::set_tangent(f.out, reshape(t, dims_of(input->shape())));
}

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
  if (auto node = record_norm<NativeLayerNormBackward0>(f.out, input, weight, bias)) {
    node->input = SavedTensor(input, false);
    if (weight) node->weight = SavedTensor(weight, false);
    node->mean = SavedTensor(f.mean, false);
    node->rstd = SavedTensor(f.rstd, false);
    node->normalized_shape = normalized_shape;
    node->eps = eps;
  }
  set_layer_norm_tangent(f, input, weight, bias, n);
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
  // The kernel would drop tangents (forward over reverse): the ops below carry them.
  if (!GradMode::is_enabled() && !forward_ad::any_tangent(g, x, w)) {
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

// ---- batch norm ----

namespace {

// (1, C, 1, ...) view of a per-channel (C,) tensor, to broadcast against x.
Tensor per_channel(const Tensor& t, int64_t dim) {
  DimList shape(static_cast<size_t>(dim), 1);
  shape[1] = t->numel();
  return reshape(t, shape);
}

// The dims a batch norm reduces over: all but the channels.
DimList non_channel_dims(int64_t dim) {
  DimList dims{0};
  for (int64_t d = 2; d < dim; ++d) dims.push_back(d);
  return dims;
}

// running = momentum * batch + (1 - momentum) * running, as torch writes it
// (without bumping the version: torch does not either).
void blend_running(const Tensor& running, const Tensor& batch, double momentum, double factor) {
  Tensor target = running->is_contiguous() ? running : contiguous_clone(running);
  EMBER_DISPATCH_FLOAT(running->dtype(), T, [&] {
    T* pr = target->data<T>();
    const T* pb = batch->data<T>();
    const T m = static_cast<T>(momentum), f = static_cast<T>(factor);
    for (int64_t c = 0; c < running->numel(); ++c) pr[c] = m * (pb[c] * f) + (T(1) - m) * pr[c];
  });
  if (target != running) copy_kernel(running, target);
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps) {
  forward_ad::refuse_tangents("native_batch_norm", {&input, &weight, &bias});
  Tensor out, mean, invstd;
  {
    GradModeGuard no_grad(false);
    const Tensor x = contiguous(input);
    if (training) {
      Tensor var;
      batch_norm_stats_kernel(x, &mean, &var);
      invstd = unary_kernel(UnaryOp::Rsqrt, binary_scalar_kernel(BinaryOp::Add, var, Scalar(eps)));
      const int64_t count = input->numel() / std::max<int64_t>(input->shape()[1], 1);
      if (count > 0) {
        // The running variance is the unbiased one, though the batch is normalized by the biased.
        const double unbias = count > 1 ? static_cast<double>(count) / (count - 1) : 1.0;
        if (running_mean) blend_running(running_mean, mean, momentum, 1.0);
        if (running_var) blend_running(running_var, var, momentum, unbias);
      }
    } else {
      mean = contiguous(running_mean);
      invstd = unary_kernel(UnaryOp::Rsqrt,
                            binary_scalar_kernel(BinaryOp::Add, running_var, Scalar(eps)));
    }
    out = batch_norm_apply_kernel(x, mean, invstd, weight ? contiguous(weight) : weight,
                                  bias ? contiguous(bias) : bias);
  }
  if (auto node = record_norm<NativeBatchNormBackward0>(out, input, weight, bias)) {
    node->input = SavedTensor(input, false);
    if (weight) node->weight = SavedTensor(weight, false);
    node->mean = SavedTensor(mean, false);
    node->invstd = SavedTensor(invstd, false);
    node->training = training;
    node->eps = eps;
  }
  return out;
}

TensorList NativeBatchNormBackward0::apply(TensorList&& grads) {
  const Tensor x = input.unpack(*this);
  const Tensor w = weight.unpack(*this);
  const Tensor m = mean.unpack(*this), is = invstd.unpack(*this);
  const Tensor& g = grads[0];
  const int64_t channels = x->shape()[1];
  const double count = static_cast<double>(x->numel() / std::max<int64_t>(channels, 1));
  TensorList out(3);
  if (!GradMode::is_enabled()) {
    const Tensor gc = contiguous(g), xc = contiguous(x);
    Tensor sum_g, sum_g_xhat;
    batch_norm_grad_sums_kernel(gc, xc, m, is, &sum_g, &sum_g_xhat);
    if (wants_grad(*this, 0)) {
      const Tensor scale = w ? binary_kernel(BinaryOp::Mul, is, contiguous(w)) : is;
      const Tensor zero = zeros(Shape{channels}, x->dtype());
      const Tensor shift_g =
          training ? binary_scalar_kernel(BinaryOp::Div, sum_g, Scalar(count)) : zero;
      const Tensor shift_xhat =
          training ? binary_scalar_kernel(BinaryOp::Div, sum_g_xhat, Scalar(count)) : zero;
      out[0] = batch_norm_input_grad_kernel(gc, xc, m, is, scale, shift_g, shift_xhat);
    }
    if (wants_grad(*this, 1)) out[1] = sum_g_xhat;
    if (wants_grad(*this, 2)) out[2] = sum_g;
    return out;
  }
  // create_graph: the same formulas with differentiable ops; in training the
  // statistics are recomputed from x so they carry its graph.
  const int64_t dim = x->dim();
  const DimList dims = non_channel_dims(dim);
  Tensor xhat, r;
  if (training) {
    const Tensor centered = sub(x, ember::mean(x, dims, true));
    r = unary(UnaryOp::Rsqrt, add(ember::mean(mul(centered, centered), dims, true), Scalar(eps)));
    xhat = mul(centered, r);
  } else {
    r = per_channel(is, dim);
    xhat = mul(sub(x, per_channel(m, dim)), r);
  }
  if (wants_grad(*this, 0)) {
    const Tensor wg = w ? mul(g, per_channel(w, dim)) : g;
    out[0] = training ? mul(r, sub(sub(wg, ember::mean(wg, dims, true)),
                                   mul(xhat, ember::mean(mul(wg, xhat), dims, true))))
                      : mul(wg, r);
  }
  if (wants_grad(*this, 1)) out[1] = sum(mul(g, xhat), dims, false);
  if (wants_grad(*this, 2)) out[2] = sum(g, dims, false);
  return out;
}

}  // namespace ember
