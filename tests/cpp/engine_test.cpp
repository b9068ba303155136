// The backward engine on small graphs with known gradients.

#include "ember/autograd/engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ember/autograd/node.h"
#include "ember/ops.h"

namespace ember {
namespace {

Tensor leaf(double v) {
  Tensor t = scalar_tensor(v);
  t->set_requires_grad(true);
  return t;
}

double grad_of(const Tensor& t) { return item_as_double(t->grad()); }

TEST(Engine, ChainRuleOnTutorialExample) {
  // y = (x*w + b)^2 with x=2, w=3, b=1: dy/dw = 2*7*2 = 28, dy/db = 14.
  Tensor x = scalar_tensor(2.0);
  Tensor w = leaf(3.0), b = leaf(1.0);
  Tensor y = pow(add(mul(x, w), b), Scalar(2.0));
  EXPECT_STREQ(y->grad_fn()->name(), "PowBackward0");
  Engine::backward({y}, {}, false, false);
  EXPECT_DOUBLE_EQ(grad_of(w), 28.0);
  EXPECT_DOUBLE_EQ(grad_of(b), 14.0);
}

TEST(Engine, DiamondSumsBothPaths) {
  // y = a*b + a*c with a feeding two branches: dy/da = b + c.
  Tensor a = leaf(2.0), b = leaf(3.0), c = leaf(5.0);
  Tensor y = add(mul(a, b), mul(a, c));
  Engine::backward({y}, {}, false, false);
  EXPECT_DOUBLE_EQ(grad_of(a), 8.0);
  EXPECT_DOUBLE_EQ(grad_of(b), 2.0);
  EXPECT_DOUBLE_EQ(grad_of(c), 2.0);
}

TEST(Engine, SharedSubexpressionRunsOnce) {
  // s = x*x used three times: y = s + s*s + exp(s); dy/dx = (1 + 2s + e^s) * 2x.
  Tensor x = leaf(0.5);
  Tensor s = mul(x, x);
  Tensor y = add(add(s, mul(s, s)), exp(s));
  Engine::backward({y}, {}, false, false);
  const double sv = 0.25;
  EXPECT_NEAR(grad_of(x), (1 + 2 * sv + std::exp(sv)) * 1.0, 1e-6);
}

TEST(Engine, GradientsAccumulateAcrossCalls) {
  Tensor x = leaf(2.0);
  Tensor y = mul(x, x);
  Engine::backward({y}, {}, true, false);
  Engine::backward({y}, {}, true, false);
  EXPECT_DOUBLE_EQ(grad_of(x), 8.0);
}

TEST(Engine, PostAccumulateHooksSeeTheSummedGrad) {
  // Tensor.register_post_accumulate_grad_hook: called with the leaf after each
  // accumulation into .grad, in registration order.
  Tensor w = leaf(3.0);
  std::vector<double> seen;
  HookList& hooks =
      static_cast<AccumulateGrad*>(grad_accumulator(w).get())->post_accumulate_hooks();
  hooks.add([&](const Tensor& t) -> Tensor {
    EXPECT_EQ(t, w);
    seen.push_back(grad_of(t));
    return nullptr;
  });
  const int second = hooks.add([&](const Tensor& t) -> Tensor {
    seen.push_back(-grad_of(t));
    return nullptr;
  });
  Engine::backward({mul(w, scalar_tensor(2.0))}, {}, false, false);
  hooks.remove(second);
  Engine::backward({mul(w, scalar_tensor(5.0))}, {}, false, false);
  EXPECT_EQ(seen, (std::vector<double>{2.0, -2.0, 7.0}));
}

TEST(Engine, SecondBackwardThroughFreedGraphThrows) {
  Tensor x = leaf(2.0);
  Tensor y = mul(x, x);
  Engine::backward({y}, {}, false, false);
  EXPECT_THROW(Engine::backward({y}, {}, false, false), std::runtime_error);
}

TEST(Engine, InPlaceChangeOfSavedTensorIsDetected) {
  Tensor x = leaf(2.0);
  Tensor h = mul(x, Scalar(1.0));
  Tensor y = mul(h, h);  // saves h
  add_(h, Scalar(1.0));
  try {
    Engine::backward({y}, {}, false, false);
    FAIL() << "expected a version-counter error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("modified by an inplace operation"), std::string::npos);
  }
}

TEST(Engine, BroadcastGradientIsSummedToInputShape) {
  Tensor a = ones({2, 3});
  a->set_requires_grad(true);
  Tensor b = ones({3});
  b->set_requires_grad(true);
  Engine::backward({sum(add(a, b))}, {}, false, false);
  EXPECT_EQ(b->grad()->shape(), (Shape{3}));
  EXPECT_DOUBLE_EQ(element_as_double(b->grad(), 0), 2.0);
}

TEST(Engine, SplitOutputsShareOneNodeAndMissingGradientsAreZeros) {
  Tensor x = arange(Scalar::integer(0), Scalar::integer(6), Scalar::integer(1), DType::Float64);
  x->set_requires_grad(true);
  TensorVec parts = split(mul(x, Scalar(1.0)), 2, 0);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_STREQ(parts[0]->grad_fn()->name(), "SplitBackward0");
  EXPECT_EQ(parts[2]->grad_fn(), parts[0]->grad_fn());
  EXPECT_EQ(parts[2]->output_nr(), 2u);
  // Only the last piece reaches the loss: d/dx sum(p2^2) = 2x there, 0 elsewhere.
  Engine::backward({sum(mul(parts[2], parts[2]))}, {}, false, false);
  const double expected[] = {0, 0, 0, 0, 8, 10};
  for (int64_t i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(element_as_double(x->grad(), i), expected[i]);
}

TEST(Engine, WritingOneOfSeveralViewsInPlaceIsRefused) {
  // Note [Views that refuse in-place ops].
  Tensor x = ones({3, 2});
  x->set_requires_grad(true);
  Tensor y = mul(x, Scalar(2.0));
  TensorVec rows = unbind(y, 0);
  try {
    add_(rows[1], Scalar(1.0));
    FAIL() << "expected the multi-output view to be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Output 1 of Unbind is a view"), std::string::npos);
  }
  add_(y, Scalar(1.0));  // the base may be written; its views may then not be used
  EXPECT_THROW(mul(rows[0], Scalar(1.0)), std::runtime_error);
}

TEST(Engine, CreateGraphGivesSecondDerivative) {
  Tensor x = leaf(3.0);
  Tensor y = pow(x, Scalar(3.0));
  std::vector<Tensor> g = Engine::grad({y}, {}, {x}, true, true, false);
  EXPECT_DOUBLE_EQ(item_as_double(g[0]), 27.0);  // 3x^2
  std::vector<Tensor> g2 = Engine::grad({g[0]}, {}, {x}, false, false, false);
  EXPECT_DOUBLE_EQ(item_as_double(g2[0]), 18.0);  // 6x
}

TEST(Engine, MillionNodeChainBackpropagatesAndFrees) {
  Tensor x = leaf(1.0);
  Tensor y = x;
  for (int i = 0; i < 1000000; ++i) y = mul(y, Scalar(1.0));
  Engine::backward({y}, {}, false, false);
  EXPECT_DOUBLE_EQ(grad_of(x), 1.0);
  y.reset();  // frees the chain without recursion
  Tensor z = x;
  for (int i = 0; i < 1000000; ++i) z = add(z, Scalar(0.0));
  z.reset();  // never backpropagated
  SUCCEED();
}

TEST(Engine, AnomalyModeNamesTheNodeThatMadeANan) {
  Tensor x = leaf(0.0);
  Tensor y = mul(sqrt(x), Scalar(0.0));  // SqrtBackward0 computes 0 / 0
  AnomalyMode::set_enabled(true);
  try {
    Engine::backward({y}, {}, true, false);
    ADD_FAILURE() << "expected a NaN error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "Function 'SqrtBackward0' returned nan values in its 0th output.");
  }
  AnomalyMode::set_enabled(false);
  Engine::backward({y}, {}, false, false);  // off again: the NaN reaches the leaf
  EXPECT_TRUE(std::isnan(grad_of(x)));
}

}  // namespace
}  // namespace ember
