"""ember.nn.functional: losses and activations (kernels in C++)."""

from .. import _C
from .._C import _nn

binary_cross_entropy_with_logits = _nn.binary_cross_entropy_with_logits
binary_cross_entropy = _nn.binary_cross_entropy
mse_loss = _nn.mse_loss
nll_loss = _nn.nll_loss
cross_entropy = _nn.cross_entropy
linear = _nn.linear


def relu(input, inplace=False):
    if inplace:
        raise NotImplementedError("ember's relu has no in-place form yet")
    return _C.relu(input)


def sigmoid(input):
    return _C.sigmoid(input)


def tanh(input):
    return _C.tanh(input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        raise TypeError("softmax() needs an explicit dim")
    if dtype is not None:
        input = input.to(dtype)
    return _C.softmax(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        raise TypeError("log_softmax() needs an explicit dim")
    if dtype is not None:
        input = input.to(dtype)
    return _C.log_softmax(input, dim)


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return input * _C._dropout_mask(input, p)
