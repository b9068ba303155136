// Transposed convolution, upsampling, fold/unfold, adaptive max pooling and
// pixel shuffle: kernels against direct loops and adjoint identities, ops
// against their checks and node names.

#include "ember/ops/layers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ember/autograd/engine.h"
#include "ember/autograd/node.h"
#include "ember/kernels/conv.h"
#include "ember/kernels/upsample.h"
#include "ember/ops/conv.h"
#include "ember/ops/upsample.h"

namespace ember {
namespace {

std::vector<double> random_values(int64_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist;
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(gen);
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

Tensor from_values(const std::vector<double>& v, const Shape& shape) {
  Tensor t = empty(shape, DType::Float64);
  std::copy(v.begin(), v.end(), t->data<double>());
  return t;
}

std::vector<double> values_of(const Tensor& t) {
  const Tensor c = contiguous(t);
  return std::vector<double>(c->data<double>(), c->data<double>() + c->numel());
}

// The transposed convolution by its definition: every input value scatters
// weight-scaled copies to the outputs its taps reach.
std::vector<double> direct_conv_transpose(const std::vector<double>& x, const Shape& xs,
                                          const std::vector<double>& w, const Shape& ws,
                                          const Shape& ys, int64_t stride, int64_t pad, int64_t dil,
                                          int64_t groups) {
  std::vector<double> y(static_cast<size_t>(numel_of(ys)), 0.0);
  const int64_t cig = xs[1] / groups, cog = ws[1];
  for (int64_t n = 0; n < xs[0]; ++n)
    for (int64_t ci = 0; ci < xs[1]; ++ci)
      for (int64_t iy = 0; iy < xs[2]; ++iy)
        for (int64_t ix = 0; ix < xs[3]; ++ix)
          for (int64_t co = 0; co < cog; ++co)
            for (int64_t ki = 0; ki < ws[2]; ++ki)
              for (int64_t kj = 0; kj < ws[3]; ++kj) {
                const int64_t oy = iy * stride - pad + ki * dil;
                const int64_t ox = ix * stride - pad + kj * dil;
                if (oy < 0 || oy >= ys[2] || ox < 0 || ox >= ys[3]) continue;
                const int64_t c = (ci / cig) * cog + co;
                y[((n * ys[1] + c) * ys[2] + oy) * ys[3] + ox] +=
                    x[((n * xs[1] + ci) * xs[2] + iy) * xs[3] + ix] *
                    w[((ci * cog + co) * ws[2] + ki) * ws[3] + kj];
              }
  return y;
}

struct TransposeCase {
  int64_t stride, pad, out_pad, dil, groups;
};

class ConvTransposeOp : public ::testing::TestWithParam<TransposeCase> {};

TEST_P(ConvTransposeOp, MatchesDefinitionAndGradientsAreAdjoints) {
  const TransposeCase c = GetParam();
  const Shape xs{2, 4, 4, 5}, ws{4, 6 / c.groups, 3, 2};
  const std::vector<double> xv = random_values(numel_of(xs), 1),
                            wv = random_values(numel_of(ws), 2);
  Tensor x = from_values(xv, xs), w = from_values(wv, ws);
  x->set_requires_grad(true);
  w->set_requires_grad(true);
  ConvParams p;
  p.stride = {c.stride}, p.padding = {c.pad}, p.output_padding = {c.out_pad};
  p.dilation = {c.dil}, p.groups = c.groups, p.transposed = true;
  Tensor y = convolution(x, w, nullptr, p);
  EXPECT_STREQ(y->grad_fn()->name(), "ConvolutionBackward0");
  const std::vector<double> want =
      direct_conv_transpose(xv, xs, wv, ws, y->shape(), c.stride, c.pad, c.dil, c.groups);
  const std::vector<double> got = values_of(y);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12);
  // y is bilinear in (x, w): <dL/dx, x> = <dL/dw, w> = <g, y> for L = <g, y>.
  const std::vector<double> gv = random_values(y->numel(), 3);
  Engine::backward({y}, {from_values(gv, y->shape())}, false, false);
  const double reference = dot(gv, want);
  EXPECT_NEAR(dot(values_of(x->grad()), xv), reference, 1e-9 * (1 + std::abs(reference)));
  EXPECT_NEAR(dot(values_of(w->grad()), wv), reference, 1e-9 * (1 + std::abs(reference)));
}

INSTANTIATE_TEST_SUITE_P(Params, ConvTransposeOp,
                         ::testing::Values(TransposeCase{1, 0, 0, 1, 1},
                                           TransposeCase{2, 1, 1, 1, 1},
                                           TransposeCase{3, 0, 2, 1, 2},
                                           TransposeCase{1, 1, 1, 2, 1},
                                           TransposeCase{2, 2, 0, 2, 2}));

TEST(ConvTransposeOp, ChecksOutputPadding) {
  ConvParams p;
  p.transposed = true;
  p.output_padding = {1};
  try {
    convolution(randn(Shape{1, 2, 3, 3}), randn(Shape{2, 2, 3, 3}), nullptr, p);
    FAIL() << "expected an output padding error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "output padding must be smaller than either stride or dilation, but got "
                 "output_padding_height: 1 output_padding_width: 1 stride_height: 1 "
                 "stride_width: 1 dilation_height: 1 dilation_width: 1");
  }
}

// Upsampling is linear: its backward kernel must be its adjoint.
struct UpsampleCase {
  bool linear, align;
  int64_t h, w, oh, ow;
};

class UpsampleKernels : public ::testing::TestWithParam<UpsampleCase> {};

TEST_P(UpsampleKernels, BackwardIsAdjoint) {
  const UpsampleCase c = GetParam();
  UpsampleGeometry g;
  g.planes = 3, g.h = c.h, g.w = c.w, g.oh = c.oh, g.ow = c.ow, g.align_corners = c.align;
  const std::vector<double> x = random_values(3 * c.h * c.w, 4);
  const std::vector<double> gy = random_values(3 * c.oh * c.ow, 5);
  std::vector<double> y(gy.size()), gx(x.size());
  if (c.linear) {
    upsample_linear_kernel<double>(g, x.data(), y.data());
    upsample_linear_backward_kernel<double>(g, gy.data(), gx.data());
  } else {
    upsample_nearest_kernel<double>(g, x.data(), y.data());
    upsample_nearest_backward_kernel<double>(g, gy.data(), gx.data());
  }
  EXPECT_NEAR(dot(gx, x), dot(gy, y), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Shapes, UpsampleKernels,
                         ::testing::Values(UpsampleCase{false, false, 4, 5, 8, 10},
                                           UpsampleCase{false, false, 5, 7, 3, 11},
                                           UpsampleCase{true, false, 4, 5, 9, 3},
                                           UpsampleCase{true, true, 4, 5, 9, 3},
                                           UpsampleCase{true, true, 1, 6, 1, 13},
                                           UpsampleCase{true, false, 1, 1, 4, 4}));

TEST(UpsampleKernels, BilinearCornersAndCentresAreExact) {
  // align_corners keeps the corners; a 2x2 -> 3x3 resize puts the mean at the centre.
  UpsampleGeometry g;
  g.planes = 1, g.h = 2, g.w = 2, g.oh = 3, g.ow = 3, g.align_corners = true;
  const std::vector<double> x = {1, 2, 3, 4};
  std::vector<double> y(9);
  upsample_linear_kernel<double>(g, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<double>{1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}));
  g.align_corners = false, g.oh = 4, g.ow = 4;
  std::vector<double> z(16);
  upsample_nearest_kernel<double>(g, x.data(), z.data());
  EXPECT_EQ(z, (std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(UpsampleOps, NodesAndSizeChecks) {
  Tensor x = randn(Shape{1, 2, 3, 4}, DType::Float64);
  x->set_requires_grad(true);
  UpsampleParams p;
  p.mode = UpsampleMode::Linear;
  p.output_size = {5, 6};
  EXPECT_STREQ(upsample(x, p)->grad_fn()->name(), "UpsampleBilinear2DBackward0");
  p.mode = UpsampleMode::Nearest;
  EXPECT_STREQ(upsample(x, p)->grad_fn()->name(), "UpsampleNearest2DBackward0");
  p.output_size = {0, 6};
  EXPECT_THROW(upsample(x, p), std::runtime_error);
}

TEST(FoldKernels, FoldIsTheAdjointOfUnfold) {
  ConvGeometry g;
  g.batch = 2, g.c_in = 3, g.c_out = 3, g.h = 6, g.w = 7, g.kh = 3, g.kw = 2;
  g.sh = 2, g.sw = 1, g.ph = 1, g.pw = 0, g.dh = 1, g.dw = 2;
  g.oh = (g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
  g.ow = (g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
  const int64_t n_in = g.batch * g.c_in * g.h * g.w, n_cols = g.batch * g.patch() * g.out_plane();
  const std::vector<double> x = random_values(n_in, 6), c = random_values(n_cols, 7);
  std::vector<double> cols(static_cast<size_t>(n_cols)), back(static_cast<size_t>(n_in));
  unfold_kernel<double>(g, x.data(), cols.data());
  fold_kernel<double>(g, c.data(), back.data());
  EXPECT_NEAR(dot(cols, c), dot(back, x), 1e-12);
}

TEST(PoolKernels, AdaptiveMaxPoolPicksTorchsIndices) {
  // Windows of a 1x5 plane into 3: [0, 2), [1, 4), [3, 5); the NaN wins its windows.
  const double nan = std::nan("");
  std::vector<double> x = {3, 1, 4, nan, 5};
  PoolGeometry g;
  g.planes = 1, g.h = 1, g.w = 5, g.oh = 1, g.ow = 3;
  std::vector<double> out(3);
  std::vector<int64_t> idx(3);
  adaptive_max_pool2d_kernel<double>(g, x.data(), out.data(), idx.data());
  EXPECT_EQ(idx, (std::vector<int64_t>{0, 3, 3}));
  EXPECT_EQ(out[0], 3.0);
  EXPECT_TRUE(std::isnan(out[1]));
}

TEST(PixelShuffleOps, UnshuffleUndoesShuffle) {
  Tensor x = randn(Shape{2, 8, 3, 5}, DType::Float64);
  Tensor y = pixel_shuffle(x, 2);
  EXPECT_EQ(y->shape(), (Shape{2, 2, 6, 10}));
  EXPECT_EQ(values_of(pixel_unshuffle(y, 2)), values_of(x));
  // out[c, h*r + i, w*r + j] = in[c*r*r + i*r + j, h, w]
  EXPECT_EQ(element_as_double(y, ((1 * 2 + 1) * 6 + 3) * 10 + 4),
            element_as_double(x, ((1 * 8 + 4 + 2 + 0) * 3 + 1) * 5 + 2));
}

}  // namespace
}  // namespace ember
