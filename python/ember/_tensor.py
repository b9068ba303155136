"""Tensor methods that are naturally Python: printing and a few conveniences.

The hot path (operators, ops, autograd) is bound in C++; what lives here runs
once per print or per call of a rarely used helper.
"""

from . import _C
from ._tensor_str import format_tensor, format_tensor_spec


def _display_args(t):
    grad_fn = t.grad_fn
    return {
        "dtype": t.dtype.__repr__().split(".")[-1],
        "requires_grad": t.requires_grad and grad_fn is None,
        # torch shows the node's class name: CopySlices, not torch::autograd::CopySlices
        "grad_fn": grad_fn.name().rsplit("::", 1)[-1] if grad_fn is not None else None,
    }


def _repr(self):
    return format_tensor(self.detach().numpy(), **_display_args(self))


def _format(self, spec):
    return format_tensor_spec(self.detach().numpy(), spec, **_display_args(self))


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _C._normal_(self, float(mean), float(std), generator)


def _uniform_(self, from_=0.0, to=1.0, *, generator=None):
    return _C._uniform_(self, float(from_), float(to), generator)


def _bernoulli_(self, p=0.5, *, generator=None):
    return _C._bernoulli_(self, float(p), 0.0, generator)


def _all(self, dim=None, keepdim=False):
    flags = self.bool().long()
    if dim is None:
        return flags.min() == 1 if self.numel() else _C.tensor(True)
    return flags.min(dim, keepdim).values == 1


def _any(self, dim=None, keepdim=False):
    flags = self.bool().long()
    if dim is None:
        return flags.max() == 1 if self.numel() else _C.tensor(False)
    return flags.max(dim, keepdim).values == 1


def _new_tensor(self, data, dtype=None, requires_grad=False):
    return _C.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_zeros(self, *size, dtype=None, requires_grad=False):
    return _C.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_ones(self, *size, dtype=None, requires_grad=False):
    return _C.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_full(self, size, fill_value, dtype=None, requires_grad=False):
    return _C.full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _device(self):
    import ember

    return ember.device("cpu")


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


def _install_tensor_methods():
    T = _C.Tensor
    T.__repr__ = _repr
    T.__str__ = _repr
    T.__format__ = _format
    T.normal_ = _normal_
    T.uniform_ = _uniform_
    T.bernoulli_ = _bernoulli_
    T.all = _all
    T.any = _any
    T.new_tensor = _new_tensor
    T.new_zeros = _new_zeros
    T.new_ones = _new_ones
    T.new_full = _new_full
    T.device = property(_device)
    T.__deepcopy__ = _deepcopy
    T.__reduce_ex__ = _reduce_ex
    T.__module__ = "ember"
