"""DLPack exchange without copies, as torch.utils.dlpack.

Ember tensors live in CPU memory that NumPy can view, so both directions go
through NumPy's DLPack support (NumPy >= 1.23; versioned capsules with 2.1):
an exported capsule holds a NumPy view that keeps the tensor's storage alive,
and an imported tensor is a view of the producer's memory that keeps the
producer alive for as long as the tensor (or a view of it) exists.
"""

import ctypes

import numpy as np

from .. import _C

_KDL_CPU = 1

# Note [bfloat16 over DLPack]
# NumPy has no bfloat16, so a bfloat16 tensor crosses as its int16 bits: NumPy
# makes the capsule of an int16 view and its DLTensor's dtype field is then
# relabelled bfloat16 (code 4, 16 bits) before the consumer sees it; an incoming
# bfloat16 capsule is relabelled int16 for NumPy and the tensor viewed back as
# bfloat16. The bytes, strides and ownership are NumPy's, untouched.
_KDL_INT, _KDL_BFLOAT = 0, 4


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensorHead(ctypes.Structure):
    """DLTensor up to its dtype: data, device (type, id), ndim, dtype."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device_type", ctypes.c_int32),
        ("device_id", ctypes.c_int32),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
    ]


# A versioned capsule's DLManagedTensorVersioned holds its version (two
# uint32), manager_ctx, deleter and flags (uint64) before the DLTensor.
_VERSIONED_HEADER_BYTES = 8 + 8 + 8 + 8

_capsule_name = ctypes.pythonapi.PyCapsule_GetName
_capsule_name.restype, _capsule_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _dtype_field(capsule):
    """The DLDataType of a capsule's tensor, writable in place."""
    name = _capsule_name(capsule)
    if name not in (b"dltensor", b"dltensor_versioned"):
        raise RuntimeError(
            "from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
            "consumed only once, so you might have already constructed a tensor from it once."
        )
    address = _capsule_pointer(capsule, name)
    if name == b"dltensor_versioned":
        address += _VERSIONED_HEADER_BYTES
    return _DLTensorHead.from_address(address).dtype


def _relabel(capsule, from_code, to_code):
    field = _dtype_field(capsule)
    if (field.code, field.bits, field.lanes) == (from_code, 16, 1):
        field.code = to_code
        return True
    return False


def _export_array(tensor):
    if tensor.requires_grad:  # torch raises BufferError here too
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    return (tensor.view(_C.int16) if tensor.dtype == _C.bfloat16 else tensor).numpy()


def _export(tensor, **kwargs):
    capsule = _export_array(tensor).__dlpack__(**kwargs)
    if tensor.dtype == _C.bfloat16:  # Note [bfloat16 over DLPack]
        _relabel(capsule, _KDL_INT, _KDL_BFLOAT)
    return capsule


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """The DLPack capsule of this tensor (the array API's ``__dlpack__``)."""
    if stream is not None:
        raise AssertionError("stream should be None on cpu.")
    if dl_device is not None and tuple(dl_device)[0] != _KDL_CPU:
        raise BufferError(f"ember tensors are on the CPU; cannot export to device {dl_device}")
    kwargs = {}
    if max_version is not None:
        kwargs["max_version"] = max_version
    if copy is not None:
        kwargs["copy"] = copy
    return _export(self, **kwargs)


def _dlpack_device(self):
    return (_KDL_CPU, 0)


class _Capsule:
    """Hands a bare (legacy) capsule to NumPy, which asks for __dlpack__."""

    def __init__(self, capsule):
        self._capsule = capsule

    def __dlpack__(self, stream=None, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return (_KDL_CPU, 0)


def from_dlpack(ext_tensor):
    """A tensor sharing the memory of any DLPack producer on the CPU (torch,
    NumPy, JAX, ...) or of a DLPack capsule (consumed once)."""
    if isinstance(ext_tensor, _C.Tensor):
        return ext_tensor
    if hasattr(ext_tensor, "__dlpack__"):
        try:
            capsule = ext_tensor.__dlpack__()
        except BufferError as exc:
            raise BufferError(f"from_dlpack: {exc}") from exc
    else:
        capsule = ext_tensor
    if type(capsule).__name__ != "PyCapsule":
        raise TypeError(f"from_dlpack: expected a DLPack producer, got {type(ext_tensor).__name__}")
    bfloat16 = _relabel(capsule, _KDL_BFLOAT, _KDL_INT)  # Note [bfloat16 over DLPack]
    try:
        array = np.from_dlpack(_Capsule(capsule))
    except BufferError as exc:
        raise BufferError(f"from_dlpack: {exc}") from exc
    except (TypeError, ValueError) as exc:
        if type(ext_tensor).__name__ == "PyCapsule":
            raise RuntimeError(
                "from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
                "consumed only once, so you might have already constructed a tensor from it "
                "once."
            ) from exc
        raise
    tensor = _C.from_numpy(array)
    return tensor.view(_C.bfloat16) if bfloat16 else tensor


def to_dlpack(tensor):
    """A DLPack capsule of the tensor (legacy torch.utils.dlpack.to_dlpack)."""
    return _export(tensor)


def install():
    _C.Tensor.__dlpack__ = _dlpack
    _C.Tensor.__dlpack_device__ = _dlpack_device
