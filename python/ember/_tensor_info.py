"""What a tensor is (sizes in bytes, kind of dtype, where it lives), as torch answers.

Every Ember tensor is a dense CPU tensor, so the layout and device questions have
fixed answers; the rest read the dtype and shape.
"""

from . import _C

_SIGNED = {_C.int8, _C.int16, _C.int32, _C.int64, _C.float16, _C.bfloat16, _C.float32, _C.float64}


def _itemsize(self):
    return self.element_size()


def _nbytes(self):
    return self.numel() * self.element_size()


def is_complex(input):
    return False  # Ember has no complex dtypes


def is_signed(input):
    return input.dtype in _SIGNED


def is_inference(input):
    # Ember's inference_mode is no_grad: it makes no inference tensors.
    return False


def get_device(input):
    return -1  # torch's answer for a CPU tensor


def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


def is_nonzero(input):
    """The truth value of a one-element tensor, with torch's errors for others."""
    count = input.numel()
    if count == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if count > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item() != 0)


# Questions every Ember tensor answers the same way: dense, on the CPU, not quantized.
_FIXED_PROPERTIES = {
    "is_cpu": True,
    "is_sparse": False,
    "is_sparse_csr": False,
    "is_quantized": False,
    "is_meta": False,
    "is_mkldnn": False,
    "is_nested": False,
}

FUNCTIONS = {
    "is_complex": is_complex,
    "is_signed": is_signed,
    "is_inference": is_inference,
    "get_device": get_device,
    "is_same_size": is_same_size,
    "is_nonzero": is_nonzero,
}


def install(namespace):
    T = _C.Tensor
    T.itemsize = property(_itemsize)
    T.nbytes = property(_nbytes)
    for name, answer in _FIXED_PROPERTIES.items():
        setattr(T, name, property(lambda self, answer=answer: answer))
    for name, fn in FUNCTIONS.items():
        setattr(T, name, fn)
        namespace[name] = fn
