#pragma once
// Backward nodes of reductions (formulas in ops/reduce.cpp).

#include "ember/autograd/functions/common.h"

namespace ember {

// g * d||x||_p / dx for the vector norm r of x over dims (g and r restored to
// x's shape), written with differentiable ops; shared by norm and renorm.
Tensor vector_norm_backward(const Tensor& g, const Tensor& x, const Tensor& r, double p,
                            const DimList& dims);

struct SumBackward0 final : Node {  // sum of all elements
  EMBER_NODE_FWD(SumBackward0);
  InputMeta self_meta;
};
struct SumBackward1 final : Node {  // sum over dims
  EMBER_NODE_FWD(SumBackward1);
  InputMeta self_meta;
  DimList dims;
  bool keepdim = false;
};
// nansum: the gradient reaches the non-NaN elements only.
struct NansumBackward0 final : Node {
  EMBER_NODE_FWD(NansumBackward0);
  void release_saved() override { self.release(); }
  SavedTensor self;
  DimList dims;  // empty: all
  bool keepdim = false;
};
struct MeanBackward0 final : Node {
  EMBER_NODE_FWD(MeanBackward0);
  InputMeta self_meta;
};
struct MeanBackward1 final : Node {
  EMBER_NODE_FWD(MeanBackward1);
  InputMeta self_meta;
  DimList dims;
  bool keepdim = false;
};
// prod: the gradient of each element is the product of the others in its line.
struct ProdBackward0 final : Node {  // product of all elements
  EMBER_NODE_FWD(ProdBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
};
struct ProdBackward1 final : Node {  // product along one dim
  EMBER_NODE_FWD(ProdBackward1);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
  int64_t dim = 0;
  bool keepdim = false;
};
struct CumsumBackward0 final : Node {
  EMBER_NODE_FWD(CumsumBackward0);
  InputMeta self_meta;
  int64_t dim = 0;
  bool reverse = false;  // the recorded backward of a cumsum sums from the end
};
struct CumprodBackward0 final : Node {
  EMBER_NODE(CumprodBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
  int64_t dim = 0;
};
struct VarBackward0 final : Node {
  EMBER_NODE_FWD(VarBackward0);
  void release_saved() override { self.release(); }
  SavedTensor self;
  DimList dims;  // wrapped, never empty
  double correction = 1;
  bool keepdim = false;
};
struct StdBackward0 final : Node {
  EMBER_NODE_FWD(StdBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
  DimList dims;
  double correction = 1;
  bool keepdim = false;
};
// var_mean: VarBackward0's formula for the spread and MeanBackward1's for the
// mean, one node with two outputs; std_mean saves its std as StdBackward0 does.
struct VarMeanBackward0 : Node {
  EMBER_NODE_FWD(VarMeanBackward0);
  uint32_t num_outputs() const override { return 2; }
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;  // result: std_mean's std, else unset
  DimList dims;              // wrapped, never empty
  double correction = 1;
  bool keepdim = false;
};
struct StdMeanBackward0 final : VarMeanBackward0 {
  const char* name() const override { return "StdMeanBackward0"; }
};
// The p-norm's gradient at self - other, summed back to each operand.
struct DistBackward0 final : Node {
  EMBER_NODE_FWD(DistBackward0);
  void release_saved() override { self.release(), other.release(), result.release(); }
  SavedTensor self, other, result;
  double p = 2;
  InputMeta self_meta, other_meta;
};
struct LinalgVectorNormBackward0 final : Node {
  EMBER_NODE_FWD(LinalgVectorNormBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
  double p = 2;
  DimList dims;
  bool keepdim = false;
};
// max()/min() of all elements: the gradient is shared by all tied maxima.
// amax/amin over dims; `result` is the output, viewed in keepdim_shape.
struct AmaxBackward0 : Node {
  EMBER_NODE_FWD(AmaxBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
  Shape keepdim_shape;
  DimList dims;  // sorted, wrapped
};
struct AminBackward0 final : AmaxBackward0 {
  const char* name() const override { return "AminBackward0"; }
};
// aminmax: AmaxBackward0's formula for each of its two outputs (min, max).
struct AminmaxBackward0 final : Node {
  EMBER_NODE_FWD(AminmaxBackward0);
  uint32_t num_outputs() const override { return 2; }
  void release_saved() override { self.release(), min.release(), max.release(); }
  SavedTensor self, min, max;
  Shape keepdim_shape;
  DimList dims;  // sorted, wrapped; empty: all
};
struct MaxBackward1 final : Node {
  EMBER_NODE_FWD(MaxBackward1);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
};
struct MinBackward1 final : Node {
  EMBER_NODE_FWD(MinBackward1);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
};
// max(dim)/min(dim): the gradient goes to the selected index.
struct MaxBackward0 final : Node {
  EMBER_NODE_FWD(MaxBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
  bool keepdim = false;
};
struct MinBackward0 final : Node {
  EMBER_NODE_FWD(MinBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
  bool keepdim = false;
};

// logcumsumexp, forward or (in its own recorded backward) from the end.
struct LogcumsumexpBackward0 final : Node {
  EMBER_NODE_FWD(LogcumsumexpBackward0);
  void release_saved() override { self.release(), result.release(); }
  SavedTensor self, result;
  int64_t dim = 0;
  bool reverse = false;
};
// cummax / cummin: each output came from one input position; the gradient
// of an input sums those of the outputs that took it.
struct CummaxBackward0 final : Node {
  EMBER_NODE_FWD(CummaxBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
};
struct CumminBackward0 final : Node {
  EMBER_NODE_FWD(CumminBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
};
// kthvalue / mode: one input position per output, as max along a dim.
struct KthvalueBackward0 final : Node {
  EMBER_NODE_FWD(KthvalueBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
  bool keepdim = false;
};
struct ModeBackward0 final : Node {
  EMBER_NODE_FWD(ModeBackward0);
  void release_saved() override { indices.release(); }
  SavedTensor indices;
  InputMeta self_meta;
  int64_t dim = 0;
  bool keepdim = false;
};
// renorm: rows over `maxnorm` are scaled down; the scale depends on the row.
struct RenormBackward0 final : Node {
  EMBER_NODE_FWD(RenormBackward0);
  void release_saved() override { self.release(); }
  SavedTensor self;
  double p = 2, maxnorm = 0;
  int64_t dim = 0;
};

}  // namespace ember
