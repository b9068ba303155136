#pragma once
// Raw upsampling loops (nearest and linear) on contiguous planes, no autograd.
// See Note [Upsampling indices] in upsample.cpp.

#include <cstdint>
#include <optional>

namespace ember {

// `planes` independent (h, w) planes resized to (oh, ow). A 1-d resize has
// h = oh = 1. scale_h/scale_w are the user's scale factors, when given: torch
// maps output to input positions through them rather than through the sizes.
struct UpsampleGeometry {
  int64_t planes = 0, h = 1, w = 0, oh = 1, ow = 0;
  std::optional<double> scale_h, scale_w;
  bool align_corners = false;
};

template <typename T>
void upsample_nearest_kernel(const UpsampleGeometry& g, const T* in, T* out);
// grad_in (zeroed here) gathers each output's gradient at the input it copied.
template <typename T>
void upsample_nearest_backward_kernel(const UpsampleGeometry& g, const T* grad_out, T* grad_in);

// Linear along w, and along h too unless the height stays 1 (then it is
// torch's 1-d linear mode).
template <typename T>
void upsample_linear_kernel(const UpsampleGeometry& g, const T* in, T* out);
template <typename T>
void upsample_linear_backward_kernel(const UpsampleGeometry& g, const T* grad_out, T* grad_in);

}  // namespace ember
