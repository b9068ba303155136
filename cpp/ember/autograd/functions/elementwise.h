#pragma once
// Backward nodes of elementwise ops (formulas in ops/elementwise.cpp, inplace.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

// Binary nodes whose other operand may be a tensor or a Python scalar.
struct AddBackward0 final : Node {
  EMBER_NODE_FWD(AddBackward0);
  GradFit self_meta, other_meta;
  double alpha = 1.0;
};
struct SubBackward0 final : Node {
  EMBER_NODE_FWD(SubBackward0);
  GradFit self_meta, other_meta;
  double alpha = 1.0;
};
struct RsubBackward1 final : Node {
  EMBER_NODE_FWD(RsubBackward1);
  GradFit self_meta;
};
struct MulBackward0 final : Node {
  EMBER_NODE_FWD(MulBackward0);
  void release_saved() override { self.release(), other.release(), other_scalar.release(); }
  SavedTensor self, other;  // other undefined when multiplying by other_scalar
  GradFit self_meta, other_meta;
  SavedScalar other_scalar;
};
struct DivBackward0 : Node {
  EMBER_NODE_FWD(DivBackward0);
  void release_saved() override { self.release(), other.release(), other_scalar.release(); }
  SavedTensor self, other;
  GradFit self_meta, other_meta;
  SavedScalar other_scalar;
};
// torch's name for division by a scalar inside its own functions (e.g. losses).
struct DivBackward1 final : DivBackward0 {
  const char* name() const override { return "DivBackward1"; }
};
struct PowBackward0 final : Node {  // tensor ** scalar
  EMBER_NODE_FWD(PowBackward0);
  void release_saved() override { self.release(); }
  SavedTensor self;
  double exponent = 0;
};
struct PowBackward1 final : Node {  // tensor ** tensor
  EMBER_NODE_FWD(PowBackward1);
  void release_saved() override { self.release(), exponent.release(), result.release(); }
  SavedTensor self, exponent, result;
  GradFit self_meta, exponent_meta;
};
struct PowBackward2 final : Node {  // scalar ** tensor
  EMBER_NODE_FWD(PowBackward2);
  void release_saved() override { result.release(); }
  SavedTensor result;
  double base = 0;
};
// maximum / minimum: the gradient goes to the larger (smaller) input, split on ties.
struct MaximumBackward0 final : Node {
  EMBER_NODE_FWD(MaximumBackward0);
  void release_saved() override { self.release(), other.release(); }
  SavedTensor self, other;
  GradFit self_meta, other_meta;
};
struct MinimumBackward0 final : Node {
  EMBER_NODE_FWD(MinimumBackward0);
  void release_saved() override { self.release(), other.release(); }
  SavedTensor self, other;
  GradFit self_meta, other_meta;
};
struct ClampBackward1 final : Node {
  EMBER_NODE_FWD(ClampBackward1);
  void release_saved() override { self.release(); }
  SavedTensor self;
  std::optional<Scalar> min, max;
};
struct RemainderBackward0 final : Node {  // tensor % scalar
  EMBER_NODE_FWD(RemainderBackward0);
  GradFit self_meta;
};
struct RemainderBackward1 final : Node {  // tensor % tensor
  EMBER_NODE_FWD(RemainderBackward1);
  void release_saved() override {
    self.release();
    other.release();
  }
  SavedTensor self, other;
  GradFit self_meta, other_meta;
};
// fmod: the truncated quotient is piecewise constant, so it is saved as a
// plain tensor (other's gradient is -g * trunc(a / b) to every order).
struct FmodBackward0 final : Node {  // fmod(tensor, scalar)
  EMBER_NODE_FWD(FmodBackward0);
  GradFit self_meta;
};
struct FmodBackward1 final : Node {  // fmod(tensor, tensor)
  EMBER_NODE_FWD(FmodBackward1);
  void release_saved() override { quotient.release(); }
  SavedTensor quotient;
  GradFit self_meta, other_meta;
};
// copysign: the gradient is g * sign ratio, a piecewise constant also saved
// without a graph; the sign operand gets zeros.
struct CopysignBackward0 final : Node {  // copysign(tensor, tensor)
  EMBER_NODE_FWD(CopysignBackward0);
  void release_saved() override { ratio.release(); }
  SavedTensor ratio;
  GradFit self_meta, other_meta;
};
struct CopysignBackward1 final : Node {  // copysign(tensor, scalar)
  EMBER_NODE_FWD(CopysignBackward1);
  void release_saved() override { ratio.release(); }
  SavedTensor ratio;
  GradFit self_meta;
};
// Division rounded to an integer value (div with a rounding_mode): zero gradients.
struct DivBackward2 final : Node {
  EMBER_NODE_FWD(DivBackward2);
  GradFit self_meta, other_meta;
};
struct Atan2Backward0 final : Node {
  EMBER_NODE_FWD(Atan2Backward0);
  void release_saved() override { self.release(), other.release(); }
  SavedTensor self, other;
  GradFit self_meta, other_meta;
};
struct XlogyBackward0 final : Node {
  EMBER_NODE_FWD(XlogyBackward0);
  void release_saved() override { self.release(), other.release(); }
  SavedTensor self, other;
  GradFit self_meta, other_meta;
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

// Where a view sits inside its (contiguous) base: element offset and strides.
struct ViewGeometry {
  Shape base_shape;
  int64_t offset = 0;
  Shape shape;
  Strides strides;
  // The view's region of a contiguous tensor shaped like the base (no graph).
  Tensor region_of(const Tensor& base_like) const;
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

// The modified view's new grad_fn: its gradient is the base's, at the region.
struct AsStridedBackward0 final : Node {
  EMBER_NODE(AsStridedBackward0);
  ViewGeometry geometry;
};
// AsStridedBackward0's placement (Note [Placing a gradient]).
struct AsStridedScatterBackward0 final : Node {
  EMBER_NODE(AsStridedScatterBackward0);
  ViewGeometry geometry;
};

}  // namespace ember
