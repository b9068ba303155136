#pragma once
// The backward engine: runs a graph's nodes in dependency order.

#include <vector>

#include "ember/tensor.h"

namespace ember {

class Engine {
 public:
  // Accumulates d(roots)/d(leaf) into every leaf's .grad, or only into
  // `inputs` when that list is non-empty (Tensor.backward(inputs=...)).
  static void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                       bool keep_graph, bool create_graph, const std::vector<Tensor>& inputs = {});

  // Returns d(roots)/d(inputs) without touching any .grad (autograd.grad).
  // Undefined entries mean "not reachable" (only allowed with allow_unused).
  static std::vector<Tensor> grad(const std::vector<Tensor>& roots,
                                  const std::vector<Tensor>& grad_roots,
                                  const std::vector<Tensor>& inputs, bool keep_graph,
                                  bool create_graph, bool allow_unused);

  // False while a pass that runs only some nodes (autograd.grad, or backward
  // with `inputs`) is calling a node on this thread: torch's
  // _is_checkpoint_valid, which reentrant checkpointing checks.
  static bool is_checkpoint_valid();

  // Whether `node`'s formula, run by the pass on this thread, must produce
  // the gradient that flows into `next` (Note [Outputs a run wants]).
  static bool wants_gradient_into(const Node& node, const Node* next);

 private:
  class Run;
  static thread_local const Run* current_run_;
  static thread_local const Node* current_node_;
  // backward/grad on the calling thread; the public entry points may move
  // them to a new thread (Note [Deep reentrant backward]).
  static void backward_here(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                            bool keep_graph, bool create_graph, const std::vector<Tensor>& inputs);
  static std::vector<Tensor> grad_here(const std::vector<Tensor>& roots,
                                       const std::vector<Tensor>& grad_roots,
                                       const std::vector<Tensor>& inputs, bool keep_graph,
                                       bool create_graph, bool allow_unused);
};

}  // namespace ember
