"""finfo/iinfo, the default dtype, and torch's legacy typed constructors."""

import numpy as np

from . import _C

_NUMPY = {_C.float32: np.float32, _C.float64: np.float64, _C.int64: np.int64}


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


def get_default_dtype():
    return _C.float32


def set_default_dtype(d):
    if d != _C.float32:
        raise NotImplementedError("ember's default dtype is float32 and cannot be changed")


def _typed_constructor(dtype, name):
    def make(*args):
        if args and not isinstance(args[0], int) and not isinstance(args[0], _C.Tensor):
            return _C.tensor(args[0], dtype=dtype)
        return _C.Tensor(*args).to(dtype)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"torch.{name}: the legacy constructor of {repr(dtype)} tensors."
    return make


LEGACY_TYPES = {
    "FloatTensor": _C.float32,
    "DoubleTensor": _C.float64,
    "LongTensor": _C.int64,
    "BoolTensor": _C.bool,
}

CONSTRUCTORS = {name: _typed_constructor(d, name) for name, d in LEGACY_TYPES.items()}
