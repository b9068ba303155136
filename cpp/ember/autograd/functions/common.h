#pragma once
// Pieces shared by the backward nodes of every op family.

#include <array>
#include <memory>
#include <utility>

#include "ember/autograd/node.h"
#include "ember/ops.h"

namespace ember {

// Declares a node's torch name and its apply().
#define EMBER_NODE(NAME)                              \
  const char* name() const override { return #NAME; } \
  TensorList apply(TensorList&& grads) override

// A node whose op computes its output's tangent (Note [Forward-mode AD]).
#define EMBER_NODE_FWD(NAME) \
  EMBER_NODE(NAME);          \
  bool has_forward_formula() const override { return true; }

// The tangent of an op linear in `input`: the op applied to the input's tangent.
template <typename Op>
void linear_tangent(const Tensor& out, const Tensor& input, Op&& op) {
  if (!forward_ad::has_tangent(*input)) return;
  forward_ad::FormulaScope formula;
  forward_ad::set_tangent(out, op(forward_ad::tangent(input)));
}

// The tangent of a product linear in each operand: ta * b + a * tb for the
// operands that carry one.
template <typename Product>
void bilinear_tangent(const Tensor& out, const Tensor& a, const Tensor& b, Product&& product) {
  if (!forward_ad::has_tangent(a) && !forward_ad::has_tangent(b)) return;
  forward_ad::FormulaScope formula;
  const Tensor ta = forward_ad::tangent(a), tb = forward_ad::tangent(b);
  Tensor t = ta ? product(ta, b) : nullptr;
  if (tb) t = t ? add(t, product(a, tb)) : product(a, tb);
  forward_ad::set_tangent(out, t);
}

// Shape and dtype of a forward input: its gradient must come back in them.
struct InputMeta {
  Shape shape;
  DType dtype = DType::Float32;
  InputMeta() = default;
  explicit InputMeta(const Tensor& t) : shape(t->shape()), dtype(t->dtype()) {}
  // Reduces a broadcast gradient to this input and casts it back.
  Tensor fit(const Tensor& g) const {
    Tensor r = sum_to(g, shape);
    return r->dtype() == dtype ? r : to_dtype(r, dtype);
  }
};

// InputMeta for elementwise formulas, stored only when needed: when an input
// already has the output's shape and dtype (the common case) the gradient
// needs no fitting and the node keeps just a null pointer.
class GradFit {
 public:
  GradFit() = default;
  GradFit(const Tensor& input, const Tensor& output) {
    if (input->shape() != output->shape() || input->dtype() != output->dtype()) {
      meta_ = std::make_unique<InputMeta>(input);
    }
  }
  Tensor fit(const Tensor& g) const { return meta_ ? meta_->fit(g) : g; }
  Tensor fit(Tensor&& g) const { return meta_ ? meta_->fit(g) : std::move(g); }

 private:
  std::unique_ptr<InputMeta> meta_;
};

// Whether an op table (unary, binary, activation) has one entry per enum
// value, in the enum's order, so an entry is found by indexing.
template <typename Entry, size_t N>
constexpr bool in_enum_order(const Entry (&table)[N], size_t enum_count) {
  if (N != enum_count) return false;
  for (size_t i = 0; i < N; ++i) {
    if (static_cast<size_t>(table[i].op) != i) return false;
  }
  return true;
}

// One factory per enum value of an op table, in the enum's order, each making
// that value's node type (NodeT<value>, one C++ type per torch node name).
template <typename Base, typename Enum, template <Enum> class NodeT, size_t... I>
constexpr std::array<std::shared_ptr<Base> (*)(), sizeof...(I)> node_factories(
    std::index_sequence<I...>) {
  return {+[]() -> std::shared_ptr<Base> {
    return std::make_shared<NodeT<static_cast<Enum>(I)>>();
  }...};
}

// Makes a new NodeT(args...) the grad_fn of `out`, with one edge per input.
template <typename NodeT, typename... Args>
std::shared_ptr<NodeT> record(const Tensor& out, std::initializer_list<const Tensor*> inputs,
                              Args&&... args) {
  auto node = std::make_shared<NodeT>(std::forward<Args>(args)...);
  set_history(node, inputs, out);
  return node;
}
template <typename NodeT>
std::shared_ptr<NodeT> record(const Tensor& out, const Tensor& input) {
  return record<NodeT>(out, {&input});
}

// Note [Placing a gradient]
// Some backward formulas (slice, select, index, max/min along a dim, a view's
// region) place the incoming gradient into zeros of the input's shape with a
// raw kernel. The placement is linear in the gradient, and its own backward
// takes the same entries back out: the forward op again. When the gradient
// carries a graph (create_graph), the formula records the placement as a node
// named like torch's, whose apply runs that forward op, so gradients of every
// order flow through these formulas too.

// Whether a formula v * f'(saved) may run as one raw kernel: no graph to
// record and no tangent to carry (Note [Forward-mode AD]), and operands a
// kernel takes.
inline bool fusable_formula(const Tensor& v, const Tensor& saved) {
  return !any_requires_grad(v, saved) && v->shape() == saved->shape() && is_floating(v->dtype());
}

// Whether the backward pass running `node` wants the gradient flowing into
// `next`: false only while a pass restricted to some inputs (autograd.grad)
// runs node's formula and no requested input lies at or below `next`. See
// Note [Outputs a run wants].
bool run_wants(const Node& node, const Node* next);

// Whether the node must produce a gradient for forward input i.
inline bool wants_grad(const Node& n, size_t i) {
  if (i >= n.next_edges().size()) return false;
  const Node* next = n.next_edges()[i].node.get();
  return next != nullptr && run_wants(n, next);
}

}  // namespace ember
