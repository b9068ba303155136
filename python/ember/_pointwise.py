"""Elementwise ops composed from differentiable ones, and torch's aliases.

Values and gradients are torch's; node names are those of the parts.
"""

import math

import numpy as np

from . import _C
from ._dtype_info import TYPE_NAMES


def refuse_integers(input, kernel):
    """torch's error for a float-only kernel given an integer or bool tensor."""
    if not input.is_floating_point():
        kind = TYPE_NAMES[input.dtype]
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{kind}'")


def _require_tensors(name, input, other):
    for position, arg in ((1, input), (2, other)):
        if not isinstance(arg, _C.Tensor):
            which = "input" if position == 1 else "other"
            raise TypeError(
                f"{name}(): argument '{which}' (position {position}) must be Tensor, not "
                f"{type(arg).__name__}"
            )


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    _require_tensors("isclose", input, other)
    if input.dtype != other.dtype:
        raise RuntimeError(f"{input.dtype} did not match {other.dtype}".replace("ember.", ""))
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    input, other = input.detach(), other.detach()
    exact = input == other
    if not input.is_floating_point():  # integers compare with the tolerances too, in float
        input, other = input.double(), other.double()
    near = (input - other).abs() <= atol + rtol * other.abs()
    out = exact | (near & (input.abs() != math.inf) & (other.abs() != math.inf))
    if equal_nan:
        out = out | ((input != input) & (other != other))
    return out


def xlogy(input, other):
    # A Python number takes the tensor's float dtype, as torch's wrapped scalars.
    floating = _C._get_default_dtype()
    if not isinstance(input, _C.Tensor) and not isinstance(other, _C.Tensor):
        raise TypeError(
            f"xlogy() received an invalid combination of arguments - got "
            f"({type(input).__name__}, {type(other).__name__}): one of them must be a Tensor"
        )
    if not isinstance(other, _C.Tensor):
        other = _C.tensor(other, dtype=input.dtype if input.is_floating_point() else floating)
    if not isinstance(input, _C.Tensor):
        input = _C.tensor(input, dtype=other.dtype if other.is_floating_point() else floating)
    return _C._xlogy(input, other)


def deg2rad(input):
    return input * (math.pi / 180)


def rad2deg(input):
    return input * (180 / math.pi)


def signbit(input):
    if not input.is_floating_point():
        return input < 0
    values = input.detach().numpy()
    return _C.tensor(np.signbit(values))


_round_to_integer = _C.round


def round(input, *, decimals=0):  # noqa: A001 - torch's name
    if decimals == 0:
        return _round_to_integer(input)
    refuse_integers(input, "round_cpu")
    scale = 10.0**decimals  # torch's formula: round(x * 10^d) / 10^d
    return _round_to_integer(input * scale) / scale


def rsub(input, other, alpha=1):
    return other - alpha * input if alpha != 1 else other - input


# The module functions, not the methods: either operand may be a number.
def subtract(input, other, *, alpha=1):
    return _C.sub(input, other, alpha=alpha)


def divide(input, other, *, rounding_mode=None):
    return _C.div(input, other, rounding_mode=rounding_mode)


def true_divide(input, other):
    return _C.div(input, other)


def multiply(input, other):
    return _C.mul(input, other)


def absolute(input):
    return input.abs()


def sgn(input):  # sign, for real tensors
    return input.sign()


POINTWISE = {
    "isclose": isclose,
    "xlogy": xlogy,
    "deg2rad": deg2rad,
    "rad2deg": rad2deg,
    "signbit": signbit,
    "rsub": rsub,
    "round": round,
    "subtract": subtract,
    "divide": divide,
    "true_divide": true_divide,
    "multiply": multiply,
    "absolute": absolute,
    "sgn": sgn,
}
