#pragma once
// Backward nodes of ops that place one tensor's values into a copy of another
// (index_add; formulas next to each op).

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

}  // namespace ember
