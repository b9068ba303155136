"""DLPack exchange without copies, as torch.utils.dlpack.

Ember tensors live in CPU memory that NumPy can view, so both directions go
through NumPy's DLPack support (NumPy >= 1.23; versioned capsules with 2.1):
an exported capsule holds a NumPy view that keeps the tensor's storage alive,
and an imported tensor is a view of the producer's memory that keeps the
producer alive for as long as the tensor (or a view of it) exists.
"""

import numpy as np

from .. import _C

_KDL_CPU = 1


def _export_array(tensor):
    if tensor.requires_grad:  # torch raises BufferError here too
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    return tensor.numpy()


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
    return _export_array(self).__dlpack__(**kwargs)


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
    source = ext_tensor if hasattr(ext_tensor, "__dlpack__") else _Capsule(ext_tensor)
    try:
        array = np.from_dlpack(source)
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
    return _C.from_numpy(array)


def to_dlpack(tensor):
    """A DLPack capsule of the tensor (legacy torch.utils.dlpack.to_dlpack)."""
    return _export_array(tensor).__dlpack__()


def install():
    _C.Tensor.__dlpack__ = _dlpack
    _C.Tensor.__dlpack_device__ = _dlpack_device
