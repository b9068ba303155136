// Convolution, plain and transposed: checks (torch's messages), values and
// backward formulas. Pooling is in pooling.cpp, fold/unfold in sliding_windows.cpp.

#include "ember/ops/conv.h"

#include <sstream>

#include "ember/autograd/functions/conv.h"
#include "ember/kernels/conv.h"

namespace ember {
namespace {

std::string list_str(const std::vector<int64_t>& v) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
  s << "]";
  return s.str();
}

// torch's expand_param_if_needed: one value serves every spatial dim.
std::vector<int64_t> expand_param(const std::vector<int64_t>& v, const char* name, int64_t dims) {
  if (v.size() == 1) return std::vector<int64_t>(static_cast<size_t>(dims), v[0]);
  if (static_cast<int64_t>(v.size()) != dims) {
    throw std::runtime_error(std::string("expected ") + name +
                             " to be a single integer value or a list of " + std::to_string(dims) +
                             " values to match the convolution dimensions, but got " + name + "=" +
                             list_str(v));
  }
  return v;
}

void require_kernel_dtype(DType t, const char* op) {
  if (t == DType::Bool) {
    throw NotImplementedError(std::string("\"") + op + "\" not implemented for 'Bool'");
  }
}

Tensor dense(const Tensor& t) {
  GradModeGuard no_grad(false);
  return contiguous(t);
}

void check_plain_shapes(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const ConvParams& p);
void check_transposed_shapes(const Tensor& input, const Tensor& weight, const Tensor& bias,
                             const ConvParams& p);
void check_dtypes(const Tensor& input, const Tensor& weight, const Tensor& bias);

// Expands the parameters to the weight's rank and applies check_shape_forward.
ConvParams checked_params(const Tensor& input, const Tensor& weight, const Tensor& bias,
                          const ConvParams& given) {
  const int64_t k = weight->dim();
  const int64_t dims = k - 2;
  if (dims <= 0) throw std::runtime_error("weight should have at least three dimensions");
  if (given.groups <= 0) throw std::runtime_error("non-positive groups is not supported");
  ConvParams p;
  p.groups = given.groups;
  p.stride = expand_param(given.stride, "stride", dims);
  p.padding = expand_param(given.padding, "padding", dims);
  p.dilation = expand_param(given.dilation, "dilation", dims);
  p.transposed = given.transposed;
  p.output_padding = given.transposed ? expand_param(given.output_padding, "output_padding", dims)
                                      : std::vector<int64_t>(static_cast<size_t>(dims), 0);
  for (int64_t v : p.padding)
    if (v < 0) throw std::runtime_error("negative padding is not supported");
  for (int64_t v : p.output_padding)
    if (v < 0) throw std::runtime_error("negative output_padding is not supported");
  for (int64_t v : p.stride)
    if (v <= 0) throw std::runtime_error("non-positive stride is not supported");
  for (int64_t v : p.dilation)
    if (v <= 0) throw std::runtime_error("non-positive dilation is not supported");
  const Shape& ws = weight->shape();
  if (input->dim() != k) {
    throw std::runtime_error(
        "Expected " + std::to_string(k) + "-dimensional input for " + std::to_string(k) +
        "-dimensional weight " + shape_str(ws) + ", but got " + std::to_string(input->dim()) +
        "-dimensional input of size " + shape_str(input->shape()) + " instead");
  }
  const std::string g = std::to_string(p.groups);
  if (ws[0] < p.groups) {
    throw std::runtime_error("Given groups=" + g + ", expected weight to be at least " + g +
                             " at dimension 0, but got weight of size " + shape_str(ws) +
                             " instead");
  }
  if (ws[0] % p.groups != 0) {
    throw std::runtime_error("Given groups=" + g + ", expected weight to be divisible by " + g +
                             " at dimension 0, but got weight of size [" + shape_str(ws) +
                             "] instead");
  }
  if (p.transposed) {
    check_transposed_shapes(input, weight, bias, p);
  } else {
    check_plain_shapes(input, weight, bias, p);
  }
  check_dtypes(input, weight, bias);
  require_kernel_dtype(input->dtype(),
                       p.transposed ? "slow_conv_transpose2d_out_cpu" : "slow_conv2d_cpu");
  return p;
}

void check_plain_shapes(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const ConvParams& p) {
  const Shape& ws = weight->shape();
  const int64_t dims = weight->dim() - 2;
  if (input->shape()[1] != ws[1] * p.groups) {
    throw std::runtime_error("Given groups=" + std::to_string(p.groups) + ", weight of size " +
                             shape_str(ws) + ", expected input" + shape_str(input->shape()) +
                             " to have " + std::to_string(ws[1] * p.groups) +
                             " channels, but got " + std::to_string(input->shape()[1]) +
                             " channels instead");
  }
  if (bias && (bias->dim() != 1 || bias->shape()[0] != ws[0])) {
    throw std::runtime_error("Given weight of size " + shape_str(ws) +
                             ", expected bias to be 1-dimensional with " + std::to_string(ws[0]) +
                             " elements, but got bias of size " + shape_str(bias->shape()) +
                             " instead");
  }
  std::string in_sizes, kernel_sizes;
  bool fits = true;
  for (int64_t i = 0; i < dims; ++i) {
    const int64_t padded = input->shape()[2 + i] + 2 * p.padding[i];
    const int64_t extent = p.dilation[i] * (ws[2 + i] - 1) + 1;
    fits = fits && padded >= extent;
    in_sizes += (i ? " x " : "") + std::to_string(padded);
    kernel_sizes += (i ? " x " : "") + std::to_string(extent);
  }
  if (!fits) {
    throw std::runtime_error("Calculated padded input size per channel: (" + in_sizes +
                             "). Kernel size: (" + kernel_sizes +
                             "). Kernel size can't be greater than actual input size");
  }
}

// Spatial sizes of a transposed convolution's output: the inputs of the
// convolution it is the adjoint of, plus output_padding at the end.
Shape transposed_output_shape(const Shape& in, const Shape& w, const ConvParams& p) {
  Shape out{in[0], w[1] * p.groups};
  for (size_t i = 0; i + 2 < in.size(); ++i) {
    out.push_back((in[2 + i] - 1) * p.stride[i] - 2 * p.padding[i] +
                  p.dilation[i] * (w[2 + i] - 1) + p.output_padding[i] + 1);
  }
  return out;
}

// torch views a 1-d transposed convolution as a 2-d one of unit height, and
// its messages show that height's (zero padding, unit stride and dilation).
std::string height_and_width(const std::vector<int64_t>& v, int64_t height_default,
                             const char* name) {
  const int64_t h = v.size() == 2 ? v[0] : height_default;
  return std::string(name) + "_height: " + std::to_string(h) + " " + name +
         "_width: " + std::to_string(v.back());
}

void check_transposed_shapes(const Tensor& input, const Tensor& weight, const Tensor& bias,
                             const ConvParams& p) {
  const Shape& ws = weight->shape();
  if (input->shape()[1] != ws[0]) {
    throw std::runtime_error("Given transposed=1, weight of size " + shape_str(ws) +
                             ", expected input" + shape_str(input->shape()) + " to have " +
                             std::to_string(ws[0]) + " channels, but got " +
                             std::to_string(input->shape()[1]) + " channels instead");
  }
  const int64_t c_out = ws[1] * p.groups;
  if (bias && (bias->dim() != 1 || bias->shape()[0] != c_out)) {
    throw std::runtime_error("Given transposed=1, weight of size " + shape_str(ws) +
                             ", expected bias to be 1-dimensional with " + std::to_string(c_out) +
                             " elements, but got bias of size " + shape_str(bias->shape()) +
                             " instead");
  }
  bool fits = true;
  for (size_t i = 0; i < p.stride.size(); ++i) {
    fits = fits && (p.output_padding[i] < p.stride[i] || p.output_padding[i] < p.dilation[i]);
  }
  if (!fits) {
    throw std::runtime_error(
        "output padding must be smaller than either stride or dilation, but "
        "got " +
        height_and_width(p.output_padding, 0, "output_padding") + " " +
        height_and_width(p.stride, 1, "stride") + " " +
        height_and_width(p.dilation, 1, "dilation"));
  }
  const Shape out = transposed_output_shape(input->shape(), ws, p);
  bool positive = true;
  std::string in_sizes, out_sizes;
  for (size_t i = 2; i < out.size(); ++i) {
    positive = positive && out[i] >= 1;
    in_sizes += (i > 2 ? " x " : "") + std::to_string(input->shape()[i]);
    out_sizes += (i > 2 ? " x " : "") + std::to_string(out[i]);
  }
  if (!positive) {
    throw std::runtime_error("Given input size per channel: (" + in_sizes +
                             "). Calculated output size per channel: (" + out_sizes +
                             "). Output size is too small");
  }
}

void check_dtypes(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  if (input->dtype() != weight->dtype()) {
    if (input->dtype() == DType::Float32 || input->dtype() == DType::Bool) {
      throw std::runtime_error(std::string("Input type (") + legacy_type_name(input->dtype()) +
                               ") and weight type (" + legacy_type_name(weight->dtype()) +
                               ") should be the same or input should be a MKLDNN tensor and "
                               "weight is a dense tensor");
    }
    throw std::runtime_error(std::string("expected scalar type ") +
                             scalar_type_name(input->dtype()) + " but found " +
                             scalar_type_name(weight->dtype()));
  }
  if (bias && bias->dtype() != input->dtype()) {
    throw std::runtime_error(std::string("Input type (") + c_type_name(input->dtype()) +
                             ") and bias type (" + c_type_name(bias->dtype()) +
                             ") should be the same");
  }
}

// Kernel geometry of already checked shapes; 1-d convolutions get a unit height.
ConvGeometry geometry(const Shape& in, const Shape& w, const ConvParams& p) {
  ConvGeometry g;
  const bool two = in.size() == 4;
  g.batch = in[0];
  g.groups = p.groups;
  g.c_in = in[1];
  g.h = two ? in[2] : 1;
  g.w = in.back();
  g.c_out = w[0];
  g.kh = two ? w[2] : 1;
  g.kw = w.back();
  const size_t last = p.stride.size() - 1;
  g.sw = p.stride[last], g.pw = p.padding[last], g.dw = p.dilation[last];
  if (two) g.sh = p.stride[0], g.ph = p.padding[0], g.dh = p.dilation[0];
  g.oh = (g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
  g.ow = (g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
  return g;
}

// The geometry with its output (the convolution's, not the input's) sized as `out`.
ConvGeometry with_output(ConvGeometry g, const Shape& out) {
  g.oh = out.size() == 4 ? out[2] : 1;
  g.ow = out.back();
  return g;
}

Shape output_shape(const ConvGeometry& g, size_t rank) {
  if (rank == 4) return Shape{g.batch, g.c_out, g.oh, g.ow};
  return Shape{g.batch, g.c_out, g.ow};
}

bool needs_grad(const Tensor& t) { return t && t->requires_grad(); }

void add_edge(Node& node, const Tensor& t) {
  if (t) {
    add_next_edge(node, t);
  } else {
    node.next_edges().push_back(Edge{});
  }
}

// The forward's values (no graph) for already checked shapes; the gradient
// formulas call it too, with the shapes of the forward they differentiate.
// `out_like`, when given, fixes the output's spatial size: the input gradient
// of a transposed convolution whose output_padding is not below its stride
// reads fewer output positions than the formula's own size would.
Tensor conv_values(const Tensor& input, const Tensor& weight, const Tensor& bias,
                   const ConvParams& p, const Shape* out_like) {
  ConvGeometry g = geometry(input->shape(), weight->shape(), p);
  if (out_like) g = with_output(g, *out_like);
  Tensor out = empty(output_shape(g, input->shape().size()), input->dtype());
  if (out->numel() == 0) return out;
  const Tensor x = dense(input), w = dense(weight), b = bias ? dense(bias) : nullptr;
  EMBER_DISPATCH(input->dtype(), T, [&] {
    if constexpr (!std::is_same_v<T, bool>) {
      conv_forward_kernel<T>(g, x->data<T>(), w->data<T>(), b ? b->data<T>() : nullptr,
                             out->data<T>());
    }
  });
  return out;
}

// See Note [Convolution as GEMM]: the transposed convolution runs the input
// adjoint of the convolution whose input has the transposed output's shape.
Tensor conv_transpose_values(const Tensor& input, const Tensor& weight, const Tensor& bias,
                             const ConvParams& p) {
  const Shape out_shape = transposed_output_shape(input->shape(), weight->shape(), p);
  const ConvGeometry g = with_output(geometry(out_shape, weight->shape(), p), input->shape());
  Tensor out = empty(out_shape, input->dtype());
  if (out->numel() == 0) return out;
  const Tensor x = dense(input), w = dense(weight), b = bias ? dense(bias) : nullptr;
  const bool nothing_in = x->numel() == 0 || w->numel() == 0;
  EMBER_DISPATCH(input->dtype(), T, [&] {
    if constexpr (!std::is_same_v<T, bool>) {
      T* y = out->data<T>();
      if (nothing_in) {
        std::fill(y, y + out->numel(), T(0));
      } else {
        conv_backward_input_kernel<T>(g, x->data<T>(), w->data<T>(), y);
      }
      if (b) conv_add_bias_kernel<T>(b->data<T>(), g.batch, g.c_in, g.in_plane(), y);
    }
  });
  return out;
}

// The sum of grad over all dims but the channels: a differentiable sum when
// the gradient carries a graph (create_graph), else one pass over its planes.
Tensor bias_grad(const Tensor& grad, int64_t spatial_dims) {
  if (GradMode::is_enabled() && grad->requires_grad()) {
    return spatial_dims == 2 ? sum(grad, {0, 2, 3}, false) : sum(grad, {0, 2}, false);
  }
  const Shape& s = grad->shape();
  Tensor out = empty(Shape{s[1]}, grad->dtype());
  const Tensor g = dense(grad);
  const int64_t plane = s[1] == 0 || s[0] == 0 ? 0 : g->numel() / (s[0] * s[1]);
  EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
    conv_bias_grad_kernel<T>(g->data<T>(), s[0], s[1], plane, out->data<T>());
  });
  return out;
}

}  // namespace

// ---- convolution ----

namespace {

Tensor record_convolution(const Tensor& input, const Tensor& weight, const Tensor& bias,
                          const ConvParams& p, const Shape* out_like,
                          bool transpose_input_grad = false);

// Bilinear in input and weight, linear in bias: the tangent is
// conv(t_input, w) + conv(x, t_weight) + t_bias along the channels.
void set_convolution_tangent(const Tensor& out, const Tensor& input, const Tensor& weight,
                             const Tensor& bias, const ConvParams& params, const Shape* out_like) {
  if (!forward_ad::any_tangent(input, weight, bias)) return;
  forward_ad::FormulaScope formula;
  Tensor t;
  auto add_part = [&t](const Tensor& part) { t = t ? add(t, part) : part; };
  if (const Tensor ti = forward_ad::tangent(input))
    add_part(record_convolution(ti, weight, nullptr, params, out_like));
  if (const Tensor tw = forward_ad::tangent(weight))
    add_part(record_convolution(input, tw, nullptr, params, out_like));
  if (const Tensor tb = forward_ad::tangent(bias)) {
    DimList channels{tb->numel()};
    for (int64_t d = 2; d < out->dim(); ++d) channels.push_back(1);
    add_part(expand(reshape(tb, channels), out->shape()));
  }
  forward_ad::set_tangent(out, t);
}

// A checked convolution's values, node and tangent. transpose_input_grad marks
// the plain convolution computing a transposed one's input gradient (torch's
// node name differs there).
Tensor record_convolution(const Tensor& input, const Tensor& weight, const Tensor& bias,
                          const ConvParams& p, const Shape* out_like, bool transpose_input_grad) {
  Tensor out = p.transposed ? conv_transpose_values(input, weight, bias, p)
                            : conv_values(input, weight, bias, p, out_like);
  if (GradMode::is_enabled() && (needs_grad(input) || needs_grad(weight) || needs_grad(bias))) {
    std::shared_ptr<ConvolutionNode> node;
    if (transpose_input_grad) {
      node = std::make_shared<ConvTransposeInputGradNode>();
    } else {
      node = std::make_shared<ConvolutionBackward0>();
    }
    add_edge(*node, input);
    add_edge(*node, weight);
    add_edge(*node, bias);
    out->set_history(node, 0);
    node->input = SavedTensor(input, false);
    node->weight = SavedTensor(weight, false);
    node->params = p;
    node->spatial_dims = weight->dim() - 2;
  }
  set_convolution_tangent(out, input, weight, bias, p, out_like);
  return out;
}

}  // namespace

Tensor convolution(const Tensor& input, const Tensor& weight, const Tensor& bias,
                   const ConvParams& params) {
  return record_convolution(input, weight, bias, checked_params(input, weight, bias, params),
                            nullptr);
}

TensorList ConvolutionNode::apply(TensorList&& grads) {
  TensorList out;
  out.resize(3);
  const Tensor& g = grads[0];
  if (!g) return out;
  const Tensor x = input.unpack(*this), w = weight.unpack(*this);
  // The raw kernels below would drop a saved tensor's tangent (forward over reverse).
  if (forward_ad::any_tangent(g, x, w)) forward_ad::throw_no_forward_formula(*this);
  if (params.transposed) {
    // The adjoint of the input adjoint is the convolution itself; the weight
    // gradient is the plain one with the roles of input and gradient swapped.
    ConvParams plain = params;
    plain.transposed = false;
    if (wants_grad(*this, 0)) {
      out[0] = record_convolution(g, w, nullptr, plain, &x->shape(), true);
    }
    if (wants_grad(*this, 1)) out[1] = convolution_backward_weight(g, x, w->shape(), plain);
  } else {
    if (wants_grad(*this, 0)) out[0] = convolution_backward_input(g, w, x->shape(), params);
    if (wants_grad(*this, 1)) out[1] = convolution_backward_weight(x, g, w->shape(), params);
  }
  if (wants_grad(*this, 2)) out[2] = bias_grad(g, spatial_dims);
  return out;
}

// The engine hands formulas gradients in their forward output's dtype; the
// kernels read both operands as one type, so anything else is a caller's bug.
void require_same_dtype(const Tensor& a, const Tensor& b) {
  if (a->dtype() != b->dtype()) {
    throw std::logic_error(std::string("convolution gradient: mixed dtypes ") +
                           scalar_type_name(a->dtype()) + " and " + scalar_type_name(b->dtype()));
  }
}

Tensor convolution_backward_input(const Tensor& grad, const Tensor& weight,
                                  const Shape& input_shape, const ConvParams& p) {
  require_same_dtype(grad, weight);
  const ConvGeometry g = with_output(geometry(input_shape, weight->shape(), p), grad->shape());
  Tensor out = empty(input_shape, grad->dtype());
  const Tensor dy = dense(grad), w = dense(weight);
  if (out->numel() > 0) {
    if (dy->numel() == 0 || w->numel() == 0) {
      fill_raw(out, Scalar(0.0));
    } else {
      EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
        conv_backward_input_kernel<T>(g, dy->data<T>(), w->data<T>(), out->data<T>());
      });
    }
  }
  if (GradMode::is_enabled() && (needs_grad(grad) || needs_grad(weight))) {
    auto node = std::make_shared<ConvBackwardInputNode>();
    set_history(node, {&grad, &weight}, out);
    node->grad = SavedTensor(grad, false);
    node->weight = SavedTensor(weight, false);
    node->input_shape = input_shape;
    node->params = p;
  }
  return out;
}

// <B_in(g, w), h> = <g, conv(h, w)> = <B_w(h, g), w>.
TensorList ConvBackwardInputNode::apply(TensorList&& grads) {
  TensorList out;
  out.resize(2);
  const Tensor& h = grads[0];
  if (!h) return out;
  const Tensor g = grad.unpack(*this), w = weight.unpack(*this);
  if (wants_grad(*this, 0)) out[0] = record_convolution(h, w, nullptr, params, &g->shape());
  if (wants_grad(*this, 1)) out[1] = convolution_backward_weight(h, g, w->shape(), params);
  return out;
}

Tensor convolution_backward_weight(const Tensor& input, const Tensor& grad,
                                   const Shape& weight_shape, const ConvParams& p) {
  require_same_dtype(grad, input);
  const ConvGeometry g = with_output(geometry(input->shape(), weight_shape, p), grad->shape());
  Tensor out = empty(weight_shape, grad->dtype());
  const Tensor x = dense(input), dy = dense(grad);
  if (out->numel() > 0) {
    if (dy->numel() == 0) {
      fill_raw(out, Scalar(0.0));
    } else {
      EMBER_DISPATCH_FLOAT(grad->dtype(), T, [&] {
        conv_backward_weight_kernel<T>(g, x->data<T>(), dy->data<T>(), out->data<T>());
      });
    }
  }
  if (GradMode::is_enabled() && (needs_grad(input) || needs_grad(grad))) {
    auto node = std::make_shared<ConvBackwardWeightNode>();
    set_history(node, {&input, &grad}, out);
    node->input = SavedTensor(input, false);
    node->grad = SavedTensor(grad, false);
    node->weight_shape = weight_shape;
    node->params = p;
  }
  return out;
}

// <B_w(x, g), k> = <g, conv(x, k)> = <B_in(g, k), x>.
TensorList ConvBackwardWeightNode::apply(TensorList&& grads) {
  TensorList out;
  out.resize(2);
  const Tensor& k = grads[0];
  if (!k) return out;
  const Tensor x = input.unpack(*this), g = grad.unpack(*this);
  if (wants_grad(*this, 0)) out[0] = convolution_backward_input(g, k, x->shape(), params);
  if (wants_grad(*this, 1)) out[1] = record_convolution(x, k, nullptr, params, &g->shape());
  return out;
}

}  // namespace ember
