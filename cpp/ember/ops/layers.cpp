// Pixel shuffling and PReLU's kernel: torch's checks and messages, values from
// the shape and elementwise ops, one node each with a differentiable formula.

#include "ember/ops/layers.h"

#include <string>

#include "ember/autograd/functions/layers.h"

namespace ember {
namespace {

void check_factor(const Tensor& input, int64_t factor, const std::string& op,
                  const std::string& factor_name) {
  if (factor <= 0) {
    throw std::runtime_error(op + " expects a positive " + factor_name + ", but got " +
                             std::to_string(factor));
  }
  if (input->dim() < 3) {
    throw std::runtime_error(op +
                             " expects input to have at least 3 dimensions, but got input "
                             "with " +
                             std::to_string(input->dim()) + " dimension(s)");
  }
}

// torch's message for a dtype its kernel refuses, naming the kernel; float16
// and bfloat16 (which torch computes) get Ember's own message at dispatch.
void refuse_non_float(const Tensor& t, const char* kernel) {
  if (!is_floating(t->dtype())) {
    throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                              scalar_type_name(t->dtype()) + "'");
  }
}

void check_divisible(int64_t size, int64_t by, const std::string& what, int64_t dim) {
  if (size % by != 0) {
    throw std::runtime_error("pixel_unshuffle expects " + what +
                             " to be divisible by downscale_factor, but input.size(" +
                             std::to_string(dim) + ")=" + std::to_string(size) +
                             " is not divisible by " + std::to_string(by));
  }
}

// The batch dims before the last three, then `tail`.
DimList with_batch(const Shape& s, std::initializer_list<int64_t> tail) {
  DimList out(s.begin(), s.end() - 3);
  for (int64_t v : tail) out.push_back(v);
  return out;
}

// Permutation of the batch dims followed by `tail` (indices past the batch).
DimList batch_then(int64_t batch, std::initializer_list<int64_t> tail) {
  DimList out;
  for (int64_t d = 0; d < batch; ++d) out.push_back(d);
  for (int64_t v : tail) out.push_back(batch + v);
  return out;
}

Tensor shuffled_values(const Tensor& x, int64_t r) {
  GradModeGuard no_grad(false);
  const Shape& s = x->shape();
  const int64_t n = static_cast<int64_t>(s.size());
  const int64_t c = s[n - 3] / (r * r), h = s[n - 2], w = s[n - 1];
  const Tensor split = reshape(x, with_batch(s, {c, r, r, h, w}));
  const Tensor moved = contiguous(permute(split, batch_then(n - 3, {0, 3, 1, 4, 2})));
  return reshape(moved, with_batch(s, {c, h * r, w * r}));
}

Tensor unshuffled_values(const Tensor& x, int64_t r) {
  GradModeGuard no_grad(false);
  const Shape& s = x->shape();
  const int64_t n = static_cast<int64_t>(s.size());
  const int64_t c = s[n - 3], h = s[n - 2] / r, w = s[n - 1] / r;
  const Tensor split = reshape(x, with_batch(s, {c, h, r, w, r}));
  const Tensor moved = contiguous(permute(split, batch_then(n - 3, {0, 2, 4, 1, 3})));
  return reshape(moved, with_batch(s, {c * r * r, h, w}));
}

}  // namespace

Tensor pixel_shuffle(const Tensor& input, int64_t upscale_factor) {
  check_factor(input, upscale_factor, "pixel_shuffle", "upscale_factor");
  const int64_t channels = input->shape()[input->dim() - 3];
  const int64_t square = upscale_factor * upscale_factor;
  if (channels % square != 0) {
    throw std::runtime_error(
        "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
        "upscale_factor, but input.size(-3)=" +
        std::to_string(channels) + " is not divisible by " + std::to_string(square));
  }
  Tensor out = shuffled_values(input, upscale_factor);
  if (any_requires_grad(input)) {
    auto node = std::make_shared<PixelShuffleBackward0>();
    set_history(node, {&input}, out);
    node->factor = upscale_factor;
  }
  linear_tangent(out, input, [&](const Tensor& t) { return pixel_shuffle(t, upscale_factor); });
  return out;
}

TensorList PixelShuffleBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {pixel_unshuffle(grads[0], factor)};
}

Tensor pixel_unshuffle(const Tensor& input, int64_t downscale_factor) {
  check_factor(input, downscale_factor, "pixel_unshuffle", "downscale_factor");
  const int64_t n = input->dim();
  check_divisible(input->shape()[n - 2], downscale_factor, "height", -2);
  check_divisible(input->shape()[n - 1], downscale_factor, "width", -1);
  Tensor out = unshuffled_values(input, downscale_factor);
  if (any_requires_grad(input)) {
    auto node = std::make_shared<PixelUnshuffleBackward0>();
    set_history(node, {&input}, out);
    node->factor = downscale_factor;
  }
  linear_tangent(out, input, [&](const Tensor& t) { return pixel_unshuffle(t, downscale_factor); });
  return out;
}

TensorList PixelUnshuffleBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {pixel_shuffle(grads[0], factor)};
}

Tensor prelu_kernel(const Tensor& input, const Tensor& weight) {
  refuse_non_float(input, "prelu_cpu");
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = where(compare(BinaryOp::Gt, input, Scalar(0.0)), input, mul(weight, input));
  }
  if (GradMode::is_enabled() && (input->requires_grad() || weight->requires_grad())) {
    auto node = std::make_shared<PreluKernelBackward0>();
    set_history(node, {&input, &weight}, out);
    node->self = SavedTensor(input, false);
    node->weight = SavedTensor(weight, false);
  }
  return out;
}

// Written with differentiable ops, so gradients of any order follow.
TensorList PreluKernelBackward0::apply(TensorList&& grads) {
  TensorList out;
  out.resize(2);
  const Tensor& g = grads[0];
  if (!g) return out;
  const Tensor x = self.unpack(*this), w = weight.unpack(*this);
  const Tensor positive = compare(BinaryOp::Gt, x, Scalar(0.0));
  if (wants_grad(*this, 0)) out[0] = where(positive, g, mul(w, g));
  if (wants_grad(*this, 1)) {
    const Tensor zero = zeros(Shape{}, g->dtype());
    out[1] = sum_to(where(positive, zero, mul(x, g)), w->shape());
  }
  return out;
}

}  // namespace ember
