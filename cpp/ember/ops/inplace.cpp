// In-place ops. See Note [In-place ops].

#include "ember/autograd/functions/elementwise.h"
#include "ember/kernels/elementwise.h"
#include "ember/kernels/vector_math.h"
#include "ember/ops/unary.h"
#include "ember/parallel.h"

namespace ember {

// Note [In-place ops]
// An in-place op writes into self's storage and bumps its version counter
// (Note [Version counter]). With grad mode on:
//  - a leaf that requires grad may not be written (its .grad would describe
//    values that no longer exist), exactly as torch refuses it;
//  - a non-leaf is rebased: a new node whose edges continue into self's old
//    history becomes self's grad_fn;
//  - a view is handled as in Note [Views and in-place].
//
// Note [Views and in-place]
// Writing through a view changes its base, so the base's history must change
// too (torch's CopySlices). The in-place op's node is built as usual for the
// view's values; then the base gets a CopySlices node that, given the base's
// gradient, runs that node on the view's region and writes the result back
// into the region, passing the rest through to the base's old history. The
// view's own grad_fn becomes AsStridedBackward0, reading its region of the
// base's gradient. Other views made before the write are now stale: their
// grad_fn describes old values. Each recorded in-place op bumps the storage's
// history counter; when a stale view is next used (gradient_edge), its grad_fn
// is regenerated as an AsStridedBackward0 onto the base's current history, as
// torch does. Under create_graph, CopySlices and AsStridedBackward0 record
// their own steps, so higher-order gradients flow (Note [Placing a gradient]).
void check_inplace(const Tensor& self) {
  if (!GradMode::is_enabled()) return;
  current_grad_fn(self);  // a stale view is not a leaf (Note [Views and in-place])
  if (self->is_leaf() && self->requires_grad()) {
    throw std::runtime_error(
        self->is_view()
            ? "a view of a leaf Variable that requires grad is being used in an in-place operation."
            : "a leaf Variable that requires grad is being used in an in-place operation.");
  }
  if (self->is_view() &&
      (self->views_a_grad_leaf() || (self->base()->is_leaf() && self->base()->requires_grad()))) {
    throw std::runtime_error(
        "a view of a leaf Variable that requires grad is being used in an in-place operation.");
  }
}

Tensor ViewGeometry::region_of(const Tensor& base_like) const {
  // A gradient laid out like the base always holds the region; the check
  // guards the memory should a layout ever disagree with the geometry.
  int64_t start = base_like->offset() + offset;
  int64_t end = start + 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) end = start;
    if (end == start) break;
    end += (shape[d] - 1) * strides[d];
  }
  // An empty region touches no memory; its offset may lie past the end (x[3:] of 3 rows).
  if (end == start) start = end = base_like->offset();
  const int64_t item = static_cast<int64_t>(itemsize(base_like->dtype()));
  if (start < 0 || end * item > static_cast<int64_t>(base_like->storage()->nbytes())) {
    throw std::runtime_error("setStorage: sizes " + shape_str(shape) + ", strides " +
                             shape_str(strides) + ", storage offset " + std::to_string(start) +
                             " are out of bounds for storage of size " +
                             std::to_string(base_like->storage()->nbytes()));
  }
  return std::make_shared<TensorImpl>(base_like->storage(), start, shape, strides,
                                      base_like->dtype());
}

// Note [Views that refuse in-place ops], in torch's words.
[[noreturn]] void refuse_marked_view(const Tensor& view, bool written) {
  const std::string what = written ? "is being" : "its base or another view of its base has been";
  const Node* fn = view->grad_fn().get();
  const std::string output =
      fn ? "Output " + std::to_string(view->output_nr()) + " of " + forward_op_name(*fn) : "";
  if (view->view_creation() == ViewCreation::MultiOutput && fn) {
    throw std::runtime_error(
        output + " is a view and " + what +
        " modified inplace. This view is the output of a function that returns multiple views. "
        "Such functions do not allow the output views to be modified inplace. You should replace "
        "the inplace operation by an out-of-place one.");
  }
  const std::string who = fn ? output + " is a view of a view which was created in"
                             : std::string("A view was created in");
  throw std::runtime_error(
      who + " no_grad mode and " + what +
      " modified inplace with grad mode enabled. Given that this use case is ambiguous and "
      "error-prone, it is forbidden. You can clarify your code by moving both the view and the "
      "inplace either both inside the no_grad block (if you don't want the inplace to be tracked) "
      "or both outside (if you want the inplace to be tracked).");
}

namespace {

// A view of `t` (contiguous, shaped like the base) at the geometry's region,
// recorded as AsStridedBackward0 when t requires grad.
Tensor region_view(const Tensor& t, const ViewGeometry& g) {
  Tensor region = make_view(t, t->offset() + g.offset, g.shape, g.strides);
  if (any_requires_grad(t)) record<AsStridedBackward0>(region, t)->geometry = g;
  return region;
}

}  // namespace

TensorList CopySlices::apply(TensorList&& grads) {
  if (GradMode::is_enabled()) return apply_recorded(std::move(grads));
  Tensor result = contiguous_clone(grads[0]);
  Tensor region = geometry.region_of(result);
  TensorList op_grads = op->apply(TensorList{contiguous_clone(region)});
  if (op_grads.size() > 0 && op_grads[0]) {
    copy_kernel(region, op_grads[0]);
  } else {
    fill_raw(region, 0.0);
  }
  TensorList out(next_edges().size());
  out[0] = result;
  for (size_t i = 1; i < out.size() && i < op_grads.size(); ++i) out[i] = op_grads[i];
  return out;
}

// The same steps with recorded ops, so that the gradient this returns has a
// graph of its own (Note [Placing a gradient]).
TensorList CopySlices::apply_recorded(TensorList&& grads) {
  Tensor result = clone(grads[0]);
  Tensor region = region_view(result, geometry);
  TensorList op_grads = op->apply(TensorList{clone(region)});
  if (op_grads.size() > 0 && op_grads[0]) {
    copy_(region, op_grads[0]);
  } else {
    zero_(region);
  }
  TensorList out(next_edges().size());
  out[0] = result;
  for (size_t i = 1; i < out.size() && i < op_grads.size(); ++i) out[i] = op_grads[i];
  return out;
}

TensorList AsStridedScatterBackward0::apply(TensorList&& grads) {
  return {clone(region_view(contiguous(grads[0]), geometry))};
}

namespace {

// Refuses views whose gradient cannot be written into the base's gradient
// by a plain copy: a non-contiguous base, or a view that repeats elements
// (expand), whose region copy would drop all but one contribution.
void check_view_geometry(const Tensor& view) {
  if (!view->base()->is_contiguous()) {
    throw std::runtime_error(
        "ember supports in-place operations through a view only when the viewed tensor is "
        "contiguous");
  }
  for (size_t d = 0; d < view->shape().size(); ++d) {
    if (view->strides()[d] == 0 && view->shape()[d] > 1) {
      throw std::runtime_error(
          "unsupported operation: a view with overlapping elements (e.g. from expand) is "
          "written in place, or used after its base was written in place, while gradients are "
          "recorded. Please clone() the tensor first.");
    }
  }
}

ViewGeometry geometry_of(const Tensor& view) {
  check_view_geometry(view);
  const Tensor& base = view->base();
  if (view->storage() != base->storage()) {
    throw std::runtime_error(
        "a view and its base no longer share memory (one was given new memory through .data), "
        "so the view cannot be written in place or rebased onto the base's history. Make the "
        "view again from the base.");
  }
  ViewGeometry g;
  g.base_shape = base->shape();
  g.offset = view->offset() - base->offset();
  g.shape = view->shape();
  g.strides = view->strides();
  return g;
}

std::shared_ptr<Node> view_of_base_node(const Tensor& base, ViewGeometry g) {
  auto view_fn = std::make_shared<AsStridedBackward0>();
  view_fn->next_edges().push_back(gradient_edge(base));
  view_fn->geometry = std::move(g);
  return view_fn;
}

// As torch: hooks registered before an in-place op stay with the old history
// (they see the gradient of the old values); hooks registered after it, and a
// retained grad, belong to the new one.
void hand_over_watches(const Tensor& self, const std::shared_ptr<Node>& old_fn) {
  if (self->hook_list()) self->drop_hook_list();
  if (old_fn) old_fn->stop_retaining(self);  // even if retain_grad() comes later
  if (self->retains_grad()) watch_non_leaf(self);
}

void rebase_view(Tensor& view, const std::shared_ptr<Node>& op) {
  const Tensor& base = view->base();
  ViewGeometry g = geometry_of(view);
  auto copy = std::make_shared<CopySlices>();
  copy->next_edges().push_back(gradient_edge(base));
  for (size_t i = 1; i < op->next_edges().size(); ++i) {
    copy->next_edges().push_back(op->next_edges()[i]);
  }
  copy->geometry = g;
  copy->op = op;
  const std::shared_ptr<Node> base_fn = base->grad_fn();
  base->set_history(copy, 0);
  hand_over_watches(base, base_fn);
  view->set_history(view_of_base_node(base, std::move(g)), 0);
}

// Rebases self onto `node`: the node's first edge continues self's old history.
void rebase_onto(Tensor& self, const std::shared_ptr<Node>& node) {
  const std::shared_ptr<Node> old_fn = self->grad_fn();
  self->storage()->bump_history();
  if (self->is_view()) {
    rebase_view(self, node);
    self->refresh_view_history();
  } else {
    self->set_history(node, 0);
  }
  hand_over_watches(self, old_fn);
}

template <typename NodeT>
std::shared_ptr<NodeT> rebase(Tensor& self, const Tensor* other) {
  auto node = std::make_shared<NodeT>();
  node->next_edges().push_back(gradient_edge(self));
  if (other) node->next_edges().push_back(gradient_edge(*other));
  rebase_onto(self, node);
  return node;
}

bool is_axpy(const Tensor& self, const Tensor& other) {
  return self->dtype() == DType::Float32 && other->dtype() == DType::Float32 &&
         self->is_contiguous() && other->is_contiguous() && self->shape() == other->shape() &&
         self->storage() != other->storage();
}

// torch's checks before writing in place: the target may not repeat elements
// (expand), and an operand may not partly overlap it (x[1:] += x[:-1] would
// read values it already wrote). Like torch, only dense operands are compared.
void check_overlap(const Tensor& self, const Tensor* other) {
  if (self->numel() == 0) return;  // nothing is written
  for (size_t d = 0; d < self->shape().size(); ++d) {
    if (self->strides()[d] == 0 && self->shape()[d] > 1) {
      throw std::runtime_error(
          "unsupported operation: more than one element of the written-to tensor refers to a "
          "single memory location. Please clone() the tensor before performing the operation.");
    }
  }
  if (!other || (*other)->storage() != self->storage()) return;
  const Tensor& o = *other;
  if (!self->is_contiguous() || !o->is_contiguous() || self->numel() == 0 || o->numel() == 0) {
    return;
  }
  const int64_t a0 = self->offset() * static_cast<int64_t>(itemsize(self->dtype()));
  const int64_t a1 = a0 + self->numel() * static_cast<int64_t>(itemsize(self->dtype()));
  const int64_t b0 = o->offset() * static_cast<int64_t>(itemsize(o->dtype()));
  const int64_t b1 = b0 + o->numel() * static_cast<int64_t>(itemsize(o->dtype()));
  const bool same = a0 == b0 && a1 == b1;
  if (!same && a0 < b1 && b0 < a1) {
    throw std::runtime_error(
        "unsupported operation: some elements of the input tensor and the written-to tensor "
        "refer to a single memory location. Please clone() the tensor before performing the "
        "operation.");
  }
}

// Whether the in-place op records a node; checks, before anything is written,
// that the write is allowed and that a view target can be rebased.
// Fills (fill_, zero_) write one value everywhere, so repeated elements are
// harmless and torch allows them: `overlap_ok` skips that check.
bool records(const Tensor& self, const Tensor* other, bool overlap_ok = false) {
  if (!overlap_ok) check_overlap(self, other);
  const bool rec = GradMode::is_enabled() && is_floating(self->dtype()) &&
                   (self->requires_grad() || (other && (*other)->requires_grad()));
  // A no_grad view of a tensor in a graph counts as requiring grad, as in
  // torch, so even a write of constants through it is refused.
  const bool joins_graph =
      rec || (GradMode::is_enabled() && self->is_view() && self->base()->requires_grad());
  if (joins_graph && self->is_view()) {
    if (self->view_creation() != ViewCreation::Default) refuse_marked_view(self, true);
    check_view_geometry(self);
  }
  return rec;
}

}  // namespace

void regenerate_view_history(const Tensor& view) {
  if (view->view_creation() != ViewCreation::Default) refuse_marked_view(view, false);
  view->set_history(view_of_base_node(view->base(), geometry_of(view)), 0);
  view->refresh_view_history();
}

const std::shared_ptr<Node>& current_grad_fn(const Tensor& t) {
  if (t->view_history_is_stale()) regenerate_view_history(t);
  return t->grad_fn();
}

// Note [In-place ops and tangents]
// Forward AD through an in-place op replaces self's tangent with the new one
// (copy_ does it; the arithmetic ops, given a tangent, run out of place and
// copy_ the result). Views of self made earlier would keep tangents that
// describe the old values, so a write into memory that other tensors share
// (views, or the tensor make_dual aliased) is refused when a tangent is
// involved, rather than leaving them silently wrong.
namespace {

void check_inplace_tangent(const Tensor& self, const Tensor* other, const char* op) {
  const bool involved = forward_ad::has_tangent(self) || (other && forward_ad::has_tangent(*other));
  if (involved && (self->is_view() || self->storage().use_count() > 1)) {
    throw NotImplementedError(std::string("Trying to use forward AD with ") + op +
                              " on a tensor that shares memory with other tensors (a view or a "
                              "tensor make_dual aliased), which is not supported; apply the op "
                              "out of place instead.");
  }
}

// The new tangent of self after `self.copy_(src)`: src's, or zeros when only
// self had one.
void copy_tangent(const Tensor& self, const Tensor& src) {
  if (!forward_ad::has_tangent(self) && !forward_ad::has_tangent(src)) return;
  Tensor t = forward_ad::tangent(src);
  if (!t) {
    t = zeros(self->shape(), self->dtype());
  } else if (t->shape() != self->shape()) {
    t = expand(t, self->shape());
  }
  forward_ad::set_tangent(self, t);
}

}  // namespace

namespace {

// self += sign * alpha * other, recorded as NodeT (AddBackward0 or SubBackward0)
// with torch's alpha.
template <typename NodeT>
Tensor& add_scaled_(Tensor& self, const Tensor& other, double alpha, double sign) {
  if (forward_ad::any_tangent(self, other)) return copy_(self, add(self, other, sign * alpha));
  check_inplace(self);
  const bool rec = records(self, &other);
  GradFit other_meta(other, self);
  const double scale = sign * alpha;
  if (scale == 1.0) {
    binary_inplace_kernel(BinaryOp::Add, self, other);
  } else if (is_axpy(self, other)) {
    // The optimizer update p -= lr * g: one pass, no temporary.
    const float* x = other->data<float>();
    float* y = self->data<float>();
    const float a = static_cast<float>(scale);
    parallel_for(self->numel(), kParallelGrain,
                 [&](int64_t b, int64_t e) { axpy_contiguous(a, x + b, y + b, e - b); });
  } else if (scale == -1.0) {
    binary_inplace_kernel(BinaryOp::Sub, self, other);
  } else {
    const DType t = result_type(self, other);
    binary_inplace_kernel(
        BinaryOp::Add, self,
        binary_scalar_kernel(BinaryOp::Mul, convert(other, t), typed_alpha(scale, t)));
  }
  self->bump_version();
  if (rec) {
    auto node = rebase<NodeT>(self, &other);
    node->other_meta = std::move(other_meta);
    node->alpha = alpha;
  }
  return self;
}

template <typename NodeT>
Tensor& add_scalar_(Tensor& self, const Scalar& other, BinaryOp op) {
  if (forward_ad::has_tangent(self)) {
    return copy_(self, op == BinaryOp::Add ? add(self, other) : sub(self, other));
  }
  check_inplace(self);
  const bool rec = records(self, nullptr);
  binary_scalar_inplace_kernel(op, self, other);
  self->bump_version();
  if (rec) rebase<NodeT>(self, nullptr)->self_meta = GradFit(self, self);
  return self;
}

}  // namespace

Tensor& add_(Tensor& self, const Tensor& other, double alpha) {
  return add_scaled_<AddBackward0>(self, other, alpha, 1.0);
}

Tensor& add_(Tensor& self, const Scalar& other) {
  return add_scalar_<AddBackward0>(self, other, BinaryOp::Add);
}

Tensor& sub_(Tensor& self, const Tensor& other, double alpha) {
  if (self->dtype() == DType::Bool || other->dtype() == DType::Bool) {
    check_operands(BinaryOp::Sub, self->dtype(), other->dtype(), self->dtype());
  }
  return add_scaled_<SubBackward0>(self, other, alpha, -1.0);
}

Tensor& sub_(Tensor& self, const Scalar& other) {
  return add_scalar_<SubBackward0>(self, other, BinaryOp::Sub);
}

Tensor& mul_(Tensor& self, const Tensor& other) {
  if (forward_ad::any_tangent(self, other)) return copy_(self, mul(self, other));
  check_inplace(self);
  const bool rec = records(self, &other);
  // The formula needs self's old values when other requires grad, and other's
  // values as they are now: saved before the write, so y.mul_(y) makes backward
  // raise the modified-saved-tensor error, as torch's does.
  Tensor old_self = rec && other->requires_grad() ? clone(self) : nullptr;
  SavedTensor saved_other = rec ? SavedTensor(other, false) : SavedTensor();
  GradFit other_meta(other, self);
  binary_inplace_kernel(BinaryOp::Mul, self, other);
  self->bump_version();
  if (rec) {
    auto node = rebase<MulBackward0>(self, &other);
    if (old_self) node->self = SavedTensor(old_self, false);
    if (node->next_edges()[0].node) node->other = std::move(saved_other);
    node->other_meta = std::move(other_meta);
  }
  return self;
}

Tensor& mul_(Tensor& self, const Scalar& other) {
  if (forward_ad::has_tangent(self)) return copy_(self, mul(self, other));
  check_inplace(self);
  const bool rec = records(self, nullptr);
  binary_scalar_inplace_kernel(BinaryOp::Mul, self, other);
  self->bump_version();
  if (rec) {
    auto node = rebase<MulBackward0>(self, nullptr);
    node->self_meta = GradFit(self, self);
    node->scalar = SavedScalar(other.value, /*releasable=*/true);  // as torch saves it
  }
  return self;
}

Tensor& div_(Tensor& self, const Tensor& other) {
  if (forward_ad::any_tangent(self, other)) return copy_(self, div(self, other));
  check_inplace(self);
  const bool rec = records(self, &other);
  Tensor old_self = rec && other->requires_grad() ? clone(self) : nullptr;
  SavedTensor saved_other = rec ? SavedTensor(other, false) : SavedTensor();
  GradFit other_meta(other, self);
  binary_inplace_kernel(BinaryOp::Div, self, other);
  self->bump_version();
  if (rec) {
    auto node = rebase<DivBackward0>(self, &other);
    if (old_self) node->self = SavedTensor(old_self, false);
    node->other = std::move(saved_other);
    node->other_meta = std::move(other_meta);
  }
  return self;
}

Tensor& div_(Tensor& self, const Scalar& other) {
  if (forward_ad::has_tangent(self)) return copy_(self, div(self, other));
  check_inplace(self);
  const bool rec = records(self, nullptr);
  binary_scalar_inplace_kernel(BinaryOp::Div, self, other);
  self->bump_version();
  if (rec) {
    auto node = rebase<DivBackward0>(self, nullptr);
    node->self_meta = GradFit(self, self);
    node->scalar = SavedScalar(other.value, /*releasable=*/true);  // as torch saves it
  }
  return self;
}

// Integer ops: no gradient to record, but the version still moves.
Tensor& bitwise_(BinaryOp op, Tensor& self, const Tensor& other) {
  check_inplace(self);
  binary_inplace_kernel(op, self, other);
  self->bump_version();
  return self;
}

Tensor& bitwise_(BinaryOp op, Tensor& self, const Scalar& other) {
  check_inplace(self);
  binary_scalar_inplace_kernel(op, self, other);
  self->bump_version();
  return self;
}

Tensor& fill_(Tensor& self, const Scalar& value) {
  check_inplace(self);
  check_inplace_tangent(self, nullptr, "fill_");
  const bool rec = records(self, nullptr, /*overlap_ok=*/true);
  fill_raw(self, value);
  self->bump_version();
  if (rec) rebase<FillBackward0>(self, nullptr);
  if (forward_ad::has_tangent(self))
    forward_ad::set_tangent(self, zeros(self->shape(), self->dtype()));
  return self;
}

Tensor& zero_(Tensor& self) {
  check_inplace(self);
  check_inplace_tangent(self, nullptr, "zero_");
  const bool rec = records(self, nullptr, /*overlap_ok=*/true);
  fill_raw(self, 0.0);
  self->bump_version();
  if (rec) rebase<ZeroBackward0>(self, nullptr);
  if (forward_ad::has_tangent(self))
    forward_ad::set_tangent(self, zeros(self->shape(), self->dtype()));
  return self;
}

Tensor& copy_(Tensor& self, const Tensor& src) {
  check_inplace(self);
  check_inplace_tangent(self, &src, "copy_");
  const bool rec = records(self, &src);
  if (self->storage() == src->storage()) {
    copy_kernel(self, contiguous_clone(src));
  } else {
    copy_kernel(self, src);
  }
  self->bump_version();
  if (rec) rebase<CopyBackwards>(self, &src)->src_meta = GradFit(src, self);
  copy_tangent(self, src);
  return self;
}

namespace {

// A copy of self's values that stands for self in a graph: formulas that save
// it keep the values from before the write.
Tensor snapshot_with_history(const Tensor& self) {
  Tensor original = contiguous_clone(self);
  if (self->requires_grad()) {
    const Edge e = gradient_edge(self);
    original->set_history(e.node, e.input_nr);
  }
  if (forward_ad::has_tangent(self)) forward_ad::set_tangent(original, forward_ad::tangent(self));
  return original;
}

// bool < integer < floating: a result may be written into its own kind or a higher one.
int kind_rank(DType t) { return t == DType::Bool ? 0 : (is_floating(t) ? 2 : 1); }

void check_assignable(const Tensor& self, const Tensor& result) {
  if (kind_rank(result->dtype()) > kind_rank(self->dtype())) {
    throw std::runtime_error(std::string("result type ") + scalar_type_name(result->dtype()) +
                             " can't be cast to the desired output type " +
                             scalar_type_name(self->dtype()));
  }
  if (result->shape() != self->shape()) {
    throw std::runtime_error("output with shape " + shape_str(self->shape()) +
                             " doesn't match the broadcast shape " + shape_str(result->shape()));
  }
}

}  // namespace

Tensor& assign_result_(Tensor& self, const TensorVec& others, const char* op,
                       const std::function<Tensor(const Tensor& original)>& compute) {
  check_inplace(self);
  for (const Tensor& o : others) check_inplace_tangent(self, &o, op);
  if (others.empty()) check_inplace_tangent(self, nullptr, op);
  bool rec = records(self, others.empty() ? nullptr : &others[0]);
  for (size_t i = 1; i < others.size(); ++i) {
    const bool joins =
        GradMode::is_enabled() && is_floating(self->dtype()) && others[i]->requires_grad();
    if (joins) {
      rec = records(self, &others[i]) || rec;
    } else {
      check_overlap(self, &others[i]);
    }
  }
  const Tensor result = compute(rec ? snapshot_with_history(self) : self);
  check_assignable(self, result);
  copy_kernel(self, result);
  self->bump_version();
  if (rec && result->grad_fn()) {
    rebase_onto(self, result->grad_fn());
  } else if (rec) {
    rebase<FillBackward0>(self, nullptr);  // a result that depends on no input: zero gradients
  }
  copy_tangent(self, result);
  return self;
}

Tensor& unary_(UnaryOp op, Tensor& self) {
  // With nothing to record and no tangent, the kernel overwrites self
  // directly; otherwise self's old values are kept apart for the node and the
  // tangent formula (assign_result_, which makes its own checks).
  if (!forward_ad::has_tangent(self)) {
    check_inplace(self);
    if (!records(self, nullptr) && unary_inplace_kernel(op, self)) {
      self->bump_version();
      return self;
    }
  }
  const std::string name = std::string(unary_entry(op).name) + "_";
  return assign_result_(self, {}, name.c_str(),
                        [op](const Tensor& original) { return unary(op, original); });
}

// ---- in-place comparisons: self becomes 0/1 in its own dtype ----

namespace {

// The comparison node torch records for op: *Backward1 against a tensor,
// *Backward0 against a number.
std::shared_ptr<CompareBackward> comparison_node(BinaryOp op, bool tensor_other) {
  switch (op) {
    case BinaryOp::Eq:
      if (tensor_other) return std::make_shared<EqBackward1>();
      return std::make_shared<EqBackward0>();
    case BinaryOp::Ne:
      if (tensor_other) return std::make_shared<NeBackward1>();
      return std::make_shared<NeBackward0>();
    case BinaryOp::Lt:
      if (tensor_other) return std::make_shared<LtBackward1>();
      return std::make_shared<LtBackward0>();
    case BinaryOp::Le:
      if (tensor_other) return std::make_shared<LeBackward1>();
      return std::make_shared<LeBackward0>();
    case BinaryOp::Gt:
      if (tensor_other) return std::make_shared<GtBackward1>();
      return std::make_shared<GtBackward0>();
    default:
      if (tensor_other) return std::make_shared<GeBackward1>();
      return std::make_shared<GeBackward0>();
  }
}

// A comparison's result, recorded with the comparison's node when an operand
// requires grad (its gradients are zeros, as torch's are).
Tensor recorded_comparison(BinaryOp op, const Tensor& a, const Tensor* b, const Tensor& result) {
  const bool want = GradMode::is_enabled() && (a->requires_grad() || (b && (*b)->requires_grad()));
  if (!want) return result;
  auto node = comparison_node(op, b != nullptr);
  node->metas.emplace_back(a);
  if (b) node->metas.emplace_back(*b);
  if (b) {
    set_history(node, {&a, b}, result);
  } else {
    set_history(node, {&a}, result);
  }
  return result;
}

}  // namespace

Tensor& compare_(BinaryOp op, Tensor& self, const Tensor& other) {
  return assign_result_(self, {other}, "comparison", [&](const Tensor& original) {
    return recorded_comparison(op, original, &other, compare(op, original, other));
  });
}

Tensor& compare_(BinaryOp op, Tensor& self, const Scalar& other) {
  return assign_result_(self, {}, "comparison", [&](const Tensor& original) {
    return recorded_comparison(op, original, nullptr, compare(op, original, other));
  });
}

TensorList CompareBackward::apply(TensorList&& grads) {
  TensorList out(next_edges().size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (wants_grad(*this, i)) out[i] = zeros(metas[i].shape, metas[i].dtype);
  }
  (void)grads;
  return out;
}

void add_inplace_unchecked(const Tensor& self, const Tensor& g) {
  binary_inplace_kernel(BinaryOp::Add, self, g);
  self->bump_version();
}

// The overwritten values get a zero gradient (not none): like torch, the old
// history still runs, so its saved-tensor checks still fire.
namespace {
Tensor zeros_like_grad(const Tensor& g) { return zeros(g->shape(), g->dtype()); }
}  // namespace

TensorList FillBackward0::apply(TensorList&& grads) { return {zeros_like_grad(grads[0])}; }
TensorList ZeroBackward0::apply(TensorList&& grads) { return {zeros_like_grad(grads[0])}; }
TensorList CopyBackwards::apply(TensorList&& grads) {
  TensorList out(next_edges().size());
  if (wants_grad(*this, 0)) out[0] = zeros_like_grad(grads[0]);
  if (wants_grad(*this, 1)) out[1] = src_meta.fit(grads[0]);
  return out;
}

}  // namespace ember
