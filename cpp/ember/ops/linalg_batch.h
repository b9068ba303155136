#pragma once
// Shared by the LAPACK-backed ops (ops/linalg_*.cpp):
// argument checks with torch's messages, the column-major batch layout, and
// small differentiable helpers their backward formulas use.

#include <functional>
#include <string>
#include <vector>

#include "ember/autograd/functions/common.h"
#include "ember/parallel.h"

namespace ember::linalg {

// Note [Column-major batches]
// LAPACK reads and writes each matrix column by column. A batch (..., m, n)
// goes to it as a fresh contiguous copy of its transpose, (..., n, m): matrix
// b's element (i, j) then sits at b*m*n + j*m + i, leading dimension m, and
// the routine may overwrite it. Results stay where LAPACK wrote them: the
// tensor handed back is (..., m, n) with column-major strides over the same
// storage (as torch's linalg results are; no copy back to row-major).

// "fn: Expected a floating point or complex tensor as input. Got Long".
void check_floating(const Tensor& a, const std::string& fn);
// "fn: The input tensor A must have at least 2 dimensions."
void check_matrix(const Tensor& a, const std::string& fn, const char* name = "A");
// check_matrix plus "fn: A must be batches of square matrices, but they are m by n matrices".
void check_square(const Tensor& a, const std::string& fn, const char* name = "A");
// "fn: Expected A and B to have the same dtype, but found A of type Float and B of ...".
void check_same_dtype(const Tensor& a, const Tensor& b, const std::string& fn,
                      const char* name_a = "A", const char* name_b = "B");

// The copy of `a` (..., m, n) LAPACK may overwrite, laid out column by column.
Tensor column_major_copy(const Tensor& a);
// Uninitialised column-major storage for a (..., m, n) result.
Tensor column_major_empty(const Shape& shape, DType dtype);
// Column b's start of matrix b in a column-major batch tensor.
template <typename T>
T* matrix_data(const Tensor& t, int64_t b) {
  const int64_t d = t->dim();
  return t->data<T>() + b * t->shape()[d - 2] * t->shape()[d - 1];
}
// The batch dims of a (..., m, n) and their element count.
Shape batch_shape(const Tensor& a);
int64_t batch_size(const Tensor& a);
// `batch` followed by `tail`.
Shape with_batch(const Shape& batch, std::initializer_list<int64_t> tail);

// LAPACK's 32-bit sizes, and a leading dimension (at least 1 even for no rows).
inline int as_int(int64_t v) { return static_cast<int>(v); }
inline int leading_dim(int64_t rows) { return static_cast<int>(std::max<int64_t>(rows, 1)); }

// Broadcasts the batch dims of a (..., r, c) and b (..., p, q) together.
std::pair<Tensor, Tensor> broadcast_batches(const Tensor& a, const Tensor& b);
// The same storage seen with the last two dims swapped: a fresh tensor (not a
// view) over a result buffer nothing else refers to.
Tensor swap_last_dims(const Tensor& t);
// Drops a size-1 dim of a result buffer (the vector forms of solve and lstsq).
Tensor drop_dim(const Tensor& t, int64_t dim);
// "3x2": a matrix batch's last two dims, as torch's messages print them.
std::string dims_str(const Tensor& t);

// Runs fn(b) for each matrix b of a batch, in parallel when the batch is big
// enough for the work each matrix costs (about n^3 for an n x n matrix).
template <typename F>
void for_each_matrix(int64_t batch, int64_t work_per_matrix, F&& fn) {
  constexpr int64_t kChunkWork = int64_t{1} << 18;
  const int64_t grain = std::max<int64_t>(1, kChunkWork / std::max<int64_t>(work_per_matrix, 1));
  parallel_for(batch, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) fn(b);
  });
}

// LAPACK info codes per matrix; the first failure becomes torch's error,
// prefixed with "(Batch element i): " for batched input. `describe` turns an
// info > 0 into the sentence after the function name.
void raise_on_failure(const std::vector<int>& infos, bool batched, const std::string& fn,
                      const std::function<std::string(int)>& describe);
// The infos as an int64 tensor of the batch shape (the _ex variants' `info`).
Tensor info_tensor(const std::vector<int>& infos, const Shape& batch);

// Records NodeT as the grad_fn of `outputs` (null entries are skipped but keep
// their output number) when grad mode is on and an input requires grad.
// These ops have no forward-mode formula: an input with a tangent raises
// torch's NotImplementedError naming `aten_op` (Note [Forward-mode AD]).
template <typename NodeT>
std::shared_ptr<NodeT> record_outputs(const char* aten_op,
                                      std::initializer_list<const Tensor*> inputs,
                                      std::initializer_list<const Tensor*> outputs) {
  forward_ad::refuse_tangents(aten_op, inputs);
  if (!GradMode::is_enabled()) return nullptr;
  bool wanted = false;
  for (const Tensor* in : inputs) wanted = wanted || (*in && (*in)->requires_grad());
  if (!wanted) return nullptr;
  auto node = std::make_shared<NodeT>();
  for (const Tensor* in : inputs) add_next_edge(*node, *in);
  uint32_t nr = 0;
  for (const Tensor* out : outputs) {
    if (*out) (*out)->set_history(node, nr);
    ++nr;
  }
  return node;
}

// ---- differentiable helpers for the backward formulas ----
inline Tensor mT(const Tensor& a) { return transpose(a, -2, -1); }
// tril (lower) or triu of the last two dims, keeping the diagonal `offset`.
Tensor triangle(const Tensor& a, bool lower, int64_t offset = 0);
// (..., k) -> (..., k, k) with v on the diagonal.
Tensor diag_embed(const Tensor& v);
// A gradient computed at a broadcast shape, summed back to the input's.
inline Tensor fit_to(const Tensor& g, const Shape& shape) {
  return g->shape() == shape ? g : sum_to(g, shape);
}

// The gradient of pinv(A) given the gradient g of P = pinv(A) (ops/linalg_spectral.cpp).
Tensor pinv_backward(const Tensor& g, const Tensor& pinv, const Tensor& a);

}  // namespace ember::linalg
