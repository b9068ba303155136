// Bindings of upsampling (ember/ops/upsample.h), the layer ops of
// ember/ops/layers.h and their node classes.

#include "ember/autograd/functions/upsample.h"

#include "common.h"
#include "ember/autograd/functions/layers.h"

namespace ember::bindings {
namespace {

UpsampleParams params_of(const std::vector<int64_t>& output_size,
                         const std::vector<std::optional<double>>& scales, bool align_corners,
                         UpsampleMode mode) {
  UpsampleParams p;
  p.mode = mode;
  p.output_size = output_size;
  p.scales = scales;
  p.align_corners = align_corners;
  return p;
}

}  // namespace

void init_upsample(py::module_& m) {
  bind_node<UpsampleBackwardNode<kNearest1D>>(m, "UpsampleNearest1DBackward0");
  bind_node<UpsampleBackwardNode<kNearest2D>>(m, "UpsampleNearest2DBackward0");
  bind_node<UpsampleBackwardNode<kLinear1D>>(m, "UpsampleLinear1DBackward0");
  bind_node<UpsampleBackwardNode<kBilinear2D>>(m, "UpsampleBilinear2DBackward0");
  bind_node<UpsampleBackwardBackwardNode<kNearest1D>>(m, "UpsampleNearest1DBackwardBackward0");
  bind_node<UpsampleBackwardBackwardNode<kNearest2D>>(m, "UpsampleNearest2DBackwardBackward0");
  bind_node<UpsampleBackwardBackwardNode<kLinear1D>>(m, "UpsampleLinear1DBackwardBackward0");
  bind_node<UpsampleBackwardBackwardNode<kBilinear2D>>(m, "UpsampleBilinear2DBackwardBackward0");

  bind_node<PixelShuffleBackward0>(m, "PixelShuffleBackward0");
  bind_node<PixelUnshuffleBackward0>(m, "PixelUnshuffleBackward0");
  bind_node<PreluKernelBackward0>(m, "PreluKernelBackward0");

  m.def(
      "_pixel_shuffle",
      [](const Tensor& input, int64_t upscale_factor) {
        MaybeReleaseGIL gil(input->numel());
        return pixel_shuffle(input, upscale_factor);
      },
      py::arg("input"), py::arg("upscale_factor"));
  m.def(
      "_pixel_unshuffle",
      [](const Tensor& input, int64_t downscale_factor) {
        MaybeReleaseGIL gil(input->numel());
        return pixel_unshuffle(input, downscale_factor);
      },
      py::arg("input"), py::arg("downscale_factor"));
  m.def(
      "_prelu_kernel",
      [](const Tensor& input, const Tensor& weight) {
        MaybeReleaseGIL gil(input->numel());
        return prelu_kernel(input, weight);
      },
      py::arg("input"), py::arg("weight"));
  m.def(
      "_upsample_nearest",
      [](const Tensor& input, const std::vector<int64_t>& output_size,
         const std::vector<std::optional<double>>& scales) {
        MaybeReleaseGIL gil(input->numel());
        return upsample(input, params_of(output_size, scales, false, UpsampleMode::Nearest));
      },
      py::arg("input"), py::arg("output_size"), py::arg("scales"));
  m.def(
      "_upsample_linear",
      [](const Tensor& input, const std::vector<int64_t>& output_size, bool align_corners,
         const std::vector<std::optional<double>>& scales) {
        MaybeReleaseGIL gil(input->numel());
        return upsample(input, params_of(output_size, scales, align_corners, UpsampleMode::Linear));
      },
      py::arg("input"), py::arg("output_size"), py::arg("align_corners"), py::arg("scales"));
}

}  // namespace ember::bindings
