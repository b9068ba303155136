#pragma once
// Backward nodes of the LAPACK-backed linear algebra (formulas in
// ops/linalg_*.cpp). None has a forward-mode formula: their ops refuse
// tangents (Note [Forward-mode AD]).

#include <vector>

#include "ember/autograd/functions/common.h"

namespace ember {

struct LinalgInvExBackward0 final : Node {
  EMBER_NODE(LinalgInvExBackward0);
  void release_saved() override { inverse.release(); }
  SavedTensor inverse;
};

struct LinalgDetBackward0 final : Node {
  EMBER_NODE(LinalgDetBackward0);
  void release_saved() override { a.release(), det.release(); }
  SavedTensor a, det;
};

struct LinalgSlogdetBackward0 final : Node {
  EMBER_NODE(LinalgSlogdetBackward0);
  uint32_t num_outputs() const override { return 2; }  // sign, logabsdet
  void release_saved() override { a.release(); }
  SavedTensor a;
};

// X solves A X = B (left) or X A = B; A and B were broadcast to a common batch.
struct LinalgSolveExBackward0 final : Node {
  EMBER_NODE(LinalgSolveExBackward0);
  void release_saved() override {
    a.release(), x.release(), lu.release();
    pivots = {};
  }
  SavedTensor a, x, lu;  // lu: A's factors (broadcast to X's batch), column-major
  std::vector<int> pivots;
  bool left = true, vector_case = false;
  Shape a_shape, b_shape;
};

// The factor L (or U = L^T when upper) of A = L L^T.
struct LinalgCholeskyExBackward0 final : Node {
  EMBER_NODE(LinalgCholeskyExBackward0);
  void release_saved() override { factor.release(); }
  SavedTensor factor;
  bool upper = false;
};

// torch.cholesky, the legacy name: the same formula under its own node name.
struct CholeskyBackward0 final : Node {
  EMBER_NODE(CholeskyBackward0);
  void release_saved() override { factor.release(); }
  SavedTensor factor;
  bool upper = false;
};

struct LinalgSolveTriangularBackward0 final : Node {
  EMBER_NODE(LinalgSolveTriangularBackward0);
  void release_saved() override { a.release(), x.release(); }
  SavedTensor a, x;
  bool upper = false, left = true, unitriangular = false;
  Shape a_shape, b_shape;
};

// Outputs: the solution and the cloned coefficient matrix.
struct TriangularSolveBackward0 final : Node {
  EMBER_NODE(TriangularSolveBackward0);
  uint32_t num_outputs() const override { return 2; }
  void release_saved() override { a.release(), x.release(); }
  SavedTensor a, x;
  bool upper = true, transpose = false, unitriangular = false;
  Shape a_shape, b_shape;
};

struct CholeskySolveBackward0 final : Node {
  EMBER_NODE(CholeskySolveBackward0);
  void release_saved() override { factor.release(), x.release(); }
  SavedTensor factor, x;
  bool upper = false;
  Shape b_shape, factor_shape;
};

// Outputs: solution and residuals (the residuals carry no gradient, as in torch).
struct LinalgLstsqBackward0 final : Node {
  EMBER_NODE(LinalgLstsqBackward0);
  uint32_t num_outputs() const override { return 2; }
  void release_saved() override { a.release(), b.release(); }
  SavedTensor a, b;
  bool vector_case = false;
};

struct LinalgCrossBackward0 final : Node {
  EMBER_NODE(LinalgCrossBackward0);
  void release_saved() override { self.release(), other.release(); }
  SavedTensor self, other;
  int64_t dim = -1;
  Shape self_shape, other_shape;
};

struct LinalgQrBackward0 final : Node {
  EMBER_NODE(LinalgQrBackward0);
  uint32_t num_outputs() const override { return 2; }
  void release_saved() override { q.release(), r.release(); }
  SavedTensor q, r;
  std::string mode;
};

// U and Vh are outputs for linalg.svd, internal for linalg.svdvals.
struct LinalgSvdBackward0 final : Node {
  EMBER_NODE(LinalgSvdBackward0);
  uint32_t num_outputs() const override { return 3; }  // U, S, Vh
  void release_saved() override { u.release(), s.release(), vh.release(); }
  SavedTensor u, s, vh;
  bool full_matrices = false;
};

// The eigenvectors are an output for linalg.eigh, internal for linalg.eigvalsh.
struct LinalgEighBackward0 final : Node {
  EMBER_NODE(LinalgEighBackward0);
  uint32_t num_outputs() const override { return 2; }  // eigenvalues, eigenvectors
  void release_saved() override { values.release(), vectors.release(); }
  SavedTensor values, vectors;
};

struct LinalgPinvBackward0 final : Node {
  EMBER_NODE(LinalgPinvBackward0);
  void release_saved() override { a.release(), pinv.release(); }
  SavedTensor a, pinv;
};

}  // namespace ember
