"""Named results of ops returning several tensors, like torch.return_types."""

from collections import namedtuple


def _result(name, fields=("values", "indices")):
    base = namedtuple(name, fields)

    def __repr__(self):
        # torch's layout: one field per line after the qualified name.
        fields = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"ember.return_types.{name}(\n{fields})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})


max = _result("max")  # noqa: A001
min = _result("min")  # noqa: A001
sort = _result("sort")
topk = _result("topk")
median = _result("median")
nanmedian = _result("nanmedian")
cummax = _result("cummax")
cummin = _result("cummin")
kthvalue = _result("kthvalue")
mode = _result("mode")
frexp = _result("frexp", ("mantissa", "exponent"))
aminmax = _result("aminmax", ("min", "max"))

# Linear algebra (ember.linalg and the legacy torch.* names).
linalg_inv_ex = _result("linalg_inv_ex", ("inverse", "info"))
linalg_solve_ex = _result("linalg_solve_ex", ("result", "info"))
linalg_cholesky_ex = _result("linalg_cholesky_ex", ("L", "info"))
linalg_slogdet = _result("linalg_slogdet", ("sign", "logabsdet"))
slogdet = _result("slogdet", ("sign", "logabsdet"))
linalg_qr = _result("linalg_qr", ("Q", "R"))
qr = _result("qr", ("Q", "R"))
linalg_svd = _result("linalg_svd", ("U", "S", "Vh"))
svd = _result("svd", ("U", "S", "V"))
linalg_eigh = _result("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_lstsq = _result("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
triangular_solve = _result("triangular_solve", ("solution", "cloned_coefficient"))
linalg_lu_factor = _result("linalg_lu_factor", ("LU", "pivots"))
linalg_lu_factor_ex = _result("linalg_lu_factor_ex", ("LU", "pivots", "info"))
linalg_lu = _result("linalg_lu", ("P", "L", "U"))
lu_unpack = _result("lu_unpack", ("P", "L", "U"))
_lu_with_info = _result("_lu_with_info", ("LU", "pivots", "info"))
