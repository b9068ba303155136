"""finfo/iinfo, the default dtype, and torch's legacy typed constructors."""

import numpy as np

from . import _C
from ._tensor_str import set_default_float_dtype_name

_NUMPY = {_C.float32: np.float32, _C.float64: np.float64, _C.int64: np.int64}

# torch's C++ scalar type names, which its messages quote ("Float", "Long"),
# and the legacy tensor type names built on them ("FloatTensor").
TYPE_NAMES = {_C.float32: "Float", _C.float64: "Double", _C.int64: "Long", _C.bool: "Bool"}
LEGACY_NAMES = {dtype: name + "Tensor" for dtype, name in TYPE_NAMES.items()}


class finfo:  # noqa: N801 - torch's name
    """Machine limits of a float dtype (float32 when none is given)."""

    def __init__(self, type=None):  # noqa: A002 - torch's argument name
        type = _C.float32 if type is None else type
        if type not in (_C.float32, _C.float64):
            raise TypeError("torch.finfo() requires a floating point input type.")
        info = np.finfo(_NUMPY[type])
        self.dtype = repr(type).split(".")[-1]
        self.bits = info.bits
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = float(info.resolution)

    def __repr__(self):
        return (
            f"finfo(resolution={self.resolution}, min={self.min:e}, max={self.max:e}, "
            f"eps={self.eps:e}, smallest_normal={self.tiny:e}, tiny={self.tiny:e}, "
            f"dtype={self.dtype})"
        )


class iinfo:  # noqa: N801 - torch's name
    """Limits of an integer dtype."""

    def __init__(self, type):  # noqa: A002
        if type == _C.bool or type not in _NUMPY or type in (_C.float32, _C.float64):
            raise TypeError("torch.iinfo() requires an integer input type.")
        info = np.iinfo(_NUMPY[type])
        self.dtype = repr(type).split(".")[-1]
        self.bits, self.max, self.min = info.bits, int(info.max), int(info.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def dtype_from_name(name):
    """The dtype a pickle names (how dtypes pickle, see ember.serialization)."""
    if name not in ("float32", "float64", "int64", "bool"):
        raise ValueError(f"unknown ember dtype {name!r}")
    return getattr(_C, name)


def get_default_dtype():
    return _C._get_default_dtype()


def set_default_dtype(d):
    """The dtype of floats made without one, for the whole process (as torch's)."""
    _C._set_default_dtype(d)
    set_default_float_dtype_name(repr(d).split(".")[-1])


class _LegacyTensorType(type):
    """torch.FloatTensor and friends: a call builds a tensor of that dtype, and
    isinstance(t, FloatTensor) asks for the dtype."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, _C.Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args):
        if len(args) == 1 and isinstance(args[0], _C.Tensor):
            if args[0].dtype != cls.dtype:
                raise TypeError(
                    f"expected torch.{cls.__name__} (got torch.{LEGACY_NAMES[args[0].dtype]})"
                )
            return args[0].detach()
        sizes = not args or isinstance(args[0], int) or type(args[0]).__name__ == "Size"
        if sizes:
            return _C.Tensor(*args).to(cls.dtype)
        return _C.tensor(args[0], dtype=cls.dtype)


CONSTRUCTORS = {
    name: _LegacyTensorType(name, (), {"dtype": dtype, "__module__": "ember"})
    for dtype, name in LEGACY_NAMES.items()
}
