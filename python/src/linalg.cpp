// Bindings of the LAPACK-backed linear algebra (ember._C._linalg) and its node
// classes; ember/linalg.py handles the argument forms on top.

#include "common.h"
#include "ember/autograd/functions/decompositions.h"

namespace ember::bindings {
namespace {

// Work of a cubic routine on a (..., m, n) batch, for MaybeReleaseGIL.
int64_t cubic_work(const Tensor& a) {
  const int64_t last = a->dim() > 0 ? a->shape()[a->dim() - 1] : 1;
  return a->numel() * last;
}

std::optional<double> optional_double(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return h.cast<double>();
}

}  // namespace

void init_linalg(py::module_& m) {
  py::register_exception<LinAlgError>(m, "_LinAlgError", PyExc_RuntimeError);
#define EMBER_BIND_LINALG(NAME) bind_node<NAME>(m, #NAME)
  EMBER_BIND_LINALG(LinalgInvExBackward0);
  EMBER_BIND_LINALG(LinalgDetBackward0);
  EMBER_BIND_LINALG(LinalgSlogdetBackward0);
  EMBER_BIND_LINALG(LinalgSolveExBackward0);
  EMBER_BIND_LINALG(LinalgCholeskyExBackward0);
  EMBER_BIND_LINALG(CholeskyBackward0);
  EMBER_BIND_LINALG(LinalgSolveTriangularBackward0);
  EMBER_BIND_LINALG(TriangularSolveBackward0);
  EMBER_BIND_LINALG(CholeskySolveBackward0);
  EMBER_BIND_LINALG(LinalgLstsqBackward0);
  EMBER_BIND_LINALG(LinalgCrossBackward0);
  EMBER_BIND_LINALG(LinalgQrBackward0);
  EMBER_BIND_LINALG(LinalgSvdBackward0);
  EMBER_BIND_LINALG(LinalgEighBackward0);
  EMBER_BIND_LINALG(LinalgPinvBackward0);
#undef EMBER_BIND_LINALG

  py::module_ l = m.def_submodule("_linalg", "LAPACK-backed linear algebra");
  l.def(
      "inv_ex",
      [](const Tensor& a, bool check_errors) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_inv_ex(a, check_errors);
      },
      py::arg("A"), py::arg("check_errors"));
  l.def(
      "_lu_factor_raw",
      [](const Tensor& a) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_lu_factor_raw(a);
      },
      py::arg("A"));
  l.def(
      "_householder_product_raw",
      [](const Tensor& a, const Tensor& tau) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_householder_product_raw(a, tau);
      },
      py::arg("A"), py::arg("tau"));
  l.def(
      "inv",
      [](const Tensor& a) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_inv(a);
      },
      py::arg("A"));
  l.def(
      "solve",
      [](const Tensor& a, const Tensor& b, bool left) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_solve(a, b, left);
      },
      py::arg("A"), py::arg("B"), py::arg("left"));
  l.def(
      "cholesky",
      [](const Tensor& a, bool upper) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_cholesky(a, upper);
      },
      py::arg("A"), py::arg("upper"));
  l.def(
      "det",
      [](const Tensor& a) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_det(a);
      },
      py::arg("A"));
  l.def(
      "slogdet",
      [](const Tensor& a) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_slogdet(a);
      },
      py::arg("A"));
  l.def(
      "solve_ex",
      [](const Tensor& a, const Tensor& b, bool left, bool check_errors) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_solve_ex(a, b, left, check_errors);
      },
      py::arg("A"), py::arg("B"), py::arg("left"), py::arg("check_errors"));
  l.def(
      "cholesky_ex",
      [](const Tensor& a, bool upper, bool check_errors) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_cholesky_ex(a, upper, check_errors);
      },
      py::arg("A"), py::arg("upper"), py::arg("check_errors"));
  l.def(
      "cholesky_legacy",
      [](const Tensor& a, bool upper) {
        MaybeReleaseGIL gil(cubic_work(a));
        return cholesky_legacy(a, upper);
      },
      py::arg("input"), py::arg("upper"));
  l.def(
      "solve_triangular",
      [](const Tensor& a, const Tensor& b, bool upper, bool left, bool unitriangular) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_solve_triangular(a, b, upper, left, unitriangular);
      },
      py::arg("A"), py::arg("B"), py::arg("upper"), py::arg("left"), py::arg("unitriangular"));
  l.def(
      "triangular_solve",
      [](const Tensor& b, const Tensor& a, bool upper, bool transpose, bool unitriangular) {
        MaybeReleaseGIL gil(cubic_work(a));
        return triangular_solve(b, a, upper, transpose, unitriangular);
      },
      py::arg("input"), py::arg("A"), py::arg("upper"), py::arg("transpose"),
      py::arg("unitriangular"));
  l.def(
      "cholesky_solve",
      [](const Tensor& b, const Tensor& factor, bool upper) {
        MaybeReleaseGIL gil(cubic_work(factor));
        return cholesky_solve(b, factor, upper);
      },
      py::arg("input"), py::arg("input2"), py::arg("upper"));
  l.def(
      "lstsq",
      [](const Tensor& a, const Tensor& b, py::handle rcond, const std::string& driver) {
        const std::optional<double> r = optional_double(rcond);
        LstsqResult out;
        {
          MaybeReleaseGIL gil(cubic_work(a));
          out = linalg_lstsq(a, b, r, driver);
        }
        return py::make_tuple(out.solution, out.residuals, out.rank, out.singular_values);
      },
      py::arg("A"), py::arg("B"), py::arg("rcond"), py::arg("driver"));
  l.def(
      "cross",
      [](const Tensor& a, const Tensor& b, int64_t dim) { return linalg_cross(a, b, dim); },
      py::arg("input"), py::arg("other"), py::arg("dim"));
  l.def(
      "qr",
      [](const Tensor& a, const std::string& mode) {
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_qr(a, mode);
      },
      py::arg("A"), py::arg("mode"));
  l.def(
      "svd",
      [](const Tensor& a, bool full_matrices, bool compute_uv) {
        SvdResult out;
        {
          MaybeReleaseGIL gil(cubic_work(a));
          out = linalg_svd(a, full_matrices, compute_uv);
        }
        if (!compute_uv) return py::object(py::cast(out.S));
        return py::object(py::make_tuple(out.U, out.S, out.Vh));
      },
      py::arg("A"), py::arg("full_matrices"), py::arg("compute_uv"));
  l.def(
      "eigh",
      [](const Tensor& a, bool upper, bool compute_v) -> py::object {
        std::pair<Tensor, Tensor> out;
        {
          MaybeReleaseGIL gil(cubic_work(a));
          out = linalg_eigh(a, upper, compute_v);
        }
        if (!compute_v) return py::cast(out.first);
        return py::make_tuple(out.first, out.second);
      },
      py::arg("A"), py::arg("upper"), py::arg("compute_v"));
  l.def(
      "pinv",
      [](const Tensor& a, py::handle atol, py::handle rtol, bool hermitian) {
        const std::optional<double> at = optional_double(atol), rt = optional_double(rtol);
        MaybeReleaseGIL gil(cubic_work(a));
        return linalg_pinv(a, at, rt, hermitian);
      },
      py::arg("A"), py::arg("atol"), py::arg("rtol"), py::arg("hermitian"));
}

}  // namespace ember::bindings
