// Convolution and pooling kernels against direct loops, and the gradient
// formulas against the adjoint identities they must satisfy.

#include "ember/kernels/conv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "ember/autograd/engine.h"
#include "ember/autograd/node.h"
#include "ember/kernels/conv_shifted_rows.h"
#include "ember/kernels/multiversion.h"
#include "ember/ops/conv.h"

namespace ember {
namespace {

std::vector<double> random_values(int64_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist;
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(gen);
  return v;
}

ConvGeometry make_geometry(int64_t batch, int64_t groups, int64_t c_in, int64_t h, int64_t w,
                           int64_t c_out, int64_t kh, int64_t kw, int64_t s, int64_t p, int64_t d) {
  ConvGeometry g;
  g.batch = batch, g.groups = groups, g.c_in = c_in, g.h = h, g.w = w;
  g.c_out = c_out, g.kh = kh, g.kw = kw;
  g.sh = g.sw = s, g.ph = g.pw = p, g.dh = g.dw = d;
  g.oh = (h + 2 * p - d * (kh - 1) - 1) / s + 1;
  g.ow = (w + 2 * p - d * (kw - 1) - 1) / s + 1;
  return g;
}

// The definition, one output at a time.
std::vector<double> direct_conv(const ConvGeometry& g, const std::vector<double>& x,
                                const std::vector<double>& w) {
  std::vector<double> out(static_cast<size_t>(g.batch * g.c_out * g.oh * g.ow), 0.0);
  const int64_t cig = g.c_in_group(), cog = g.c_out_group();
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t co = 0; co < g.c_out; ++co)
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          double acc = 0;
          const int64_t grp = co / cog;
          for (int64_t c = 0; c < cig; ++c)
            for (int64_t ki = 0; ki < g.kh; ++ki)
              for (int64_t kj = 0; kj < g.kw; ++kj) {
                const int64_t iy = oy * g.sh - g.ph + ki * g.dh;
                const int64_t ix = ox * g.sw - g.pw + kj * g.dw;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                acc += x[((n * g.c_in + grp * cig + c) * g.h + iy) * g.w + ix] *
                       w[((co * cig + c) * g.kh + ki) * g.kw + kj];
              }
          out[((n * g.c_out + co) * g.oh + oy) * g.ow + ox] = acc;
        }
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

class ConvKernels : public ::testing::TestWithParam<ConvGeometry> {};

TEST_P(ConvKernels, ForwardMatchesDefinitionAndBackwardIsItsAdjoint) {
  const ConvGeometry g = GetParam();
  const int64_t nx = g.batch * g.c_in * g.h * g.w;
  const int64_t nw = g.c_out * g.patch();
  const int64_t ny = g.batch * g.c_out * g.oh * g.ow;
  const std::vector<double> x = random_values(nx, 1), w = random_values(nw, 2);
  const std::vector<double> gy = random_values(ny, 3);
  std::vector<double> y(static_cast<size_t>(ny)), gx(static_cast<size_t>(nx));
  std::vector<double> gw(static_cast<size_t>(nw));
  conv_forward_kernel<double>(g, x.data(), w.data(), nullptr, y.data());
  const std::vector<double> want = direct_conv(g, x, w);
  for (int64_t i = 0; i < ny; ++i) EXPECT_NEAR(y[i], want[i], 1e-12);
  // <grad_in(gy, w), x> = <gy, conv(x, w)> = <grad_weight(x, gy), w>
  conv_backward_input_kernel<double>(g, gy.data(), w.data(), gx.data());
  conv_backward_weight_kernel<double>(g, x.data(), gy.data(), gw.data());
  const double reference = dot(gy, want);
  EXPECT_NEAR(dot(gx, x), reference, 1e-9 * (1 + std::abs(reference)));
  EXPECT_NEAR(dot(gw, w), reference, 1e-9 * (1 + std::abs(reference)));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvKernels,
    ::testing::Values(make_geometry(2, 1, 3, 7, 6, 4, 3, 3, 1, 0, 1),
                      make_geometry(3, 2, 4, 9, 8, 6, 3, 2, 2, 1, 2),
                      make_geometry(1, 4, 4, 5, 5, 8, 1, 1, 1, 0, 1),        // 1x1: no gather
                      make_geometry(20, 1, 2, 6, 6, 3, 3, 3, 1, 1, 1),       // several blocks
                      make_geometry(2, 1, 32, 12, 12, 64, 3, 3, 1, 0, 1)));  // BLAS threads

std::vector<float> as_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

// The float unit-stride kernels (Note [Convolution by shifted rows]) against
// the double ones, which gather a column matrix; the geometries give every
// tile shape a channel remainder, padding, dilation and a batch whose last
// sample's planes end the buffer.
class ShiftedRows : public ::testing::TestWithParam<ConvGeometry> {};

TEST_P(ShiftedRows, MatchTheColumnMatrixKernels) {
  const ConvGeometry g = GetParam();
  if (!cpu_has_avx512()) GTEST_SKIP() << "the shifted-rows kernels need AVX-512";
  ASSERT_TRUE(shifted_rows_forward_applies(g));
  ASSERT_TRUE(shifted_rows_input_grad_applies(g));
  ASSERT_TRUE(shifted_rows_weight_grad_applies(g));
  const int64_t nx = g.batch * g.c_in * g.h * g.w, nw = g.c_out * g.patch();
  const int64_t ny = g.batch * g.c_out * g.oh * g.ow;
  const std::vector<double> x = random_values(nx, 4), w = random_values(nw, 5);
  const std::vector<double> gy = random_values(ny, 6), b = random_values(g.c_out, 7);
  std::vector<double> y(ny), gx(nx), gw(nw);
  conv_forward_kernel<double>(g, x.data(), w.data(), b.data(), y.data());
  conv_backward_input_kernel<double>(g, gy.data(), w.data(), gx.data());
  conv_backward_weight_kernel<double>(g, x.data(), gy.data(), gw.data());
  const std::vector<float> xf = as_float(x), wf = as_float(w), gyf = as_float(gy), bf = as_float(b);
  std::vector<float> yf(ny), gxf(nx), gwf(nw);
  conv_forward_kernel<float>(g, xf.data(), wf.data(), bf.data(), yf.data());
  conv_backward_input_kernel<float>(g, gyf.data(), wf.data(), gxf.data());
  conv_backward_weight_kernel<float>(g, xf.data(), gyf.data(), gwf.data());
  // Float sums of up to a few thousand unit-variance products.
  for (int64_t i = 0; i < ny; ++i) EXPECT_NEAR(yf[i], y[i], 1e-4 * (1 + std::abs(y[i])));
  for (int64_t i = 0; i < nx; ++i) EXPECT_NEAR(gxf[i], gx[i], 1e-4 * (1 + std::abs(gx[i])));
  for (int64_t i = 0; i < nw; ++i) EXPECT_NEAR(gwf[i], gw[i], 1e-3 * (1 + std::abs(gw[i])));
}

INSTANTIATE_TEST_SUITE_P(Shapes, ShiftedRows,
                         ::testing::Values(make_geometry(3, 1, 4, 12, 20, 5, 3, 3, 1, 0, 1),
                                           make_geometry(2, 1, 8, 9, 33, 13, 3, 3, 1, 1, 1),
                                           make_geometry(1, 1, 6, 11, 40, 9, 3, 3, 1, 2, 2),
                                           make_geometry(2, 1, 3, 17, 17, 8, 5, 5, 1, 2, 1),
                                           make_geometry(4, 1, 16, 10, 24, 32, 3, 3, 1, 0, 1)));

TEST(ConvOps, GradientsFlowThroughTheGraph) {
  Tensor x = randn(Shape{2, 3, 6, 6}, DType::Float64);
  Tensor w = randn(Shape{4, 3, 3, 3}, DType::Float64);
  Tensor b = randn(Shape{4}, DType::Float64);
  for (const Tensor* t : {&x, &w, &b}) (*t)->set_requires_grad(true);
  ConvParams p;
  p.padding = {1};
  Tensor y = convolution(x, w, b, p);
  EXPECT_STREQ(y->grad_fn()->name(), "ConvolutionBackward0");
  Engine::backward({sum(y)}, {}, false, false);
  // d sum(y) / d b[c] = number of outputs per channel.
  for (int64_t c = 0; c < 4; ++c) EXPECT_DOUBLE_EQ(element_as_double(b->grad(), c), 2.0 * 36);
  EXPECT_EQ(x->grad()->shape(), x->shape());
  EXPECT_EQ(w->grad()->shape(), w->shape());
}

TEST(ConvOps, ChecksNameTheShapes) {
  ConvParams p;
  try {
    convolution(randn(Shape{2, 3, 8, 8}), randn(Shape{4, 2, 3, 3}), nullptr, p);
    FAIL() << "expected a channel mismatch";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "Given groups=1, weight of size [4, 2, 3, 3], expected input[2, 3, 8, 8] to have "
                 "2 channels, but got 3 channels instead");
  }
  EXPECT_THROW(convolution(randn(Shape{1, 1, 2, 2}), randn(Shape{1, 1, 3, 3}), nullptr, p),
               std::runtime_error);
}

TEST(PoolKernels, MaxPoolPicksTorchsIndices) {
  // Ties keep the first position; a NaN wins over everything after it.
  const double nan = std::nan("");
  std::vector<double> x = {1, 1, 0, nan, 2, 5, 2, 0, 5};
  PoolGeometry g;
  g.planes = 1, g.h = 3, g.w = 3, g.oh = 2, g.ow = 2, g.kh = 2, g.kw = 2;
  std::vector<double> out(4);
  std::vector<int64_t> idx(4);
  max_pool2d_kernel<double>(g, x.data(), out.data(), idx.data());
  EXPECT_EQ(idx, (std::vector<int64_t>{3, 5, 3, 5}));
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 5.0);
}

TEST(PoolKernels, AvgPoolBackwardIsAdjoint) {
  PoolGeometry g;
  g.planes = 3, g.h = 7, g.w = 6, g.kh = 3, g.kw = 2, g.sh = 2, g.sw = 2, g.ph = 1, g.pw = 1;
  g.oh = 4, g.ow = 4, g.count_include_pad = false;
  const std::vector<double> x = random_values(3 * 7 * 6, 4), gy = random_values(3 * 4 * 4, 5);
  std::vector<double> y(gy.size()), gx(x.size());
  avg_pool2d_kernel<double>(g, x.data(), y.data());
  avg_pool2d_backward_kernel<double>(g, gy.data(), gx.data());
  EXPECT_NEAR(dot(gx, x), dot(gy, y), 1e-12);
  adaptive_avg_pool2d_kernel<double>(g, x.data(), y.data());
  adaptive_avg_pool2d_backward_kernel<double>(g, gy.data(), gx.data());
  EXPECT_NEAR(dot(gx, x), dot(gy, y), 1e-12);
}

}  // namespace
}  // namespace ember
