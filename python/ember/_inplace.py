"""In-place forms of ops that have no in-place kernel: `x.exp_()`, `x **= 2`.

Each computes the op out of place and writes the result back with copy_, so
the version counter, the leaf and view checks and the gradient are those of
an in-place write (the recorded node is CopyBackwards where torch names the
op's own node, e.g. ExpBackward0).
"""

from . import _C

# Methods `name_` made from `name` (same arguments).
_FROM_OUT_OF_PLACE = [
    "abs",
    "ceil",
    "clamp",
    "clip",
    "cos",
    "exp",
    "expm1",
    "floor",
    "floor_divide",
    "log",
    "log1p",
    "masked_fill",
    "neg",
    "pow",
    "reciprocal",
    "relu",
    "remainder",
    "round",
    "rsqrt",
    "sigmoid",
    "sign",
    "sin",
    "sqrt",
    "square",
    "tanh",
    "trunc",
]

# Python's augmented assignments that have no C++ slot.
_OPERATORS = {"__ipow__": "pow", "__ifloordiv__": "floor_divide", "__imod__": "remainder"}


def _in_place(name):
    def method(self, *args, **kwargs):
        return self.copy_(getattr(self, name)(*args, **kwargs))

    method.__name__ = name + "_"
    method.__doc__ = f"In-place {name}: writes the result into self and returns self."
    return method


def _augmented(name):
    def method(self, other):
        return self.copy_(getattr(self, name)(other))

    return method


def install():
    T = _C.Tensor
    for name in _FROM_OUT_OF_PLACE:
        if hasattr(T, name) and not hasattr(T, name + "_"):
            setattr(T, name + "_", _in_place(name))
    for slot, name in _OPERATORS.items():
        setattr(T, slot, _augmented(name))
