// Neural-network functions (softmax family, losses, linear) and their backward formulas.

#include "ember/autograd/functions/nn.h"

#include <cmath>
#include <cstring>

#include "ember/kernels/elementwise.h"
#include "ember/kernels/loss.h"
#include "ember/kernels/reduce.h"
#include "ember/kernels/softmax.h"

namespace ember {
namespace {

void require_floating(const Tensor& a, const char* op) {
  if (!is_floating(a->dtype())) {
    throw NotImplementedError(std::string("\"") + op + "\" not implemented for '" +
                              scalar_type_name(a->dtype()) + "'");
  }
}

// Softmax or log-softmax along d with the max subtracted first (no graph).
// The last dim, the common case, runs row by row in one kernel.
Tensor softmax_values(const Tensor& a, int64_t d, bool log) {
  GradModeGuard no_grad(false);
  if (a->numel() == 0) return empty(a->shape(), a->dtype());
  if (a->dim() > 0 && d == a->dim() - 1) {
    Tensor in = contiguous(a);
    Tensor out = empty(a->shape(), a->dtype());
    softmax_lastdim_kernel(in, out, log);
    return out;
  }
  Tensor shifted = binary_kernel(BinaryOp::Sub, a, extreme_kernel(a, d, true).values);
  std::vector<bool> mask(static_cast<size_t>(a->dim()), false);
  if (a->dim() > 0) mask[static_cast<size_t>(d)] = true;
  if (log) {
    Tensor lse = unary_kernel(UnaryOp::Log,
                              sum_kernel(unary_kernel(UnaryOp::Exp, shifted), mask, a->dtype()));
    binary_inplace_kernel(BinaryOp::Sub, shifted, lse);
    return shifted;
  }
  Tensor e = unary_kernel(UnaryOp::Exp, shifted);
  binary_inplace_kernel(BinaryOp::Div, e, sum_kernel(e, mask, a->dtype()));
  return e;
}

// The fused backward applies when no graph is being recorded for it and the
// softmax ran along the last dim.
bool fused_softmax_backward(const Tensor& y, const Tensor& g, int64_t dim) {
  return !GradMode::is_enabled() && !forward_ad::any_tangent(y, g) && y->dim() > 0 &&
         dim == y->dim() - 1 && g->dtype() == y->dtype() && g->shape() == y->shape();
}

Tensor reduce_loss(const Tensor& elementwise, Reduction reduction) {
  switch (reduction) {
    case Reduction::None:
      return elementwise;
    case Reduction::Sum:
      return sum(elementwise);
    case Reduction::Mean:
      return mean(elementwise);
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
  if (forward_ad::has_tangent(a)) {  // y * (t - sum(t * y))
    forward_ad::FormulaScope formula;
    const Tensor ty = mul(forward_ad::tangent(a), out);
    forward_ad::set_tangent(out, sub(ty, mul(out, sum(ty, {d}, true))));
  }
  return out;
}

TensorList SoftmaxBackward0::apply(TensorList&& grads) {
  Tensor y = result.unpack(*this);
  if (fused_softmax_backward(y, grads[0], dim)) {
    return {softmax_backward_lastdim_kernel(contiguous(grads[0]), contiguous(y), false)};
  }
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
  if (forward_ad::has_tangent(a)) {  // t - sum(t * softmax)
    forward_ad::FormulaScope formula;
    const Tensor t = forward_ad::tangent(a);
    forward_ad::set_tangent(out, sub(t, sum(mul(t, exp(out)), {d}, true)));
  }
  return out;
}

TensorList LogSoftmaxBackward0::apply(TensorList&& grads) {
  Tensor y = result.unpack(*this);
  if (fused_softmax_backward(y, grads[0], dim)) {
    return {softmax_backward_lastdim_kernel(contiguous(grads[0]), contiguous(y), true)};
  }
  return {sub(grads[0], mul(exp(y), sum(grads[0], {dim}, true)))};
}

// ---- mse ----

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  const DType t = result_type(input, target);
  if (!is_floating(t)) {
    throw NotImplementedError(std::string("\"mse_cpu\" not implemented for '") +
                              scalar_type_name(t) + "'");
  }
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
    node->self_meta = InputMeta(input);
    node->target_meta = InputMeta(target);
    node->reduction = reduction;
  }
  return out;
}

// Each input's gradient is computed on its own, as torch's: under create_graph
// the two then have separate graphs, each usable without retain_graph.
TensorList MseLossBackward0::apply(TensorList&& grads) {
  const Tensor x = self.unpack(*this), y = target.unpack(*this);
  auto gradient = [&](const Tensor& from, const Tensor& to) {
    const Tensor diff = sub(from, to);
    return mul(mul(diff, Scalar(2.0)), spread_loss_grad(grads[0], reduction, diff->numel()));
  };
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = self_meta.fit(gradient(x, y));
  if (wants_grad(*this, 1)) out[1] = target_meta.fit(gradient(y, x));
  return out;
}

// ---- smooth L1 / Huber ----

namespace {

// Note [Piecewise losses]
// smooth_l1_loss and huber_loss are quadratic where |x| < width (x = input -
// target) and linear outside. A NaN x counts as inside, as in torch's
// backward, and the quadratic branch reads x only inside (0 elsewhere): an
// infinite x would otherwise give that unused branch inf * 0 = NaN gradients.
// The derivative is x / width inside and sign(x) outside for smooth L1, width
// times that for Huber, so one formula with a `scale` serves both.
struct PiecewiseParts {
  Tensor inside, small;  // small: x inside, 0 outside
};
PiecewiseParts piecewise_parts(const Tensor& x, double width) {
  const Tensor inside = bitwise_not(compare(BinaryOp::Ge, abs(x), Scalar(width)));
  return {inside, where(inside, x, zeros({}, x->dtype()))};
}

// The elementwise loss, scaled so that smooth L1 is scale = 1 / width and Huber
// scale = 1: scale * width * (|x| - width / 2) outside, scale * x^2 / 2 inside.
Tensor piecewise_loss(const Tensor& x, double width, double scale) {
  const PiecewiseParts p = piecewise_parts(x, width);
  const Tensor quadratic = mul(mul(p.small, p.small), Scalar(0.5 * scale));
  const Tensor linear = mul(sub(abs(x), Scalar(0.5 * width)), Scalar(scale * width));
  return where(p.inside, quadratic, linear);
}

// The elementwise loss in one pass, for same-shape contiguous float32/float64
// operands without tangents (the common call); null otherwise.
Tensor fused_piecewise_loss(const Tensor& input, const Tensor& target, double width, double scale) {
  const DType dtype = input->dtype();
  if ((dtype != DType::Float32 && dtype != DType::Float64) || target->dtype() != dtype ||
      input->shape() != target->shape() || !input->is_contiguous() || !target->is_contiguous() ||
      forward_ad::any_tangent(input, target)) {
    return nullptr;
  }
  Tensor out = empty(input->shape(), dtype);
  EMBER_DISPATCH_FLOAT(dtype, T, [&] {
    const T* x = input->data<T>();
    const T* y = target->data<T>();
    T* o = out->data<T>();
    const T w = static_cast<T>(width), half_scale = static_cast<T>(0.5 * scale);
    const T offset = static_cast<T>(0.5 * width), slope = static_cast<T>(scale * width);
    for (int64_t i = 0; i < out->numel(); ++i) {
      const T d = x[i] - y[i];
      const T z = std::abs(d);
      o[i] = z < w ? d * d * half_scale : (z - offset) * slope;
    }
  });
  return out;
}

// d loss / dx: scale * x inside, scale * width * sign(x) outside.
Tensor piecewise_derivative(const Tensor& x, double width, double scale) {
  const PiecewiseParts p = piecewise_parts(x, width);
  return where(p.inside, mul(p.small, Scalar(scale)), mul(sign(x), Scalar(scale * width)));
}

void require_floating_loss(const Tensor& input, const Tensor& target, const char* kernel) {
  const DType t = result_type(input, target);
  if (!is_floating(t)) {
    throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                              scalar_type_name(t) + "'");
  }
}

template <typename NodeT, double NodeT::* Width>
Tensor piecewise_loss_op(const Tensor& input, const Tensor& target, Reduction reduction,
                         double width, double scale) {
  Tensor out;
  {
    GradModeGuard no_grad(false);
    Tensor elementwise = fused_piecewise_loss(input, target, width, scale);
    if (!elementwise) elementwise = piecewise_loss(sub(input, target), width, scale);
    out = reduce_loss(elementwise, reduction);
  }
  if (any_requires_grad(input, target)) {
    auto node = std::make_shared<NodeT>();
    set_history(node, {&input, &target}, out);
    node->self = SavedTensor(input, false);
    node->target = SavedTensor(target, false);
    node->self_meta = InputMeta(input);
    node->target_meta = InputMeta(target);
    node->reduction = reduction;
    (*node).*Width = width;
  }
  return out;
}

// As MseLossBackward0: each input's gradient on its own graph.
TensorList piecewise_loss_grads(const Node& node, const Tensor& g, const Tensor& x, const Tensor& y,
                                const InputMeta& x_meta, const InputMeta& y_meta,
                                Reduction reduction, double width, double scale) {
  auto gradient = [&](const Tensor& from, const Tensor& to) {
    const Tensor diff = sub(from, to);
    return mul(piecewise_derivative(diff, width, scale),
               spread_loss_grad(g, reduction, diff->numel()));
  };
  TensorList out(2);
  if (wants_grad(node, 0)) out[0] = x_meta.fit(gradient(x, y));
  if (wants_grad(node, 1)) out[1] = y_meta.fit(gradient(y, x));
  return out;
}

}  // namespace

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  if (beta < 0) {
    throw std::runtime_error("smooth_l1_loss does not support negative values for beta.");
  }
  require_floating_loss(input, target, "smooth_l1_cpu");
  // torch's F.smooth_l1_loss takes l1_loss at beta = 0: its nodes are the parts'.
  if (beta == 0.0) return reduce_loss(abs(sub(input, target)), reduction);
  return piecewise_loss_op<SmoothL1LossBackward0, &SmoothL1LossBackward0::beta>(
      input, target, reduction, beta, 1.0 / beta);
}

TensorList SmoothL1LossBackward0::apply(TensorList&& grads) {
  return piecewise_loss_grads(*this, grads[0], self.unpack(*this), target.unpack(*this), self_meta,
                              target_meta, reduction, beta, 1.0 / beta);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  if (delta <= 0) {
    throw std::runtime_error("huber_loss does not support non-positive values for delta.");
  }
  require_floating_loss(input, target, "huber_cpu");
  if (!is_floating(input->dtype()) && input->dtype() != DType::Bool) {
    throw std::runtime_error(
        std::string("result type Float can't be cast to the desired output type ") +
        scalar_type_name(input->dtype()));
  }
  return piecewise_loss_op<HuberLossBackward0, &HuberLossBackward0::delta>(input, target, reduction,
                                                                           delta, 1.0);
}

TensorList HuberLossBackward0::apply(TensorList&& grads) {
  return piecewise_loss_grads(*this, grads[0], self.unpack(*this), target.unpack(*this), self_meta,
                              target_meta, reduction, delta, 1.0);
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
  if (!is_floating(target->dtype()) && is_floating(input->dtype())) {
    throw std::runtime_error(std::string("result type ") + scalar_type_name(input->dtype()) +
                             " can't be cast to the desired output type " +
                             scalar_type_name(target->dtype()));
  }
  if (input->shape() != target->shape()) {
    throw ValueError("Target size (torch.Size(" + shape_str(target->shape()) +
                     ")) must be the same as input size (torch.Size(" + shape_str(input->shape()) +
                     "))");
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    // The fused pass carries no tangents; forward AD takes the composed ops.
    const bool fusable = !weight && !pos_weight && !forward_ad::any_tangent(input, target);
    Tensor loss = fusable ? bce_with_logits_loss_kernel(input, target) : nullptr;
    if (!loss) {
      Tensor sp = softplus_neg(input);
      Tensor weighted_sp =
          pos_weight ? mul(sp, add(mul(sub(pos_weight, Scalar(1.0)), target), Scalar(1.0))) : sp;
      loss = add(mul(rsub(target, Scalar(1.0)), input), weighted_sp);
      if (weight) loss = mul(loss, weight);
    }
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
    node->self_meta = InputMeta(input);
    node->target_meta = InputMeta(target);
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
  // Without weights and outside create_graph one pass gives (sigmoid(x) - y) g.
  const bool fused_x = wants_grad(*this, 0) && !w && !pw && !GradMode::is_enabled() &&
                       !forward_ad::any_tangent(x, y, g);
  Tensor fused = fused_x ? bce_with_logits_grad_kernel(x, y, g) : nullptr;
  if (fused) {
    out[0] = self_meta.fit(fused);
  } else if (wants_grad(*this, 0)) {
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
  if (target->dtype() != input->dtype()) {
    throw std::runtime_error(std::string("Found dtype ") + scalar_type_name(target->dtype()) +
                             " but expected " + scalar_type_name(input->dtype()));
  }
  if (input->shape() != target->shape()) {
    throw ValueError("Using a target size (torch.Size(" + shape_str(target->shape()) +
                     ")) that is different to the input size (torch.Size(" +
                     shape_str(input->shape()) +
                     ")) is deprecated. Please ensure they have the "
                     "same size.");
  }
  Tensor out;
  {
    // A target that requires grad (rare) is differentiated through the
    // formula itself; otherwise the dedicated node below is recorded.
    GradModeGuard no_grad(any_requires_grad(target));
    // torch checks both in [0, 1] (NaN fails), input first.
    for (const auto& [t, name] : {std::pair{&input, "input"}, std::pair{&target, "target"}}) {
      Tensor in_range =
          mul(compare(BinaryOp::Ge, *t, Scalar(0.0)), compare(BinaryOp::Le, *t, Scalar(1.0)));
      if ((*t)->numel() > 0 && item_as_double(min(to_dtype(in_range, DType::Float32))) == 0.0) {
        throw std::runtime_error(std::string("all elements of ") + name +
                                 " should be between 0 and 1");
      }
    }
    // torch clamps the logs at -100 so that 0 and 1 give finite losses.
    Tensor log_x = clamp(log(input), Scalar(-100.0), std::nullopt);
    Tensor log_1mx = clamp(log(rsub(input, Scalar(1.0))), Scalar(-100.0), std::nullopt);
    Tensor loss = neg(add(mul(target, log_x), mul(rsub(target, Scalar(1.0)), log_1mx)));
    if (weight) loss = mul(loss, weight);
    out = reduce_loss(loss, reduction);
  }
  if (any_requires_grad(input) && !out->grad_fn()) {
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
  Tensor denom = clamp(mul(rsub(x, Scalar(1.0)), x), Scalar(1e-12), std::nullopt);
  Tensor d = div(sub(x, y), denom);
  if (w) d = mul(d, w);
  return {mul(d, g)};
}

// ---- nll / cross entropy ----

namespace {

struct NllShape {
  int64_t batch;  // rows (1 for an unbatched input)
  int64_t classes;
};

void check_class_weight(const Tensor& weight, int64_t classes) {
  if (weight && weight->numel() != classes) {
    throw std::runtime_error("weight tensor should be defined either for all " +
                             std::to_string(classes) +
                             " classes or no classes but got weight "
                             "tensor of shape: " +
                             shape_str(weight->shape()));
  }
}

NllShape check_nll(const Tensor& input, const Tensor& target, const Tensor& weight) {
  if (input->dim() < 1 || input->dim() > 2) {
    throw ValueError("Expected 1 or 2 dimensions for nll_loss input (got " +
                     std::to_string(input->dim()) + ")");
  }
  if (target->dtype() != DType::Int64) {
    throw std::runtime_error(std::string("expected scalar type Long but found ") +
                             scalar_type_name(target->dtype()));
  }
  if (target->dim() > 1) {
    throw std::runtime_error("0D or 1D target tensor expected, multi-target not supported");
  }
  const bool batched = input->dim() == 2;
  const int64_t batch = batched ? input->shape()[0] : 1;
  const int64_t tbatch = target->dim() == 0 ? 1 : target->shape()[0];
  if ((batched && target->dim() != 1) || (!batched && target->dim() != 0) || batch != tbatch) {
    throw ValueError("Expected input batch_size (" + std::to_string(batch) +
                     ") to match target batch_size (" + std::to_string(tbatch) + ").");
  }
  const int64_t classes = input->shape()[input->dim() - 1];
  check_class_weight(weight, classes);
  return {batch, classes};
}

}  // namespace

namespace {

void check_spatial_target(const Tensor& input, const Tensor& target) {
  Shape expected;
  for (int64_t d = 0; d < input->dim(); ++d) {
    if (d != 1) expected.push_back(input->shape()[d]);
  }
  if (target->shape() != expected) {
    throw std::runtime_error("Expected target size " + shape_str(expected) + ", got " +
                             shape_str(target->shape()));
  }
}

// Negative log likelihood of `rows` rows of `classes` log-probabilities
// (contiguous x), per row, plus the total weight of the non-ignored rows.
struct NllForward {
  Tensor per_row;
  Tensor total_weight;  // 0-d
};

NllForward nll_rows(const Tensor& x, const Tensor& t, const Tensor& w, int64_t rows,
                    int64_t classes, int64_t ignore_index) {
  if (!has_kernels(x->dtype())) {  // Note [Compute dtypes]
    const DType dt = kernel_dtype(x->dtype());
    NllForward r = nll_rows(convert(x, dt), t, w ? convert(w, dt) : w, rows, classes, ignore_index);
    return {convert(r.per_row, x->dtype()), convert(r.total_weight, x->dtype())};
  }
  NllForward r{zeros(Shape{rows}, x->dtype()), zeros(Shape{}, x->dtype())};
  EMBER_DISPATCH_FLOAT(x->dtype(), T, [&] {
    const T* px = x->data<T>();
    const int64_t* pt = t->data<int64_t>();
    const T* pw = w ? w->data<T>() : nullptr;
    T* ps = r.per_row->data<T>();
    double tw = 0;
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t c = pt[i];
      if (c == ignore_index) continue;
      if (c < 0 || c >= classes) {
        throw IndexError("Target " + std::to_string(c) + " is out of bounds.");
      }
      const T wi = pw ? pw[c] : T(1);
      ps[i] = -wi * px[i * classes + c];
      tw += wi;
    }
    r.total_weight->data<T>()[0] = static_cast<T>(tw);
  });
  return r;
}

Tensor reduce_nll(const NllForward& f, Reduction reduction) {
  GradModeGuard no_grad(false);
  if (reduction == Reduction::None) return f.per_row;
  Tensor out = sum(f.per_row);
  return reduction == Reduction::Mean ? div(out, f.total_weight) : out;
}

// Gradient w.r.t. the (rows, classes) log-probabilities.
Tensor nll_rows_grad(const Tensor& g_in, const Tensor& t, const Tensor& w, const Tensor& tw,
                     int64_t rows, int64_t classes, DType dtype, Reduction reduction,
                     int64_t ignore_index) {
  if (!has_kernels(dtype)) {  // Note [Compute dtypes]
    const DType dt = kernel_dtype(dtype);
    return convert(nll_rows_grad(convert(g_in, dt), t, w ? convert(w, dt) : w, convert(tw, dt),
                                 rows, classes, dt, reduction, ignore_index),
                   dtype);
  }
  Tensor g = contiguous_clone(g_in);
  Tensor out = zeros(Shape{rows, classes}, dtype);
  EMBER_DISPATCH_FLOAT(dtype, T, [&] {
    const int64_t* pt = t->data<int64_t>();
    const T* pw = w ? w->data<T>() : nullptr;
    const T* pg = g->data<T>();
    T* po = out->data<T>();
    const T scale = reduction == Reduction::Mean ? T(1) / tw->data<T>()[0] : T(1);
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t c = pt[i];
      if (c == ignore_index) continue;
      const T gi = reduction == Reduction::None ? pg[i] : pg[0];
      po[i * classes + c] = -(pw ? pw[c] : T(1)) * gi * scale;
    }
  });
  return out;
}

// nll_rows_grad is linear in the incoming gradient. When that gradient carries
// a graph (create_graph), a constant unit gradient is scaled by it with a
// recorded product, so higher-order gradients flow (Note [Placing a gradient]).
Tensor nll_grad(const Tensor& g, const Tensor& t, const Tensor& w, const Tensor& tw, int64_t rows,
                int64_t classes, DType dtype, Reduction reduction, int64_t ignore_index) {
  if (!any_requires_grad(g)) {
    return nll_rows_grad(g, t, w, tw, rows, classes, dtype, reduction, ignore_index);
  }
  Tensor unit;
  {
    GradModeGuard no_grad(false);
    unit = nll_rows_grad(ones(g->shape(), g->dtype()), t, w, tw, rows, classes, dtype, reduction,
                         ignore_index);
  }
  return mul(unit, reduction == Reduction::None ? reshape(g, {rows, 1}) : g);
}

template <typename NodeT>
void record_nll(const Tensor& out, const Tensor& input, const Tensor& t, const Tensor& w,
                const Tensor& total_weight, Reduction reduction, int64_t ignore_index) {
  auto node = std::make_shared<NodeT>();
  set_history(node, {&input}, out);
  node->target = SavedTensor(t, false);
  if (w) node->weight = SavedTensor(w, false);
  node->total_weight = SavedTensor(total_weight, false);
  node->self_meta = InputMeta(input);
  node->reduction = reduction;
  node->ignore_index = ignore_index;
}

// (N, C, H, W) log-probabilities against (N, H, W) targets.
Tensor nll_loss2d(const Tensor& input, const Tensor& target, const Tensor& w, Reduction reduction,
                  int64_t ignore_index) {
  const int64_t n = input->shape()[0], c = input->shape()[1];
  const int64_t rows = n * input->shape()[2] * input->shape()[3];
  Tensor x;
  {
    GradModeGuard no_grad(false);
    x = contiguous_clone(permute(input, {0, 2, 3, 1}));
  }
  Tensor t = contiguous_clone(target);
  NllForward f = nll_rows(x, t, w, rows, c, ignore_index);
  Tensor out = reduce_nll(f, reduction);
  if (reduction == Reduction::None) {
    out = reshape(out, DimList(target->shape().begin(), target->shape().end()));
  }
  if (any_requires_grad(input)) {
    record_nll<NllLoss2DBackward0>(out, input, t, w, f.total_weight, reduction, ignore_index);
  }
  return out;
}

Tensor nll_loss_recorded(const Tensor& input, const Tensor& target, const Tensor& weight,
                         Reduction reduction, int64_t ignore_index) {
  if (weight && weight->dtype() != input->dtype()) {
    throw std::runtime_error(std::string("expected scalar type ") +
                             scalar_type_name(input->dtype()) + " but found " +
                             scalar_type_name(weight->dtype()));
  }
  Tensor w = weight ? convert(contiguous_clone(weight), input->dtype()) : nullptr;
  if (input->dim() > 2) {
    if (target->dtype() != DType::Int64) {
      throw std::runtime_error(std::string("expected scalar type Long but found ") +
                               scalar_type_name(target->dtype()));
    }
    check_spatial_target(input, target);
    const int64_t c = input->shape()[1];
    check_class_weight(weight, c);
    if (input->dim() == 4) return nll_loss2d(input, target, w, reduction, ignore_index);
    // Like torch, other ranks go through the 4-d form: (N, C, d, 1) or (N, C, 1, -1).
    const int64_t n = input->shape()[0];
    Tensor x4 = input->dim() == 3 ? view(input, {n, c, input->shape()[2], 1})
                                  : view(contiguous(input), {n, c, 1, -1});
    Tensor t3 = reshape(target, {n, x4->shape()[2], x4->shape()[3]});
    Tensor out = nll_loss2d(x4, t3, w, reduction, ignore_index);
    if (reduction != Reduction::None) return out;
    return view(out, DimList(target->shape().begin(), target->shape().end()));
  }
  const NllShape s = check_nll(input, target, weight);
  Tensor t = contiguous_clone(target);
  // Only rows are read: a contiguous input is used as it is (no copy).
  const Tensor x = input->is_contiguous() ? input : contiguous_clone(input);
  NllForward f = nll_rows(x, t, w, s.batch, s.classes, ignore_index);
  Tensor out = reduce_nll(f, reduction);
  if (reduction == Reduction::None && input->dim() == 1) out = reshape(out, {});
  if (any_requires_grad(input)) {
    record_nll<NllLossBackward0>(out, input, t, w, f.total_weight, reduction, ignore_index);
  }
  return out;
}

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                Reduction reduction, int64_t ignore_index) {
  Tensor out = nll_loss_recorded(input, target, weight, reduction, ignore_index);
  // Linear in the input (the mean divides by the targets' total weight).
  linear_tangent(out, input, [&](const Tensor& t) {
    return nll_loss_recorded(t, target, weight, reduction, ignore_index);
  });
  return out;
}

TensorList NllLossBackward0::apply(TensorList&& grads) {
  const int64_t classes = self_meta.shape.back();
  const int64_t rows = self_meta.shape.size() == 2 ? self_meta.shape[0] : 1;
  Tensor g =
      nll_grad(grads[0], target.unpack(*this), weight.unpack(*this), total_weight.unpack(*this),
               rows, classes, self_meta.dtype, reduction, ignore_index);
  return {reshape(g, DimList(self_meta.shape.begin(), self_meta.shape.end()))};
}

TensorList NllLoss2DBackward0::apply(TensorList&& grads) {
  const Shape& s = self_meta.shape;  // (N, C, H, W)
  Tensor g =
      nll_grad(grads[0], target.unpack(*this), weight.unpack(*this), total_weight.unpack(*this),
               s[0] * s[2] * s[3], s[1], self_meta.dtype, reduction, ignore_index);
  return {permute(reshape(g, {s[0], s[2], s[3], s[1]}), {0, 3, 1, 2})};
}

namespace {

// Class weights shaped to broadcast along the class dim of `like`.
Tensor weight_along_classes(const Tensor& weight, const Tensor& like, int64_t class_dim) {
  DimList shape(static_cast<size_t>(like->dim()), 1);
  shape[static_cast<size_t>(class_dim)] = weight->numel();
  return reshape(weight, shape);
}

// Cross entropy against class probabilities (target has the input's shape).
Tensor cross_entropy_soft(const Tensor& logp, const Tensor& target, const Tensor& weight,
                          Reduction reduction, double smoothing, int64_t class_dim) {
  if (target->shape() != logp->shape()) {
    throw std::runtime_error("Expected target size " + shape_str(logp->shape()) + ", got " +
                             shape_str(target->shape()));
  }
  const int64_t classes = logp->shape()[static_cast<size_t>(class_dim)];
  Tensor t = smoothing > 0 ? add(mul(target, Scalar(1.0 - smoothing)), Scalar(smoothing / classes))
                           : target;
  Tensor terms = mul(logp, t);
  if (weight) terms = mul(terms, weight_along_classes(weight, logp, class_dim));
  Tensor per_sample = neg(sum(terms, {class_dim}, false));
  switch (reduction) {
    case Reduction::None:
      return per_sample;
    case Reduction::Sum:
      return sum(per_sample);
    case Reduction::Mean:
      return div_scalar_internal(
          sum(per_sample),
          Scalar(static_cast<double>(logp->numel() / std::max<int64_t>(classes, 1))));
  }
  return per_sample;
}

// Label smoothing with class-index targets: (1 - e) * nll + e/C * (-sum_c w_c logp_c).
Tensor cross_entropy_smoothed(const Tensor& logp, const Tensor& target, const Tensor& weight,
                              Reduction reduction, int64_t ignore_index, double smoothing,
                              int64_t class_dim) {
  const int64_t classes = logp->shape()[static_cast<size_t>(class_dim)];
  Tensor nll = nll_loss(logp, target, weight, reduction, ignore_index);
  Tensor terms = weight ? mul(logp, weight_along_classes(weight, logp, class_dim)) : logp;
  Tensor smooth = neg(sum(terms, {class_dim}, false));
  Tensor kept =
      to_dtype(compare(BinaryOp::Ne, target, Scalar::integer(ignore_index)), logp->dtype());
  smooth = mul(smooth, kept);
  Tensor smooth_reduced;
  switch (reduction) {
    case Reduction::None:
      smooth_reduced = smooth;
      break;
    case Reduction::Sum:
      smooth_reduced = sum(smooth);
      break;
    case Reduction::Mean: {
      Tensor denom;
      if (weight) {
        GradModeGuard no_grad(false);
        Tensor safe_target = mul(target, to_dtype(kept, DType::Int64));
        denom = sum(mul(index_rows(weight, 0, reshape(safe_target, {-1})), reshape(kept, {-1})));
      } else {
        denom = sum(kept);
      }
      smooth_reduced = div(sum(smooth), denom);
      break;
    }
  }
  return add(mul(nll, Scalar(1.0 - smoothing)), mul(smooth_reduced, Scalar(smoothing / classes)));
}

}  // namespace

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                     Reduction reduction, int64_t ignore_index, double label_smoothing) {
  if (label_smoothing < 0.0 || label_smoothing > 1.0) {
    throw std::runtime_error("label_smoothing must be between 0.0 and 1.0. Got: " +
                             std::to_string(label_smoothing));
  }
  const int64_t class_dim = input->dim() == 1 ? 0 : 1;
  if (is_floating(target->dtype()) && ignore_index != -100) {
    throw std::runtime_error("ignore_index is not supported for floating point target");
  }
  Tensor logp = log_softmax(input, class_dim);
  if (is_floating(target->dtype())) {
    return cross_entropy_soft(logp, target, weight, reduction, label_smoothing, class_dim);
  }
  if (label_smoothing > 0.0) {
    return cross_entropy_smoothed(logp, target, weight, reduction, ignore_index, label_smoothing,
                                  class_dim);
  }
  return nll_loss(logp, target, weight, reduction, ignore_index);
}

// ---- linear ----

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  if (input->dim() == 2 && bias) return addmm(bias, input, t(weight));
  if (!bias || !input->is_contiguous() || input->dim() == 0) {
    Tensor out = matmul(input, t(weight));
    return bias ? add(out, bias) : out;
  }
  // A contiguous input folds its batch dims into rows, as torch does: addmm, then a view.
  const int64_t in_features = input->shape().back();
  DimList out_shape(input->shape().begin(), input->shape().end() - 1);
  int64_t rows = 1;  // not -1: with no in_features the row count cannot be inferred
  for (int64_t s : out_shape) rows *= s;
  out_shape.push_back(weight->shape()[0]);
  return view(addmm(bias, reshape(input, {rows, in_features}), t(weight)), out_shape);
}

// ---- embedding ----

namespace {

// Adds each row of g (n x dim) into rows[indices[k]] of a zero (num x dim)
// tensor, skipping the padding row. Repeated indices add up.
Tensor embedding_grad_kernel(const Tensor& g_in, const Tensor& indices, int64_t num_weights,
                             int64_t padding_idx) {
  const Tensor g = contiguous(g_in);
  const int64_t n = indices->numel();
  const int64_t dim = n == 0 ? g->shape().back() : g->numel() / n;
  Tensor out = zeros(Shape{num_weights, dim}, g->dtype());
  const int64_t* pi = indices->data<int64_t>();
  EMBER_DISPATCH_FLOAT(g->dtype(), T, [&] {
    const T* pg = g->data<T>();
    T* po = out->data<T>();
    for (int64_t k = 0; k < n; ++k) {
      if (pi[k] == padding_idx) continue;
      T* dst = po + pi[k] * dim;
      const T* src = pg + k * dim;
      for (int64_t j = 0; j < dim; ++j) dst[j] += src[j];
    }
  });
  return out;
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx) {
  const int64_t num = weight->shape()[0], dim = weight->shape()[1];
  Tensor idx = convert(contiguous(indices), DType::Int64);  // int32 indices too, as torch's
  const int64_t* pi = idx->data<int64_t>();
  for (int64_t k = 0; k < idx->numel(); ++k) {
    if (pi[k] < 0 || pi[k] >= num) throw IndexError("index out of range in self");
  }
  Shape shape = idx->shape();
  shape.push_back(dim);
  Tensor out = empty(shape, weight->dtype());
  {
    GradModeGuard no_grad(false);
    const Tensor w = contiguous(weight);
    const size_t row_bytes = static_cast<size_t>(dim) * itemsize(w->dtype());
    const char* pw = static_cast<const char*>(w->raw_data());
    char* po = static_cast<char*>(out->raw_data());
    for (int64_t k = 0; k < idx->numel(); ++k) {
      std::memcpy(po + k * row_bytes, pw + pi[k] * row_bytes, row_bytes);
    }
  }
  if (any_requires_grad(weight)) {
    auto node = record<EmbeddingBackward0>(out, weight);
    node->indices = SavedTensor(idx, false);
    node->num_weights = num;
    node->padding_idx = padding_idx;
  }
  linear_tangent(out, weight, [&](const Tensor& t) { return embedding(t, indices, padding_idx); });
  return out;
}

TensorList EmbeddingBackward0::apply(TensorList&& grads) {
  const Tensor idx = indices.unpack(*this);
  Tensor out = embedding_grad_kernel(grads[0], idx, num_weights, padding_idx);
  if (any_requires_grad(
          grads[0])) {  // create_graph: the rows go back out, Note [Placing a gradient]
    auto node = record<EmbeddingDenseBackwardBackward0>(out, grads[0]);
    node->indices = SavedTensor(idx, false);
    node->padding_idx = padding_idx;
    node->grad_shape = grads[0]->shape();
  }
  return {out};
}

TensorList EmbeddingDenseBackwardBackward0::apply(TensorList&& grads) {
  const Tensor idx = indices.unpack(*this);
  Tensor rows = embedding(grads[0], idx, -1);
  if (padding_idx >= 0)
    rows = mul(rows, unsqueeze(compare(BinaryOp::Ne, idx, Scalar(padding_idx)), -1));
  return {reshape(rows, DimList(grad_shape.begin(), grad_shape.end()))};
}

}  // namespace ember
