#pragma once
// Backward nodes of the layer ops in ops/layers.h (formulas in ops/layers.cpp).

#include "ember/autograd/functions/common.h"
#include "ember/ops/layers.h"

namespace ember {

// Each rearrangement's adjoint is the other one.
struct PixelShuffleBackward0 final : Node {
  EMBER_NODE_FWD(PixelShuffleBackward0);
  int64_t factor = 1;
};
struct PixelUnshuffleBackward0 final : Node {
  EMBER_NODE_FWD(PixelUnshuffleBackward0);
  int64_t factor = 1;
};

struct PreluKernelBackward0 final : Node {
  EMBER_NODE(PreluKernelBackward0);
  void release_saved() override { self.release(), weight.release(); }
  SavedTensor self, weight;
};

}  // namespace ember
