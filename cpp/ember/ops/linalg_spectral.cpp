// Orthogonal factorizations: QR, SVD, the symmetric eigendecomposition and the
// pseudo-inverse, with their backward formulas (differentiable ops, so
// double backward works).

#include <cmath>
#include <limits>

#include "ember/autograd/functions/decompositions.h"
#include "ember/kernels/lapack.h"
#include "ember/ops/linalg_batch.h"

namespace ember {

using linalg::as_int;
using linalg::batch_shape;
using linalg::batch_size;
using linalg::column_major_copy;
using linalg::column_major_empty;
using linalg::leading_dim;
using linalg::matrix_data;
using linalg::mT;
using linalg::record_outputs;
using linalg::with_batch;

namespace {

// Lower triangle copied onto the upper one: the symmetric matrix whose lower
// triangle is M's.
Tensor copy_lower_to_upper(const Tensor& m) {
  return add(linalg::triangle(m, true), mT(linalg::triangle(m, true, -1)));
}

Tensor add_or(const Tensor& a, const Tensor& b) { return a ? (b ? add(a, b) : a) : b; }

bool all_finite(const Tensor& a) {
  for (int64_t i = 0; i < a->numel(); ++i) {
    if (!std::isfinite(element_as_double(a, i))) return false;
  }
  return true;
}

Tensor narrow_last(const Tensor& t, int64_t dim, int64_t length) {
  return t->shape()[t->dim() + dim] == length ? t : slice(t, t->dim() + dim, 0, length, 1);
}

}  // namespace

// ---- QR ----

std::pair<Tensor, Tensor> linalg_qr(const Tensor& a, const std::string& mode) {
  if (mode != "reduced" && mode != "complete" && mode != "r") {
    throw std::runtime_error("qr received unrecognized mode '" + mode +
                             "' but expected one of 'reduced' (default), 'r', or 'complete'");
  }
  linalg::check_floating(a, "linalg.qr");
  linalg::check_matrix(a, "linalg.qr");
  const int64_t m = a->shape()[a->dim() - 2], n = a->shape()[a->dim() - 1], k = std::min(m, n);
  const int64_t batch = batch_size(a);
  const Shape bs = batch_shape(a);
  const Tensor factored = column_major_copy(a);
  Tensor tau = empty(with_batch(bs, {k}), a->dtype());
  const int64_t r_rows = mode == "complete" ? m : k;
  Tensor r = zeros(with_batch(bs, {r_rows, n}), a->dtype());
  Tensor q = mode == "r"
                 ? empty(Shape{0}, a->dtype())
                 : column_major_empty(with_batch(bs, {m, mode == "complete" ? m : k}), a->dtype());
  EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
    linalg::for_each_matrix(batch, m * n * k, [&](int64_t b) {
      T* f = matrix_data<T>(factored, b);
      T* t = tau->data<T>() + b * k;
      if (k > 0) lapack::geqrf(as_int(m), as_int(n), f, leading_dim(m), t);
      T* rb = r->data<T>() + b * r_rows * n;
      for (int64_t i = 0; i < std::min(r_rows, m); ++i) {
        for (int64_t j = i; j < n; ++j) rb[i * n + j] = f[j * m + i];
      }
      if (mode == "r") return;
      const int64_t qcols = q->shape()[q->dim() - 1];
      T* qb = matrix_data<T>(q, b);
      for (int64_t j = 0; j < qcols; ++j) {
        for (int64_t i = 0; i < m; ++i) qb[j * m + i] = j < n ? f[j * m + i] : T(0);
      }
      if (m > 0 && qcols > 0)
        lapack::orgqr(as_int(m), as_int(qcols), as_int(k), qb, leading_dim(m), t);
    });
  });
  if (auto node = record_outputs<LinalgQrBackward0>("linalg_qr", {&a}, {&q, &r})) {
    node->q = SavedTensor(q, true);
    node->r = SavedTensor(r, true);
    node->mode = mode;
  }
  return {q, r};
}

namespace {

// A = Q R with m >= n (Q m x n, R n x n):
// gA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q.
Tensor qr_backward_tall(const Tensor& gq, const Tensor& gr, const Tensor& q, const Tensor& r) {
  const Tensor m_mat =
      add_or(gr ? matmul(r, mT(gr)) : Tensor(), gq ? neg(matmul(mT(gq), q)) : Tensor());
  const Tensor b = add_or(matmul(q, copy_lower_to_upper(m_mat)), gq);
  return linalg_solve_triangular(mT(r), b, false, false, false);
}

}  // namespace

TensorList LinalgQrBackward0::apply(TensorList&& grads) {
  if (mode == "r") {
    throw std::runtime_error(
        "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
        "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.");
  }
  const Tensor Q = q.unpack(*this), R = r.unpack(*this);
  const int64_t m = Q->shape()[Q->dim() - 2], n = R->shape()[R->dim() - 1];
  if (mode == "complete" && m > n) {
    throw std::runtime_error(
        "The QR decomposition is not differentiable when mode='complete' and nrows > ncols.");
  }
  const Tensor& gq = grads[0];
  const Tensor& gr = grads[1];
  if (!gq && !gr) return {zeros(with_batch(batch_shape(R), {m, n}), R->dtype())};
  if (m >= n) return {qr_backward_tall(gq, gr, Q, R)};
  // m < n: A = [X | Y] with X = Q U (square QR) and Y = Q V, where R = [U | V].
  const int64_t last = R->dim() - 1;
  const Tensor U = slice(R, last, 0, m, 1), V = slice(R, last, m, n, 1);
  const Tensor gu = gr ? slice(gr, last, 0, m, 1) : Tensor();
  const Tensor gv = gr ? slice(gr, last, m, n, 1) : Tensor();
  const Tensor gq_total = add_or(gq, gv ? matmul(matmul(Q, V), mT(gv)) : Tensor());
  const Tensor gx = qr_backward_tall(gq_total, gu, Q, U);
  const Tensor gy = gv ? matmul(Q, gv) : zeros(V->shape(), V->dtype());
  return {cat({gx, gy}, -1)};
}

// ---- SVD ----

SvdResult linalg_svd(const Tensor& a, bool full_matrices, bool compute_uv) {
  const std::string fn = "linalg.svd";  // linalg.svdvals too, as torch names it
  linalg::check_floating(a, fn);
  linalg::check_matrix(a, fn);
  const int64_t m = a->shape()[a->dim() - 2], n = a->shape()[a->dim() - 1], k = std::min(m, n);
  const int64_t batch = batch_size(a);
  const Shape bs = batch_shape(a);
  // The backward needs U and Vh even when the caller asks for the values only.
  const bool want_uv = compute_uv || (GradMode::is_enabled() && a->requires_grad());
  const bool full = compute_uv && full_matrices;
  const char jobz = !want_uv ? 'N' : (full ? 'A' : 'S');
  if (!all_finite(a)) {
    throw LinAlgError(
        "linalg.svd: The algorithm failed to converge because the input matrix contained "
        "non-finite values.");
  }
  const Tensor work = column_major_copy(a);
  Tensor s = empty(with_batch(bs, {k}), a->dtype());
  Tensor u, vh;
  if (want_uv) {
    u = column_major_empty(with_batch(bs, {m, full ? m : k}), a->dtype());
    vh = column_major_empty(with_batch(bs, {full ? n : k, n}), a->dtype());
    if (k == 0) {  // nothing to decompose: the full bases are identities
      GradModeGuard no_grad(false);
      u = contiguous_clone(expand(eye(m, u->shape()[u->dim() - 1], a->dtype()), u->shape()));
      vh = contiguous_clone(expand(eye(vh->shape()[vh->dim() - 2], n, a->dtype()), vh->shape()));
    }
  }
  std::vector<int> infos(static_cast<size_t>(batch), 0);
  if (k > 0) {
    EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
      linalg::for_each_matrix(batch, m * n * k, [&](int64_t b) {
        T dummy = 0;
        const int64_t vrows = want_uv ? vh->shape()[vh->dim() - 2] : 1;
        infos[b] = lapack::gesdd(jobz, as_int(m), as_int(n), matrix_data<T>(work, b),
                                 leading_dim(m), s->data<T>() + b * k,
                                 want_uv ? matrix_data<T>(u, b) : &dummy, leading_dim(m),
                                 want_uv ? matrix_data<T>(vh, b) : &dummy, leading_dim(vrows));
      });
    });
  }
  linalg::raise_on_failure(infos, false, "linalg.svd", [](int info) {
    return "The algorithm failed to converge because the input matrix is ill-conditioned or "
           "has too many repeated singular values (error code: " +
           std::to_string(info) + ").";
  });
  if (auto node = record_outputs<LinalgSvdBackward0>("linalg_svd", {&a}, {&u, &s, &vh})) {
    node->u = SavedTensor(u, true);
    node->s = SavedTensor(s, true);
    node->vh = SavedTensor(vh, true);
    node->full_matrices = full;
  }
  if (!compute_uv) return {Tensor(), s, Tensor()};
  return {u, s, vh};
}

TensorList LinalgSvdBackward0::apply(TensorList&& grads) {
  Tensor U = u.unpack(*this), S = s.unpack(*this), Vh = vh.unpack(*this);
  const int64_t m = U->shape()[U->dim() - 2], n = Vh->shape()[Vh->dim() - 1];
  const int64_t k = S->shape()[S->dim() - 1];
  Tensor gu = grads[0], gs = grads[1], gvh = grads[2];
  if (full_matrices) {  // the extra columns of U and rows of Vh carry no gradient
    U = narrow_last(U, -1, k), Vh = narrow_last(Vh, -2, k);
    if (gu) gu = narrow_last(gu, -1, k);
    if (gvh) gvh = narrow_last(gvh, -2, k);
  }
  if (!gu && !gvh) {
    if (!gs) return {zeros(with_batch(batch_shape(U), {m, n}), S->dtype())};
    return {matmul(mul(U, unsqueeze(gs, -2)), Vh)};
  }
  // The k x k core: skew(U^T gU) S and S skew(Vh gVh^T), each divided by
  // E_ij = S_j^2 - S_i^2 (1 on the diagonal, where the skew parts vanish).
  auto skew = [](const Tensor& x) { return sub(x, mT(x)); };
  const Tensor s2 = mul(S, S);
  const Tensor e = add(sub(unsqueeze(s2, -2), unsqueeze(s2, -1)), eye(k, k, S->dtype()));
  Tensor core = add_or(gu ? mul(skew(matmul(mT(U), gu)), unsqueeze(S, -2)) : Tensor(),
                       gvh ? mul(unsqueeze(S, -1), skew(matmul(Vh, mT(gvh)))) : Tensor());
  core = div(core, e);
  if (gs) core = add(core, linalg::diag_embed(gs));
  if (m > k && gu) {
    // The part of gU outside U's column space.
    const Tensor gu_sinv = div(gu, unsqueeze(S, -2));
    Tensor ga = add(matmul(U, core), sub(gu_sinv, matmul(U, matmul(mT(U), gu_sinv))));
    return {matmul(ga, Vh)};
  }
  if (n > k && gvh) {
    const Tensor gvh_sinv = div(gvh, unsqueeze(S, -1));
    Tensor ga = add(matmul(core, Vh), sub(gvh_sinv, matmul(matmul(gvh_sinv, mT(Vh)), Vh)));
    return {matmul(U, ga)};
  }
  return {matmul(matmul(U, core), Vh)};
}

// ---- symmetric eigendecomposition ----

std::pair<Tensor, Tensor> linalg_eigh(const Tensor& a, bool upper, bool compute_v) {
  const std::string fn = "linalg.eigh";  // linalg.eigvalsh too, as torch names it
  linalg::check_floating(a, fn);
  linalg::check_square(a, fn);
  const int64_t n = a->shape()[a->dim() - 1], batch = batch_size(a);
  const bool want_v = compute_v || (GradMode::is_enabled() && a->requires_grad());
  Tensor vectors = column_major_copy(a);
  Tensor values = empty(with_batch(batch_shape(a), {n}), a->dtype());
  std::vector<int> infos(static_cast<size_t>(batch), 0);
  if (n > 0) {
    EMBER_DISPATCH_FLOAT(a->dtype(), T, [&] {
      linalg::for_each_matrix(batch, n * n * n, [&](int64_t b) {
        infos[b] =
            lapack::syevd(want_v ? 'V' : 'N', upper ? 'U' : 'L', as_int(n),
                          matrix_data<T>(vectors, b), leading_dim(n), values->data<T>() + b * n);
      });
    });
  }
  linalg::raise_on_failure(infos, a->dim() > 2, fn, [](int info) {
    return "The algorithm failed to converge because the input matrix is ill-conditioned or "
           "has too many repeated eigenvalues (error code: " +
           std::to_string(info) + ").";
  });
  if (!want_v) vectors = Tensor();
  if (auto node = record_outputs<LinalgEighBackward0>("linalg_eigh", {&a}, {&values, &vectors})) {
    node->values = SavedTensor(values, true);
    node->vectors = SavedTensor(vectors, true);
  }
  if (!compute_v) return {values, Tensor()};
  return {values, vectors};
}

// gA = V (diag(gL) + skew(V^T gV) / 2E) V^T with E_ij = L_j - L_i: the
// eigenvector part projected onto the skew-symmetric matrices, which keeps
// gA symmetric.
TensorList LinalgEighBackward0::apply(TensorList&& grads) {
  const Tensor L = values.unpack(*this), V = vectors.unpack(*this);
  const Tensor &gl = grads[0], &gv = grads[1];
  const int64_t n = L->shape()[L->dim() - 1];
  Tensor core;
  if (gv) {
    const Tensor vtgv = matmul(mT(V), gv);
    const Tensor e = add(sub(unsqueeze(L, -2), unsqueeze(L, -1)), eye(n, n, L->dtype()));
    core = div(mul(sub(vtgv, mT(vtgv)), Scalar(0.5)), e);
  }
  if (gl) core = add_or(core, linalg::diag_embed(gl));
  if (!core) return {zeros(V->shape(), V->dtype())};
  return {matmul(V, matmul(core, mT(V)))};
}

// ---- pseudo-inverse ----

Tensor linalg_pinv(const Tensor& a, std::optional<double> atol, std::optional<double> rtol,
                   bool hermitian) {
  if (a->dim() < 2 || !is_floating(a->dtype())) {
    throw std::runtime_error(std::string("linalg.pinv(") + scalar_type_name(a->dtype()) + "{" +
                             shape_str(a->shape()) +
                             "}): expected a tensor with 2 or more dimensions of float, double, "
                             "cfloat or cdouble types");
  }
  const int64_t m = a->shape()[a->dim() - 2], n = a->shape()[a->dim() - 1];
  // torch's defaults: rtol = eps * max(m, n) unless an atol is given.
  const double eps = a->dtype() == DType::Float32 ? std::numeric_limits<float>::epsilon()
                                                  : std::numeric_limits<double>::epsilon();
  const double rt = rtol ? *rtol : (atol && *atol > 0 ? 0.0 : eps * double(std::max(m, n)));
  const double at = atol ? *atol : 0.0;
  Tensor pinv;
  {
    GradModeGuard no_grad(false);
    auto invert = [&](const Tensor& sv, const Tensor& magnitude) {
      // Values below the cutoff count as zero.
      const Tensor largest = amax_amin(magnitude, {-1}, true, true);
      const Tensor cutoff = clamp(mul(largest, Scalar(rt)), Scalar(at), std::nullopt);
      return where(compare(BinaryOp::Gt, magnitude, cutoff), reciprocal(sv),
                   zeros(Shape{}, a->dtype()));
    };
    if (m == 0 || n == 0) {
      pinv = zeros(with_batch(batch_shape(a), {n, m}), a->dtype());
    } else if (hermitian) {
      auto [l, v] = linalg_eigh(a, false);
      pinv = matmul(mul(v, unsqueeze(invert(l, abs(l)), -2)), mT(v));
    } else {
      SvdResult svd = linalg_svd(a, false);
      pinv = matmul(mul(mT(svd.Vh), unsqueeze(invert(svd.S, svd.S), -2)), mT(svd.U));
    }
    pinv = contiguous(pinv);
  }
  if (auto node = record_outputs<LinalgPinvBackward0>("linalg_pinv", {&a}, {&pinv})) {
    node->a = SavedTensor(a, false);
    node->pinv = SavedTensor(pinv, true);
  }
  return pinv;
}

namespace linalg {

// dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P, so
// gA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A).
Tensor pinv_backward(const Tensor& g, const Tensor& p, const Tensor& a) {
  const Tensor pt = mT(p), gt = mT(g);
  const Tensor first = neg(matmul(matmul(pt, g), pt));
  const Tensor x = matmul(matmul(gt, p), pt);
  const Tensor second = sub(x, matmul(a, matmul(p, x)));
  const Tensor y = matmul(matmul(pt, p), gt);
  const Tensor third = sub(y, matmul(matmul(y, p), a));
  return add(add(first, second), third);
}

}  // namespace linalg

TensorList LinalgPinvBackward0::apply(TensorList&& grads) {
  return {linalg::pinv_backward(grads[0], pinv.unpack(*this), a.unpack(*this))};
}

}  // namespace ember
