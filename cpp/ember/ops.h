#pragma once
// Every differentiable op, in one list. Each records a backward node when grad
// mode is on and an input requires grad (see Note [Node protocol]); the
// implementations sit in ops/<family>.cpp next to their backward formulas.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/kernels/elementwise.h"
#include "ember/tensor.h"

namespace ember {

using TensorVec = std::vector<Tensor>;
using DimList = std::vector<int64_t>;
enum class Reduction { None, Mean, Sum };

// ---- elementwise (ops/elementwise.cpp) ----
Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor add(const Tensor& a, const Scalar& b);
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor sub(const Tensor& a, const Scalar& b);
Tensor rsub(const Tensor& a, const Scalar& b);  // b - a
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Scalar& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Scalar& b);
Tensor rdiv(const Tensor& a, const Scalar& b);  // b / a
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Scalar& b);
Tensor rpow(const Tensor& a, const Scalar& b);  // b ** a
Tensor maximum(const Tensor& a, const Tensor& b);
// maximum/minimum that take the number where one side is NaN:
// FmaxBackward0/FminBackward0.
Tensor fmax(const Tensor& a, const Tensor& b);
Tensor fmin(const Tensor& a, const Tensor& b);
// a * 2**b: LdexpBackward0.
Tensor ldexp(const Tensor& a, const Tensor& b);
// Python's // and %. Floor division has no derivative in torch: its result
// requires grad but backward raises (the NotImplemented node); so has
// `scalar % tensor`. scalar_first computes `b op a`.
Tensor floor_divide(const Tensor& a, const Tensor& b);
Tensor floor_divide(const Tensor& a, const Scalar& b, bool scalar_first = false);
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor atan2(const Tensor& a, const Tensor& b);
Tensor xlogy(const Tensor& a, const Tensor& b);
Tensor hypot(const Tensor& a, const Tensor& b);
Tensor logaddexp(const Tensor& a, const Tensor& b);
Tensor logaddexp2(const Tensor& a, const Tensor& b);
// The n-th derivative of digamma (n >= 0), elementwise; integer inputs give floats.
Tensor polygamma(int64_t n, const Tensor& x);
// div with rounding_mode="floor" or "trunc" (zero gradients, unlike floor_divide's none).
enum class RoundingMode { Floor, Trunc };
Tensor rounded_div(const Tensor& a, const Tensor& b, RoundingMode mode);
Tensor rounded_div(const Tensor& a, const Scalar& b, RoundingMode mode);
Tensor remainder(const Tensor& a, const Scalar& b, bool scalar_first = false);
// C's fmod (the result takes a's sign); FmodBackward1 / FmodBackward0.
Tensor fmod(const Tensor& a, const Tensor& b);
Tensor fmod(const Tensor& a, const Scalar& b);
// |a| with b's sign, always floating; CopysignBackward0 / CopysignBackward1.
Tensor copysign(const Tensor& a, const Tensor& b);
Tensor copysign(const Tensor& a, const Scalar& b);
// &, |, ^, <<, >> on integer and bool tensors (no gradient).
Tensor bitwise(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor bitwise(BinaryOp op, const Tensor& a, const Scalar& b, bool scalar_first = false);
Tensor bitwise_not(const Tensor& a);  // ~: logical not on bool, bit flip on int
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor unary(UnaryOp op, const Tensor& a);  // neg, exp, log, ... with their backward
Tensor compare(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor compare(BinaryOp op, const Tensor& a, const Scalar& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor clamp(const Tensor& a, std::optional<Scalar> min, std::optional<Scalar> max);
// Per-element bounds, either may be null (Note [Clamp by tensors]).
Tensor clamp(const Tensor& a, const Tensor& min, const Tensor& max);
Tensor to_dtype(const Tensor& a, DType dtype);
Tensor clone(const Tensor& a);
// Plain contiguous copy with no graph (for gradient buffers).
Tensor contiguous_clone(const Tensor& a);

inline Tensor neg(const Tensor& a) { return unary(UnaryOp::Neg, a); }
inline Tensor exp(const Tensor& a) { return unary(UnaryOp::Exp, a); }
inline Tensor log(const Tensor& a) { return unary(UnaryOp::Log, a); }
inline Tensor sqrt(const Tensor& a) { return unary(UnaryOp::Sqrt, a); }
inline Tensor abs(const Tensor& a) { return unary(UnaryOp::Abs, a); }
inline Tensor sin(const Tensor& a) { return unary(UnaryOp::Sin, a); }
inline Tensor cos(const Tensor& a) { return unary(UnaryOp::Cos, a); }
inline Tensor tanh(const Tensor& a) { return unary(UnaryOp::Tanh, a); }
inline Tensor sigmoid(const Tensor& a) { return unary(UnaryOp::Sigmoid, a); }
inline Tensor relu(const Tensor& a) { return unary(UnaryOp::Relu, a); }
inline Tensor reciprocal(const Tensor& a) { return unary(UnaryOp::Reciprocal, a); }
inline Tensor sign(const Tensor& a) { return unary(UnaryOp::Sign, a); }

// ---- in place (ops/inplace.cpp); all bump the version counter ----
void check_inplace(const Tensor& self);  // torch's leaf / view checks
// Points a view whose base was changed in place at the base's current history.
void regenerate_view_history(const Tensor& view);
// t's grad_fn as Python shows it: a stale view's is regenerated first.
const std::shared_ptr<Node>& current_grad_fn(const Tensor& t);
// Raises torch's error for a no_grad or multi-output view joining a graph in
// place (Note [Views that refuse in-place ops]); `written`: the view itself is
// written, otherwise its base or a sibling was.
[[noreturn]] void refuse_marked_view(const Tensor& view, bool written);
Tensor& add_(Tensor& self, const Tensor& other, double alpha = 1.0);
Tensor& add_(Tensor& self, const Scalar& other);
Tensor& sub_(Tensor& self, const Tensor& other, double alpha = 1.0);
Tensor& sub_(Tensor& self, const Scalar& other);
Tensor& mul_(Tensor& self, const Tensor& other);
Tensor& mul_(Tensor& self, const Scalar& other);
Tensor& div_(Tensor& self, const Tensor& other);
Tensor& div_(Tensor& self, const Scalar& other);
Tensor& bitwise_(BinaryOp op, Tensor& self, const Tensor& other);  // &=, |=, ^=, <<=, >>=
Tensor& bitwise_(BinaryOp op, Tensor& self, const Scalar& other);
Tensor& zero_(Tensor& self);
Tensor& fill_(Tensor& self, const Scalar& value);
Tensor& copy_(Tensor& self, const Tensor& src);
// self.op_(...) for ops written out of place: `compute` runs the op on
// `original` (self, or a copy of it carrying self's history when a graph is
// recorded, so formulas that save it keep the old values) and its result is
// written into self, which takes the node the op recorded as its new history:
// torch records the in-place form under the op's own node name.
// `others` are the op's other tensor inputs (checked for overlap with self).
Tensor& assign_result_(Tensor& self, const TensorVec& others, const char* op,
                       const std::function<Tensor(const Tensor& original)>& compute);
// self.exp_(), self.tanh_(), ... for every op of the unary table.
Tensor& unary_(UnaryOp op, Tensor& self);
// eq_/ne_/lt_/le_/gt_/ge_: 0 or 1 in self's dtype (EqBackward1, LtBackward0, ...).
Tensor& compare_(BinaryOp op, Tensor& self, const Tensor& other);
Tensor& compare_(BinaryOp op, Tensor& self, const Scalar& other);
// Tensor.resize_ (ops/resize.cpp): contiguous strides for a new shape, the
// memory grown (old bytes kept, the rest uninitialized) when too small.
Tensor& resize_(Tensor& self, const Shape& shape);
// In-place view ops (ops/strided_views.cpp): self takes the view's geometry and
// the view op's node (SqueezeBackward3/4/5, UnsqueezeBackward1,
// TransposeBackward1, TBackward1, AsStridedBackward1); the data is untouched.
Tensor& squeeze_(Tensor& self);
Tensor& squeeze_(Tensor& self, int64_t dim);
Tensor& squeeze_(Tensor& self, const DimList& dims);
Tensor& unsqueeze_(Tensor& self, int64_t dim);
Tensor& transpose_(Tensor& self, int64_t d0, int64_t d1);
Tensor& t_(Tensor& self);
Tensor& as_strided_(Tensor& self, const Shape& size, const Strides& stride,
                    std::optional<int64_t> storage_offset = std::nullopt);
// grad += g for the engine, no checks and no graph.
void add_inplace_unchecked(const Tensor& self, const Tensor& g);

// ---- reductions (ops/reduce.cpp) ----
Tensor sum(const Tensor& a, std::optional<DType> dtype = std::nullopt);
Tensor sum(const Tensor& a, const DimList& dims, bool keepdim,
           std::optional<DType> dtype = std::nullopt);
// sum with NaNs counted as zero (NansumBackward0); dims empty = all dims.
Tensor nansum(const Tensor& a, const DimList& dims, bool keepdim,
              std::optional<DType> dtype = std::nullopt);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const DimList& dims, bool keepdim);
// dims empty = all dims.
Tensor var(const Tensor& a, const DimList& dims, double correction, bool keepdim);
Tensor std(const Tensor& a, const DimList& dims, double correction, bool keepdim);
// (var or, with take_sqrt, std; mean) over dims (all when empty) as one
// VarMeanBackward0 / StdMeanBackward0 node.
std::pair<Tensor, Tensor> var_mean(const Tensor& a, const DimList& dims, double correction,
                                   bool keepdim, bool take_sqrt);
// The p-norm of a - b (broadcast) as one DistBackward0 node.
Tensor dist(const Tensor& a, const Tensor& b, const Scalar& p);
Tensor norm(const Tensor& a, double p, const DimList& dims, bool keepdim);
// Integer and bool inputs multiply and sum in int64, as in torch.
Tensor prod(const Tensor& a, std::optional<DType> dtype = std::nullopt);
Tensor prod(const Tensor& a, int64_t dim, bool keepdim, std::optional<DType> dtype = std::nullopt);
Tensor cumsum(const Tensor& a, int64_t dim, std::optional<DType> dtype = std::nullopt);
Tensor cumprod(const Tensor& a, int64_t dim, std::optional<DType> dtype = std::nullopt);
Tensor max(const Tensor& a);
// amax (is_max) or amin over dims (all when empty); records AmaxBackward0/AminBackward0.
Tensor amax_amin(const Tensor& a, const DimList& dims, bool keepdim, bool is_max);
// (amin, amax) over `dim` (all when absent) as one AminmaxBackward0 node.
std::pair<Tensor, Tensor> aminmax(const Tensor& a, std::optional<int64_t> dim, bool keepdim);
Tensor min(const Tensor& a);
std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim);
Tensor argmax(const Tensor& a, std::optional<int64_t> dim, bool keepdim);
Tensor argmin(const Tensor& a, std::optional<int64_t> dim, bool keepdim);
// ---- scans and order statistics along one dim (ops/scan.cpp) ----
Tensor logcumsumexp(const Tensor& a, int64_t dim);
// (values, int64 indices), like torch.return_types.cummax / cummin.
std::pair<Tensor, Tensor> cummax(const Tensor& a, int64_t dim);
std::pair<Tensor, Tensor> cummin(const Tensor& a, int64_t dim);
std::pair<Tensor, Tensor> kthvalue(const Tensor& a, int64_t k, int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> mode(const Tensor& a, int64_t dim, bool keepdim);
// Slices along dim whose p-norm exceeds maxnorm are scaled to maxnorm.
Tensor renorm(const Tensor& a, double p, int64_t dim, double maxnorm);
// ---- element moves and fused pointwise ops (ops/rearrange.cpp, ops/fused_pointwise.cpp) ----
// The triangle of the last two dims on and below (tril) or above (triu) `diagonal`.
Tensor tril(const Tensor& a, int64_t diagonal = 0);
Tensor triu(const Tensor& a, int64_t diagonal = 0);
Tensor flip(const Tensor& a, const DimList& dims);
// Shifts along dims (empty dims: along the flattened tensor, one shift).
Tensor roll(const Tensor& a, const DimList& shifts, const DimList& dims);
// a broadcast against a bool mask, value where the mask is set.
Tensor masked_fill(const Tensor& a, const Tensor& mask, const Scalar& value);
Tensor masked_fill(const Tensor& a, const Tensor& mask, const Tensor& value);  // 0-d value
Tensor trace(const Tensor& a);  // sum of a matrix's diagonal; integers sum in int64
Tensor lerp(const Tensor& start, const Tensor& end, double weight);
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);
Tensor addcmul(const Tensor& self, const Tensor& t1, const Tensor& t2, double value = 1.0);
Tensor addcdiv(const Tensor& self, const Tensor& t1, const Tensor& t2, double value = 1.0);
// log(sum(exp(a))) over dims (all when empty), stable; integers give float32.
Tensor logsumexp(const Tensor& a, const DimList& dims, bool keepdim);
// ---- sorting and selection along a dim (ops/sort.cpp); NaN orders above numbers ----
// Stable, as torch's CPU sort: (values, int64 indices).
std::pair<Tensor, Tensor> sort(const Tensor& a, int64_t dim, bool descending);
Tensor argsort(const Tensor& a, int64_t dim, bool descending);
std::pair<Tensor, Tensor> topk(const Tensor& a, int64_t k, int64_t dim, bool largest, bool sorted);
// torch.unique without dim: the sorted distinct values, each element's index
// among them (in the input's shape) and each value's count; the last two are
// null unless asked for. Equal values (-0.0 and 0.0 too) are one value; every
// NaN is its own, as in torch.
struct UniqueResult {
  Tensor values, inverse, counts;
};
UniqueResult unique(const Tensor& a, bool return_inverse, bool return_counts);
// The lower median of all elements, or along dim with its position; nanmedian
// skips NaNs, median returns the first NaN of a line holding one.
Tensor median(const Tensor& a);
Tensor nanmedian(const Tensor& a);
std::pair<Tensor, Tensor> median(const Tensor& a, int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> nanmedian(const Tensor& a, int64_t dim, bool keepdim);
// Sums a broadcast gradient back to `shape`.
Tensor sum_to(const Tensor& g, const Shape& shape);

// ---- linear algebra (ops/linalg.cpp) ----
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);
Tensor mv(const Tensor& a, const Tensor& v);
Tensor dot(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
// beta * bias + alpha * (a @ b): AddmmBackward0. beta = 0 ignores bias and
// alpha = 0 the product (their NaNs included), as torch's addmm.
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta = 1.0,
             double alpha = 1.0);
// beta * input + alpha * bmm(batch1, batch2): BaddbmmBackward0. beta = 0
// ignores input.
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta = 1.0,
               double alpha = 1.0);
Tensor outer(const Tensor& a, const Tensor& b);
// beta * input + alpha * (mat @ vec): AddmvBackward0. beta = 0 ignores input.
Tensor addmv(const Tensor& input, const Tensor& mat, const Tensor& vec, double beta = 1.0,
             double alpha = 1.0);
// beta * input + alpha * sum_i batch1[i] @ batch2[i]: AddbmmBackward0.
Tensor addbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta = 1.0,
              double alpha = 1.0);
// beta * input + alpha * outer(vec1, vec2), input broadcast to the product's
// shape: AddrBackward0.
Tensor addr(const Tensor& input, const Tensor& vec1, const Tensor& vec2, double beta = 1.0,
            double alpha = 1.0);

// ---- LAPACK-backed linear algebra (ops/linalg_*.cpp) ----
// Each takes batches (..., m, n) of float32 or float64 matrices and records
// the node torch records (LinalgInvExBackward0, ...). The *_ex forms return
// LAPACK's info per matrix (int64) and raise linalg.LinAlgError only when
// check_errors is set; the plain forms always check.
std::pair<Tensor, Tensor> linalg_inv_ex(const Tensor& a, bool check_errors = false);
// LAPACK's getrf and orgqr without a node (ember/linalg.py records torch's).
std::tuple<Tensor, Tensor, Tensor> linalg_lu_factor_raw(const Tensor& a);
Tensor linalg_householder_product_raw(const Tensor& a, const Tensor& tau);
Tensor linalg_inv(const Tensor& a);
Tensor linalg_det(const Tensor& a);
std::pair<Tensor, Tensor> linalg_slogdet(const Tensor& a);  // (sign, logabsdet)
// B may be a vector or a batch of vectors (torch's rule); left=false solves X A = B.
std::pair<Tensor, Tensor> linalg_solve_ex(const Tensor& a, const Tensor& b, bool left = true,
                                          bool check_errors = false);
Tensor linalg_solve(const Tensor& a, const Tensor& b, bool left = true);
std::pair<Tensor, Tensor> linalg_cholesky_ex(const Tensor& a, bool upper = false,
                                             bool check_errors = false);
Tensor linalg_cholesky(const Tensor& a, bool upper = false);
Tensor cholesky_legacy(const Tensor& a, bool upper);  // torch.cholesky: CholeskyBackward0
Tensor linalg_solve_triangular(const Tensor& a, const Tensor& b, bool upper, bool left,
                               bool unitriangular);
// torch.triangular_solve(b, a): (solution, cloned_coefficient).
std::pair<Tensor, Tensor> triangular_solve(const Tensor& b, const Tensor& a, bool upper,
                                           bool transpose, bool unitriangular);
Tensor cholesky_solve(const Tensor& b, const Tensor& l, bool upper);
// driver: "gels", "gelsy", "gelsd" or "gelss"; rcond < 0 means torch's default.
struct LstsqResult {
  Tensor solution, residuals, rank, singular_values;
};
LstsqResult linalg_lstsq(const Tensor& a, const Tensor& b, std::optional<double> rcond,
                         const std::string& driver);
Tensor linalg_cross(const Tensor& a, const Tensor& b, int64_t dim);
// mode: "reduced", "complete" or "r" (Q is then an empty tensor).
std::pair<Tensor, Tensor> linalg_qr(const Tensor& a, const std::string& mode);
// (U, S, Vh); compute_uv=false leaves U and Vh undefined (linalg.svdvals).
struct SvdResult {
  Tensor U, S, Vh;
};
SvdResult linalg_svd(const Tensor& a, bool full_matrices, bool compute_uv = true);
// (eigenvalues, eigenvectors) from the lower (or upper) triangle; compute_v=false
// leaves the eigenvectors undefined (linalg.eigvalsh).
std::pair<Tensor, Tensor> linalg_eigh(const Tensor& a, bool upper, bool compute_v = true);
// Singular values (or |eigenvalues| when hermitian) at most max(atol, rtol * largest)
// count as zero; unset tolerances take torch's defaults.
Tensor linalg_pinv(const Tensor& a, std::optional<double> atol, std::optional<double> rtol,
                   bool hermitian);

// ---- views and shape (ops/shape.cpp; as_strided in ops/strided_views.cpp) ----
Tensor view(const Tensor& a, const DimList& shape);
Tensor alias(const Tensor& a);  // a view of all of `a` (x[...])
Tensor reshape(const Tensor& a, const DimList& shape);
Tensor expand(const Tensor& a, const Shape& shape);
Tensor expand(const Tensor& a, const DimList& sizes);  // -1 keeps a size
Tensor squeeze(const Tensor& a);
Tensor squeeze(const Tensor& a, int64_t dim);
Tensor squeeze(const Tensor& a, const DimList& dims);
Tensor unsqueeze(const Tensor& a, int64_t dim);
Tensor transpose(const Tensor& a, int64_t d0, int64_t d1);
Tensor t(const Tensor& a);
// The view of a's storage with the given geometry; storage_offset defaults to
// a's. Records AsStridedBackward0, whose gradient accumulates where the
// view's elements overlap.
Tensor as_strided(const Tensor& a, const Shape& size, const Strides& stride,
                  std::optional<int64_t> storage_offset = std::nullopt);
// A fresh, uninitialized tensor with the given strides (torch.empty_strided).
Tensor empty_strided(const Shape& size, const Strides& stride, DType dtype);
// Ops torch records under a name of their own over another op's formula
// (ops/renamed_nodes.cpp): vdot (dot's), narrow_copy (slice's, on a copy), the
// unsafe splits (split's, on outputs that are not views) and the `_copy`
// forms of the view ops (the view op's, on a copy).
enum class RenamedNode : uint8_t {
  Vdot,
  NarrowCopy,
  UnsafeSplit,
  UnsafeSplitWithSizes,
  ViewCopy,
  TCopy,
  TransposeCopy,
  SqueezeCopy,
  SqueezeDimCopy,
  SqueezeDimsCopy,
  UnsqueezeCopy,
  PermuteCopy,
  ExpandCopy,
  DiagonalCopy,
  SelectCopy,
  SliceCopy,
  AliasCopy,
  AsStridedCopy,
  SplitCopy,
  SplitWithSizesCopy,
  UnbindCopy,
};
const char* renamed_node_name(RenamedNode r);
Tensor vdot(const Tensor& a, const Tensor& b);  // VdotBackward0
TensorVec unsafe_split(const Tensor& a, int64_t split_size, int64_t dim);
TensorVec unsafe_split_with_sizes(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim);
TensorVec unsafe_chunk(const Tensor& a, int64_t chunks, int64_t dim);
// A contiguous copy of `view`, just made by a view op (which checked the
// arguments and recorded its node): the copy's node is the view op's under the
// name `r` gives it (narrow_copy, view_copy, t_copy, ...).
Tensor copy_of_view(RenamedNode r, const Tensor& view);
// The same for the views one multi-output view op made (split_copy, ...).
TensorVec copies_of_views(RenamedNode r, const TensorVec& views);
// view_copy: a copy of `a` in the given shape, made even where no view could
// be (a transposed input), with one ViewBackward0_copy node into `a`.
Tensor view_copy(const Tensor& a, const DimList& size);
Tensor permute(const Tensor& a, const DimList& dims);
Tensor slice(const Tensor& a, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end,
             int64_t step);
Tensor select(const Tensor& a, int64_t dim, int64_t index);
// Views of consecutive pieces of `a` along dim, all outputs of one node.
TensorVec split(const Tensor& a, int64_t split_size, int64_t dim);
TensorVec split_with_sizes(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim);
TensorVec chunk(const Tensor& a, int64_t chunks, int64_t dim);
TensorVec unbind(const Tensor& a, int64_t dim);
// The view of the diagonal `offset` of dims dim1 and dim2, as the last dim.
Tensor diagonal(const Tensor& a, int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1);
Tensor flatten(const Tensor& a, int64_t start_dim = 0, int64_t end_dim = -1);
// The same bytes seen as another dtype (view(dtype)); the last dim rescales.
Tensor view_as_dtype(const Tensor& a, DType dtype);
Tensor contiguous(const Tensor& a);
Tensor detach(const Tensor& a);
Tensor cat(const TensorVec& tensors, int64_t dim);
Tensor stack(const TensorVec& tensors, int64_t dim);
// Picks positions along `dim` by an int64 index tensor of any shape; the result
// has index.shape in place of that dim (a[:, idx] for dim 1). Records
// IndexBackward0, the node of advanced indexing.
Tensor index_rows(const Tensor& a, int64_t dim, const Tensor& index);
// a[..., mask, ...] for a bool mask covering dims [dim, dim + mask.dim()).
Tensor index_by_mask(const Tensor& a, const Tensor& mask, int64_t dim = 0);
// torch.index_select: a 0-d or 1-d int32/int64 index with torch's checks;
// records IndexSelectBackward0.
Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index);
// torch.masked_select: input and bool mask broadcast together, a 1-D result;
// records MaskedSelectBackward0.
Tensor masked_select(const Tensor& a, const Tensor& mask);
// a repeated `repeats[d]` times along each dim (leading repeats add dims):
// RepeatBackward0. tile pads short reps with leading ones, then repeats.
Tensor repeat(const Tensor& a, const DimList& repeats);
Tensor tile(const Tensor& a, const DimList& reps);
// a's last dim on the `offset` diagonal of two new dims (dim1, dim2), zeros
// elsewhere: DiagEmbedBackward0.
Tensor diag_embed(const Tensor& a, int64_t offset = 0, int64_t dim1 = -2, int64_t dim2 = -1);
// The tensors (0-d and 1-d ones as rows) on the diagonal of one matrix, in
// their promoted dtype: BlockDiagBackward0.
Tensor block_diag(const TensorVec& tensors);
// out[i][j] = a[i][index[i][j]] for dim 1, and the reverse writes (ops/gather.cpp).
Tensor gather(const Tensor& a, int64_t dim, const Tensor& index);
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value);
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
// scatter with a reduction of the values meeting at a position; include_self
// says whether self's value takes part (ScatterReduceBackward0).
enum class ScatterReduce { Sum, Prod, Mean, Amax, Amin };
Tensor scatter_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                      ScatterReduce reduce, bool include_self);
// scatter(..., reduce="add" / "multiply"): values meeting at a position add
// up (multiply) with self's; torch records no derivative (NotImplemented).
Tensor scatter_accumulate(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                          bool multiply);
Tensor scatter_accumulate(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
                          bool multiply);
// Elements of the flattened input at int64 positions (negative from the end),
// shaped like the index (ops/index.cpp).
Tensor take(const Tensor& a, const Tensor& index);
// Slices along dim at the given positions (a 0-d or 1-d int64 index, negative
// from the end) set to a value or taken from source's slices.
Tensor index_fill(const Tensor& a, int64_t dim, const Tensor& index, const Scalar& value);
Tensor index_fill(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& value);
Tensor index_copy(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source);
// a with alpha * source's slices added at index's positions along dim
// (ops/index_add.cpp): IndexAddBackward0, also for the in-place form.
Tensor index_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source,
                 const Scalar& alpha);
Tensor& index_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                   const Scalar& alpha);
// A copy of a with src (cast to a's dtype) in the region a view op picks
// (ops/scatter_views.cpp): SelectScatterBackward0, SliceScatterBackward0,
// DiagonalScatterBackward0.
Tensor select_scatter(const Tensor& a, const Tensor& src, int64_t dim, int64_t index);
Tensor slice_scatter(const Tensor& a, const Tensor& src, int64_t dim, std::optional<int64_t> start,
                     std::optional<int64_t> end, int64_t step);
Tensor diagonal_scatter(const Tensor& a, const Tensor& src, int64_t offset, int64_t dim1,
                        int64_t dim2);
// a (broadcast with the bool mask) with source's leading values, in order,
// where the mask is true (ops/masked_scatter.cpp): MaskedScatterBackward0.
Tensor masked_scatter(const Tensor& a, const Tensor& mask, const Tensor& source);
// Windows of `size` every `step` along dim as a new last dim: a view.
Tensor unfold(const Tensor& a, int64_t dim, int64_t size, int64_t step);
// k quarter turns from dims[0] towards dims[1].
Tensor rot90(const Tensor& a, int64_t k, int64_t dim0, int64_t dim1);
// Flat positions of the true entries of a mask.
Tensor nonzero_flat(const Tensor& mask);

// Internal: views recorded under the node names torch's matmul produces.
Tensor squeeze_for_matmul(const Tensor& a, int64_t dim);       // SqueezeBackward4
Tensor unsafe_view(const Tensor& fresh, const Shape& shape);   // UnsafeViewBackward0
Tensor div_scalar_internal(const Tensor& a, const Scalar& b);  // DivBackward1

// GELU, exact (x * Phi(x)) or torch's approximate='tanh'; node GeluBackward0.
Tensor gelu(const Tensor& a, bool tanh_approx);

// ---- padding (ops/padding.cpp) ----
// torch.constant_pad_nd: (before, after) pairs from the last dim backwards,
// negative ones crop: ConstantPadNdBackward0.
Tensor constant_pad_nd(const Tensor& a, const DimList& pad, const Scalar& value);
// F.pad's reflect and replicate modes over the last pad.size() / 2 dims (1 to
// 3, batched or not): ReflectionPad1DBackward0 ... ReplicationPad3DBackward0.
enum class PadMode : uint8_t { Reflect, Replicate };
Tensor border_pad(const Tensor& a, const DimList& pad, PadMode mode);

// ---- neural-network functions (ops/nn.cpp) ----
Tensor softmax(const Tensor& a, int64_t dim);
Tensor log_softmax(const Tensor& a, int64_t dim);
// torch's native_batch_norm over dim 1 of an (N, C, *) input (checked by the
// caller): batch statistics when training (updating the running ones when
// given), else the running ones. Records NativeBatchNormBackward0.
Tensor batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps);
// torch's native_layer_norm over the trailing dims `normalized_shape` (checked
// by the caller); weight and bias may be undefined. Records NativeLayerNormBackward0.
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction);
// Quadratic below beta (delta), linear above: SmoothL1LossBackward0 /
// HuberLossBackward0. huber_loss = beta * smooth_l1_loss with beta = delta.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta);
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta);
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight, const Tensor& pos_weight,
                                        Reduction reduction);
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            Reduction reduction);
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                Reduction reduction, int64_t ignore_index);
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                     Reduction reduction, int64_t ignore_index, double label_smoothing = 0.0);
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias);
// Rows of a 2-d weight picked by int64 indices (any shape); padding_idx in
// [0, rows) gets no gradient, -1 for none. Records EmbeddingBackward0.
Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx);

// ---- random (ops/random.cpp); gen = nullptr draws from default_generator() ----
class Generator;
// A floating dtype only: NotImplementedError names torch's kernel otherwise.
Tensor randn(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);
Tensor rand(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);
// Integers in [low, high), drawn as torch draws them for `dtype` (not bool).
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::Int64,
               Generator* gen = nullptr);
// A random permutation of 0..n-1.
Tensor randperm(int64_t n, DType dtype = DType::Int64, Generator* gen = nullptr);
// 0 or 1 per element, 1 with the element's probability (each in [0, 1]), in p's dtype.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
// A Gamma(alpha, 1) draw per element of a float32 or float64 alpha (not differentiable).
Tensor standard_gamma(const Tensor& alpha, Generator* gen = nullptr);
// dropout's scaled mask: 0 or 1/(1-p) per element, in like's shape and dtype.
Tensor dropout_mask(const Tensor& like, double p, Generator* gen = nullptr);
// In-place samplers; not differentiable, as in torch (a tensor in a graph
// records the overwrite). Elements are drawn in row-major order.
Tensor& normal_(Tensor& self, double mean, double std, Generator* gen = nullptr);
Tensor& uniform_(Tensor& self, double from, double to, Generator* gen = nullptr);
Tensor& exponential_(Tensor& self, double lambd, Generator* gen = nullptr);
Tensor& bernoulli_(Tensor& self, double p, Generator* gen = nullptr);
// torch.get_rng_state / set_rng_state: the generator's bytes as a uint8
// tensor; a state torch refuses raises RuntimeError.
Tensor rng_state(const Generator& g);
void set_rng_state(Generator& g, const std::vector<uint8_t>& state);
void set_rng_state(Generator& g, const Tensor& state);

}  // namespace ember
