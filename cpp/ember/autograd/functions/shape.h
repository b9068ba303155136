#pragma once
// Backward nodes of view and shape ops (formulas in ops/shape.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

struct ViewBackward0 : Node {
  EMBER_NODE_FWD(ViewBackward0);
  Shape self_shape;
};

// Other names torch gives the same formula (reshape the gradient back).
#define EMBER_RESHAPE_NODE(NAME)                        \
  struct NAME final : ViewBackward0 {                   \
    const char* name() const override { return #NAME; } \
  }
EMBER_RESHAPE_NODE(ReshapeAliasBackward0);  // reshape() that a view can express
EMBER_RESHAPE_NODE(AliasBackward0);         // x[...]: a view with the same geometry
EMBER_RESHAPE_NODE(UnsafeViewBackward0);    // a view of a fresh result (matmul, copies)
EMBER_RESHAPE_NODE(SqueezeBackward0);       // all size-1 dims
EMBER_RESHAPE_NODE(SqueezeBackward1);       // one dim
EMBER_RESHAPE_NODE(SqueezeBackward2);       // a tuple of dims
EMBER_RESHAPE_NODE(SqueezeBackward4);       // squeeze_(dim); the squeeze inside matmul
EMBER_RESHAPE_NODE(SqueezeBackward3);       // squeeze_(): all size-1 dims, in place
EMBER_RESHAPE_NODE(SqueezeBackward5);       // squeeze_(dims), in place
#undef EMBER_RESHAPE_NODE

struct ExpandBackward0 final : Node {
  EMBER_NODE_FWD(ExpandBackward0);
  InputMeta self_meta;
};
struct UnsqueezeBackward0 final : Node {
  EMBER_NODE_FWD(UnsqueezeBackward0);
  int64_t dim = 0;
};
struct TransposeBackward0 final : Node {
  EMBER_NODE_FWD(TransposeBackward0);
  int64_t dim0 = 0, dim1 = 0;
};
struct TBackward0 final : Node {
  EMBER_NODE_FWD(TBackward0);
};
// The in-place forms' names (unsqueeze_, transpose_, t_), same formulas.
struct UnsqueezeBackward1 final : Node {
  EMBER_NODE_FWD(UnsqueezeBackward1);
  int64_t dim = 0;
};
struct TransposeBackward1 final : Node {
  EMBER_NODE_FWD(TransposeBackward1);
  int64_t dim0 = 0, dim1 = 0;
};
struct TBackward1 final : Node {
  EMBER_NODE_FWD(TBackward1);
};
// Runs another op's node under the name torch gives a related op
// (RenamedNode); one C++ type per name, so Python shows torch's class.
template <RenamedNode R>
struct Renamed final : Node {
  const char* name() const override { return renamed_node_name(R); }
  TensorList apply(TensorList&& grads) override { return inner->apply(std::move(grads)); }
  void release_saved() override { inner->release_saved(); }
  uint32_t num_outputs() const override { return inner->num_outputs(); }
  bool has_forward_formula() const override { return inner->has_forward_formula(); }
  std::shared_ptr<Node> inner;
};
struct PermuteBackward0 final : Node {
  EMBER_NODE_FWD(PermuteBackward0);
  DimList dims;
};
struct SliceBackward0 final : Node {
  EMBER_NODE_FWD(SliceBackward0);
  InputMeta self_meta;
  int64_t dim = 0, start = 0, end = 0, step = 1;
};
// split and chunk: one node for all the views they return (Note [Views that
// refuse in-place ops]); `sizes` holds each output's extent along `dim`.
struct SplitBackward0 : Node {
  EMBER_NODE_FWD(SplitBackward0);
  uint32_t num_outputs() const override { return static_cast<uint32_t>(sizes.size()); }
  InputMeta self_meta;
  int64_t dim = 0;
  std::vector<int64_t> sizes;
};
struct SplitWithSizesBackward0 final : SplitBackward0 {
  const char* name() const override { return "SplitWithSizesBackward0"; }
};
struct UnbindBackward0 final : Node {
  EMBER_NODE_FWD(UnbindBackward0);
  uint32_t num_outputs() const override {
    return static_cast<uint32_t>(self_meta.shape[static_cast<size_t>(dim)]);
  }
  InputMeta self_meta;
  int64_t dim = 0;
};
struct SelectBackward0 final : Node {
  EMBER_NODE_FWD(SelectBackward0);
  InputMeta self_meta;
  int64_t dim = 0, index = 0;
};
// The recorded placements of Note [Placing a gradient].
struct SliceBackwardBackward0 final : Node {
  EMBER_NODE_FWD(SliceBackwardBackward0);
  int64_t dim = 0, start = 0, end = 0, step = 1;
};
struct SelectBackwardBackward0 final : Node {
  EMBER_NODE_FWD(SelectBackwardBackward0);
  int64_t dim = 0, index = 0;
};
struct DiagonalBackward0 final : Node {
  EMBER_NODE_FWD(DiagonalBackward0);
  InputMeta self_meta;
  int64_t offset = 0, dim1 = 0, dim2 = 1;
};
struct DiagonalBackwardBackward0 final : Node {
  EMBER_NODE_FWD(DiagonalBackwardBackward0);
  int64_t offset = 0, dim1 = 0, dim2 = 1;
};
struct CatBackward0 final : Node {
  EMBER_NODE_FWD(CatBackward0);
  std::vector<InputMeta> metas;
  int64_t dim = 0;
};
struct StackBackward0 final : Node {
  EMBER_NODE_FWD(StackBackward0);
  std::vector<InputMeta> metas;
  int64_t dim = 0;
};
struct IndexBackward0 final : Node {
  EMBER_NODE_FWD(IndexBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;  // wrapped int64 positions along dim
  InputMeta self_meta;
  int64_t dim = 0;
};
// torch.index_select: one row per index position along dim, as IndexBackward0.
struct IndexSelectBackward0 final : Node {
  EMBER_NODE_FWD(IndexSelectBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;  // 1-d int64 positions along dim
  InputMeta self_meta;
  int64_t dim = 0;
};
// torch.masked_select: the gradient lands on the mask's true positions of the
// broadcast input, then sums back to the input's shape.
struct MaskedSelectBackward0 final : Node {
  EMBER_NODE_FWD(MaskedSelectBackward0);
  void release_saved() override { positions.release(); }
  SavedTensor positions;  // int64 flat positions of the broadcast mask's true elements
  InputMeta self_meta;
  Shape broadcast_shape;
};
struct DiagEmbedBackward0 final : Node {
  EMBER_NODE_FWD(DiagEmbedBackward0);
  int64_t offset = 0, dim1 = 0, dim2 = 0;  // wrapped
};
// One block per input: rows [row, row + shape[0]) and columns [col, ...) of
// the output, the input's own shape and dtype to give the gradient back in.
struct BlockDiagBackward0 final : Node {
  EMBER_NODE_FWD(BlockDiagBackward0);
  struct Block {
    int64_t row = 0, col = 0, rows = 0, cols = 0;
    InputMeta meta;
  };
  std::vector<Block> blocks;
};
// Note [Repeat as a broadcast] in ops/shape.cpp.
struct RepeatBackward0 final : Node {
  EMBER_NODE_FWD(RepeatBackward0);
  InputMeta self_meta;
  DimList repeats;
};
// gather / scatter (ops/gather.cpp): `index` is the int64 index as given.
struct GatherBackward0 final : Node {
  EMBER_NODE_FWD(GatherBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;
  InputMeta self_meta;
  int64_t dim = 0;
};
struct ScatterAddBackward0 final : Node {
  EMBER_NODE_FWD(ScatterAddBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;
  int64_t dim = 0;
  Shape src_shape;  // src's gradient is index-shaped: torch refuses it when they differ
};
struct ScatterBackward0 final : Node {  // src tensor
  EMBER_NODE(ScatterBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;
  int64_t dim = 0;
  Shape src_shape;
};
struct ScatterBackward1 final : Node {  // scalar value
  EMBER_NODE(ScatterBackward1);
  void release_saved() override { index.release(); }
  SavedTensor index;
  int64_t dim = 0;
};
// IndexBackward0's placement (Note [Placing a gradient]).
struct IndexPutImplBackward0 final : Node {
  EMBER_NODE(IndexPutImplBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;
  int64_t dim = 0;
};

// take (ops/index.cpp): positions in the flattened input, wrapped.
struct TakeBackward0 final : Node {
  EMBER_NODE_FWD(TakeBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;
  InputMeta self_meta;
};
// index_fill with a number (0) or a 0-d tensor value (1); `index` holds the
// distinct wrapped positions along dim.
struct IndexFillBackward0 final : Node {
  EMBER_NODE_FWD(IndexFillBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;
  int64_t dim = 0;
};
struct IndexFillBackward1 final : Node {
  EMBER_NODE_FWD(IndexFillBackward1);
  void release_saved() override { index.release(); }
  SavedTensor index;
  int64_t dim = 0;
  InputMeta value_meta;
};
struct IndexCopyBackward0 final : Node {
  EMBER_NODE_FWD(IndexCopyBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;
  int64_t dim = 0;
};
// scatter_reduce (ops/gather.cpp); self and result are saved for the
// reductions whose gradient reads them (prod, mean, amax, amin).
struct ScatterReduceBackward0 final : Node {
  EMBER_NODE_FWD(ScatterReduceBackward0);
  void release_saved() override { self.release(), src.release(), result.release(); }
  SavedTensor index, self, src, result;
  int64_t dim = 0;
  int reduce = 0;  // a ScatterReduce value
  bool include_self = true;
};
// Tensor.unfold (ops/unfold.cpp): a view of windows along dim; its gradient
// adds each window back, and that placement's own backward unfolds again.
struct UnfoldBackward0 final : Node {
  EMBER_NODE_FWD(UnfoldBackward0);
  InputMeta self_meta;
  int64_t dim = 0, size = 0, step = 1;
};
struct UnfoldBackwardBackward0 final : Node {
  EMBER_NODE_FWD(UnfoldBackwardBackward0);
  int64_t dim = 0, size = 0, step = 1;
};
struct Rot90Backward0 final : Node {
  EMBER_NODE_FWD(Rot90Backward0);
  int64_t k = 1, dim0 = 0, dim1 = 1;
};

}  // namespace ember
