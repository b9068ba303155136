// 2-d pooling (max, average, adaptive average and max): torch's checks and
// messages, the kernels of kernels/conv.cpp, backward formulas.

#include <string>

#include "ember/autograd/functions/conv.h"
#include "ember/kernels/conv.h"
#include "ember/ops/conv.h"

namespace ember {
namespace {

Tensor dense(const Tensor& t) {
  GradModeGuard no_grad(false);
  return contiguous(t);
}

void require_kernel_dtype(DType t, const char* op) {
  if (t == DType::Bool) {
    throw NotImplementedError(std::string("\"") + op + "\" not implemented for 'Bool'");
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

}  // namespace

namespace {

int64_t div_floor(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// torch's pooling_output_shape with its argument checks.
int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil, bool ceil) {
  if (stride == 0) throw std::runtime_error("stride should not be zero");
  if (pad < 0)
    throw std::runtime_error("pad must be non-negative, but got pad: " + std::to_string(pad));
  if (pad > ((k - 1) * dil + 1) / 2) {
    throw std::runtime_error(
        "pad should be at most half of effective kernel size, but got pad=" + std::to_string(pad) +
        ", kernel_size=" + std::to_string(k) + " and dilation=" + std::to_string(dil));
  }
  int64_t out = div_floor(in + 2 * pad - dil * (k - 1) - 1 + (ceil ? stride - 1 : 0), stride) + 1;
  if (ceil && (out - 1) * stride >= in + pad) --out;
  return out;
}

std::vector<int64_t> pair_param(const std::vector<int64_t>& v, const std::string& message) {
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() != 2) throw std::runtime_error(message);
  return v;
}

PoolGeometry pool_geometry(const Tensor& input, const PoolParams& given, const char* op) {
  const std::string name(op);
  const std::vector<int64_t> k = pair_param(
      given.kernel, name + ": kernel_size must either be a single int, or a tuple of two ints");
  if (!given.stride.empty() && given.stride.size() != 1 && given.stride.size() != 2) {
    throw std::runtime_error(
        name + ": stride must either be omitted, a single int, or a tuple of two ints");
  }
  const std::vector<int64_t> s = given.stride.empty() ? k : pair_param(given.stride, "");
  const std::vector<int64_t> pad = pair_param(
      given.padding, name + ": padding must either be a single int, or a tuple of two ints");
  const std::vector<int64_t> d = pair_param(
      given.dilation, name + ": dilation must be either a single int, or a tuple of two ints");
  const int64_t dim = input->dim();
  if (name == "avg_pool2d" && dim < 3) {
    // torch's avg_pool2d reads input.size(-3) before checking the rank.
    throw IndexError("Dimension out of range (expected to be in range of [" +
                     std::to_string(-std::max<int64_t>(dim, 1)) + ", " +
                     std::to_string(std::max<int64_t>(dim, 1) - 1) + "], but got -3)");
  }
  if (dim != 3 && dim != 4) {
    if (name == "avg_pool2d") {
      throw std::runtime_error(
          "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
          "got:" +
          shape_str(input->shape()));
    }
    throw std::runtime_error("non-empty 3D or 4D (batch mode) tensor expected for input");
  }
  PoolGeometry g;
  const Shape& sh = input->shape();
  g.h = sh[dim - 2], g.w = sh[dim - 1];
  g.planes = sh[0] * (dim == 4 ? sh[1] : 1);
  g.kh = k[0], g.kw = k[1], g.sh = s[0], g.sw = s[1], g.ph = pad[0], g.pw = pad[1];
  g.dh = d[0], g.dw = d[1];
  g.oh = pooled_size(g.h, g.kh, g.ph, g.sh, g.dh, given.ceil_mode);
  g.ow = pooled_size(g.w, g.kw, g.pw, g.sw, g.dw, given.ceil_mode);
  g.count_include_pad = given.count_include_pad;
  g.divisor_override = given.divisor_override.value_or(0);
  // pool2d_shape_check
  if (g.kw <= 0 || g.kh <= 0) {
    throw std::runtime_error("kernel size should be greater than zero, but got kH: " +
                             std::to_string(g.kh) + " kW: " + std::to_string(g.kw));
  }
  if (g.sw <= 0 || g.sh <= 0) {
    throw std::runtime_error("stride should be greater than zero, but got dH: " +
                             std::to_string(g.sh) + " dW: " + std::to_string(g.sw));
  }
  if (g.dh <= 0 || g.dw <= 0) {
    throw std::runtime_error("dilation should be greater than zero, but got dilationH: " +
                             std::to_string(g.dh) + " dilationW: " + std::to_string(g.dw));
  }
  const bool valid_dims = sh[1] != 0 && sh[2] != 0;
  if (!((dim == 3 && sh[0] != 0 && valid_dims) || (dim == 4 && valid_dims && sh[3] != 0))) {
    throw std::runtime_error(
        "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
        "got:" +
        shape_str(sh));
  }
  if (g.oh < 1 || g.ow < 1) {
    const int64_t channels = sh[dim - 3];
    throw std::runtime_error(
        "Given input size: (" + std::to_string(channels) + "x" + std::to_string(g.h) + "x" +
        std::to_string(g.w) + "). Calculated output size: (" + std::to_string(channels) + "x" +
        std::to_string(g.oh) + "x" + std::to_string(g.ow) + "). Output size is too small");
  }
  return g;
}

Shape pooled_shape(const Shape& in, int64_t oh, int64_t ow) {
  Shape out = in;
  out[out.size() - 2] = oh;
  out[out.size() - 1] = ow;
  return out;
}

// Geometry of a backward formula from the forward input's and the gradient's shapes.
PoolGeometry backward_geometry(const Shape& in, const Shape& grad, const PoolParams* p) {
  PoolGeometry g;
  const size_t r = in.size();
  g.h = in[r - 2], g.w = in[r - 1], g.oh = grad[r - 2], g.ow = grad[r - 1];
  g.planes = numel_of(in) / std::max<int64_t>(g.h * g.w, 1);
  if (g.h * g.w == 0) g.planes = 0;
  if (p) {
    const std::vector<int64_t> k = pair_param(p->kernel, "");
    const std::vector<int64_t> s = p->stride.empty() ? k : pair_param(p->stride, "");
    const std::vector<int64_t> pad = pair_param(p->padding, "");
    g.kh = k[0], g.kw = k[1], g.sh = s[0], g.sw = s[1], g.ph = pad[0], g.pw = pad[1];
    g.count_include_pad = p->count_include_pad;
    g.divisor_override = p->divisor_override.value_or(0);
  }
  return g;
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const PoolParams& params) {
  const PoolGeometry g = pool_geometry(input, params, "max_pool2d");
  require_kernel_dtype(input->dtype(), "max_pool2d");
  const Shape shape = pooled_shape(input->shape(), g.oh, g.ow);
  Tensor out = empty(shape, input->dtype());
  Tensor indices = empty(shape, DType::Int64);
  const Tensor x = dense(input);
  if (out->numel() > 0) {
    EMBER_DISPATCH(input->dtype(), T, [&] {
      if constexpr (!std::is_same_v<T, bool>) {
        max_pool2d_kernel<T>(g, x->data<T>(), out->data<T>(), indices->data<int64_t>());
      }
    });
  }
  if (any_requires_grad(input)) {
    auto node = std::make_shared<MaxPool2DWithIndicesBackward0>();
    set_history(node, {&input}, out);
    node->self = SavedTensor(input, false);
    node->result1 = SavedTensor(indices, false);
  }
  return {out, indices};
}

TensorList MaxPool2DWithIndicesBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  const Tensor x = self.unpack(*this);
  return {max_pool2d_backward(grads[0], result1.unpack(*this), x->shape())};
}

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape) {
  const PoolGeometry g = backward_geometry(input_shape, grad->shape(), nullptr);
  Tensor out = empty(input_shape, grad->dtype());
  const Tensor dy = dense(grad), idx = dense(indices);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
      max_pool2d_backward_kernel<T>(g, dy->data<T>(), idx->data<int64_t>(), out->data<T>());
    });
  }
  if (any_requires_grad(grad)) {
    auto node = std::make_shared<MaxPool2DWithIndicesBackwardBackward0>();
    set_history(node, {&grad}, out);
    node->indices = SavedTensor(indices, false);
  }
  return out;
}

// The placement's adjoint picks the recorded positions back out.
TensorList MaxPool2DWithIndicesBackwardBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  const Tensor idx = indices.unpack(*this);
  const Shape& is = idx->shape();
  const int64_t r = static_cast<int64_t>(is.size());
  const Shape& gs = grads[0]->shape();
  DimList flat_in(gs.begin(), gs.end() - 2), flat_idx(is.begin(), is.end() - 2);
  flat_in.push_back(gs[r - 2] * gs[r - 1]);
  flat_idx.push_back(is[r - 2] * is[r - 1]);
  Tensor picked = gather(reshape(grads[0], flat_in), r - 2, reshape(idx, flat_idx));
  return {reshape(picked, DimList(is.begin(), is.end()))};
}

Tensor avg_pool2d(const Tensor& input, const PoolParams& params) {
  if (params.divisor_override && *params.divisor_override == 0) {
    throw std::runtime_error("divisor must be not zero");
  }
  const PoolGeometry g = pool_geometry(input, params, "avg_pool2d");
  require_kernel_dtype(input->dtype(), "avg_pool2d");
  Tensor out = empty(pooled_shape(input->shape(), g.oh, g.ow), input->dtype());
  const Tensor x = dense(input);
  if (out->numel() > 0) {
    EMBER_DISPATCH(input->dtype(), T, [&] {
      if constexpr (!std::is_same_v<T, bool>) {
        avg_pool2d_kernel<T>(g, x->data<T>(), out->data<T>());
      }
    });
  }
  if (any_requires_grad(input)) {
    auto node = std::make_shared<AvgPool2DBackward0>();
    set_history(node, {&input}, out);
    node->self = SavedTensor(input, false);
    node->params = params;
  }
  return out;
}

TensorList AvgPool2DBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {avg_pool2d_backward(grads[0], self.unpack(*this)->shape(), params)};
}

Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, const PoolParams& params) {
  const PoolGeometry g = backward_geometry(input_shape, grad->shape(), &params);
  Tensor out = empty(input_shape, grad->dtype());
  const Tensor dy = dense(grad);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(grad->dtype(), T,
                         [&] { avg_pool2d_backward_kernel<T>(g, dy->data<T>(), out->data<T>()); });
  }
  if (any_requires_grad(grad)) {
    auto node = std::make_shared<AvgPool2DBackwardBackward0>();
    set_history(node, {&grad}, out);
    node->params = params;
  }
  return out;
}

TensorList AvgPool2DBackwardBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {avg_pool2d(grads[0], params)};
}

Tensor adaptive_avg_pool2d(const Tensor& input, int64_t out_h, int64_t out_w) {
  if (out_h < 0 || out_w < 0) {
    throw std::runtime_error(
        "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but "
        "received {" +
        std::to_string(out_h) + ", " + std::to_string(out_w) + "}");
  }
  const int64_t dim = input->dim();
  if (dim != 3 && dim != 4) {
    throw std::runtime_error("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got " +
                             shape_str(input->shape()));
  }
  for (int64_t i = 1; i < dim; ++i) {
    if (input->shape()[i] == 0) {
      throw std::runtime_error(
          "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, "
          "but input has sizes " +
          shape_str(input->shape()) + " with dimension " + std::to_string(i) + " being empty");
    }
  }
  require_kernel_dtype(input->dtype(), "adaptive_avg_pool2d");
  Tensor out = empty(pooled_shape(input->shape(), out_h, out_w), input->dtype());
  const PoolGeometry g = backward_geometry(input->shape(), out->shape(), nullptr);
  const Tensor x = dense(input);
  if (out->numel() > 0) {
    EMBER_DISPATCH(input->dtype(), T, [&] {
      if constexpr (!std::is_same_v<T, bool>) {
        adaptive_avg_pool2d_kernel<T>(g, x->data<T>(), out->data<T>());
      }
    });
  }
  if (any_requires_grad(input)) {
    auto node = std::make_shared<AdaptiveAvgPool2DBackward0>();
    set_history(node, {&input}, out);
    node->self = SavedTensor(input, false);
  }
  return out;
}

TensorList AdaptiveAvgPool2DBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {adaptive_avg_pool2d_backward(grads[0], self.unpack(*this)->shape())};
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad, const Shape& input_shape) {
  const PoolGeometry g = backward_geometry(input_shape, grad->shape(), nullptr);
  Tensor out = empty(input_shape, grad->dtype());
  const Tensor dy = dense(grad);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
      adaptive_avg_pool2d_backward_kernel<T>(g, dy->data<T>(), out->data<T>());
    });
  }
  if (any_requires_grad(grad)) {
    auto node = std::make_shared<AdaptiveAvgPool2DBackwardBackward0>();
    set_history(node, {&grad}, out);
    const size_t r = grad->shape().size();
    node->out_h = grad->shape()[r - 2];
    node->out_w = grad->shape()[r - 1];
  }
  return out;
}

TensorList AdaptiveAvgPool2DBackwardBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {adaptive_avg_pool2d(grads[0], out_h, out_w)};
}

namespace {

PoolGeometry plane_geometry(const Shape& in, int64_t oh, int64_t ow) {
  PoolGeometry g;
  const size_t r = in.size();
  g.h = in[r - 2], g.w = in[r - 1], g.oh = oh, g.ow = ow;
  g.planes = g.h * g.w == 0 ? 0 : numel_of(in) / (g.h * g.w);
  return g;
}

Shape with_plane(const Shape& in, int64_t oh, int64_t ow) {
  Shape out = in;
  out[out.size() - 2] = oh;
  out[out.size() - 1] = ow;
  return out;
}

// Gradient into zeros at the recorded positions; differentiable (its adjoint
// picks the positions back out).
Tensor adaptive_max_pool2d_backward(const Tensor& grad, const Tensor& indices,
                                    const Shape& input_shape) {
  const size_t r = grad->shape().size();
  const PoolGeometry g = plane_geometry(input_shape, grad->shape()[r - 2], grad->shape()[r - 1]);
  Tensor out = empty(input_shape, grad->dtype());
  const Tensor dy = dense(grad), idx = dense(indices);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
      max_pool2d_backward_kernel<T>(g, dy->data<T>(), idx->data<int64_t>(), out->data<T>());
    });
  }
  if (any_requires_grad(grad)) {
    auto node = std::make_shared<AdaptiveMaxPool2DBackwardBackward0>();
    set_history(node, {&grad}, out);
    node->indices = SavedTensor(indices, false);
  }
  return out;
}

}  // namespace

std::pair<Tensor, Tensor> adaptive_max_pool2d(const Tensor& input, int64_t out_h, int64_t out_w) {
  const int64_t dim = input->dim();
  if (dim != 3 && dim != 4) {
    throw std::runtime_error("adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: " +
                             shape_str(input->shape()));
  }
  for (int64_t i = 1; i < dim; ++i) {
    if (input->shape()[i] == 0) {
      throw std::runtime_error(
          "adaptive_max_pool2d(): Expected input to have non-zero size for non-batch dimensions, "
          "but input has sizes " +
          shape_str(input->shape()) + " with dimension " + std::to_string(i) + " being empty");
    }
  }
  if (out_h < 0 || out_w < 0) {
    Shape shown = with_plane(input->shape(), out_h, out_w);
    const int64_t negative = out_h < 0 ? out_h : out_w;
    throw std::runtime_error("Trying to create tensor with negative dimension " +
                             std::to_string(negative) + ": " + shape_str(shown));
  }
  refuse_non_float(input, "adaptive_max_pool2d");
  const Shape shape = with_plane(input->shape(), out_h, out_w);
  Tensor out = empty(shape, input->dtype());
  Tensor indices = empty(shape, DType::Int64);
  const PoolGeometry g = plane_geometry(input->shape(), out_h, out_w);
  const Tensor x = dense(input);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(input->dtype(), T, [&] {
      adaptive_max_pool2d_kernel<T>(g, x->data<T>(), out->data<T>(), indices->data<int64_t>());
    });
  }
  if (any_requires_grad(input)) {
    auto node = std::make_shared<AdaptiveMaxPool2DBackward0>();
    set_history(node, {&input}, out);
    node->self = SavedTensor(input, false);
    node->result1 = SavedTensor(indices, false);
  }
  return {out, indices};
}

TensorList AdaptiveMaxPool2DBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  const Tensor x = self.unpack(*this);
  return {adaptive_max_pool2d_backward(grads[0], result1.unpack(*this), x->shape())};
}

// The placement's adjoint: the gradient read back at the recorded positions.
TensorList AdaptiveMaxPool2DBackwardBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  const Tensor idx = indices.unpack(*this);
  const Shape& is = idx->shape();
  const int64_t r = static_cast<int64_t>(is.size());
  const Shape& gs = grads[0]->shape();
  DimList flat_in(gs.begin(), gs.end() - 2), flat_idx(is.begin(), is.end() - 2);
  flat_in.push_back(gs[r - 2] * gs[r - 1]);
  flat_idx.push_back(is[r - 2] * is[r - 1]);
  Tensor picked = gather(reshape(grads[0], flat_in), r - 2, reshape(idx, flat_idx));
  return {reshape(picked, DimList(is.begin(), is.end()))};
}

}  // namespace ember
