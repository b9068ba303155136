#pragma once
// Backward nodes of matrix products (formulas in ops/linalg.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

#define EMBER_PRODUCT_NODE(NAME)                                       \
  struct NAME final : Node {                                           \
    EMBER_NODE(NAME);                                                  \
    void release_saved() override { self.release(), other.release(); } \
    SavedTensor self, other;                                           \
  }
EMBER_PRODUCT_NODE(DotBackward0);
EMBER_PRODUCT_NODE(MvBackward0);
EMBER_PRODUCT_NODE(MmBackward0);
EMBER_PRODUCT_NODE(BmmBackward0);
#undef EMBER_PRODUCT_NODE

struct AddmmBackward0 final : Node {
  EMBER_NODE(AddmmBackward0);
  void release_saved() override { mat1.release(), mat2.release(); }
  SavedTensor mat1, mat2;
  GradFit bias_meta;
};

}  // namespace ember
