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


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        raise NotImplementedError("ember's leaky_relu has no in-place form yet")
    return _C.where(input > 0, input, input * negative_slope)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    if tuple(input.shape) != tuple(target.shape):
        # torch warns and broadcasts; the broadcast result is what it computes
        import warnings

        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            stacklevel=2,
        )
    loss = (input - target).abs()
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


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
