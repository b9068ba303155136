"""Tensor ops written with other differentiable ops (so autograd comes free).

They run a few C++ ops each and are not on the hot path of small models; a
new op that is goes into the C++ core instead. Each is installed both as
``ember.<name>`` and ``Tensor.<name>``, like torch's.
"""

import contextlib
import functools
import inspect
import math
import operator

import numpy as np

from . import _C
from ._dtype_info import TYPE_NAMES as _TYPE_NAMES
from ._dtype_info import numpy_values
from ._einsum import einsum
from ._pointwise import POINTWISE, float_power_
from ._stacking import FUNCTIONS_ONLY as STACKING_FUNCTIONS_ONLY
from ._stacking import STACKING


def _dim(dim, ndim):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(
            f"Dimension out of range (expected to be in range of "
            f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {dim})"
        )
    return dim % max(ndim, 1)


def _along(input, dim, start, end):
    """input[..., start:end, ...] with the slice on `dim`."""
    return input[(slice(None),) * dim + (slice(start, end),)]


def split(tensor, split_size_or_sections, dim=0):
    if isinstance(split_size_or_sections, int):
        return tuple(_C._split(tensor, split_size_or_sections, dim))
    sizes = [operator.index(s) for s in split_size_or_sections]
    return tuple(_C._split_with_sizes(tensor, sizes, dim))


def split_with_sizes(input, split_sizes, dim=0):
    return tuple(_C._split_with_sizes(input, list(split_sizes), dim))


def chunk(input, chunks, dim=0):
    return tuple(_C._chunk(input, chunks, dim))


def unbind(input, dim=0):
    return tuple(_C._unbind(input, dim))


def tensor_split(input, indices_or_sections, dim=0):
    """Pieces of `input` along dim as plain slices (torch allows writing them in place)."""
    if input.dim() == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    d = _dim(dim, input.dim())
    size = input.shape[d]
    if isinstance(indices_or_sections, _C.Tensor) and indices_or_sections.dim() == 0:
        indices_or_sections = operator.index(indices_or_sections)
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(size, sections)
        lengths = [small + 1] * extra + [small] * (sections - extra)
        edges = [sum(lengths[:i]) for i in range(sections + 1)]
    else:
        edges = [0, *(operator.index(i) for i in indices_or_sections), size]
    # Python's slice rules are torch's here: indices clamp, a reversed pair is empty.
    return tuple(input[(slice(None),) * d + (slice(a, b),)] for a, b in zip(edges, edges[1:]))


def _split_along(name, input, indices_or_sections, min_dim, dim):
    """hsplit/vsplit/dsplit: tensor_split along a fixed dim, with torch's checks."""
    if input.dim() < min_dim:
        raise RuntimeError(
            f"torch.{name} requires a tensor with at least {min_dim} dimension, but got a tensor "
            f"with {input.dim()} dimensions!"
        )
    if isinstance(indices_or_sections, int):
        size = input.shape[dim]
        if indices_or_sections == 0 or size % indices_or_sections:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {size} is not divisible by the split_size {indices_or_sections}!"
            )
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    dim = 0 if input.dim() == 1 else 1
    return _split_along("hsplit", input, indices_or_sections, 1, dim)


def vsplit(input, indices_or_sections):
    return _split_along("vsplit", input, indices_or_sections, 2, 0)


def dsplit(input, indices_or_sections):
    return _split_along("dsplit", input, indices_or_sections, 3, 2)


def ger(input, vec2):
    return _C.outer(input, vec2)  # torch's older name; the same MulBackward0 graph


# ---- elementwise ----


def isinf(input):
    if not input.is_floating_point():
        return _C.zeros(input.shape, dtype=_C.bool)
    return input.detach().abs() == float("inf")


def isfinite(input):
    if not input.is_floating_point():
        return _C.ones(input.shape, dtype=_C.bool)
    x = input.detach()
    return (x == x) & ~isinf(x)


def clamp_min(input, min):
    return input.clamp(min=min)


def clamp_max(input, max):
    return input.clamp(max=max)


# ---- reductions ----


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _spread_and_mean("std", input, dim, unbiased, keepdim, correction)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _spread_and_mean("var", input, dim, unbiased, keepdim, correction)


def _spread_and_mean(kind, input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # torch's std_mean(x, unbiased) form
        dim, unbiased = None, dim
    if correction is None:  # torch's older `unbiased` flag, when given, picks 1 or 0
        correction = 1 if unbiased is None or unbiased else 0
    # () reduces every dim; the C++ op wraps and checks the dims as var does
    return _C._var_mean(input, () if dim is None else dim, correction, keepdim, kind == "std")


def count_nonzero(input, dim=None):
    return (input != 0).sum(dim) if dim is not None else (input != 0).sum()


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    del sorted  # torch's CPU unique sorts either way
    if dim is None:
        return _C._unique(input, return_inverse, return_counts)
    dim = _dim(dim, input.dim())
    values, inverse, counts = np.unique(  # each NaN is its own value, as in torch
        numpy_values(input), return_inverse=True, return_counts=True, axis=dim, equal_nan=False
    )
    out = [_C.tensor(values, dtype=input.dtype)]
    if return_inverse:
        out.append(_C.tensor(inverse.reshape(input.shape[dim]).astype(np.int64)))
    if return_counts:
        out.append(_C.tensor(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapses each run of equal values (or equal slices along dim) to one."""
    values = numpy_values(input)
    if dim is None:
        flat = values.reshape(-1)
        changes = np.r_[True, flat[1:] != flat[:-1]][: flat.size]
        starts = np.flatnonzero(changes)
        kept = flat[starts]
        inverse_shape = values.shape
    else:
        dim = _dim(dim, input.dim())
        moved = np.moveaxis(values, dim, 0).reshape(values.shape[dim], -1)
        changes = np.r_[True, np.any(moved[1:] != moved[:-1], axis=1)][: len(moved)]
        starts = np.flatnonzero(changes)
        kept = np.take(values, starts, axis=dim)
        inverse_shape = (values.shape[dim],)
    length = values.size if dim is None else values.shape[dim]
    out = [_C.tensor(kept, dtype=input.dtype)]
    if return_inverse:
        run_of = np.cumsum(changes, dtype=np.int64) - 1
        out.append(_C.tensor(run_of.reshape(inverse_shape)))
    if return_counts:
        out.append(_C.tensor(np.diff(np.r_[starts, length]).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of x1 and x2 (batched over leading dims)."""
    for name, x in (("X1", x1), ("X2", x2)):
        if x.dim() < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    for name, x in (("X1", x1), ("X2", x2)):
        if not x.is_floating_point():
            raise RuntimeError(
                f"cdist only supports floating-point dtypes, {name} got: {_TYPE_NAMES[x.dtype]}"
            )
    if x1.dtype in (_C.float16, _C.bfloat16):
        raise NotImplementedError(f"\"cdist\" not implemented for '{_TYPE_NAMES[x1.dtype]}'")
    if x1.dtype != x2.dtype:
        raise RuntimeError(
            f"expected scalar type {_TYPE_NAMES[x1.dtype]} but found {_TYPE_NAMES[x2.dtype]}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    differences = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return _C.norm(differences, float(p), (-1,), False)


@contextlib.contextmanager
def _numpy_allocation():
    """NumPy's MemoryError as torch's (and Ember's own) allocation RuntimeError."""
    try:
        yield
    except MemoryError as e:
        raise RuntimeError("ember: can't allocate memory for a tensor (out of memory)") from e


def bincount(input, weights=None, minlength=0):
    if input.dim() != 1 or input.is_floating_point():
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    values = input.numpy()
    if values.size and values.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    with _numpy_allocation():
        if weights is None:
            return _C.tensor(np.bincount(values, minlength=minlength).astype(np.int64))
        counts = np.bincount(values, weights=weights.detach().numpy(), minlength=minlength)
    return _C.tensor(counts, dtype=weights.dtype if weights.is_floating_point() else _C.float64)


def nonzero(input, *, as_tuple=False):
    values = numpy_values(input)
    if as_tuple and values.ndim == 0:  # torch reads a 0-d input as 1-d here
        values = values.reshape(1)
    positions = np.argwhere(values)
    if as_tuple:
        return tuple(_C.tensor(positions[:, k].copy()) for k in range(positions.shape[1]))
    return _C.tensor(positions.reshape(len(positions), input.dim()))


def argwhere(input):
    return nonzero(input)


# ---- shape ----


def diag(input, diagonal=0):
    if input.dim() == 2:
        return _C.diagonal_copy(input, diagonal)  # torch's DiagonalBackward0_copy
    if input.dim() != 1:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.dim()}D")
    return _C.diag_embed(input, diagonal, 0, 1)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _dim(dim, input.dim())
    parts = [t for t in (prepend, input, append) if t is not None]
    x = _C.cat(parts, d) if len(parts) > 1 else input
    for _ in range(min(n, x.shape[d])):  # past the dim's size the result stays empty
        size = x.shape[d]
        later, earlier = _along(x, d, 1, size), _along(x, d, 0, size - 1)
        x = later ^ earlier if x.dtype == _C.bool else later - earlier
    return input.clone() if x is input else x  # n=0 copies too


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    d = _dim(dim, input.dim())
    shape_in, shape_idx = list(input.shape), list(indices.shape)
    shape_in[d] = shape_idx[d] = 1
    common = list(np.broadcast_shapes(tuple(shape_in), tuple(shape_idx)))
    wide_in, wide_idx = list(common), list(common)
    wide_in[d], wide_idx[d] = input.shape[d], indices.shape[d]
    return input.expand(wide_in).gather(d, indices.expand(wide_idx))


def movedim(input, source, destination):
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    if len(source) != len(destination):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({source} dims) should "
            f"contain the same number of dims as destination ({destination} dims)"
        )
    src = [_dim(d, input.dim()) for d in source]
    dst = [_dim(d, input.dim()) for d in destination]
    for dims, name in ((src, "source"), (dst, "destination")):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
    if input.dim() == 0:
        return input.permute(())
    rest = iter(d for d in range(input.dim()) if d not in src)
    order = [None] * input.dim()
    for s, t in zip(src, dst):
        order[t] = s
    order = [next(rest) if o is None else o for o in order]
    return input.permute(order)


def broadcast_to(input, size):
    return input.expand(size)


def ravel(input):
    return input.reshape(-1)


def swapdims(input, dim0, dim1):
    return input.transpose(dim0, dim1)


def fliplr(input):
    if input.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return _C.flip(input, (1,))


def flipud(input):
    if input.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return _C.flip(input, (0,))


def repeat_interleave(input, repeats, dim=None, *, output_size=None):
    del output_size  # a hint for torch's CUDA kernel
    if dim is None:
        input, dim = input.reshape(-1), 0
    d = _dim(dim, input.dim())
    size = input.shape[d] if input.dim() else 1
    if isinstance(repeats, _C.Tensor) and repeats.numel() != 1:
        counts = repeats.detach().numpy()
        if counts.shape != (size,):
            raise RuntimeError("repeats must have the same size as input along dim")
        if (counts < 0).any():
            raise RuntimeError("repeats can not be negative")
    else:
        count = int(repeats)
        if count < 0:
            raise RuntimeError("repeats can not be negative")
        counts = np.full(size, count)
    with _numpy_allocation():
        order = _C.tensor(np.repeat(np.arange(size), counts), dtype=_C.int64)
    return input.index_select(d, order) if input.dim() else input.reshape(1).index_select(0, order)


def inner(input, other):
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    n = input.shape[-1]
    rows = math.prod(input.shape[:-1]), math.prod(other.shape[:-1])  # no -1: n may be 0
    flat = input.reshape(rows[0], n) @ other.reshape(rows[1], n).t()
    return flat.reshape(tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


def is_floating_point(input):
    return input.is_floating_point()


def equal(input, other):
    return tuple(input.shape) == tuple(other.shape) and bool((input == other).all().item())


def where(condition, input=None, other=None):
    if input is None and other is None:  # where(cond) is nonzero(cond, as_tuple=True)
        return nonzero(condition, as_tuple=True)
    return _C.where(condition, input, other)


def unflatten(input, dim, sizes):
    if input.dim() == 0:
        _dim(dim, 0)  # torch's IndexError for a dim outside [-1, 0]
        raise RuntimeError("unflatten: Dimension specified as 0 but tensor has no dimensions")
    d = _dim(dim, input.dim())
    sizes, shape = [int(s) for s in sizes], list(input.shape)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    # A -1 is inferred from dim's own size, not the whole tensor's (which may be empty).
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) == 1 and known and shape[d] % known == 0:
        sizes[sizes.index(-1)] = shape[d] // known
    elif sizes.count(-1) <= 1 and math.prod(sizes) != shape[d]:
        raise RuntimeError(
            f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {d} "
            f"({shape[d]}) in the input tensor"
        )
    return input.reshape(shape[:d] + sizes + shape[d + 1 :])


COMPOSITES = {
    "split": split,
    "split_with_sizes": split_with_sizes,
    "chunk": chunk,
    "unbind": unbind,
    "tensor_split": tensor_split,
    "hsplit": hsplit,
    "vsplit": vsplit,
    "dsplit": dsplit,
    "ger": ger,
    "isinf": isinf,
    "isfinite": isfinite,
    "clamp_min": clamp_min,
    "clamp_max": clamp_max,
    "std_mean": std_mean,
    "var_mean": var_mean,
    "nonzero": nonzero,
    "movedim": movedim,
    "broadcast_to": broadcast_to,
    "unflatten": unflatten,
    "ravel": ravel,
    "swapdims": swapdims,
    "moveaxis": movedim,
    "fliplr": fliplr,
    "flipud": flipud,
    "repeat_interleave": repeat_interleave,
    "inner": inner,
    "is_floating_point": is_floating_point,
    "equal": equal,
    "where": where,
    "einsum": einsum,
    "count_nonzero": count_nonzero,
    "unique": unique,
    "unique_consecutive": unique_consecutive,
    "cdist": cdist,
    "bincount": bincount,
    "argwhere": argwhere,
    "diag": diag,
    "diff": diff,
    "take_along_dim": take_along_dim,
    **POINTWISE,
    **STACKING,
}

# torch has these as functions only.
_FUNCTIONS_ONLY = {
    "cdist",
    "std_mean",
    "var_mean",
    "einsum",
    "where",
    "is_floating_point",
} | STACKING_FUNCTIONS_ONLY


# torch's functions that also take a number first (x * t as multiply(x, t)).
_NUMBER_FIRST = {"xlogy", "subtract", "divide", "true_divide", "multiply", "float_power"}


def _requiring_tensor_input(name, fn):
    """fn as ember.<name>: torch's TypeError for a first argument that is no tensor."""
    if name in _NUMBER_FIRST or next(iter(inspect.signature(fn).parameters)) != "input":
        return fn

    @functools.wraps(fn)
    def checked(input, *args, **kwargs):
        if not isinstance(input, _C.Tensor):
            raise TypeError(
                f"{name}(): argument 'input' (position 1) must be Tensor, not "
                f"{type(input).__name__}"
            )
        return fn(input, *args, **kwargs)

    return checked


def install(module_namespace):
    for name, fn in COMPOSITES.items():
        if name not in _FUNCTIONS_ONLY:
            setattr(_C.Tensor, name, fn)
        module_namespace[name] = _requiring_tensor_input(name, fn)


def install_more(module_namespace):
    """The ops of the modules split off by area: each module lists its functions and
    which of them torch also has as Tensor methods."""
    from . import _factories, _products, _scatter, _statistics

    for module in (_statistics, _products):
        for name, fn in module.FUNCTIONS.items():
            module_namespace[name] = _requiring_tensor_input(name, fn)
            if name in module.METHODS:
                setattr(_C.Tensor, name, fn)
    module_namespace.update(_factories.FUNCTIONS)
    for name, fn in _scatter.TENSOR_AND_FUNCTION.items():
        module_namespace[name] = _requiring_tensor_input(name, fn)
        setattr(_C.Tensor, name, fn)
    for name, fn in _scatter.METHODS_ONLY.items():
        setattr(_C.Tensor, name, fn)
    module_namespace.update(_scatter.FUNCTIONS_ONLY)
    _C.Tensor.float_power_ = float_power_
    for alias, name in _COMPARISON_ALIASES.items():
        setattr(_C.Tensor, alias, getattr(_C.Tensor, name))
        module_namespace[alias] = module_namespace[name]


# torch's longer names for the comparisons
_COMPARISON_ALIASES = {
    "greater": "gt",
    "greater_equal": "ge",
    "less": "lt",
    "less_equal": "le",
    "not_equal": "ne",
}
