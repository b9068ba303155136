#include "ember/autograd/node.h"

#include <limits>
#include <mutex>
#include <stdexcept>

#include "ember/ops.h"

namespace ember {

thread_local bool GradMode::enabled_ = true;
thread_local bool GradMode::user_enabled_ = true;
std::atomic<bool> AnomalyMode::enabled_{false};
std::atomic<bool> AnomalyMode::check_nan_{true};

namespace {
thread_local uint64_t next_sequence_nr = 0;
}

Node::Node() : sequence_nr_(next_sequence_nr++) {}

uint64_t peek_sequence_nr() { return next_sequence_nr; }
void set_next_sequence_nr(uint64_t nr) { next_sequence_nr = nr; }

int Node::add_pre_hook(PreHook hook) {
  if (!node_hooks_) node_hooks_ = std::make_unique<NodeHooks>();
  const int id = node_hooks_->next_id++;
  node_hooks_->pre.emplace_back(id, std::move(hook));
  return id;
}

int Node::add_post_hook(PostHook hook) {
  if (!node_hooks_) node_hooks_ = std::make_unique<NodeHooks>();
  const int id = node_hooks_->next_id++;
  node_hooks_->post.emplace_back(id, std::move(hook));
  return id;
}

void Node::remove_hook(int id) {
  if (!node_hooks_) return;
  auto drop = [id](auto& list) {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->first == id) {
        list.erase(it);
        return;
      }
    }
  };
  drop(node_hooks_->pre);
  drop(node_hooks_->post);
}

void Node::run_pre_hooks(TensorList& grad_outputs) {
  // A copy: a hook may register or remove hooks while it runs.
  const auto hooks = node_hooks_->pre;
  for (const auto& h : hooks) h.second(grad_outputs);
}

void Node::run_post_hooks(TensorList& grad_inputs, const TensorList& grad_outputs) {
  const auto hooks = node_hooks_->post;
  for (const auto& h : hooks) h.second(grad_inputs, grad_outputs);
}

Node::~Node() {
  for (Edge& e : next_edges_) {
    if (e.node) release_iteratively(std::move(e.node));
  }
}

void Node::watch_output(uint32_t output_nr, const Tensor& t) {
  if (!watched_) watched_ = std::make_unique<std::vector<Watched>>();
  for (Watched& w : *watched_) {
    if (w.output_nr == output_nr && w.tensor.lock() == t) {
      // Set once per node: a new list after an in-place op goes to the new grad_fn.
      if (!w.hooks) w.hooks = t->hook_list();
      return;
    }
  }
  watched_->push_back(Watched{output_nr, t, t->hook_list()});
}

void Node::stop_retaining(const Tensor& t) {
  if (!watched_) return;
  for (Watched& w : *watched_) {
    if (w.tensor.lock() == t) w.tensor.reset();
  }
}

void Node::run_output_hooks(TensorList& grads) {
  if (!watched_) return;
  for (Watched& w : *watched_) {
    if (w.output_nr >= grads.size() || !grads[w.output_nr]) continue;
    Tensor& g = grads[w.output_nr];
    if (w.hooks) g = w.hooks->run(g);
    Tensor t = w.tensor.lock();
    if (!t || !t->retains_grad()) continue;
    if (!t->grad()) {
      t->set_grad(GradMode::is_enabled() ? g : clone(g));
    } else {
      t->set_grad(add(t->grad(), g));
    }
  }
}

AccumulateGrad::AccumulateGrad(const Tensor& variable) : variable_(variable) {
  // Runs as soon as its gradient is complete, like torch's.
  sequence_nr_ = std::numeric_limits<uint64_t>::max();
  is_accumulator_ = true;
}

TensorList AccumulateGrad::apply(TensorList&& grads) {
  Tensor& g = grads[0];
  const Tensor leaf = variable();
  if (!g || !leaf) return {};
  if (leaf->has_hooks()) g = leaf->run_hooks(g);
  if (g->shape() != leaf->shape()) {
    throw std::runtime_error("Function AccumulateGrad returned an invalid gradient - got " +
                             shape_str(g->shape()) + " but expected shape compatible with " +
                             shape_str(leaf->shape()));
  }
  if (g->dtype() != leaf->dtype()) g = to_dtype(g, leaf->dtype());
  // Freed after the lock is released: freeing a NumPy-backed grad takes the
  // GIL, which a Python thread waiting for this lock may hold.
  Tensor replaced;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Tensor& slot = leaf->mutable_grad();
    if (!slot) {
      // Take the incoming buffer when nobody else can see it; otherwise copy, so
      // that later in-place updates of .grad never write into someone's tensor.
      const bool private_buffer = g.use_count() == 1 && g->storage().use_count() == 1 &&
                                  g->is_contiguous() && g->shape() == leaf->shape();
      if (GradMode::is_enabled()) {
        // torch keeps a dense grad of its own: a view (a transposed weight
        // gradient) could not be detached in place by zero_grad later.
        slot = g->is_view() || !g->is_contiguous() ? clone(g) : g;
      } else if (private_buffer) {
        slot = g;
      } else {
        slot = contiguous_clone(g);
      }
    } else if (GradMode::is_enabled()) {
      replaced = std::move(slot);
      slot = add(replaced, g);
    } else {
      add_inplace_unchecked(slot, g);
    }
  }
  // Outside the lock: a hook may read .grad, and takes the GIL to do it.
  if (!post_hooks_.empty()) post_hooks_.run(leaf);
  return {};
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output)
    : version_(t->version()), output_nr_(t->output_nr()), is_output_(is_output), saved_(true) {
  data_ = is_output ? detach(t) : t;
  if (is_output) forward_ad::share_forward_grad(t, data_);
}

namespace {

[[noreturn]] void throw_freed() {
  throw std::runtime_error(
      "Trying to backward through the graph a second time (or directly access saved tensors "
      "after they have already been freed). Saved intermediate values of the graph are freed "
      "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
      "backward through the graph a second time or if you need to access saved tensors after "
      "calling backward.");
}

}  // namespace

double SavedScalar::unpack() const {
  if (released_) throw_freed();
  return value_;
}

std::string forward_op_name(const Node& node) {
  std::string op = node.name();
  const size_t cut = op.rfind("Backward");
  if (cut != std::string::npos && cut > 0) op.resize(cut);
  return op;
}

Tensor SavedTensor::unpack(const Node& owner) const {
  if (!saved_) return nullptr;
  if (!data_) throw_freed();
  if (data_->version() != version_) {
    std::string what =
        std::string("[") + legacy_type_name(data_->dtype()) + " " + shape_str(data_->shape()) + "]";
    const Node* producer = is_output_ ? &owner : data_->grad_fn().get();
    if (producer) {
      what += ", which is output " + std::to_string(output_nr_) + " of " +
              forward_op_name(*producer) + ",";
    }
    throw std::runtime_error(
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: " +
        what + " is at version " + std::to_string(data_->version()) + "; expected version " +
        std::to_string(version_) +
        " instead. Hint: the backtrace further above can point at the operation that failed to "
        "compute its gradient; the variable in question was changed in there or anywhere later. "
        "Good luck!");
  }
  if (!is_output_) return data_;
  // Reattach the owner as grad_fn so create_graph sees the dependency.
  Tensor t = detach(data_);
  t->set_forward_grad(data_->forward_grad());
  t->set_history(std::const_pointer_cast<Node>(owner.shared_from_this()), output_nr_);
  return t;
}

void watch_non_leaf(const Tensor& t) {
  if (t->grad_fn()) t->grad_fn()->watch_output(t->output_nr(), t);
}

// Note [Leaf accumulator]
// A leaf that requires grad owns one AccumulateGrad for its whole life, made
// on first use; the node refers back to the leaf only weakly, so the two form
// no cycle. Graph edges into the node are aliasing pointers that share
// ownership of the leaf, not of the node: a graph keeps its leaves alive, as
// torch's does (gradients still accumulate and hooks still run after Python
// dropped the leaf), and recording an op allocates nothing per leaf. (torch
// makes a new AccumulateGrad whenever the last graph using the old one died;
// for small ops that was a sixth of the time.) A Python reference to the node
// alone does not keep the leaf alive: its `variable` is None once the leaf is gone.
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  Node* node = leaf->grad_accumulator_if_made();
  if (!node) {
    static std::mutex making;  // two threads may record ops on one leaf at once
    std::lock_guard<std::mutex> lock(making);
    node = leaf->grad_accumulator_if_made();
    if (!node) {
      auto made = std::make_shared<AccumulateGrad>(leaf);
      node = made.get();
      leaf->set_grad_accumulator(std::move(made));
    }
  }
  return std::shared_ptr<Node>(leaf, node);
}

Edge gradient_edge(const Tensor& t) {
  if (t->view_history_is_stale()) regenerate_view_history(t);
  if (t->grad_fn()) return Edge{t->grad_fn(), t->output_nr()};
  if (t->requires_grad()) return Edge{grad_accumulator(t), 0};
  return Edge{};
}

void add_next_edge(Node& node, const Tensor& input) {
  if (input && forward_ad::has_tangent(*input) && !node.has_forward_formula()) {
    forward_ad::throw_no_forward_formula(node);
  }
  node.next_edges().push_back(input ? gradient_edge(input) : Edge{});  // an absent optional input
}

void set_history(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
                 const Tensor& output) {
  bool wants_graph = true;
  if (forward_ad::active()) {
    // Recorded for a tangent only (Note [Forward-mode AD]): no graph to join.
    wants_graph = false;
    for (const Tensor* in : inputs) wants_graph = wants_graph || (*in && (*in)->requires_grad());
    wants_graph = wants_graph && GradMode::is_enabled();
  }
  for (const Tensor* in : inputs) add_next_edge(*node, *in);
  if (wants_graph) output->set_history(node, 0);
}

void release_iteratively(std::shared_ptr<Node>&& node) {
  // Only the last strong reference starts a cascade.
  if (node.use_count() != 1) {
    node.reset();
    return;
  }
  thread_local std::vector<std::shared_ptr<Node>> pending;
  thread_local bool draining = false;
  pending.push_back(std::move(node));
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    n.reset();  // its destructor may queue more
  }
  draining = false;
}

}  // namespace ember
