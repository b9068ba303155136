#pragma once
// Backward nodes of view and shape ops (formulas in ops/shape.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

struct ViewBackward0 : Node {
  EMBER_NODE(ViewBackward0);
  Shape self_shape;
};
// torch's name for reshape() of a non-contiguous tensor that a view can express.
struct ReshapeAliasBackward0 final : ViewBackward0 {
  const char* name() const override { return "ReshapeAliasBackward0"; }
};
// What torch records for a view of a fresh result (matmul, reshape of a copy).
struct UnsafeViewBackward0 final : Node {
  EMBER_NODE(UnsafeViewBackward0);
  Shape self_shape;
};
struct ExpandBackward0 final : Node {
  EMBER_NODE(ExpandBackward0);
  InputMeta self_meta;
};
struct SqueezeBackward0 final : Node {  // all size-1 dims
  EMBER_NODE(SqueezeBackward0);
  Shape self_shape;
};
struct SqueezeBackward1 : Node {  // one dim
  EMBER_NODE(SqueezeBackward1);
  Shape self_shape;
};
struct SqueezeBackward2 final : SqueezeBackward1 {  // a tuple of dims
  const char* name() const override { return "SqueezeBackward2"; }
};
// torch's name for the squeeze inside matmul of a vector and a matrix.
struct SqueezeBackward4 final : Node {
  EMBER_NODE(SqueezeBackward4);
  Shape self_shape;
};
struct UnsqueezeBackward0 final : Node {
  EMBER_NODE(UnsqueezeBackward0);
  int64_t dim = 0;
};
struct TransposeBackward0 final : Node {
  EMBER_NODE(TransposeBackward0);
  int64_t dim0 = 0, dim1 = 0;
};
struct TBackward0 final : Node {
  EMBER_NODE(TBackward0);
};
struct PermuteBackward0 final : Node {
  EMBER_NODE(PermuteBackward0);
  DimList dims;
};
struct SliceBackward0 final : Node {
  EMBER_NODE(SliceBackward0);
  InputMeta self_meta;
  int64_t dim = 0, start = 0, end = 0, step = 1;
};
struct SelectBackward0 final : Node {
  EMBER_NODE(SelectBackward0);
  InputMeta self_meta;
  int64_t dim = 0, index = 0;
};
struct CatBackward0 final : Node {
  EMBER_NODE(CatBackward0);
  std::vector<InputMeta> metas;
  int64_t dim = 0;
};
struct StackBackward0 final : Node {
  EMBER_NODE(StackBackward0);
  std::vector<InputMeta> metas;
  int64_t dim = 0;
};
struct IndexBackward0 final : Node {
  EMBER_NODE(IndexBackward0);
  void release_saved() override { index.release(); }
  SavedTensor index;  // wrapped int64 positions along dim
  InputMeta self_meta;
  int64_t dim = 0;
};

}  // namespace ember
