"""Tensor methods that are naturally Python: printing and a few conveniences.

The hot path (operators, ops, autograd) is bound in C++; what lives here runs
once per print or per call of a rarely used helper.
"""

from . import _C
from ._device import check_device, device
from ._dtype_info import LEGACY_NAMES, numpy_values
from ._tensor_str import format_tensor, format_tensor_spec


def _display_args(t):
    try:
        grad_fn = t.grad_fn
        # torch shows the node's class name: CopySlices, not torch::autograd::CopySlices
        grad_fn_name = grad_fn.name().rsplit("::", 1)[-1] if grad_fn is not None else None
    except RuntimeError:
        # A view whose grad_fn may not be regenerated (its base was written in
        # place; Note [Views that refuse in-place ops]): torch prints it so.
        grad_fn, grad_fn_name = True, "Invalid"
    tangent = _C._tangent(t) if _C._current_dual_level() else None
    return {
        "dtype": t.dtype.__repr__().split(".")[-1],
        "requires_grad": t.requires_grad and grad_fn is None,
        "grad_fn": grad_fn_name,
        "tangent": None if tangent is None else _repr(tangent),
    }


def _repr(self):
    return format_tensor(numpy_values(self), **_display_args(self))


def _format(self, spec):
    return format_tensor_spec(numpy_values(self), spec, **_display_args(self))


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _C._normal_(self, float(mean), float(std), generator)


def _uniform_(self, from_=0.0, to=1.0, *, generator=None):
    return _C._uniform_(self, float(from_), float(to), generator)


def _exponential_(self, lambd=1.0, *, generator=None):
    return _C._exponential_(self, float(lambd), 0.0, generator)


def _bernoulli_(self, p=0.5, *, generator=None):
    return _C._bernoulli_(self, float(p), 0.0, generator)


def _all(self, dim=None, keepdim=False):
    # Counting zeros works for empty dims too (all of nothing is True).
    zeros = (self == 0).sum() if dim is None else (self == 0).sum(dim, keepdim)
    return _as_truth_of(self, zeros == 0)


def _any(self, dim=None, keepdim=False):
    nonzeros = (self != 0).sum() if dim is None else (self != 0).sum(dim, keepdim)
    return _as_truth_of(self, nonzeros > 0)


def _as_truth_of(input, result):
    # torch's all/any answer in uint8 for a uint8 input (its pre-bool convention).
    return result.to(_C.uint8) if input.dtype == _C.uint8 else result


def _type(self, dtype=None, non_blocking=False, **unused):
    """x.type(): the legacy type name; x.type(dtype or name): a converted tensor."""
    if dtype is None:  # torch's string, which code under `import ember as torch` compares with
        return "torch." + LEGACY_NAMES[self.dtype]
    if isinstance(dtype, str):
        by_name = {"ember." + n: d for d, n in LEGACY_NAMES.items()}
        by_name.update({"torch." + n: d for d, n in LEGACY_NAMES.items()})
        if dtype not in by_name:
            raise ValueError(f"invalid type: '{dtype}'")
        dtype = by_name[dtype]
    elif not isinstance(dtype, _C.dtype) and isinstance(getattr(dtype, "dtype", None), _C.dtype):
        dtype = dtype.dtype  # a legacy type class: x.type(torch.LongTensor)
    return self.to(dtype)


def _numpy(self, *, force=False):
    return _plain_numpy(self.detach() if force else self)


def _allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    import ember

    return ember.allclose(self, other, rtol, atol, equal_nan)


def _nanmean(self, dim=None, keepdim=False, *, dtype=None):
    present = (self == self).sum(dim, keepdim) if dim is not None else (self == self).sum()
    return _C.nansum(self, dim, keepdim, dtype=dtype) / present


_DTYPE_TOP = {
    _C.float16: 1 << 11,
    _C.bfloat16: 1 << 8,
    _C.float32: 1 << 24,
    _C.float64: 1 << 53,
    _C.bool: 1,
    _C.uint8: (1 << 8) - 1,
    _C.int8: (1 << 7) - 1,
    _C.int16: (1 << 15) - 1,
    _C.int32: (1 << 31) - 1,
    _C.int64: (1 << 63) - 1,
}


def _random_(self, *bounds, to=None, generator=None):
    """torch's random_(): random_() is [0, top], random_(to) is [0, to), and
    random_(from, None) is [from, top], top being the dtype's largest exact integer."""
    if len(bounds) == 1 and to is None:
        low, high = 0, bounds[0]
    elif len(bounds) == 2:
        low, high = bounds
    else:
        low, high = (bounds[0] if bounds else 0), to
    if high is None:
        high = _DTYPE_TOP[self.dtype] + 1
    if high - low > (1 << 62):  # beyond randint's int64 bounds: 64-bit draws, as torch's
        values = [_C._random64(generator) % (high - low) + low for _ in range(self.numel())]
        return self.copy_(_C.tensor(values, dtype=_C.int64).reshape(self.shape))
    drawn = _C.randint(low, high, tuple(self.shape), generator=generator, dtype=_C.int64)
    return self.copy_(drawn)


def _contains(self, element):
    if not isinstance(element, (_C.Tensor, int, float, bool)):
        raise RuntimeError(
            "Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
            f"{type(element)}."
        )
    return bool((self == element).any())


def _new_tensor(self, data, dtype=None, requires_grad=False):
    return _C.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_zeros(self, *size, dtype=None, requires_grad=False):
    return _C.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_empty(self, *size, dtype=None, requires_grad=False):
    return _C.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_empty_strided(
    self, size, stride, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False
):
    for position, (name, value) in enumerate((("size", size), ("stride", stride)), 1):
        if not isinstance(value, (tuple, list)):  # torch refuses a bare int here
            raise TypeError(
                f"new_empty_strided(): argument '{name}' (position {position}) must be tuple of "
                f"ints, not {type(value).__name__}"
            )
    return _C.empty_strided(
        size, stride, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad
    )


def _hardshrink(self, lambd=0.5):
    from .nn import functional

    return functional.hardshrink(self, lambd)


def _new_ones(self, *size, dtype=None, requires_grad=False):
    return _C.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_full(self, size, fill_value, dtype=None, requires_grad=False):
    return _C.full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)


_CPU = device("cpu")


def _device(self):
    return _CPU  # every tensor is on the CPU; devices compare by value


def _cuda(self, device=None, non_blocking=False):
    check_device("cuda")  # raises: Ember has no CUDA


def _tensor_state(t):
    """A picklable copy of t's values (numpy owns its own buffer)."""
    return t.detach().numpy().copy()


def _rebuild_tensor(state, requires_grad=False):
    # from the flat values: ember.tensor() makes a 0-d numpy array 1-d
    out = _C.tensor(state.reshape(-1)).reshape(state.shape)
    return out.requires_grad_(requires_grad) if requires_grad else out


def _deepcopy(self, memo):
    if not self.is_leaf:
        raise RuntimeError(
            "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
            "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
            "because of a torch.nn.utils.weight_norm usage, see "
            "https://github.com/pytorch/pytorch/pull/103001"
        )
    copied = _rebuild_tensor(_tensor_state(self), self.requires_grad)
    if self.grad is not None:
        copied.grad = _deepcopy(self.grad, memo)
    return copied


def _reduce_ex(self, protocol):
    # as torch.save: values and requires_grad; the grad and the graph are not kept
    return (_rebuild_tensor, (_tensor_state(self), self.requires_grad))


_plain_numpy = _C.Tensor.numpy


def _install_tensor_methods():
    T = _C.Tensor
    T.__repr__ = _repr
    T.__str__ = _repr
    T.__format__ = _format
    T.normal_ = _normal_
    T.uniform_ = _uniform_
    T.exponential_ = _exponential_
    T.bernoulli_ = _bernoulli_
    T.all = _all
    T.any = _any
    T.new_tensor = _new_tensor
    T.type = _type
    T.__contains__ = _contains
    T.numpy = _numpy
    T.allclose = _allclose
    T.nanmean = _nanmean
    T.random_ = _random_
    T.new_zeros = _new_zeros
    T.new_ones = _new_ones
    T.new_empty = _new_empty
    T.new_empty_strided = _new_empty_strided
    T.hardshrink = _hardshrink
    T.new_full = _new_full
    T.device = property(_device)
    T.cuda = _cuda
    T.__deepcopy__ = _deepcopy
    T.__reduce_ex__ = _reduce_ex
    T.__module__ = "ember"
