"""Products and structured matrices composed from differentiable ops: tensordot,
kron, multi_dot, block_diag, diag_embed, vander, cartesian_prod, combinations.
"""

import itertools
import warnings

from . import _C
from ._composite import _dim as _dim_in_range
from ._dtype_info import TYPE_NAMES
from ._stacking import meshgrid

# ----------------------------------------------------------------- tensordot


def _contracted_dims(a, b, dims):
    """tensordot's dims argument as two lists of dims (of a, of b)."""
    if isinstance(dims, _C.Tensor):
        dims = dims.item() if dims.dim() == 0 else dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.dim(), b.dim()):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(-dims, 0)), list(range(dims))  # torch names a's dims from the end
    dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    return dims_a, dims_b


def tensordot(a, b, dims=2):
    """Sums the products of a's and b's elements over the paired dims: one matrix product."""
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    dims_a, dims_b = _contracted_dims(a, b, dims)
    for da, db in zip(dims_a, dims_b):
        if a.shape[_dim_in_range(da, a.dim())] != b.shape[_dim_in_range(db, b.dim())]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[da]} in dim "
                f"{da} and second has size {b.shape[db]} in dim {db}"
            )
    dims_a = [_dim_in_range(d, a.dim()) for d in dims_a]
    dims_b = [_dim_in_range(d, b.dim()) for d in dims_b]
    free_a = [d for d in range(a.dim()) if d not in dims_a]
    free_b = [d for d in range(b.dim()) if d not in dims_b]
    size = 1
    for d in dims_a:
        size *= a.shape[d]
    left = a.permute(*free_a, *dims_a).reshape(-1, size)
    right = b.permute(*dims_b, *free_b).reshape(size, -1)
    shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return _C.mm(left, right).reshape(shape)


# ----------------------------------------------------------------- kron


def kron(input, other):
    """Every element of input times all of other, laid out block by block."""
    ndim = max(input.dim(), other.dim())
    a = input.reshape((1,) * (ndim - input.dim()) + tuple(input.shape))
    b = other.reshape((1,) * (ndim - other.dim()) + tuple(other.shape))
    # (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...) -> (a0*b0, a1*b1, ...)
    spread_a = a.reshape([s for n in a.shape for s in (n, 1)])
    spread_b = b.reshape([s for n in b.shape for s in (1, n)])
    # torch's node for the fresh product's final view
    return _C._unsafe_view(spread_a * spread_b, [m * n for m, n in zip(a.shape, b.shape)])


# ----------------------------------------------------------------- chains of products


def _chain_order(shapes):
    """The cheapest parenthesisation of a matrix chain (classic dynamic programming):
    split[i][j] is where the product of matrices i..j splits."""
    n = len(shapes)
    sizes = [shapes[0][0]] + [s[1] for s in shapes]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + sizes[i] * sizes[k + 1] * sizes[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _multiply_chain(matrices, split, i, j):
    if i == j:
        return matrices[i]
    k = split[i][j]
    left = _multiply_chain(matrices, split, i, k)
    return _C.mm(left, _multiply_chain(matrices, split, k + 1, j))


def _check_chain(tensors, name):
    for i, t in enumerate(tensors):
        if i in (0, len(tensors) - 1):
            if t.dim() not in (1, 2):
                which = "first" if i == 0 else "last"
                raise RuntimeError(
                    f"{name}(): the {which} tensor must be 1D or 2D but got {t.dim()}D"
                )
        elif t.dim() != 2:
            raise RuntimeError(f"{name}(): tensor {i} must be 2D but got {t.dim()}D")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(
                f"{name}(): all tensors must have be the same dtype but tensor 0 is "
                f"{_scalar_name(tensors[0].dtype)} and tensor {i} {_scalar_name(t.dtype)}"
            )


def _scalar_name(dtype):
    return {_C.float32: "float", _C.float64: "double"}.get(dtype, TYPE_NAMES[dtype].lower())


def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices (the ends may be vectors), cheapest order first."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    _check_chain(tensors, "multi_dot")
    first_is_vector, last_is_vector = tensors[0].dim() == 1, tensors[-1].dim() == 1
    matrices = list(tensors)
    if first_is_vector:
        matrices[0] = matrices[0].unsqueeze(0)
    if last_is_vector:
        matrices[-1] = matrices[-1].unsqueeze(1)
    for i in range(len(matrices) - 1):
        if matrices[i].shape[1] != matrices[i + 1].shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(tensors[i].shape)} and "
                f"{list(tensors[i + 1].shape)} cannot be multiplied"
            )
    split = _chain_order([tuple(m.shape) for m in matrices])
    result = _multiply_chain(matrices, split, 0, len(matrices) - 1)
    shape = [n for n, vector in ((result.shape[0], first_is_vector),) if not vector]
    shape += [n for n, vector in ((result.shape[1], last_is_vector),) if not vector]
    result = result.reshape(shape)
    return result if out is None else out.copy_(result)


_chain_matmul_warned = [False]  # torch warns once per process (TORCH_WARN_ONCE)


def chain_matmul(*matrices, out=None):
    if not _chain_matmul_warned[0]:
        _chain_matmul_warned[0] = True
        warnings.warn(
            "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. "
            "Use torch.linalg.multi_dot instead, which accepts a list of two or more tensors "
            "rather than multiple parameters.",
            UserWarning,
            stacklevel=2,
        )
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for t in matrices:
        if t.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {t.dim()}, expected 2 instead.")
    result = matrices[0].clone() if len(matrices) == 1 else multi_dot(matrices)
    return result if out is None else out.copy_(result)


# ----------------------------------------------------------------- structured matrices


def diagflat(input, offset=0):
    return _C.diag_embed(input.reshape(-1), offset)


def vander(x, N=None, increasing=False):
    """Columns x**(N-1), ..., x, 1 (or the reverse when increasing)."""
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if not x.is_floating_point():
        x = x.long()  # powers of integers accumulate in int64, as torch's
    columns = _powers(x, n)
    return columns if increasing else columns.flip(1)


def _powers(x, n):
    """x**0, ..., x**(n-1) along a new last dim, by running products."""
    ones = _C.ones((*x.shape, min(n, 1)), dtype=x.dtype)
    if n <= 1:
        return ones
    repeated = x.unsqueeze(-1).expand(*x.shape, n - 1)
    return _C.cat([ones, repeated.cumprod(-1)], -1)


def linalg_vander(x, *, N=None):
    if x.dtype in (_C.bool, _C.float16, _C.bfloat16):
        raise RuntimeError(
            "linalg.vander supports floating point, complex, and integer tensors, but got "
            f"{TYPE_NAMES[x.dtype]}"
        )
    n = (x.shape[-1] if x.dim() > 0 else 1) if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    if not x.is_floating_point():
        x = x.long()
    return _powers(x, n)


# ----------------------------------------------------------------- combinatorics


def _require_vector(t):
    if t.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")


def cartesian_prod(*tensors):
    """Every tuple of one element from each vector, as rows (itertools.product order)."""
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        _require_vector(t)
    if len(tensors) == 1:
        return tensors[0]
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    grids = meshgrid(*tensors, indexing="ij")
    return _C.stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-r subsequences of a vector's elements, as rows."""
    _require_vector(input)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _C.empty((0,), dtype=input.dtype)
    choose = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    picks = list(choose(range(input.shape[0]), r))
    if not picks:
        return _C.empty((0, r), dtype=input.dtype)
    index = _C.tensor(picks, dtype=_C.int64)
    return _C.stack([input[index[:, k]] for k in range(r)], 1)


FUNCTIONS = {
    "tensordot": tensordot,
    "kron": kron,
    "chain_matmul": chain_matmul,
    "diagflat": diagflat,
    "vander": vander,
    "cartesian_prod": cartesian_prod,
    "combinations": combinations,
}

METHODS = ("kron", "diagflat")
LINALG = {"multi_dot": multi_dot, "vander": linalg_vander}
