// F.unfold / F.fold (im2col and col2im): torch's checks and messages, the
// kernels of kernels/conv.cpp, and each one's adjoint as the other's backward.

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

// torch's message for a dtype its kernel refuses, naming the kernel; float16
// and bfloat16 (which torch computes) get Ember's own message at dispatch.
void refuse_non_float(const Tensor& t, const char* kernel) {
  if (!is_floating(t->dtype())) {
    throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for '" +
                              scalar_type_name(t->dtype()) + "'");
  }
}

std::string pair_str(const std::vector<int64_t>& v) {
  return "(" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ")";
}

void check_pair(const std::vector<int64_t>& v, const char* name) {
  if (v.size() != 2) {
    throw std::runtime_error(std::string("It is expected ") + name + " equals to 2, but got size " +
                             std::to_string(v.size()));
  }
}

// torch's col2im/im2col argument checks, in its order.
void check_fold_params(const FoldParams& p) {
  check_pair(p.kernel, "kernel_size");
  check_pair(p.dilation, "dilation");
  check_pair(p.padding, "padding");
  check_pair(p.stride, "stride");
  if (p.kernel[0] <= 0 || p.kernel[1] <= 0) {
    throw std::runtime_error("kernel size should be greater than zero, but got kernel_height: " +
                             std::to_string(p.kernel[0]) +
                             " kernel_width: " + std::to_string(p.kernel[1]));
  }
  if (p.stride[0] <= 0 || p.stride[1] <= 0) {
    throw std::runtime_error("stride should be greater than zero, but got stride_height: " +
                             std::to_string(p.stride[0]) +
                             " stride_width: " + std::to_string(p.stride[1]));
  }
  if (p.dilation[0] <= 0 || p.dilation[1] <= 0) {
    throw std::runtime_error("dilation should be greater than zero, but got dilation_height: " +
                             std::to_string(p.dilation[0]) +
                             " dilation_width: " + std::to_string(p.dilation[1]));
  }
  if (p.padding[0] < 0 || p.padding[1] < 0) {
    throw std::runtime_error(
        "padding should be non-negative, but got pad_height: " + std::to_string(p.padding[0]) +
        " pad_width: " + std::to_string(p.padding[1]));
  }
}

int64_t blocks_along(int64_t size, int64_t k, int64_t d, int64_t pad, int64_t s) {
  return (size + 2 * pad - d * (k - 1) - 1) / s + 1;
}

// The convolution geometry whose column matrix im2col builds (one group).
ConvGeometry window_geometry(int64_t batch, int64_t channels, int64_t h, int64_t w,
                             const FoldParams& p) {
  ConvGeometry g;
  g.batch = batch, g.groups = 1, g.c_in = channels, g.c_out = channels;
  g.h = h, g.w = w, g.kh = p.kernel[0], g.kw = p.kernel[1];
  g.sh = p.stride[0], g.sw = p.stride[1], g.ph = p.padding[0], g.pw = p.padding[1];
  g.dh = p.dilation[0], g.dw = p.dilation[1];
  g.oh = blocks_along(h, g.kh, g.dh, g.ph, g.sh);
  g.ow = blocks_along(w, g.kw, g.dw, g.pw, g.sw);
  return g;
}

std::string fold_sizes(const FoldParams& p) {
  return "kernel_size=" + pair_str(p.kernel) + ", dilation=" + pair_str(p.dilation) +
         ", padding=" + pair_str(p.padding) + ", stride=" + pair_str(p.stride);
}

}  // namespace

Tensor im2col(const Tensor& input, const FoldParams& params) {
  check_fold_params(params);
  const int64_t dim = input->dim();
  const Shape& s = input->shape();
  const bool valid = (dim == 3 && s[0] != 0 && s[1] != 0 && s[2] != 0) ||
                     (dim == 4 && s[1] != 0 && s[2] != 0 && s[3] != 0);
  if (!valid) {
    throw std::runtime_error(
        "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
        "dimensions for input, but got: " +
        shape_str(s));
  }
  const bool batched = dim == 4;
  const int64_t batch = batched ? s[0] : 1, channels = s[dim - 3];
  const ConvGeometry g = window_geometry(batch, channels, s[dim - 2], s[dim - 1], params);
  if (g.oh < 1 || g.ow < 1) {
    throw std::runtime_error(
        "Given input with spatial size (" + std::to_string(g.h) + ", " + std::to_string(g.w) +
        "), " + "kernel_size=" + pair_str(params.kernel) +
        ", dilation=" + pair_str(params.dilation) + ", padding=" + pair_str(params.padding) +
        ", calculated shape of the array of sliding blocks as (" + std::to_string(g.oh) + ", " +
        std::to_string(g.ow) + "), but its components must be at least one.");
  }
  refuse_non_float(input, "im2col_out_cpu");
  Shape out_shape{g.patch(), g.out_plane()};
  if (batched) out_shape = Shape{batch, g.patch(), g.out_plane()};
  Tensor out = empty(out_shape, input->dtype());
  const Tensor x = dense(input);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(input->dtype(), T,
                         [&] { unfold_kernel<T>(g, x->data<T>(), out->data<T>()); });
  }
  if (any_requires_grad(input)) {
    auto node = std::make_shared<Im2ColBackward0>();
    set_history(node, {&input}, out);
    node->h = g.h, node->w = g.w;
    node->params = params;
  }
  linear_tangent(out, input, [&](const Tensor& t) { return im2col(t, params); });
  return out;
}

TensorList Im2ColBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {col2im(grads[0], h, w, params)};
}

Tensor col2im(const Tensor& input, int64_t out_h, int64_t out_w, const FoldParams& params) {
  check_fold_params(params);
  const int64_t dim = input->dim();
  const Shape& s = input->shape();
  const bool valid = (dim == 2 && s[0] != 0 && s[1] != 0) || (dim == 3 && s[1] != 0 && s[2] != 0);
  if (!valid) {
    throw std::runtime_error(
        "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
        "dimensions for input, but got: " +
        shape_str(s));
  }
  const bool batched = dim == 3;
  const int64_t rows = s[dim - 2], columns = s[dim - 1];
  const int64_t taps = params.kernel[0] * params.kernel[1];
  if (rows % taps != 0) {
    throw std::runtime_error("Expected size of input's dimension " + std::to_string(dim - 2) +
                             " to be divisible by the product of kernel_size, but got input.size(" +
                             std::to_string(dim - 2) + ")=" + std::to_string(rows) +
                             " and kernel_size=" + pair_str(params.kernel) + ".");
  }
  const int64_t batch = batched ? s[0] : 1;
  const ConvGeometry g = window_geometry(batch, rows / taps, out_h, out_w, params);
  const std::string sizes = "Given output_size=(" + std::to_string(out_h) + ", " +
                            std::to_string(out_w) + "), " + fold_sizes(params);
  if (g.oh < 1 || g.ow < 1) {
    throw std::runtime_error(sizes + ", calculated shape of the array of sliding blocks as (" +
                             std::to_string(g.oh) + ", " + std::to_string(g.ow) +
                             "), which is too small (non-positive)");
  }
  if (g.out_plane() != columns) {
    throw std::runtime_error(
        sizes + ", expected size of input's dimension " + std::to_string(dim - 1) +
        " to match the calculated number of sliding blocks " + std::to_string(g.oh) + " * " +
        std::to_string(g.ow) + " = " + std::to_string(g.out_plane()) + ", but got input.size(" +
        std::to_string(dim - 1) + ")=" + std::to_string(columns) + ".");
  }
  refuse_non_float(input, "col2im_out_cpu");
  Shape out_shape{g.c_in, out_h, out_w};
  if (batched) out_shape = Shape{batch, g.c_in, out_h, out_w};
  Tensor out = empty(out_shape, input->dtype());
  const Tensor cols = dense(input);
  if (out->numel() > 0) {
    EMBER_DISPATCH_FLOAT(input->dtype(), T,
                         [&] { fold_kernel<T>(g, cols->data<T>(), out->data<T>()); });
  }
  if (any_requires_grad(input)) {
    auto node = std::make_shared<Col2ImBackward0>();
    set_history(node, {&input}, out);
    node->params = params;
  }
  linear_tangent(out, input, [&](const Tensor& t) { return col2im(t, out_h, out_w, params); });
  return out;
}

TensorList Col2ImBackward0::apply(TensorList&& grads) {
  if (!grads[0]) return {Tensor()};
  return {im2col(grads[0], params)};
}

}  // namespace ember
