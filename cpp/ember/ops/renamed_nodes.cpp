// Ops torch records under a name of their own over another op's formula:
// vdot, narrow_copy, the unsafe splits and the `_copy` forms of the view ops.
// Each runs the related op (which checks the arguments with torch's messages
// and records its node), then hands the result's history to a Renamed node.

#include <array>
#include <utility>

#include "ember/autograd/functions/shape.h"

namespace ember {

namespace {

constexpr size_t kRenamedCount = static_cast<size_t>(RenamedNode::UnbindCopy) + 1;

constexpr std::array<const char*, kRenamedCount> kNames = {
    "VdotBackward0",           "NarrowCopyBackward0",
    "UnsafeSplitBackward0",    "UnsafeSplitWithSizesBackward0",
    "ViewBackward0_copy",      "TBackward0_copy",
    "TransposeBackward0_copy", "SqueezeBackward0_copy",
    "SqueezeBackward1_copy",   "SqueezeBackward2_copy",
    "UnsqueezeBackward0_copy", "PermuteBackward0_copy",
    "ExpandBackward0_copy",    "DiagonalBackward0_copy",
    "SelectBackward0_copy",    "SliceBackward0_copy",
    "AliasBackward0_copy",     "AsStridedBackward0_copy",
    "SplitBackward0_copy",     "SplitWithSizesBackward0_copy",
    "UnbindBackward0_copy",
};

template <RenamedNode R>
std::shared_ptr<Node> wrap(const std::shared_ptr<Node>& inner) {
  auto node = std::make_shared<Renamed<R>>();
  node->inner = inner;
  node->next_edges() = inner->next_edges();
  return node;
}

template <size_t... I>
std::shared_ptr<Node> renamed(RenamedNode r, const std::shared_ptr<Node>& inner,
                              std::index_sequence<I...>) {
  std::shared_ptr<Node> out;
  ((static_cast<size_t>(r) == I ? (out = wrap<static_cast<RenamedNode>(I)>(inner), 0) : 0), ...);
  return out;
}

// Gives each of `to` the history of the matching one of `from` under r's
// name, and its tangent (a copy of it when `to` holds copies).
void take_over(RenamedNode r, const TensorVec& from, const TensorVec& to, bool copies) {
  for (size_t i = 0; i < from.size(); ++i) {
    if (!forward_ad::has_tangent(from[i])) continue;
    const Tensor t = forward_ad::tangent(from[i]);
    forward_ad::set_tangent(to[i], copies ? contiguous_clone(t) : t);
  }
  if (from.empty() || !from[0]->grad_fn()) return;
  const std::shared_ptr<Node> node =
      renamed(r, from[0]->grad_fn(), std::make_index_sequence<kRenamedCount>{});
  for (size_t i = 0; i < from.size(); ++i) to[i]->set_history(node, from[i]->output_nr());
}

// The unsafe splits' outputs share the input's memory but are not views:
// torch lets them be written in place like any tensor.
TensorVec unsafe_pieces(RenamedNode r, const TensorVec& views) {
  TensorVec out;
  for (const Tensor& v : views) {
    out.push_back(std::make_shared<TensorImpl>(v->storage(), v->offset(), v->shape(), v->strides(),
                                               v->dtype()));
  }
  take_over(r, views, out, /*copies=*/false);
  return out;
}

}  // namespace

const char* renamed_node_name(RenamedNode r) { return kNames[static_cast<size_t>(r)]; }

Tensor vdot(const Tensor& a, const Tensor& b) {
  Tensor out = dot(a, b);  // real tensors: vdot is dot, under its own name
  if (out->grad_fn()) {
    out->set_history(
        renamed(RenamedNode::Vdot, out->grad_fn(), std::make_index_sequence<kRenamedCount>{}), 0);
  }
  return out;
}

TensorVec unsafe_split(const Tensor& a, int64_t split_size, int64_t dim) {
  return unsafe_pieces(RenamedNode::UnsafeSplit, split(a, split_size, dim));
}

TensorVec unsafe_split_with_sizes(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim) {
  return unsafe_pieces(RenamedNode::UnsafeSplitWithSizes, split_with_sizes(a, sizes, dim));
}

TensorVec unsafe_chunk(const Tensor& a, int64_t chunks, int64_t dim) {
  return unsafe_pieces(RenamedNode::UnsafeSplit, chunk(a, chunks, dim));
}

Tensor copy_of_view(RenamedNode r, const Tensor& view) {
  Tensor out = contiguous_clone(view);
  take_over(r, {view}, {out}, /*copies=*/true);
  return out;
}

TensorVec copies_of_views(RenamedNode r, const TensorVec& views) {
  TensorVec out;
  for (const Tensor& v : views) out.push_back(contiguous_clone(v));
  take_over(r, views, out, /*copies=*/true);
  return out;
}

Tensor view_copy(const Tensor& a, const DimList& size) {
  Tensor shaped;
  {
    GradModeGuard no_grad(false);
    shaped = view(contiguous_clone(a), size);  // checks the size with view's messages
  }
  // Not a view: the copy is the result's own memory.
  Tensor out = std::make_shared<TensorImpl>(shaped->storage(), shaped->offset(), shaped->shape(),
                                            shaped->strides(), shaped->dtype());
  if (any_requires_grad(a)) record<ViewBackward0>(out, a)->self_shape = a->shape();
  linear_tangent(out, a, [&](const Tensor& t) { return reshape(contiguous_clone(t), size); });
  take_over(RenamedNode::ViewCopy, {out}, {out}, /*copies=*/false);
  return out;
}

}  // namespace ember
