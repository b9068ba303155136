"""ember.testing.assert_close, torch.testing's comparison: tensors, Python numbers and
nested sequences and mappings of them, with torch's per-dtype tolerances and its
failure messages."""

import collections.abc
import math
import numbers

import numpy as np

from . import _C
from ._dtype_info import numpy_values

__all__ = ["assert_close"]

# (rtol, atol) by dtype; exact for integers and bools.
_TOLERANCES = {
    _C.float16: (1e-3, 1e-5),
    _C.bfloat16: (1.6e-2, 1e-5),
    _C.float32: (1.3e-6, 1e-5),
    _C.float64: (1e-7, 1e-7),
}


class _Mismatch(AssertionError):
    def __init__(self, message, path=()):
        super().__init__(message)
        self.message, self.path = message, list(path)


def assert_close(
    actual,
    expected,
    *,
    allow_subclasses=True,
    rtol=None,
    atol=None,
    equal_nan=False,
    check_device=True,
    check_dtype=True,
    check_layout=True,
    check_stride=False,
    msg=None,
):
    """Raises AssertionError unless actual and expected are close: same structure,
    shapes and dtypes (with check_dtype), and |actual - expected| <= atol + rtol *
    |expected| elementwise."""
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}."
        )
    options = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan, "check_dtype": check_dtype}
    try:
        _compare(actual, expected, options)
    except _Mismatch as mismatch:
        if msg is not None:
            raise AssertionError(msg(mismatch.message) if callable(msg) else msg) from None
        message = mismatch.message
        if mismatch.path:
            where = "".join(f"[{key!r}]" for key in mismatch.path)
            message += f"\n\nThe failure occurred for item {where}"
        raise AssertionError(message) from None


def _is_number(x):
    return isinstance(x, numbers.Number) and not isinstance(x, _C.Tensor)


def _compare(actual, expected, options):
    if isinstance(actual, _C.Tensor) and isinstance(expected, _C.Tensor):
        return _compare_tensors(actual, expected, options)
    if _is_number(actual) and _is_number(expected):
        return _compare_numbers(actual, expected, options)
    mapping = collections.abc.Mapping
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            raise _Mismatch(
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {missing}\n"
                f"Additional keys in the actual mapping: {extra}"
            )
        for key in expected:
            _compare_item(actual[key], expected[key], key, options)
        return None
    sequence = collections.abc.Sequence
    if (
        isinstance(actual, sequence)
        and isinstance(expected, sequence)
        and not isinstance(actual, (str, bytes))
        and not isinstance(expected, (str, bytes))
    ):
        if len(actual) != len(expected):
            raise _Mismatch(
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}"
            )
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare_item(a, e, i, options)
        return None
    raise TypeError(
        f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}."
    )


def _compare_item(actual, expected, key, options):
    try:
        _compare(actual, expected, options)
    except _Mismatch as mismatch:
        raise _Mismatch(mismatch.message, [key, *mismatch.path]) from None


def _tolerances(dtype, options):
    if options["rtol"] is not None:
        return options["rtol"], options["atol"]
    return _TOLERANCES.get(dtype, (0.0, 0.0))


def _compare_numbers(actual, expected, options):
    if type(actual) is not type(expected) and options["check_dtype"]:
        kinds = (bool, int, float, complex)
        if next(k for k in kinds if isinstance(actual, k)) != next(
            k for k in kinds if isinstance(expected, k)
        ):
            raise _Mismatch(
                f"The values for attribute 'dtype' do not match: {type(actual)} != "
                f"{type(expected)}."
            )
    floating = isinstance(actual, float) or isinstance(expected, float)
    rtol, atol = _tolerances(_C.float64 if floating else None, options)
    if _numbers_close(actual, expected, rtol, atol, options["equal_nan"]):
        return
    abs_diff = abs(actual - expected)
    rel_diff = abs_diff / abs(expected) if expected != 0 else math.inf
    if rtol == 0 and atol == 0:
        raise _Mismatch(
            f"Scalars are not equal!\n\nExpected {expected} but got {actual}.\n"
            f"Absolute difference: {abs_diff}\nRelative difference: {rel_diff}"
        )
    raise _Mismatch(
        f"Scalars are not close!\n\nExpected {expected} but got {actual}.\n"
        f"Absolute difference: {abs_diff} (up to {atol} allowed)\n"
        f"Relative difference: {rel_diff} (up to {rtol} allowed)"
    )


def _numbers_close(actual, expected, rtol, atol, equal_nan):
    if actual == expected:
        return True
    if isinstance(actual, float) and math.isnan(actual):
        return equal_nan and isinstance(expected, float) and math.isnan(expected)
    if math.isinf(actual) or math.isinf(expected):
        return False
    return abs(actual - expected) <= atol + rtol * abs(expected)


def _compare_tensors(actual, expected, options):
    if options["check_dtype"] and actual.dtype != expected.dtype:
        raise _Mismatch(
            f"The values for attribute 'dtype' do not match: {actual.dtype} != {expected.dtype}."
        )
    if actual.shape != expected.shape:
        raise _Mismatch(
            f"The values for attribute 'shape' do not match: {actual.shape} != {expected.shape}."
        )
    if actual.dtype != expected.dtype:
        common = _C.promote_types(actual.dtype, expected.dtype)
        actual, expected = actual.to(common), expected.to(common)
    rtol, atol = _tolerances(actual.dtype, options)
    if actual.dim() == 0:
        return _compare_numbers(
            actual.item(), expected.item(), {**options, "rtol": rtol, "atol": atol}
        )
    a, e = numpy_values(actual), numpy_values(expected)
    if a.dtype == np.bool_:
        a, e = a.astype(np.int64), e.astype(np.int64)
    close = _elementwise_close(a, e, rtol, atol, options["equal_nan"])
    if close.all():
        return None
    raise _Mismatch(_mismatch_message(a, e, close, rtol, atol))


def _elementwise_close(a, e, rtol, atol, equal_nan):
    with np.errstate(invalid="ignore", over="ignore"):
        equal = a == e
        if a.dtype.kind != "f":
            return equal | (np.abs(a - e) <= atol + rtol * np.abs(e))
        both_nan = np.isnan(a) & np.isnan(e)
        finite = np.isfinite(a) & np.isfinite(e)
        within = np.abs(a - e) <= atol + rtol * np.abs(e)
        return equal | (finite & within) | (both_nan & equal_nan)


def _argmax(values):
    return 0 if np.isnan(values).all() else int(np.nanargmax(values))


def _mismatch_message(a, e, close, rtol, atol):
    exact = rtol == 0 and atol == 0
    total = a.size
    mismatched = int((~close).sum())
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        abs_diff = np.abs(a - e)
        if a.dtype.kind != "f":
            rel_diff = abs_diff.astype(np.float32) / np.abs(e).astype(np.float32)
        else:
            rel_diff = abs_diff / np.abs(e)
    abs_diff = np.where(close, 0, abs_diff)
    rel_diff = np.where(close, 0, rel_diff)
    abs_at = np.unravel_index(
        int(np.nanargmax(abs_diff)) if not np.isnan(abs_diff).all() else 0, a.shape
    )
    rel_at = np.unravel_index(
        int(np.nanargmax(rel_diff)) if not np.isnan(rel_diff).all() else 0, a.shape
    )
    abs_value, rel_value = abs_diff[abs_at].item(), rel_diff[rel_at].item()
    abs_index = tuple(int(i) for i in abs_at)
    rel_index = tuple(int(i) for i in rel_at)
    lines = [
        f"Tensor-likes are not {'equal' if exact else 'close'}!",
        "",
        f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})",
    ]
    if exact:
        lines.append(f"Greatest absolute difference: {abs_value} at index {abs_index}")
        lines.append(f"Greatest relative difference: {rel_value} at index {rel_index}")
    else:
        lines.append(
            f"Greatest absolute difference: {abs_value} at index {abs_index} (up to {atol} allowed)"
        )
        lines.append(
            f"Greatest relative difference: {rel_value} at index {rel_index} (up to {rtol} allowed)"
        )
    return "\n".join(lines)
