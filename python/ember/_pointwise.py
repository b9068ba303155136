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


def heaviside(input, values):
    """0 below zero, 1 above, `values` at zero. Like torch's, it has no derivative:
    the result is computed from the inputs' values (see docs/compatibility.md)."""
    _require_tensors("heaviside", input, values)
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    x, at_zero = input.detach(), values.detach()
    step = (x > 0).to(x.dtype)
    return _C.where(x == 0, at_zero, step)


def _integer_operands(name, input, other):
    _require_tensors(name, input, other)
    for t in (input, other):
        if t.is_floating_point() or t.dtype == _C.bool:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{TYPE_NAMES[t.dtype]}'")
    dtype = _C.result_type(input, other)
    return np.asarray(input.numpy(), np.int64), np.asarray(other.numpy(), np.int64), dtype


def gcd(input, other):
    a, b, dtype = _integer_operands("gcd", input, other)
    return _C.tensor(np.gcd(a, b)).to(dtype)


def lcm(input, other):
    a, b, dtype = _integer_operands("lcm", input, other)
    return _C.tensor(np.lcm(a, b)).to(dtype)


def frexp(input):
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1)."""
    from ._return_types import frexp as _frexp_result

    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    values = input.detach().float().numpy() if input.dtype == _C.bfloat16 else None
    values = input.detach().numpy() if values is None else values
    _, exponent = np.frexp(values)
    exponent = _C.tensor(exponent.astype(np.int32)).reshape(tuple(input.shape))
    # divided by exact powers of two, so the mantissa keeps input's graph; in two
    # halves, as 2**128 overflows float32 where the largest floats need it
    half = exponent // 2
    mantissa = (
        input / _C.pow(2.0, half.to(input.dtype)) / _C.pow(2.0, (exponent - half).to(input.dtype))
    )
    finite = input.detach().isfinite()
    return _frexp_result(_C.where(finite, mantissa, input), exponent)


def float_power(input, exponent):
    """pow in float64, whatever the operands' dtypes."""
    if isinstance(input, _C.Tensor):
        base = input.double()
    elif isinstance(exponent, _C.Tensor):
        base = float(input)
    else:
        raise TypeError(
            "float_power() received an invalid combination of arguments - got "
            f"({type(input).__name__}, {type(exponent).__name__})"
        )
    power = exponent.double() if isinstance(exponent, _C.Tensor) else float(exponent)
    return _C.pow(base, power)


def float_power_(input, exponent):
    if input.dtype != _C.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {TYPE_NAMES[input.dtype]} but the "
            "operation's result requires dtype Double"
        )
    power = exponent.double() if isinstance(exponent, _C.Tensor) else float(exponent)
    return input.pow_(power)


def isposinf(input):
    if not input.is_floating_point():
        return _C.zeros(tuple(input.shape), dtype=_C.bool)
    return input == math.inf


def isneginf(input):
    if not input.is_floating_point():
        return _C.zeros(tuple(input.shape), dtype=_C.bool)
    return input == -math.inf


def isreal(input):
    return _C.ones(tuple(input.shape), dtype=_C.bool)  # Ember has no complex dtypes


def positive(input):
    if input.dtype == _C.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def fix(input):
    return input.trunc()


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
    "heaviside": heaviside,
    "gcd": gcd,
    "lcm": lcm,
    "frexp": frexp,
    "float_power": float_power,
    "isposinf": isposinf,
    "isneginf": isneginf,
    "isreal": isreal,
    "positive": positive,
    "fix": fix,
}
