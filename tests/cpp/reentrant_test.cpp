// Backward passes run from inside a node (Note [Deep reentrant backward]), and
// node hooks.

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "ember/autograd/engine.h"
#include "ember/autograd/node.h"
#include "ember/ops.h"

namespace ember {
namespace {

Tensor leaf(double v) {
  Tensor t = scalar_tensor(v);
  t->set_requires_grad(true);
  return t;
}

// An identity whose backward first runs a whole backward pass of a fresh
// graph holding the next level, as a custom Function's backward may.
struct Threads {
  std::mutex mutex;
  std::set<std::thread::id> seen;
  int deepest = 0;
};

class Nested final : public Node {
 public:
  Nested(int depth, Threads* threads, int throw_at)
      : depth_(depth), threads_(threads), throw_at_(throw_at) {}
  const char* name() const override { return "NestedBackward"; }
  TensorList apply(TensorList&& grads) override {
    {
      std::lock_guard<std::mutex> lock(threads_->mutex);
      threads_->seen.insert(std::this_thread::get_id());
      threads_->deepest = std::max(threads_->deepest, depth_);
    }
    if (depth_ == throw_at_) throw std::runtime_error("deepest pass failed");
    if (depth_ < 20000) {
      Tensor x = leaf(1.0);
      Engine::backward({nested(x, depth_ + 1, threads_, throw_at_)}, {}, false, false);
    }
    TensorList out;
    out.push_back(grads[0]);
    return out;
  }

  static Tensor nested(const Tensor& x, int depth, Threads* threads, int throw_at) {
    auto node = std::make_shared<Nested>(depth, threads, throw_at);
    node->next_edges().push_back(gradient_edge(x));
    Tensor y = clone(x);
    y->set_history(node, 0);
    return y;
  }

 private:
  int depth_;
  Threads* threads_;
  int throw_at_;
};

TEST(ReentrantBackward, TwentyThousandNestedPassesComplete) {
  Threads threads;
  Tensor x = leaf(2.0);
  Engine::backward({Nested::nested(x, 1, &threads, -1)}, {}, false, false);
  EXPECT_EQ(threads.deepest, 20000);
  EXPECT_DOUBLE_EQ(item_as_double(x->grad()), 1.0);
  // Deep passes moved to fresh threads instead of growing one stack.
  EXPECT_GT(threads.seen.size(), 100u);
}

TEST(ReentrantBackward, AnErrorDeepDownReachesTheCaller) {
  Threads threads;
  Tensor x = leaf(2.0);
  EXPECT_THROW(Engine::backward({Nested::nested(x, 1, &threads, 500)}, {}, false, false),
               std::runtime_error);
  EXPECT_EQ(threads.deepest, 500);
  EXPECT_TRUE(GradMode::is_enabled());
}

// Records Engine::is_checkpoint_valid() while it runs.
class Probe final : public Node {
 public:
  const char* name() const override { return "ProbeBackward"; }
  TensorList apply(TensorList&& grads) override {
    valid = Engine::is_checkpoint_valid();
    TensorList out;
    out.push_back(grads[0]);
    return out;
  }
  bool valid = false;
};

TEST(ReentrantBackward, CheckpointIsValidOnlyInsidePlainBackward) {
  for (const bool plain : {true, false}) {
    Tensor x = leaf(1.0);
    auto probe = std::make_shared<Probe>();
    probe->next_edges().push_back(gradient_edge(x));
    Tensor y = clone(x);
    y->set_history(probe, 0);
    if (plain) {
      Engine::backward({y}, {}, false, false);
    } else {
      Engine::grad({y}, {}, {x}, false, false, false);
    }
    EXPECT_EQ(probe->valid, plain);
  }
  EXPECT_TRUE(Engine::is_checkpoint_valid());  // outside any pass
}

TEST(NodeHooks, PreAndPostHooksSeeAndReplaceGradients) {
  // y = 3x: the pre-hook doubles the incoming gradient, the post-hook adds 1
  // to the outgoing one, so dx = 3 * 2 + 1.
  Tensor x = leaf(2.0);
  Tensor y = mul(x, Scalar(3.0));
  Node& node = *y->grad_fn();
  double seen_in = 0, seen_out = 0;
  const int pre = node.add_pre_hook([&](TensorList& g) {
    seen_in = item_as_double(g[0]);
    g[0] = mul(g[0], Scalar(2.0));
  });
  const int post = node.add_post_hook([&](TensorList& grad_inputs, const TensorList& grad_outputs) {
    seen_out = item_as_double(grad_outputs[0]);
    grad_inputs[0] = add(grad_inputs[0], Scalar(1.0));
  });
  Engine::backward({y}, {}, true, false);
  EXPECT_DOUBLE_EQ(seen_in, 1.0);
  EXPECT_DOUBLE_EQ(seen_out, 2.0);  // the gradient the node received, after the pre-hook
  EXPECT_DOUBLE_EQ(item_as_double(x->grad()), 7.0);
  node.remove_hook(pre);
  node.remove_hook(post);
  x->set_grad(nullptr);
  Engine::backward({y}, {}, false, false);
  EXPECT_DOUBLE_EQ(item_as_double(x->grad()), 3.0);
}

}  // namespace
}  // namespace ember
