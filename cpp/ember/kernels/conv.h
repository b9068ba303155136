#pragma once
// Raw convolution and 2-d pooling loops on contiguous buffers (no autograd).
// See Note [Convolution as GEMM] in conv.cpp.

#include <cstdint>

namespace ember {

// One convolution's sizes. 1-d convolutions use h = kh = oh = 1 (and unit
// stride, zero padding and unit dilation along that dim), so one set of loops
// serves both ranks.
struct ConvGeometry {
  int64_t batch = 0, groups = 1;
  int64_t c_in = 0, h = 1, w = 0;     // input channels and spatial size
  int64_t c_out = 0, kh = 1, kw = 0;  // weight: (c_out, c_in / groups, kh, kw)
  int64_t oh = 1, ow = 0;             // output spatial size
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;

  int64_t in_plane() const { return h * w; }
  int64_t out_plane() const { return oh * ow; }
  int64_t c_in_group() const { return c_in / groups; }
  int64_t c_out_group() const { return c_out / groups; }
  // Rows of the column matrix of one group: one per (channel, kernel tap).
  int64_t patch() const { return c_in_group() * kh * kw; }
};

// out (batch, c_out, oh, ow) = conv(in, weight) (+ bias[c] when bias != null).
template <typename T>
void conv_forward_kernel(const ConvGeometry& g, const T* in, const T* weight, const T* bias,
                         T* out);
// grad_in (batch, c_in, h, w) = the adjoint of the convolution in its input,
// applied to grad_out (a transposed convolution).
template <typename T>
void conv_backward_input_kernel(const ConvGeometry& g, const T* grad_out, const T* weight,
                                T* grad_in);
// grad_weight (c_out, c_in / groups, kh, kw) = the adjoint in the weight.
template <typename T>
void conv_backward_weight_kernel(const ConvGeometry& g, const T* in, const T* grad_out,
                                 T* grad_weight);

// grad_bias[c] = the sum of grad_out (batch, channels, plane) over batch and plane.
template <typename T>
void conv_bias_grad_kernel(const T* grad_out, int64_t batch, int64_t channels, int64_t plane,
                           T* grad_bias);

// cols (batch, c_in*kh*kw, oh*ow) = every input value each kernel tap sees
// (torch's im2col; groups must be 1), and its adjoint: out (batch, c_in, h, w)
// = the sum of cols back where im2col read them (col2im).
template <typename T>
void unfold_kernel(const ConvGeometry& g, const T* in, T* cols);
template <typename T>
void fold_kernel(const ConvGeometry& g, const T* cols, T* out);

// out (batch, channels, plane) += bias[c] along the channels.
template <typename T>
void conv_add_bias_kernel(const T* bias, int64_t batch, int64_t channels, int64_t plane, T* out);

// 2-d pooling over `planes` independent (h, w) planes.
struct PoolGeometry {
  int64_t planes = 0, h = 0, w = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool count_include_pad = true;
  int64_t divisor_override = 0;  // 0: none
};

// Max over each window; indices are flat positions within the input plane.
template <typename T>
void max_pool2d_kernel(const PoolGeometry& g, const T* in, T* out, int64_t* indices);
// grad_in (zeroed here) += grad_out at the recorded positions.
template <typename T>
void max_pool2d_backward_kernel(const PoolGeometry& g, const T* grad_out, const int64_t* indices,
                                T* grad_in);
// torch's avg_pool2d windows and divisors (no dilation).
template <typename T>
void avg_pool2d_kernel(const PoolGeometry& g, const T* in, T* out);
template <typename T>
void avg_pool2d_backward_kernel(const PoolGeometry& g, const T* grad_out, T* grad_in);
// Max over adaptive windows (as below); indices are flat positions within the
// input plane, read back by max_pool2d_backward_kernel.
template <typename T>
void adaptive_max_pool2d_kernel(const PoolGeometry& g, const T* in, T* out, int64_t* indices);
// Adaptive windows [floor(i*h/oh), ceil((i+1)*h/oh)); only planes/h/w/oh/ow are read.
template <typename T>
void adaptive_avg_pool2d_kernel(const PoolGeometry& g, const T* in, T* out);
template <typename T>
void adaptive_avg_pool2d_backward_kernel(const PoolGeometry& g, const T* grad_out, T* grad_in);

}  // namespace ember
