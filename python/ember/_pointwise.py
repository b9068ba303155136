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


def _kind(dtype):
    return 0 if dtype == _C.bool else (2 if dtype.is_floating_point else 1)


def _result_dtype(tensors):
    """torch's result_type over tensors: those with dims decide, unless a 0-d
    one is of a higher kind (bool < integer < floating)."""
    dtypes = {True: None, False: None}  # has dims -> promoted dtype
    for t in tensors:
        d = dtypes[t.dim() > 0]
        dtypes[t.dim() > 0] = t.dtype if d is None else _C.promote_types(d, t.dtype)
    dims, zero = dtypes[True], dtypes[False]
    if dims is None or (zero is not None and _kind(zero) > _kind(dims)):
        return zero
    return dims


def _pointwise3(kernel, formula, input, tensor1, tensor2):
    """formula(input, tensor1, tensor2) computed as torch's kernel does: in the
    promoted dtype, half types in float32 and rounded once."""
    dtype = _result_dtype((input, tensor1, tensor2))
    if dtype == _C.bool:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
    compute = _C.float32 if dtype in (_C.float16, _C.bfloat16) else dtype
    args = [t if t.dtype == compute else t.to(compute) for t in (input, tensor1, tensor2)]
    result = formula(*args)
    return result if compute == dtype else result.to(dtype)


def addcmul(input, tensor1, tensor2, *, value=1):
    return _pointwise3(
        "addcmul_cpu_out", lambda x, a, b: x + value * (a * b), input, tensor1, tensor2
    )


def addcdiv(input, tensor1, tensor2, *, value=1):
    if not (tensor1.is_floating_point() or tensor2.is_floating_point()):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
            "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes."
        )
    return _pointwise3(
        "addcdiv_cpu_out", lambda x, a, b: x + value * (a / b), input, tensor1, tensor2
    )


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


def hypot(input, other):
    _require_tensors("hypot", input, other)
    if not other.is_floating_point():
        refuse_integers(input, "hypot_cpu")
    # Scaled by the larger magnitude, so squares neither overflow nor underflow;
    # the scale's own gradient is zero (hypot is homogeneous of degree 1).
    scale = _C.maximum(input.abs(), other.abs())
    safe = _C.where(scale == 0, _C.ones((), dtype=scale.dtype), scale)
    a, b = input / safe, other / safe
    out = scale * (a * a + b * b).sqrt()
    # an infinite side makes the hypotenuse infinite, even beside a NaN (inf / inf is NaN here)
    infinite = (input.abs() == math.inf) | (other.abs() == math.inf)
    return _C.where(infinite, _C.full((), math.inf, dtype=out.dtype), out)


def logaddexp(input, other):
    _require_tensors("logaddexp", input, other)
    if not other.is_floating_point():
        refuse_integers(input, "logaddexp_cpu")
    top = _C.maximum(input, other)
    # exp(-|a - b|) is NaN when both are the same infinity: the sum is then that infinity.
    same_infinity = (input == other) & (input.abs() == math.inf)
    spread = _C.where(same_infinity, 0.0, (input - other).abs())
    return _C.where(same_infinity, input, top + (-spread).exp().log1p())


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
    "addcmul": addcmul,
    "addcdiv": addcdiv,
    "isclose": isclose,
    "hypot": hypot,
    "logaddexp": logaddexp,
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
