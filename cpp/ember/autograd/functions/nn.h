#pragma once
// Backward nodes of neural-network functions (formulas in ops/nn.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

struct SoftmaxBackward0 final : Node {
  EMBER_NODE_FWD(SoftmaxBackward0);
  void release_saved() override { result.release(); }
  SavedTensor result;
  int64_t dim = 0;
};
struct LogSoftmaxBackward0 final : Node {
  EMBER_NODE_FWD(LogSoftmaxBackward0);
  void release_saved() override { result.release(); }
  SavedTensor result;
  int64_t dim = 0;
};
// Saves the input and its row statistics; Note [Saved tensors].
struct NativeLayerNormBackward0 final : Node {
  EMBER_NODE_FWD(NativeLayerNormBackward0);
  void release_saved() override {
    input.release(), weight.release(), mean.release(), rstd.release();
  }
  SavedTensor input, weight, mean, rstd;
  Shape normalized_shape;
  double eps = 0;
};
// Saves the input, the mean and 1/std used (the batch's in training, the
// running ones in eval).
struct NativeBatchNormBackward0 final : Node {
  EMBER_NODE(NativeBatchNormBackward0);
  void release_saved() override {
    input.release(), weight.release(), mean.release(), invstd.release();
  }
  SavedTensor input, weight, mean, invstd;
  bool training = true;
  double eps = 0;
};
struct EmbeddingBackward0 final : Node {
  EMBER_NODE_FWD(EmbeddingBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;  // contiguous int64, checked in range
  int64_t num_weights = 0;
  int64_t padding_idx = -1;  // -1: none
};
// The gradient of EmbeddingBackward0's placement (create_graph).
struct EmbeddingDenseBackwardBackward0 final : Node {
  EMBER_NODE(EmbeddingDenseBackwardBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  int64_t padding_idx = -1;
  Shape grad_shape;
};
struct MseLossBackward0 final : Node {
  EMBER_NODE_FWD(MseLossBackward0);  // the value's ops carry the tangent
  void release_saved() override { self.release(), target.release(); }
  SavedTensor self, target;
  InputMeta self_meta, target_meta;
  Reduction reduction = Reduction::Mean;
};
// smooth_l1_loss / huber_loss: `beta`/`delta` is the width of the quadratic
// zone (Note [Piecewise losses] in ops/nn.cpp).
struct SmoothL1LossBackward0 final : Node {
  EMBER_NODE_FWD(SmoothL1LossBackward0);  // as MseLoss
  void release_saved() override { self.release(), target.release(); }
  SavedTensor self, target;
  InputMeta self_meta, target_meta;
  Reduction reduction = Reduction::Mean;
  double beta = 1;
};
struct HuberLossBackward0 final : Node {
  EMBER_NODE_FWD(HuberLossBackward0);  // as MseLoss
  void release_saved() override { self.release(), target.release(); }
  SavedTensor self, target;
  InputMeta self_meta, target_meta;
  Reduction reduction = Reduction::Mean;
  double delta = 1;
};
struct BinaryCrossEntropyWithLogitsBackward0 final : Node {
  EMBER_NODE_FWD(BinaryCrossEntropyWithLogitsBackward0);  // as MseLoss
  void release_saved() override {
    self.release(), target.release(), weight.release(), pos_weight.release();
  }
  SavedTensor self, target, weight, pos_weight;
  InputMeta self_meta, target_meta;
  Reduction reduction = Reduction::Mean;
};
struct BinaryCrossEntropyBackward0 final : Node {
  EMBER_NODE_FWD(BinaryCrossEntropyBackward0);  // as MseLoss
  void release_saved() override { self.release(), target.release(), weight.release(); }
  SavedTensor self, target, weight;
  Reduction reduction = Reduction::Mean;
};
struct NllLossBackward0 : Node {
  EMBER_NODE_FWD(NllLossBackward0);
  void release_saved() override { target.release(), weight.release(), total_weight.release(); }
  SavedTensor target, weight, total_weight;
  InputMeta self_meta;
  Reduction reduction = Reduction::Mean;
  int64_t ignore_index = -100;
};
// The (N, C, H, W) form; other spatial ranks are viewed as 4-d first, as in torch.
struct NllLoss2DBackward0 final : NllLossBackward0 {
  const char* name() const override { return "NllLoss2DBackward0"; }
  TensorList apply(TensorList&& grads) override;
};

}  // namespace ember
