"""In-place forms of ops that have no in-place kernel: `x.exp_()`, `x **= 2`.

Each runs the op out of place through `_C._assign_result_`: on a copy of self
that carries self's history when a graph is recorded (so formulas that saved
self keep the old values), then writes the result into self, which takes the
node the op recorded (ExpBackward0 for `x.exp_()`, as torch). The version
counter, the leaf, view and dtype checks are those of any in-place write.
"""

from . import _C

# Methods `name_` made from `name` (same arguments).
_FROM_OUT_OF_PLACE = [
    "abs",
    "absolute",
    "acos",
    "acosh",
    "addmm",
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
    "fix",
    "floor_divide",
    "gcd",
    "heaviside",
    "hypot",
    "i0",
    "lcm",
    "ldexp",
    "log",
    "log10",
    "log1p",
    "log2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "multiply",
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

# In-place aliases: torch's other names for in-place methods.
_IN_PLACE_ALIASES = {
    "negative_": "neg_",
    "greater_": "gt_",
    "greater_equal_": "ge_",
    "less_": "lt_",
    "less_equal_": "le_",
    "not_equal_": "ne_",
}

# Python's augmented assignments that have no C++ slot.
_OPERATORS = {"__ipow__": "pow", "__ifloordiv__": "floor_divide", "__imod__": "remainder"}


def _tensor_arguments(args, kwargs):
    return [a for a in (*args, *kwargs.values()) if isinstance(a, _C.Tensor)]


def _assign(self, name, args, kwargs):
    def compute(original):
        return getattr(original, name)(*args, **kwargs)

    return _C._assign_result_(self, compute, _tensor_arguments(args, kwargs), name + "_")


def _in_place(name):
    def method(self, *args, **kwargs):
        return _assign(self, name, args, kwargs)

    method.__name__ = name + "_"
    method.__doc__ = f"In-place {name}: writes the result into self and returns self."
    return method


def _augmented(name):
    def method(self, other):
        return _assign(self, name, (other,), {})

    return method


def _div_with_rounding(plain_div_):
    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return plain_div_(self, other)
        return _assign(self, "div", (other,), {"rounding_mode": rounding_mode})

    div_.__doc__ = plain_div_.__doc__
    return div_


def install():
    T = _C.Tensor
    T.div_ = _div_with_rounding(T.div_)
    for name in _FROM_OUT_OF_PLACE:
        if hasattr(T, name) and not hasattr(T, name + "_"):
            setattr(T, name + "_", _in_place(name))
    for alias, name in _IN_PLACE_ALIASES.items():
        if hasattr(T, name) and not hasattr(T, alias):
            setattr(T, alias, getattr(T, name))
    for slot, name in _OPERATORS.items():
        setattr(T, slot, _augmented(name))
