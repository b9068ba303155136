"""Statistics composed from differentiable ops: cov, corrcoef, quantile, aminmax,
trapezoid. Gradients come from the parts; the node names that differ from
torch's are listed in docs/compatibility.md.
"""

import warnings

from . import _C
from ._composite import _dim as _dim_in_range
from ._dtype_info import TYPE_NAMES
from ._return_types import aminmax as _aminmax_result

# ----------------------------------------------------------------- covariance


def _check_cov_weights(kind, weights, observations):
    if weights.dim() > 1:
        raise RuntimeError(
            f"cov(): expected {kind} to have one or fewer dimensions but got {kind} with "
            f"{weights.dim()} dimensions"
        )
    if weights.numel() != observations:
        raise RuntimeError(
            f"cov(): expected {kind} to have the same numel as there are observations in the "
            f"input but got {weights.numel()} != {observations}"
        )
    if bool((weights < 0).any()):
        raise RuntimeError(f"cov(): {kind} cannot be negative")


def _checked_weights(fweights, aweights, observations):
    if fweights is not None:
        if fweights.is_floating_point() or fweights.dtype == _C.bool:
            raise RuntimeError(
                "cov(): expected fweights to have integral dtype but got fweights with "
                f"{TYPE_NAMES[fweights.dtype]} dtype"
            )
        _check_cov_weights("fweights", fweights, observations)
    if aweights is not None:
        if not aweights.is_floating_point():
            raise RuntimeError(
                "cov(): expected aweights to have floating point dtype but got aweights with "
                f"{TYPE_NAMES[aweights.dtype]} dtype"
            )
        _check_cov_weights("aweights", aweights, observations)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows of input (variables) over its columns (observations)."""
    if input.dim() > 2:
        raise RuntimeError(
            "cov(): expected input to have two or fewer dimensions but got an input with "
            f"{input.dim()} dimensions"
        )
    if input.dtype == _C.bool:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    observations = input.shape[1] if input.dim() == 2 else input.numel()
    _checked_weights(fweights, aweights, observations)
    rows = input.reshape(1, -1) if input.dim() < 2 else input
    if not rows.is_floating_point():
        rows = rows.to(_C._get_default_dtype())
    weights = fweights
    if aweights is not None:
        weights = aweights if weights is None else weights * aweights
    if weights is None:
        weight_sum = observations
        mean = rows.mean(1)
        dof = observations - correction
    else:
        weight_sum = weights.sum()
        mean = (rows * weights).sum(1) / weight_sum
        dof = weight_sum - correction
        if aweights is not None and correction != 0:
            dof = weight_sum - correction * (weights * aweights).sum() / weight_sum
    if bool(dof <= 0):
        warnings.warn(
            "cov(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "number of observations.",
            UserWarning,
            stacklevel=2,
        )
        dof = dof * 0 if isinstance(dof, _C.Tensor) else 0
    centered = rows - mean.unsqueeze(1)
    weighted = centered if weights is None else centered * weights
    return (_C.mm(centered, weighted.t()) / dof).squeeze()


def corrcoef(input):
    if input.dim() > 2:
        raise RuntimeError(
            "corrcoef(): expected input to have two or fewer dimensions but got an input with "
            f"{input.dim()} dimensions"
        )
    c = cov(input)
    if c.dim() == 0:  # one variable: x / x, NaN where the variance is zero
        return c / c
    spread = c.diagonal().sqrt()
    c = c / spread.unsqueeze(1)
    c = c / spread.unsqueeze(0)
    return c.clamp(-1, 1)  # rounding can take a correlation just past 1


# ----------------------------------------------------------------- quantiles

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _check_quantile_args(input, q, interpolation):
    if input.dtype not in (_C.float32, _C.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if input.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if input.numel() > (1 << 24):
        raise RuntimeError("quantile() input tensor is too large")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            "quantile() interpolation must be one of linear, lower, higher, midpoint or "
            f"nearest, but got {interpolation}"
        )
    if isinstance(q, _C.Tensor):
        if q.dim() > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
        if bool(((q < 0) | (q > 1)).any()):
            raise RuntimeError("quantile() q values must be in the range [0, 1]")
    elif not 0 <= q <= 1:
        raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")


def _sorted_rows(input, dim):
    """input's values along dim, sorted, as the last dim (NaNs last)."""
    if dim is None:
        return input.reshape(-1).sort()[0]
    dim = _dim_in_range(dim, input.dim())
    rows = input.unsqueeze(-1) if input.dim() == 0 else input
    return rows.movedim(dim, -1).sort(-1)[0]


def _ranks(sorted_rows, q, ignore_nan):
    """The fractional position of each quantile in each row: shape (*rows, len(q))."""
    nan = sorted_rows != sorted_rows
    if ignore_nan:
        last = (~nan).sum(-1, keepdim=True) - 1
        all_nan = last < 0
        last = last.clamp(min=0)
    else:
        last = _C.full_like(nan.sum(-1, keepdim=True), sorted_rows.shape[-1] - 1)
    ranks = q.reshape(-1) * last.to(sorted_rows.dtype)
    # A row with a NaN (all NaN for nanquantile) answers NaN: point at its last value.
    at_nan = nan.any(-1, keepdim=True) if not ignore_nan else all_nan
    return _C.where(at_nan, float(sorted_rows.shape[-1] - 1), ranks)


def _interpolate(sorted_rows, ranks, interpolation):
    size = sorted_rows.shape[-1]
    rows = sorted_rows.unsqueeze(-2).expand(*ranks.shape[:-1], ranks.shape[-1], size)
    if interpolation in ("lower", "higher", "nearest"):
        rounded = {"lower": ranks.floor, "higher": ranks.ceil, "nearest": ranks.round}
        at = rounded[interpolation]().long()
        return rows.gather(-1, at.unsqueeze(-1)).squeeze(-1)
    below = ranks.floor().long()
    above = ranks.ceil().long()
    low = rows.gather(-1, below.unsqueeze(-1)).squeeze(-1)
    high = rows.gather(-1, above.unsqueeze(-1)).squeeze(-1)
    weight = _C.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below
    return low + weight * (high - low)


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):
    _check_quantile_args(input, q, interpolation)
    scalar_q = not isinstance(q, _C.Tensor) or q.dim() == 0
    q = q if isinstance(q, _C.Tensor) else _C.tensor(float(q), dtype=input.dtype)
    sorted_rows = _sorted_rows(input, dim)
    values = _interpolate(sorted_rows, _ranks(sorted_rows, q, ignore_nan), interpolation)
    out = values.movedim(-1, 0)  # torch puts q's dim first
    if keepdim:
        kept = [1] * input.dim() if dim is None else list(input.shape)
        if dim is not None and input.dim() > 0:
            kept[_dim_in_range(dim, input.dim())] = 1
        out = out.reshape([out.shape[0]] + kept)
    return out.squeeze(0) if scalar_q else out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, ignore_nan=True)


# ----------------------------------------------------------------- aminmax


def aminmax(input, *, dim=None, keepdim=False):
    """(amin, amax) in one call; ties share the gradient as amin's and amax's do."""
    return _aminmax_result(*_C._aminmax(input, dim, keepdim))


# ----------------------------------------------------------------- integration


def _refuse_bool(name, *tensors):
    if any(t is not None and t.dtype == _C.bool for t in tensors):
        which = "`y`" if len(tensors) == 1 else "`x` or `y`"
        raise RuntimeError(f"{name}: received a bool input for {which}, but bool is not supported")


def _trapezoid_sum(y, dx, dim):
    if y.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    dim = _dim_in_range(dim, y.dim())
    length = y.shape[dim]
    if length == 0 or length == 1:
        return y.sum(dim) * 0.0  # no interval: zero, in trapezoid's float dtype
    # each inner sample counts fully, the two ends half
    ends = y.select(dim, 0) + y.select(dim, length - 1)
    return (y.sum(dim) - ends * 0.5) * dx


def _check_samples(x, y, dim):
    if x.dim() == 1 and x.shape[0] != y.shape[dim]:
        raise RuntimeError("trapezoid: There must be one `x` value for each sample point")


def _widths(x, y, dim):
    dim = _dim_in_range(dim, y.dim())
    _check_samples(x, y, dim)
    if x.dim() == 1:  # one set of sample points for every row: along dim
        shape = [1] * y.dim()
        shape[dim] = x.shape[0]
        x = x.reshape(shape)
    return x.diff(dim=dim), dim


def _pair_sums(y, dim):
    length = y.shape[dim]
    return y.narrow(dim, 1, length - 1) + y.narrow(dim, 0, length - 1)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    if x is not None and dx is not None:
        raise TypeError(
            "trapezoid() received an invalid combination of arguments - got (Tensor, Tensor, "
            "dx=...): pass either x or dx"
        )
    _refuse_bool("trapezoid", y, *(() if x is None else (x,)))
    if x is None:
        return _trapezoid_sum(y, 1 if dx is None else dx, dim)
    if y.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    widths, dim = _widths(x, y, dim)
    if y.shape[dim] < 2:
        return _trapezoid_sum(y, 1, dim)
    return (widths * _pair_sums(y, dim)).sum(dim) / 2.0


def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    _refuse_bool("cumulative_trapezoid", y, *(() if x is None else (x,)))
    if y.dim() == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if x is not None:
        widths, dim = _widths(x, y, dim)
    else:
        dim = _dim_in_range(dim, y.dim())
        widths = 1 if dx is None else dx
    if y.shape[dim] == 0:
        return (y * 0.0).narrow(dim, 0, 0)
    return (_pair_sums(y, dim) * widths / 2.0).cumsum(dim)


FUNCTIONS = {
    "cov": cov,
    "corrcoef": corrcoef,
    "quantile": quantile,
    "nanquantile": nanquantile,
    "aminmax": aminmax,
    "trapezoid": trapezoid,
    "trapz": trapz,
    "cumulative_trapezoid": cumulative_trapezoid,
}

METHODS = ("cov", "corrcoef", "quantile", "nanquantile", "aminmax")
