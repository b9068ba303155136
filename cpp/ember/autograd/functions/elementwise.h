#pragma once
// Backward nodes of elementwise ops outside the op tables (formulas in
// ops/elementwise.cpp, inplace.cpp).

#include "ember/autograd/functions/common.h"
#include "ember/ops/binary.h"  // the binary pointwise nodes (Note [Binary op table])

namespace ember {

// clamp with tensor bounds (Note [Clamp by tensors]); a missing bound is null.
struct ClampBackward0 final : Node {
  EMBER_NODE_FWD(ClampBackward0);
  void release_saved() override { self.release(), min.release(), max.release(); }
  SavedTensor self, min, max;
  GradFit self_meta, min_meta, max_meta;
};
struct ClampBackward1 final : Node {
  EMBER_NODE_FWD(ClampBackward1);
  void release_saved() override { self.release(); }
  SavedTensor self;
  std::optional<Scalar> min, max;
};
// Recorded by ops torch gives no derivative (floor division, scalar % tensor):
// the result requires grad, and backward through it raises.
struct NotImplemented final : Node {
  explicit NotImplemented(const char* aten_op) : op(aten_op) {}
  const char* name() const override { return "torch::autograd::NotImplemented"; }
  TensorList apply(TensorList&& grads) override;
  const char* op;  // "aten::floor_divide"
};
struct WhereBackward0 final : Node {
  EMBER_NODE_FWD(WhereBackward0);
  void release_saved() override { condition.release(); }
  SavedTensor condition;
  GradFit self_meta, other_meta;
};
struct ToCopyBackward0 final : Node {
  EMBER_NODE_FWD(ToCopyBackward0);
  DType source_dtype = DType::Float32;
};
struct CloneBackward0 final : Node {
  EMBER_NODE_FWD(CloneBackward0);
};

struct GeluBackward0 final : Node {
  EMBER_NODE_FWD(GeluBackward0);
  void release_saved() override { self.release(); }
  SavedTensor self;
  bool tanh_approx = false;
};

// The in-place comparisons (eq_, lt_, ...): zero gradients for every input.
struct CompareBackward : Node {
  TensorList apply(TensorList&& grads) override;
  std::vector<InputMeta> metas;
};
#define EMBER_COMPARE_NODE(NAME)                        \
  struct NAME final : CompareBackward {                 \
    const char* name() const override { return #NAME; } \
  }
EMBER_COMPARE_NODE(EqBackward0);
EMBER_COMPARE_NODE(EqBackward1);
EMBER_COMPARE_NODE(NeBackward0);
EMBER_COMPARE_NODE(NeBackward1);
EMBER_COMPARE_NODE(LtBackward0);
EMBER_COMPARE_NODE(LtBackward1);
EMBER_COMPARE_NODE(LeBackward0);
EMBER_COMPARE_NODE(LeBackward1);
EMBER_COMPARE_NODE(GtBackward0);
EMBER_COMPARE_NODE(GtBackward1);
EMBER_COMPARE_NODE(GeBackward0);
EMBER_COMPARE_NODE(GeBackward1);
#undef EMBER_COMPARE_NODE

// In-place fills: the old values no longer matter; their gradient is zero.
struct FillBackward0 final : Node {
  EMBER_NODE(FillBackward0);
};
struct ZeroBackward0 final : Node {
  EMBER_NODE(ZeroBackward0);
};
struct CopyBackwards final : Node {
  const char* name() const override { return "torch::autograd::CopyBackwards"; }
  TensorList apply(TensorList&& grads) override;
  GradFit src_meta;
};

// Where a view sits inside its base: element offset (from the base's; may be
// negative for as_strided) and strides.
struct ViewGeometry {
  Shape base_shape;
  int64_t offset = 0;
  Shape shape;
  Strides strides;
  // The base's strides when it is not contiguous (as_strided of any tensor);
  // empty for a contiguous base.
  Strides base_strides;
  // The view's region of a contiguous tensor shaped like the base (no graph).
  Tensor region_of(const Tensor& base_like) const;
  // Whether region_of can place the view's gradient: a contiguous base
  // holding the whole view, whose elements do not repeat.
  bool is_plain_region() const;
};

// The base's new history after an in-place op through one of its views
// (see Note [Views and in-place]). Its edges: the base's old history, then the
// op's other inputs. `op` is the in-place op's node, applied to the region.
struct CopySlices final : Node {
  const char* name() const override { return "torch::autograd::CopySlices"; }
  TensorList apply(TensorList&& grads) override;
  void release_saved() override { op->release_saved(); }
  ViewGeometry geometry;
  std::shared_ptr<Node> op;

 private:
  TensorList apply_recorded(TensorList&& grads);  // under create_graph
};

// as_strided's node, and the modified view's new grad_fn after an in-place op
// (Note [Views and in-place]): its gradient is the base's, at the region, with
// the contributions of repeated elements added up.
struct AsStridedBackward0 : Node {
  EMBER_NODE(AsStridedBackward0);
  ViewGeometry geometry;
};
struct AsStridedBackward1 final : AsStridedBackward0 {  // as_strided_
  const char* name() const override { return "AsStridedBackward1"; }
};
// AsStridedBackward0's placement (Note [Placing a gradient]).
struct AsStridedScatterBackward0 final : Node {
  EMBER_NODE(AsStridedScatterBackward0);
  ViewGeometry geometry;
};

}  // namespace ember
