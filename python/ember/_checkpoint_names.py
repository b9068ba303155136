"""What the names in a torch checkpoint stand for in Ember.

A checkpoint names torch's functions and classes (`torch._utils._rebuild_tensor_v2`,
`torch.FloatStorage`, `torch.float32`, ...); `torch_name` maps each to the Ember
object that rebuilds it, checking every argument a (possibly corrupted or hostile)
file gives: Note [weights_only] in ember/serialization.py.
"""

import pickle

import numpy as np

from . import _C
from ._device import device
from ._dtype_info import DTYPES
from ._size import Size

_DTYPES = {facts.name: dtype for dtype, facts in DTYPES.items()}
_DTYPE_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
}
_HAVE = "Ember has " + ", ".join(_DTYPES)
# torch's legacy storage classes: for Ember's dtypes, and the names of the rest
_STORAGE_CLASSES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
_OTHER_STORAGE_CLASSES = {
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8 (an untyped storage)",
    "TypedStorage": "a typed storage",
}
_OTHER_TORCH_DTYPES = set(
    "uint16 uint32 uint64 complex32 "
    "chalf complex64 cfloat complex128 cdouble float8_e4m3fn float8_e4m3fnuz float8_e5m2 "
    "float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 qint8 quint8 qint32 quint4x2 quint2x4 "
    "bits1x8 bits2x4 bits4x2 bits8 bits16 int1 int2 int3 int4 int5 int6 int7 uint1 uint2 uint3 "
    "uint4 uint5 uint6 uint7".split()
)
_STORAGE_NAME_OF = {d: name for name, d in _STORAGE_CLASSES.items()}
# NumPy element codes to read each dtype's bytes as; bfloat16, which NumPy
# lacks, is read as its 16 bits (see raw_numpy).
_NUMPY_CODES = {
    facts.name: np.dtype(facts.numpy_name or "int16").str[1:] for facts in DTYPES.values()
}


def _dtype_name(dtype):
    return repr(dtype).split(".")[-1]


class _StorageType:
    """What `torch.FloatStorage` and its kin stand for in a file: a dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype = _DTYPES[_STORAGE_CLASSES[name]]

    def __repr__(self):
        return f"torch.{self.name}"


_STORAGE_TYPES = {name: _StorageType(name) for name in _STORAGE_CLASSES}


class _Storage:
    """A loaded storage: `numel` elements of `tensor` (1-d, over the whole buffer)
    from element `offset` on (legacy files name views of storages)."""

    __slots__ = ("tensor", "offset", "numel")

    def __init__(self, tensor, offset, numel):
        self.tensor, self.offset, self.numel = tensor, offset, numel


# ---------------------------------------------------------------------------
# Rebuilding what a file names


def _is_int(x):
    return type(x) is int or (isinstance(x, int) and not isinstance(x, bool))


def _tensor_on(storage, storage_offset, size, stride):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError(f"expected a storage, got {type(storage).__name__}")
    size, stride = tuple(size), tuple(stride)
    if not (
        _is_int(storage_offset)
        and all(_is_int(n) for n in size)
        and all(_is_int(n) for n in stride)
        and len(size) == len(stride)
    ):
        raise pickle.UnpicklingError(
            f"malformed tensor layout: offset {storage_offset!r}, size {size!r}, stride {stride!r}"
        )
    if any(n < 0 for n in size + stride) or storage_offset < 0:
        raise pickle.UnpicklingError(f"negative size or stride: {size!r}, {stride!r}")
    if 0 not in size:
        extent = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
        if extent > storage.numel:
            raise pickle.UnpicklingError(
                f"a tensor of size {list(size)}, stride {list(stride)} and storage offset "
                f"{storage_offset} needs {extent} elements; its storage has {storage.numel}"
            )
    elif storage_offset > storage.numel:
        raise pickle.UnpicklingError(f"storage offset {storage_offset} past the storage's end")
    try:
        return _C._storage_view(
            storage.tensor, storage.offset + storage_offset, list(size), list(stride)
        )
    except ValueError as exc:
        raise pickle.UnpicklingError(str(exc)) from exc


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _tensor_on(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None
):
    t = _tensor_on(storage, storage_offset, size, stride)
    if requires_grad is True:
        t.requires_grad_(True)
    return t


def _rebuild_tensor_v3(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None
):
    if isinstance(storage, _Storage) and dtype != storage.tensor.dtype:
        raise pickle.UnpicklingError(
            f"a tensor of dtype {dtype} over a {storage.tensor.dtype} storage is not supported"
        )
    return _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, None)


def _set_state(obj, state):
    # torch's _set_obj_state: a dict, or (dict, slots dict)
    if isinstance(state, tuple) and len(state) == 2:
        dict_state, slots_state = state
    else:
        dict_state, slots_state = state, None
    for part in (dict_state, slots_state):
        if part:
            if not isinstance(part, dict) or not all(
                isinstance(k, str) and not k.startswith("__") for k in part
            ):
                raise pickle.UnpicklingError("malformed object state")
            for k, v in part.items():
                setattr(obj, k, v)
    return obj


def _rebuild_parameter(data, requires_grad, backward_hooks):
    from .nn.modules import Parameter

    if not isinstance(data, _C.Tensor):
        raise pickle.UnpicklingError("a Parameter's data is not a tensor")
    return Parameter(data, bool(requires_grad))


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _set_state(_rebuild_parameter(data, requires_grad, backward_hooks), state)


def _rebuild_from_type_v2(func, new_type, args, state):
    from .nn.modules import Parameter

    if func not in (_rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_tensor, _rebuild_parameter):
        raise pickle.UnpicklingError("_rebuild_from_type_v2 of something else than a tensor")
    if not isinstance(args, tuple):
        raise pickle.UnpicklingError("a call's arguments are not a tuple")
    out = func(*args)
    if new_type is Parameter and not isinstance(out, Parameter):
        out = Parameter(out, out.requires_grad)
    elif new_type not in (_C.Tensor, Parameter):
        raise pickle.UnpicklingError(f"tensor subclass {new_type!r} is not supported")
    return _set_state(out, state) if state else out


def _unsupported_dtype(name):
    return pickle.UnpicklingError(
        f"ember.load: the checkpoint holds data of dtype torch.{name}, which Ember does not "
        f"have ({_HAVE}); convert it in torch first, e.g. tensor.float()"
    )


def torch_name(module, name):
    """The Ember object a torch global stands for, or None."""
    from .nn.modules import Parameter

    if module == "torch":
        if name in _STORAGE_TYPES:
            return _STORAGE_TYPES[name]
        if name in _OTHER_STORAGE_CLASSES:
            raise _unsupported_dtype(_OTHER_STORAGE_CLASSES[name])
        dtype_name = _DTYPE_ALIASES.get(name, name)
        if dtype_name in _DTYPES:
            return _DTYPES[dtype_name]
        if name in _OTHER_TORCH_DTYPES:
            raise _unsupported_dtype(name)
        return {"Size": Size, "device": device, "Tensor": _C.Tensor}.get(name)
    if module == "torch._utils":
        return {
            "_rebuild_tensor": _rebuild_tensor,
            "_rebuild_tensor_v2": _rebuild_tensor_v2,
            "_rebuild_tensor_v3": _rebuild_tensor_v3,
            "_rebuild_parameter": _rebuild_parameter,
            "_rebuild_parameter_with_state": _rebuild_parameter_with_state,
        }.get(name)
    if (module, name) == ("torch._tensor", "_rebuild_from_type_v2"):
        return _rebuild_from_type_v2
    if (module, name) in (("torch.nn.parameter", "Parameter"), ("torch.nn", "Parameter")):
        return Parameter
    if (module, name) == ("torch._tensor", "Tensor"):
        return _C.Tensor
    if module == "torch.storage" and name == "UntypedStorage":
        raise _unsupported_dtype(_OTHER_STORAGE_CLASSES[name])
    return None
