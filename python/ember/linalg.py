"""ember.linalg: torch.linalg's functions, and the legacy torch.* names for them.

The computation and the graph are C++ (`ember._C._linalg`); this module handles
argument forms, named results and the compositions torch itself composes
(matrix norms, matrix_power, logdet).
"""

import math
import warnings

from . import _C, _linalg_lu
from . import _return_types as return_types
from ._dtype_info import TYPE_NAMES
from ._out import out_form
from ._products import linalg_vander as vander
from ._products import multi_dot
from ._stacking import broadcast_shapes

LinAlgError = _C._LinAlgError
_L = _C._linalg

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "inv_ex",
    "householder_product",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matmul",
    "cond",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]


_LOW_PRECISION = (_C.float16, _C.bfloat16)


def _refuse_low_precision(A, name):
    if isinstance(A, _C.Tensor) and A.dtype in _LOW_PRECISION:
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {TYPE_NAMES[A.dtype]}")


@out_form("linalg.inv")
def inv(A):
    _refuse_low_precision(A, "linalg.inv")
    return _L.inv(A)


def _with_int32_info(result_type, parts):
    """An *_ex result: torch's info is int32."""
    *results, info = parts
    return result_type(*results, info.to(_C.int32))


@out_form("linalg.inv_ex")
def inv_ex(A, *, check_errors=False):
    _refuse_low_precision(A, "linalg.inv")
    return _with_int32_info(return_types.linalg_inv_ex, _L.inv_ex(A, check_errors))


@out_form("linalg.det")
def det(A):
    return _L.det(A)


@out_form("linalg.slogdet")
def slogdet(A):
    _refuse_low_precision(A, "linalg.slogdet")
    return return_types.linalg_slogdet(*_L.slogdet(A))


@out_form("linalg.solve")
def solve(A, B, *, left=True):
    return _L.solve(A, B, left)


@out_form("linalg.solve_ex")
def solve_ex(A, B, *, left=True, check_errors=False):
    return _with_int32_info(return_types.linalg_solve_ex, _L.solve_ex(A, B, left, check_errors))


lu_factor = out_form("linalg.lu_factor")(_linalg_lu.lu_factor)
lu_factor_ex = out_form("linalg.lu_factor_ex")(_linalg_lu.lu_factor_ex)
lu = out_form("linalg.lu")(_linalg_lu.lu)
lu_solve = out_form("linalg.lu_solve")(_linalg_lu.lu_solve)
householder_product = out_form("linalg.householder_product")(_linalg_lu.householder_product)


@out_form("linalg.tensorinv")
def tensorinv(A, ind=2):
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"
        )
    # torch inverts the (rows, rows) matricization and reshapes the column-major result
    return inv(A.reshape(rows, cols)).reshape(*A.shape[ind:], *A.shape[:ind])


@out_form("linalg.tensorsolve")
def tensorsolve(A, B, dims=None):
    if dims is not None:
        dims = [d % A.dim() for d in dims]
        A = A.movedim(dims, list(range(A.dim() - len(dims), A.dim())))
    result_shape = tuple(A.shape[B.dim() :])
    size = math.prod(result_shape)
    if size != B.numel():
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got {size} != {B.numel()}"
        )
    return solve(A.reshape(size, size), B.reshape(size)).view(result_shape)


@out_form("linalg.cholesky")
def cholesky(A, *, upper=False):
    return _L.cholesky(A, upper)


@out_form("linalg.cholesky_ex")
def cholesky_ex(A, *, upper=False, check_errors=False):
    return _with_int32_info(return_types.linalg_cholesky_ex, _L.cholesky_ex(A, upper, check_errors))


@out_form("linalg.solve_triangular")
def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    return _L.solve_triangular(A, B, upper, left, unitriangular)


@out_form("linalg.qr")
def qr(A, mode="reduced"):
    return return_types.linalg_qr(*_L.qr(A, mode))


def _check_svd_driver(driver):
    if driver is not None:
        raise RuntimeError(
            "torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs "
            "with cuSOLVER backend."
        )


@out_form("linalg.svd")
def svd(A, full_matrices=True, *, driver=None):
    _check_svd_driver(driver)
    return return_types.linalg_svd(*_L.svd(A, full_matrices, True))


@out_form("linalg.svdvals")
def svdvals(A, *, driver=None):
    _check_svd_driver(driver)
    return _L.svd(A, False, False)


def _upper(uplo):
    if uplo not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")
    return uplo in ("U", "u")


@out_form("linalg.eigh")
def eigh(A, UPLO="L"):  # noqa: N803 - torch's keyword
    return return_types.linalg_eigh(*_L.eigh(A, _upper(UPLO), True))


@out_form("linalg.eigvalsh")
def eigvalsh(A, UPLO="L"):  # noqa: N803
    return _L.eigh(A, _upper(UPLO), False)


@out_form("linalg.lstsq")
def lstsq(A, B, rcond=None, *, driver=None):
    if isinstance(A, _C.Tensor) and A.dtype not in (_C.float32, _C.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    return return_types.linalg_lstsq(*_L.lstsq(A, B, rcond, "gelsy" if driver is None else driver))


@out_form("linalg.pinv")
def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    if rcond is not None:  # torch's older spelling of rtol
        if rtol is not None:
            raise RuntimeError("linalg.pinv: cannot specify both rcond and rtol")
        rtol = rcond
    if isinstance(A, _C.Tensor) and A.dtype in _LOW_PRECISION:
        raise RuntimeError(
            f"linalg.pinv({TYPE_NAMES[A.dtype]}{{{list(A.shape)}}}): expected a tensor with 2 or "
            "more dimensions of float, double, cfloat or cdouble types"
        )
    return _L.pinv(A, _float_or_none(atol), _float_or_none(rtol), hermitian)


def _float_or_none(x):
    if x is None:
        return None
    if isinstance(x, _C.Tensor):
        if x.numel() != 1:
            raise NotImplementedError("ember.linalg.pinv takes atol and rtol as numbers")
        return x.item()
    return float(x)


@out_form("linalg.cross")
def cross(input, other, *, dim=-1):  # noqa: A002
    if isinstance(input, _C.Tensor) and input.dtype == _C.bool:
        raise NotImplementedError("\"cross\" not implemented for 'Bool'")
    return _L.cross(input, other, dim)


@out_form("linalg.matmul")
def matmul(input, other):  # noqa: A002
    return _C.matmul(input, other)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return _C.diagonal(A, offset, dim1, dim2)


@out_form("linalg.vecdot")
def vecdot(x, y, *, dim=-1):
    for t in (x, y):
        if isinstance(t, _C.Tensor) and not t.is_floating_point():
            raise RuntimeError(
                "linalg.vecdot: Expected a floating point or complex tensor as input. "
                f"Got {TYPE_NAMES[t.dtype]}"
            )
    return (x * y).sum(dim)


@out_form("linalg.matrix_power")
def matrix_power(A, n):
    _check_square(A, "linalg.matrix_power")
    n = int(n)
    if n == 0:
        # torch writes the identity over a copy of A (node CopyBackwards).
        eye = _C.eye(A.shape[-1], dtype=A.dtype).expand(A.shape)
        return A.clone().copy_(eye)
    if n < 0:
        A = inv(A)
        n = -n
    if n == 1:
        return A.clone()
    # Binary powering: A^n as products of repeated squares.
    result = None
    square = A
    while True:
        if n & 1:
            result = square if result is None else _C.matmul(result, square)
        n >>= 1
        if n == 0:
            return result
        square = _C.matmul(square, square)


def _check_square(A, fn):
    if A.dim() < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"{fn}: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )


# ----- norms ----------------------------------------------------------------------------


@out_form("linalg.vector_norm")
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    if dtype is not None:
        x = x.to(dtype)
    if isinstance(dim, int):
        dim = (dim,)
    return _C.norm(x, float(ord), dim, keepdim)


def _wrap_dim(d, ndim):
    if not -ndim <= d < ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
            f"but got {d})"
        )
    return d % ndim


def _ord_str(ord):  # noqa: A002
    if isinstance(ord, float) and math.isinf(ord):
        return "inf" if ord > 0 else "-inf"
    return str(ord)


@out_form("linalg.matrix_norm")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    if A.dim() < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    if not A.is_floating_point():
        raise RuntimeError(
            "linalg.matrix_norm: Expected a floating point or complex tensor as input. "
            f"Got {TYPE_NAMES[A.dtype]}"
        )
    if dtype is not None:
        A = A.to(dtype)
    dim = tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}"
        )
    d0, d1 = (_wrap_dim(d, A.dim()) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or ord in (2, -2):
        sv = svdvals(A.movedim((d0, d1), (-2, -1)))
        if ord == "nuc":
            result = sv.sum(-1, keepdim=keepdim)
        else:
            result = sv.amax(-1, keepdim) if ord == 2 else sv.amin(-1, keepdim)
        if keepdim:  # (..., 1) -> (..., 1, 1), moved back to the reduced dims
            result = result.unsqueeze(-1).movedim((-2, -1), (d0, d1))
        return result
    if ord in (1, -1) or (isinstance(ord, float) and math.isinf(ord)):
        if isinstance(ord, float) and math.isinf(ord):
            d0, d1 = d1, d0
        if not keepdim and d0 < d1:
            d1 -= 1
        sums = vector_norm(A, 1, d0, keepdim)
        return sums.amax(d1, keepdim) if ord > 0 else sums.amin(d1, keepdim)
    raise RuntimeError(f"linalg.matrix_norm: Order {_ord_str(ord)} not supported.")


@out_form("linalg.norm")
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.dim() not in (1, 2):
            raise RuntimeError(
                "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                f"Got {A.dim()}D."
            )
        dim = tuple(range(A.dim()))
    if isinstance(ord, str) or len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if len(dim) != 1:
        raise RuntimeError(
            f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}"
        )
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


# ----- the legacy torch.* names ---------------------------------------------------------


_WARNED = set()


def _deprecated(message):
    """A UserWarning given once per process, as torch's TORCH_WARN_ONCE."""
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, UserWarning, stacklevel=3)


def _inverse(input):  # noqa: A002
    return _L.inv(input)


def _slogdet(input):  # noqa: A002
    return return_types.slogdet(*_L.slogdet(input))


def _logdet(input):  # noqa: A002
    sign, logabsdet = _L.slogdet(input)
    return _C.where(sign == -1, _C.full((), math.nan, dtype=logabsdet.dtype), logabsdet)


def _cholesky(input, upper=False):  # noqa: A002
    _deprecated(
        "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed "
        "in a future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\n"
        "L = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\n"
        "should be replaced with\nU = torch.linalg.cholesky(A).mH\nThis transform will produce "
        "equivalent results for all valid (symmetric positive definite) inputs."
    )
    return _L.cholesky_legacy(input, upper)


def _qr(input, some=True):  # noqa: A002
    _deprecated(
        "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future "
        "PyTorch release.\nThe boolean parameter 'some' has been replaced with a string "
        "parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\n"
        "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')"
    )
    return return_types.qr(*_L.qr(input, "reduced" if some else "complete"))


def _svd(input, some=True, compute_uv=True):  # noqa: A002
    """torch.svd: V rather than Vh; without compute_uv, U and V are zero-filled."""
    if not compute_uv:
        s = _L.svd(input, False, False)
        m, n = input.shape[-2], input.shape[-1]
        batch = tuple(input.shape[:-2])
        return return_types.svd(
            _C.zeros(batch + (m, m), dtype=input.dtype),
            s,
            _C.zeros(batch + (n, n), dtype=input.dtype),
        )
    u, s, vh = _L.svd(input, not some, True)
    return return_types.svd(u, s, vh.transpose(-2, -1))


def _pinverse(input, rcond=1e-15):  # noqa: A002
    return _L.pinv(input, None, float(rcond), False)


def _cross(input, other, dim=None):  # noqa: A002
    if dim is None:
        shape = broadcast_shapes(input.shape, other.shape)
        dim = next((d for d, size in enumerate(shape) if size == 3), -1)
        _deprecated(
            "Using torch.cross without specifying the dim arg is deprecated.\n"
            "Please either pass the dim explicitly or simply use torch.linalg.cross.\n"
            "The default value of dim will change to agree with that of linalg.cross in a "
            "future release."
        )
    return _L.cross(input, other, dim)


def _cholesky_solve(input, input2, upper=False):  # noqa: A002
    return _L.cholesky_solve(input, input2, upper)


def _triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):  # noqa: A002
    _deprecated(
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand "
        "will be removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its "
        "arguments reversed and does not return a copy of one of the inputs.\n"
        "X = torch.triangular_solve(B, A).solution\nshould be replaced with\n"
        "X = torch.linalg.solve_triangular(A, B)."
    )
    return return_types.triangular_solve(
        *_L.triangular_solve(input, A, upper, transpose, unitriangular)
    )


def _lu(A, pivot=True, get_infos=False):  # noqa: N803
    _deprecated(
        "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex "
        "and will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, "
        "compute_pivots)\nshould be replaced with\nLU, pivots = torch.linalg.lu_factor(A, "
        "compute_pivots)\nand\nLU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)"
        "\nshould be replaced with\nLU, pivots, info = torch.linalg.lu_factor_ex(A, "
        "compute_pivots)"
    )
    LU, pivots, info = _linalg_lu.lu_factor_ex(A, pivot=pivot, check_errors=not get_infos)
    return return_types._lu_with_info(LU, pivots, info) if get_infos else (LU, pivots)


def _lu_solve(input, LU_data, LU_pivots):  # noqa: A002, N803
    _deprecated(
        "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
        "future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\n"
        "X = torch.lu_solve(B, LU, pivots)\nshould be replaced with\n"
        "X = torch.linalg.lu_solve(LU, pivots, B)"
    )
    return _linalg_lu.lu_solve(LU_data, LU_pivots, input)


def _matrix_power(input, n):  # noqa: A002
    return matrix_power(input, n)


def _legacy_norm(original):
    """torch.norm: p='nuc' (and a matrix p over two dims) goes to matrix_norm."""

    def norm(input, p="fro", dim=None, keepdim=False, dtype=None):  # noqa: A002
        if p == "nuc":
            return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
        if dtype is not None:
            input = input.to(dtype)
        return original(input, p, dim, keepdim)

    return norm


# ----- rank, condition number, exponential (composed, as torch composes them) -----


def _require_matrices(A, message):
    if A.dim() < 2:
        raise RuntimeError(message)


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """The number of singular values above max(atol, rtol * largest)."""
    _require_matrices(
        A, "torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions."
    )
    if A.dtype not in (_C.float32, _C.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    values = eigvalsh(A).abs() if hermitian else svdvals(A)
    if tol is not None:  # the legacy positional tolerance is an absolute one
        atol, rtol = tol, 0.0
    if rtol is None:
        rtol = 0.0 if atol is not None and _positive(atol) else _default_rtol(A)
    largest = values.amax(-1, keepdim=True) if values.shape[-1] else values.sum(-1, keepdim=True)
    bound = rtol * largest
    if atol is not None:
        bound = _C.maximum(bound, atol if isinstance(atol, _C.Tensor) else _C.tensor(atol))
    result = (values > bound).sum(-1)
    return result if out is None else out.copy_(result)


def _positive(tol):
    return bool((tol > 0).all()) if isinstance(tol, _C.Tensor) else tol > 0


def _default_rtol(A):
    eps = 2.0**-23 if A.dtype == _C.float32 else 2.0**-52
    return eps * max(A.shape[-2], A.shape[-1])


_COND_NORMS = ("fro", "nuc", math.inf, -math.inf, 1, -1)


def cond(A, p=None, *, out=None):
    """The ratio of A's extreme singular values (p None, 2, -2), or ||A|| ||A^-1||."""
    _require_matrices(A, "linalg.cond: The input tensor must have at least 2 dimensions.")
    if p is None or p in (2, -2):
        values = svdvals(A)
        top, bottom = values[..., 0], values[..., -1]
        result = top / bottom if p != -2 else bottom / top
        return result if out is None else out.copy_(result)
    if p not in _COND_NORMS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )
    inverse, info = inv_ex(A)
    singular = info != 0
    # a singular matrix is infinitely ill-conditioned
    result = matrix_norm(A, p) * matrix_norm(inverse, p)
    result = _C.where(singular, _C.full((), math.inf, dtype=result.dtype), result)
    return result if out is None else out.copy_(result)


def matrix_exp(A):
    """exp(A) by scaling and squaring: a Taylor series of A / 2**s, squared s times."""
    _require_matrices(A, "linalg.matrix_exp: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.matrix_exp: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )
    if not A.is_floating_point():
        raise RuntimeError(
            "linalg.matrix_exp: Expected a floating point or complex tensor as input. Got "
            f"{TYPE_NAMES[A.dtype]}"
        )
    if A.numel() == 0:
        return A.clone()
    size = float(A.detach().abs().sum(-2).amax()) if A.numel() else 0.0
    squarings = max(0, math.ceil(math.log2(size / 0.5))) if size > 0.5 else 0
    scaled = A / (2.0**squarings)
    identity = _C.eye(A.shape[-1], dtype=A.dtype).expand(tuple(A.shape))
    # Horner's form of sum_k X^k / k!, 18 terms: below rounding once ||X|| <= 1/2
    result = identity
    for k in range(18, 0, -1):
        result = identity + _C.matmul(scaled, result) / k
    for _ in range(squarings):
        result = _C.matmul(result, result)
    return result


# Legacy names: module functions, and Tensor methods where torch has them.
_LEGACY = {
    "inverse": _inverse,
    "det": det,
    "logdet": _logdet,
    "slogdet": _slogdet,
    "cholesky": _cholesky,
    "qr": _qr,
    "svd": _svd,
    "pinverse": _pinverse,
    "matrix_power": _matrix_power,
    "matrix_exp": matrix_exp,
    "cross": _cross,
    "cholesky_solve": _cholesky_solve,
    "triangular_solve": _triangular_solve,
    "orgqr": _linalg_lu.householder_product,
    "lu": _lu,
    "lu_solve": _lu_solve,
}


# The legacy functions torch gives out= (their Tensor methods take none).
_LEGACY_OUT = {
    "inverse",
    "slogdet",
    "cholesky",
    "qr",
    "svd",
    "matrix_power",
    "cross",
    "cholesky_solve",
    "triangular_solve",
    "orgqr",
    "lu_solve",
}


def _install(namespace):
    for name, fn in _LEGACY.items():
        plain = getattr(fn, "__wrapped__", fn)
        namespace[name] = out_form(name)(plain) if name in _LEGACY_OUT else plain
        setattr(_C.Tensor, name, plain)
    # torch.lu_unpack has no Tensor method
    namespace["lu_unpack"] = out_form("lu_unpack")(_linalg_lu.lu_unpack)
    torch_norm = _legacy_norm(namespace["norm"])
    namespace["norm"] = torch_norm
    _C.Tensor.norm = torch_norm
