"""In-place forms of ops that have no in-place kernel: `x.exp_()`, `x **= 2`.

Each computes the op out of place and writes the result back with copy_, so
the version counter, the leaf and view checks and the gradient are those of
an in-place write (the recorded node is CopyBackwards where torch names the
op's own node, e.g. ExpBackward0). The op reads a clone of self when self is
in a graph: a formula that saved self itself would see copy_ bump its version.
"""

from . import _C
from ._dtype_info import TYPE_NAMES as _TYPE_NAMES

# Methods `name_` made from `name` (same arguments).
_FROM_OUT_OF_PLACE = [
    "abs",
    "absolute",
    "acos",
    "acosh",
    "addcdiv",
    "addcmul",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "baddbmm",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "cos",
    "cosh",
    "cumprod",
    "cumsum",
    "deg2rad",
    "divide",
    "erf",
    "erfinv",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "floor_divide",
    "frac",
    "hypot",
    "index_add",
    "lerp",
    "log",
    "log10",
    "log1p",
    "log2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logit",
    "masked_fill",
    "multiply",
    "nan_to_num",
    "neg",
    "pow",
    "rad2deg",
    "reciprocal",
    "relu",
    "remainder",
    "round",
    "rsqrt",
    "sgn",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "xlogy",
]

# Python's augmented assignments that have no C++ slot.
_OPERATORS = {"__ipow__": "pow", "__ifloordiv__": "floor_divide", "__imod__": "remainder"}


def _write_back(self, result):
    # torch refuses a result its target cannot hold (float into int64, int into bool).
    if (result.is_floating_point() and not self.is_floating_point()) or (
        self.dtype == _C.bool and result.dtype != _C.bool
    ):
        raise RuntimeError(
            f"result type {_TYPE_NAMES[result.dtype]} can't be cast to the desired output "
            f"type {_TYPE_NAMES[self.dtype]}"
        )
    return self.copy_(result)


def _source(self):
    return self.clone() if self.requires_grad else self


def _in_place(name):
    def method(self, *args, **kwargs):
        return _write_back(self, getattr(_source(self), name)(*args, **kwargs))

    method.__name__ = name + "_"
    method.__doc__ = f"In-place {name}: writes the result into self and returns self."
    return method


def _augmented(name):
    def method(self, other):
        return _write_back(self, getattr(_source(self), name)(other))

    return method


def _div_with_rounding(plain_div_):
    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return plain_div_(self, other)
        return _write_back(self, _source(self).div(other, rounding_mode=rounding_mode))

    div_.__doc__ = plain_div_.__doc__
    return div_


def install():
    T = _C.Tensor
    T.div_ = _div_with_rounding(T.div_)
    for name in _FROM_OUT_OF_PLACE:
        if hasattr(T, name) and not hasattr(T, name + "_"):
            setattr(T, name + "_", _in_place(name))
    for slot, name in _OPERATORS.items():
        setattr(T, slot, _augmented(name))
