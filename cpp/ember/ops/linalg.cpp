// Matrix products and their backward formulas.

#include "ember/autograd/functions/linalg.h"

#include <cmath>

#include "ember/kernels/blas.h"
#include "ember/kernels/elementwise.h"
#include "ember/parallel.h"

namespace ember {

namespace {

template <typename T>
MatrixRef<T> matrix_ref(const Tensor& t, int64_t offset = 0) {
  return {t->data<T>() + offset, t->strides()[0], t->strides()[1]};
}

// `kernel` is torch's kernel name, which its "not implemented" error quotes.
void check_float_same_dtype(const Tensor& a, const Tensor& b, const char* what,
                            const char* kernel) {
  if (a->dtype() != b->dtype()) {
    throw std::runtime_error(std::string("expected ") + what +
                             " to have the same dtype, but got: " + dtype_name(a->dtype()) +
                             " != " + dtype_name(b->dtype()));
  }
  if (a->dtype() == DType::Bool) {
    throw NotImplementedError(std::string("\"") + kernel + "\" not implemented for 'Bool'");
  }
}

// Note [Compute dtypes] for the products: operands of a storage-only dtype are
// multiplied in their compute dtype and the result rounded once, as torch's CPU
// does for half matrices. `values(x, y)` computes the product of kernel operands.
template <typename Values>
Tensor product_values(const Tensor& a, const Tensor& b, Values values) {
  if (has_kernels(a->dtype())) return values(a, b);
  const DType dt = kernel_dtype(a->dtype());
  return convert(values(convert(a, dt), convert(b, dt)), a->dtype());
}

// out (m x n, contiguous) = a @ b (+ out when accumulate).
void gemm_into(const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate) {
  if (!has_kernels(a->dtype())) {  // Note [Compute dtypes]
    const DType dt = kernel_dtype(a->dtype());
    Tensor wide = accumulate ? convert(out, dt) : empty(out->shape(), dt);
    gemm_into(wide, convert(a, dt), convert(b, dt), accumulate);
    copy_kernel(out, wide);
    return;
  }
  const int64_t m = a->shape()[0], k = a->shape()[1], n = b->shape()[1];
  EMBER_DISPATCH(a->dtype(), T, [&] {
    if constexpr (std::is_same_v<T, bool>) {
      throw std::logic_error("bool gemm");
    } else {
      gemm<T>(m, n, k, matrix_ref<T>(a), matrix_ref<T>(b), out->data<T>(), n, accumulate);
    }
  });
}

template <typename NodeT>
std::shared_ptr<NodeT> record_product(const Tensor& out, const Tensor& a, const Tensor& b) {
  auto node = std::make_shared<NodeT>();
  set_history(node, {&a, &b}, out);
  if (b->requires_grad()) node->self = SavedTensor(a, false);
  if (a->requires_grad()) node->other = SavedTensor(b, false);
  return node;
}

// A matrix stored column by column: the transpose of a contiguous matrix.
bool col_major(const Tensor& m) {
  return m->strides()[0] == 1 && m->strides()[1] == m->shape()[0] && m->shape()[1] > 1;
}

// Gradients of a @ b for a and for b. Like torch, each comes out in its
// input's layout: for a column-major b (W.t() in a Linear layer) the gradient
// is (g^T a)^T, which after TBackward0 is a contiguous gradient for W that
// AccumulateGrad takes without a transposing copy.
Tensor mm_grad_a(const Tensor& g, const Tensor& b, bool a_col_major) {
  return a_col_major ? t(mm(b, t(g))) : mm(g, t(b));
}

Tensor mm_grad_b(const Tensor& a, const Tensor& g, bool b_col_major) {
  return b_col_major ? t(mm(t(g), a)) : mm(t(a), g);
}

// The batched product of kernel-dtype operands, in a fresh tensor.
Tensor bmm_values(const Tensor& a, const Tensor& b) {
  const int64_t batch = a->shape()[0], m = a->shape()[1], k = a->shape()[2], n = b->shape()[2];
  Tensor out = empty(Shape{batch, m, n}, a->dtype());
  EMBER_DISPATCH(a->dtype(), T, [&] {
    if constexpr (std::is_same_v<T, bool>) {
      throw std::logic_error("bool bmm");
    } else {
      // Many small products (attention heads) go parallel over the batch; a
      // few large ones split inside gemm instead.
      const int64_t work = std::max<int64_t>(m * n * k, 1);
      parallel_for(batch, std::max<int64_t>(1, kGemmChunkWork / work), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          gemm<T>(m, n, k, {a->data<T>() + i * a->strides()[0], a->strides()[1], a->strides()[2]},
                  {b->data<T>() + i * b->strides()[0], b->strides()[1], b->strides()[2]},
                  out->data<T>() + i * m * n, n, false);
        }
      });
    }
  });
  return out;
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  if (a->dim() != 2) throw std::runtime_error("self must be a matrix");
  if (b->dim() != 2) throw std::runtime_error("mat2 must be a matrix");
  if (a->shape()[1] != b->shape()[0]) {
    throw std::runtime_error("mat1 and mat2 shapes cannot be multiplied (" +
                             std::to_string(a->shape()[0]) + "x" + std::to_string(a->shape()[1]) +
                             " and " + std::to_string(b->shape()[0]) + "x" +
                             std::to_string(b->shape()[1]) + ")");
  }
  check_float_same_dtype(a, b, "mat1 and mat2", "addmm_impl_cpu_");
  Tensor out = empty(Shape{a->shape()[0], b->shape()[1]}, a->dtype());
  gemm_into(out, a, b, false);
  if (any_requires_grad(a, b)) {
    auto node = record_product<MmBackward0>(out, a, b);
    node->self_col_major = col_major(a);
    node->other_col_major = col_major(b);
  }
  bilinear_tangent(out, a, b, [](const Tensor& x, const Tensor& y) { return mm(x, y); });
  return out;
}

TensorList MmBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = mm_grad_a(g, other.unpack(*this), self_col_major);
  if (wants_grad(*this, 1)) out[1] = mm_grad_b(self.unpack(*this), g, other_col_major);
  return out;
}

Tensor mv(const Tensor& a, const Tensor& v) {
  if (a->dim() != 2 || v->dim() != 1) {
    throw std::runtime_error("vector + matrix @ vector expected, got " + std::to_string(a->dim()) +
                             ", " + std::to_string(v->dim()));
  }
  if (a->shape()[1] != v->shape()[0]) {
    throw std::runtime_error("size mismatch, got input (" + std::to_string(a->shape()[0]) +
                             "), mat (" + std::to_string(a->shape()[0]) + "x" +
                             std::to_string(a->shape()[1]) + "), vec (" +
                             std::to_string(v->shape()[0]) + ")");
  }
  check_float_same_dtype(a, v, "mat and vec", "addmv_impl_cpu");
  Tensor out = product_values(a, v, [](const Tensor& x, const Tensor& y) {
    Tensor r = empty(Shape{x->shape()[0]}, x->dtype());
    const int64_t m = x->shape()[0], k = x->shape()[1];
    EMBER_DISPATCH(x->dtype(), T, [&] {
      if constexpr (std::is_same_v<T, bool>) {
        throw std::logic_error("bool mv");
      } else {
        // y as a k x 1 matrix.
        gemm<T>(m, 1, k, matrix_ref<T>(x), MatrixRef<T>{y->data<T>(), y->strides()[0], 1},
                r->data<T>(), 1, false);
      }
    });
    return r;
  });
  if (any_requires_grad(a, v)) record_product<MvBackward0>(out, a, v);
  bilinear_tangent(out, a, v, [](const Tensor& x, const Tensor& y) { return mv(x, y); });
  return out;
}

TensorList MvBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = outer(g, other.unpack(*this));
  if (wants_grad(*this, 1)) out[1] = mv(t(self.unpack(*this)), g);
  return out;
}

Tensor dot(const Tensor& a, const Tensor& b) {
  if (a->dim() != 1 || b->dim() != 1) {
    throw std::runtime_error("1D tensors expected, but got " + std::to_string(a->dim()) + "D and " +
                             std::to_string(b->dim()) + "D tensors");
  }
  if (a->numel() != b->numel()) {
    throw std::runtime_error(
        "inconsistent tensor size, expected tensor [" + std::to_string(a->numel()) + "] and src [" +
        std::to_string(b->numel()) + "] to have the same number of elements, but got " +
        std::to_string(a->numel()) + " and " + std::to_string(b->numel()) +
        " elements respectively");
  }
  check_float_same_dtype(a, b, "both vectors", "dot");
  Tensor out = product_values(a, b, [](const Tensor& x, const Tensor& y) {
    Tensor r = empty(Shape{}, x->dtype());
    EMBER_DISPATCH(x->dtype(), T, [&] {
      if constexpr (std::is_same_v<T, bool>) {
        throw std::logic_error("bool dot");
      } else {
        gemm<T>(1, 1, x->numel(), MatrixRef<T>{x->data<T>(), 0, x->strides()[0]},
                MatrixRef<T>{y->data<T>(), y->strides()[0], 1}, r->data<T>(), 1, false);
      }
    });
    return r;
  });
  if (any_requires_grad(a, b)) record_product<DotBackward0>(out, a, b);
  bilinear_tangent(out, a, b, [](const Tensor& x, const Tensor& y) { return dot(x, y); });
  return out;
}

TensorList DotBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = mul(other.unpack(*this), g);
  if (wants_grad(*this, 1)) out[1] = mul(self.unpack(*this), g);
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (a->dim() != 3) throw std::runtime_error("batch1 must be a 3D tensor");
  if (b->dim() != 3) throw std::runtime_error("batch2 must be a 3D tensor");
  if (a->shape()[0] != b->shape()[0] || a->shape()[2] != b->shape()[1]) {
    throw std::runtime_error("Expected size for first two dimensions of batch2 tensor to be: [" +
                             std::to_string(a->shape()[0]) + ", " + std::to_string(a->shape()[2]) +
                             "] but got: [" + std::to_string(b->shape()[0]) + ", " +
                             std::to_string(b->shape()[1]) + "].");
  }
  check_float_same_dtype(a, b, "batch1 and batch2", "bmm");
  Tensor out =
      product_values(a, b, [](const Tensor& x, const Tensor& y) { return bmm_values(x, y); });
  if (any_requires_grad(a, b)) record_product<BmmBackward0>(out, a, b);
  bilinear_tangent(out, a, b, [](const Tensor& x, const Tensor& y) { return bmm(x, y); });
  return out;
}

TensorList BmmBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(2);
  if (wants_grad(*this, 0)) out[0] = bmm(g, transpose(other.unpack(*this), 1, 2));
  if (wants_grad(*this, 1)) out[1] = bmm(transpose(self.unpack(*this), 1, 2), g);
  return out;
}

Tensor outer(const Tensor& a, const Tensor& b) {
  for (const auto& [t, name] : {std::pair{&a, "self"}, std::pair{&b, "vec2"}}) {
    if ((*t)->dim() != 1) {
      throw std::runtime_error(std::string("outer: Expected 1-D argument ") + name + ", but got " +
                               std::to_string((*t)->dim()) + "-D");
    }
  }
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  const int64_t da = a->dim(), db = b->dim();
  if (da == 0 || db == 0) {
    throw std::runtime_error("both arguments to matmul need to be at least 1D, but they are " +
                             std::to_string(da) + "D and " + std::to_string(db) + "D");
  }
  if (da == 1 && db == 1) return dot(a, b);
  if (da == 2 && db == 1) return mv(a, b);
  if (da == 1 && db == 2) return squeeze_for_matmul(mm(unsqueeze(a, 0), b), 0);
  if (da == 2 && db == 2) return mm(a, b);
  if (da >= 3 && db <= 2) {
    // Fold the batch into rows: (..., n, k) @ (k, m) is one mm.
    const Tensor b2 = db == 1 ? unsqueeze(b, 1) : b;
    const int64_t k = a->shape()[da - 1];
    Tensor out2 = mm(reshape(a, {-1, k}), b2);
    DimList shape(a->shape().begin(), a->shape().end() - 1);
    if (db == 2) shape.push_back(b->shape()[1]);
    return unsafe_view(out2, Shape(shape.begin(), shape.end()));
  }
  if (da == 2 && db >= 3) {
    // torch computes it as (b^T @ a^T)^T so the batch folds into one mm.
    return contiguous(transpose(matmul(transpose(b, -1, -2), t(a)), -1, -2));
  }
  // General batched case: broadcast batch dims, then bmm.
  const Tensor a3 = da == 1 ? unsqueeze(a, 0) : a;
  const Tensor b3 = db == 1 ? unsqueeze(b, 1) : b;
  const int64_t n = a3->shape()[a3->dim() - 2], k = a3->shape()[a3->dim() - 1];
  const int64_t k2 = b3->shape()[b3->dim() - 2], m = b3->shape()[b3->dim() - 1];
  if (k != k2) {
    throw std::runtime_error("Expected size for first two dimensions of batch2 tensor to be: [" +
                             std::to_string(k) + "] but got: [" + std::to_string(k2) + "].");
  }
  Shape batch_a(a3->shape().begin(), a3->shape().end() - 2);
  Shape batch_b(b3->shape().begin(), b3->shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b);
  Shape ea = batch, eb = batch;
  ea.push_back(n), ea.push_back(k);
  eb.push_back(k), eb.push_back(m);
  const int64_t nb = numel_of(batch);
  Tensor out3 = bmm(reshape(expand(a3, ea), {nb, n, k}), reshape(expand(b3, eb), {nb, k, m}));
  DimList shape(batch.begin(), batch.end());
  if (da > 1) shape.push_back(n);
  if (db > 1) shape.push_back(m);
  return unsafe_view(out3, Shape(shape.begin(), shape.end()));
}

}  // namespace ember

// ---- addmm / baddbmm / addmv / addbmm: beta * input + alpha * product ----

namespace ember {
namespace {

// beta * input + alpha * product (a fresh tensor), computed without a graph.
// With beta 0 the input is not read at all (its NaNs do not reach the
// result), as in torch. The ops compute the tangent on the way (tangents
// flow under no_grad), so the result's tangent is the forward formula.
// A whole-number factor of an integer tensor stays an integer, so that
// beta=2 keeps an int64 result int64, as in torch.
Scalar factor_for(const Tensor& t, double factor) {
  if (!is_floating(t->dtype()) && factor == std::trunc(factor)) {
    return Scalar::integer(static_cast<int64_t>(factor));
  }
  return Scalar(factor);
}

Tensor scaled_sum(const Tensor& input, const Tensor& product, double beta, double alpha) {
  GradModeGuard no_grad(false);
  Tensor out = alpha == 1.0 ? product : mul(product, factor_for(product, alpha));
  if (beta == 0.0) return out;
  const Tensor scaled_input = beta == 1.0 ? input : mul(input, factor_for(input, beta));
  return add(out, scaled_input);
}

Tensor scaled(const Tensor& t, double factor) { return factor == 1.0 ? t : mul(t, Scalar(factor)); }

// scaled_sum written into the fresh product by raw kernels, when no tangent is
// asked for (scaled_sum's ops compute it otherwise).
Tensor scaled_sum_into(const Tensor& input, const Tensor& product, double beta, double alpha) {
  if (forward_ad::any_tangent(input, product)) return scaled_sum(input, product, beta, alpha);
  if (alpha != 1.0)
    binary_scalar_inplace_kernel(BinaryOp::Mul, product, factor_for(product, alpha));
  if (beta == 0.0) return product;
  binary_inplace_kernel(
      BinaryOp::Add, product,
      beta == 1.0 ? input : binary_scalar_kernel(BinaryOp::Mul, input, factor_for(input, beta)));
  return product;
}

// torch's checks for addmm and baddbmm, in its order: every operand's dtype
// against the last one's, then the operands' ranks.
void require_dtype_of_last(const Tensor& last, const char* last_name,
                           std::initializer_list<std::pair<const Tensor*, const char*>> others) {
  for (const auto& [t, name] : others) {
    if ((*t)->dtype() != last->dtype()) {
      throw std::runtime_error(
          std::string(name) + " and " + last_name + " must have the same dtype, but got " +
          scalar_type_name((*t)->dtype()) + " and " + scalar_type_name(last->dtype()));
    }
  }
}

// Whether `input` broadcasts to `shape` (else expand gives torch's error).
bool broadcasts_to(const Tensor& input, const Shape& shape) {
  if (input->dim() > static_cast<int64_t>(shape.size())) return false;
  const size_t skip = shape.size() - static_cast<size_t>(input->dim());
  for (size_t i = 0; i < static_cast<size_t>(input->dim()); ++i) {
    if (input->shape()[i] != 1 && input->shape()[i] != shape[skip + i]) return false;
  }
  return true;
}
void require_broadcast(const Tensor& input, const Shape& shape) {
  if (!broadcasts_to(input, shape)) expand(detach(input), shape);
}

// An integer result takes integer coefficients (torch truncates them).
double coefficient_for(const Tensor& t, double factor) {
  return is_floating(t->dtype()) ? factor : std::trunc(factor);
}

}  // namespace

Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta, double alpha) {
  require_dtype_of_last(b, "mat2", {{&bias, "self"}, {&a, "mat1"}});
  for (const auto& [t, name] : {std::pair{&a, "mat1"}, std::pair{&b, "mat2"}}) {
    if ((*t)->dim() != 2) {
      throw std::runtime_error(std::string(name) + " must be a matrix, got " +
                               std::to_string((*t)->dim()) + "-D tensor");
    }
  }
  if (a->shape()[1] == b->shape()[0]) {  // torch's message for a bias that cannot fit comes first
    require_broadcast(bias, Shape{a->shape()[0], b->shape()[1]});
  }
  beta = coefficient_for(bias, beta), alpha = coefficient_for(bias, alpha);
  Tensor out;
  {
    GradModeGuard no_grad(false);
    Tensor product = mm(a, b);
    // torch's addmm (not baddbmm) drops the product at alpha = 0, NaNs included.
    if (alpha == 0.0) product = zeros(product->shape(), product->dtype());
    out = scaled_sum_into(bias, product, beta, alpha == 0.0 ? 1.0 : alpha);
  }
  if (any_requires_grad(bias, a) || any_requires_grad(b)) {
    auto node = std::make_shared<AddmmBackward0>();
    set_history(node, {&bias, &a, &b}, out);
    if (b->requires_grad()) node->mat1 = SavedTensor(a, false);
    if (a->requires_grad()) node->mat2 = SavedTensor(b, false);
    node->bias_meta = GradFit(bias, out);
    node->mat1_col_major = col_major(a);
    node->mat2_col_major = col_major(b);
    node->beta = beta;
    node->alpha = alpha;
  }
  return out;
}

TensorList AddmmBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(3);
  if (wants_grad(*this, 0)) out[0] = bias_meta.fit(scaled(g, beta));
  if (wants_grad(*this, 1)) {
    out[1] = scaled(mm_grad_a(g, mat2.unpack(*this), mat1_col_major), alpha);
  }
  if (wants_grad(*this, 2)) {
    out[2] = scaled(mm_grad_b(mat1.unpack(*this), g, mat2_col_major), alpha);
  }
  return out;
}

Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta,
               double alpha) {
  for (const auto& [t, name] : {std::pair{&batch1, "batch1"}, std::pair{&batch2, "batch2"}}) {
    if ((*t)->dim() != 3) throw std::runtime_error(std::string(name) + " must be a 3D tensor");
  }
  if (batch1->shape()[0] != batch2->shape()[0] || batch1->shape()[2] != batch2->shape()[1]) {
    throw std::runtime_error("Expected size for first two dimensions of batch2 tensor to be: [" +
                             std::to_string(batch1->shape()[0]) + ", " +
                             std::to_string(batch1->shape()[2]) + "] but got: [" +
                             std::to_string(batch2->shape()[0]) + ", " +
                             std::to_string(batch2->shape()[1]) + "].");
  }
  require_dtype_of_last(batch2, "batch2", {{&input, "self"}, {&batch1, "batch1"}});
  beta = coefficient_for(input, beta), alpha = coefficient_for(input, alpha);
  Tensor out;
  {
    GradModeGuard no_grad(false);
    const Tensor product = bmm(batch1, batch2);
    require_broadcast(input, product->shape());
    out = scaled_sum_into(input, product, beta, alpha);
  }
  if (any_requires_grad(input, batch1) || any_requires_grad(batch2)) {
    auto node = record<BaddbmmBackward0>(out, {&input, &batch1, &batch2});
    if (batch2->requires_grad()) node->batch1 = SavedTensor(batch1, false);
    if (batch1->requires_grad()) node->batch2 = SavedTensor(batch2, false);
    node->input_meta = GradFit(input, out);
    node->beta = beta;
    node->alpha = alpha;
  }
  return out;
}

TensorList BaddbmmBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(3);
  if (wants_grad(*this, 0)) out[0] = input_meta.fit(scaled(g, beta));
  if (wants_grad(*this, 1)) out[1] = scaled(bmm(g, transpose(batch2.unpack(*this), 1, 2)), alpha);
  if (wants_grad(*this, 2)) out[2] = scaled(bmm(transpose(batch1.unpack(*this), 1, 2), g), alpha);
  return out;
}

Tensor addmv(const Tensor& input, const Tensor& mat, const Tensor& vec, double beta, double alpha) {
  if (mat->dim() != 2 || vec->dim() != 1 || input->dim() > 1) {
    throw std::runtime_error("vector + matrix @ vector expected, got " +
                             std::to_string(input->dim()) + ", " + std::to_string(mat->dim()) +
                             ", " + std::to_string(vec->dim()));
  }
  const int64_t rows = mat->shape()[0];
  const bool input_fits = input->dim() == 0 || input->shape()[0] == rows || input->shape()[0] == 1;
  if (mat->shape()[1] != vec->shape()[0] || !input_fits) {
    throw std::runtime_error(
        "size mismatch, got input (" + std::to_string(input->dim() == 0 ? 1 : input->shape()[0]) +
        "), mat (" + std::to_string(rows) + "x" + std::to_string(mat->shape()[1]) + "), vec (" +
        std::to_string(vec->shape()[0]) + ")");
  }
  if (input->dtype() != mat->dtype() || mat->dtype() != vec->dtype()) {
    throw std::runtime_error(std::string("addmv input tensors must have the same dtype, but got ") +
                             scalar_type_name(input->dtype()) + ", " +
                             scalar_type_name(mat->dtype()) + ", and " +
                             scalar_type_name(vec->dtype()));
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = scaled_sum(input, mv(mat, vec), beta, alpha);
  }
  if (any_requires_grad(input, mat) || any_requires_grad(vec)) {
    auto node = record<AddmvBackward0>(out, {&input, &mat, &vec});
    if (vec->requires_grad()) node->mat = SavedTensor(mat, false);
    if (mat->requires_grad()) node->vec = SavedTensor(vec, false);
    node->input_meta = GradFit(input, out);
    node->beta = beta;
    node->alpha = alpha;
  }
  return out;
}

TensorList AddmvBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(3);
  if (wants_grad(*this, 0)) out[0] = input_meta.fit(scaled(g, beta));
  if (wants_grad(*this, 1)) out[1] = scaled(outer(g, vec.unpack(*this)), alpha);
  if (wants_grad(*this, 2)) out[2] = scaled(mv(t(mat.unpack(*this)), g), alpha);
  return out;
}

Tensor addr(const Tensor& input, const Tensor& vec1, const Tensor& vec2, double beta,
            double alpha) {
  for (const auto& [v, name] : {std::pair{&vec1, "vec1"}, std::pair{&vec2, "vec2"}}) {
    if ((*v)->dim() != 1) {
      throw std::runtime_error(std::string("addr: Expected 1-D argument ") + name + ", but got " +
                               std::to_string((*v)->dim()) + "-D");
    }
  }
  // torch's kernel, op by op in the promoted dtype (each step rounded to it):
  // beta * input + (alpha * vec1) * vec2.
  const DType dtype = result_type(empty(Shape{0}, result_type(vec1, vec2)), input);
  Tensor out;
  {
    GradModeGuard no_grad(false);
    // A bool result takes a nonzero factor as true, which scales nothing.
    const auto times = [dtype](const Tensor& t, double f) {
      return f == 1.0 || dtype == DType::Bool ? t : mul(t, factor_for(t, f));
    };
    const Tensor product = outer(times(to_dtype(vec1, dtype), alpha), to_dtype(vec2, dtype));
    require_broadcast(input, product->shape());
    out = beta == 0.0 ? product : add(times(to_dtype(input, dtype), beta), product);
  }
  if (any_requires_grad(input, vec1) || any_requires_grad(vec2)) {
    auto node = record<AddrBackward0>(out, {&input, &vec1, &vec2});
    if (vec1->requires_grad()) node->vec2 = SavedTensor(vec2, false);
    if (vec2->requires_grad()) node->vec1 = SavedTensor(vec1, false);
    node->input_meta = GradFit(input, out);
    node->vec1_dtype = vec1->dtype();
    node->vec2_dtype = vec2->dtype();
    node->beta = beta;
    node->alpha = alpha;
  }
  return out;
}

TensorList AddrBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  // A vector's gradient takes its own dtype when promotion widened the result.
  const auto as = [](const Tensor& t, DType d) { return t->dtype() == d ? t : to_dtype(t, d); };
  TensorList out(3);
  if (wants_grad(*this, 0)) out[0] = input_meta.fit(scaled(g, beta));
  if (wants_grad(*this, 1)) {
    const Tensor v2 = vec2.unpack(*this);
    out[1] = as(scaled(mv(g, as(v2, g->dtype())), alpha), vec1_dtype);
  }
  if (wants_grad(*this, 2)) {
    const Tensor v1 = vec1.unpack(*this);
    out[2] = as(scaled(mv(t(g), as(v1, g->dtype())), alpha), vec2_dtype);
  }
  return out;
}

Tensor addbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta,
              double alpha) {
  // torch fits the input to the product's shape before looking at the batches.
  if (batch1->dim() >= 2 && batch2->dim() >= 3) {
    GradModeGuard no_grad(false);
    expand(input, Shape{batch1->shape()[1], batch2->shape()[2]});
  }
  if (batch1->dim() != 3) throw std::runtime_error("batch1 must be a 3D tensor");
  if (batch2->dim() != 3) throw std::runtime_error("batch2 must be a 3D tensor");
  if (batch1->shape()[0] != batch2->shape()[0]) {
    throw std::runtime_error("batch1 and batch2 must have same number of batches, got " +
                             std::to_string(batch1->shape()[0]) + " and " +
                             std::to_string(batch2->shape()[0]));
  }
  if (batch1->shape()[2] != batch2->shape()[1]) {
    throw std::runtime_error(
        "Incompatible matrix sizes for bmm (" + std::to_string(batch1->shape()[1]) + "x" +
        std::to_string(batch1->shape()[2]) + " and " + std::to_string(batch2->shape()[1]) + "x" +
        std::to_string(batch2->shape()[2]) + ")");
  }
  // torch's order and words: the input against batch2 first.
  for (const auto& [a, b] : {std::pair{&input, "self"}, std::pair{&batch1, "mat1"}}) {
    if ((*a)->dtype() != batch2->dtype()) {
      throw std::runtime_error(std::string(b) + " and mat2 must have the same dtype, but got " +
                               scalar_type_name((*a)->dtype()) + " and " +
                               scalar_type_name(batch2->dtype()));
    }
  }
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = scaled_sum(input, sum(bmm(batch1, batch2), DimList{0}, false), beta, alpha);
  }
  if (any_requires_grad(input, batch1) || any_requires_grad(batch2)) {
    auto node = record<AddbmmBackward0>(out, {&input, &batch1, &batch2});
    if (batch2->requires_grad()) node->batch1 = SavedTensor(batch1, false);
    if (batch1->requires_grad()) node->batch2 = SavedTensor(batch2, false);
    node->input_meta = GradFit(input, out);
    node->beta = beta;
    node->alpha = alpha;
  }
  return out;
}

// Every batch's product received the same gradient g.
TensorList AddbmmBackward0::apply(TensorList&& grads) {
  const Tensor& g = grads[0];
  TensorList out(3);
  if (wants_grad(*this, 0)) out[0] = input_meta.fit(scaled(g, beta));
  if (wants_grad(*this, 1)) {
    out[1] = scaled(matmul(g, transpose(batch2.unpack(*this), 1, 2)), alpha);
  }
  if (wants_grad(*this, 2)) {
    out[2] = scaled(matmul(transpose(batch1.unpack(*this), 1, 2), g), alpha);
  }
  return out;
}

}  // namespace ember
