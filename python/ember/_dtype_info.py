"""finfo/iinfo, the default dtype, and torch's legacy typed constructors."""

import math

import numpy as np

from . import _C
from ._tensor_str import set_default_float_dtype_name


class _DTypeFacts:
    """What Python code needs to know of one dtype, in one place."""

    def __init__(self, name, scalar_name, c_name, numpy_name, safetensors_code):
        self.name = name  # "int32"
        self.scalar_name = scalar_name  # torch's C++ scalar type name, in messages: "Int"
        self.c_name = c_name  # the C type name of torch's dtype messages: "int"
        self.numpy_name = numpy_name  # None where NumPy has no such type (bfloat16)
        self.safetensors_code = safetensors_code


# Every dtype Ember has, ordered as torch lists them.
DTYPES = {
    getattr(_C, facts.name): facts
    for facts in (
        _DTypeFacts("bool", "Bool", "bool", "bool", "BOOL"),
        _DTypeFacts("uint8", "Byte", "unsigned char", "uint8", "U8"),
        _DTypeFacts("int8", "Char", "signed char", "int8", "I8"),
        _DTypeFacts("int16", "Short", "short", "int16", "I16"),
        _DTypeFacts("int32", "Int", "int", "int32", "I32"),
        _DTypeFacts("int64", "Long", "long", "int64", "I64"),
        _DTypeFacts("float16", "Half", "c10::Half", "float16", "F16"),
        _DTypeFacts("bfloat16", "BFloat16", "c10::BFloat16", None, "BF16"),
        _DTypeFacts("float32", "Float", "float", "float32", "F32"),
        _DTypeFacts("float64", "Double", "double", "float64", "F64"),
    )
}
FLOATING = tuple(d for d in DTYPES if d.is_floating_point)
INTEGRAL = tuple(d for d in DTYPES if not d.is_floating_point and d != _C.bool)

# torch's C++ scalar type names, which its messages quote ("Float", "Long"),
# and the legacy tensor type names built on them ("FloatTensor").
TYPE_NAMES = {dtype: facts.scalar_name for dtype, facts in DTYPES.items()}
LEGACY_NAMES = {dtype: name + "Tensor" for dtype, name in TYPE_NAMES.items()}

# bfloat16's limits, which NumPy cannot give: 8 exponent bits as float32's, 8 significand bits.
_BFLOAT16_LIMITS = {
    "bits": 16,
    "eps": 2.0**-7,
    "max": float.fromhex("0x1.fep127"),
    "tiny": 2.0**-126,
}


class finfo:  # noqa: N801 - torch's name
    """Machine limits of a float dtype (the default dtype when none is given)."""

    def __init__(self, type=None):  # noqa: A002 - torch's argument name
        type = _C._get_default_dtype() if type is None else type
        if type not in FLOATING:
            raise TypeError("torch.finfo() requires a floating point input type.")
        self.dtype = DTYPES[type].name
        if type == _C.bfloat16:
            limits = dict(_BFLOAT16_LIMITS)
        else:
            info = np.finfo(DTYPES[type].numpy_name)
            limits = {
                "bits": info.bits,
                "eps": float(info.eps),
                "max": float(info.max),
                "tiny": float(info.tiny),
            }
        # torch's resolution is a power of ten: 10 ** -(the decimal digits eps resolves)
        limits["resolution"] = 10.0 ** -math.floor(-math.log10(limits["eps"]))
        self.bits = limits["bits"]
        self.eps = limits["eps"]
        self.max = limits["max"]
        self.min = -self.max
        self.tiny = self.smallest_normal = limits["tiny"]
        self.resolution = limits["resolution"]

    def __repr__(self):
        return (
            f"finfo(resolution={self.resolution}, min={self.min:e}, max={self.max:e}, "
            f"eps={self.eps:e}, smallest_normal={self.tiny:e}, tiny={self.tiny:e}, "
            f"dtype={self.dtype})"
        )


class iinfo:  # noqa: N801 - torch's name
    """Limits of an integer dtype."""

    def __init__(self, type):  # noqa: A002
        if type == _C.bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if type not in INTEGRAL:
            raise TypeError(
                "torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                "'torch.iinfo'"
            )
        self.dtype = DTYPES[type].name
        info = np.iinfo(DTYPES[type].numpy_name)
        self.bits, self.max, self.min = info.bits, int(info.max), int(info.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def raw_numpy(t):
    """A NumPy view of t's elements; bfloat16 ones, which NumPy lacks, as int16 bits."""
    return (t.view(_C.int16) if t.dtype == _C.bfloat16 else t).numpy()


def numpy_values(t):
    """t's values as a NumPy array (no graph); bfloat16 ones, which NumPy lacks, as
    float32, which holds them exactly."""
    t = t.detach()
    return (t.float() if t.dtype == _C.bfloat16 else t).numpy()


def dtype_from_name(name):
    """The dtype a pickle names (how dtypes pickle, see ember.serialization)."""
    for dtype, facts in DTYPES.items():
        if facts.name == name:
            return dtype
    raise ValueError(f"unknown ember dtype {name!r}")


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
