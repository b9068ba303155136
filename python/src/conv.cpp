// Bindings of convolution and 2-d pooling (ember/ops/conv.h) and their node classes.

#include "ember/autograd/functions/conv.h"

#include "common.h"

namespace ember::bindings {
namespace {

// An int or a sequence of ints (torch's int[] arguments).
std::vector<int64_t> int_list(py::handle h) {
  if (PyLong_Check(h.ptr())) return {h.cast<int64_t>()};
  std::vector<int64_t> out;
  for (py::handle item : h) out.push_back(item.cast<int64_t>());
  return out;
}

Tensor optional_arg(py::handle h) { return h.is_none() ? nullptr : as_tensor(h); }

}  // namespace

void init_conv(py::module_& m) {
  bind_node<ConvolutionBackward0>(m, "ConvolutionBackward0");
  // Two C++ nodes share torch's name (one per gradient formula); the second
  // class lives in a submodule so both carry the name in Python too.
  bind_node<ConvBackwardInputNode>(m, "ConvolutionBackwardBackward0");
  py::module_ alt = m.def_submodule("_conv_nodes", "second classes of shared node names");
  bind_node<ConvBackwardWeightNode>(alt, "ConvolutionBackwardBackward0");
  py::module_ alt2 = m.def_submodule("_conv_transpose_nodes", "third class of a shared node name");
  bind_node<ConvTransposeInputGradNode>(alt2, "ConvolutionBackwardBackward0");
  bind_node<MaxPool2DWithIndicesBackward0>(m, "MaxPool2DWithIndicesBackward0");
  bind_node<MaxPool2DWithIndicesBackwardBackward0>(m, "MaxPool2DWithIndicesBackwardBackward0");
  bind_node<AvgPool2DBackward0>(m, "AvgPool2DBackward0");
  bind_node<AvgPool2DBackwardBackward0>(m, "AvgPool2DBackwardBackward0");
  bind_node<AdaptiveAvgPool2DBackward0>(m, "AdaptiveAvgPool2DBackward0");
  bind_node<AdaptiveAvgPool2DBackwardBackward0>(m, "AdaptiveAvgPool2DBackwardBackward0");
  bind_node<AdaptiveMaxPool2DBackward0>(m, "AdaptiveMaxPool2DBackward0");
  bind_node<AdaptiveMaxPool2DBackwardBackward0>(m, "AdaptiveMaxPool2DBackwardBackward0");
  bind_node<Im2ColBackward0>(m, "Im2ColBackward0");
  bind_node<Col2ImBackward0>(m, "Col2ImBackward0");

  m.def(
      "_convolution",
      [](const Tensor& input, const Tensor& weight, py::handle bias, py::handle stride,
         py::handle padding, py::handle dilation, int64_t groups, bool transposed,
         py::handle output_padding) {
        ConvParams p;
        p.stride = int_list(stride);
        p.padding = int_list(padding);
        p.dilation = int_list(dilation);
        p.groups = groups;
        p.transposed = transposed;
        p.output_padding = int_list(output_padding);
        const Tensor b = optional_arg(bias);
        MaybeReleaseGIL gil(input->numel() * std::max<int64_t>(weight->numel(), 1));
        return convolution(input, weight, b, p);
      },
      py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("stride"), py::arg("padding"),
      py::arg("dilation"), py::arg("groups"), py::arg("transposed") = false,
      py::arg("output_padding") = 0);
  m.def(
      "_max_pool2d_with_indices",
      [](const Tensor& input, py::handle kernel, py::handle stride, py::handle padding,
         py::handle dilation, bool ceil_mode) {
        PoolParams p;
        p.kernel = int_list(kernel);
        if (!stride.is_none()) p.stride = int_list(stride);
        p.padding = int_list(padding);
        p.dilation = int_list(dilation);
        p.ceil_mode = ceil_mode;
        MaybeReleaseGIL gil(input->numel());
        return max_pool2d_with_indices(input, p);
      },
      py::arg("input"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
      py::arg("dilation"), py::arg("ceil_mode"));
  m.def(
      "_avg_pool2d",
      [](const Tensor& input, py::handle kernel, py::handle stride, py::handle padding,
         bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
        PoolParams p;
        p.kernel = int_list(kernel);
        if (!stride.is_none()) p.stride = int_list(stride);
        p.padding = int_list(padding);
        p.ceil_mode = ceil_mode;
        p.count_include_pad = count_include_pad;
        p.divisor_override = divisor_override;
        MaybeReleaseGIL gil(input->numel());
        return avg_pool2d(input, p);
      },
      py::arg("input"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
      py::arg("ceil_mode"), py::arg("count_include_pad"), py::arg("divisor_override"));
  m.def(
      "_adaptive_max_pool2d",
      [](const Tensor& input, int64_t out_h, int64_t out_w) {
        MaybeReleaseGIL gil(input->numel());
        return adaptive_max_pool2d(input, out_h, out_w);
      },
      py::arg("input"), py::arg("out_h"), py::arg("out_w"));
  m.def(
      "_im2col",
      [](const Tensor& input, py::handle kernel, py::handle dilation, py::handle padding,
         py::handle stride) {
        FoldParams p{int_list(kernel), int_list(dilation), int_list(padding), int_list(stride)};
        MaybeReleaseGIL gil(input->numel());
        return im2col(input, p);
      },
      py::arg("input"), py::arg("kernel_size"), py::arg("dilation"), py::arg("padding"),
      py::arg("stride"));
  m.def(
      "_col2im",
      [](const Tensor& input, py::handle output_size, py::handle kernel, py::handle dilation,
         py::handle padding, py::handle stride) {
        const std::vector<int64_t> size = int_list(output_size);
        if (size.size() != 2) {
          throw std::runtime_error("It is expected output_size equals to 2, but got size " +
                                   std::to_string(size.size()));
        }
        FoldParams p{int_list(kernel), int_list(dilation), int_list(padding), int_list(stride)};
        MaybeReleaseGIL gil(input->numel());
        return col2im(input, size[0], size[1], p);
      },
      py::arg("input"), py::arg("output_size"), py::arg("kernel_size"), py::arg("dilation"),
      py::arg("padding"), py::arg("stride"));
  m.def(
      "_adaptive_avg_pool2d",
      [](const Tensor& input, int64_t out_h, int64_t out_w) {
        MaybeReleaseGIL gil(input->numel());
        return adaptive_avg_pool2d(input, out_h, out_w);
      },
      py::arg("input"), py::arg("out_h"), py::arg("out_w"));
}

}  // namespace ember::bindings
