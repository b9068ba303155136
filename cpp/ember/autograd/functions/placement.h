#pragma once
// Backward nodes of ops that place one tensor's values into a copy of another
// (index_add, the view scatters, masked_scatter; formulas next to each op).

#include "ember/autograd/functions/common.h"

namespace ember {

// self's gradient passes through; source's is the gradient at the indexed
// slices (index_select), times alpha.
struct IndexAddBackward0 final : Node {
  EMBER_NODE_FWD(IndexAddBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;
  int64_t dim = 0;
  Scalar alpha = Scalar(1.0);
  InputMeta source_meta;
};

// The region of a tensor a view op picks: select(dim, index), slice(dim,
// start, end, step) or diagonal(offset, dim1, dim2).
struct ViewRegion {
  enum class Kind : uint8_t { Select, Slice, Diagonal };
  Kind kind = Kind::Select;
  int64_t dim = 0, index = 0;
  std::optional<int64_t> start, end;
  int64_t step = 1;
  int64_t offset = 0, dim1 = 0, dim2 = 1;
};
Tensor region_of(const Tensor& t, const ViewRegion& r);

// select/slice/diagonal_scatter: self's gradient with the region zeroed,
// src's the region of the gradient. torch names one node per view op.
struct ViewScatterBackwardBase : Node {
  TensorList apply(TensorList&& grads) override;
  bool has_forward_formula() const override { return true; }
  ViewRegion region;
  InputMeta src_meta;
};
struct SelectScatterBackward0 final : ViewScatterBackwardBase {
  const char* name() const override { return "SelectScatterBackward0"; }
};
struct SliceScatterBackward0 final : ViewScatterBackwardBase {
  const char* name() const override { return "SliceScatterBackward0"; }
};
struct DiagonalScatterBackward0 final : ViewScatterBackwardBase {
  const char* name() const override { return "DiagonalScatterBackward0"; }
};

// self's gradient is zero where the mask took source's values; source's is
// the gradient at those positions, in order (masked_scatter_backward).
struct MaskedScatterBackward0 final : Node {
  EMBER_NODE_FWD(MaskedScatterBackward0);
  void release_saved() override { mask.release(); }
  SavedTensor mask;  // broadcast to the output's shape
  InputMeta self_meta;
  Shape source_shape;
};
// masked_scatter_backward as an op of the gradient, recorded under
// create_graph: linear, with masked_scatter into zeros as its adjoint.
struct MaskedScatterBackwardBackward0 final : Node {
  EMBER_NODE_FWD(MaskedScatterBackwardBackward0);
  void release_saved() override { mask.release(); }
  SavedTensor mask;
  InputMeta grad_meta;
};

}  // namespace ember
