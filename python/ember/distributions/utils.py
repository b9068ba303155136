"""Helpers shared by the distributions: argument broadcasting, probabilities and
logits, and properties computed on first use."""

import numbers

from .. import _C
from .._dtype_info import finfo
from .._grad_mode import enable_grad
from .._stacking import broadcast_tensors


def broadcast_all(*values):
    """Tensors broadcast to one shape; numbers become tensors of the first tensor's
    dtype (the default dtype when there is none)."""
    if not all(isinstance(v, (_C.Tensor, numbers.Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of numbers.Number, torch.Tensor or objects "
            "implementing __torch_function__."
        )
    if not any(isinstance(v, _C.Tensor) for v in values):
        return tuple(_C.tensor(float(v)) for v in values)
    dtype = next(v.dtype for v in values if isinstance(v, _C.Tensor))
    tensors = [v if isinstance(v, _C.Tensor) else _C.tensor(v, dtype=dtype) for v in values]
    return tuple(broadcast_tensors(*tensors))


def standard_normal(shape, dtype):
    return _C.empty(tuple(shape), dtype=dtype).normal_()


def sum_rightmost(value, dim):
    """Sums the rightmost `dim` dims of value."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary=False):
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def clamp_probs(probs):
    """Probabilities kept eps away from 0 and 1, so their logs stay finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


class lazy_property:  # noqa: N801 - torch's name
    """A property computed on first access (with gradients recorded) and then kept
    in the instance, so `probs` given makes `logits` on demand and vice versa."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value
