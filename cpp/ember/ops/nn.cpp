// Neural-network functions (softmax family, losses, linear) and their backward formulas.

#include <cmath>

#include "ember/autograd/functions/nn.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/reduce.h"

namespace ember {
namespace {

void require_floating(const Tensor& a, const char* op) {
  if (!is_floating(a->dtype())) {
    throw std::runtime_error(std::string("\"") + op + "\" not implemented for '" +
                             scalar_type_name(a->dtype()) + "'");
  }
}

// Softmax or log-softmax along d with the max subtracted first (no graph).
Tensor softmax_values(const Tensor& a, int64_t d, bool log) {
  GradModeGuard no_grad(false);
  Tensor shifted = binary_kernel(BinaryOp::Sub, a, extreme_kernel(a, d, true).values);
  std::vector<bool> mask(static_cast<size_t>(a->dim()), false);
  if (a->dim() > 0) mask[static_cast<size_t>(d)] = true;
  if (log) {
    Tensor lse = unary_kernel(UnaryOp::Log, sum_kernel(unary_kernel(UnaryOp::Exp, shifted), mask,
                                                       a->dtype()));
    binary_inplace_kernel(BinaryOp::Sub, shifted, lse);
    return shifted;
  }
  Tensor e = unary_kernel(UnaryOp::Exp, shifted);
  binary_inplace_kernel(BinaryOp::Div, e, sum_kernel(e, mask, a->dtype()));
  return e;
}

Tensor reduce_loss(const Tensor& elementwise, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return elementwise;
    case Reduction::Sum: return sum(elementwise);
    case Reduction::Mean: return mean(elementwise);
  }
  return elementwise;
}

// Gradient of a reduced loss w.r.t. each element, given the output grad.
Tensor spread_loss_grad(const Tensor& g, Reduction reduction, int64_t numel) {
  if (reduction == Reduction::Mean) return div(g, Scalar(static_cast<double>(numel)));
  return g;
}

}  // namespace

// ---- softmax ----

Tensor softmax(const Tensor& a, int64_t dim) {
  require_floating(a, "softmax_lastdim_kernel_impl");
  const int64_t d = wrap_dim(dim, a->dim());
  Tensor out = softmax_values(a, d, false);
  if (any_requires_grad(a)) {
    auto node = std::make_shared<SoftmaxBackward0>();
    set_history(node, {&a}, out);
    node->result = SavedTensor(out, true);
    node->dim = d;
  }
  return out;
}

TensorList SoftmaxBackward0::apply(TensorList&& grads) {
  Tensor y = result.unpack(*this);
  Tensor gy = mul(grads[0], y);
  return {sub(gy, mul(y, sum(gy, {dim}, true)))};
}

Tensor log_softmax(const Tensor& a, int64_t dim) {
  require_floating(a, "log_softmax_lastdim_kernel_impl");
  const int64_t d = wrap_dim(dim, a->dim());
  Tensor out = softmax_values(a, d, true);
  if (any_requires_grad(a)) {
    auto node = std::make_shared<LogSoftmaxBackward0>();
    set_history(node, {&a}, out);
    node->result = SavedTensor(out, true);
    node->dim = d;
  }
  return out;
}

TensorList LogSoftmaxBackward0::apply(TensorList&& grads) {
  Tensor y = result.unpack(*this);
  return {sub(grads[0], mul(exp(y), sum(grads[0], {dim}, true)))};
}

// ---- mse ----

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  Tensor out;
  {
    GradModeGuard no_grad(false);
    Tensor diff = sub(input, target);
    out = reduce_loss(mul(diff, diff), reduction);
  }
  if (any_requires_grad(input, target)) {
    auto node = std::make_shared<MseLossBackward0>();
    set_history(node, {&input, &target}, out);
    node->self = SavedTensor(input, false);
    node->target = SavedTensor(target, false);
    node->self_meta = GradFit(input, out);
    node->target_meta = GradFit(target, out);
    node->reduction = reduction;
  }
  return out;
}

TensorList MseLossBackward0::apply(TensorList&& grads) {
  Tensor diff = sub(self.unpack(*this), target.unpack(*this));
  Tensor d = mul(mul(diff, Scalar(2.0)), spread_loss_grad(grads[0], reduction, diff->numel()));
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(d);
  if (wants_grad(*this, 1)) out[1] = target_meta.fit(neg(d));
  return out;
}

// ---- binary cross entropy ----

namespace {

// log(1 + exp(-x)) = log1p(exp(-|x|)) + max(-x, 0), which never overflows.
Tensor softplus_neg(const Tensor& x) {
  return add(unary(UnaryOp::Log1p, exp(neg(abs(x)))), relu(neg(x)));
}

}  // namespace

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight, const Tensor& pos_weight,
                                        Reduction reduction) {
  if (input->shape() != target->shape()) {
    throw ValueError("Target size (torch.Size(" + shape_str(target->shape()) +
                     ")) must be the same as input size (torch.Size(" + shape_str(input->shape()) +
                     "))");
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    Tensor sp = softplus_neg(input);
    Tensor weighted_sp = pos_weight ? mul(sp, add(mul(sub(pos_weight, Scalar(1.0)), target), Scalar(1.0)))
                                    : sp;
    Tensor loss = add(mul(rsub(target, Scalar(1.0)), input), weighted_sp);
    if (weight) loss = mul(loss, weight);
    out = reduce_loss(loss, reduction);
  }
  const bool any = input->requires_grad() || target->requires_grad();
  if (GradMode::is_enabled() && any) {
    auto node = std::make_shared<BinaryCrossEntropyWithLogitsBackward0>();
    set_history(node, {&input, &target}, out);
    node->self = SavedTensor(input, false);
    node->target = SavedTensor(target, false);
    if (weight) node->weight = SavedTensor(weight, false);
    if (pos_weight) node->pos_weight = SavedTensor(pos_weight, false);
    node->self_meta = GradFit(input, out);
    node->target_meta = GradFit(target, out);
    node->reduction = reduction;
  }
  return out;
}

TensorList BinaryCrossEntropyWithLogitsBackward0::apply(TensorList&& grads) {
  Tensor x = self.unpack(*this);
  Tensor y = target.unpack(*this);
  Tensor w = weight.unpack(*this);
  Tensor pw = pos_weight.unpack(*this);
  Tensor g = spread_loss_grad(grads[0], reduction, x->numel());
  TensorList out(2);
  if (wants_grad(*this, 0)) {
    // d/dx = (1 - y) - lw * sigmoid(-x), lw = 1 + (pw - 1) * y; = sigmoid(x) - y without pw.
    Tensor d = pw ? sub(rsub(y, Scalar(1.0)),
                        mul(add(mul(sub(pw, Scalar(1.0)), y), Scalar(1.0)), sigmoid(neg(x))))
                  : sub(sigmoid(x), y);
    if (w) d = mul(d, w);
    out[0] = self_meta.fit(mul(d, g));
  }
  if (wants_grad(*this, 1)) {
    Tensor d = neg(x);
    if (pw) d = add(d, mul(sub(pw, Scalar(1.0)), softplus_neg(x)));
    if (w) d = mul(d, w);
    out[1] = target_meta.fit(mul(d, g));
  }
  return out;
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            Reduction reduction) {
  if (input->shape() != target->shape()) {
    throw ValueError("Using a target size (torch.Size(" + shape_str(target->shape()) +
                     ")) that is different to the input size (torch.Size(" +
                     shape_str(input->shape()) + ")) is deprecated. Please ensure they have the "
                     "same size.");
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    Tensor in_range = mul(compare(BinaryOp::Ge, input, Scalar(0.0)), compare(BinaryOp::Le, input, Scalar(1.0)));
    if (item_as_double(min(to_dtype(in_range, DType::Float32))) == 0.0 && input->numel() > 0) {
      throw std::runtime_error("all elements of input should be between 0 and 1");
    }
    // torch clamps the logs at -100 so that 0 and 1 give finite losses.
    Tensor log_x = clamp(log(input), -100.0, std::nullopt);
    Tensor log_1mx = clamp(log(rsub(input, Scalar(1.0))), -100.0, std::nullopt);
    Tensor loss = neg(add(mul(target, log_x), mul(rsub(target, Scalar(1.0)), log_1mx)));
    if (weight) loss = mul(loss, weight);
    out = reduce_loss(loss, reduction);
  }
  if (any_requires_grad(input)) {
    auto node = std::make_shared<BinaryCrossEntropyBackward0>();
    set_history(node, {&input}, out);
    node->self = SavedTensor(input, false);
    node->target = SavedTensor(target, false);
    if (weight) node->weight = SavedTensor(weight, false);
    node->reduction = reduction;
  }
  return out;
}

TensorList BinaryCrossEntropyBackward0::apply(TensorList&& grads) {
  Tensor x = self.unpack(*this);
  Tensor y = target.unpack(*this);
  Tensor w = weight.unpack(*this);
  Tensor g = spread_loss_grad(grads[0], reduction, x->numel());
  Tensor denom = clamp(mul(rsub(x, Scalar(1.0)), x), 1e-12, std::nullopt);
  Tensor d = div(sub(x, y), denom);
  if (w) d = mul(d, w);
  return {mul(d, g)};
}

// ---- nll / cross entropy ----

namespace {

struct NllShape {
  int64_t batch;    // rows (1 for an unbatched input)
  int64_t classes;
};

NllShape check_nll(const Tensor& input, const Tensor& target, const Tensor& weight) {
  if (input->dim() < 1 || input->dim() > 2) {
    throw ValueError("Expected 1 or 2 dimensions for nll_loss input (got " +
                     std::to_string(input->dim()) + ")");
  }
  if (target->dtype() != DType::Int64) {
    throw std::runtime_error(std::string("expected scalar type Long but found ") +
                             scalar_type_name(target->dtype()));
  }
  const bool batched = input->dim() == 2;
  const int64_t batch = batched ? input->shape()[0] : 1;
  const int64_t tbatch = target->dim() == 0 ? 1 : target->shape()[0];
  if ((batched && target->dim() != 1) || (!batched && target->dim() != 0) || batch != tbatch) {
    throw ValueError("Expected input batch_size (" + std::to_string(batch) +
                     ") to match target batch_size (" + std::to_string(tbatch) + ").");
  }
  const int64_t classes = input->shape()[input->dim() - 1];
  if (weight && weight->numel() != classes) {
    throw std::runtime_error("weight tensor should be defined either for all " +
                             std::to_string(classes) + " classes or no classes but got weight "
                             "tensor of shape: " + shape_str(weight->shape()));
  }
  return {batch, classes};
}

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                Reduction reduction, int64_t ignore_index) {
  const NllShape s = check_nll(input, target, weight);
  Tensor x = contiguous_clone(input);
  Tensor t = contiguous_clone(target);
  Tensor w = weight ? convert(contiguous_clone(weight), input->dtype()) : nullptr;
  Tensor per_sample = zeros(Shape{s.batch}, input->dtype());
  Tensor total_weight = zeros(Shape{}, input->dtype());
  EMBER_DISPATCH_FLOAT(input->dtype(), T, [&] {
    const T* px = x->data<T>();
    const int64_t* pt = t->data<int64_t>();
    const T* pw = w ? w->data<T>() : nullptr;
    T* ps = per_sample->data<T>();
    double tw = 0;
    for (int64_t i = 0; i < s.batch; ++i) {
      const int64_t c = pt[i];
      if (c == ignore_index) continue;
      if (c < 0 || c >= s.classes) {
        throw IndexError("Target " + std::to_string(c) + " is out of bounds.");
      }
      const T wi = pw ? pw[c] : T(1);
      ps[i] = -wi * px[i * s.classes + c];
      tw += wi;
    }
    total_weight->data<T>()[0] = static_cast<T>(tw);
  });
  Tensor out;
  {
    GradModeGuard no_grad(false);
    if (reduction == Reduction::None) {
      out = input->dim() == 1 ? reshape(per_sample, {}) : per_sample;
    } else {
      out = sum(per_sample);
      if (reduction == Reduction::Mean) out = div(out, total_weight);
    }
  }
  if (any_requires_grad(input)) {
    auto node = std::make_shared<NllLossBackward0>();
    set_history(node, {&input}, out);
    node->target = SavedTensor(t, false);
    if (w) node->weight = SavedTensor(w, false);
    node->total_weight = SavedTensor(total_weight, false);
    node->self_meta = InputMeta(input);
    node->reduction = reduction;
    node->ignore_index = ignore_index;
  }
  return out;
}

TensorList NllLossBackward0::apply(TensorList&& grads) {
  Tensor t = target.unpack(*this);
  Tensor w = weight.unpack(*this);
  Tensor tw = total_weight.unpack(*this);
  Tensor g = contiguous_clone(grads[0]);
  Tensor out = zeros(self_meta.shape, self_meta.dtype);
  const int64_t classes = self_meta.shape.back();
  const int64_t batch = self_meta.shape.size() == 2 ? self_meta.shape[0] : 1;
  EMBER_DISPATCH_FLOAT(self_meta.dtype, T, [&] {
    const int64_t* pt = t->data<int64_t>();
    const T* pw = w ? w->data<T>() : nullptr;
    const T* pg = g->data<T>();
    T* po = out->data<T>();
    const T scale = reduction == Reduction::Mean ? T(1) / tw->data<T>()[0] : T(1);
    for (int64_t i = 0; i < batch; ++i) {
      const int64_t c = pt[i];
      if (c == ignore_index) continue;
      const T gi = reduction == Reduction::None ? pg[i] : pg[0];
      po[i * classes + c] = -(pw ? pw[c] : T(1)) * gi * scale;
    }
  });
  return {out};
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                     Reduction reduction, int64_t ignore_index) {
  const int64_t class_dim = input->dim() == 1 ? 0 : 1;
  return nll_loss(log_softmax(input, class_dim), target, weight, reduction, ignore_index);
}

// ---- linear ----

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  if (input->dim() == 2 && bias) return addmm(bias, input, t(weight));
  Tensor out = matmul(input, t(weight));
  return bias ? add(out, bias) : out;
}

}  // namespace ember
