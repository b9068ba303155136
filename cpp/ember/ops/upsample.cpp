// Upsampling: torch's checks and messages, the kernels of kernels/upsample.cpp
// and the backward formulas (each the other's adjoint).

#include "ember/ops/upsample.h"

#include <string>

#include "ember/autograd/functions/upsample.h"
#include "ember/kernels/upsample.h"

namespace ember {
namespace {

constexpr const char* kForwardNames[] = {"UpsampleNearest1DBackward0", "UpsampleNearest2DBackward0",
                                         "UpsampleLinear1DBackward0",
                                         "UpsampleBilinear2DBackward0"};
constexpr const char* kBackwardNames[] = {
    "UpsampleNearest1DBackwardBackward0", "UpsampleNearest2DBackwardBackward0",
    "UpsampleLinear1DBackwardBackward0", "UpsampleBilinear2DBackwardBackward0"};

Tensor dense(const Tensor& t) {
  GradModeGuard no_grad(false);
  return contiguous(t);
}

// torch's message for a dtype its kernel refuses, naming the kernel; float16
// and bfloat16 (which torch computes) get Ember's own message at dispatch.
void refuse_non_float(const Tensor& t, const char* kernel) {
  if (!is_floating(t->dtype())) {
    throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                              scalar_type_name(t->dtype()) + "'");
  }
}

const char* kernel_name(const UpsampleParams& p) {
  const bool two = p.output_size.size() == 2;
  if (p.mode == UpsampleMode::Nearest) {
    return two ? "upsample_nearest2d_channels_last" : "compute_indices_weights_nearest";
  }
  return two ? "upsample_bilinear2d_channels_last" : "compute_indices_weights_linear";
}

// "(H: 4, W: 5)" or "(W: 5)", as torch's messages list spatial sizes.
std::string sizes_str(const std::vector<int64_t>& sizes) {
  std::string s = "(";
  if (sizes.size() == 2) s += "H: " + std::to_string(sizes[0]) + ", ";
  return s + "W: " + std::to_string(sizes.back()) + ")";
}

void check_sizes(const Tensor& input, const UpsampleParams& p) {
  const size_t dims = p.output_size.size();
  if (dims != 1 && dims != 2) {
    throw std::runtime_error("It is expected output_size equals to " + std::to_string(dims) +
                             ", but got size " + std::to_string(p.output_size.size()));
  }
  if (input->dim() != static_cast<int64_t>(dims) + 2) {
    throw std::runtime_error("Expected " + std::to_string(dims + 2) +
                             "D input tensor for upsampling, but got " + shape_str(input->shape()));
  }
  std::vector<int64_t> in_sizes(input->shape().end() - static_cast<int64_t>(dims),
                                input->shape().end());
  bool positive = true;
  for (size_t i = 0; i < dims; ++i) positive = positive && in_sizes[i] > 0 && p.output_size[i] > 0;
  if (!positive) {
    throw std::runtime_error("Input and output sizes should be greater than 0, but got input " +
                             sizes_str(in_sizes) + (dims == 1 ? " and output " : " output ") +
                             sizes_str(p.output_size));
  }
}

// The kernels' view of an input of `in` shape resized per `p`.
UpsampleGeometry geometry(const Shape& in, const UpsampleParams& p) {
  UpsampleGeometry g;
  const bool two = p.output_size.size() == 2;
  g.planes = in[0] * in[1];
  g.w = in.back();
  g.ow = p.output_size.back();
  if (two) g.h = in[2], g.oh = p.output_size[0];
  if (p.scales.size() == p.output_size.size()) {
    g.scale_w = p.scales.back();
    if (two) g.scale_h = p.scales[0];
  }
  g.align_corners = p.align_corners;
  return g;
}

Shape output_shape(const Shape& in, const UpsampleParams& p) {
  Shape out{in[0], in[1]};
  for (int64_t s : p.output_size) out.push_back(s);
  return out;
}

template <int Kind>
std::shared_ptr<Node> make_backward_node(const Shape& input_shape, const UpsampleParams& p) {
  auto node = std::make_shared<UpsampleBackwardNode<Kind>>();
  node->input_shape = input_shape;
  node->params = p;
  return node;
}

std::shared_ptr<Node> backward_node(const Shape& input_shape, const UpsampleParams& p) {
  switch (upsample_kind(p)) {
    case kNearest1D:
      return make_backward_node<kNearest1D>(input_shape, p);
    case kNearest2D:
      return make_backward_node<kNearest2D>(input_shape, p);
    case kLinear1D:
      return make_backward_node<kLinear1D>(input_shape, p);
    default:
      return make_backward_node<kBilinear2D>(input_shape, p);
  }
}

template <int Kind>
std::shared_ptr<Node> make_double_node(const UpsampleParams& p) {
  auto node = std::make_shared<UpsampleBackwardBackwardNode<Kind>>();
  node->params = p;
  return node;
}

std::shared_ptr<Node> double_backward_node(const UpsampleParams& p) {
  switch (upsample_kind(p)) {
    case kNearest1D:
      return make_double_node<kNearest1D>(p);
    case kNearest2D:
      return make_double_node<kNearest2D>(p);
    case kLinear1D:
      return make_double_node<kLinear1D>(p);
    default:
      return make_double_node<kBilinear2D>(p);
  }
}

}  // namespace

int upsample_kind(const UpsampleParams& params) {
  const bool two = params.output_size.size() == 2;
  if (params.mode == UpsampleMode::Nearest) return two ? kNearest2D : kNearest1D;
  return two ? kBilinear2D : kLinear1D;
}

Tensor upsample(const Tensor& input, const UpsampleParams& params) {
  check_sizes(input, params);
  refuse_non_float(input, kernel_name(params));
  const UpsampleGeometry g = geometry(input->shape(), params);
  Tensor out = empty(output_shape(input->shape(), params), input->dtype());
  const Tensor x = dense(input);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(input->dtype(), T, [&] {
      if (params.mode == UpsampleMode::Nearest) {
        upsample_nearest_kernel<T>(g, x->data<T>(), out->data<T>());
      } else {
        upsample_linear_kernel<T>(g, x->data<T>(), out->data<T>());
      }
    });
  }
  if (any_requires_grad(input)) {
    std::shared_ptr<Node> node = backward_node(input->shape(), params);
    set_history(node, {&input}, out);
  }
  linear_tangent(out, input, [&](const Tensor& t) { return upsample(t, params); });
  return out;
}

Tensor upsample_backward(const Tensor& grad, const Shape& input_shape,
                         const UpsampleParams& params) {
  const UpsampleGeometry g = geometry(input_shape, params);
  Tensor out = empty(input_shape, grad->dtype());
  const Tensor dy = dense(grad);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
      if (params.mode == UpsampleMode::Nearest) {
        upsample_nearest_backward_kernel<T>(g, dy->data<T>(), out->data<T>());
      } else {
        upsample_linear_backward_kernel<T>(g, dy->data<T>(), out->data<T>());
      }
    });
  }
  if (any_requires_grad(grad)) {
    std::shared_ptr<Node> node = double_backward_node(params);
    set_history(node, {&grad}, out);
  }
  linear_tangent(out, grad,
                 [&](const Tensor& t) { return upsample_backward(t, input_shape, params); });
  return out;
}

template <int Kind>
const char* UpsampleBackwardNode<Kind>::name() const {
  return kForwardNames[Kind];
}

template <int Kind>
TensorList UpsampleBackwardNode<Kind>::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {upsample_backward(grads[0], input_shape, params)};
}

template <int Kind>
const char* UpsampleBackwardBackwardNode<Kind>::name() const {
  return kBackwardNames[Kind];
}

template <int Kind>
TensorList UpsampleBackwardBackwardNode<Kind>::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {upsample(grads[0], params)};
}

template struct UpsampleBackwardNode<kNearest1D>;
template struct UpsampleBackwardNode<kNearest2D>;
template struct UpsampleBackwardNode<kLinear1D>;
template struct UpsampleBackwardNode<kBilinear2D>;
template struct UpsampleBackwardBackwardNode<kNearest1D>;
template struct UpsampleBackwardBackwardNode<kNearest2D>;
template struct UpsampleBackwardBackwardNode<kLinear1D>;
template struct UpsampleBackwardBackwardNode<kBilinear2D>;

}  // namespace ember
