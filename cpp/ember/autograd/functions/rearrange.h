#pragma once
// Nodes of the element-moving ops (tril/triu, flip, roll, masked_fill, trace)
// and of lerp, addcmul/addcdiv and logsumexp (ops/rearrange.cpp,
// ops/fused_pointwise.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

// tril / triu keep a triangle; the gradient keeps the same one.
struct TrilBackward0 final : Node {
  EMBER_NODE_FWD(TrilBackward0);
  int64_t diagonal = 0;
};
struct TriuBackward0 final : Node {
  EMBER_NODE_FWD(TriuBackward0);
  int64_t diagonal = 0;
};
// flip is its own inverse and transpose.
struct FlipBackward0 final : Node {
  EMBER_NODE_FWD(FlipBackward0);
  DimList dims;
};
// roll's gradient rolls back; dims empty means the flattened tensor.
struct RollBackward0 final : Node {
  EMBER_NODE_FWD(RollBackward0);
  DimList shifts, dims;
};
// masked_fill with a number (Backward0) or a 0-d tensor value (Backward1):
// self's gradient is zero where the mask is set; the value's is the sum there.
struct MaskedFillBackward0 final : Node {
  EMBER_NODE_FWD(MaskedFillBackward0);
  void release_saved() override { mask.release(); }
  SavedTensor mask;
  GradFit self_fit;
};
struct MaskedFillBackward1 final : Node {
  EMBER_NODE_FWD(MaskedFillBackward1);
  void release_saved() override { mask.release(); }
  SavedTensor mask;
  GradFit self_fit;
  DType value_dtype = DType::Float32;
};
// trace: the gradient on the diagonal of a matrix of self's shape.
struct TraceBackward0 final : Node {
  EMBER_NODE_FWD(TraceBackward0);
  Shape self_sizes;
  DType self_dtype = DType::Float32;
};
// lerp with a number weight (Backward0) or a tensor weight (Backward1).
struct LerpBackward0 final : Node {
  EMBER_NODE_FWD(LerpBackward0);
  double weight = 0;
  GradFit self_fit, end_fit;
};
struct LerpBackward1 final : Node {
  EMBER_NODE_FWD(LerpBackward1);
  void release_saved() override { self.release(), end.release(), weight.release(); }
  SavedTensor self, end, weight;
  GradFit self_fit, end_fit, weight_fit;
};
// self + value * t1 * t2 and self + value * t1 / t2.
struct AddcmulBackward0 final : Node {
  EMBER_NODE_FWD(AddcmulBackward0);
  void release_saved() override { tensor1.release(), tensor2.release(); }
  SavedTensor tensor1, tensor2;
  double value = 1;
  GradFit self_fit, tensor1_fit, tensor2_fit;
};
struct AddcdivBackward0 final : Node {
  EMBER_NODE_FWD(AddcdivBackward0);
  void release_saved() override { tensor1.release(), tensor2.release(); }
  SavedTensor tensor1, tensor2;
  double value = 1;
  GradFit self_fit, tensor1_fit, tensor2_fit;
};
// logsumexp over dims: the gradient is g * exp(self - result), the softmax.
struct LogsumexpBackward0 final : Node {
  EMBER_NODE_FWD(LogsumexpBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
  DimList dims;
  bool keepdim = false;
};

}  // namespace ember

namespace ember {

// sort / topk / median and nanmedian along a dim: each output came from one
// input position, and its gradient goes back there.
struct SortBackward0 final : Node {
  EMBER_NODE_FWD(SortBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
};
struct TopkBackward0 final : Node {
  EMBER_NODE_FWD(TopkBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
};
// torch gives unique no derivative: its values require grad, and backward
// through them raises.
struct Unique2Backward0 final : Node {
  EMBER_NODE(Unique2Backward0);
};
struct MedianBackward1 final : Node {
  EMBER_NODE_FWD(MedianBackward1);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
  bool keepdim = false;
};
struct NanmedianBackward1 final : Node {
  EMBER_NODE_FWD(NanmedianBackward1);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
  bool keepdim = false;
};
// The median of all elements: the gradient is shared evenly by the elements
// equal to it (by the NaNs when it is NaN).
struct MedianBackward0 final : Node {
  EMBER_NODE_FWD(MedianBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
};
struct NanmedianBackward0 final : Node {
  EMBER_NODE_FWD(NanmedianBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
};

}  // namespace ember
