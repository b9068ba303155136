#pragma once
// Forward-mode AD: the dual level and the tangents tensors carry within it.

#include <cstdint>
#include <initializer_list>

#include "ember/tensor.h"

namespace ember {

class Node;

namespace forward_ad {

// Note [Forward-mode AD]
// Inside a dual level a tensor may carry a tangent: the directional
// derivative of its value along the direction the user seeded with make_dual.
// Every op whose inputs carry tangents computes its output's tangent eagerly,
// from the op's forward formula (its Jacobian times the input tangents), in
// the same call that computes the value. Nothing is recorded for it: forward
// mode needs no graph and runs under no_grad too.
//  - One level at a time, as torch: levels are numbered from a global counter
//    and a tangent belongs to the level open when it was set. Closing the level
//    makes every tangent of it stale at once, without visiting the tensors.
//  - An op records its node when an input requires grad *or* carries a tangent
//    (any_requires_grad). The node is attached to the output only when a graph
//    is wanted; otherwise it exists just long enough for set_history to check
//    that the op has a forward formula. An op without one raises torch's
//    NotImplementedError there, so a tangent is never dropped silently.
//  - Tangents are computed with differentiable ops, and backward formulas run
//    on tensors that carry tangents, so forward-over-reverse (Hessian-vector
//    products) needs nothing further, provided a formula's fused kernel runs
//    only when neither its gradient nor a saved tensor carries a tangent
//    (any_requires_grad counts tangents). A node whose formula cannot carry
//    them refuses them (backward_carries_tangents, ConvolutionBackward0).
//  - A node that saves its own output saves an alias sharing the output's
//    ForwardGrad (Note [Saved tensors]), so the tangent reaches formulas that
//    use the saved output, whenever the op set it.

// The open level's number (0 when none). Levels count from 1.
uint64_t current_level();
inline bool active() { return current_level() != 0; }

// Opens a level; raises torch's error if one is open already.
uint64_t enter_level();
// Closes `level`, which must be the open one.
void exit_level(uint64_t level);

namespace detail {
extern thread_local int formula_depth;
}

// Whether an op on t must compute a tangent: t carries one of the open level,
// and no forward formula is being evaluated on this thread (FormulaScope).
inline bool has_tangent(const TensorImpl& t) {
  const auto& f = t.forward_grad();
  return f && f->tangent && f->level == current_level() && detail::formula_depth == 0;
}
inline bool has_tangent(const Tensor& t) { return t && has_tangent(*t); }
template <typename... Ts>
bool any_tangent(const Ts&... ts) {
  return (has_tangent(ts) || ...);
}

// Held while a forward formula runs. The formula reads primals and tangents
// as plain values: the ops it calls compute no tangents of their own (there
// is one level, so a tangent's tangent is never wanted), which also keeps a
// formula that reads a dual primal from recursing into itself.
class FormulaScope {
 public:
  FormulaScope() { ++detail::formula_depth; }
  ~FormulaScope() { --detail::formula_depth; }
  FormulaScope(const FormulaScope&) = delete;
  FormulaScope& operator=(const FormulaScope&) = delete;
};

// t's tangent of the open level, or null (also inside a FormulaScope).
Tensor tangent(const Tensor& t);
// t's tangent, or zeros shaped like t when it has none (for formulas summing
// the contributions of several inputs).
Tensor tangent_or_zeros(const Tensor& t);
// Sets t's tangent for the open level. The tangent must have t's shape; its
// dtype becomes t's. A null tangent clears it.
void set_tangent(const Tensor& t, const Tensor& tangent);
// For a node saving its output: `alias` (a history-free alias of `output`)
// shares the output's ForwardGrad, made now if the output has none yet.
void share_forward_grad(const Tensor& output, const Tensor& alias);

// Raises torch's NotImplementedError for a node type with no forward formula.
[[noreturn]] void throw_no_forward_formula(const Node& node);
// Raises it for `aten_op` when one of the inputs carries a tangent: for ops
// that decide on recording themselves, without add_next_edge's check.
void refuse_tangents(const char* aten_op, std::initializer_list<const Tensor*> inputs);

}  // namespace forward_ad
}  // namespace ember
