#pragma once
// Backward nodes of matrix products (formulas in ops/linalg.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

#define EMBER_PRODUCT_NODE(NAME)                                       \
  struct NAME final : Node {                                           \
    EMBER_NODE_FWD(NAME);                                              \
    void release_saved() override { self.release(), other.release(); } \
    SavedTensor self, other;                                           \
  }
EMBER_PRODUCT_NODE(DotBackward0);
EMBER_PRODUCT_NODE(MvBackward0);
EMBER_PRODUCT_NODE(BmmBackward0);
#undef EMBER_PRODUCT_NODE

// Matrix-product gradients come out in the layout of the input they belong to
// (see mm_grad in ops/linalg.cpp), so each node remembers which inputs were
// column-major (a transposed contiguous matrix, like a Linear weight's t()).
struct MmBackward0 final : Node {
  EMBER_NODE_FWD(MmBackward0);
  void release_saved() override { self.release(), other.release(); }
  SavedTensor self, other;
  bool self_col_major = false, other_col_major = false;
};

struct AddmmBackward0 final : Node {
  EMBER_NODE_FWD(AddmmBackward0);
  void release_saved() override { mat1.release(), mat2.release(); }
  SavedTensor mat1, mat2;
  GradFit bias_meta;
  bool mat1_col_major = false, mat2_col_major = false;
  double beta = 1, alpha = 1;
};
struct BaddbmmBackward0 final : Node {
  EMBER_NODE_FWD(BaddbmmBackward0);
  void release_saved() override { batch1.release(), batch2.release(); }
  SavedTensor batch1, batch2;
  GradFit input_meta;
  double beta = 1, alpha = 1;
};

// addmv / addbmm: beta * input + alpha * (mat @ vec, or the sum of batch1[i] @ batch2[i]).
struct AddmvBackward0 final : Node {
  EMBER_NODE_FWD(AddmvBackward0);
  void release_saved() override { mat.release(), vec.release(); }
  SavedTensor mat, vec;
  GradFit input_meta;
  double beta = 1, alpha = 1;
};
struct AddrBackward0 final : Node {
  EMBER_NODE_FWD(AddrBackward0);
  void release_saved() override { vec1.release(), vec2.release(); }
  SavedTensor vec1, vec2;
  GradFit input_meta;
  DType vec1_dtype = DType::Float32, vec2_dtype = DType::Float32;
  double beta = 1, alpha = 1;
};
struct AddbmmBackward0 final : Node {
  EMBER_NODE_FWD(AddbmmBackward0);
  void release_saved() override { batch1.release(), batch2.release(); }
  SavedTensor batch1, batch2;
  GradFit input_meta;
  double beta = 1, alpha = 1;
};

}  // namespace ember
