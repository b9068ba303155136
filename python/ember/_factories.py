"""Tensor factories torch has beyond the basic ones: signal windows, logspace, the
deprecated range, triangle indices, scalar_tensor, asarray and randint_like.

Windows and index lists are computed with numpy in float64/int64 and converted
once: they are constants (no graph), built once per script.
"""

import math
import warnings

import numpy as np

from . import _C
from ._device import check_device
from ._dtype_info import TYPE_NAMES


def _float_dtype(name, dtype):
    dtype = _C._get_default_dtype() if dtype is None else dtype
    if dtype not in (_C.float16, _C.bfloat16, _C.float32, _C.float64):
        raise RuntimeError(
            f"{name} expects floating point dtypes, got: TensorOptions(dtype="
            f"{_CPP_TYPE_NAMES.get(dtype, TYPE_NAMES[dtype])}, device=cpu, layout=Strided "
            "(default), requires_grad=false (default), pinned_memory=false, "
            "memory_format=(nullopt))"
        )
    return dtype


# The C++ spelling torch's TensorOptions message uses for the integer dtypes.
_CPP_TYPE_NAMES = {
    _C.int64: "long int",
    _C.int32: "int",
    _C.int16: "short int",
    _C.int8: "signed char",
    _C.uint8: "unsigned char",
    _C.bool: "bool",
}


def _require_int(name, value, position, argument):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(
            f"{name}(): argument '{argument}' (position {position}) must be int, not "
            f"{type(value).__name__}"
        )


def _window(name, window_length, periodic, dtype, requires_grad, device, values_of):
    """values_of(n) gives a symmetric window of n points in float64; a periodic window
    is the symmetric one of n + 1 points without its last."""
    _require_int(name, window_length, 1, "window_length")
    check_device(device)
    dtype = _float_dtype(name, dtype)
    if window_length < 0:
        raise RuntimeError(
            f"{name} requires non-negative window_length, got window_length={window_length}"
        )
    if window_length <= 1:
        values = np.ones(window_length)
    else:
        points = window_length + 1 if periodic else window_length
        values = values_of(points)[:window_length]
    out = _C.tensor(values.astype(np.float64)).to(dtype)
    return out.requires_grad_(True) if requires_grad else out


def _cosine_sum(*coefficients):
    """a0 - a1 cos(2 pi n / (N-1)) + a2 cos(4 pi n / (N-1)) - ..."""

    def values_of(points):
        phase = 2 * math.pi * np.arange(points) / (points - 1)
        return sum((-1) ** k * a * np.cos(k * phase) for k, a in enumerate(coefficients))

    return values_of


def hann_window(
    window_length,
    periodic=True,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
):
    return _window(
        "hann_window", window_length, periodic, dtype, requires_grad, device, _cosine_sum(0.5, 0.5)
    )


def hamming_window(
    window_length,
    periodic=True,
    alpha=0.54,
    beta=0.46,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
):
    return _window(
        "hamming_window",
        window_length,
        periodic,
        dtype,
        requires_grad,
        device,
        _cosine_sum(alpha, beta),
    )


def blackman_window(
    window_length,
    periodic=True,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
):
    return _window(
        "blackman_window",
        window_length,
        periodic,
        dtype,
        requires_grad,
        device,
        _cosine_sum(0.42, 0.5, 0.08),
    )


def _triangle(points):
    return 1 - np.abs(2 * np.arange(points) / (points - 1) - 1)


def bartlett_window(
    window_length,
    periodic=True,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
):
    return _window(
        "bartlett_window", window_length, periodic, dtype, requires_grad, device, _triangle
    )


def kaiser_window(
    window_length,
    periodic=True,
    beta=12.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
):
    def values_of(points):
        middle = (points - 1) / 2
        ratio = (np.arange(points) - middle) / middle
        return np.i0(beta * np.sqrt(np.clip(1 - ratio * ratio, 0, None))) / np.i0(beta)

    return _window(
        "kaiser_window", window_length, periodic, dtype, requires_grad, device, values_of
    )


# ----------------------------------------------------------------- ranges


def _refuse_bool_dtype(name, dtype):
    if dtype == _C.bool:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")


def _as_number(name, value, what):
    if isinstance(value, _C.Tensor):
        if value.dim() != 0:
            raise RuntimeError(
                f"{name} only supports 0-dimensional start and end tensors, but got {what} with "
                f"{value.dim()} dimension(s)."
            )
        return value.item()
    return value


def logspace(
    start,
    end,
    steps,
    base=10.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
):
    """base ** linspace(start, end, steps), computed in float64."""
    check_device(device)
    start = _as_number("logspace", start, "start")
    end = _as_number("logspace", end, "end")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = _C._get_default_dtype() if dtype is None else dtype
    _refuse_bool_dtype("logspace", dtype)
    values = np.power(float(base), np.linspace(start, end, steps, dtype=np.float64))
    if dtype not in (_C.float16, _C.bfloat16, _C.float32, _C.float64):
        values = np.trunc(values)  # torch casts each power to the integer dtype
    result = _C.tensor(values).to(dtype)
    return result.requires_grad_(True) if requires_grad else result


def range(
    start,
    end,
    step=1,
    *,
    dtype=None,
    layout=None,
    device=None,  # noqa: A001
    pin_memory=False,
    requires_grad=False,
):
    """The deprecated end-inclusive arange: start, start + step, ..., up to end."""
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    check_device(device)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and start < end):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    dtype = _C._get_default_dtype() if dtype is None else dtype
    _refuse_bool_dtype("range", dtype)
    count = int(math.floor((end - start) / step)) + 1
    result = _C.tensor(start + step * np.arange(count, dtype=np.float64)).to(dtype)
    return result.requires_grad_(True) if requires_grad else result


# ----------------------------------------------------------------- triangle indices


def _triangle_indices(name, row, col, offset, dtype, device, which):
    check_device(device)
    for argument, value in (("row", row), ("col", col)):
        if value < 0:
            raise RuntimeError(f"{argument} must be non-negative, got{value}")
    if dtype not in (_C.int32, _C.int64):
        raise NotImplementedError(f"\"{name}\" not implemented for '{TYPE_NAMES[dtype]}'")
    rows, cols = which(row, offset, col)
    return _C.tensor(np.stack([rows, cols]).astype(np.int64).reshape(2, -1)).to(dtype)


def tril_indices(row, col, offset=0, *, dtype=_C.int64, layout=None, device=None, pin_memory=False):
    return _triangle_indices("tril_indices", row, col, offset, dtype, device, np.tril_indices)


def triu_indices(row, col, offset=0, *, dtype=_C.int64, layout=None, device=None, pin_memory=False):
    return _triangle_indices("triu_indices", row, col, offset, dtype, device, np.triu_indices)


# ----------------------------------------------------------------- from values


def scalar_tensor(
    s, *, dtype=None, layout=None, device=None, pin_memory=False, requires_grad=False
):
    """A 0-dim tensor of s, in the default float dtype unless told."""
    check_device(device)
    value = s.item() if isinstance(s, _C.Tensor) else s
    out = _C.full((), value, dtype=_C._get_default_dtype() if dtype is None else dtype)
    return out.requires_grad_(True) if requires_grad else out


_UNSET = object()


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=_UNSET):
    """obj as a tensor, sharing its memory when it can (a tensor, a numpy array)."""
    check_device(device)
    if isinstance(obj, _C.Tensor):
        return _tensor_as_array(obj, dtype, copy, requires_grad)
    if copy is not True and isinstance(obj, np.ndarray) and dtype is None:
        out = _C.as_tensor(obj)
    else:
        out = _C.tensor(obj, dtype=dtype)
    if requires_grad is not _UNSET and requires_grad:
        out.requires_grad_(True)
    return out


def _tensor_as_array(obj, dtype, copy, requires_grad):
    if requires_grad is _UNSET:
        if obj.requires_grad:
            warnings.warn(
                "torch.asarray: unspecified requires_grad now defaults to obj.requires_grad "
                "instead of False. Pass requires_grad=False explicitly to get the old behavior "
                "and silence this warning.",
                UserWarning,
                stacklevel=3,
            )
        requires_grad = obj.requires_grad
    converts = dtype is not None and dtype != obj.dtype
    if converts and copy is False:
        raise ValueError(
            f"can't alias tensor with dtype '{TYPE_NAMES[obj.dtype]}' into dtype "
            f"'{TYPE_NAMES[dtype]}'."
        )
    if not converts and not copy and requires_grad == obj.requires_grad:
        return obj
    out = obj.detach()
    out = out.to(dtype) if converts else (out.clone() if copy else out)
    return out.requires_grad_(True) if requires_grad else out


def randint_like(
    input,
    low_or_high,
    high=None,
    *,
    generator=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    memory_format=None,
    requires_grad=False,
):
    """randint over input's shape (and dtype unless told): the draws randint makes."""
    check_device(device)
    low, high = (0, low_or_high) if high is None else (low_or_high, high)
    low = low.item() if isinstance(low, _C.Tensor) else low
    high = high.item() if isinstance(high, _C.Tensor) else high
    out = _C.randint(
        low,
        high,
        tuple(input.shape),
        generator=generator,
        dtype=input.dtype if dtype is None else dtype,
    )
    return out.requires_grad_(True) if requires_grad else out


FUNCTIONS = {
    "hann_window": hann_window,
    "hamming_window": hamming_window,
    "blackman_window": blackman_window,
    "bartlett_window": bartlett_window,
    "kaiser_window": kaiser_window,
    "logspace": logspace,
    "range": range,
    "tril_indices": tril_indices,
    "triu_indices": triu_indices,
    "scalar_tensor": scalar_tensor,
    "asarray": asarray,
    "randint_like": randint_like,
}
