#pragma once
// Nodes of the special functions that take more than the tensor.

#include "ember/autograd/functions/common.h"

namespace ember {

struct PolygammaBackward0 final : Node {
  EMBER_NODE_FWD(PolygammaBackward0);
  void release_saved() override { self.release(); }
  SavedTensor self;
  int64_t n = 0;
};

}  // namespace ember
