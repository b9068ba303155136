#pragma once
// Graph nodes: a Node is the backward of one forward op (Python's grad_fn).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ember/autograd/forward_ad.h"
#include "ember/autograd/grad_mode.h"
#include "ember/small_vector.h"
#include "ember/tensor.h"

namespace ember {

// An input of a node's backward: gradient number `input_nr` of `node`.
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
};

using EdgeList = SmallVector<Edge, 2>;
using TensorList = SmallVector<Tensor, 2>;

// Note [Node protocol]
// A node is created by a forward op whose output requires grad. It holds one
// edge per differentiable forward input (null edge where that input needs no
// gradient) and what its formula needs (saved tensors, scalars, shapes).
// apply() receives one gradient per forward output (null = zero) and returns
// one gradient per edge (null = none). Formulas are written with the same ops
// users call, so under create_graph they record a graph of their own.
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual const char* name() const = 0;
  virtual TensorList apply(TensorList&& grads) = 0;
  // Frees saved tensors after a backward without retain_graph.
  virtual void release_saved() {}
  // An object this node keeps for the Python bindings (a custom Function's
  // ctx), visited by their cycle collection support; opaque to the core.
  virtual void* gc_object() const { return nullptr; }
  virtual uint32_t num_outputs() const { return 1; }
  // Whether the op that records this node computes its outputs' tangents
  // (Note [Forward-mode AD]).
  virtual bool has_forward_formula() const { return false; }
  // Whether apply() carries the tangents its incoming gradients may have
  // (forward-over-reverse): true where the formula is made of differentiable
  // ops, as every op with a forward formula keeps its backward.
  virtual bool backward_carries_tangents() const { return has_forward_formula(); }

  EdgeList& next_edges() { return next_edges_; }
  const EdgeList& next_edges() const { return next_edges_; }
  uint64_t sequence_nr() const { return sequence_nr_; }

  // Output tensors (by output number) with hooks or retain_grad(): when this
  // node's gradients arrive, their hooks run and retained grads are stored.
  void watch_output(uint32_t output_nr, const Tensor& t);
  // t's grad is retained from its new history now (an in-place op rebased it);
  // this node keeps running the hooks it watches for t.
  void stop_retaining(const Tensor& t);
  void run_output_hooks(TensorList& grads);

  // Hooks on the node itself (Python's grad_fn.register_prehook/register_hook).
  // A pre-hook sees the gradients arriving for the node's outputs before it
  // runs and may replace them; a post-hook sees the gradients the node
  // returned (one per edge) and those it received, and may replace the
  // returned ones. Both run only when the node runs. Ids remove them.
  using PreHook = std::function<void(TensorList& grad_outputs)>;
  using PostHook = std::function<void(TensorList& grad_inputs, const TensorList& grad_outputs)>;
  int add_pre_hook(PreHook hook);
  int add_post_hook(PostHook hook);
  void remove_hook(int id);
  bool has_pre_hooks() const { return node_hooks_ && !node_hooks_->pre.empty(); }
  bool has_post_hooks() const { return node_hooks_ && !node_hooks_->post.empty(); }
  void run_pre_hooks(TensorList& grad_outputs);
  void run_post_hooks(TensorList& grad_inputs, const TensorList& grad_outputs);

 protected:
  uint64_t sequence_nr_;

 private:
  friend class Engine;
  EdgeList next_edges_;

 protected:
  bool is_accumulator_ = false;  // AccumulateGrad: scratch lives with the run

 private:
  // Per-run scratch of the engine; see Note [Engine scratch].
  struct Scratch {
    uint64_t run_id = 0;  // accumulators only; graph nodes are claimed by active_run_
    int32_t pending = 0;
    bool needed = false;
    bool wanted = true;  // a requested gradient lies at or below (Note [Outputs a run wants])
    TensorList buffer;
  };
  Scratch scratch_;
  std::atomic<uint64_t> active_run_{0};  // the run using scratch_, 0 when none
  // Outputs with hooks or retained grads. The hooks are held here too, so a
  // hook keeps working after its tensor's Python object is gone (torch keeps
  // them on the node); the tensor itself only weakly, for retain_grad.
  struct Watched {
    uint32_t output_nr;
    std::weak_ptr<TensorImpl> tensor;
    std::shared_ptr<HookList> hooks;
  };
  std::unique_ptr<std::vector<Watched>> watched_;
  struct NodeHooks {
    std::vector<std::pair<int, PreHook>> pre;
    std::vector<std::pair<int, PostHook>> post;
    int next_id = 0;
  };
  std::unique_ptr<NodeHooks> node_hooks_;
};

// The node that adds incoming gradients into a leaf's .grad. Its `variable` is
// the leaf itself (Python sees the same object). The leaf owns it and it
// refers back only weakly: Note [Leaf accumulator].
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const Tensor& variable);
  const char* name() const override { return "AccumulateGrad"; }
  TensorList apply(TensorList&& grads) override;
  // The leaf; null only when the leaf is gone and Python still holds this node.
  Tensor variable() const { return variable_.lock(); }
  // Held while the leaf's .grad is replaced or added into: backward runs in
  // several threads may feed one leaf, and Python may read or reset .grad.
  std::mutex& grad_mutex() { return mutex_; }
  // Tensor.register_post_accumulate_grad_hook: each hook is called with the
  // leaf once its .grad holds the new sum (after the lock is released), as
  // torch's. They live here, where the leaf owns them for its whole life
  // (Note [Leaf accumulator]); a hook's return value is ignored.
  HookList& post_accumulate_hooks() { return post_hooks_; }

 private:
  std::weak_ptr<TensorImpl> variable_;
  std::mutex mutex_;
  HookList post_hooks_;
};

// Note [Saved tensors]
// A node saves what its formula needs. Saving a forward input keeps that
// tensor. Saving the node's own output must not (output -> grad_fn -> output
// would be a cycle), so the output is saved as a history-free alias and its
// grad_fn is reattached from the owning node on unpack. The storage version is
// recorded at save time; see Note [Version counter].
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  bool defined() const { return data_ != nullptr || saved_; }
  // `owner` is the node holding this saved tensor.
  Tensor unpack(const Node& owner) const;
  void release() { data_.reset(); }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  uint32_t output_nr_ = 0;
  bool is_output_ = false;
  bool saved_ = false;
};

// A Python number a backward formula needs. Where torch saves it as a tensor
// (it wraps the 2 of `x * 2` and `x / 2` into one), it is released with the
// node's saved tensors, so a second backward raises as torch's does.
class SavedScalar {
 public:
  SavedScalar() = default;
  SavedScalar(double value, bool releasable) : value_(value), releasable_(releasable) {}
  double unpack() const;
  void release() { released_ = releasable_; }

 private:
  double value_ = 0;
  bool releasable_ = false;
  bool released_ = false;
};

// The sequence number the next node made on this thread gets, and a way to
// set it: the engine carries it over to the threads that run deep reentrant
// backward passes (Note [Deep reentrant backward]), so creation order stays
// comparable along the chain of nested passes.
uint64_t peek_sequence_nr();
void set_next_sequence_nr(uint64_t nr);

// The forward op a node is the backward of, as torch's messages name it:
// SigmoidBackward0 -> Sigmoid.
std::string forward_op_name(const Node& node);

// True when an op on these inputs must record a node: one requires grad, or
// carries a tangent (Note [Forward-mode AD]).
inline bool any_requires_grad(const Tensor& a) {
  return (GradMode::is_enabled() && a->requires_grad()) || forward_ad::has_tangent(*a);
}
inline bool any_requires_grad(const Tensor& a, const Tensor& b) {
  return (GradMode::is_enabled() && (a->requires_grad() || b->requires_grad())) ||
         forward_ad::has_tangent(*a) || forward_ad::has_tangent(*b);
}

// The edge a gradient for `t` flows into (null edge when t needs none).
Edge gradient_edge(const Tensor& t);
// The AccumulateGrad of a leaf that requires grad (made on first use); the
// pointer shares ownership of the leaf (Note [Leaf accumulator]).
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);

// Makes sure a non-leaf's hooks and retained grad are seen by its grad_fn.
void watch_non_leaf(const Tensor& t);

// Connects `node` to the given inputs and makes it the grad_fn of `outputs`.
void set_history(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
                 const Tensor& output);
void add_next_edge(Node& node, const Tensor& input);

// Note [Iterative graph destruction]
// Dropping the last reference to the head of a long chain would destroy each
// node from inside its successor's destructor, one C++ frame per node, and a
// chain of a million nodes overflows the stack. Destructors hand the nodes they
// release to release_iteratively, which queues them and frees the queue in a
// loop, so destruction depth stays constant.
void release_iteratively(std::shared_ptr<Node>&& node);

}  // namespace ember
