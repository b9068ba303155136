// In-place ops. See Note [In-place ops].

#include "ember/autograd/functions/elementwise.h"
#include "ember/kernels/elementwise.h"

namespace ember {

// Note [In-place ops]
// An in-place op writes into self's storage and bumps its version counter
// (Note [Version counter]). With grad mode on:
//  - a leaf that requires grad may not be written (its .grad would describe
//    values that no longer exist), exactly as torch refuses it;
//  - a non-leaf is rebased: a new node whose edges continue into self's old
//    history becomes self's grad_fn;
//  - writing through a view of a tensor that requires grad would need the view
//    machinery torch calls CopySlices; Ember refuses it with an error rather
//    than return a silently wrong gradient.
void check_inplace(const Tensor& self) {
  if (!GradMode::is_enabled()) return;
  if (self->is_leaf() && self->requires_grad()) {
    throw std::runtime_error(
        "a leaf Variable that requires grad is being used in an in-place operation.");
  }
}

namespace {

void check_view_inplace(const Tensor& self, bool records) {
  if (records && self->is_view()) {
    throw std::runtime_error(
        "ember does not support in-place operations on a view of a tensor that requires grad "
        "while grad mode is on; use an out-of-place op (e.g. y = y + 1) instead");
  }
}

// Rebases self onto `node`: the node's first edge continues self's old history.
template <typename NodeT>
std::shared_ptr<NodeT> rebase(Tensor& self, const Tensor* other) {
  auto node = std::make_shared<NodeT>();
  node->next_edges().push_back(gradient_edge(self));
  if (other) node->next_edges().push_back(gradient_edge(*other));
  self->set_history(node, 0);
  return node;
}

bool records(const Tensor& self, const Tensor* other) {
  return GradMode::is_enabled() && (self->requires_grad() || (other && (*other)->requires_grad()));
}

}  // namespace

Tensor& add_(Tensor& self, const Tensor& other, double alpha) {
  check_inplace(self);
  const bool rec = records(self, &other);
  check_view_inplace(self, rec);
  GradFit other_meta(other, self);
  if (alpha == 1.0) {
    binary_inplace_kernel(BinaryOp::Add, self, other);
  } else {
    GradModeGuard no_grad(false);
    binary_inplace_kernel(BinaryOp::Add, self, mul(other, Scalar(alpha)));
  }
  self->bump_version();
  if (rec) {
    auto node = rebase<AddBackward0>(self, &other);
    node->other_meta = std::move(other_meta);
    node->alpha = alpha;
  }
  return self;
}

Tensor& add_(Tensor& self, const Scalar& other) {
  check_inplace(self);
  const bool rec = records(self, nullptr);
  check_view_inplace(self, rec);
  binary_scalar_inplace_kernel(BinaryOp::Add, self, other);
  self->bump_version();
  if (rec) rebase<AddBackward0>(self, nullptr)->self_meta = GradFit(self, self);
  return self;
}

Tensor& sub_(Tensor& self, const Tensor& other, double alpha) { return add_(self, other, -alpha); }

Tensor& sub_(Tensor& self, const Scalar& other) {
  return add_(self, Scalar(-other.value, other.kind));
}

Tensor& mul_(Tensor& self, const Tensor& other) {
  check_inplace(self);
  const bool rec = records(self, &other);
  check_view_inplace(self, rec);
  // The formula needs self's old values when other requires grad.
  Tensor old_self = rec && other->requires_grad() ? contiguous_clone(self) : nullptr;
  GradFit other_meta(other, self);
  binary_inplace_kernel(BinaryOp::Mul, self, other);
  self->bump_version();
  if (rec) {
    auto node = rebase<MulBackward0>(self, &other);
    if (old_self) node->self = SavedTensor(old_self, false);
    if (node->next_edges()[0].node) node->other = SavedTensor(other, false);
    node->other_meta = std::move(other_meta);
  }
  return self;
}

Tensor& mul_(Tensor& self, const Scalar& other) {
  check_inplace(self);
  const bool rec = records(self, nullptr);
  check_view_inplace(self, rec);
  binary_scalar_inplace_kernel(BinaryOp::Mul, self, other);
  self->bump_version();
  if (rec) {
    auto node = rebase<MulBackward0>(self, nullptr);
    node->self_meta = GradFit(self, self);
    node->other_scalar = other.value;
  }
  return self;
}

Tensor& div_(Tensor& self, const Tensor& other) {
  check_inplace(self);
  const bool rec = records(self, &other);
  check_view_inplace(self, rec);
  Tensor old_self = rec && other->requires_grad() ? contiguous_clone(self) : nullptr;
  GradFit other_meta(other, self);
  binary_inplace_kernel(BinaryOp::Div, self, other);
  self->bump_version();
  if (rec) {
    auto node = rebase<DivBackward0>(self, &other);
    if (old_self) node->self = SavedTensor(old_self, false);
    node->other = SavedTensor(other, false);
    node->other_meta = std::move(other_meta);
  }
  return self;
}

Tensor& div_(Tensor& self, const Scalar& other) {
  check_inplace(self);
  const bool rec = records(self, nullptr);
  check_view_inplace(self, rec);
  binary_scalar_inplace_kernel(BinaryOp::Div, self, other);
  self->bump_version();
  if (rec) {
    auto node = rebase<DivBackward0>(self, nullptr);
    node->self_meta = GradFit(self, self);
    node->other_scalar = other.value;
  }
  return self;
}

Tensor& fill_(Tensor& self, const Scalar& value) {
  check_inplace(self);
  const bool rec = records(self, nullptr);
  check_view_inplace(self, rec);
  fill_raw(self, value.value);
  self->bump_version();
  if (rec) rebase<FillBackward0>(self, nullptr);
  return self;
}

Tensor& zero_(Tensor& self) {
  check_inplace(self);
  const bool rec = records(self, nullptr);
  check_view_inplace(self, rec);
  fill_raw(self, 0.0);
  self->bump_version();
  if (rec) rebase<ZeroBackward0>(self, nullptr);
  return self;
}

Tensor& copy_(Tensor& self, const Tensor& src) {
  check_inplace(self);
  const bool rec = records(self, &src);
  check_view_inplace(self, rec);
  if (self->storage() == src->storage()) {
    copy_kernel(self, contiguous_clone(src));
  } else {
    copy_kernel(self, src);
  }
  self->bump_version();
  if (rec) rebase<CopyBackwards>(self, &src)->src_meta = GradFit(src, self);
  return self;
}

void add_inplace_unchecked(const Tensor& self, const Tensor& g) {
  binary_inplace_kernel(BinaryOp::Add, self, g);
  self->bump_version();
}

TensorList FillBackward0::apply(TensorList&&) { return TensorList(next_edges().size()); }
TensorList ZeroBackward0::apply(TensorList&&) { return TensorList(next_edges().size()); }
TensorList CopyBackwards::apply(TensorList&& grads) {
  TensorList out(next_edges().size());
  if (wants_grad(*this, 1)) out[1] = src_meta.fit(grads[0]);
  return out;
}

}  // namespace ember
