#pragma once
// Backward nodes of convolution and pooling (formulas in ops/conv.cpp).

#include "ember/autograd/functions/common.h"
#include "ember/ops/conv.h"

namespace ember {

// A convolution's backward (formulas in ops/conv.cpp); the two node types
// below differ in torch's name only.
struct ConvolutionNode : Node {
  TensorList apply(TensorList&& grads) override;
  bool has_forward_formula() const override { return true; }
  // Without create_graph the formulas run raw kernels, which would drop a
  // gradient's tangent (forward over reverse): the engine refuses it instead.
  bool backward_carries_tangents() const override { return false; }
  void release_saved() override { input.release(), weight.release(); }
  SavedTensor input, weight;
  ConvParams params;
  int64_t spatial_dims = 2;
};

struct ConvolutionBackward0 final : ConvolutionNode {
  const char* name() const override { return "ConvolutionBackward0"; }
};

// The plain convolution that is a transposed convolution's input gradient:
// torch records it, under create_graph, as part of its double-backward node.
struct ConvTransposeInputGradNode final : ConvolutionNode {
  const char* name() const override { return "ConvolutionBackwardBackward0"; }
};

// The gradient formulas are bilinear, and the adjoint of each is the forward
// convolution or the other formula, so gradients of any order close over the
// three ops. torch records both as one node with this name.
struct ConvBackwardInputNode final : Node {
  const char* name() const override { return "ConvolutionBackwardBackward0"; }
  TensorList apply(TensorList&& grads) override;
  void release_saved() override { grad.release(), weight.release(); }
  SavedTensor grad, weight;
  Shape input_shape;
  ConvParams params;
};
struct ConvBackwardWeightNode final : Node {
  const char* name() const override { return "ConvolutionBackwardBackward0"; }
  TensorList apply(TensorList&& grads) override;
  void release_saved() override { input.release(), grad.release(); }
  SavedTensor input, grad;
  Shape weight_shape;
  ConvParams params;
};

struct MaxPool2DWithIndicesBackward0 final : Node {
  EMBER_NODE(MaxPool2DWithIndicesBackward0);
  void release_saved() override { self.release(), result1.release(); }
  SavedTensor self, result1;
};
struct MaxPool2DWithIndicesBackwardBackward0 final : Node {
  EMBER_NODE(MaxPool2DWithIndicesBackwardBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
};

struct AvgPool2DBackward0 final : Node {
  EMBER_NODE(AvgPool2DBackward0);
  void release_saved() override { self.release(); }
  SavedTensor self;
  PoolParams params;
};
struct AvgPool2DBackwardBackward0 final : Node {
  EMBER_NODE(AvgPool2DBackwardBackward0);
  PoolParams params;
};

struct AdaptiveAvgPool2DBackward0 final : Node {
  EMBER_NODE(AdaptiveAvgPool2DBackward0);
  void release_saved() override { self.release(); }
  SavedTensor self;
};
struct AdaptiveAvgPool2DBackwardBackward0 final : Node {
  EMBER_NODE(AdaptiveAvgPool2DBackwardBackward0);
  int64_t out_h = 1, out_w = 1;
};

struct Im2ColBackward0 final : Node {
  EMBER_NODE_FWD(Im2ColBackward0);
  int64_t h = 0, w = 0;  // the input's spatial size
  FoldParams params;
};
struct Col2ImBackward0 final : Node {
  EMBER_NODE_FWD(Col2ImBackward0);
  FoldParams params;
};

struct AdaptiveMaxPool2DBackward0 final : Node {
  EMBER_NODE(AdaptiveMaxPool2DBackward0);
  void release_saved() override { self.release(), result1.release(); }
  SavedTensor self, result1;
};
struct AdaptiveMaxPool2DBackwardBackward0 final : Node {
  EMBER_NODE(AdaptiveMaxPool2DBackwardBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
};

}  // namespace ember
