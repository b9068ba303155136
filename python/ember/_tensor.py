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
        "grad_fn": grad_fn.name() if grad_fn is not None else None,
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
    T.__module__ = "ember"
