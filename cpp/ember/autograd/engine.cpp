#include "ember/autograd/engine.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <queue>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "ember/autograd/node.h"
#include "ember/ops.h"

namespace ember {

namespace {

// Anomaly mode's check, with torch's words.
void refuse_nan(const Node& n, const TensorList& grads) {
  GradModeGuard no_grad(false);
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = grads[i];
    if (!g || !is_floating(g->dtype()) || g->numel() == 0) continue;
    if (item_as_double(sum(compare(BinaryOp::Ne, g, g))) > 0) {
      throw std::runtime_error(std::string("Function '") + n.name() +
                               "' returned nan values in its " + std::to_string(i) + "th output.");
    }
  }
}

// A gradient carrying a tangent (forward-over-reverse) may only enter a
// formula that carries it on (Note [Forward-mode AD]).
void check_tangents_carried(const Node& n, const TensorList& grads) {
  if (n.backward_carries_tangents()) return;
  for (const Tensor& g : grads) {
    if (forward_ad::has_tangent(g)) forward_ad::throw_no_forward_formula(n);
  }
}

}  // namespace

// Note [Engine scratch]
// A backward run needs, per node, a count of gradients still to arrive and a
// buffer summing those that have. For graph nodes they live on the Node itself
// (Node::scratch_), tagged with the run's id, so a run costs no hash map. Leaf
// accumulators are the one kind of node that separate graphs share (two
// threads training on the same parameters), so their scratch lives in the
// run's own map, and AccumulateGrad locks while it adds into .grad. A run
// claims each graph node it visits (Node::active_run_) and frees the claims
// when it ends; a run that finds a node claimed by another run, meaning two
// threads (or a hook's nested backward) are differentiating through the same
// non-leaf nodes at once, raises instead of sharing the scratch. A run that
// wants only some inputs' gradients (autograd.grad) borrows such a node
// instead, with scratch in its own map, as long as it would not run it: the
// gradient stops at the node (an input's grad_fn) or never reaches it. See
// the README's thread-safety notes.
//
// Order: a node runs once every gradient for it has arrived. Among ready nodes
// the most recently created runs first, as in torch, so sums into a leaf
// happen in the same order. Nothing recurses: discovery uses an explicit stack.

namespace {

std::atomic<uint64_t> next_run_id{1};

struct ReadyOrder {
  bool operator()(const Node* a, const Node* b) const {
    return a->sequence_nr() < b->sequence_nr();
  }
};

}  // namespace

// Note [Outputs a run wants]
// autograd.grad(y, x) runs only the nodes with a requested input at or below
// them (restrict_to), and, as torch's should_compute_output, a running node's
// formula computes only the input gradients that flow toward one: asked for
// an image's gradient, a convolution skips its weight's. `current_run_` is the
// restricted pass whose node (`current_node_`) runs on this thread (null for a
// whole backward, which wants every gradient); a nested pass sets its own and
// restores them. Only that node's formula asks: a node the formula records
// (create_graph) decides what to save from its edges alone.
thread_local const Engine::Run* Engine::current_run_ = nullptr;
thread_local const Node* Engine::current_node_ = nullptr;

class Engine::Run {
 public:
  bool wants(const Node* next) const {
    Node* n = const_cast<Node*>(next);
    if (n->is_accumulator_ || (!borrowed_.empty() && borrowed_.count(n))) {
      const auto it = local_scratch_.find(n);
      return it != local_scratch_.end() && it->second.wanted;
    }
    return n->scratch_.wanted;
  }

  Run(bool keep_graph, bool create_graph) : keep_graph_(keep_graph), mode_(create_graph) {}

  // Discovers the graph below `roots` and counts each node's incoming edges.
  // `restricted`: restrict_to follows, so another run's nodes may be borrowed.
  void discover(const std::vector<Edge>& roots, bool restricted) {
    may_borrow_ = restricted;
    run_id_ = next_run_id.fetch_add(1);
    std::vector<Node*> stack;
    for (const Edge& e : roots) visit(e.node.get(), stack);
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (Edge& e : n->next_edges_) {
        if (!e.node) continue;
        visit(e.node.get(), stack);
        scratch(e.node.get()).pending += 1;
      }
    }
  }

  // Marks which nodes must run when only some inputs are wanted. `targets`
  // get their gradient recorded; a node runs only if a target lies below it
  // (or it is itself an AccumulateGrad target and run_targets is set).
  void restrict_to(const std::vector<Node*>& targets, bool run_targets) {
    restricted_ = true;
    for (Node* n : nodes_) scratch(n).needed = false;
    // Reverse topological order: children before parents (Kahn on a copy of the counts).
    std::vector<int32_t> count(nodes_.size());
    std::vector<Node*> topo;
    std::vector<Node*> ready;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      index_of(nodes_[i]) = static_cast<int32_t>(i);
      count[i] = scratch(nodes_[i]).pending;
      if (count[i] == 0) ready.push_back(nodes_[i]);
    }
    while (!ready.empty()) {
      Node* n = ready.back();
      ready.pop_back();
      topo.push_back(n);
      for (Edge& e : n->next_edges_) {
        if (e.node && --count[static_cast<size_t>(index_of(e.node.get()))] == 0)
          ready.push_back(e.node.get());
      }
    }
    // Lookups by index keep this linear in nodes + targets (autograd.grad may
    // be asked for 100,000 leaves).
    std::vector<char> reaches(nodes_.size(), 0), is_target(nodes_.size(), 0);
    for (Node* t : targets) {
      auto it = index_.find(t);
      if (it == index_.end()) continue;
      reaches[static_cast<size_t>(it->second)] = 1;
      is_target[static_cast<size_t>(it->second)] = 1;
    }
    for (size_t i = topo.size(); i-- > 0;) {
      Node* n = topo[i];
      bool below = false;
      for (Edge& e : n->next_edges_) {
        if (e.node && reaches[static_cast<size_t>(index_of(e.node.get()))]) below = true;
      }
      const size_t idx = static_cast<size_t>(index_of(n));
      if (below) reaches[idx] = 1;
      scratch(n).needed = below || (run_targets && is_target[idx] && n->is_accumulator_);
      scratch(n).wanted = reaches[idx] != 0;
    }
    for (Node* n : borrowed_) {
      if (scratch(n).needed) throw overlapping_run(n);
    }
  }

  void capture(Node* node, uint32_t input_nr, size_t slot) {
    captures_.emplace(node, CaptureSpec{input_nr, slot});
  }

  // Seeds the roots' gradients and runs every node to completion.
  void execute(const std::vector<Edge>& roots, const std::vector<Tensor>& grads,
               std::vector<Tensor>* captured) {
    for (size_t i = 0; i < roots.size(); ++i) accumulate(roots[i], grads[i]);
    std::priority_queue<Node*, std::vector<Node*>, ReadyOrder> ready;
    for (const Edge& e : roots) {
      Node* n = e.node.get();
      if (scratch(n).pending == 0) {
        scratch(n).pending = -1;  // queued once even if it is the root of several outputs
        ready.push(n);
      }
    }
    while (!ready.empty()) {
      Node* n = ready.top();
      ready.pop();
      Scratch& sn = scratch(n);
      TensorList grads_in = std::move(sn.buffer);
      sn.buffer = TensorList();
      grads_in.resize(std::max<size_t>(grads_in.size(), n->num_outputs()));
      // Tensor hooks see the gradient before anyone else, captures included.
      n->run_output_hooks(grads_in);
      const bool run = !restricted_ || sn.needed;
      const auto [first, last] = captures_.equal_range(n);
      for (auto it = first; it != last; ++it) {
        const CaptureSpec& c = it->second;
        if (!grads_in[c.input_nr]) continue;
        Tensor g = grads_in[c.input_nr];
        // A leaf's hooks normally run inside its AccumulateGrad, which grad() skips.
        if (n->is_accumulator_ && !run) {
          if (Tensor leaf = static_cast<AccumulateGrad*>(n)->variable()) g = leaf->run_hooks(g);
        }
        Tensor& slot = (*captured)[c.slot];
        slot = slot ? add(slot, g) : g;
      }
      TensorList grads_out;
      bool any_grad = false;
      for (const Tensor& g : grads_in) any_grad = any_grad || g;
      if (run && any_grad) {
        if (n->has_pre_hooks()) n->run_pre_hooks(grads_in);
        if (forward_ad::active() && !n->is_accumulator_) check_tangents_carried(*n, grads_in);
        TensorList received;
        if (n->has_post_hooks()) received = grads_in;
        {
          struct Restore {
            const Run* run;
            const Node* node;
            ~Restore() { current_run_ = run, current_node_ = node; }
          } restore{current_run_, current_node_};
          current_run_ = restricted_ ? this : nullptr;
          current_node_ = n;
          grads_out = n->apply(std::move(grads_in));
        }
        if (n->has_post_hooks()) n->run_post_hooks(grads_out, received);
        if (!keep_graph_) n->release_saved();
        if (grads_out.size() != n->next_edges_.size()) {
          throw std::logic_error(std::string("function ") + n->name() + " returned " +
                                 std::to_string(grads_out.size()) + " gradients, expected " +
                                 std::to_string(n->next_edges_.size()));
        }
        if (AnomalyMode::is_enabled() && AnomalyMode::checks_nan()) refuse_nan(*n, grads_out);
      }
      for (size_t i = 0; i < n->next_edges_.size(); ++i) {
        const Edge& e = n->next_edges_[i];
        if (!e.node) continue;
        if (i < grads_out.size() && grads_out[i]) accumulate(e, grads_out[i]);
        if (--scratch(e.node.get()).pending == 0) ready.push(e.node.get());
      }
    }
  }

  ~Run() {
    // On success buffers are already empty; after an error, drop what is left.
    for (Node* n : nodes_) {
      if (n->is_accumulator_ || borrowed_.count(n)) continue;  // not this run's to reset
      n->scratch_.buffer = TensorList();
      n->scratch_.pending = 0;
      n->active_run_.store(0, std::memory_order_release);
    }
  }

 private:
  struct CaptureSpec {
    uint32_t input_nr;
    size_t slot;
  };

  using Scratch = Node::Scratch;

  Scratch& scratch(Node* n) {
    const bool local = n->is_accumulator_ || (!borrowed_.empty() && borrowed_.count(n));
    return local ? local_scratch_[n] : n->scratch_;
  }

  void visit(Node* n, std::vector<Node*>& stack) {
    if (n->is_accumulator_) {
      if (local_scratch_[n].run_id == run_id_) return;
      local_scratch_[n].run_id = run_id_;
    } else if (!claim(n)) {
      return;  // already visited by this run
    }
    Scratch& s = scratch(n);
    s.pending = 0;
    s.needed = true;
    s.wanted = true;
    s.buffer = TensorList();
    nodes_.push_back(n);
    stack.push_back(n);
  }

  // Takes n's scratch for this run, or borrows n when another run holds it:
  // false if this run already visited n.
  bool claim(Node* n) {
    uint64_t owner = 0;
    if (n->active_run_.compare_exchange_strong(owner, run_id_, std::memory_order_acquire)) {
      return true;
    }
    if (owner == run_id_) return false;
    if (!may_borrow_) throw overlapping_run(n);
    return borrowed_.insert(n).second;
  }

  static std::runtime_error overlapping_run(const Node* n) {
    return std::runtime_error(
        std::string("ember: another backward pass is running through this graph (at ") + n->name() +
        "). Backward passes through the same non-leaf nodes must not overlap: run them one "
        "after another, or build a separate graph per thread.");
  }

  // Position of a node in nodes_ (only restricted runs build this table).
  int32_t& index_of(Node* n) { return index_[n]; }

  void accumulate(const Edge& e, const Tensor& g) {
    TensorList& buf = scratch(e.node.get()).buffer;
    if (buf.size() <= e.input_nr) buf.resize(e.input_nr + 1);
    Tensor& slot = buf[e.input_nr];
    slot = slot ? add(slot, g) : g;
  }

  bool keep_graph_;
  GradModeGuard mode_;
  uint64_t run_id_ = 0;
  bool restricted_ = false;
  bool may_borrow_ = false;
  std::unordered_set<Node*> borrowed_;  // other runs' nodes this one only passes through
  std::vector<Node*> nodes_;
  std::unordered_multimap<Node*, CaptureSpec> captures_;
  std::unordered_map<Node*, int32_t> index_;
  std::unordered_map<Node*, Scratch> local_scratch_;  // accumulators' and borrowed nodes'
};

bool Engine::wants_gradient_into(const Node& node, const Node* next) {
  return current_run_ == nullptr || &node != current_node_ || current_run_->wants(next);
}

bool run_wants(const Node& node, const Node* next) {
  return Engine::wants_gradient_into(node, next);
}

// Note [Deep reentrant backward]
// A custom Function's backward may run a backward pass of its own (reentrant
// checkpointing does). Each nested pass sits on the C++ stack and, through
// the Python frames between them, on the Python stack of the same thread, so
// a chain of thousands would overflow both. As torch does, once a thread is
// kMaxReentrantDepth passes deep, the next nested pass runs on a fresh thread
// (with its own C++ stack and its own Python thread state) while the calling
// thread waits for it. The waiting thread holds no GIL (the bindings release
// it around every pass), so the new thread can call Python. Grad mode and the
// sequence-number counter travel with the pass; an exception travels back.

namespace {

constexpr int kMaxReentrantDepth = 50;
thread_local int reentrant_depth = 0;
// Whether the innermost pass on this thread runs every node (a plain
// backward): reentrant checkpointing relies on it (torch's can_checkpoint).
thread_local bool plain_backward = true;

class PassScope {
 public:
  explicit PassScope(bool plain) : previous_plain_(plain_backward) {
    ++reentrant_depth;
    plain_backward = plain;
  }
  ~PassScope() {
    --reentrant_depth;
    plain_backward = previous_plain_;
  }
  PassScope(const PassScope&) = delete;
  PassScope& operator=(const PassScope&) = delete;

 private:
  bool previous_plain_;
};

template <typename Body>
void run_pass(bool plain, Body&& body) {
  if (reentrant_depth < kMaxReentrantDepth) {
    PassScope scope(plain);
    body();
    return;
  }
  const bool grad_mode = GradMode::is_enabled(), user_grad_mode = GradMode::user_enabled();
  uint64_t sequence_nr = peek_sequence_nr();
  std::exception_ptr error;
  std::thread worker([&] {
    GradMode::set_user_enabled(user_grad_mode);
    GradMode::set_enabled(grad_mode);
    set_next_sequence_nr(sequence_nr);
    try {
      PassScope scope(plain);
      body();
    } catch (...) {
      error = std::current_exception();
    }
    sequence_nr = peek_sequence_nr();
  });
  worker.join();
  set_next_sequence_nr(sequence_nr);
  if (error) std::rethrow_exception(error);
}

std::vector<Edge> root_edges(const std::vector<Tensor>& roots) {
  std::vector<Edge> edges;
  for (size_t i = 0; i < roots.size(); ++i) {
    Edge e = gradient_edge(roots[i]);
    if (!e.node) {
      throw std::runtime_error("element " + std::to_string(i) +
                               " of tensors does not require grad and does not have a grad_fn");
    }
    edges.push_back(std::move(e));
  }
  return edges;
}

std::vector<Tensor> checked_root_grads(const std::vector<Tensor>& roots,
                                       const std::vector<Tensor>& grads) {
  std::vector<Tensor> out;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    Tensor g = i < grads.size() ? grads[i] : nullptr;
    if (!g) {
      if (r->numel() != 1) {
        throw std::runtime_error("grad can be implicitly created only for scalar outputs");
      }
      g = ones(r->shape(), r->dtype());
    } else if (g->shape() != r->shape()) {
      throw std::runtime_error("Mismatch in shape: grad_output[" + std::to_string(i) +
                               "] has a shape of torch.Size(" + shape_str(g->shape()) +
                               ") and output[" + std::to_string(i) +
                               "] has a shape of torch.Size(" + shape_str(r->shape()) + ").");
    } else if (g->dtype() != r->dtype()) {
      g = convert(g, r->dtype());  // torch accepts any real dtype here
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<Edge> input_edges(const std::vector<Tensor>& inputs) {
  std::vector<Edge> edges;
  for (const Tensor& t : inputs) {
    Edge e = gradient_edge(t);
    if (!e.node)
      throw std::runtime_error("One of the differentiated Tensors does not require grad");
    edges.push_back(std::move(e));
  }
  return edges;
}

}  // namespace

bool Engine::is_checkpoint_valid() { return plain_backward; }

void Engine::backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                      bool keep_graph, bool create_graph, const std::vector<Tensor>& inputs) {
  run_pass(inputs.empty(),
           [&] { backward_here(roots, grad_roots, keep_graph, create_graph, inputs); });
}

std::vector<Tensor> Engine::grad(const std::vector<Tensor>& roots,
                                 const std::vector<Tensor>& grad_roots,
                                 const std::vector<Tensor>& inputs, bool keep_graph,
                                 bool create_graph, bool allow_unused) {
  std::vector<Tensor> result;
  run_pass(false, [&] {
    result = grad_here(roots, grad_roots, inputs, keep_graph, create_graph, allow_unused);
  });
  return result;
}

void Engine::backward_here(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                           bool keep_graph, bool create_graph, const std::vector<Tensor>& inputs) {
  const std::vector<Edge> edges = root_edges(roots);
  const std::vector<Tensor> grads = checked_root_grads(roots, grad_roots);
  Run run(keep_graph, create_graph);
  run.discover(edges, /*restricted=*/!inputs.empty());
  if (!inputs.empty()) {
    std::vector<Node*> targets;
    for (const Edge& e : input_edges(inputs)) targets.push_back(e.node.get());
    run.restrict_to(targets, /*run_targets=*/true);
    // Non-leaf inputs get their gradient in .grad, like retain_grad.
    for (const Tensor& t : inputs) {
      if (t->grad_fn() && !t->retains_grad()) {
        t->set_retains_grad(true);
        watch_non_leaf(t);
      }
    }
  }
  run.execute(edges, grads, nullptr);
}

std::vector<Tensor> Engine::grad_here(const std::vector<Tensor>& roots,
                                      const std::vector<Tensor>& grad_roots,
                                      const std::vector<Tensor>& inputs, bool keep_graph,
                                      bool create_graph, bool allow_unused) {
  const std::vector<Edge> edges = root_edges(roots);
  const std::vector<Tensor> grads = checked_root_grads(roots, grad_roots);
  const std::vector<Edge> targets = input_edges(inputs);
  Run run(keep_graph, create_graph);
  run.discover(edges, /*restricted=*/true);
  std::vector<Node*> target_nodes;
  for (size_t i = 0; i < targets.size(); ++i) {
    target_nodes.push_back(targets[i].node.get());
    run.capture(targets[i].node.get(), targets[i].input_nr, i);
  }
  run.restrict_to(target_nodes, /*run_targets=*/false);
  std::vector<Tensor> result(inputs.size());
  run.execute(edges, grads, &result);
  for (size_t i = 0; i < result.size(); ++i) {
    if (!result[i] && !allow_unused) {
      throw std::runtime_error("The differentiated Tensor at index " + std::to_string(i) +
                               " appears to not have been used in the graph. Set "
                               "allow_unused=True if this is the desired behavior.");
    }
  }
  return result;
}

}  // namespace ember
